package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/dev/devauth"
	"mailmerge/handler/internal/dev/testenv"
	"mailmerge/handler/internal/dev/testqueue"
	"mailmerge/handler/internal/identity"
	"mailmerge/handler/internal/lifecycle"
	"mailmerge/handler/internal/queue"
	"mailmerge/handler/internal/store"
)

const clientID = "6d1f2c8e-0b4a-4f3e-9c71-5a2e8b0d4f10"

type env struct {
	srv    *httptest.Server
	issuer *devauth.Issuer
	store  *store.Store
	queue  *testqueue.Queue
	life   *lifecycle.Lifecycle
}

func newEnv(t testing.TB) *env {
	t.Helper()
	entra := httptest.NewServer(nil)
	t.Cleanup(entra.Close)
	iss, err := devauth.NewIssuer(entra.URL, clientID)
	if err != nil {
		t.Fatal(err)
	}
	entra.Config.Handler = iss.Handler()
	st, err := store.Open(testenv.Storage(t))
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	q := &testqueue.Queue{}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	life := lifecycle.New(st, q, logger, time.Now)
	h := New(Deps{
		Logger:            logger,
		Store:             st,
		Lifecycle:         life,
		Auth:              identity.NewVerifier(ctx, entra.URL, clientID, entra.Client(), logger),
		DebugLogRetention: time.Hour,
		InboundAddress:    "campaigns@inbound.example.com",
	})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &env{srv: srv, issuer: iss, store: st, queue: q, life: life}
}

