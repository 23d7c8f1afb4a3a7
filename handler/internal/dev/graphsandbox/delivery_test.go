package graphsandbox

import (
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"mailmerge/handler/internal/dev/postmarksandbox"
	"mailmerge/handler/internal/postmark"
)

// Tests of delivery between the sandbox's mailboxes (issue 27): the
// recipient's copy as Exchange would show it, the faults that break its
// headers, NDRs for unknown addresses and the hand-over to a Relay.

const carol = "carol@fabrikam.com"

// orgs are alice and bob in one tenant, carol in another.
var orgs = []Mailbox{
	{Address: "Alice@Contoso.com", Name: "Alice Contoso", Tenant: "contoso-tenant"},
	{Address: bob, Name: "Bob Contoso", Tenant: "contoso-tenant"},
	{Address: carol, Name: "Carol Fabrikam", Tenant: "fabrikam-tenant"},
}

var (
	carolToken = token(map[string]any{"preferred_username": carol, "scp": "Mail.Read"})
	bobReader  = token(map[string]any{"upn": bob, "scp": "Mail.ReadBasic"})
	aliceRead  = readerToken("Mail.Send Mail.Read")
)

// unsubscribeProps are the extended properties graphmail sends.
var unsubscribeProps = []any{
	map[string]any{"id": "String 0x1045", "value": "<https://mm.example/u/tok>, <mailto:campaigns+u-abc@inbound.example>"},
	map[string]any{"id": "String {00020386-0000-0000-C000-000000000046} Name List-Unsubscribe-Post", "value": "List-Unsubscribe=One-Click"},
}

// inboxCopy is a recipient's copy read through Graph.
type inboxCopy struct {
	ID, InternetMessageID, ConversationID, Subject string
	From                                           Address
	To, Cc                                         []Address
	Headers                                        map[string]string
	Body                                           string
	raw                                            map[string]any
}

// graphMessage is the part of a Graph message the tests read.
type graphMessage struct {
	ID                string `json:"id"`
	InternetMessageID string `json:"internetMessageId"`
	ConversationID    string `json:"conversationId"`
	Subject           string `json:"subject"`
	From              struct {
		EmailAddress Address `json:"emailAddress"`
	} `json:"from"`
	To []struct {
		EmailAddress Address `json:"emailAddress"`
	} `json:"toRecipients"`
	Cc []struct {
		EmailAddress Address `json:"emailAddress"`
	} `json:"ccRecipients"`
	Headers []Header `json:"internetMessageHeaders"`
	Body    struct {
		Content string `json:"content"`
	} `json:"body"`
}

// inboxOf lists a mailbox's Inbox through Graph and reads each message with
// its internetMessageHeaders, as a reader would.
func inboxOf(t *testing.T, srv *httptest.Server, tok string, withBody bool) []inboxCopy {
	t.Helper()
	r := get(t, srv, "/v1.0/me/mailFolders/inbox/messages?$select=id", tok)
	wantStatus(t, r, http.StatusOK)
	var out []inboxCopy
	for _, item := range decode[page](t, r).Value {
		sel := "internetMessageHeaders,internetMessageId,conversationId,subject,from,toRecipients,ccRecipients"
		if withBody {
			sel += ",body"
		}
		g := get(t, srv, "/v1.0/me/messages/"+item["id"].(string)+"?$select="+sel, tok)
		wantStatus(t, g, http.StatusOK)
		m := decode[graphMessage](t, g)
		rec := inboxCopy{ID: m.ID, InternetMessageID: m.InternetMessageID, ConversationID: m.ConversationID, Subject: m.Subject,
			From: m.From.EmailAddress, Headers: headerMap(m.Headers), Body: m.Body.Content, raw: decode[map[string]any](t, g)}
		for _, a := range m.To {
			rec.To = append(rec.To, a.EmailAddress)
		}
		for _, a := range m.Cc {
			rec.Cc = append(rec.Cc, a.EmailAddress)
		}
		out = append(out, rec)
	}
	return out
}

