package graphsandbox

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Delivery of an accepted message to its recipients, as Exchange Online
// transport does once the message leaves Drafts (SentItemsAt):
//
//   - To an address of Options.Mailboxes (To, Cc or Bcc; one copy per
//     mailbox however often it is named): a new item in that mailbox's
//     Inbox, with its own Graph id and conversationId, readable through the
//     reading routes. Its internetMessageId is the sender's Message-ID (the
//     client's internetMessageId when set), from the sender (with the
//     mailbox's display name), toRecipients and ccRecipients as sent (never
//     Bcc), and internetMessageHeaders as the recipient's copy holds them:
//     the trace and authentication headers the receiving side wrote, then
//     the sender's headers, List-Unsubscribe and List-Unsubscribe-Post
//     among them (mimeHeaderOf). From, To and Cc are left out of
//     internetMessageHeaders, as for the other Inbox items (inbox.go).
//   - Between two organisations (Mailbox.Tenant, else the domain) the copy
//     is DKIM-signed by the sender's organisation and carries the
//     Authentication-Results that Exchange Online Protection writes on
//     receipt (dkim.go). Within one organisation the message never leaves
//     Exchange: no DKIM-Signature and no Authentication-Results, and
//     X-MS-Exchange-Organization-AuthAs: Internal instead (reported for mail
//     between mailboxes of one tenant, with no DKIM header on it, in a
//     Server Fault question, "SPF spf.protection.outlook.com is invalid for
//     messages within tenant", 1154095; Microsoft's DKIM pages speak of
//     outbound mail only).
//   - A reply threads: when the message's In-Reply-To or References names
//     a message of the recipient's mailbox, the copy takes that message's
//     conversationId. How Exchange threads mail from another organisation
//     is not documented; Outlook's own replies also carry Thread-Index.
//   - To an unknown address at a domain of Options.Mailboxes: a
//     non-delivery report in the sender's Inbox (the ndr of inbox.go), with
//     5.1.1 inside the sender's organisation and 5.1.10 (RecipientNotFound)
//     for another Exchange Online organisation
//     (https://learn.microsoft.com/en-us/exchange/troubleshoot/email-delivery/ndr/fix-error-code-5-1-10-in-exchange-online).
//   - To an address of a domain with a Relay: the signed message is handed
//     to it, one call per recipient (SMTP's RCPT TO), with the sender's
//     address as MAIL FROM. Exchange Online's envelope sender is the
//     mailbox's address.
//   - Any other domain: nothing; the message is kept as sent.
//
// Timing: a recipient's copy and an NDR appear at SentItemsAt (a late fault
// delays them too: "The copy of the message is not created until the
// message successfully sends",
// https://learn.microsoft.com/en-us/graph/outlook-immutable-id); a Relay is
// called then. Real delivery takes longer and is not documented; tests
// should poll.

// InboxMessage is the Kind of an Inbox item delivered from another
// sandbox mailbox.
const InboxMessage = "message"

// Mailbox is a mailbox of the sandbox's organisations.
type Mailbox struct {
	Address string `json:"address"`
	// Name is the display name Exchange writes in From.
	Name string `json:"name,omitempty"`
	// Tenant is the mailbox's organisation (its tenant id). Empty: the
	// address's domain.
	Tenant string `json:"tenant,omitempty"`
}

// Relay receives the messages for one domain outside the sandbox's
// organisations, as that domain's mail servers would over SMTP.
type Relay interface {
	// Receive takes one message, as raw MIME, for the envelope recipient
	// rcptTo, from the envelope sender mailFrom. It must not block for
	// long: the sandbox calls it from a timer or while answering sendMail.
	Receive(mailFrom, rcptTo string, message []byte)
}