// user returns a fresh user (unique ids, so tests never share accounts).
func (e *env) token(t testing.TB, u devauth.User) string {
	t.Helper()
	tok, err := e.issuer.Mint(u)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func freshUser(tenant string) devauth.User {
	id := testenv.Name("")
	oid := "0000" + id[:4] + "-0000-4000-8000-" + id + "0000"[:12-len(id)]
	return devauth.User{Login: "u" + id, TenantID: tenant, ObjectID: oid, Name: "User " + id, Email: "u" + id + "@contoso.example"}
}

func (e *env) do(t testing.TB, method, path, token, body string) (int, map[string]any) {
	t.Helper()
	return testenv.CallJSON(t, method, e.srv.URL+path, token, body)
}

func TestDenyByDefault(t *testing.T) {
	e := newEnv(t)
	a := &App{}
	for _, rt := range a.routes() {
		if rt.public != nil {
			continue
		}
		path := strings.NewReplacer("{id}", "x").Replace(rt.pattern)
		status, body := e.do(t, rt.method, path, "", "")
		if status != http.StatusUnauthorized || testenv.ErrorCode(body) != "token_missing" {
			t.Errorf("%s %s without a token: %d %v", rt.method, path, status, body)
		}
	}
}

// TestWithoutAnAccountEveryRouteSaysSo: before the first install and after
// the account is deleted, every route but install answers 404
// account_not_found, so no route pretends the account is there.
func TestWithoutAnAccountEveryRouteSaysSo(t *testing.T) {
	e := newEnv(t)
	u := freshUser(devauth.ContosoTenant)
	tok := e.token(t, u)
	a := &App{}
	check := func(when string) {
		t.Helper()
		for _, rt := range a.routes() {
			if rt.public != nil || rt.beforeAccount {
				continue
			}
			path := strings.NewReplacer("{id}", "x").Replace(rt.pattern)
			status, body := e.do(t, rt.method, path, tok, "")
			if status != http.StatusNotFound || testenv.ErrorCode(body) != "account_not_found" {
				t.Errorf("%s: %s %s: %d %v", when, rt.method, path, status, body)
			}
		}
	}
	check("before install")
	if status, _ := e.do(t, "POST", "/v1/install", tok, ""); status != http.StatusCreated {
		t.Fatalf("install: %d", status)
	}
	if status, body := e.do(t, "GET", "/v1/campaigns", tok, ""); status != http.StatusOK {
		t.Fatalf("list after install: %d %v", status, body)
	}
	// What the deletion worker removes last.
	if err := e.store.DeleteAccountRow(context.Background(), account.Key{TenantID: u.TenantID, ObjectID: u.ObjectID}); err != nil {
		t.Fatal(err)
	}
	check("after deletion")
}

// TestSecurityHeaders: every answer, public or not, error or not, carries
// the headers of a JSON API; two Authorization headers are refused.
func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t)
	u := freshUser(devauth.ContosoTenant)
	tok := e.token(t, u)
	e.do(t, "POST", "/v1/install", tok, "")
	want := map[string]string{
		"X-Content-Type-Options":  "nosniff",
		"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
		"Referrer-Policy":         "no-referrer",
	}
	requests := []struct {
		method, path, token string
		status              int
	}{
		{"GET", "/", "", 200},
		{"GET", "/v1/openapi.json", "", 200},
		{"GET", "/v1/me", tok, 200},
		{"GET", "/v1/me", "", 401},
		{"GET", "/v1/nothing", tok, 404},
		{"PUT", "/v1/me", tok, 405},
		{"POST", "/hooks/postmark/inbound", "", 403},
	}
	for _, rq := range requests {
		req, _ := http.NewRequest(rq.method, e.srv.URL+rq.path, nil)
		if rq.token != "" {
			req.Header.Set("Authorization", "Bearer "+rq.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != rq.status {
			t.Errorf("%s %s: %d, want %d", rq.method, rq.path, resp.StatusCode, rq.status)
		}
		for k, v := range want {
			if got := resp.Header.Get(k); got != v {
				t.Errorf("%s %s: %s = %q, want %q", rq.method, rq.path, k, got, v)
			}
		}
	}
	other := e.token(t, freshUser(devauth.ContosoTenant))
	req, _ := http.NewRequest("GET", e.srv.URL+"/v1/me", nil)
	req.Header.Add("Authorization", "Bearer "+tok)
	req.Header.Add("Authorization", "Bearer "+other)
	if status, body := testenv.DoJSON(t, req); status != http.StatusBadRequest || testenv.ErrorCode(body) != "authorization_ambiguous" {
		t.Errorf("two Authorization headers: %d %v", status, body)
	}
}

func TestUnknownRouteAndMethod(t *testing.T) {
	e := newEnv(t)
	status, body := e.do(t, "GET", "/v1/nothing", "", "")
	if status != http.StatusNotFound || testenv.ErrorCode(body) != "not_found" {
		t.Errorf("unknown route: %d %v", status, body)
	}
	status, body = e.do(t, "PUT", "/v1/me", "", "")
	if status != http.StatusMethodNotAllowed || testenv.ErrorCode(body) != "method_not_allowed" {
		t.Errorf("wrong method: %d %v", status, body)
	}
}

func TestInstallWritesAnExpiringDebugEntry(t *testing.T) {
	e := newEnv(t)
	u := freshUser(devauth.ContosoTenant)
	tok := e.token(t, u)
	status, body := e.do(t, "POST", "/v1/install", tok, `{"host":"Outlook","platform":"OfficeOnline"}`)
	if status != http.StatusCreated || body["created"] != true {
		t.Fatalf("first install: %d %v", status, body)
	}
	status, body = e.do(t, "POST", "/v1/install", tok, "")
	if status != http.StatusOK || body["created"] != false {
		t.Fatalf("second install: %d %v", status, body)
	}
	k := account.Key{TenantID: u.TenantID, ObjectID: u.ObjectID}
	entries, err := e.store.DebugEntries(context.Background(), k)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 2 {
		t.Fatalf("debug entries = %d, want 2", len(entries))
	}
	for _, d := range entries {
		if life := d.ExpiresAt.Sub(d.CreatedAt); life != time.Hour {
			t.Errorf("entry lives %v, want the configured hour", life)
		}
		if strings.Contains(d.Detail, u.Email) {
			t.Error("the debug entry holds the address")
		}
	}
}

func TestPatchMeValidation(t *testing.T) {
	e := newEnv(t)
	u := freshUser(devauth.FabrikamTenant)
	tok := e.token(t, u)
	if status, _ := e.do(t, "PATCH", "/v1/me", tok, `{"displayName":"X"}`); status != http.StatusNotFound {
		t.Errorf("patch before install: %d, want 404", status)
	}
	e.do(t, "POST", "/v1/install", tok, "")
	tests := []struct {
		body   string
		status int
		code   string
	}{
		{`{}`, 400, "nothing_to_change"},
		{`{"displayName":"   "}`, 400, "display_name_invalid"},
		{`{"displayName":"` + strings.Repeat("é", 101) + `"}`, 400, "display_name_invalid"},
		{`{"displayName":"a\u0007b"}`, 400, "display_name_invalid"},
		{`{"notificationEmail":"not an address"}`, 400, "notification_email_invalid"},
		{`{"notificationEmail":"Carol <carol@fabrikam.example>"}`, 400, "notification_email_invalid"},
		{`{"notificationEmail":"carol@localhost"}`, 400, "notification_email_invalid"},
		{`{"notificationEmail":42}`, 400, "notification_email_invalid"},
		{`{"role":"admin"}`, 400, "body_invalid"},
		{`{"displayName":"A"} {}`, 400, "body_invalid"},
		{`{"displayName":`, 400, "body_invalid"},
		{`{"displayName":"` + strings.Repeat("a", 70000) + `"}`, 413, "body_too_large"},
	}
	for _, tt := range tests {
		status, body := e.do(t, "PATCH", "/v1/me", tok, tt.body)
		if status != tt.status || testenv.ErrorCode(body) != tt.code {
			name := tt.body
			if len(name) > 60 {
				name = name[:60]
			}
			t.Errorf("%s: got %d %s, want %d %s", name, status, testenv.ErrorCode(body), tt.status, tt.code)
		}
	}
	status, body := e.do(t, "PATCH", "/v1/me", tok, `{"displayName":"  Carol F.  ","notificationEmail":"carol.notify@fabrikam.example"}`)
	if status != 200 || body["displayName"] != "Carol F." || body["notificationEmail"] != "carol.notify@fabrikam.example" {
		t.Errorf("valid patch: %d %v", status, body)
	}
	status, body = e.do(t, "PATCH", "/v1/me", tok, `{"notificationEmail":null}`)
	if status != 200 || body["notificationEmail"] != u.Email {
		t.Errorf("reset notification address: %d %v", status, body)
	}
}

func TestDeleteMeRecordsAndEnqueues(t *testing.T) {
	e := newEnv(t)
	u := freshUser(devauth.ContosoTenant)
	tok := e.token(t, u)
	e.do(t, "POST", "/v1/install", tok, "")
	status, body := e.do(t, "DELETE", "/v1/me", tok, "")
	if status != http.StatusAccepted || body["status"] != "deleting" {
		t.Fatalf("delete: %d %v", status, body)
	}
	if len(e.queue.All()) != 1 || e.queue.All()[0].Queue != queue.AccountDelete {
		t.Fatalf("enqueued %+v", e.queue.All())
	}
	_, body = e.do(t, "GET", "/v1/me", tok, "")
	if body["status"] != "deleting" {
		t.Errorf("account during deletion: %v", body)
	}
	if status, body := e.do(t, "POST", "/v1/install", tok, ""); status != http.StatusConflict || testenv.ErrorCode(body) != "account_deleting" {
		t.Errorf("install during deletion: %d %v", status, body)
	}
	pending, err := e.store.PendingDeletions(context.Background(), time.Now().Add(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, d := range pending {
		found = found || d.Account == (account.Key{TenantID: u.TenantID, ObjectID: u.ObjectID})
	}
	if !found {
		t.Error("the deletion was not recorded")
	}
}

// TestDeleteMeWinsARaceWithPatchMe: a correction of the account that
// lands between the deletion's read and its write must not leave the
// account unmarked (it would go on sending) behind a 202.
func TestDeleteMeWinsARaceWithPatchMe(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for i := range 40 {
		u := freshUser(devauth.ContosoTenant)
		tok := e.token(t, u)
		if status, body := e.do(t, "POST", "/v1/install", tok, ""); status != http.StatusCreated {
			t.Fatalf("install: %d %v", status, body)
		}
		start, patched := make(chan struct{}), make(chan struct{})
		go func() {
			defer close(patched)
			req, _ := http.NewRequest("PATCH", e.srv.URL+"/v1/me", strings.NewReader(`{"displayName":"Renamed"}`))
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Content-Type", "application/json")
			<-start
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
		close(start)
		status, body := e.do(t, "DELETE", "/v1/me", tok, "")
		<-patched
		if status != http.StatusAccepted {
			// Refusing is allowed; answering 202 unmarked is not.
			t.Logf("try %d: delete answered %d %v", i, status, body)
			continue
		}
		acct, err := e.store.Account(ctx, account.Key{TenantID: u.TenantID, ObjectID: u.ObjectID})
		if err != nil {
			t.Fatal(err)
		}
		if !acct.Deleting() {
			t.Errorf("try %d: DELETE /v1/me answered 202, but the account is not marked as being deleted", i)
		}
	}
}

func TestReadiness(t *testing.T) {
	e := newEnv(t)
	status, body := e.do(t, "GET", "/", "", "")
	if status != 200 || body["status"] != "ok" {
		t.Errorf("GET /: %d %v", status, body)
	}
}
