package graphsandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// Tests of what the product reads back from the sender's mailbox (issue 26):
// the client's internetMessageId, the Drafts → Sent Items timeline, the
// new fault kinds, reading permissions, delta and the Inbox messages.

// readerToken is alice's delegated token with the scopes given.
func readerToken(scp string) string {
	return token(map[string]any{"preferred_username": alice, "oid": aliceOID, "scp": scp})
}

var basicToken = readerToken("Mail.Send Mail.ReadBasic")

// get sends a GET with the token and optional headers (name, value, ...).
func get(t *testing.T, srv *httptest.Server, path, tok string, headers ...string) resp {
	t.Helper()
	u := path
	if !strings.HasPrefix(u, "http") {
		u = srv.URL + path
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	return do(t, req)
}

// page is a Graph collection answer.
type page struct {
	Value     []map[string]any `json:"value"`
	NextLink  string           `json:"@odata.nextLink"`
	DeltaLink string           `json:"@odata.deltaLink"`
}

func decode[T any](t *testing.T, r resp) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
	return v
}

// byMessageID lists the messages of a path filtered on internetMessageId.
func byMessageID(t *testing.T, srv *httptest.Server, path, tok, id, sel string) []map[string]any {
	t.Helper()
	q := url.Values{"$filter": {"internetMessageId eq '" + strings.ReplaceAll(id, "'", "''") + "'"}}
	if sel != "" {
		q.Set("$select", sel)
	}
	r := get(t, srv, path+"?"+q.Encode(), tok)
	wantStatus(t, r, http.StatusOK)
	return decode[page](t, r).Value
}

// sendWithID sends alice's message with the client's internetMessageId.
func sendWithID(t *testing.T, srv *httptest.Server, id string, extra map[string]any) resp {
	t.Helper()
	fields := map[string]any{"internetMessageId": id}
	for k, v := range extra {
		fields[k] = v
	}
	return send(t, srv, "/v1.0/me/sendMail", aliceToken, msg(fields), true)
}

func TestClientInternetMessageIDIsKept(t *testing.T) {
	sb, srv := start(t, Options{})
	const id = "<r7.c1-2f@mailmerge.example>"
	wantStatus(t, sendWithID(t, srv, id, nil), http.StatusAccepted)
	a := sb.Messages(alice)[0]
	if a.MessageID != id {
		t.Errorf("record Message-ID %q, want %q", a.MessageID, id)
	}
	if got := readEML(t, a.EMLPath).header.Get("Message-Id"); got != id {
		t.Errorf(".eml Message-ID %q, want %q", got, id)
	}
	if got := byMessageID(t, srv, "/v1.0/me/messages", basicToken, id, "internetMessageId"); len(got) != 1 || got[0]["internetMessageId"] != id {
		t.Errorf("lookup %v", got)
	}

	// Without one, the sandbox makes one, as Exchange does.
	wantStatus(t, send(t, srv, "/v1.0/me/sendMail", aliceToken, msg(nil), true), http.StatusAccepted)
	if gen := sb.Messages(alice)[1].MessageID; !validMessageID(gen) || gen == id {
		t.Errorf("generated Message-ID %q", gen)
	}

	// A malformed one is refused and nothing is sent.
	for _, bad := range []string{"", "r7@mailmerge.example", "<r7>", "<r 7@mailmerge.example>", "<@x>", "<a@b>c>", "<a..b@x>"} {
		r := sendWithID(t, srv, bad, nil)
		wantError(t, r, http.StatusBadRequest, CodeInvalidInternetMessageID, "")
	}
	if n := len(sb.Messages("")); n != 2 {
		t.Errorf("%d messages, want 2", n)
	}
	for _, good := range []string{"<a.b+c@x.example>", "<x@[10.0.0.1]>"} {
		wantStatus(t, sendWithID(t, srv, good, nil), http.StatusAccepted)
	}
}