// setOrganisations checks and indexes Options.Mailboxes and Options.Relays.
func (s *Sandbox) setOrganisations(boxes []Mailbox, relays map[string]Relay) error {
	s.mailboxes, s.domains, s.relays = map[string]Mailbox{}, map[string]bool{}, map[string]Relay{}
	for _, m := range boxes {
		key := normalizeMailbox(m.Address)
		if !validAddress(key) {
			return fmt.Errorf("graphsandbox: mailbox %q is not an address such as alice@contoso.example", m.Address)
		}
		if _, dup := s.mailboxes[key]; dup {
			return fmt.Errorf("graphsandbox: mailbox %q is listed twice", m.Address)
		}
		m.Address = key
		s.mailboxes[key] = m
		s.domains[domainOf(key)] = true
	}
	for d, r := range relays {
		d = strings.ToLower(strings.TrimSpace(d))
		switch {
		case r == nil || d == "" || strings.Contains(d, "@"):
			return fmt.Errorf("graphsandbox: relay domain %q: give a domain such as inbound.example and its relay", d)
		case s.domains[d]:
			return fmt.Errorf("graphsandbox: relay domain %q is the domain of a sandbox mailbox", d)
		}
		s.relays[d] = r
	}
	return nil
}

// organisation is the tenant of a sandbox mailbox, else the address's domain.
func (s *Sandbox) organisation(address string) string {
	if m, ok := s.mailboxes[normalizeMailbox(address)]; ok && m.Tenant != "" {
		return "tenant:" + m.Tenant
	}
	return "domain:" + domainOf(address)
}

// transit is what delivering one accepted message produces.
type transit struct {
	copies    []*Inbound // recipients' Inbox items, without seq and conversationId yet
	raws      [][]byte   // their MIME, for the .eml files
	unknown   []string   // addresses an NDR reports
	ndrStatus []string
	handovers []handover
}

type handover struct {
	relay          Relay
	mailFrom, rcpt string
	message        []byte
}

// route works out where each recipient of a (whose MIME is raw, as the
// sender's .eml) gets its copy.
func (s *Sandbox) route(a *Accepted, raw []byte, mf messageFaults) (transit, error) {
	var out transit
	org := s.organisation(a.Mailbox)
	var signed []byte // the message as it leaves the organisation, signed once
	leaving := func() []byte {
		if signed == nil {
			signed = raw
			if !mf.noDKIM {
				signed = prepend(raw, header{"DKIM-Signature", dkimSignature(raw, domainOf(a.Mailbox), !mf.dkimSkipsListUnsubscribe)})
			}
		}
		return signed
	}
	seen := map[string]bool{}
	for _, rcpt := range a.Recipients() {
		key := normalizeMailbox(rcpt)
		if seen[key] {
			continue
		}
		seen[key] = true
		domain := domainOf(key)
		mb, known := s.mailboxes[key]
		switch {
		case known:
			var m []byte
			if s.organisation(mb.Address) == org {
				m = prepend(raw,
					header{"Received", received(a.Mailbox, "", a.SentItemsAt)},
					header{"X-MS-Exchange-Organization-AuthAs", "Internal"})
			} else {
				m = prepend(leaving(),
					header{"Received", received(a.Mailbox, exchangeOutboundIP, a.SentItemsAt)},
					header{"Authentication-Results", authenticationResults(domainOf(a.Mailbox), !mf.noDKIM)})
			}
			in, err := receivedCopy(a, key, m)
			if err != nil {
				return transit{}, err
			}
			out.copies = append(out.copies, in)
			out.raws = append(out.raws, m)
		case s.domains[domain]:
			status := "5.1.10"
			if s.organisation(key) == org {
				status = "5.1.1"
			}
			out.unknown = append(out.unknown, rcpt)
			out.ndrStatus = append(out.ndrStatus, status)
		case s.relays[domain] != nil:
			out.handovers = append(out.handovers, handover{relay: s.relays[domain], mailFrom: a.Mailbox, rcpt: rcpt, message: leaving()})
		}
	}
	return out, nil
}

// deliver records the recipients' copies and NDRs of an accepted message
// and hands it to the Relays, once it leaves Drafts. Errors writing the
// recipients' .eml files are returned; what was recorded stays.
func (s *Sandbox) deliver(a *Accepted, raw []byte, mf messageFaults) error {
	t, err := s.route(a, raw, mf)
	if err != nil {
		return err
	}
	var errs []error
	for i, in := range t.copies {
		s.mu.Lock()
		s.seq++
		in.seq = s.seq
		in.ConversationID = s.conversationOf(in.Mailbox, in.references())
		s.mu.Unlock()
		path, err := s.writeInboxFile(in.Mailbox, in.ReceivedDateTime, in.seq, InboxMessage, t.raws[i])
		if err != nil {
			errs = append(errs, err)
		}
		in.EMLPath = path
		s.mu.Lock()
		s.inbox = append(s.inbox, in)
		s.mu.Unlock()
	}
	for i, rcpt := range t.unknown {
		if _, err := s.report(*a, reportRequest{kind: InboxNDR, recipient: rcpt, status: t.ndrStatus[i], at: a.SentItemsAt}); err != nil {
			errs = append(errs, err)
		}
	}
	if len(t.handovers) > 0 {
		s.handOver(a.SentItemsAt, t.handovers)
	}
	return errors.Join(errs...)
}