// dkimTags reads a DKIM-Signature's tags.
func dkimTags(sig string) map[string]string {
	out := map[string]string{}
	for _, part := range strings.Split(sig, ";") {
		k, v, ok := strings.Cut(part, "=")
		if ok {
			out[strings.TrimSpace(k)] = strings.Join(strings.Fields(v), "")
		}
	}
	return out
}

func signs(sig, field string) bool {
	for _, n := range strings.Split(dkimTags(sig)["h"], ":") {
		if strings.EqualFold(n, field) {
			return true
		}
	}
	return false
}

func TestDeliveryBetweenMailboxes(t *testing.T) {
	c := &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	sb, srv := start(t, Options{Now: c.Now, Mailboxes: orgs})
	const id = "<r4.c27@mailmerge.example>"
	atts := []any{map[string]any{"@odata.type": "#microsoft.graph.fileAttachment", "name": "Offer.pdf", "contentType": "application/pdf",
		"contentBytes": base64.StdEncoding.EncodeToString([]byte("%PDF-1.4 offer"))}}
	wantStatus(t, sendWithID(t, srv, id, map[string]any{
		"subject":                       "Spring offer",
		"body":                          map[string]any{"contentType": "html", "content": "<p>Dear  Carol</p>"},
		"toRecipients":                  []any{map[string]any{"emailAddress": map[string]any{"address": carol, "name": "Carol F."}}, rcpt("dan@elsewhere.example")},
		"ccRecipients":                  []any{rcpt(bob), rcpt("CAROL@fabrikam.com")},
		"singleValueExtendedProperties": unsubscribeProps,
		"attachments":                   atts,
	}), http.StatusAccepted)
	sent := sb.Messages(alice)[0]
	if sent.FromName != "Alice Contoso" {
		t.Errorf("sender's display name %q", sent.FromName)
	}

	// Nothing arrives while the message is in Drafts.
	if got := inboxOf(t, srv, carolToken, false); len(got) != 0 {
		t.Fatalf("delivered before it was sent: %+v", got)
	}
	c.Advance(time.Second)

	// Carol, in another organisation: one copy, though named twice.
	got := inboxOf(t, srv, carolToken, true)
	if len(got) != 1 {
		t.Fatalf("carol's inbox has %d messages, want 1", len(got))
	}
	m := got[0]
	if m.InternetMessageID != id || m.Subject != "Spring offer" || m.From != (Address{Name: "Alice Contoso", Address: alice}) {
		t.Errorf("identity %+v", m)
	}
	if m.ID == "" || m.ID == sent.sentID || m.ID == sent.draftID || m.ConversationID == "" || m.ConversationID == sent.ConversationID {
		t.Errorf("the copy shares the sender's ids: %s %s", m.ID, m.ConversationID)
	}
	if len(m.To) != 2 || m.To[0].Address != carol || len(m.Cc) != 2 || m.Cc[0].Address != bob {
		t.Errorf("recipients %+v %+v", m.To, m.Cc)
	}
	if !strings.Contains(m.Body, "Dear  Carol") || m.raw["hasAttachments"] != nil && m.raw["hasAttachments"] != true {
		t.Errorf("body %q", m.Body)
	}
	h := m.Headers
	if h["list-unsubscribe"] != "<https://mm.example/u/tok>, <mailto:campaigns+u-abc@inbound.example>" || h["list-unsubscribe-post"] != "List-Unsubscribe=One-Click" {
		t.Errorf("unsubscribe headers %v", h)
	}
	if h["message-id"] != id || h["subject"] != "Spring offer" {
		t.Errorf("message headers %v", h)
	}
	for _, absent := range []string{"from", "to", "cc", "bcc", "x-ms-exchange-organization-authas"} {
		if _, ok := h[absent]; ok {
			t.Errorf("internetMessageHeaders has %s", absent)
		}
	}
	sig := h["dkim-signature"]
	tags := dkimTags(sig)
	if tags["v"] != "1" || tags["a"] != "rsa-sha256" || tags["c"] != "relaxed/relaxed" || tags["d"] != "contoso.com" || tags["s"] != "selector1" || tags["b"] == "" {
		t.Errorf("DKIM-Signature %q", sig)
	}
	for _, f := range []string{"From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type", "List-Unsubscribe", "List-Unsubscribe-Post"} {
		if !signs(sig, f) {
			t.Errorf("h= lacks %s: %q", f, tags["h"])
		}
	}
	ar := h["authentication-results"]
	for _, want := range []string{"spf=pass", "smtp.mailfrom=contoso.com", "dkim=pass (signature was verified) header.d=contoso.com", "dmarc=pass", "header.from=contoso.com"} {
		if !strings.Contains(ar, want) {
			t.Errorf("Authentication-Results %q lacks %q", ar, want)
		}
	}

	// The .eml of the copy: bh= is the hash of the body as delivered.
	in := sb.InboxMessages(carol)
	if len(in) != 1 || in[0].Kind != InboxMessage {
		t.Fatalf("inbox records %+v", in)
	}
	e := readEML(t, in[0].EMLPath)
	_, body, _ := splitMessage([]byte(e.raw))
	sum := sha256.Sum256(relaxedBody(body))
	if tags["bh"] != base64.StdEncoding.EncodeToString(sum[:]) {
		t.Errorf("bh=%s does not match the delivered body", tags["bh"])
	}
	if len(e.parts) != 2 || string(e.parts[1].body) != "%PDF-1.4 offer" || e.header.Get("From") != `"Alice Contoso" <alice@contoso.com>` {
		t.Errorf(".eml parts %d, From %q", len(e.parts), e.header.Get("From"))
	}

	// Bob, in the sender's organisation: the message never leaves
	// Exchange, so no signature and no Authentication-Results.
	bobs := inboxOf(t, srv, bobReader, false)
	if len(bobs) != 1 {
		t.Fatalf("bob's inbox has %d messages", len(bobs))
	}
	bh := bobs[0].Headers
	if _, ok := bh["dkim-signature"]; ok {
		t.Error("internal mail is DKIM-signed")
	}
	if _, ok := bh["authentication-results"]; ok {
		t.Error("internal mail has Authentication-Results")
	}
	if bh["x-ms-exchange-organization-authas"] != "Internal" || bh["list-unsubscribe-post"] != "List-Unsubscribe=One-Click" || bobs[0].InternetMessageID != id {
		t.Errorf("bob's copy %v", bh)
	}
	if bobs[0].ConversationID == m.ConversationID {
		t.Error("two mailboxes share a conversationId")
	}

	// The other domain gets nothing, and no NDR comes back.
	if n := len(sb.InboxMessages(alice)); n != 0 {
		t.Errorf("alice's inbox has %d messages", n)
	}
}