func TestDraftThenSentItems(t *testing.T) {
	c := &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	sb, srv := start(t, Options{Now: c.Now})
	const id = "<r1.c1@mailmerge.example>"
	wantStatus(t, sendWithID(t, srv, id, nil), http.StatusAccepted)
	sel := "id,internetMessageId,isDraft,sentDateTime,createdDateTime,conversationId,parentFolderId"

	// Just after the 202: a draft in Drafts; its sentDateTime is set
	// anyway, as Graph shows drafts.
	drafts := byMessageID(t, srv, "/v1.0/me/mailFolders/drafts/messages", basicToken, id, sel)
	if len(drafts) != 1 {
		t.Fatalf("drafts: %v", drafts)
	}
	d := drafts[0]
	if d["isDraft"] != true || d["sentDateTime"] != "2026-03-01T09:00:00Z" || d["createdDateTime"] != "2026-03-01T09:00:00Z" {
		t.Errorf("draft %v", d)
	}
	if got := byMessageID(t, srv, "/v1.0/me/mailFolders/SentItems/messages", basicToken, id, sel); len(got) != 0 {
		t.Errorf("in Sent Items at once: %v", got)
	}
	// $select: the selected properties, id and @odata.etag, nothing else.
	for k := range d {
		if k != "@odata.etag" && !strings.Contains(sel, k) {
			t.Errorf("unselected property %q", k)
		}
	}
	if d["@odata.etag"] == nil || len(d) != 8 {
		t.Errorf("draft has %d properties: %v", len(d), d)
	}

	c.Advance(DefaultSentItemsDelay)
	whole := byMessageID(t, srv, "/v1.0/me/messages", basicToken, id, sel)
	if len(whole) != 1 {
		t.Fatalf("whole mailbox: %v", whole)
	}
	sent := whole[0]
	if sent["isDraft"] != false || sent["sentDateTime"] != "2026-03-01T09:00:00Z" || sent["id"] == d["id"] ||
		sent["conversationId"] != d["conversationId"] || sent["parentFolderId"] == d["parentFolderId"] {
		t.Errorf("sent copy %v, draft %v", sent, d)
	}
	if got := byMessageID(t, srv, "/v1.0/me/mailFolders/sentitems/messages", basicToken, id, "id"); len(got) != 1 || got[0]["id"] != sent["id"] {
		t.Errorf("Sent Items: %v", got)
	}
	if got := byMessageID(t, srv, "/v1.0/me/mailFolders/drafts/messages", basicToken, id, "id"); len(got) != 0 {
		t.Errorf("still in Drafts: %v", got)
	}
	// The draft's id went stale; the copy's id reads, headers not included.
	wantError(t, get(t, srv, "/v1.0/me/messages/"+d["id"].(string), basicToken), http.StatusNotFound, CodeItemNotFound, "")
	r := get(t, srv, "/v1.0/me/messages/"+sent["id"].(string)+"?$select=internetMessageHeaders,subject", basicToken)
	wantStatus(t, r, http.StatusOK)
	if m := decode[map[string]any](t, r); m["subject"] != "Hi" || m["internetMessageHeaders"] != nil {
		t.Errorf("sent copy read back: %v", m)
	}
	if a := sb.Messages(alice)[0]; !a.SentItemsAt.Equal(a.Time.Add(DefaultSentItemsDelay)) || a.ConversationID != sent["conversationId"] {
		t.Errorf("record %+v", a)
	}

	// saveToSentItems false: the draft goes and no copy stays.
	b, _ := json.Marshal(map[string]any{"message": map[string]any{"internetMessageId": "<nocopy@x.example>", "toRecipients": []any{rcpt(bob)}}, "saveToSentItems": false})
	wantStatus(t, send(t, srv, "/v1.0/me/sendMail", aliceToken, b, false), http.StatusAccepted)
	if got := byMessageID(t, srv, "/v1.0/me/messages", basicToken, "<nocopy@x.example>", "id"); len(got) != 1 {
		t.Errorf("draft of a message without copy: %v", got)
	}
	c.Advance(time.Second)
	if got := byMessageID(t, srv, "/v1.0/me/messages", basicToken, "<nocopy@x.example>", "id"); len(got) != 0 {
		t.Errorf("a copy without saveToSentItems: %v", got)
	}
}

func TestSentItemsDelayOption(t *testing.T) {
	c := &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	_, srv := start(t, Options{Now: c.Now, SentItemsDelay: -1})
	wantStatus(t, sendWithID(t, srv, "<now@x.example>", nil), http.StatusAccepted)
	if got := byMessageID(t, srv, "/v1.0/me/mailFolders/sentitems/messages", basicToken, "<now@x.example>", "isDraft"); len(got) != 1 {
		t.Errorf("negative delay: not in Sent Items at once: %v", got)
	}
	_, srv = start(t, Options{Now: c.Now, SentItemsDelay: time.Minute})
	wantStatus(t, sendWithID(t, srv, "<min@x.example>", nil), http.StatusAccepted)
	c.Advance(59 * time.Second)
	if got := byMessageID(t, srv, "/v1.0/me/mailFolders/sentitems/messages", basicToken, "<min@x.example>", "isDraft"); len(got) != 0 {
		t.Errorf("in Sent Items before its delay: %v", got)
	}
	c.Advance(time.Second)
	if got := byMessageID(t, srv, "/v1.0/me/mailFolders/sentitems/messages", basicToken, "<min@x.example>", "isDraft"); len(got) != 1 {
		t.Errorf("not in Sent Items after its delay: %v", got)
	}
}