// handOver calls the relays, in the order of the recipients, at at (when
// the message leaves Drafts), on a timer that Close stops.
func (s *Sandbox) handOver(at time.Time, hs []handover) {
	send := func() {
		for _, h := range hs {
			h.relay.Receive(h.mailFrom, h.rcpt, h.message)
		}
	}
	wait := at.Sub(s.now())
	if wait <= 0 {
		send()
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.done:
		return
	default:
	}
	if s.relaying == nil {
		s.relaying = map[*time.Timer]bool{}
	}
	var t *time.Timer
	// The callback takes s.mu, so it sees t set.
	t = time.AfterFunc(wait, func() {
		s.mu.Lock()
		live := s.relaying[t]
		delete(s.relaying, t)
		s.mu.Unlock()
		if live {
			send()
		}
	})
	s.relaying[t] = true
}

// conversationOf is the conversationId of the message of mailbox that one
// of refs (Message-IDs) names, else a new one. Caller holds s.mu.
func (s *Sandbox) conversationOf(mailbox string, refs []string) string {
	for _, ref := range refs {
		for _, a := range s.accepted {
			if a.Mailbox == mailbox && a.MessageID == ref {
				return a.ConversationID
			}
		}
		for _, in := range s.inbox {
			if in.Mailbox == mailbox && in.InternetMessageID == ref {
				return in.ConversationID
			}
		}
	}
	return newConversationID()
}

// references are the Message-IDs the item answers: In-Reply-To, then
// References from the newest.
func (in *Inbound) references() []string {
	var out []string
	if in.InReplyTo != "" {
		out = append(out, in.InReplyTo)
	}
	for _, h := range in.Headers {
		if strings.EqualFold(h.Name, "References") {
			ids := strings.Fields(h.Value)
			for i := len(ids) - 1; i >= 0; i-- {
				out = append(out, ids[i])
			}
		}
	}
	return out
}

// receivedCopy is the Inbox item of mailbox for the message m (the
// recipient's MIME).
func receivedCopy(a *Accepted, mailbox string, m []byte) (*Inbound, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(m))
	if err != nil {
		return nil, fmt.Errorf("read the delivered message: %w", err)
	}
	fields, err := headerFields(m)
	if err != nil {
		return nil, err
	}
	var hs []Header
	for _, f := range fields {
		switch strings.ToLower(f.Name) {
		case "from", "to", "cc":
			// Left out, as received mail often lacks them in
			// internetMessageHeaders (inbox.go).
			continue
		}
		hs = append(hs, f)
	}
	bodyType, body, attachments, err := readBody(textproto.MIMEHeader(msg.Header), msg.Body)
	if err != nil {
		return nil, fmt.Errorf("read the delivered message's body: %w", err)
	}
	return &Inbound{
		ID: newItemID(), Mailbox: mailbox, Kind: InboxMessage,
		InternetMessageID: a.MessageID, InReplyTo: strings.TrimSpace(msg.Header.Get("In-Reply-To")),
		From: Address{Name: a.FromName, Address: a.Mailbox}, To: a.To, Cc: a.Cc, ReplyTo: a.ReplyTo,
		Subject: a.Subject, ReceivedDateTime: a.SentItemsAt, SentDateTime: a.Time,
		Headers: hs, BodyType: bodyType, Body: body, HasAttachments: attachments > 0,
	}, nil
}

// headerFields are the header fields of a MIME message, in order, values
// unfolded (RFC 5322 section 2.2.3) and RFC 2047 words decoded.
func headerFields(m []byte) ([]Header, error) {
	head, _, _ := splitMessage(m)
	var out []Header
	dec := new(mime.WordDecoder)
	for _, line := range strings.Split(string(head), "\r\n") {
		if line == "" {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' {
			if len(out) == 0 {
				return nil, errors.New("the message starts with a continuation line")
			}
			out[len(out)-1].Value += " " + strings.TrimSpace(line)
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return nil, fmt.Errorf("header line %q has no colon", abbreviate(line))
		}
		out = append(out, Header{Name: name, Value: strings.TrimSpace(value)})
	}
	for i := range out {
		if v, err := dec.DecodeHeader(out[i].Value); err == nil {
			out[i].Value = v
		}
	}
	return out, nil
}

