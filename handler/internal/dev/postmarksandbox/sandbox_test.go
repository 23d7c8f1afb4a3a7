package postmarksandbox

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

const token = "server-token-1"

// isUUID reports whether s is a random UUID in the canonical form, as
// Postmark's MessageID is.
func isUUID(s string) bool {
	u, err := uuid.Parse(s)
	return err == nil && len(s) == 36 && u.Version() == 4
}

func start(t *testing.T, opts Options) (*Sandbox, *httptest.Server) {
	t.Helper()
	if opts.ServerToken == "" {
		opts.ServerToken = token
	}
	sb := New(opts)
	srv := httptest.NewServer(sb.Handler())
	t.Cleanup(srv.Close)
	return sb, srv
}

// post sends body to path with Postmark's headers; header overrides them
// (an empty value removes one).
func post(t *testing.T, url, body string, header map[string]string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Postmark-Server-Token", token)
	for k, v := range header {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (int, string) {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(b)
}

func control(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	return do(t, req)
}

func errorOf(t *testing.T, body string) apiError {
	t.Helper()
	var e apiError
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("error body %q is not Postmark's JSON: %v", body, err)
	}
	return e
}

func email(fields map[string]any) string {
	m := map[string]any{
		"From":     "Mail Merge <notify@mailmerge.example>",
		"To":       "owner@contoso.example",
		"Subject":  "Hello",
		"TextBody": "Hi there",
	}
	for k, v := range fields {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, _ := json.Marshal(m)
	return string(b)
}

func TestSendAccepted(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "outbox")
	sb, srv := start(t, Options{Dir: dir})
	status, body := post(t, srv.URL+"/email", email(map[string]any{
		"Cc":       "Carol <carol@contoso.example>",
		"HtmlBody": "<p>Hi</p>",
		"Tag":      "campaign-completed",
		"Headers":  []map[string]string{{"Name": "X-Campaign", "Value": "c1"}},
		"Metadata": map[string]string{"campaign": "c1"},
	}), nil)
	if status != http.StatusOK {
		t.Fatalf("status = %d, body %s; want 200", status, body)
	}
	var res sendResult
	if err := json.Unmarshal([]byte(body), &res); err != nil {
		t.Fatal(err)
	}
	if !isUUID(res.MessageID) || res.To != "owner@contoso.example" || res.ErrorCode != 0 || res.Message != "OK" {
		t.Errorf("answer = %+v", res)
	}
	if _, err := time.Parse(time.RFC3339Nano, res.SubmittedAt); err != nil {
		t.Errorf("SubmittedAt %q: %v", res.SubmittedAt, err)
	}

	got := sb.Messages()
	if len(got) != 1 {
		t.Fatalf("recorded %d messages, want 1", len(got))
	}
	m := got[0]
	if m.MessageID != res.MessageID || m.MessageStream != "outbound" || m.Cc != "Carol <carol@contoso.example>" ||
		m.HtmlBody != "<p>Hi</p>" || m.TextBody != "Hi there" || m.Tag != "campaign-completed" ||
		len(m.Headers) != 1 || m.Headers[0].Value != "c1" || m.Metadata["campaign"] != "c1" || m.ReceivedAt.IsZero() {
		t.Errorf("recorded %+v", m)
	}

	raw, err := os.ReadFile(filepath.Join(dir, res.MessageID+".json"))
	if err != nil {
		t.Fatalf("message file: %v", err)
	}
	var onDisk Message
	if err := json.Unmarshal(raw, &onDisk); err != nil || onDisk.Subject != "Hello" || onDisk.MessageID != res.MessageID {
		t.Errorf("file = %s (%v)", raw, err)
	}
}

func TestSendRefused(t *testing.T) {
	var fifty []string
	for i := range 51 {
		fifty = append(fifty, fmt.Sprintf("r%d@contoso.example", i))
	}
	tests := []struct {
		name     string
		body     string
		header   map[string]string
		status   int
		code     int    // Postmark ErrorCode, when the body is JSON
		contains string // in the message or the body
	}{
		{"no token", email(nil), map[string]string{"X-Postmark-Server-Token": ""}, 401, 10, "No Account or Server API tokens were supplied"},
		{"wrong token", email(nil), map[string]string{"X-Postmark-Server-Token": "nope"}, 401, 10, "Request does not contain a valid Server token."},
		{"no Accept", email(nil), map[string]string{"Accept": ""}, 415, -1, "Unsupported Media Type"},
		{"text body", email(nil), map[string]string{"Content-Type": "text/plain"}, 415, -1, "Unsupported Media Type"},
		{"not JSON", `{"From":`, nil, 422, 402, "invalid JSON"},
		{"wrong type", `{"From":"a@b.example","To":5}`, nil, 422, 403, "To"},
		{"no From", email(map[string]any{"From": nil}), nil, 422, 300, "'From'"},
		{"bad From", email(map[string]any{"From": "not an address"}), nil, 422, 300, "'From'"},
		{"no recipient", email(map[string]any{"To": nil}), nil, 422, 300, "Zero recipients"},
		{"Cc but no To", email(map[string]any{"To": nil, "Cc": "c@contoso.example"}), nil, 422, 300, "'To'"},
		{"bad To", email(map[string]any{"To": "owner(at)contoso"}), nil, 422, 300, "'To'"},
		{"no body", email(map[string]any{"TextBody": nil}), nil, 422, 300, "Provide either email TextBody or HtmlBody or both."},
		{"51 recipients", email(map[string]any{"To": strings.Join(fifty[:40], ","), "Bcc": strings.Join(fifty[40:], ",")}), nil, 422, 300, "Too many recipients"},
		{"long tag", email(map[string]any{"Tag": strings.Repeat("t", 1001)}), nil, 422, 300, "Tag"},
		{"unknown stream", email(map[string]any{"MessageStream": "broadcast"}), nil, 422, 1235, "MessageStream"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb, srv := start(t, Options{})
			status, body := post(t, srv.URL+"/email", tt.body, tt.header)
			if status != tt.status {
				t.Fatalf("status = %d (%s), want %d", status, body, tt.status)
			}
			if tt.code >= 0 {
				if e := errorOf(t, body); e.ErrorCode != tt.code || !strings.Contains(e.Message, tt.contains) {
					t.Errorf("got %+v, want ErrorCode %d with %q", e, tt.code, tt.contains)
				}
			} else if !strings.Contains(body, tt.contains) {
				t.Errorf("body %q, want %q", body, tt.contains)
			}
			if n := len(sb.Messages()); n != 0 {
				t.Errorf("recorded %d messages, want none", n)
			}
		})
	}
}