func TestLateFault(t *testing.T) {
	c := &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	sb, srv := start(t, Options{Now: c.Now})
	if err := sb.Inject(Fault{Kind: FaultLate, Mailbox: alice, Delay: 10 * time.Minute}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []Fault{{Kind: FaultLate}, {Kind: FaultLate, Delay: time.Second, Op: OpRead}} {
		if err := sb.Inject(f); err == nil {
			t.Errorf("accepted %+v", f)
		}
	}
	// A refused request does not use the late fault up.
	wantStatus(t, sendWithID(t, srv, "bad", nil), http.StatusBadRequest)
	wantStatus(t, sendWithID(t, srv, "<late@x.example>", nil), http.StatusAccepted)
	wantStatus(t, sendWithID(t, srv, "<ontime@x.example>", nil), http.StatusAccepted)
	c.Advance(time.Minute)
	if got := byMessageID(t, srv, "/v1.0/me/messages", basicToken, "<late@x.example>", "isDraft"); len(got) != 1 || got[0]["isDraft"] != true {
		t.Errorf("late message after a minute: %v", got)
	}
	if got := byMessageID(t, srv, "/v1.0/me/messages", basicToken, "<ontime@x.example>", "isDraft"); len(got) != 1 || got[0]["isDraft"] != false {
		t.Errorf("next message after a minute: %v", got)
	}
	c.Advance(9 * time.Minute)
	if got := byMessageID(t, srv, "/v1.0/me/messages", basicToken, "<late@x.example>", "isDraft"); len(got) != 1 || got[0]["isDraft"] != false {
		t.Errorf("late message after its delay: %v", got)
	}

	// Over HTTP, with the 504 after accepting: the message shows up late.
	r := do(t, mustRequest(t, http.MethodPost, srv.URL+"/_sandbox/faults", `[{"kind":"late","delayMs":120000},{"kind":"timeout-after-accept"}]`))
	wantStatus(t, r, http.StatusCreated)
	if !strings.Contains(string(r.body), `"delayMs": 120000`) {
		t.Errorf("faults %s", r.body)
	}
	wantError(t, sendWithID(t, srv, "<lost@x.example>", nil), http.StatusGatewayTimeout, CodeGatewayTimeout, "")
	c.Advance(time.Minute)
	if got := byMessageID(t, srv, "/v1.0/me/mailFolders/sentitems/messages", basicToken, "<lost@x.example>", "id"); len(got) != 0 {
		t.Errorf("in Sent Items before its delay: %v", got)
	}
	c.Advance(time.Minute)
	if got := byMessageID(t, srv, "/v1.0/me/mailFolders/sentitems/messages", basicToken, "<lost@x.example>", "id"); len(got) != 1 {
		t.Errorf("the message answered 504 is not in Sent Items: %v", got)
	}
}

func mustRequest(t *testing.T, method, u, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestTimeoutBeforeAccept(t *testing.T) {
	sb, srv := start(t, Options{SentItemsDelay: -1})
	if err := sb.Inject(Fault{Kind: FaultTimeoutBeforeAccept, Delay: 150 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	r := sendWithID(t, srv, "<gone@x.example>", nil)
	wantError(t, r, http.StatusGatewayTimeout, CodeGatewayTimeout, "")
	if took := time.Since(t0); took < 150*time.Millisecond {
		t.Errorf("answered after %v, before the fault's delay", took)
	}
	if r.header.Get("Retry-After") != "" {
		t.Errorf("Retry-After %q", r.header.Get("Retry-After"))
	}
	if n := len(sb.Messages("")); n != 0 {
		t.Errorf("%d messages accepted", n)
	}
	if got := byMessageID(t, srv, "/v1.0/me/messages", basicToken, "<gone@x.example>", "id"); len(got) != 0 {
		t.Errorf("found: %v", got)
	}
	// The retry is the only message.
	wantStatus(t, sendWithID(t, srv, "<gone@x.example>", nil), http.StatusAccepted)
	if got := byMessageID(t, srv, "/v1.0/me/messages", basicToken, "<gone@x.example>", "id"); len(got) != 1 {
		t.Errorf("after the retry: %v", got)
	}

	// A client that gives up first sends nothing either.
	_ = sb.Inject(Fault{Kind: FaultTimeoutBeforeAccept, Delay: time.Hour})
	req := mustRequest(t, http.MethodPost, srv.URL+"/v1.0/me/sendMail", string(msg(nil)))
	req.Header.Set("Authorization", "Bearer "+aliceToken)
	req.Header.Set("Content-Type", "application/json")
	if _, err := (&http.Client{Timeout: 100 * time.Millisecond}).Do(req); err == nil {
		t.Error("the client did not time out")
	}
	if n := len(sb.Messages("")); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}

	// The default wait shows in the fault list; the 504 alias stays after-accept.
	sb.ClearFaults()
	r = do(t, mustRequest(t, http.MethodPost, srv.URL+"/_sandbox/faults", `{"kind":"timeout-before-accept"}`))
	if !strings.Contains(string(r.body), `"delayMs": 3000`) || !strings.Contains(string(r.body), `"op": "send"`) {
		t.Errorf("faults %s", r.body)
	}
	if f := sb.Faults(); len(f) != 1 || f[0].Kind != FaultTimeoutBeforeAccept {
		t.Errorf("faults %+v", f)
	}
}

func TestReadPermissions(t *testing.T) {
	const contoso = "3b1f0d2e-7c4a-4e59-9a1b-2f6c8d4e5a01"
	resolve := func(tid, id string) (string, bool) { return alice, tid == contoso && id == aliceOID }
	app := func(roles ...any) string {
		return token(map[string]any{"idtyp": "app", "tid": contoso, "roles": roles, "oid": "5ee0e000-0000-4000-8000-000000000001"})
	}
	_, srv := start(t, Options{ResolveUser: resolve, SentItemsDelay: -1})
	wantStatus(t, sendWithID(t, srv, "<p@x.example>", map[string]any{"body": map[string]any{"contentType": "text", "content": "Secret words"}}), http.StatusAccepted)
	q := "?" + url.Values{"$filter": {"internetMessageId eq '<p@x.example>'"}}.Encode()
	for _, tc := range []struct {
		name, path, tok string
		status          int
		body            bool
	}{
		{"Mail.Send only", "/v1.0/me/messages", aliceToken, http.StatusForbidden, false},
		{"Mail.Send scope", "/v1.0/me/messages", readerToken("Mail.Send"), http.StatusForbidden, false},
		{"Mail.ReadBasic", "/v1.0/me/messages", basicToken, http.StatusOK, false},
		{"Mail.Read", "/v1.0/me/messages", readerToken("Mail.Read"), http.StatusOK, true},
		{"Mail.ReadWrite", "/v1.0/users/" + aliceOID + "/messages", readerToken("Mail.ReadWrite"), http.StatusOK, true},
		{"another user's mailbox", "/v1.0/users/" + aliceOID + "/messages", token(map[string]any{"upn": bob, "scp": "Mail.Read"}), http.StatusForbidden, false},
		{"app Mail.ReadBasic.All", "/v1.0/users/" + aliceOID + "/messages", app("Mail.ReadBasic.All"), http.StatusOK, false},
		{"app Mail.Read", "/v1.0/users/" + aliceOID + "/messages", app("Mail.Read"), http.StatusOK, true},
		{"app Mail.Send", "/v1.0/users/" + aliceOID + "/messages", app("Mail.Send"), http.StatusForbidden, false},
		{"delegated Mail.ReadBasic.All", "/v1.0/me/messages", readerToken("Mail.ReadBasic.All"), http.StatusForbidden, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := get(t, srv, tc.path+q, tc.tok)
			if tc.status != http.StatusOK {
				wantError(t, r, tc.status, CodeAccessDenied, MsgAccessDenied)
				return
			}
			wantStatus(t, r, http.StatusOK)
			v := decode[page](t, r).Value
			if len(v) != 1 {
				t.Fatalf("messages %v", v)
			}
			_, hasBody := v[0]["body"]
			_, hasPreview := v[0]["bodyPreview"]
			if hasBody != tc.body || hasPreview != tc.body || v[0]["subject"] != "Hi" {
				t.Errorf("body %v, preview %v, want %v: %v", hasBody, hasPreview, tc.body, v[0])
			}
			if tc.body && v[0]["bodyPreview"] != "Secret words" {
				t.Errorf("bodyPreview %v", v[0]["bodyPreview"])
			}
		})
	}
	// Asking for the body with Mail.ReadBasic is refused.
	wantError(t, get(t, srv, "/v1.0/me/messages?$select=subject,body", basicToken), http.StatusForbidden, CodeAccessDenied, "")
	wantError(t, get(t, srv, "/v1.0/me/mailFolders/inbox/messages/delta?$select=bodyPreview", basicToken), http.StatusForbidden, CodeAccessDenied, "")
	wantStatus(t, get(t, srv, "/v1.0/me/messages?$select=subject,body", readerToken("Mail.Read")), http.StatusOK)
	// An app token cannot use /me.
	wantError(t, get(t, srv, "/v1.0/me/messages", app("Mail.Read")), http.StatusBadRequest, CodeBadRequest, "")
}

func TestListQueries(t *testing.T) {
	_, srv := start(t, Options{SentItemsDelay: -1})
	for i := 0; i < 12; i++ {
		wantStatus(t, sendWithID(t, srv, fmt.Sprintf("<m%d@x.example>", i), nil), http.StatusAccepted)
	}
	wantStatus(t, sendWithID(t, srv, "<o'brien@x.example>", nil), http.StatusAccepted)
	if got := byMessageID(t, srv, "/v1.0/me/messages", basicToken, "<o'brien@x.example>", "id"); len(got) != 1 {
		t.Errorf("quoted literal: %v", got)
	}
	// Pages of 10 by default, then the nextLink.
	r := get(t, srv, "/v1.0/me/mailFolders('SentItems')/messages?$select=internetMessageId", basicToken)
	wantStatus(t, r, http.StatusOK)
	p := decode[page](t, r)
	if len(p.Value) != DefaultPageSize || p.NextLink == "" {
		t.Fatalf("first page: %d, next %q", len(p.Value), p.NextLink)
	}
	r = get(t, srv, p.NextLink, basicToken)
	wantStatus(t, r, http.StatusOK)
	if p2 := decode[page](t, r); len(p2.Value) != 3 || p2.NextLink != "" || p2.Value[0]["internetMessageId"] == nil {
		t.Errorf("second page %s", r.body)
	}
	r = get(t, srv, "/v1.0/me/messages?$top=5", basicToken)
	if p := decode[page](t, r); len(p.Value) != 5 {
		t.Errorf("$top=5: %d", len(p.Value))
	}

	wantError(t, get(t, srv, "/v1.0/me/messages?$select=subject,nope", basicToken), http.StatusBadRequest, CodeParseURI,
		"Could not find a property named 'nope' on type 'microsoft.graph.message'.")
	for _, f := range []string{"subject eq 'Hi'", "internetMessageId eq <m1@x.example>", "internetMessageId eq 'x' or isDraft eq true", "internetMessageId eq 'x"} {
		wantError(t, get(t, srv, "/v1.0/me/messages?"+url.Values{"$filter": {f}}.Encode(), basicToken), http.StatusBadRequest, CodeInvalidURLQueryFilter, "")
	}
	r = get(t, srv, "/v1.0/me/messages?"+url.Values{"$filter": {"isDraft eq false and internetMessageId eq '<m3@x.example>'"}}.Encode(), basicToken)
	if p := decode[page](t, r); len(p.Value) != 1 {
		t.Errorf("two clauses: %s", r.body)
	}
	wantError(t, get(t, srv, "/v1.0/me/mailFolders/archive/messages", basicToken), http.StatusNotFound, CodeItemNotFound, "")
	wantError(t, get(t, srv, "/v1.0/me/messages/AAMkADnope", basicToken), http.StatusNotFound, CodeItemNotFound, "")
}

// deliver posts to /_sandbox/inbox and returns the answer.
func deliver(t *testing.T, srv *httptest.Server, body string) resp {
	t.Helper()
	return do(t, mustRequest(t, http.MethodPost, srv.URL+"/_sandbox/inbox", body))
}

func TestInboxReply(t *testing.T) {
	sb, srv := start(t, Options{SentItemsDelay: -1})
	const id = "<r2.c9@mailmerge.example>"
	to := []any{map[string]any{"emailAddress": map[string]any{"address": "carol@fabrikam.com", "name": "Carol"}}, rcpt(bob)}
	wantStatus(t, sendWithID(t, srv, id, map[string]any{"subject": "Spring offer", "toRecipients": to}), http.StatusAccepted)
	sent := byMessageID(t, srv, "/v1.0/me/messages", basicToken, id, "conversationId")[0]

	r := deliver(t, srv, `{"inReplyTo":"`+id+`","kind":"reply"}`)
	wantStatus(t, r, http.StatusCreated)
	in := decode[Inbound](t, r)
	if in.ID == "" {
		t.Fatalf("no id: %s", r.body)
	}
	r = get(t, srv, "/v1.0/me/mailFolders/Inbox/messages/"+in.ID+"?$select=internetMessageHeaders,from,subject,receivedDateTime,conversationId,toRecipients,internetMessageId", basicToken)
	wantStatus(t, r, http.StatusOK)
	var m struct {
		From struct {
			EmailAddress Address `json:"emailAddress"`
		} `json:"from"`
		To []struct {
			EmailAddress Address `json:"emailAddress"`
		} `json:"toRecipients"`
		Subject           string   `json:"subject"`
		ConversationID    string   `json:"conversationId"`
		InternetMessageID string   `json:"internetMessageId"`
		Received          string   `json:"receivedDateTime"`
		Headers           []Header `json:"internetMessageHeaders"`
		Body              any      `json:"body"`
	}
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatal(err)
	}
	h := headerMap(m.Headers)
	if m.From.EmailAddress.Address != "carol@fabrikam.com" || m.Subject != "RE: Spring offer" || m.ConversationID != sent["conversationId"] ||
		len(m.To) != 1 || m.To[0].EmailAddress.Address != alice || m.Received == "" || m.Body != nil {
		t.Errorf("reply %s", r.body)
	}
	if h["in-reply-to"] != id || h["references"] != id || h["message-id"] != m.InternetMessageID || m.InternetMessageID == id ||
		!strings.HasSuffix(m.InternetMessageID, "@fabrikam.com>") {
		t.Errorf("reply headers %v, id %s", h, m.InternetMessageID)
	}
	if _, ok := h["x-ms-exchange-message-is-ndr"]; ok {
		t.Error("a reply marked as NDR")
	}

	// From another address, in a new conversation (a reply from outside).
	r = deliver(t, srv, `{"inReplyTo":"`+strings.Trim(id, "<>")+`","kind":"reply","from":"dan@elsewhere.example","newConversation":true}`)
	wantStatus(t, r, http.StatusCreated)
	other := decode[Inbound](t, r)
	if other.From.Address != "dan@elsewhere.example" || other.ConversationID == sent["conversationId"] || other.InReplyTo != id {
		t.Errorf("reply from outside %+v", other)
	}
	if got := sb.InboxMessages(alice); len(got) != 2 {
		t.Errorf("inbox %d", len(got))
	}
	b, err := os.ReadFile(in.EMLPath)
	if err != nil {
		t.Fatal(err)
	}
	e, err := mail.ReadMessage(bytes.NewReader(b))
	if err != nil || e.Header.Get("In-Reply-To") != id || e.Header.Get("From") != `"Carol" <carol@fabrikam.com>` {
		t.Errorf("reply .eml: %v\n%s", err, b)
	}

	wantStatus(t, deliver(t, srv, `{"inReplyTo":"<nope@x.example>","kind":"reply"}`), http.StatusNotFound)
	for _, bad := range []string{
		`{"inReplyTo":"` + id + `","kind":"bounce"}`,
		`{"inReplyTo":"` + id + `","kind":"reply","status":"5.1.1"}`,
		`{"inReplyTo":"` + id + `","kind":"reply","from":"not an address"}`,
		`{"inReplyTo":"` + id + `","kind":"ndr","recipient":"stranger@x.example"}`,
		`{"inReplyTo":"` + id + `","kind":"delay","status":"5.1.1"}`,
		`{"inReplyTo":"` + id + `","kind":"reply","extra":1}`,
	} {
		wantStatus(t, deliver(t, srv, bad), http.StatusBadRequest)
	}
}

func headerMap(hs []Header) map[string]string {
	out := map[string]string{}
	for _, h := range hs {
		out[strings.ToLower(h.Name)] = h.Value
	}
	return out
}

func TestInboxNDRAndDelay(t *testing.T) {
	_, srv := start(t, Options{SentItemsDelay: -1})
	const id = "<r3.c9@mailmerge.example>"
	to := []any{rcpt(bob), rcpt("ghost@fabrikam.com")}
	wantStatus(t, sendWithID(t, srv, id, map[string]any{"subject": "Spring offer", "toRecipients": to}), http.StatusAccepted)
	conv := byMessageID(t, srv, "/v1.0/me/messages", basicToken, id, "conversationId")[0]["conversationId"]
	sel := "?$select=internetMessageHeaders,from,subject,conversationId,toRecipients"

	for _, tc := range []struct {
		body, subject, failed, status string
		ndr                           bool
	}{
		{`{"inReplyTo":"` + id + `","kind":"ndr","recipient":"ghost@fabrikam.com"}`, "Undeliverable: Spring offer", "ghost@fabrikam.com", "5.1.1", true},
		{`{"inReplyTo":"` + id + `","kind":"ndr","status":"4.4.7"}`, "Undeliverable: Spring offer", bob, "4.4.7", true},
		{`{"inReplyTo":"` + id + `","kind":"delay"}`, "Delivery delayed: Spring offer", bob, "4.4.7", false},
	} {
		r := deliver(t, srv, tc.body)
		wantStatus(t, r, http.StatusCreated)
		in := decode[Inbound](t, r)
		r = get(t, srv, "/v1.0/me/messages/"+in.ID+sel, basicToken)
		wantStatus(t, r, http.StatusOK)
		var m struct {
			From struct {
				EmailAddress Address `json:"emailAddress"`
			} `json:"from"`
			To []struct {
				EmailAddress Address `json:"emailAddress"`
			} `json:"toRecipients"`
			Subject        string   `json:"subject"`
			ConversationID string   `json:"conversationId"`
			Headers        []Header `json:"internetMessageHeaders"`
		}
		if err := json.Unmarshal(r.body, &m); err != nil {
			t.Fatal(err)
		}
		h := headerMap(m.Headers)
		ct, params, _ := mime.ParseMediaType(h["content-type"])
		if m.From.EmailAddress.Address != ExchangeNDRSender+"@contoso.com" || m.Subject != tc.subject || m.ConversationID != conv ||
			len(m.To) != 1 || m.To[0].EmailAddress.Address != tc.failed {
			t.Errorf("%s: %s", tc.subject, r.body)
		}
		if ct != "multipart/report" || params["report-type"] != "delivery-status" || h["in-reply-to"] != id || h["references"] != id || h["auto-submitted"] != "auto-replied" {
			t.Errorf("%s headers %v", tc.subject, h)
		}
		if _, isNDR := h["x-ms-exchange-message-is-ndr"]; isNDR != tc.ndr {
			t.Errorf("%s: Is-Ndr header %v, want %v", tc.subject, isNDR, tc.ndr)
		}
		if _, ok := h["from"]; ok {
			t.Errorf("From in internetMessageHeaders: %v", h)
		}
		// The status code is in the body, which only Mail.Read gets.
		r = get(t, srv, "/v1.0/me/messages/"+in.ID+"?$select=body", readerToken("Mail.Read"))
		var withBody struct {
			Body struct{ Content string } `json:"body"`
		}
		if err := json.Unmarshal(r.body, &withBody); err != nil {
			t.Fatal(err)
		}
		if body := withBody.Body.Content; !strings.Contains(body, tc.status) || !strings.Contains(body, tc.failed) {
			t.Errorf("%s body %q", tc.subject, body)
		}
		b, err := os.ReadFile(in.EMLPath)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "Content-Type: message/delivery-status") || !strings.Contains(string(b), "Status: "+tc.status) {
			t.Errorf("%s .eml\n%s", tc.subject, b)
		}
	}
}

