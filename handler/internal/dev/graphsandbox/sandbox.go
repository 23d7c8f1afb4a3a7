// Package graphsandbox is a local stand-in for the part of Microsoft Graph
// the product calls, under /v1.0/me and /v1.0/users/{id}: POST sendMail,
// and, to read the sender's own messages back, GET messages (with $filter
// and $select), messages/{id}, mailFolders/{f}/messages[/{id}] and
// mailFolders/{f}/messages/delta (read.go, delta.go).
//
// It behaves like Graph and Exchange Online as documented (see
// ../shared/reference/graph-and-identity.md, sections 1, 2, 4, 5 and 6):
// gzip request bodies and PascalCase action keys as msgraph-sdk-go sends
// them, Graph's error JSON, the 4 MB request and 3 MB attachment limits,
// x- header names, 202 Accepted with an empty body, and the per-mailbox
// limits (30 messages a minute, 4 concurrent requests, 10,000 recipients a
// rolling 24 hours) answered with 429 and Retry-After. Every accepted
// message is written as an .eml file a person can open in a mail client and
// kept in memory for tests. Faults (429, 503, 504 after or before accepting,
// latency, a late Sent Items copy) can be injected from Go or over HTTP
// under /_sandbox/, for sends or for reads.
//
// A sent message is first a draft in Drafts and its copy reaches Sent
// Items after a delay; it keeps the client's internetMessageId
// (mailbox.go). Reading needs Mail.ReadBasic or more (readPermission).
// POST /_sandbox/inbox puts a reply, an NDR or a delay notice about a sent
// message into the sender's Inbox, as Exchange would (inbox.go).
//
// Tokens are not verified: production verification happens in the real
// Graph; the sandbox only needs to know whose mailbox a token acts for (see
// Options.Authorize), or, for an application token, which user's mailbox
// /users/{id} names (Options.ResolveUser).
//
// Choices where Graph's behaviour is not an HTTP answer or not documented:
//
//   - Over 30 messages a minute, Exchange accepts (202) and delays delivery
//     (reference section 4); the sandbox answers 429 TooManyRequests with the
//     Retry-After at which the 60 s window frees, so the product's pacing is
//     tested. Concurrency (5th request in flight) answers 429
//     ApplicationThrottled "Application is over its MailboxConcurrency
//     limit." with Retry-After: 1, as Outlook does.
//   - Over 10,000 recipients a rolling 24 h, Exchange blocks the mailbox and
//     NDRs; the sandbox answers 429 ErrorSubmissionQuotaExceeded (named after
//     the NDR's SubmissionQuotaExceededException) with Retry-After = when
//     enough recipients leave the window (up to 86,400 s). msgraph-sdk-go's
//     retry handler gives up on it (total delay >= 180 s), so the product sees
//     the 429.
//   - More than 1,000 recipients in one message: 400 ErrorExceededMessageLimit.
//   - The body may also be base64 MIME (Content-Type: text/plain); recipients
//     then come from its To, Cc and Bcc.
//
// Between its own mailboxes (Options.Mailboxes) the sandbox delivers mail
// as Exchange Online does: the recipient's Inbox gets the message with the
// headers Exchange writes (List-Unsubscribe from the extended properties, a
// DKIM-Signature and Authentication-Results between organisations), an
// unknown address at one of their domains an NDR, and mail for another
// domain with a Relay (Postmark's inbound domain) is handed to it
// (transport.go, dkim.go). Faults can break each of those headers.
//
// The Drafts → Sent Items timeline and deliveries into mailboxes are
// computed from the clock when read: the sandbox starts no goroutine of its
// own. A hand-over to a Relay waits on a timer until its message leaves
// Drafts; Close stops those timers and aborts requests waiting on an
// injected latency.
package graphsandbox

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

// Defaults: Exchange Online and Graph limits (reference sections 2 and 4).
const (
	DefaultPerMinute          = 30      // messages per mailbox per minute
	DefaultConcurrent         = 4       // concurrent requests per app+mailbox
	DefaultPerDay             = 10000   // recipients per mailbox per rolling 24 h
	DefaultMaxRequestBytes    = 4 << 20 // 4 MB per request (after decompression)
	DefaultMaxAttachmentBytes = 3 << 20 // 3 MB per attachment in a JSON body
	DefaultMaxRecipients      = 1000    // recipients (To+Cc+Bcc) per message
)

