package notify

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/dev/postmarksandbox"
)

const serverToken = "server-token-1"

// sandbox starts the Postmark sandbox and records the headers of every
// request it gets.
func sandbox(t *testing.T) (*postmarksandbox.Sandbox, *httptest.Server, func() []http.Header) {
	t.Helper()
	sb := postmarksandbox.New(postmarksandbox.Options{ServerToken: serverToken, Dir: t.TempDir()})
	var mu sync.Mutex
	var seen []http.Header
	h := sb.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Clone())
		mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return sb, srv, func() []http.Header {
		mu.Lock()
		defer mu.Unlock()
		return append([]http.Header(nil), seen...)
	}
}

func composed(t *testing.T) Email {
	t.Helper()
	e, err := Compose(Notice{Kind: Completed, To: owner, CampaignID: "c-42", Campaign: "Spring launch",
		Counts: Counts{Total: 1000, Sent: 995, Failed: 5}}, sender)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestSendDelivers(t *testing.T) {
	sb, srv, headers := sandbox(t)
	c := New(srv.URL+"/", serverToken, nil) // a trailing slash is fine
	e := composed(t)
	id, err := c.Send(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	msgs := sb.Messages()
	if len(msgs) != 1 {
		t.Fatalf("sandbox holds %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if id == "" || m.MessageID != id {
		t.Errorf("MessageID = %q, sandbox recorded %q", id, m.MessageID)
	}
	if m.From != sender || m.To != owner || m.Subject != e.Subject || m.TextBody != e.TextBody || m.HtmlBody != e.HTMLBody ||
		m.Tag != "campaign-completed" || m.MessageStream != "outbound" || m.TrackLinks != "None" {
		t.Errorf("recorded %+v", m)
	}
	h := headers()[0]
	if h.Get("X-Postmark-Server-Token") != serverToken || h.Get("Accept") != "application/json" || h.Get("Content-Type") != "application/json" {
		t.Errorf("request headers = %v", h)
	}
}

func TestSendErrors(t *testing.T) {
	code := func(n int) *int { return &n }
	tests := []struct {
		name  string
		setup func(sb *postmarksandbox.Sandbox)
		token string
		edit  func(e *Email)
		kind  apperr.Kind
		code  string
	}{
		{name: "inactive recipient", setup: func(sb *postmarksandbox.Sandbox) { sb.MarkInactive(owner) }, kind: apperr.Invalid, code: "postmark_406"},
		{name: "no body", edit: func(e *Email) { e.TextBody, e.HTMLBody = "", "" }, kind: apperr.Invalid, code: "postmark_300"},
		{name: "sender signature not confirmed", setup: func(sb *postmarksandbox.Sandbox) {
			sb.Fail(postmarksandbox.Failure{Status: 422, ErrorCode: code(401), Message: "Sender signature not confirmed."})
		}, kind: apperr.Invalid, code: "postmark_401"},
		{name: "bad token", token: "wrong", kind: apperr.Internal, code: "postmark_10"},
		{name: "no token", token: "-", kind: apperr.Internal, code: "postmark_10"},
		{name: "not allowed to send", setup: func(sb *postmarksandbox.Sandbox) {
			sb.Fail(postmarksandbox.Failure{Status: 422, ErrorCode: code(405), Message: "Not allowed to send."})
		}, kind: apperr.Internal, code: "postmark_405"},
		{name: "unknown stream", edit: func(e *Email) { e.MessageStream = "broadcast" }, kind: apperr.Internal, code: "postmark_1235"},
		{name: "500 plain text", setup: func(sb *postmarksandbox.Sandbox) { sb.Fail(postmarksandbox.Failure{Status: 500}) },
			kind: apperr.Transient, code: "postmark_http_500"},
		{name: "503 maintenance", setup: func(sb *postmarksandbox.Sandbox) {
			sb.Fail(postmarksandbox.Failure{Status: 503, ErrorCode: code(100)})
		}, kind: apperr.Transient, code: "postmark_100"},
		{name: "429", setup: func(sb *postmarksandbox.Sandbox) { sb.Fail(postmarksandbox.Failure{Status: 429}) },
			kind: apperr.Transient, code: "postmark_429"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sb, srv, _ := sandbox(t)
			if tt.setup != nil {
				tt.setup(sb)
			}
			token := serverToken
			if tt.token == "-" {
				token = ""
			} else if tt.token != "" {
				token = tt.token
			}
			e := composed(t)
			if tt.edit != nil {
				tt.edit(&e)
			}
			id, err := New(srv.URL, token, nil).Send(context.Background(), e)
			var ae *apperr.Error
			if !errors.As(err, &ae) || ae.Kind != tt.kind || ae.Code != tt.code {
				t.Fatalf("Send = %q, %v; want %s %s", id, err, tt.kind, tt.code)
			}
			if id != "" {
				t.Errorf("MessageID %q with an error", id)
			}
			if want := tt.kind != apperr.Invalid; apperr.Retryable(err) != want {
				t.Errorf("Retryable = %v, want %v", !want, want)
			}
			for _, private := range []string{owner, "contoso", e.Subject, "Spring launch"} {
				if strings.Contains(err.Error(), private) {
					t.Errorf("error %q holds %q", err, private)
				}
			}
			if n := len(sb.Messages()); n != 0 {
				t.Errorf("sandbox recorded %d messages", n)
			}
		})
	}
}

func TestSendRetriesAfterTransient(t *testing.T) {
	sb, srv, _ := sandbox(t)
	sb.Fail(postmarksandbox.Failure{Status: 503})
	c := New(srv.URL, serverToken, nil)
	if _, err := c.Send(context.Background(), composed(t)); !apperr.Is(err, apperr.Transient) {
		t.Fatalf("first Send: %v, want transient", err)
	}
	if id, err := c.Send(context.Background(), composed(t)); err != nil || id == "" {
		t.Fatalf("second Send = %q, %v", id, err)
	}
}

func TestSendUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, err := New(url, serverToken, nil).Send(context.Background(), composed(t))
	var ae *apperr.Error
	if !errors.As(err, &ae) || ae.Kind != apperr.Transient || ae.Code != "postmark_unreachable" {
		t.Fatalf("err = %v, want transient postmark_unreachable", err)
	}
}

func TestSendDoesNotFollowRedirects(t *testing.T) {
	sb, target, headers := sandbox(t)
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer redirect.Close()
	_, err := New(redirect.URL, serverToken, nil).Send(context.Background(), composed(t))
	var ae *apperr.Error
	if !errors.As(err, &ae) || ae.Kind != apperr.Internal || ae.Code != "postmark_http_307" {
		t.Fatalf("err = %v, want internal postmark_http_307", err)
	}
	if n := len(headers()); n != 0 || len(sb.Messages()) != 0 {
		t.Errorf("the redirect was followed: %d requests reached the target", n)
	}
}

func TestSendUnreadableReply(t *testing.T) {
	for _, body := range []string{"<html>OK</html>", `{"ErrorCode":0,"Message":"OK"}`} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(body))
		}))
		_, err := New(srv.URL, serverToken, nil).Send(context.Background(), composed(t))
		srv.Close()
		var ae *apperr.Error
		if !errors.As(err, &ae) || ae.Kind != apperr.Transient || ae.Code != "postmark_bad_reply" {
			t.Errorf("answer %s: err = %v, want transient postmark_bad_reply", body, err)
		}
	}
}

func TestSendKeepsCallersClient(t *testing.T) {
	_, srv, _ := sandbox(t)
	hc := &http.Client{}
	if _, err := New(srv.URL, serverToken, hc).Send(context.Background(), composed(t)); err != nil {
		t.Fatal(err)
	}
	if hc.Transport != nil || hc.CheckRedirect != nil {
		t.Errorf("New changed the caller's http.Client: %+v", hc)
	}
}