// splitMessage splits CRLF MIME into its header block (without the blank
// line) and body.
func splitMessage(m []byte) (head, body []byte, ok bool) {
	if i := bytes.Index(m, []byte("\r\n\r\n")); i >= 0 {
		return m[:i], m[i+4:], true
	}
	return m, nil, false
}

// header is one field to write.
type header struct{ name, value string }

// prepend writes fields above the message's header block, as each hop
// does (RFC 5322 section 3.6: trace fields go on top).
func prepend(m []byte, fields ...header) []byte {
	var b bytes.Buffer
	for _, f := range fields {
		fold(&b, f.name+": ", strings.Split(noCRLF(f.value), " "), " ")
	}
	b.Write(m)
	return b.Bytes()
}

// dropFields removes the header fields named (case-insensitive) from the
// message's header block.
func dropFields(m []byte, names ...string) []byte {
	head, body, ok := splitMessage(m)
	if !ok {
		return m
	}
	var b bytes.Buffer
	skip := false
	for _, line := range strings.Split(string(head), "\r\n") {
		if line != "" && (line[0] == ' ' || line[0] == '\t') {
			if !skip {
				b.WriteString(line + "\r\n")
			}
			continue
		}
		name, _, _ := strings.Cut(line, ":")
		skip = false
		for _, n := range names {
			skip = skip || strings.EqualFold(strings.TrimSpace(name), n)
		}
		if !skip {
			b.WriteString(line + "\r\n")
		}
	}
	b.WriteString("\r\n")
	b.Write(body)
	return b.Bytes()
}

// received is a Received trace field (RFC 5321 section 4.4) of the
// receiving side. Exchange's real ones name its servers; these name the
// sandbox.
func received(sender, ip string, at time.Time) string {
	from := "mailbox." + domainOf(sender)
	if ip != "" {
		from += " (" + ip + ")"
	}
	return fmt.Sprintf("from %s by sandbox.graph.local with Microsoft SMTP Server id 15.20.0.0; %s", from, at.Format(time.RFC1123Z))
}

// readBody returns a message's body as Graph shows it (the HTML part when
// there is one, else the text) and how many attachments it has.
func readBody(h textproto.MIMEHeader, r io.Reader) (bodyType, body string, attachments int, err error) {
	mt, params, _ := mime.ParseMediaType(h.Get("Content-Type"))
	if mt == "" {
		mt = "text/plain"
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(r, params["boundary"])
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				return bodyType, body, attachments, nil
			}
			if err != nil {
				return "", "", 0, err
			}
			bt, b, n, err := readBody(p.Header, p)
			if err != nil {
				return "", "", 0, err
			}
			attachments += n
			if bt == "html" || bt == "text" && bodyType == "" {
				bodyType, body = bt, b
			}
		}
	}
	disp, _, _ := mime.ParseMediaType(h.Get("Content-Disposition"))
	if disp == "attachment" || !strings.HasPrefix(mt, "text/") {
		return "", "", 1, nil
	}
	data, err := io.ReadAll(r)
	if err != nil {
		return "", "", 0, err
	}
	if strings.EqualFold(h.Get("Content-Transfer-Encoding"), "base64") {
		if data, err = base64.StdEncoding.DecodeString(string(bytes.Join(bytes.Fields(data), nil))); err != nil {
			return "", "", 0, err
		}
	}
	if mt == "text/html" {
		return "html", string(data), 0, nil
	}
	return "text", string(data), 0, nil
}

// writeInboxFile writes an Inbox item's MIME to <dir>/<mailbox>/inbox/.
func (s *Sandbox) writeInboxFile(mailbox string, at time.Time, seq uint64, kind string, data []byte) (string, error) {
	dir := filepath.Join(s.dir, safeFolder(mailbox), "inbox")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	path := filepath.Join(dir, fmt.Sprintf("%s-%06d-%s.eml", at.UTC().Format("20060102T150405.000000000Z"), seq, kind))
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return "", err
	}
	return path, nil
}