func TestDeliveryFaults(t *testing.T) {
	sb, srv := start(t, Options{SentItemsDelay: -1, Mailboxes: orgs})
	sendOne := func(id string) inboxCopy {
		t.Helper()
		wantStatus(t, sendWithID(t, srv, id, map[string]any{"toRecipients": []any{rcpt(carol)}, "singleValueExtendedProperties": unsubscribeProps}), http.StatusAccepted)
		for _, m := range inboxOf(t, srv, carolToken, false) {
			if m.InternetMessageID == id {
				return m
			}
		}
		t.Fatalf("%s not delivered", id)
		return inboxCopy{}
	}

	// Over HTTP, as a check's test would break the promise.
	r := do(t, mustRequest(t, http.MethodPost, srv.URL+"/_sandbox/faults", `{"kind":"drop-list-unsubscribe","mailbox":"alice@contoso.com"}`))
	wantStatus(t, r, http.StatusCreated)
	m := sendOne("<drop@x.example>")
	if _, ok := m.Headers["list-unsubscribe"]; ok {
		t.Errorf("drop-list-unsubscribe: List-Unsubscribe delivered: %v", m.Headers)
	}
	if _, ok := m.Headers["list-unsubscribe-post"]; ok {
		t.Error("drop-list-unsubscribe: List-Unsubscribe-Post delivered")
	}
	if signs(m.Headers["dkim-signature"], "List-Unsubscribe") {
		t.Error("drop-list-unsubscribe: h= names a header the message lacks")
	}
	a := sb.Messages(alice)[0]
	if len(a.MIMEHeaders) != 0 || strings.Contains(readEML(t, a.EMLPath).raw, "List-Unsubscribe") {
		t.Errorf("drop-list-unsubscribe: the sent message keeps them: %v", a.MIMEHeaders)
	}
	// The fault was for one message: the next one is whole.
	if m := sendOne("<whole@x.example>"); m.Headers["list-unsubscribe-post"] == "" || !signs(m.Headers["dkim-signature"], "List-Unsubscribe-Post") {
		t.Errorf("after the fault: %v", m.Headers)
	}

	if err := sb.Inject(Fault{Kind: FaultDKIMWithoutListUnsubscribe}); err != nil {
		t.Fatal(err)
	}
	m = sendOne("<unsigned-lu@x.example>")
	sig := m.Headers["dkim-signature"]
	if sig == "" || signs(sig, "List-Unsubscribe") || signs(sig, "List-Unsubscribe-Post") || !signs(sig, "From") || m.Headers["list-unsubscribe-post"] == "" {
		t.Errorf("dkim-without-list-unsubscribe: %v", m.Headers)
	}
	if !strings.Contains(m.Headers["authentication-results"], "dkim=pass") {
		t.Errorf("the signature itself still passes: %q", m.Headers["authentication-results"])
	}

	if err := sb.Inject(Fault{Kind: FaultNoDKIM, Count: 2}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"<nodkim1@x.example>", "<nodkim2@x.example>"} {
		m = sendOne(id)
		if _, ok := m.Headers["dkim-signature"]; ok {
			t.Errorf("no-dkim: %s is signed", id)
		}
		if ar := m.Headers["authentication-results"]; !strings.Contains(ar, "dkim=none (message not signed) header.d=none") || !strings.Contains(ar, "dmarc=pass") {
			t.Errorf("no-dkim: Authentication-Results %q", ar)
		}
	}
	if len(sb.Faults()) != 0 {
		t.Errorf("faults left: %+v", sb.Faults())
	}

	// These faults are about sent messages, never reads.
	for _, kind := range []FaultKind{FaultDropListUnsubscribe, FaultDKIMWithoutListUnsubscribe, FaultNoDKIM} {
		if err := sb.Inject(Fault{Kind: kind, Op: OpRead}); err == nil {
			t.Errorf("%s accepted for reads", kind)
		}
	}
	// They change no answer: a throttle still applies to the request.
	if err := sb.Inject(Fault{Kind: FaultNoDKIM}); err != nil {
		t.Fatal(err)
	}
	_ = sb.Inject(Fault{Kind: FaultThrottle})
	wantError(t, sendWithID(t, srv, "<throttled@x.example>", map[string]any{"toRecipients": []any{rcpt(carol)}}), http.StatusTooManyRequests, CodeTooManyRequests, "")
	if got := sb.Faults(); len(got) != 1 || got[0].Kind != FaultNoDKIM {
		t.Errorf("a refused send used up a message fault: %+v", got)
	}
}

