package graphsandbox

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// FaultKind is what an injected fault does.
type FaultKind string

const (
	// FaultThrottle answers 429 TooManyRequests with Retry-After.
	FaultThrottle FaultKind = "throttle"
	// FaultUnavailable answers 503 ServiceUnavailable with Retry-After.
	FaultUnavailable FaultKind = "unavailable"
	// FaultTimeoutAfterAccept accepts and writes the message but answers
	// 504 GatewayTimeout: the case where a retry duplicates the mail
	// (reference section 5).
	FaultTimeoutAfterAccept FaultKind = "timeout-after-accept"
	// FaultLatency waits Delay before handling the request, holding its
	// concurrency slot.
	FaultLatency FaultKind = "latency"
	// FaultTimeoutBeforeAccept waits Delay (DefaultTimeoutBeforeAccept when
	// 0), holding the concurrency slot, then answers 504 GatewayTimeout
	// without accepting the message: it is never in Drafts or Sent Items
	// and never delivered. With a Delay at or over the client's own timeout
	// the client sees its timeout instead; either way the send is in doubt.
	// No Graph page documents a gateway timeout (docs/mailbox-reading.md,
	// section 6); this is the case a lookup in Sent Items must tell from
	// timeout-after-accept.
	FaultTimeoutBeforeAccept FaultKind = "timeout-before-accept"
	// FaultLate delays the Sent Items copy of the next Count accepted
	// messages: each stays in Drafts for Delay instead of
	// Options.SentItemsDelay ("The copy of the message is not created until
	// the message successfully sends, which may take time.",
	// https://learn.microsoft.com/en-us/graph/outlook-immutable-id). It
	// changes no answer and combines with the other kinds.
	FaultLate FaultKind = "late"

	// The next three break, for the next Count accepted messages, a header
	// the recipients' copies are promised (transport.go, dkim.go), so that a
	// check of them can be shown to fail. Like late, they change no answer
	// and combine with the other kinds.

	// FaultDropListUnsubscribe: Exchange writes neither List-Unsubscribe
	// (from PidTagListUnsubscribe) nor List-Unsubscribe-Post (from the
	// PS_INTERNET_HEADERS named property): the .eml, MIMEHeaders and every
	// recipient's copy lack both.
	FaultDropListUnsubscribe FaultKind = "drop-list-unsubscribe"
	// FaultDKIMWithoutListUnsubscribe: the DKIM-Signature's h= list does
	// not name List-Unsubscribe and List-Unsubscribe-Post, so a receiver
	// offers no one-click unsubscribe (RFC 8058 section 4).
	FaultDKIMWithoutListUnsubscribe FaultKind = "dkim-without-list-unsubscribe"
	// FaultNoDKIM: the message leaves unsigned; receivers write
	// dkim=none in Authentication-Results.
	FaultNoDKIM FaultKind = "no-dkim"
)

// perMessage reports whether the kind applies to accepted messages rather
// than to the answer of a request.
func (k FaultKind) perMessage() bool {
	switch k {
	case FaultLate, FaultDropListUnsubscribe, FaultDKIMWithoutListUnsubscribe, FaultNoDKIM:
		return true
	}
	return false
}

// FaultOp is the kind of request a fault applies to.
type FaultOp string

const (
	// OpSend is sendMail (the default).
	OpSend FaultOp = "send"
	// OpRead is every read: list, get and delta of messages.
	OpRead FaultOp = "read"
)

// DefaultTimeoutBeforeAccept is the wait of a timeout-before-accept fault
// without a Delay: a few seconds, well under the product's 60 s Graph client
// timeout (handler/main.go graphTimeout), so the client reads the 504.
const DefaultTimeoutBeforeAccept = 3 * time.Second