const (
	dayWindow    = 24 * time.Hour   // the recipient rate window
	minuteWindow = 60 * time.Second // the message rate window
)

// Options configures a Sandbox. Zero values mean the Exchange/Graph defaults.
type Options struct {
	// Dir is where .eml files are written, one folder per mailbox. Empty:
	// a new temporary directory (see (*Sandbox).Dir); it is never removed.
	Dir string

	// PerMinute is the number of accepted messages per mailbox in any
	// sliding 60 s window (Exchange: 30). Negative: unlimited.
	PerMinute int
	// Concurrent is the number of requests per mailbox in flight at once
	// (Outlook: 4 per app+mailbox). Negative: unlimited.
	Concurrent int
	// PerDay is the number of recipients (To+Cc+Bcc) per mailbox in any
	// rolling 24 h (Exchange: 10,000). Negative: unlimited.
	PerDay int

	// MaxRequestBytes is the largest request body after decompression
	// (Graph: 4 MB); larger → 413.
	MaxRequestBytes int
	// MaxAttachmentBytes is the largest decoded attachment (Graph: 3 MB);
	// larger → 400. With the defaults the 4 MB request limit is hit first,
	// since 3 MB of base64 is 4 MB.
	MaxAttachmentBytes int
	// MaxRecipients is the largest number of recipients of one message
	// (Exchange: 1,000).
	MaxRecipients int

	// Authorize returns the mailbox (user principal name / email) a bearer
	// token acts for, or an error to answer 401 InvalidAuthenticationToken.
	// Nil: DecodeTokenMailbox, which reads preferred_username or upn from the
	// unverified JWT payload.
	Authorize func(r *http.Request, token string) (mailbox string, err error)

	// ResolveUser finds the user of tenant tenantID that /users/{id} names
	// (by object id or address) for an application-permission token (roles
	// Mail.Send, no user claims), and returns the address the message is
	// filed under. Nil, or not found: 404 ErrorInvalidUser, as Graph answers
	// for a user it does not know. Authorize is not called for such tokens.
	ResolveUser func(tenantID, id string) (address string, ok bool)

	// SentItemsDelay is how long an accepted message stays in Drafts before
	// its copy is in Sent Items (mailbox.go). 0: DefaultSentItemsDelay;
	// negative: at once. A late fault sets it for one message.
	SentItemsDelay time.Duration

	// DeltaTokens is how many delta and skip tokens a mailbox keeps; older
	// ones are forgotten and answer 410 syncStateNotFound (delta.go).
	// 0: DefaultDeltaTokens.
	DeltaTokens int

	// Now is the clock for rate windows, Date headers, file names and the
	// Drafts → Sent Items timeline. Nil: time.Now.
	Now func() time.Time

	// Mailboxes are the mailboxes of the sandbox's organisations (the dev
	// users). A message sent to one of their addresses is delivered to its
	// Inbox as Exchange Online would show it to the recipient; a message
	// to another address at one of their domains comes back to the sender
	// as a non-delivery report (transport.go). Without Mailboxes nothing is
	// delivered: messages are only kept as sent.
	Mailboxes []Mailbox

	// Relays receive, by domain (case-insensitive), the messages sent to
	// an address of a domain outside the sandbox's organisations, as that
	// domain's mail servers would over SMTP: e.g. the inbound domain of
	// Postmark (postmarksandbox.Inbound). Other domains receive nothing.
	Relays map[string]Relay
}

// Sandbox is the fake Graph. Create it with New; it is safe for concurrent use.
type Sandbox struct {
	dir         string
	perMinute   int
	concurr     int
	perDay      int
	maxReq      int
	maxAtt      int
	maxRcpt     int
	authorize   func(r *http.Request, token string) (string, error)
	resolveUser func(tenantID, id string) (string, bool)
	now         func() time.Time
	sentDelay   time.Duration
	deltaTokens int

	mailboxes map[string]Mailbox // Options.Mailboxes by normalized address
	domains   map[string]bool    // the domains of Options.Mailboxes
	relays    map[string]Relay   // Options.Relays by lower-case domain

	done      chan struct{}
	closeOnce sync.Once

	mu       sync.Mutex
	seq      uint64
	boxes    map[string]*mailboxState
	accepted []*Accepted
	inbox    []*Inbound
	faults   []*faultState
	// relaying are the hand-overs to Relays waiting for their message to
	// leave Drafts; Close stops them.
	relaying map[*time.Timer]bool
}