func TestUnknownAddressesBounce(t *testing.T) {
	sb, srv := start(t, Options{SentItemsDelay: -1, Mailboxes: orgs})
	const id = "<bounce.c27@mailmerge.example>"
	wantStatus(t, sendWithID(t, srv, id, map[string]any{
		"subject":       "Spring offer",
		"toRecipients":  []any{rcpt("nobody@fabrikam.com"), rcpt("someone@example.com")},
		"bccRecipients": []any{rcpt("ghost@contoso.com")},
	}), http.StatusAccepted)
	ndrs := sb.InboxMessages(alice)
	if len(ndrs) != 2 {
		t.Fatalf("alice's inbox %+v, want 2 NDRs", ndrs)
	}
	want := map[string]string{"nobody@fabrikam.com": "5.1.10", "ghost@contoso.com": "5.1.1"}
	for _, n := range ndrs {
		failed := n.To[0].Address
		if n.Kind != InboxNDR || n.InReplyTo != id || n.Subject != "Undeliverable: Spring offer" || !strings.Contains(n.Body, want[failed]) || want[failed] == "" {
			t.Errorf("NDR %+v", n)
		}
		if _, ok := headerMap(n.Headers)["x-ms-exchange-message-is-ndr"]; !ok {
			t.Errorf("NDR headers %v", n.Headers)
		}
	}
	// Read as the product reads them.
	got := inboxOf(t, srv, aliceRead, true)
	if len(got) != 2 || got[0].Headers["in-reply-to"] != id || !strings.Contains(got[0].Body+got[1].Body, "RecipientNotFound") {
		t.Errorf("NDRs read through Graph: %+v", got)
	}
}