// Fault is an injected failure for the next Count requests of kind Op (that
// passed authentication) of Mailbox, or of any mailbox when Mailbox is "".
type Fault struct {
	Kind    FaultKind `json:"kind"`
	Mailbox string    `json:"mailbox,omitempty"`
	// Op is what the fault applies to: "" or OpSend (sendMail), or OpRead.
	// Reads take throttle, unavailable, latency and timeout-before-accept
	// (a 504 after the wait).
	Op FaultOp `json:"op,omitempty"`
	// Count is the number of requests affected: 0 means 1, negative means
	// every request until ClearFaults. For late, the number of accepted
	// messages.
	Count int `json:"count,omitempty"`
	// RetryAfter is the Retry-After of a throttle or unavailable fault,
	// rounded up to whole seconds; 0 means 1 s, negative means no header.
	RetryAfter time.Duration `json:"-"`
	// Delay is the added latency of a latency fault, the wait of a
	// timeout-before-accept fault and the Sent Items delay of a late fault.
	Delay time.Duration `json:"-"`
	// Code and Message override the error body of throttle, unavailable
	// and timeout faults.
	Code    string `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
}

type faultState struct {
	f         Fault
	mailbox   string
	remaining int // < 0: unlimited
}

// applied is what the faults matching one request do.
type applied struct {
	delay   time.Duration
	status  *graphError
	timeout *graphError // answered after accepting the message
}

// Inject adds a fault. Faults of status kinds apply in injection order, one
// per request; latency faults add up and combine with them.
func (s *Sandbox) Inject(f Fault) error {
	if err := validateFault(f); err != nil {
		return err
	}
	n := f.Count
	if n == 0 {
		n = 1
	}
	if n < 0 {
		n = -1
	}
	s.mu.Lock()
	s.faults = append(s.faults, &faultState{f: f, mailbox: normalizeMailbox(f.Mailbox), remaining: n})
	s.mu.Unlock()
	return nil
}

func validateFault(f Fault) error {
	switch f.Op {
	case "", OpSend, OpRead:
	default:
		return fmt.Errorf("graphsandbox: unknown fault op %q: use %q or %q", f.Op, OpSend, OpRead)
	}
	switch f.Kind {
	case FaultThrottle, FaultUnavailable:
	case FaultTimeoutAfterAccept:
		if f.Op == OpRead {
			return fmt.Errorf("graphsandbox: a %s fault applies to sending only", f.Kind)
		}
	case FaultTimeoutBeforeAccept:
		if f.Delay < 0 {
			return fmt.Errorf("graphsandbox: a %s fault needs a delay of 0 (the default) or more", f.Kind)
		}
	case FaultLatency:
		if f.Delay <= 0 {
			return fmt.Errorf("graphsandbox: a latency fault needs a positive delay")
		}
	case FaultLate:
		if f.Op == OpRead {
			return fmt.Errorf("graphsandbox: a %s fault applies to sending only", f.Kind)
		}
		if f.Delay <= 0 {
			return fmt.Errorf("graphsandbox: a late fault needs a positive delay")
		}
	case FaultDropListUnsubscribe, FaultDKIMWithoutListUnsubscribe, FaultNoDKIM:
		if f.Op == OpRead {
			return fmt.Errorf("graphsandbox: a %s fault applies to sending only", f.Kind)
		}
	default:
		return fmt.Errorf("graphsandbox: unknown fault kind %q", f.Kind)
	}
	return nil
}

// op is the fault's kind of request, OpSend by default.
func (f Fault) op() FaultOp {
	if f.Op == "" {
		return OpSend
	}
	return f.Op
}

// ClearFaults removes every injected fault.
func (s *Sandbox) ClearFaults() {
	s.mu.Lock()
	s.faults = nil
	s.mu.Unlock()
}

// Faults returns the pending faults; Count is what remains (-1: unlimited).
func (s *Sandbox) Faults() []Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Fault, 0, len(s.faults))
	for _, fs := range s.faults {
		f := fs.f
		f.Count = fs.remaining
		out = append(out, f)
	}
	return out
}

// takeFaults consumes the faults that apply to one request of kind op of
// mailbox. Late faults wait for an accepted message (takeLate).
func (s *Sandbox) takeFaults(mailbox string, op FaultOp) applied {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out applied
	statusTaken := false
	kept := s.faults[:0]
	for _, fs := range s.faults {
		use := (fs.mailbox == "" || fs.mailbox == mailbox) && fs.f.op() == op && !fs.f.Kind.perMessage()
		if use && fs.f.Kind != FaultLatency {
			use = !statusTaken
		}
		if use {
			switch fs.f.Kind {
			case FaultLatency:
				out.delay += fs.f.Delay
			case FaultThrottle:
				out.status = faultError(fs.f, http.StatusTooManyRequests, CodeTooManyRequests, "Too many requests.")
				statusTaken = true
			case FaultUnavailable:
				out.status = faultError(fs.f, http.StatusServiceUnavailable, CodeServiceUnavailable, "The service is temporarily unavailable.")
				statusTaken = true
			case FaultTimeoutAfterAccept:
				out.timeout = faultError(fs.f, http.StatusGatewayTimeout, CodeGatewayTimeout, "The gateway did not receive a response in time.")
				if fs.f.RetryAfter <= 0 {
					out.timeout.retryAfter = 0 // no Retry-After unless asked for
				}
				statusTaken = true
			case FaultTimeoutBeforeAccept:
				wait := fs.f.Delay
				if wait == 0 {
					wait = DefaultTimeoutBeforeAccept
				}
				out.delay += wait
				out.status = faultError(fs.f, http.StatusGatewayTimeout, CodeGatewayTimeout, "The gateway did not receive a response in time.")
				if fs.f.RetryAfter <= 0 {
					out.status.retryAfter = 0
				}
				statusTaken = true
			}
			if fs.remaining > 0 {
				fs.remaining--
			}
		}
		if fs.remaining != 0 {
			kept = append(kept, fs)
		}
	}
	for i := len(kept); i < len(s.faults); i++ {
		s.faults[i] = nil
	}
	s.faults = kept
	return out
}

// messageFaults are what the per-message faults do to one accepted message.
type messageFaults struct {
	// sentDelay is how long it stays in Drafts: a late fault's Delay, else
	// Options.SentItemsDelay.
	sentDelay                time.Duration
	dropListUnsubscribe      bool
	dkimSkipsListUnsubscribe bool
	noDKIM                   bool
}

// takeMessageFaults consumes, for the next accepted message of mailbox, the
// first pending fault of each per-message kind. Caller holds s.mu.
func (s *Sandbox) takeMessageFaults(mailbox string) messageFaults {
	out := messageFaults{sentDelay: s.sentDelay}
	taken := map[FaultKind]bool{}
	kept := s.faults[:0]
	for _, fs := range s.faults {
		k := fs.f.Kind
		if k.perMessage() && !taken[k] && (fs.mailbox == "" || fs.mailbox == mailbox) {
			taken[k] = true
			switch k {
			case FaultLate:
				out.sentDelay = fs.f.Delay
			case FaultDropListUnsubscribe:
				out.dropListUnsubscribe = true
			case FaultDKIMWithoutListUnsubscribe:
				out.dkimSkipsListUnsubscribe = true
			case FaultNoDKIM:
				out.noDKIM = true
			}
			if fs.remaining > 0 {
				fs.remaining--
			}
		}
		if fs.remaining != 0 {
			kept = append(kept, fs)
		}
	}
	for i := len(kept); i < len(s.faults); i++ {
		s.faults[i] = nil
	}
	s.faults = kept
	return out
}

func faultError(f Fault, status int, code, msg string) *graphError {
	e := &graphError{status: status, code: code, message: msg}
	if f.Code != "" {
		e.code = f.Code
	}
	if f.Message != "" {
		e.message = f.Message
	}
	if f.RetryAfter >= 0 {
		e.retryAfter = retryAfterSeconds(f.RetryAfter)
	}
	return e
}

// faultJSON is the body of POST /_sandbox/faults.
type faultJSON struct {
	Kind              string   `json:"kind"`
	Mailbox           string   `json:"mailbox"`
	Op                string   `json:"op"`
	Count             int      `json:"count"`
	RetryAfterSeconds *float64 `json:"retryAfterSeconds"`
	DelayMs           int64    `json:"delayMs"`
	Code              string   `json:"code"`
	Message           string   `json:"message"`
}

func (j faultJSON) fault() Fault {
	f := Fault{Kind: FaultKind(strings.ToLower(j.Kind)), Mailbox: j.Mailbox, Op: FaultOp(strings.ToLower(j.Op)), Count: j.Count,
		Delay: time.Duration(j.DelayMs) * time.Millisecond, Code: j.Code, Message: j.Message}
	switch f.Kind { // aliases by status
	case "429":
		f.Kind = FaultThrottle
	case "503":
		f.Kind = FaultUnavailable
	case "504", "504-after-accept":
		f.Kind = FaultTimeoutAfterAccept
	}
	if j.RetryAfterSeconds != nil {
		if *j.RetryAfterSeconds < 0 {
			f.RetryAfter = -1
		} else {
			f.RetryAfter = time.Duration(*j.RetryAfterSeconds * float64(time.Second))
		}
	}
	return f
}

func toFaultJSON(f Fault) map[string]any {
	m := map[string]any{"kind": f.Kind, "mailbox": f.Mailbox, "op": f.op(), "count": f.Count}
	switch f.Kind {
	case FaultLatency, FaultLate:
		m["delayMs"] = f.Delay.Milliseconds()
	case FaultTimeoutBeforeAccept:
		d := f.Delay
		if d == 0 {
			d = DefaultTimeoutBeforeAccept
		}
		m["delayMs"] = d.Milliseconds()
	}
	if f.Kind != FaultLatency && !f.Kind.perMessage() {
		timeout := f.Kind == FaultTimeoutAfterAccept || f.Kind == FaultTimeoutBeforeAccept
		if f.RetryAfter < 0 || timeout && f.RetryAfter == 0 {
			m["retryAfterSeconds"] = -1
		} else {
			m["retryAfterSeconds"] = retryAfterSeconds(f.RetryAfter)
		}
	}
	if f.Code != "" {
		m["code"] = f.Code
	}
	if f.Message != "" {
		m["message"] = f.Message
	}
	return m
}
