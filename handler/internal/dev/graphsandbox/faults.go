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
)

// Fault is an injected failure for the next Count sendMail requests (that
// passed authentication) of Mailbox, or of any mailbox when Mailbox is "".
type Fault struct {
	Kind    FaultKind `json:"kind"`
	Mailbox string    `json:"mailbox,omitempty"`
	// Count is the number of requests affected: 0 means 1, negative means
	// every request until ClearFaults.
	Count int `json:"count,omitempty"`
	// RetryAfter is the Retry-After of a throttle or unavailable fault,
	// rounded up to whole seconds; 0 means 1 s, negative means no header.
	RetryAfter time.Duration `json:"-"`
	// Delay is the added latency of a latency fault.
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
	switch f.Kind {
	case FaultThrottle, FaultUnavailable, FaultTimeoutAfterAccept:
	case FaultLatency:
		if f.Delay <= 0 {
			return fmt.Errorf("graphsandbox: a latency fault needs a positive delay")
		}
	default:
		return fmt.Errorf("graphsandbox: unknown fault kind %q", f.Kind)
	}
	return nil
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

// takeFaults consumes the faults that apply to one request of mailbox.
func (s *Sandbox) takeFaults(mailbox string) applied {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out applied
	statusTaken := false
	kept := s.faults[:0]
	for _, fs := range s.faults {
		use := fs.mailbox == "" || fs.mailbox == mailbox
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
	Count             int      `json:"count"`
	RetryAfterSeconds *float64 `json:"retryAfterSeconds"`
	DelayMs           int64    `json:"delayMs"`
	Code              string   `json:"code"`
	Message           string   `json:"message"`
}

func (j faultJSON) fault() Fault {
	f := Fault{Kind: FaultKind(strings.ToLower(j.Kind)), Mailbox: j.Mailbox, Count: j.Count,
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
	m := map[string]any{"kind": f.Kind, "mailbox": f.Mailbox, "count": f.Count}
	if f.Kind == FaultLatency {
		m["delayMs"] = f.Delay.Milliseconds()
	} else {
		if f.RetryAfter < 0 || f.Kind == FaultTimeoutAfterAccept && f.RetryAfter == 0 {
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
