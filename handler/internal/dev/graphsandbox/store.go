package graphsandbox

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Accepted is a message the sandbox accepted (answered 202, or 504 after
// accepting it).
type Accepted struct {
	Seq     uint64 `json:"seq"`
	Mailbox string `json:"mailbox"` // normalized: lower case
	// FromName is the display name written in From: the Name of the
	// sender's Options.Mailboxes entry, if any.
	FromName        string    `json:"fromName,omitempty"`
	Time            time.Time `json:"time"`
	RequestID       string    `json:"requestId"`
	ClientRequestID string    `json:"clientRequestId"`
	// MessageID is the message's Message-ID, with <>: the client's
	// message.internetMessageId when it set one, else one the sandbox made.
	// Graph shows it as internetMessageId.
	MessageID string `json:"messageId"`
	// ConversationID is Graph's conversationId of the message (opaque).
	ConversationID string `json:"conversationId"`
	// SentItemsAt is when the message leaves Drafts: from then on its copy
	// is in Sent Items (isDraft false, sentDateTime SentItemsAt), or gone
	// when SaveToSentItems is false. See mailbox.go.
	SentItemsAt time.Time `json:"sentItemsAt"`
	Subject     string    `json:"subject"`
	BodyType    string    `json:"bodyType,omitempty"` // "html" or "text"; empty for MIME submissions
	Body        string    `json:"body,omitempty"`
	To          []Address `json:"to"`
	Cc          []Address `json:"cc"`
	Bcc         []Address `json:"bcc"`
	ReplyTo     []Address `json:"replyTo,omitempty"`
	Headers     []Header  `json:"headers"` // the x- headers, as given
	// MIMEHeaders are the headers Exchange writes from extended properties
	// (List-Unsubscribe from PidTagListUnsubscribe; PS_INTERNET_HEADERS
	// named properties), as in the .eml.
	MIMEHeaders     []Header     `json:"mimeHeaders,omitempty"`
	Attachments     []Attachment `json:"attachments,omitempty"`
	SaveToSentItems bool         `json:"saveToSentItems"`
	MIME            bool         `json:"mime,omitempty"`     // submitted as base64 MIME
	TimedOut        bool         `json:"timedOut,omitempty"` // accepted but answered 504 (injected)
	EMLPath         string       `json:"emlPath"`
	// HeaderCounts maps each x- header of this message, by lower-case name,
	// to the number of accepted messages of the same mailbox with the same
	// header name and value (1: unique; 2 or more: sent again). Filled when
	// read.
	HeaderCounts map[string]int `json:"headerCounts"`

	// draftID and sentID are the Graph ids of the Drafts item and of the
	// Sent Items copy: an item's id changes when it moves to another folder.
	draftID, sentID string
}

// Recipients returns the To, Cc and Bcc addresses.
func (a Accepted) Recipients() []string {
	var out []string
	for _, l := range [][]Address{a.To, a.Cc, a.Bcc} {
		for _, x := range l {
			out = append(out, x.Address)
		}
	}
	return out
}

// Header returns the value of the x- header name (case-insensitive).
func (a Accepted) Header(name string) string {
	for _, h := range a.Headers {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

// acquire takes a concurrency slot of the mailbox (Outlook: 4 concurrent
// requests per app+mailbox, reference section 4).
func (s *Sandbox) acquire(mailbox string) (func(), *graphError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ms := s.mailbox(mailbox)
	if s.concurr > 0 && ms.inflight >= s.concurr {
		return nil, &graphError{status: http.StatusTooManyRequests, code: CodeApplicationThrottled, message: MsgConcurrency, retryAfter: 1}
	}
	ms.inflight++
	return func() {
		s.mu.Lock()
		ms.inflight--
		s.mu.Unlock()
	}, nil
}

func (s *Sandbox) mailbox(m string) *mailboxState {
	ms := s.boxes[m]
	if ms == nil {
		ms = &mailboxState{}
		s.boxes[m] = ms
	}
	return ms
}

// reserve applies the message rate (30 a minute) and recipient rate (10,000
// a rolling 24 h) limits of the mailbox and, when both allow, records the
// send. Caller holds s.mu.
func (s *Sandbox) reserve(ms *mailboxState, now time.Time, recipients int) (uint64, *graphError) {
	// Forget sends out of the 24 h window.
	i := 0
	for i < len(ms.sends) && !ms.sends[i].at.After(now.Add(-dayWindow)) {
		i++
	}
	ms.sends = ms.sends[i:]

	if s.perMinute > 0 {
		var inMinute []sendEntry
		for j, e := range ms.sends {
			if e.at.After(now.Add(-minuteWindow)) {
				inMinute = ms.sends[j:]
				break
			}
		}
		if len(inMinute) >= s.perMinute {
			// The window frees when enough of the oldest sends leave it.
			frees := inMinute[len(inMinute)-s.perMinute].at.Add(minuteWindow)
			return 0, &graphError{status: http.StatusTooManyRequests, code: CodeTooManyRequests,
				message:    fmt.Sprintf("The mailbox is over its limit of %d messages per minute.", s.perMinute),
				retryAfter: retryAfterSeconds(frees.Sub(now))}
		}
	}
	if s.perDay > 0 {
		total := 0
		for _, e := range ms.sends {
			total += e.recipients
		}
		if total+recipients > s.perDay {
			wait := dayWindow
			if recipients <= s.perDay {
				for _, e := range ms.sends {
					total -= e.recipients
					if total+recipients <= s.perDay {
						wait = e.at.Add(dayWindow).Sub(now)
						break
					}
				}
			}
			return 0, &graphError{status: http.StatusTooManyRequests, code: CodeSubmissionQuotaExceeded,
				message:    fmt.Sprintf("The mailbox is over its limit of %d recipients per rolling 24 hours; sending is blocked until the count drops.", s.perDay),
				retryAfter: retryAfterSeconds(wait)}
		}
	}
	s.seq++
	ms.sends = append(ms.sends, sendEntry{seq: s.seq, at: now, recipients: recipients})
	return s.seq, nil
}

// accept applies the rate limits, writes the .eml, records the message
// and delivers it (transport.go). The Sent Items copy appears after the
// message's delay: Options.SentItemsDelay, or a late fault's Delay (see
// takeMessageFaults).
func (s *Sandbox) accept(mailbox string, rc *reqCtx, sub *submission, timedOut bool) *graphError {
	now := s.now()
	s.mu.Lock()
	ms := s.mailbox(mailbox)
	seq, e := s.reserve(ms, now, sub.recipients())
	var mf messageFaults
	if e == nil {
		mf = s.takeMessageFaults(mailbox)
	}
	s.mu.Unlock()
	if e != nil {
		return e
	}
	if mf.dropListUnsubscribe {
		var kept []Header
		for _, h := range sub.mimeHeaders {
			if !isListUnsubscribe(h.Name) {
				kept = append(kept, h)
			}
		}
		sub.mimeHeaders = kept
	}
	messageID := sub.internetMessageID
	if messageID == "" {
		// Exchange makes <unique@host>; see generatedMessageID.
		messageID = generatedMessageID(seq)
	}
	a := &Accepted{
		Seq: seq, Mailbox: mailbox, FromName: s.mailboxes[mailbox].Name, Time: now, RequestID: rc.requestID, ClientRequestID: rc.clientRequestID,
		MessageID: messageID, ConversationID: newConversationID(), SentItemsAt: now.Add(mf.sentDelay),
		draftID: newItemID(), sentID: newItemID(),
		Subject: sub.subject, BodyType: sub.bodyType, Body: sub.body,
		To: sub.to, Cc: sub.cc, Bcc: sub.bcc, ReplyTo: sub.replyTo, Headers: sub.headers, MIMEHeaders: sub.mimeHeaders,
		Attachments: sub.attachments, SaveToSentItems: sub.saveToSentItems, MIME: sub.mime != nil, TimedOut: timedOut,
	}
	if a.To == nil {
		a.To = []Address{}
	}
	if a.Cc == nil {
		a.Cc = []Address{}
	}
	if a.Bcc == nil {
		a.Bcc = []Address{}
	}
	if a.Headers == nil {
		a.Headers = []Header{}
	}
	data, err := buildEML(a, sub)
	if err == nil && mf.dropListUnsubscribe {
		// A MIME submission may carry the headers itself.
		data = dropFields(data, "List-Unsubscribe", "List-Unsubscribe-Post")
	}
	var path string
	if err == nil {
		path, err = s.writeEML(a, data)
	}
	if err != nil {
		s.mu.Lock()
		for i, x := range ms.sends {
			if x.seq == seq {
				ms.sends = append(ms.sends[:i:i], ms.sends[i+1:]...)
				break
			}
		}
		s.mu.Unlock()
		return gerr(http.StatusInternalServerError, CodeUnknownError, "The sandbox could not store the message: %v", err)
	}
	a.EMLPath = path
	s.mu.Lock()
	s.accepted = append(s.accepted, a)
	s.mu.Unlock()
	if err := s.deliver(a, data, mf); err != nil {
		// Accepted all the same: Exchange answers before it delivers.
		return gerr(http.StatusInternalServerError, CodeUnknownError, "The sandbox accepted the message but could not deliver it: %v", err)
	}
	return nil
}

// isListUnsubscribe reports whether a header is List-Unsubscribe or
// List-Unsubscribe-Post.
func isListUnsubscribe(name string) bool {
	return strings.EqualFold(name, "List-Unsubscribe") || strings.EqualFold(name, "List-Unsubscribe-Post")
}

// writeEML writes the message to <dir>/<mailbox>/<timestamp>-<seq>.eml,
// atomically (a temporary file renamed).
func (s *Sandbox) writeEML(a *Accepted, data []byte) (string, error) {
	dir := filepath.Join(s.dir, safeFolder(a.Mailbox))
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	name := fmt.Sprintf("%s-%06d.eml", a.Time.UTC().Format("20060102T150405.000000000Z"), a.Seq)
	f, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return "", err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(f.Name())
		return "", err
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	path := filepath.Join(dir, name)
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return path, nil
}

// safeFolder maps a mailbox to a folder name: lower case, only
// [a-z0-9@._-], never "", "." or ".." nor starting with a dot.
func safeFolder(mailbox string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(mailbox) {
		switch {
		case 'a' <= r && r <= 'z', '0' <= r && r <= '9', r == '@', r == '.', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	out := b.String()
	if len(out) > 200 {
		out = out[:200]
	}
	if out == "" || out[0] == '.' {
		out = "_" + out
	}
	return out
}

// Messages returns the accepted messages of mailbox (case-insensitive), or
// of every mailbox when mailbox is "", oldest first.
func (s *Sandbox) Messages(mailbox string) []Accepted {
	mailbox = normalizeMailbox(mailbox)
	s.mu.Lock()
	defer s.mu.Unlock()
	counts := map[[3]string]int{}
	for _, a := range s.accepted {
		for _, h := range a.Headers {
			counts[[3]string{a.Mailbox, strings.ToLower(h.Name), h.Value}]++
		}
	}
	out := []Accepted{}
	for _, a := range s.accepted {
		if mailbox != "" && a.Mailbox != mailbox {
			continue
		}
		c := *a
		c.HeaderCounts = map[string]int{}
		for _, h := range a.Headers {
			c.HeaderCounts[strings.ToLower(h.Name)] = counts[[3]string{a.Mailbox, strings.ToLower(h.Name), h.Value}]
		}
		out = append(out, c)
	}
	return out
}

// Count returns how many accepted messages of mailbox ("" for all) carry
// the x- header name (case-insensitive) with this value.
func (s *Sandbox) Count(mailbox, name, value string) int {
	n := 0
	for _, a := range s.Messages(mailbox) {
		for _, h := range a.Headers {
			if strings.EqualFold(h.Name, name) && h.Value == value {
				n++
				break
			}
		}
	}
	return n
}

// Duplicates returns the values of the x- header name that more than one
// accepted message of mailbox ("" for all) carried, with their counts:
// empty when no row was sent twice.
func (s *Sandbox) Duplicates(mailbox, name string) map[string]int {
	seen := map[string]int{}
	for _, a := range s.Messages(mailbox) {
		for _, h := range a.Headers {
			if strings.EqualFold(h.Name, name) {
				seen[a.Mailbox+"\x00"+h.Value]++
				break
			}
		}
	}
	out := map[string]int{}
	for k, n := range seen {
		if n > 1 {
			_, v, _ := strings.Cut(k, "\x00")
			out[v] += n
		}
	}
	return out
}

// Reset forgets the accepted messages, the inbox messages, the delta
// tokens and the rate windows (the .eml files stay on disk). Injected
// faults are kept; see ClearFaults.
func (s *Sandbox) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accepted = nil
	s.inbox = nil
	for _, ms := range s.boxes {
		ms.sends = nil
		ms.tokens = nil
	}
}