func TestFiftyRecipientsAccepted(t *testing.T) {
	var to []string
	for i := range 50 {
		to = append(to, fmt.Sprintf("r%d@contoso.example", i))
	}
	_, srv := start(t, Options{})
	if status, body := post(t, srv.URL+"/email", email(map[string]any{"To": strings.Join(to, ", ")}), nil); status != 200 {
		t.Errorf("status = %d (%s), want 200", status, body)
	}
}

func TestTestTokenValidatesWithoutSending(t *testing.T) {
	sb, srv := start(t, Options{})
	hdr := map[string]string{"X-Postmark-Server-Token": TestToken}
	if status, body := post(t, srv.URL+"/email", email(nil), hdr); status != 200 || !strings.Contains(body, `"ErrorCode":0`) {
		t.Errorf("status = %d (%s), want 200", status, body)
	}
	if status, body := post(t, srv.URL+"/email", email(map[string]any{"TextBody": nil}), hdr); status != 422 || errorOf(t, body).ErrorCode != 300 {
		t.Errorf("invalid email with the test token: %d %s, want 422/300", status, body)
	}
	if n := len(sb.Messages()); n != 0 {
		t.Errorf("recorded %d messages, want none", n)
	}
}

func TestEmptyServerTokenAcceptsOnlyTheTestToken(t *testing.T) {
	srv := httptest.NewServer(New(Options{}).Handler())
	defer srv.Close()
	if status, _ := post(t, srv.URL+"/email", email(nil), map[string]string{"X-Postmark-Server-Token": "anything"}); status != 401 {
		t.Errorf("status = %d, want 401", status)
	}
}