func TestInboxDelta(t *testing.T) {
	sb, srv := start(t, Options{SentItemsDelay: -1, DeltaTokens: 6})
	const id = "<r4.c9@mailmerge.example>"
	wantStatus(t, sendWithID(t, srv, id, nil), http.StatusAccepted)
	for i := 0; i < 3; i++ {
		wantStatus(t, deliver(t, srv, `{"inReplyTo":"`+id+`","kind":"reply"}`), http.StatusCreated)
	}
	sel := "internetMessageId,conversationId,from,toRecipients,receivedDateTime,internetMessageHeaders"
	r := get(t, srv, "/v1.0/me/mailFolders/INBOX/messages/delta?changeType=created&$select="+sel, basicToken, "Prefer", "odata.maxpagesize=2")
	wantStatus(t, r, http.StatusOK)
	if r.header.Get("Preference-Applied") != "odata.maxpagesize=2" {
		t.Errorf("Preference-Applied %q", r.header.Get("Preference-Applied"))
	}
	p := decode[page](t, r)
	if len(p.Value) != 2 || p.NextLink == "" || p.DeltaLink != "" || !strings.Contains(p.NextLink, "$skiptoken=") {
		t.Fatalf("first page %s", r.body)
	}
	for _, v := range p.Value {
		if v["@odata.type"] != "#microsoft.graph.message" || v["@odata.etag"] == nil || v["internetMessageId"] == nil || v["subject"] != nil {
			t.Errorf("item %v", v)
		}
		if _, ok := v["internetMessageHeaders"]; ok {
			t.Errorf("headers in delta: %v", v)
		}
	}
	// The link keeps the options: no $select, no Prefer given again.
	r = get(t, srv, p.NextLink, basicToken)
	wantStatus(t, r, http.StatusOK)
	p = decode[page](t, r)
	if len(p.Value) != 1 || p.DeltaLink == "" || p.NextLink != "" || p.Value[0]["subject"] != nil || p.Value[0]["from"] == nil {
		t.Fatalf("last page %s", r.body)
	}
	round1 := p.DeltaLink

	// Nothing new, then one reply and one sent message (not in the Inbox).
	r = get(t, srv, round1, basicToken)
	if p := decode[page](t, r); len(p.Value) != 0 || p.DeltaLink == "" {
		t.Errorf("nothing new: %s", r.body)
	}
	r = deliver(t, srv, `{"inReplyTo":"`+id+`","kind":"ndr"}`)
	wantStatus(t, r, http.StatusCreated)
	ndr := decode[Inbound](t, r)
	wantStatus(t, sendWithID(t, srv, "<other@x.example>", nil), http.StatusAccepted)
	r = get(t, srv, round1, basicToken)
	p = decode[page](t, r)
	if len(p.Value) != 1 || p.Value[0]["id"] != ndr.ID {
		t.Fatalf("after the NDR: %s", r.body)
	}
	// A link is a snapshot: used again, it replays.
	if again := decode[page](t, get(t, srv, round1, basicToken)); len(again.Value) != 1 {
		t.Errorf("replay: %v", again.Value)
	}
	round2 := p.DeltaLink
	if p := decode[page](t, get(t, srv, round2, basicToken)); len(p.Value) != 0 {
		t.Errorf("round 2 again: %v", p.Value)
	}

	// Forgotten, unknown and foreign tokens: 410 syncStateNotFound with a
	// Location to start again from.
	sb.ExpireDeltaTokens(alice)
	r = get(t, srv, round2, basicToken)
	wantError(t, r, http.StatusGone, CodeSyncStateNotFound, msgSyncStateNotFound)
	loc := r.header.Get("Location")
	if !strings.Contains(loc, "/messages/delta?$deltatoken=") {
		t.Fatalf("Location %q", loc)
	}
	r = get(t, srv, loc, basicToken)
	if p := decode[page](t, r); len(p.Value) != 4 || p.DeltaLink == "" {
		t.Errorf("full round from Location: %s", r.body)
	}
	wantStatus(t, get(t, srv, "/v1.0/me/mailFolders/inbox/messages/delta?$deltatoken=made-up", basicToken), http.StatusGone)
	first := decode[page](t, get(t, srv, "/v1.0/me/mailFolders/inbox/messages/delta", basicToken))
	bobReader := token(map[string]any{"upn": bob, "scp": "Mail.ReadBasic"})
	_, tok, _ := strings.Cut(first.DeltaLink, "?")
	wantStatus(t, get(t, srv, "/v1.0/me/mailFolders/inbox/messages/delta?"+tok, bobReader), http.StatusGone)
	// The cache keeps the last DeltaTokens tokens.
	for i := 0; i < 6; i++ {
		_ = get(t, srv, "/v1.0/me/mailFolders/inbox/messages/delta", basicToken)
	}
	wantStatus(t, get(t, srv, first.DeltaLink, basicToken), http.StatusGone)
	r = do(t, mustRequest(t, http.MethodDelete, srv.URL+"/_sandbox/delta?mailbox="+alice, ""))
	wantStatus(t, r, http.StatusNoContent)

	// Only receivedDateTime ge|gt filters a delta.
	wantError(t, get(t, srv, "/v1.0/me/mailFolders/inbox/messages/delta?"+url.Values{"$filter": {"internetMessageId eq 'x'"}}.Encode(), basicToken),
		http.StatusBadRequest, CodeInvalidURLQueryFilter, "")
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	r = get(t, srv, "/v1.0/me/mailFolders/inbox/messages/delta?"+url.Values{"$filter": {"receivedDateTime ge " + future}}.Encode(), basicToken)
	if p := decode[page](t, r); len(p.Value) != 0 || p.DeltaLink == "" {
		t.Errorf("filtered delta: %s", r.body)
	}
}