type mailboxState struct {
	inflight int
	sends    []sendEntry // accepted messages, oldest first, within 24 h
	// folders are the ids of the well-known folders, by name.
	folders map[string]string
	// tokens are the live delta and skip tokens, oldest first.
	tokens []*deltaState
}

type sendEntry struct {
	seq        uint64
	at         time.Time
	recipients int
}

// New returns a sandbox. It creates Options.Dir (or a temporary directory).
func New(opts Options) (*Sandbox, error) {
	s := &Sandbox{
		dir:         opts.Dir,
		perMinute:   orDefault(opts.PerMinute, DefaultPerMinute),
		concurr:     orDefault(opts.Concurrent, DefaultConcurrent),
		perDay:      orDefault(opts.PerDay, DefaultPerDay),
		maxReq:      orDefault(opts.MaxRequestBytes, DefaultMaxRequestBytes),
		maxAtt:      orDefault(opts.MaxAttachmentBytes, DefaultMaxAttachmentBytes),
		maxRcpt:     orDefault(opts.MaxRecipients, DefaultMaxRecipients),
		authorize:   opts.Authorize,
		resolveUser: opts.ResolveUser,
		now:         opts.Now,
		sentDelay:   opts.SentItemsDelay,
		deltaTokens: orDefault(opts.DeltaTokens, DefaultDeltaTokens),
		done:        make(chan struct{}),
		boxes:       map[string]*mailboxState{},
	}
	if s.maxReq < 0 || s.maxAtt < 0 || s.maxRcpt < 0 || s.deltaTokens < 0 {
		return nil, errors.New("graphsandbox: size, recipient and token limits must not be negative")
	}
	switch {
	case s.sentDelay == 0:
		s.sentDelay = DefaultSentItemsDelay
	case s.sentDelay < 0:
		s.sentDelay = 0
	}
	if s.authorize == nil {
		s.authorize = func(_ *http.Request, token string) (string, error) { return DecodeTokenMailbox(token) }
	}
	if s.now == nil {
		s.now = time.Now
	}
	if err := s.setOrganisations(opts.Mailboxes, opts.Relays); err != nil {
		return nil, err
	}
	if s.dir == "" {
		d, err := os.MkdirTemp("", "graphsandbox-")
		if err != nil {
			return nil, fmt.Errorf("graphsandbox: %w", err)
		}
		s.dir = d
	} else if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return nil, fmt.Errorf("graphsandbox: %w", err)
	}
	return s, nil
}

func orDefault(v, d int) int {
	if v == 0 {
		return d
	}
	return v
}

// Dir is the directory the .eml files are written to.
func (s *Sandbox) Dir() string { return s.dir }

// Close makes requests waiting on an injected latency answer at once
// (503) and drops the hand-overs to Relays still waiting for their message
// to leave Drafts. The sandbox keeps answering afterwards.
func (s *Sandbox) Close() error {
	s.closeOnce.Do(func() {
		close(s.done)
		s.mu.Lock()
		for t := range s.relaying {
			t.Stop()
		}
		s.relaying = nil
		s.mu.Unlock()
	})
	return nil
}

// Handler returns the HTTP handler: the Graph routes under /v1.0/ and the
// control endpoints under /_sandbox/.
func (s *Sandbox) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

func (s *Sandbox) serveHTTP(w http.ResponseWriter, r *http.Request) {
	rc := &reqCtx{requestID: newUUID(), clientRequestID: r.Header.Get("client-request-id")}
	if rc.clientRequestID == "" {
		// Graph echoes the caller's client-request-id and otherwise uses
		// the request-id.
		rc.clientRequestID = rc.requestID
	}
	h := w.Header()
	h.Set("request-id", rc.requestID)
	h.Set("client-request-id", rc.clientRequestID)
	if p := r.URL.Path; p == "/_sandbox" || strings.HasPrefix(p, "/_sandbox/") {
		s.serveControl(w, r)
		return
	}
	s.serveGraph(w, r, rc)
}

// reqCtx carries the ids of one request for the error body.
type reqCtx struct {
	requestID       string
	clientRequestID string
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	x := hex.EncodeToString(b[:])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:]
}