// relayLog is a Relay that records what it receives.
type relayLog struct {
	mu    sync.Mutex
	calls []relayCall
}

type relayCall struct {
	mailFrom, rcptTo string
	message          string
	at               time.Time
}

func (r *relayLog) Receive(mailFrom, rcptTo string, message []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, relayCall{mailFrom, rcptTo, string(message), time.Now()})
}

func (r *relayLog) got() []relayCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]relayCall(nil), r.calls...)
}

func TestRelayGetsMailForItsDomain(t *testing.T) {
	relay := &relayLog{}
	sb, srv := start(t, Options{SentItemsDelay: 300 * time.Millisecond, Mailboxes: orgs, Relays: map[string]Relay{"Inbound.Example": relay}})
	sentAt := time.Now()
	wantStatus(t, sendWithID(t, srv, "<template@x.example>", map[string]any{
		"toRecipients":                  []any{rcpt("campaigns+tok123@inbound.example")},
		"ccRecipients":                  []any{rcpt("campaigns+u-abc@inbound.example"), rcpt(carol)},
		"singleValueExtendedProperties": unsubscribeProps,
	}), http.StatusAccepted)
	if n := len(relay.got()); n != 0 {
		t.Fatalf("handed over before the message left Drafts (%d)", n)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(relay.got()) < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	calls := relay.got()
	if len(calls) != 2 {
		t.Fatalf("relay calls %d, want 2 (one per address at its domain)", len(calls))
	}
	for i, rcptTo := range []string{"campaigns+tok123@inbound.example", "campaigns+u-abc@inbound.example"} {
		c := calls[i]
		if c.rcptTo != rcptTo || c.mailFrom != alice || c.at.Sub(sentAt) < 250*time.Millisecond {
			t.Errorf("call %d: %s → %s after %v", i, c.mailFrom, c.rcptTo, c.at.Sub(sentAt))
		}
		fields, err := headerFields([]byte(c.message))
		if err != nil {
			t.Fatal(err)
		}
		h := headerMap(fields)
		if !signs(h["dkim-signature"], "List-Unsubscribe") || h["message-id"] != "<template@x.example>" || h["from"] != `"Alice Contoso" <alice@contoso.com>` {
			t.Errorf("relayed message headers %v", h)
		}
	}
	if len(sb.InboxMessages(carol)) != 1 || len(sb.InboxMessages(alice)) != 0 {
		t.Error("the other recipients were not served as usual")
	}

	// Close drops hand-overs still waiting.
	sb2, srv2 := start(t, Options{SentItemsDelay: time.Hour, Mailboxes: orgs, Relays: map[string]Relay{"inbound.example": relay}})
	wantStatus(t, sendWithID(t, srv2, "<waiting@x.example>", map[string]any{"toRecipients": []any{rcpt("campaigns+t@inbound.example")}}), http.StatusAccepted)
	sb2.mu.Lock()
	pending := len(sb2.relaying)
	sb2.mu.Unlock()
	sb2.Close()
	sb2.mu.Lock()
	left := len(sb2.relaying)
	sb2.mu.Unlock()
	if pending != 1 || left != 0 {
		t.Errorf("hand-overs pending %d, after Close %d", pending, left)
	}
}

func TestReplyThreadsIntoTheConversation(t *testing.T) {
	sb, srv := start(t, Options{SentItemsDelay: -1, Mailboxes: orgs})
	const id = "<offer.c27@mailmerge.example>"
	wantStatus(t, sendWithID(t, srv, id, map[string]any{"subject": "Spring offer", "toRecipients": []any{rcpt(carol)}}), http.StatusAccepted)
	conv := sb.Messages(alice)[0].ConversationID

	// Carol answers with a MIME message naming the offer.
	raw := "To: alice@contoso.com\r\nSubject: RE: Spring offer\r\nIn-Reply-To: " + id + "\r\nReferences: " + id + "\r\nContent-Type: text/plain\r\n\r\nYes please.\r\n"
	req := mustRequest(t, http.MethodPost, srv.URL+"/v1.0/me/sendMail", base64.StdEncoding.EncodeToString([]byte(raw)))
	req.Header.Set("Authorization", "Bearer "+token(map[string]any{"preferred_username": carol}))
	req.Header.Set("Content-Type", "text/plain")
	wantStatus(t, do(t, req), http.StatusAccepted)

	got := inboxOf(t, srv, aliceRead, true)
	if len(got) != 1 {
		t.Fatalf("alice's inbox %+v", got)
	}
	r := got[0]
	if r.ConversationID != conv || r.Headers["in-reply-to"] != id || r.From.Address != carol || r.From.Name != "Carol Fabrikam" ||
		!strings.Contains(r.Body, "Yes please.") || !strings.Contains(r.Headers["authentication-results"], "header.d=fabrikam.com") {
		t.Errorf("reply %+v", r)
	}
	if in := sb.InboxMessages(alice); len(in) != 1 || in[0].Kind != InboxMessage || in[0].InReplyTo != id {
		t.Errorf("inbox record %+v", in)
	}
}

func TestOrganisationOptions(t *testing.T) {
	for name, opts := range map[string]Options{
		"not an address":        {Mailboxes: []Mailbox{{Address: "alice"}}},
		"twice":                 {Mailboxes: []Mailbox{{Address: alice}, {Address: "ALICE@contoso.com"}}},
		"relay for a mailbox's": {Mailboxes: orgs, Relays: map[string]Relay{"contoso.com": &relayLog{}}},
		"relay without domain":  {Relays: map[string]Relay{"": &relayLog{}}},
		"nil relay":             {Relays: map[string]Relay{"inbound.example": nil}},
	} {
		opts.Dir = t.TempDir()
		if _, err := New(opts); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// Without Mailboxes nothing is delivered, not even to a known-looking address.
	sb, srv := start(t, Options{SentItemsDelay: -1})
	wantStatus(t, sendWithID(t, srv, "<plain@x.example>", map[string]any{"toRecipients": []any{rcpt(bob), rcpt("nobody@contoso.com")}}), http.StatusAccepted)
	if n := len(sb.InboxMessages("")); n != 0 {
		t.Errorf("%d inbox messages without Mailboxes", n)
	}
	if _, err := os.Stat(sb.Dir() + "/bob@contoso.com"); err == nil {
		t.Error("a folder was made for a recipient")
	}
}

func TestTemplateEmailReachesTheWebhook(t *testing.T) {
	type got struct {
		in      postmark.Inbound
		verdict postmark.Verdict
		auth    string
	}
	var mu sync.Mutex
	var posted []got
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		in, err := postmark.ParseInbound(b)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		user, pass, _ := r.BasicAuth()
		mu.Lock()
		posted = append(posted, got{in, postmark.CheckSender(in), user + ":" + pass})
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	defer hook.Close()
	inbound, err := postmarksandbox.NewInbound(postmarksandbox.InboundOptions{WebhookURL: hook.URL + "/hooks/postmark/inbound", User: "postmark", Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	defer inbound.Close()
	sb, srv := start(t, Options{SentItemsDelay: -1, Mailboxes: orgs, Relays: map[string]Relay{"inbound.example": inbound}})

	send := func(id, to string) got {
		t.Helper()
		wantStatus(t, sendWithID(t, srv, id, map[string]any{
			"subject":      "Hello {{First name}}",
			"body":         map[string]any{"contentType": "html", "content": "<p>Dear {{First name}}</p>"},
			"toRecipients": []any{rcpt(to)},
			"attachments": []any{map[string]any{"@odata.type": "#microsoft.graph.fileAttachment", "name": "Offer.pdf", "contentType": "application/pdf",
				"contentBytes": base64.StdEncoding.EncodeToString([]byte("%PDF-1.4 offer"))}},
		}), http.StatusAccepted)
		deadline := time.Now().Add(10 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			for _, p := range posted {
				if p.in.HeaderValues("Message-ID")[0] == id {
					mu.Unlock()
					return p
				}
			}
			mu.Unlock()
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatalf("%s never reached the webhook: %+v", id, inbound.Posts())
		return got{}
	}

	p := send("<template@x.example>", "campaigns+tok123@inbound.example")
	if p.auth != "postmark:pw" || p.in.MailboxHash != "tok123" || p.in.Sender() != alice || p.in.Subject != "Hello {{First name}}" ||
		!strings.Contains(p.in.HtmlBody, "Dear {{First name}}") || p.in.MessageStream != "inbound" {
		t.Errorf("payload %+v", p.in)
	}
	if len(p.in.Attachments) != 1 {
		t.Fatalf("attachments %+v", p.in.Attachments)
	}
	if b, err := p.in.Attachments[0].Decode(); err != nil || string(b) != "%PDF-1.4 offer" {
		t.Errorf("attachment %q: %v", b, err)
	}
	// Postmark's SpamAssassin finds the Graph sandbox's signature valid for
	// the From domain: bh= matches the body it received.
	if tests := p.in.HeaderValues("X-Spam-Tests"); len(tests) != 1 || !strings.Contains(tests[0], "DKIM_VALID_AU") {
		t.Errorf("X-Spam-Tests %v", tests)
	}
	if !p.verdict.OK || !strings.Contains(p.verdict.Reason, "DKIM") {
		t.Errorf("the app's sender check: %+v", p.verdict)
	}

	// Unsigned, the app still trusts it on the aligned SPF pass.
	if err := sb.Inject(Fault{Kind: FaultNoDKIM}); err != nil {
		t.Fatal(err)
	}
	p = send("<unsigned@x.example>", "campaigns+u-abcdef@inbound.example")
	if tests := p.in.HeaderValues("X-Spam-Tests"); len(tests) != 1 || strings.Contains(tests[0], "DKIM") {
		t.Errorf("unsigned: X-Spam-Tests %v", tests)
	}
	if !p.verdict.OK || p.in.MailboxHash != "u-abcdef" {
		t.Errorf("unsigned: %+v, hash %q", p.verdict, p.in.MailboxHash)
	}
	if posts := inbound.Posts(); len(posts) != 2 || posts[0].Outcome != postmarksandbox.InboundDelivered {
		t.Errorf("posts %+v", posts)
	}
}