func TestTooLarge(t *testing.T) {
	_, srv := start(t, Options{})
	status, _ := post(t, srv.URL+"/email", email(map[string]any{"TextBody": strings.Repeat("x", 10<<20)}), nil)
	if status != http.StatusRequestEntityTooLarge {
		t.Errorf("status = %d, want 413", status)
	}
}

func TestInactiveRecipient(t *testing.T) {
	sb, srv := start(t, Options{})
	if status, body := control(t, http.MethodPost, srv.URL+"/_sandbox/inactive", `{"address":"Owner@Contoso.example"}`); status != http.StatusNoContent {
		t.Fatalf("mark inactive: %d %s", status, body)
	}
	for _, to := range []string{"owner@contoso.example", "Someone Else <else@contoso.example>, OWNER@contoso.example"} {
		status, body := post(t, srv.URL+"/email", email(map[string]any{"To": to}), nil)
		e := errorOf(t, body)
		if status != 422 || e.ErrorCode != 406 || !strings.HasPrefix(e.Message, "You tried to send to recipient(s) that have been marked as inactive.") {
			t.Errorf("To %q: %d %+v, want 422/406", to, status, e)
		}
	}
	if n := len(sb.Messages()); n != 0 {
		t.Errorf("recorded %d messages, want none", n)
	}
	if status, _ := control(t, http.MethodGet, srv.URL+"/_sandbox/inactive", ""); status != 200 {
		t.Errorf("list inactive: %d", status)
	}
	control(t, http.MethodDelete, srv.URL+"/_sandbox/inactive", "")
	if status, body := post(t, srv.URL+"/email", email(nil), nil); status != 200 {
		t.Errorf("after reactivation: %d %s, want 200", status, body)
	}
	if status, _ := control(t, http.MethodPost, srv.URL+"/_sandbox/inactive", `{"address":"nope"}`); status != 400 {
		t.Errorf("bad address: %d, want 400", status)
	}
}

func TestInjectedFailures(t *testing.T) {
	sb, srv := start(t, Options{})
	for _, f := range []string{`{"status":500,"count":2}`, `{"status":503,"errorCode":100}`, `{"status":429}`} {
		if status, body := control(t, http.MethodPost, srv.URL+"/_sandbox/fail", f); status != http.StatusNoContent {
			t.Fatalf("inject %s: %d %s", f, status, body)
		}
	}
	want := []struct {
		status int
		code   int // -1: plain text
	}{{500, -1}, {500, -1}, {503, 100}, {429, 429}, {200, 0}}
	for i, w := range want {
		status, body := post(t, srv.URL+"/email", email(nil), nil)
		if status != w.status {
			t.Fatalf("request %d: status %d (%s), want %d", i, status, body, w.status)
		}
		switch {
		case w.code < 0:
			if json.Valid([]byte(body)) {
				t.Errorf("request %d: body %q, want plain text", i, body)
			}
		case w.status != 200:
			if e := errorOf(t, body); e.ErrorCode != w.code {
				t.Errorf("request %d: ErrorCode %d, want %d", i, e.ErrorCode, w.code)
			}
		}
	}
	if n := len(sb.Messages()); n != 1 {
		t.Errorf("recorded %d messages, want 1", n)
	}

	sb.Fail(Failure{Status: 500, Count: 3})
	if got := sb.Failures(); len(got) != 1 || got[0].Count != 3 {
		t.Errorf("Failures() = %+v", got)
	}
	control(t, http.MethodDelete, srv.URL+"/_sandbox/fail", "")
	if status, _ := post(t, srv.URL+"/email", email(nil), nil); status != 200 {
		t.Errorf("after clearing failures: %d, want 200", status)
	}
	for _, bad := range []string{`{"status":200}`, `{"status":500,"count":-1}`, `{"status":"500"}`, `{"status":500,"bogus":1}`} {
		if status, _ := control(t, http.MethodPost, srv.URL+"/_sandbox/fail", bad); status != 400 {
			t.Errorf("inject %s: %d, want 400", bad, status)
		}
	}
}

