package postmarksandbox

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/mail"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Postmark's inbound side: a message received for the inbound domain (from
// the Graph sandbox, as Exchange Online hands it over SMTP) is parsed and
// posted to the app's webhook as Postmark's inbound webhook posts it. The
// sources are ../shared/reference/postmark-and-security.md: the payload
// fields (section 1, Postmark's "Inbound webhook" page), MailboxHash
// (section 2), basic auth in the webhook URL (section 3), retries (section
// 4) and the headers Postmark adds (section 5, from a real payload of May
// 2025 published in public code: Return-Path, Postmark's Received,
// X-Spam-Checker-Version, X-Spam-Status, X-Spam-Score, X-Spam-Tests,
// Received-SPF, the SMTP Received, then the message's own headers without
// From, To, Cc, Subject, Date and Content-Type, which are fields of their
// own; folded values keep the folding tab without the line break).
//
// Choices where Postmark documents nothing:
//
//   - SpamAssassin's verdict is always X-Spam-Status: No, score -0.1.
//   - X-Spam-Tests: DKIM_SIGNED when the message has a DKIM-Signature;
//     DKIM_VALID when its bh= is the body's hash and its h= names From (b=
//     cannot be checked: the sandbox's domains publish no keys, and the
//     Graph sandbox writes no real signature); DKIM_VALID_AU when, besides,
//     d= is the From address's domain; HTML_MESSAGE when there is an HTML
//     part; SPF_PASS always.
//   - Received-SPF is pass for the envelope sender: the sending domain is
//     taken to list Exchange Online (include:spf.protection.outlook.com).
//     helo and client-ip are left out: a Relay is not told them.
//   - StrippedTextReply is always empty; Bcc and BccFull too (a Bcc'd
//     inbound address shows only as OriginalRecipient).
//   - An attachment's ContentType is its media type without parameters;
//     ContentID is the Content-ID without <> for inline parts, else "".
//   - Bodies keep their text with line ends as LF, as in the real payload.

// InboundAddress is one address of an inbound message.
type InboundAddress struct {
	Email       string `json:"Email"`
	Name        string `json:"Name"`
	MailboxHash string `json:"MailboxHash"`
}

// InboundAttachment is one attachment of an inbound message.
type InboundAttachment struct {
	Name          string `json:"Name"`
	Content       string `json:"Content"` // base64
	ContentType   string `json:"ContentType"`
	ContentLength int    `json:"ContentLength"`
	ContentID     string `json:"ContentID"`
}

// InboundMessage is the inbound webhook's JSON payload.
type InboundMessage struct {
	FromName          string              `json:"FromName"`
	MessageStream     string              `json:"MessageStream"`
	From              string              `json:"From"`
	FromFull          InboundAddress      `json:"FromFull"`
	To                string              `json:"To"`
	ToFull            []InboundAddress    `json:"ToFull"`
	Cc                string              `json:"Cc"`
	CcFull            []InboundAddress    `json:"CcFull"`
	Bcc               string              `json:"Bcc"`
	BccFull           []InboundAddress    `json:"BccFull"`
	OriginalRecipient string              `json:"OriginalRecipient"`
	Subject           string              `json:"Subject"`
	MessageID         string              `json:"MessageID"`
	ReplyTo           string              `json:"ReplyTo"`
	MailboxHash       string              `json:"MailboxHash"`
	Date              string              `json:"Date"`
	TextBody          string              `json:"TextBody"`
	HtmlBody          string              `json:"HtmlBody"`
	StrippedTextReply string              `json:"StrippedTextReply"`
	Tag               string              `json:"Tag"`
	Headers           []Header            `json:"Headers"`
	Attachments       []InboundAttachment `json:"Attachments"`
}

// inboundHost names the sandbox where Postmark names its inbound servers.
const inboundHost = "postmark-sandbox.local"

