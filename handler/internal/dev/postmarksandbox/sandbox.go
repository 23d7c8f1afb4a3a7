// Package postmarksandbox is a local stand-in for the part of Postmark's
// outbound Email API the product calls: POST /email (and POST /email/batch),
// and for its inbound side: messages received for the inbound domain are
// posted to the app's inbound webhook (inbound.go).
//
// It answers as Postmark documents (see ../shared/reference/postmark-and-security.md
// §6, from Postmark's "Email API" and "API overview" pages and the
// "Changes to Email API validation" notice of November 2023):
//
//   - X-Postmark-Server-Token missing or wrong → 401 {"ErrorCode":10,...};
//     POSTMARK_API_TEST validates a request without sending it.
//   - Content-Type or Accept other than application/json → 415.
//   - A body that is not JSON → 422 ErrorCode 402; a field of the wrong
//     type → 422 ErrorCode 403; more than 10 MB → 413.
//   - No From, no To, an unparsable address, neither TextBody nor HtmlBody,
//     more than 50 recipients (To, Cc and Bcc together) or a Tag over 1,000
//     characters → 422 ErrorCode 300.
//   - A recipient on the inactive list (hard bounce, spam complaint, manual
//     suppression) → 422 ErrorCode 406.
//   - Success → 200 {"To","SubmittedAt","MessageID","ErrorCode":0,"Message":"OK"}
//     with a new UUID as MessageID.
//   - A batch holds at most 500 messages (else 422 ErrorCode 410) and
//     answers 200 with one result per message, failed ones included.
//
// Every accepted email is kept in memory (Messages) and, when Options.Dir is
// set, written as <Dir>/<MessageID>.json so a person can look at it. Failures
// can be injected from Go (Fail) or over HTTP under /_sandbox/.
//
// Choices where Postmark's behaviour is not documented:
//
//   - Only the default transactional stream "outbound" exists (an empty
//     MessageStream means it); any other stream → 422 ErrorCode 1235.
//   - When some but not all recipients are inactive, the whole email is
//     refused with 406 and nothing is recorded.
//   - Injected 5xx answers have a plain-text body unless an ErrorCode is
//     given, so clients are tested against a body that is not JSON.
//
// The sandbox starts no goroutines and is safe for concurrent use.
package postmarksandbox

import (
	"net/http"
	"strings"
	"sync"
	"time"
)

// TestToken is Postmark's token that validates a request without sending
// it: the sandbox answers as for a real send but records nothing.
const TestToken = "POSTMARK_API_TEST"

// Options configures a Sandbox.
type Options struct {
	// ServerToken is the one server token accepted besides TestToken.
	// Empty: only TestToken is accepted.
	ServerToken string
	// Dir, when set, receives each accepted email as <MessageID>.json. It is
	// created on the first write.
	Dir string
	// Inbound, when set, is the inbound side whose posts GET
	// /_sandbox/inbound lists (inbound.go).
	Inbound *Inbound
}

// Header is one custom email header.
type Header struct {
	Name  string `json:"Name"`
	Value string `json:"Value"`
}

// Attachment is one attachment as sent, its content base64-encoded.
type Attachment struct {
	Name        string `json:"Name"`
	Content     string `json:"Content"`
	ContentType string `json:"ContentType"`
	ContentID   string `json:"ContentID,omitempty"`
}

// Message is one accepted email: the request's fields as sent, plus when the
// sandbox received it and the MessageID it answered.
type Message struct {
	MessageID     string            `json:"MessageID"`
	ReceivedAt    time.Time         `json:"ReceivedAt"`
	From          string            `json:"From"`
	To            string            `json:"To"`
	Cc            string            `json:"Cc,omitempty"`
	Bcc           string            `json:"Bcc,omitempty"`
	ReplyTo       string            `json:"ReplyTo,omitempty"`
	Subject       string            `json:"Subject"`
	HtmlBody      string            `json:"HtmlBody,omitempty"`
	TextBody      string            `json:"TextBody,omitempty"`
	Tag           string            `json:"Tag,omitempty"`
	MessageStream string            `json:"MessageStream"`
	TrackOpens    *bool             `json:"TrackOpens,omitempty"`
	TrackLinks    string            `json:"TrackLinks,omitempty"`
	Headers       []Header          `json:"Headers,omitempty"`
	Metadata      map[string]string `json:"Metadata,omitempty"`
	Attachments   []Attachment      `json:"Attachments,omitempty"`
}

// Failure is an injected answer for the next Count requests to the Email
// API, whatever they contain.
type Failure struct {
	Status    int    `json:"status"`
	Count     int    `json:"count"`
	ErrorCode *int   `json:"errorCode,omitempty"`
	Message   string `json:"message,omitempty"`
}

// Sandbox is the fake Postmark. Create it with New.
type Sandbox struct {
	token   string
	dir     string
	inbound *Inbound

	mu       sync.Mutex
	messages []Message
	inactive map[string]bool // lower-cased addresses
	failures []Failure       // consumed front to back
}

// New returns a sandbox with no messages, no inactive recipients and no
// injected failures.
func New(opts Options) *Sandbox {
	return &Sandbox{token: opts.ServerToken, dir: opts.Dir, inbound: opts.Inbound, inactive: map[string]bool{}}
}

// Handler returns the HTTP handler: the Email API at /email and
// /email/batch, the control endpoints under /_sandbox/.
func (s *Sandbox) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /email", s.serveEmail)
	mux.HandleFunc("POST /email/batch", s.serveBatch)
	s.controlRoutes(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		// Postmark: "404 — Entity doesn't exist".
		writeJSON(w, http.StatusNotFound, apiError{ErrorCode: 0, Message: "Entity doesn't exist."})
	})
	return mux
}

// Messages returns the accepted emails, oldest first.
func (s *Sandbox) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// ClearMessages forgets the accepted emails (files in Dir stay).
func (s *Sandbox) ClearMessages() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = nil
}

// MarkInactive puts an address on the inactive list, as a hard bounce or a
// spam complaint would.
func (s *Sandbox) MarkInactive(address string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inactive[strings.ToLower(strings.TrimSpace(address))] = true
}

// Inactive returns the inactive list, lower-cased, in no particular order.
func (s *Sandbox) Inactive() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.inactive))
	for a := range s.inactive {
		out = append(out, a)
	}
	return out
}

// ClearInactive empties the inactive list.
func (s *Sandbox) ClearInactive() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.inactive = map[string]bool{}
}

// Fail makes the next f.Count requests to the Email API (1 when zero)
// answer f.Status. With an ErrorCode, or for 401, 422 and 429, the body is
// Postmark's {"ErrorCode","Message"}; otherwise it is the status text.
// Failures queue up behind those already injected.
func (s *Sandbox) Fail(f Failure) {
	if f.Count <= 0 {
		f.Count = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, f)
}

// Failures returns the injected failures still to be answered.
func (s *Sandbox) Failures() []Failure {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Failure(nil), s.failures...)
}

// ClearFailures drops the injected failures.
func (s *Sandbox) ClearFailures() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = nil
}

// nextFailure consumes one request's worth of the first injected failure.
func (s *Sandbox) nextFailure() (Failure, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.failures) == 0 {
		return Failure{}, false
	}
	f := s.failures[0]
	if s.failures[0].Count--; s.failures[0].Count == 0 {
		s.failures = s.failures[1:]
	}
	return f, true
}