func TestControlMessages(t *testing.T) {
	sb, srv := start(t, Options{})
	if _, body := control(t, http.MethodGet, srv.URL+"/_sandbox/messages", ""); strings.TrimSpace(body) != "[]" {
		t.Errorf("empty list = %q, want []", body)
	}
	_, body := post(t, srv.URL+"/email", email(nil), nil)
	id := resultOf(t, body).MessageID

	status, body := control(t, http.MethodGet, srv.URL+"/_sandbox/messages", "")
	var list []Message
	if err := json.Unmarshal([]byte(body), &list); status != 200 || err != nil || len(list) != 1 || list[0].MessageID != id {
		t.Errorf("list: %d %s (%v)", status, body, err)
	}
	if status, body := control(t, http.MethodGet, srv.URL+"/_sandbox/messages/"+id, ""); status != 200 || !strings.Contains(body, `"Subject":"Hello"`) {
		t.Errorf("one: %d %s", status, body)
	}
	if status, _ := control(t, http.MethodGet, srv.URL+"/_sandbox/messages/00000000-0000-4000-8000-000000000000", ""); status != 404 {
		t.Errorf("unknown id: %d, want 404", status)
	}
	if status, _ := control(t, http.MethodDelete, srv.URL+"/_sandbox/messages", ""); status != http.StatusNoContent || len(sb.Messages()) != 0 {
		t.Errorf("delete: %d, %d left", status, len(sb.Messages()))
	}
}

func resultOf(t *testing.T, body string) sendResult {
	t.Helper()
	var r sendResult
	if err := json.Unmarshal([]byte(body), &r); err != nil || r.MessageID == "" {
		t.Fatalf("answer %q: %v", body, err)
	}
	return r
}

func TestBatch(t *testing.T) {
	sb, srv := start(t, Options{})
	sb.MarkInactive("gone@contoso.example")
	batch := "[" + email(nil) + "," + email(map[string]any{"TextBody": nil}) + "," + email(map[string]any{"To": "gone@contoso.example"}) + "]"
	status, body := post(t, srv.URL+"/email/batch", batch, nil)
	if status != 200 {
		t.Fatalf("status = %d (%s), want 200", status, body)
	}
	var res []sendResult
	if err := json.Unmarshal([]byte(body), &res); err != nil || len(res) != 3 {
		t.Fatalf("answer %s: %v", body, err)
	}
	if res[0].ErrorCode != 0 || !isUUID(res[0].MessageID) || res[1].ErrorCode != 300 || res[2].ErrorCode != 406 || res[1].MessageID != "" {
		t.Errorf("results = %+v", res)
	}
	if n := len(sb.Messages()); n != 1 {
		t.Errorf("recorded %d messages, want 1", n)
	}

	var many bytes.Buffer
	many.WriteString("[")
	for i := range 501 {
		if i > 0 {
			many.WriteString(",")
		}
		many.WriteString(email(nil))
	}
	many.WriteString("]")
	status, body = post(t, srv.URL+"/email/batch", many.String(), nil)
	if e := errorOf(t, body); status != 422 || e.ErrorCode != 410 {
		t.Errorf("501 messages: %d %+v, want 422/410", status, e)
	}
}

func TestUnknownPath(t *testing.T) {
	_, srv := start(t, Options{})
	if status, _ := post(t, srv.URL+"/email/withTemplate", email(nil), nil); status != 404 {
		t.Errorf("status = %d, want 404", status)
	}
}