// ParseInbound reads a message received over SMTP (raw MIME, from the
// envelope sender mailFrom to the envelope recipient rcptTo) into the
// webhook payload, with a new MessageID.
func ParseInbound(message []byte, mailFrom, rcptTo string) (InboundMessage, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(message))
	if err != nil {
		return InboundMessage{}, fmt.Errorf("read the message: %w", err)
	}
	dec := new(mime.WordDecoder)
	decoded := func(name string) string {
		v := msg.Header.Get(name)
		if d, err := dec.DecodeHeader(v); err == nil {
			return d
		}
		return v
	}
	in := InboundMessage{
		MessageStream: "inbound", MessageID: newMessageID(), OriginalRecipient: rcptTo,
		MailboxHash: mailboxHash(rcptTo), Subject: decoded("Subject"), Date: msg.Header.Get("Date"),
		ToFull: []InboundAddress{}, CcFull: []InboundAddress{}, BccFull: []InboundAddress{},
		Attachments: []InboundAttachment{},
	}
	if from, err := msg.Header.AddressList("From"); err == nil && len(from) > 0 {
		in.From, in.FromName = from[0].Address, from[0].Name
		in.FromFull = InboundAddress{Email: from[0].Address, Name: from[0].Name, MailboxHash: mailboxHash(from[0].Address)}
	}
	for _, f := range []struct {
		name string
		raw  *string
		full *[]InboundAddress
	}{{"To", &in.To, &in.ToFull}, {"Cc", &in.Cc, &in.CcFull}} {
		list, err := msg.Header.AddressList(f.name)
		if err != nil {
			continue
		}
		var shown []string
		for _, a := range list {
			*f.full = append(*f.full, InboundAddress{Email: a.Address, Name: a.Name, MailboxHash: mailboxHash(a.Address)})
			shown = append(shown, showAddress(a))
		}
		*f.raw = strings.Join(shown, ", ")
	}
	if list, err := msg.Header.AddressList("Reply-To"); err == nil {
		var shown []string
		for _, a := range list {
			shown = append(shown, showAddress(a))
		}
		in.ReplyTo = strings.Join(shown, ", ")
	}
	if err := readParts(&in, textproto.MIMEHeader(msg.Header), msg.Body); err != nil {
		return InboundMessage{}, fmt.Errorf("read the message's parts: %w", err)
	}
	in.Headers = inboundHeaders(message, mailFrom, rcptTo, in.From, in.HtmlBody != "")
	return in, nil
}

// showAddress writes an address as Postmark's To and Cc show it.
func showAddress(a *mail.Address) string {
	if a.Name == "" {
		return a.Address
	}
	return a.String()
}

// mailboxHash is the plus part of an address's local part ("If the email
// was sent to user+12345@example.com the MailboxHash would contain 12345").
func mailboxHash(address string) string {
	local, _, _ := strings.Cut(address, "@")
	_, hash, _ := strings.Cut(local, "+")
	return hash
}

func newMessageID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	x := hex.EncodeToString(b[:])
	return x[0:8] + "-" + x[8:12] + "-" + x[12:16] + "-" + x[16:20] + "-" + x[20:]
}

