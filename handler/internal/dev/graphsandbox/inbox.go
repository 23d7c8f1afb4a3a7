package graphsandbox

import (
	"bytes"
	"errors"
	"fmt"
	"mime"
	"mime/multipart"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Messages that arrive in the sender's Inbox about a message it sent: a
// reply, a non-delivery report or a delivery-delayed notice, put there by
// POST /_sandbox/inbox (or Deliver) as Exchange Online would.
//
// A reply comes from the original's first To recipient (or From), with
// subject "RE: …", In-Reply-To and References set to the original's
// Message-ID, a new Message-ID, and the original's conversationId (Outlook
// threads a reply into the conversation: "conversationId: The ID of the
// conversation the email belongs to",
// https://learn.microsoft.com/en-us/graph/api/resources/message). Replies
// from outside Exchange can get a new conversationId while their
// In-Reply-To still names the original (reported:
// https://learn.microsoft.com/en-us/answers/questions/5883983): set
// NewConversation to model one.
//
// A non-delivery report is modelled on a real Exchange Online NDR (public
// fixture rothskeller/packet pktmsg/parse_test.go, actualBounceMessage):
// from "Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@…>"
// (the sandbox uses the sender's domain; real ones also use the tenant's
// onmicrosoft.com domain), subject "Undeliverable: …", headers
// X-MS-Exchange-Message-Is-Ndr (empty value), Auto-Submitted: auto-replied,
// In-Reply-To and References = the original's Message-ID, Content-Type
// multipart/report; report-type=delivery-status (the shape shown in
// https://learn.microsoft.com/en-us/graph/api/message-get, example 2). Its
// toRecipients are the failed addresses, not the mailbox owner (reported:
// https://github.com/microsoftgraph/msgraph-sdk-java/issues/807). Its
// conversationId is the original's. The enhanced status code (5.x.x
// permanent, 4.x.x temporary,
// https://learn.microsoft.com/en-us/troubleshoot/exchange/email-delivery/ndr/non-delivery-reports-in-exchange-online)
// is only in the body: Mail.ReadBasic cannot tell hard from soft.
//
// A delivery-delayed notice is a DSN with Action: delayed, which Exchange
// sends after its delay notification timeout (4 hours by default) while it
// keeps trying for up to 2 days
// (https://learn.microsoft.com/en-us/exchange/mail-flow/queues/message-intervals).
// Its subject is "Delivery delayed: …"; it is multipart/report like an NDR
// and threads the same way. Whether Exchange stamps
// X-MS-Exchange-Message-Is-Ndr on a delay notice is not documented and no
// public sample was found; the sandbox leaves it off (the header names
// non-delivery, and a delay is not one). A reader must not count a
// multipart/report as a bounce by itself.
//
// In internetMessageHeaders, received mail often lacks From, To and Cc
// (reported: https://github.com/microsoftgraph/microsoft-graph-docs/issues/3066):
// the sandbox leaves them out there (they are in from and toRecipients, and
// in the .eml).

// Inbox kinds.
const (
	InboxReply = "reply"
	InboxNDR   = "ndr"
	InboxDelay = "delay"
)

// ExchangeNDRSender is the local part Exchange Online sends NDRs from.
const ExchangeNDRSender = "MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e"

// InboxRequest asks for a message in the sender's Inbox about a sent one.
type InboxRequest struct {
	// InReplyTo is the Message-ID of a sent message (with or without <>).
	InReplyTo string `json:"inReplyTo"`
	// Kind is InboxReply, InboxNDR or InboxDelay.
	Kind string `json:"kind"`
	// From overrides who replies (a reply only); default the original's
	// first To recipient.
	From string `json:"from,omitempty"`
	// Recipient is the address that failed or is delayed (ndr, delay);
	// default the original's first recipient. It must be one of them.
	Recipient string `json:"recipient,omitempty"`
	// Status is the enhanced status code in the body (ndr: 5.1.1 by
	// default, 4.x.x or 5.x.x; delay: 4.4.7 by default, 4.x.x).
	Status string `json:"status,omitempty"`
	// NewConversation gives the message a new conversationId, as replies
	// from outside Exchange can have.
	NewConversation bool `json:"newConversation,omitempty"`
}

// Inbound is a message in a mailbox's Inbox.
type Inbound struct {
	ID                string    `json:"id"`
	Mailbox           string    `json:"mailbox"`
	Kind              string    `json:"kind"`
	InternetMessageID string    `json:"internetMessageId"`
	ConversationID    string    `json:"conversationId"`
	InReplyTo         string    `json:"inReplyTo"`
	From              Address   `json:"from"`
	To                []Address `json:"toRecipients"`
	Cc                []Address `json:"ccRecipients,omitempty"`
	ReplyTo           []Address `json:"replyTo,omitempty"`
	Subject           string    `json:"subject"`
	ReceivedDateTime  time.Time `json:"receivedDateTime"`
	SentDateTime      time.Time `json:"sentDateTime"`
	// Headers are its internetMessageHeaders, as Graph returns them.
	Headers []Header `json:"internetMessageHeaders"`
	// Body is its body (returned to Mail.Read only): text, or HTML when
	// BodyType says so.
	Body           string `json:"body"`
	BodyType       string `json:"bodyType,omitempty"` // "html" or "text" (the default)
	HasAttachments bool   `json:"hasAttachments,omitempty"`
	EMLPath        string `json:"emlPath"`

	seq    uint64
	report string // the message/delivery-status part of an ndr or delay
}

// ErrNoSentMessage is Deliver's error when no accepted message has the
// Message-ID.
var ErrNoSentMessage = errors.New("no sent message has this Message-ID")

// Deliver puts a reply, NDR or delay notice about a sent message into its
// sender's Inbox and returns it. The original may still be in Drafts.
// When several accepted messages share the Message-ID (a send made again),
// the latest is the original.
func (s *Sandbox) Deliver(req InboxRequest) (Inbound, error) {
	id := strings.TrimSpace(req.InReplyTo)
	if id != "" && !strings.HasPrefix(id, "<") {
		id = "<" + id + ">"
	}
	kind := strings.ToLower(strings.TrimSpace(req.Kind))
	switch kind {
	case InboxReply, InboxNDR, InboxDelay:
	default:
		return Inbound{}, fmt.Errorf("kind %q: use %q, %q or %q", req.Kind, InboxReply, InboxNDR, InboxDelay)
	}
	if req.From != "" && (kind != InboxReply || !validAddress(req.From)) {
		return Inbound{}, fmt.Errorf("from %q: give a plain address, for a reply only", req.From)
	}
	status := req.Status
	switch {
	case kind == InboxReply && status != "":
		return Inbound{}, errors.New("status is for an ndr or a delay")
	case kind == InboxReply:
	case status == "" && kind == InboxNDR:
		status = "5.1.1"
	case status == "" && kind == InboxDelay:
		status = "4.4.7"
	case !validStatus(status) || kind == InboxDelay && status[0] != '4':
		return Inbound{}, fmt.Errorf("status %q: give an enhanced status code such as 5.1.1 (ndr) or 4.4.7 (delay, 4.x.x only)", status)
	}

	s.mu.Lock()
	var orig *Accepted
	for _, a := range s.accepted {
		if id != "" && a.MessageID == id {
			orig = a
		}
	}
	if orig == nil {
		s.mu.Unlock()
		return Inbound{}, ErrNoSentMessage
	}
	o := *orig
	s.mu.Unlock()

	failed := req.Recipient
	rcpts := o.Recipients()
	if kind != InboxReply {
		if failed == "" && len(rcpts) > 0 {
			failed = rcpts[0]
		}
		known := false
		for _, r := range rcpts {
			known = known || strings.EqualFold(r, failed)
		}
		if !known {
			return Inbound{}, fmt.Errorf("recipient %q is not a recipient of that message", req.Recipient)
		}
	} else if req.Recipient != "" {
		return Inbound{}, errors.New("recipient is for an ndr or a delay; use from for a reply")
	}
	return s.report(o, reportRequest{kind: kind, from: req.From, recipient: failed, status: status,
		newConversation: req.NewConversation, at: s.now()})
}

// reportRequest is a validated InboxRequest: what to put into the Inbox of
// the sender of a message, and when it arrives.
type reportRequest struct {
	kind            string
	from            string // reply only
	recipient       string // ndr, delay: the failed or delayed address
	status          string // ndr, delay
	newConversation bool
	at              time.Time
}

// report makes the reply, NDR or delay notice about o and records it.
func (s *Sandbox) report(o Accepted, req reportRequest) (Inbound, error) {
	kind, failed, status := req.kind, req.recipient, req.status
	rcpts := o.Recipients()
	s.mu.Lock()
	s.seq++
	seq := s.seq
	s.mu.Unlock()
	in := Inbound{
		ID: newItemID(), Mailbox: o.Mailbox, Kind: kind, ConversationID: o.ConversationID, InReplyTo: o.MessageID,
		ReceivedDateTime: req.at, SentDateTime: req.at, seq: seq,
	}
	if req.newConversation {
		in.ConversationID = newConversationID()
	}
	senderDomain := domainOf(o.Mailbox)
	switch kind {
	case InboxReply:
		from := Address{Address: req.from}
		if from.Address == "" {
			switch {
			case len(o.To) > 0:
				from = o.To[0]
			case len(rcpts) > 0:
				from = Address{Address: rcpts[0]}
			}
		}
		in.From, in.To = from, []Address{{Address: o.Mailbox}}
		in.Subject = "RE: " + o.Subject
		in.InternetMessageID = fmt.Sprintf("<%s@%s>", strings.ToUpper(strings.ReplaceAll(newUUID(), "-", "")), domainOf(from.Address))
		in.Body = "Thank you, I got your message.\r\n\r\n(A reply made by the Graph sandbox.)\r\n"
	case InboxNDR, InboxDelay:
		in.From = Address{Name: "Microsoft Outlook", Address: ExchangeNDRSender + "@" + senderDomain}
		in.To = []Address{{Address: failed}}
		in.InternetMessageID = fmt.Sprintf("<%s@sandbox.graph.local>", newUUID())
		action, code := "failed", "550"
		if kind == InboxNDR {
			in.Subject = "Undeliverable: " + o.Subject
			if status[0] == '4' {
				code = "450"
			}
			reason := "RESOLVER.ADR.RecipNotFound; not found"
			if status == "5.1.10" {
				// Another Exchange Online organisation has no such
				// recipient (the 5.1.10 page cited in transport.go).
				reason = "RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup"
			}
			in.Body = fmt.Sprintf("Your message to %s couldn't be delivered.\r\n\r\nDiagnostic information for administrators:\r\n\r\nGenerating server: sandbox.graph.local\r\n\r\n%s\r\nRemote server returned '%s %s %s [sandbox]'\r\n", failed, failed, code, status, reason)
		} else {
			action, code = "delayed", "451"
			in.Subject = "Delivery delayed: " + o.Subject
			in.Body = fmt.Sprintf("Delivery is delayed to these recipients or groups:\r\n\r\n%s\r\n\r\nThe server will keep trying to deliver it for up to 2 days.\r\n\r\nDiagnostic information for administrators:\r\n\r\nRemote server returned '%s %s Message delayed [sandbox]'\r\n", failed, code, status)
		}
		in.report = fmt.Sprintf("Reporting-MTA: dns;sandbox.graph.local\r\n\r\nFinal-recipient: rfc822;%s\r\nAction: %s\r\nStatus: %s\r\nDiagnostic-Code: smtp;%s %s [sandbox]\r\n", failed, action, status, code, status)
	}
	in.Headers = inboundHeaders(in, kind)

	path, err := s.writeInboundEML(&in, o)
	if err != nil {
		return Inbound{}, fmt.Errorf("store the message: %w", err)
	}
	in.EMLPath = path
	s.mu.Lock()
	s.inbox = append(s.inbox, &in)
	s.mu.Unlock()
	return in, nil
}

// inboundHeaders are the internetMessageHeaders of an inbox message (the
// boundary of a report is set by writeInboundEML).
func inboundHeaders(in Inbound, kind string) []Header {
	hs := []Header{
		{Name: "Message-ID", Value: in.InternetMessageID},
		{Name: "In-Reply-To", Value: in.InReplyTo},
		{Name: "References", Value: in.InReplyTo},
		{Name: "Subject", Value: in.Subject},
		{Name: "Date", Value: in.SentDateTime.Format(time.RFC1123Z)},
		{Name: "MIME-Version", Value: "1.0"},
	}
	if kind == InboxReply {
		return append(hs, Header{Name: "Content-Type", Value: `text/plain; charset="utf-8"`})
	}
	hs = append(hs,
		Header{Name: "Content-Type", Value: "multipart/report; report-type=delivery-status"},
		Header{Name: "Content-Language", Value: "en-US"},
		Header{Name: "Auto-Submitted", Value: "auto-replied"})
	if kind == InboxNDR {
		hs = append(hs, Header{Name: "X-MS-Exchange-Message-Is-Ndr", Value: ""})
	}
	return hs
}

// writeInboundEML writes the message to <dir>/<mailbox>/inbox/, for people
// to open: a reply as text/plain, a report as multipart/report with the
// text, the delivery-status part and the original's headers.
func (s *Sandbox) writeInboundEML(in *Inbound, orig Accepted) (string, error) {
	var b bytes.Buffer
	writeAddressHeader(&b, "From", []Address{in.From})
	writeAddressHeader(&b, "To", in.To)
	var mw *multipart.Writer
	if in.report != "" {
		mw = multipart.NewWriter(&b)
		for i, h := range in.Headers {
			if h.Name == "Content-Type" {
				in.Headers[i].Value = mime.FormatMediaType("multipart/report", map[string]string{"report-type": "delivery-status", "boundary": mw.Boundary()})
			}
		}
	}
	for _, h := range in.Headers {
		if h.Name == "Subject" {
			writeTextHeader(&b, h.Name, h.Value)
		} else {
			writeRawHeader(&b, h.Name, h.Value)
		}
	}
	b.WriteString("\r\n")
	if mw == nil {
		b.WriteString(in.Body)
	} else {
		parts := []struct{ ct, body string }{
			{`text/plain; charset="utf-8"`, in.Body},
			{"message/delivery-status", in.report},
			{"text/rfc822-headers", fmt.Sprintf("From: <%s>\r\nSubject: %s\r\nMessage-ID: %s\r\nDate: %s\r\n", orig.Mailbox, mime.QEncoding.Encode("utf-8", noCRLF(orig.Subject)), orig.MessageID, orig.Time.Format(time.RFC1123Z))},
		}
		for _, p := range parts {
			pw, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {p.ct}})
			if err != nil {
				return "", err
			}
			if _, err := pw.Write([]byte(p.body)); err != nil {
				return "", err
			}
		}
		if err := mw.Close(); err != nil {
			return "", err
		}
	}
	dir := filepath.Join(s.dir, safeFolder(in.Mailbox), "inbox")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	path := filepath.Join(dir, fmt.Sprintf("%s-%06d-%s.eml", in.ReceivedDateTime.UTC().Format("20060102T150405.000000000Z"), in.seq, in.Kind))
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		return "", err
	}
	return path, nil
}

// InboxMessages returns the Inbox messages of mailbox ("" for all), oldest
// first.
func (s *Sandbox) InboxMessages(mailbox string) []Inbound {
	mailbox = normalizeMailbox(mailbox)
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []Inbound{}
	for _, in := range s.inbox {
		if mailbox == "" || in.Mailbox == mailbox {
			out = append(out, *in)
		}
	}
	return out
}

func domainOf(address string) string {
	if _, d, ok := strings.Cut(address, "@"); ok && d != "" {
		return strings.ToLower(d)
	}
	return "sandbox.graph.local"
}

// validStatus reports whether s is an enhanced status code 4.x.x or 5.x.x
// (RFC 3463).
func validStatus(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || parts[0] != "4" && parts[0] != "5" {
		return false
	}
	for _, p := range parts[1:] {
		if p == "" || len(p) > 3 || strings.Trim(p, "0123456789") != "" {
			return false
		}
	}
	return true
}
