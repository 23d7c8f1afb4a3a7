package postmarksandbox

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"mailmerge/handler/internal/postmark"
)

// bodyHash is the bh= of a body whose relaxed form is canon.
func bodyHash(canon string) string {
	sum := sha256.Sum256([]byte(canon))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// inboundMIME is a template email as the Graph sandbox hands it over: signed
// by d (with the body hash bh), HTML and text, one attachment and one
// inline image.
func inboundMIME(d, bh string) string {
	sig := ""
	if d != "" {
		sig = "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=" + d + "; s=selector1;\r\n\th=From:Date:Subject:Message-ID; bh=" + bh + ";\r\n\tb=abc\r\n"
	}
	return sig +
		"From: \"Alice Contoso\" <alice@contoso.example>\r\n" +
		"To: campaigns+tok123@inbound.example, \"Bob\" <bob@contoso.example>\r\n" +
		"Cc: carol@fabrikam.example\r\n" +
		"Subject: =?utf-8?q?Hello_=7B=7BFirst_name=7D=7D_=E2=80=94_spring?=\r\n" +
		"Date: Sun, 01 Mar 2026 09:00:00 +0000\r\n" +
		"Message-ID: <t1@mailmerge.example>\r\n" +
		"List-Unsubscribe: <https://mm.example/u/x>\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"B1\"\r\n" +
		"\r\n" +
		"--B1\r\n" +
		"Content-Type: multipart/alternative; boundary=\"B2\"\r\n" +
		"\r\n" +
		"--B2\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"Content-Transfer-Encoding: quoted-printable\r\n" +
		"\r\n" +
		"Dear {{First name}}  =E2=80=94\r\nbye\r\n" +
		"--B2\r\n" +
		"Content-Type: text/html; charset=utf-8\r\n" +
		"\r\n" +
		"<p>Dear {{First name}}</p>\r\n" +
		"--B2--\r\n" +
		"--B1\r\n" +
		"Content-Type: application/pdf; name=\"Offer.pdf\"\r\n" +
		"Content-Disposition: attachment; filename=\"Offer.pdf\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n" +
		"\r\n" +
		base64.StdEncoding.EncodeToString([]byte("%PDF-1.4 offer")) + "\r\n" +
		"--B1\r\n" +
		"Content-Type: image/png\r\n" +
		"Content-Disposition: inline; filename=\"logo.png\"\r\n" +
		"Content-ID: <logo@x>\r\n" +
		"Content-Transfer-Encoding: base64\r\n" +
		"\r\n" +
		base64.StdEncoding.EncodeToString([]byte("PNG")) + "\r\n" +
		"--B1--\r\n"
}

// theBodyHash is bh= of inboundMIME's body, computed from the relaxed body
// by hand: trailing spaces go, inner runs become one space.
func theBodyHash(t *testing.T) string {
	t.Helper()
	raw := inboundMIME("", "")
	body := raw[strings.Index(raw, "\r\n\r\n")+4:]
	canon := strings.Replace(body, "Dear {{First name}}  =E2=80=94", "Dear {{First name}} =E2=80=94", 1)
	return bodyHash(canon)
}

func headerValues(hs []Header, name string) []string {
	var out []string
	for _, h := range hs {
		if strings.EqualFold(h.Name, name) {
			out = append(out, h.Value)
		}
	}
	return out
}

func TestParseInbound(t *testing.T) {
	raw := inboundMIME("contoso.example", theBodyHash(t))
	in, err := ParseInbound([]byte(raw), "alice@contoso.example", "campaigns+tok123@inbound.example")
	if err != nil {
		t.Fatal(err)
	}
	if in.MessageStream != "inbound" || len(in.MessageID) != 36 || in.OriginalRecipient != "campaigns+tok123@inbound.example" || in.MailboxHash != "tok123" {
		t.Errorf("envelope fields %+v", in)
	}
	if in.From != "alice@contoso.example" || in.FromName != "Alice Contoso" || in.FromFull != (InboundAddress{Email: "alice@contoso.example", Name: "Alice Contoso"}) {
		t.Errorf("from %q %q %+v", in.From, in.FromName, in.FromFull)
	}
	if in.To != `campaigns+tok123@inbound.example, "Bob" <bob@contoso.example>` || len(in.ToFull) != 2 || in.ToFull[0].MailboxHash != "tok123" || in.ToFull[1].MailboxHash != "" {
		t.Errorf("to %q %+v", in.To, in.ToFull)
	}
	if in.Cc != "carol@fabrikam.example" || len(in.CcFull) != 1 || in.Bcc != "" || in.BccFull == nil {
		t.Errorf("cc %q %+v bcc %q", in.Cc, in.CcFull, in.Bcc)
	}
	if in.Subject != "Hello {{First name}} — spring" || in.Date != "Sun, 01 Mar 2026 09:00:00 +0000" {
		t.Errorf("subject %q date %q", in.Subject, in.Date)
	}
	if in.TextBody != "Dear {{First name}}  —\nbye" || in.HtmlBody != "<p>Dear {{First name}}</p>" {
		t.Errorf("bodies %q %q", in.TextBody, in.HtmlBody)
	}
	if len(in.Attachments) != 2 {
		t.Fatalf("attachments %+v", in.Attachments)
	}
	pdf, img := in.Attachments[0], in.Attachments[1]
	if pdf.Name != "Offer.pdf" || pdf.ContentType != "application/pdf" || pdf.ContentLength != 14 || pdf.ContentID != "" ||
		pdf.Content != base64.StdEncoding.EncodeToString([]byte("%PDF-1.4 offer")) {
		t.Errorf("attachment %+v", pdf)
	}
	if img.Name != "logo.png" || img.ContentID != "logo@x" || img.ContentLength != 3 {
		t.Errorf("inline image %+v", img)
	}
	h := in.Headers
	if h[0].Name != "Return-Path" || h[0].Value != "<alice@contoso.example>" {
		t.Errorf("first header %+v", h[0])
	}
	if v := headerValues(h, "X-Spam-Tests"); len(v) != 1 || v[0] != "DKIM_SIGNED,DKIM_VALID,DKIM_VALID_AU,HTML_MESSAGE,SPF_PASS" {
		t.Errorf("X-Spam-Tests %v", v)
	}
	if v := headerValues(h, "Received-SPF"); len(v) != 1 || !strings.HasPrefix(v[0], "pass ") || !strings.Contains(v[0], `envelope-from="alice@contoso.example"`) {
		t.Errorf("Received-SPF %v", v)
	}
	if v := headerValues(h, "DKIM-Signature"); len(v) != 1 || !strings.Contains(v[0], "s=selector1;\th=From") {
		t.Errorf("DKIM-Signature %v (folding kept as a tab)", v)
	}
	if headerValues(h, "Message-ID")[0] != "<t1@mailmerge.example>" || len(headerValues(h, "List-Unsubscribe")) != 1 {
		t.Errorf("the message's own headers are missing: %+v", h)
	}
	for _, field := range []string{"From", "To", "Cc", "Subject", "Date", "Content-Type"} {
		if len(headerValues(h, field)) != 0 {
			t.Errorf("Headers has %s, a field of its own", field)
		}
	}

	// The app reads it as Postmark's and trusts the sender.
	b, _ := json.Marshal(in)
	got, err := postmark.ParseInbound(b)
	if err != nil {
		t.Fatal(err)
	}
	if v := postmark.CheckSender(got); !v.OK || got.Sender() != "alice@contoso.example" || got.MailboxHash != "tok123" {
		t.Errorf("the app's checks: %+v, sender %q", v, got.Sender())
	}
	for _, a := range got.Attachments {
		if _, err := a.Decode(); err != nil {
			t.Errorf("attachment: %v", err)
		}
	}
}

func TestParseInboundDKIMTests(t *testing.T) {
	for _, c := range []struct {
		name, d, bh, tests string
	}{
		{"unsigned", "", "", "HTML_MESSAGE,SPF_PASS"},
		{"body changed after signing", "contoso.example", bodyHash("other\r\n"), "DKIM_SIGNED,HTML_MESSAGE,SPF_PASS"},
		{"another domain's signature", "mailer.example", "", "DKIM_SIGNED,DKIM_VALID,HTML_MESSAGE,SPF_PASS"},
	} {
		bh := c.bh
		if bh == "" {
			bh = theBodyHash(t)
		}
		in, err := ParseInbound([]byte(inboundMIME(c.d, bh)), "alice@contoso.example", "campaigns+t@inbound.example")
		if err != nil {
			t.Fatal(err)
		}
		if v := headerValues(in.Headers, "X-Spam-Tests"); len(v) != 1 || v[0] != c.tests {
			t.Errorf("%s: X-Spam-Tests %v, want %s", c.name, v, c.tests)
		}
	}
	if _, err := ParseInbound([]byte("no header block"), "a@b.example", "c@d.example"); err == nil {
		t.Error("a message without headers was read")
	}
}

// webhook is a stand-in for the app's inbound webhook answering statuses in turn.
type webhook struct {
	mu       sync.Mutex
	statuses []int
	bodies   []InboundMessage
	auth     []string
}

func (h *webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var in InboundMessage
	_ = json.Unmarshal(b, &in)
	user, pass, _ := r.BasicAuth()
	h.mu.Lock()
	h.bodies = append(h.bodies, in)
	h.auth = append(h.auth, user+":"+pass)
	status := http.StatusOK
	if len(h.statuses) > 0 {
		status, h.statuses = h.statuses[0], h.statuses[1:]
	}
	h.mu.Unlock()
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"status":"x"}`))
}

func waitOutcome(t *testing.T, in *Inbound, n int) []InboundPost {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		posts := in.Posts()
		done := len(posts) >= n
		for _, p := range posts {
			done = done && p.Outcome != InboundPending
		}
		if done || time.Now().After(deadline) {
			return posts
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestInboundPostsAndRetries(t *testing.T) {
	hook := &webhook{statuses: []int{http.StatusInternalServerError, http.StatusOK, http.StatusForbidden, 503, 503, 503}}
	srv := httptest.NewServer(hook)
	defer srv.Close()
	dir := t.TempDir()
	in, err := NewInbound(InboundOptions{WebhookURL: srv.URL + "/hooks/postmark/inbound", User: "postmark", Password: "pw",
		Retries: []time.Duration{5 * time.Millisecond, 5 * time.Millisecond}, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	raw := []byte(inboundMIME("contoso.example", theBodyHash(t)))

	// 500 then 200: delivered on the retry, with the same MessageID.
	in.Receive("alice@contoso.example", "campaigns+a@inbound.example", raw)
	posts := waitOutcome(t, in, 1)
	if len(posts) != 1 || posts[0].Outcome != InboundDelivered || len(posts[0].Attempts) != 2 || posts[0].Attempts[0].Status != 500 {
		t.Fatalf("posts %+v", posts)
	}
	hook.mu.Lock()
	if len(hook.bodies) != 2 || hook.bodies[0].MessageID != hook.bodies[1].MessageID || hook.bodies[0].MessageID != posts[0].MessageID || hook.auth[0] != "postmark:pw" {
		t.Errorf("retry changed the payload or credentials: %v", hook.auth)
	}
	hook.mu.Unlock()
	if _, err := os.Stat(filepath.Join(dir, posts[0].MessageID+".json")); err != nil {
		t.Errorf("payload file: %v", err)
	}

	// 403: Postmark stops at once.
	in.Receive("alice@contoso.example", "campaigns+b@inbound.example", raw)
	posts = waitOutcome(t, in, 2)
	if p := posts[1]; p.Outcome != InboundRefused || len(p.Attempts) != 1 {
		t.Errorf("after 403: %+v", p)
	}
	// Always 503: the first post and each retry, then it gives up.
	in.Receive("alice@contoso.example", "campaigns+c@inbound.example", raw)
	posts = waitOutcome(t, in, 3)
	if p := posts[2]; p.Outcome != InboundFailed || len(p.Attempts) != 3 {
		t.Errorf("after 503s: %+v", p)
	}
	// A message that is not MIME is never posted.
	in.Receive("alice@contoso.example", "campaigns+d@inbound.example", []byte("garbage"))
	if p := in.Posts()[3]; p.Outcome != InboundUnreadable || p.Error == "" {
		t.Errorf("unreadable: %+v", p)
	}
}

func TestInboundCloseStopsRetries(t *testing.T) {
	srv := httptest.NewServer(&webhook{statuses: []int{503}})
	defer srv.Close()
	in, err := NewInbound(InboundOptions{WebhookURL: srv.URL, User: "u", Password: "p", Retries: []time.Duration{time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	in.Receive("a@contoso.example", "x+y@inbound.example", []byte(inboundMIME("", "")))
	deadline := time.Now().Add(5 * time.Second)
	for len(in.Posts()[0].Attempts) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	t0 := time.Now()
	in.Close()
	if time.Since(t0) > 5*time.Second {
		t.Error("Close waited for the retry")
	}
	in.Receive("a@contoso.example", "x+z@inbound.example", []byte(inboundMIME("", "")))
	if p := in.Posts()[1]; p.Outcome != InboundFailed || len(p.Attempts) != 0 {
		t.Errorf("received after Close: %+v", p)
	}
	if _, err := NewInbound(InboundOptions{WebhookURL: "not a url"}); err == nil {
		t.Error("a bad webhook URL was accepted")
	}
}

func TestInboundControl(t *testing.T) {
	srv := httptest.NewServer(&webhook{})
	defer srv.Close()
	in, _ := NewInbound(InboundOptions{WebhookURL: srv.URL, User: "u", Password: "p"})
	defer in.Close()
	in.Receive("a@contoso.example", "x+y@inbound.example", []byte(inboundMIME("", "")))
	waitOutcome(t, in, 1)
	for _, c := range []struct {
		sb     *Sandbox
		status int
	}{{New(Options{Inbound: in}), http.StatusOK}, {New(Options{}), http.StatusNotFound}} {
		cs := httptest.NewServer(c.sb.Handler())
		res, err := http.Get(cs.URL + "/_sandbox/inbound")
		if err != nil {
			t.Fatal(err)
		}
		var posts []InboundPost
		_ = json.NewDecoder(res.Body).Decode(&posts)
		res.Body.Close()
		cs.Close()
		if res.StatusCode != c.status || c.status == http.StatusOK && (len(posts) != 1 || posts[0].Outcome != InboundDelivered) {
			t.Errorf("GET /_sandbox/inbound: %d %+v", res.StatusCode, posts)
		}
	}
}