// readParts fills the bodies and attachments from a MIME entity.
func readParts(in *InboundMessage, h textproto.MIMEHeader, r io.Reader) error {
	mt, params, _ := mime.ParseMediaType(h.Get("Content-Type"))
	if mt == "" {
		mt = "text/plain"
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(r, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if err := readParts(in, p.Header, p); err != nil {
				return err
			}
		}
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	// multipart.Reader undoes quoted-printable itself; base64 is ours.
	if strings.EqualFold(strings.TrimSpace(h.Get("Content-Transfer-Encoding")), "base64") {
		if data, err = base64.StdEncoding.DecodeString(string(bytes.Join(bytes.Fields(data), nil))); err != nil {
			return err
		}
	}
	disp, dparams, _ := mime.ParseMediaType(h.Get("Content-Disposition"))
	switch {
	case disp != "attachment" && mt == "text/html" && in.HtmlBody == "":
		in.HtmlBody = lf(string(data))
	case disp != "attachment" && mt == "text/plain" && in.TextBody == "":
		in.TextBody = lf(string(data))
	default:
		name := dparams["filename"]
		if name == "" {
			name = params["name"]
		}
		id := ""
		if disp == "inline" {
			id = strings.Trim(h.Get("Content-ID"), "<> ")
		}
		in.Attachments = append(in.Attachments, InboundAttachment{Name: name, Content: base64.StdEncoding.EncodeToString(data),
			ContentType: mt, ContentLength: len(data), ContentID: id})
	}
	return nil
}

func lf(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

// inboundHeaders are the payload's Headers: what Postmark adds, then the
// message's own fields but those the payload has as fields.
func inboundHeaders(message []byte, mailFrom, rcptTo, from string, html bool) []Header {
	now := time.Now().UTC().Format("Mon, 2 Jan 2006 15:04:05 -0700 (MST)")
	fields := headerFields(message)
	tests := []string{}
	if sig, ok := lastField(fields, "DKIM-Signature"); ok {
		tests = append(tests, "DKIM_SIGNED")
		if dkimValid(message, sig) {
			tests = append(tests, "DKIM_VALID")
			if d := dkimTag(sig, "d"); d != "" && strings.EqualFold(d, domainOf(from)) {
				tests = append(tests, "DKIM_VALID_AU")
			}
		}
	}
	if html {
		tests = append(tests, "HTML_MESSAGE")
	}
	tests = append(tests, "SPF_PASS")
	id := strings.ToUpper(newMessageID()[:11])
	out := []Header{
		{Name: "Return-Path", Value: "<" + mailFrom + ">"},
		{Name: "Received", Value: fmt.Sprintf("by %s (Postfix, from userid 996)\tid %s; %s", inboundHost, id, now)},
		{Name: "X-Spam-Checker-Version", Value: "SpamAssassin 3.4.0 (2014-02-07) on\t" + inboundHost},
		{Name: "X-Spam-Status", Value: "No"},
		{Name: "X-Spam-Score", Value: "-0.1"},
		{Name: "X-Spam-Tests", Value: strings.Join(tests, ",")},
		{Name: "Received-SPF", Value: fmt.Sprintf(`pass (%s: Sender is authorized to use '%s' in 'mfrom' identity (mechanism 'include:spf.protection.outlook.com' matched)) receiver=%s; identity=mailfrom; envelope-from="%s"`,
			domainOf(mailFrom), mailFrom, inboundHost, mailFrom)},
		{Name: "Received", Value: fmt.Sprintf("from %s by %s (Postfix) with ESMTPS id %s\tfor <%s>; %s", domainOf(mailFrom), inboundHost, id, rcptTo, now)},
	}
	for _, f := range fields {
		switch strings.ToLower(f.Name) {
		case "from", "to", "cc", "bcc", "subject", "date", "reply-to", "content-type", "content-transfer-encoding":
			continue
		}
		out = append(out, Header{Name: f.Name, Value: strings.ReplaceAll(f.Value, "\r\n", "")})
	}
	return out
}

// headerFields are a message's header fields in order, each value with its
// folding (CRLF + white space) kept.
func headerFields(message []byte) []Header {
	head := message
	if i := bytes.Index(message, []byte("\r\n\r\n")); i >= 0 {
		head = message[:i]
	}
	var out []Header
	for _, line := range strings.Split(string(head), "\r\n") {
		switch {
		case line == "":
		case line[0] == ' ' || line[0] == '\t':
			if len(out) > 0 {
				out[len(out)-1].Value += "\r\n" + line
			}
		default:
			name, value, _ := strings.Cut(line, ":")
			out = append(out, Header{Name: name, Value: strings.TrimLeft(value, " ")})
		}
	}
	return out
}

func lastField(fields []Header, name string) (string, bool) {
	for i := len(fields) - 1; i >= 0; i-- {
		if strings.EqualFold(fields[i].Name, name) {
			return fields[i].Value, true
		}
	}
	return "", false
}

// dkimTag reads one tag of a DKIM-Signature value (RFC 6376 section 3.2:
// white space inside a value is ignored).
func dkimTag(sig, tag string) string {
	for _, part := range strings.Split(sig, ";") {
		k, v, ok := strings.Cut(part, "=")
		if ok && strings.TrimSpace(k) == tag {
			return strings.Join(strings.Fields(v), "")
		}
	}
	return ""
}

// dkimValid checks what the sandbox can check of a signature: h= names
// From (RFC 6376 section 5.4) and bh= is the relaxed body's SHA-256
// (section 3.4.4), for c=relaxed/relaxed. It cannot check b=.
func dkimValid(message []byte, sig string) bool {
	signsFrom := false
	for _, n := range strings.Split(dkimTag(sig, "h"), ":") {
		signsFrom = signsFrom || strings.EqualFold(n, "from")
	}
	if !signsFrom || dkimTag(sig, "c") != "relaxed/relaxed" {
		return false
	}
	body := []byte(nil)
	if i := bytes.Index(message, []byte("\r\n\r\n")); i >= 0 {
		body = message[i+4:]
	}
	sum := sha256.Sum256(relaxedBody(body))
	return dkimTag(sig, "bh") == base64.StdEncoding.EncodeToString(sum[:])
}

// relaxedBody is RFC 6376 section 3.4.4's body canonicalization.
func relaxedBody(body []byte) []byte {
	lines := strings.Split(strings.ReplaceAll(string(body), "\r\n", "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(strings.Join(strings.FieldsFunc(l, func(r rune) bool { return r == ' ' || r == '\t' }), " "), " ")
		if l != "" && (l[0] == ' ' || l[0] == '\t') && lines[i] != "" {
			lines[i] = " " + lines[i] // leading white space is one space, not removed
		}
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) == 0 {
		return nil
	}
	return []byte(strings.Join(lines, "\r\n") + "\r\n")
}

func domainOf(address string) string {
	_, d, _ := strings.Cut(address, "@")
	return strings.ToLower(d)
}

// Inbound outcomes.
const (
	InboundPending    = "pending"    // not yet answered 200 or 403; retries to come
	InboundDelivered  = "delivered"  // the webhook answered 200
	InboundRefused    = "refused"    // the webhook answered 403: Postmark stops retrying
	InboundFailed     = "failed"     // every retry failed
	InboundUnreadable = "unreadable" // the message could not be parsed; nothing was posted
)

// DefaultInboundRetries are the waits before each retry of a post that did
// not answer 200 or 403: "1 min, 5 min, 10, 10, 10 min, 15 min, 30 min,
// 1 h, 2 h, 6 h" (reference section 4).
var DefaultInboundRetries = []time.Duration{time.Minute, 5 * time.Minute, 10 * time.Minute, 10 * time.Minute,
	10 * time.Minute, 15 * time.Minute, 30 * time.Minute, time.Hour, 2 * time.Hour, 6 * time.Hour}

// InboundOptions configure the inbound side.
type InboundOptions struct {
	// WebhookURL is the app's inbound webhook (POST /hooks/postmark/inbound).
	WebhookURL string
	// User and Password are the basic auth credentials Postmark sends, as
	// in https://user:password@host/hooks/postmark/inbound.
	User, Password string
	// Retries are the waits before each retry; nil: DefaultInboundRetries.
	Retries []time.Duration
	// Client posts; nil: one that waits 2 minutes for an answer, as
	// Postmark does (reference section 4).
	Client *http.Client
	// Dir, when set, receives each payload as <MessageID>.json.
	Dir string
}

// InboundPost is one received message and what the webhook answered.
type InboundPost struct {
	MessageID         string           `json:"messageId"`
	OriginalRecipient string           `json:"originalRecipient"`
	ReceivedAt        time.Time        `json:"receivedAt"`
	Outcome           string           `json:"outcome"`
	Attempts          []InboundAttempt `json:"attempts"`
	// Error says why the message was unreadable.
	Error string `json:"error,omitempty"`
}

// InboundAttempt is one post of the payload.
type InboundAttempt struct {
	At     time.Time `json:"at"`
	Status int       `json:"status,omitempty"`
	// Answer is the start of the webhook's answer, or the error when it
	// did not answer.
	Answer string `json:"answer"`
}

// Inbound is Postmark's inbound side: it receives messages (Receive, a
// graphsandbox.Relay) and posts them to the webhook in goroutines that
// Close stops. Create it with NewInbound.
type Inbound struct {
	opts   InboundOptions
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	posts  []*InboundPost
	closed bool
}

// NewInbound checks the options and returns the inbound side.
func NewInbound(opts InboundOptions) (*Inbound, error) {
	u, err := url.Parse(opts.WebhookURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("postmarksandbox: the webhook URL %q is not an http(s) URL", opts.WebhookURL)
	}
	if opts.Retries == nil {
		opts.Retries = DefaultInboundRetries
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 2 * time.Minute}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Inbound{opts: opts, ctx: ctx, cancel: cancel}, nil
}

// Receive takes a message for rcptTo and posts it to the webhook in the
// background, retrying as Postmark does.
func (in *Inbound) Receive(mailFrom, rcptTo string, message []byte) {
	p := &InboundPost{OriginalRecipient: rcptTo, ReceivedAt: time.Now().UTC(), Outcome: InboundPending, Attempts: []InboundAttempt{}}
	payload, err := ParseInbound(message, mailFrom, rcptTo)
	in.mu.Lock()
	in.posts = append(in.posts, p)
	if err != nil {
		p.Outcome, p.Error = InboundUnreadable, err.Error()
		in.mu.Unlock()
		return
	}
	p.MessageID = payload.MessageID
	in.mu.Unlock()
	body, err := json.Marshal(payload)
	if err != nil {
		in.finish(p, InboundUnreadable, err.Error())
		return
	}
	if in.opts.Dir != "" {
		if err := os.MkdirAll(in.opts.Dir, 0o700); err == nil {
			_ = os.WriteFile(filepath.Join(in.opts.Dir, payload.MessageID+".json"), body, 0o600)
		}
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.closed {
		p.Outcome, p.Error = InboundFailed, "received after Close: not posted"
		return
	}
	in.wg.Add(1)
	go func() {
		defer in.wg.Done()
		in.post(p, body)
	}()
}

// post sends the payload until the webhook answers 200 or 403, or the
// retries run out, or Close.
func (in *Inbound) post(p *InboundPost, body []byte) {
	for attempt := 0; ; attempt++ {
		status, answer := in.postOnce(body)
		in.mu.Lock()
		p.Attempts = append(p.Attempts, InboundAttempt{At: time.Now().UTC(), Status: status, Answer: answer})
		in.mu.Unlock()
		switch {
		case status == http.StatusOK:
			in.finish(p, InboundDelivered, "")
			return
		case status == http.StatusForbidden:
			in.finish(p, InboundRefused, "")
			return
		case attempt >= len(in.opts.Retries):
			in.finish(p, InboundFailed, "")
			return
		}
		t := time.NewTimer(in.opts.Retries[attempt])
		select {
		case <-in.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

func (in *Inbound) postOnce(body []byte) (int, string) {
	req, err := http.NewRequestWithContext(in.ctx, http.MethodPost, in.opts.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return 0, err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Postmark")
	req.SetBasicAuth(in.opts.User, in.opts.Password)
	res, err := in.opts.Client.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1024))
	return res.StatusCode, string(bytes.TrimSpace(b))
}

func (in *Inbound) finish(p *InboundPost, outcome, msg string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	p.Outcome, p.Error = outcome, msg
}

// Posts returns the received messages and their outcomes, oldest first.
func (in *Inbound) Posts() []InboundPost {
	in.mu.Lock()
	defer in.mu.Unlock()
	out := make([]InboundPost, 0, len(in.posts))
	for _, p := range in.posts {
		c := *p
		c.Attempts = append([]InboundAttempt{}, p.Attempts...)
		out = append(out, c)
	}
	return out
}

// Close stops the posts waiting for a retry, or under way, and waits for
// their goroutines; a message received afterwards is not posted.
func (in *Inbound) Close() error {
	in.mu.Lock()
	in.closed = true
	in.mu.Unlock()
	in.cancel()
	in.wg.Wait()
	return nil
}