func TestDraftsDeltaReportsRemoval(t *testing.T) {
	c := &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	_, srv := start(t, Options{Now: c.Now})
	wantStatus(t, sendWithID(t, srv, "<d@x.example>", nil), http.StatusAccepted)
	p := decode[page](t, get(t, srv, "/v1.0/me/mailFolders/drafts/messages/delta?$select=isDraft", basicToken))
	if len(p.Value) != 1 || p.Value[0]["isDraft"] != true {
		t.Fatalf("drafts %v", p.Value)
	}
	draft := p.Value[0]["id"]
	c.Advance(time.Second)
	p = decode[page](t, get(t, srv, p.DeltaLink, basicToken))
	if len(p.Value) != 1 || p.Value[0]["id"] != draft || p.Value[0]["@removed"] == nil {
		t.Errorf("after sending: %v", p.Value)
	}
	p = decode[page](t, get(t, srv, "/v1.0/me/mailFolders/sentitems/messages/delta?changeType=created", basicToken))
	if len(p.Value) != 1 || p.Value[0]["isDraft"] != false {
		t.Errorf("Sent Items %v", p.Value)
	}
}

func TestReadFaults(t *testing.T) {
	sb, srv := start(t, Options{SentItemsDelay: -1})
	r := do(t, mustRequest(t, http.MethodPost, srv.URL+"/_sandbox/faults", `[{"kind":"429","op":"read","retryAfterSeconds":5},{"kind":"timeout-before-accept","op":"read","delayMs":10}]`))
	wantStatus(t, r, http.StatusCreated)
	wantStatus(t, do(t, mustRequest(t, http.MethodPost, srv.URL+"/_sandbox/faults", `{"kind":"504","op":"read"}`)), http.StatusBadRequest)
	wantStatus(t, do(t, mustRequest(t, http.MethodPost, srv.URL+"/_sandbox/faults", `{"kind":"429","op":"write"}`)), http.StatusBadRequest)
	// Sends are not affected by read faults.
	wantStatus(t, send(t, srv, "/v1.0/me/sendMail", aliceToken, msg(nil), true), http.StatusAccepted)
	r = get(t, srv, "/v1.0/me/messages", basicToken)
	wantError(t, r, http.StatusTooManyRequests, CodeTooManyRequests, "")
	if r.header.Get("Retry-After") != "5" {
		t.Errorf("Retry-After %q", r.header.Get("Retry-After"))
	}
	wantError(t, get(t, srv, "/v1.0/me/messages", basicToken), http.StatusGatewayTimeout, CodeGatewayTimeout, "")
	wantStatus(t, get(t, srv, "/v1.0/me/messages", basicToken), http.StatusOK)
	// And reads are not affected by send faults.
	_ = sb.Inject(Fault{Kind: FaultThrottle})
	wantStatus(t, get(t, srv, "/v1.0/me/messages", basicToken), http.StatusOK)
	wantStatus(t, send(t, srv, "/v1.0/me/sendMail", aliceToken, msg(nil), true), http.StatusTooManyRequests)
	// Reads share the mailbox's 4 concurrent requests.
	_ = sb.Inject(Fault{Kind: FaultLatency, Op: OpRead, Delay: 300 * time.Millisecond, Count: 4})
	done := make(chan resp, 4)
	for i := 0; i < 4; i++ {
		go func() { done <- get(t, srv, "/v1.0/me/messages", basicToken) }()
	}
	time.Sleep(100 * time.Millisecond)
	wantError(t, send(t, srv, "/v1.0/me/sendMail", aliceToken, msg(nil), true), http.StatusTooManyRequests, CodeApplicationThrottled, MsgConcurrency)
	for i := 0; i < 4; i++ {
		if r := <-done; r.status != http.StatusOK {
			t.Errorf("slow read %d", r.status)
		}
	}
}

func TestResetForgetsReading(t *testing.T) {
	sb, srv := start(t, Options{SentItemsDelay: -1})
	wantStatus(t, sendWithID(t, srv, "<z@x.example>", nil), http.StatusAccepted)
	wantStatus(t, deliver(t, srv, `{"inReplyTo":"<z@x.example>","kind":"reply"}`), http.StatusCreated)
	link := decode[page](t, get(t, srv, "/v1.0/me/mailFolders/inbox/messages/delta", basicToken)).DeltaLink
	sb.Reset()
	if p := decode[page](t, get(t, srv, "/v1.0/me/messages", basicToken)); len(p.Value) != 0 {
		t.Errorf("after reset: %v", p.Value)
	}
	wantStatus(t, get(t, srv, link, basicToken), http.StatusGone)
	if n := len(sb.InboxMessages("")); n != 0 {
		t.Errorf("inbox %d", n)
	}
}
