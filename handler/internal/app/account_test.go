package app

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/dev/devauth"
	"mailmerge/handler/internal/dev/testenv"
	"mailmerge/handler/internal/dev/testqueue"
	"mailmerge/handler/internal/grant"
	"mailmerge/handler/internal/identity"
	"mailmerge/handler/internal/lifecycle"
	"mailmerge/handler/internal/store"
)

// newGrantsEnv is newEnv with the dev issuer over TLS (grants speak to
// Entra over https only) and the grants made by makeGrants from it.
func newGrantsEnv(t *testing.T, makeGrants func(entra *httptest.Server, st *store.Store) grants) *env {
	t.Helper()
	var h http.Handler
	entra := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(entra.Close)
	iss, err := devauth.NewIssuer(entra.URL, clientID)
	if err != nil {
		t.Fatal(err)
	}
	iss.ClientSecret = "dev-secret-for-tests"
	h = iss.Handler()
	st, err := store.Open(testenv.Storage(t))
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	q := &testqueue.Queue{}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	life := lifecycle.New(st, q, logger, time.Now)
	srv := httptest.NewServer(New(Deps{
		Logger:            logger,
		Store:             st,
		Lifecycle:         life,
		Auth:              identity.NewVerifier(ctx, entra.URL, clientID, entra.Client(), logger),
		DebugLogRetention: time.Hour,
		InboundAddress:    "campaigns@inbound.example.com",
		Grants:            makeGrants(entra, st),
	}))
	t.Cleanup(srv.Close)
	return &env{srv: srv, issuer: iss, store: st, queue: q, life: life}
}

// delegatedGrants are the production grants against the dev issuer.
func delegatedGrants(t *testing.T) func(*httptest.Server, *store.Store) grants {
	return func(entra *httptest.Server, st *store.Store) grants {
		key := make([]byte, 32)
		_, _ = rand.Read(key)
		g, err := grant.New(grant.Config{Authority: entra.URL, ClientID: clientID, ClientSecret: "dev-secret-for-tests",
			Key: key, HTTPClient: entra.Client()}, st)
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
}

func (e *env) storedAccount(t *testing.T, u devauth.User) store.Account {
	t.Helper()
	a, err := e.store.Account(context.Background(), account.Key{TenantID: u.TenantID, ObjectID: u.ObjectID})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestReadMailboxNeedsConsent: reading the mailbox is off by default;
// turning it on before the person allowed Mail.ReadBasic is refused with
// 403 consent_required (the web app then asks Microsoft) and stores
// nothing; once they allowed it, it is stored; the reader's place is
// shown; turning it off forgets it, in storage too.
func TestReadMailboxNeedsConsent(t *testing.T) {
	e := newGrantsEnv(t, delegatedGrants(t))
	u := freshUser(devauth.ContosoTenant)
	tok := e.token(t, u)
	if status, body := e.do(t, "POST", "/v1/install", tok, ""); status != http.StatusCreated {
		t.Fatalf("install: %d %v", status, body)
	}
	status, me := e.do(t, "GET", "/v1/me", tok, "")
	if status != 200 || me["readMailbox"] != false || me["mailboxPermission"] != "delegated" || me["readMailboxSince"] != nil {
		t.Fatalf("a new account: %d %v", status, me)
	}

	status, body := e.do(t, "PATCH", "/v1/me", tok, `{"readMailbox":true}`)
	if status != http.StatusForbidden || testenv.ErrorCode(body) != "consent_required" {
		t.Fatalf("on without consent: %d %v, want 403 consent_required", status, body)
	}
	msg := body["error"].(map[string]any)["message"].(string)
	for _, code := range []string{"AADSTS", "Mail.ReadBasic", "consent_required", "scope"} {
		if strings.Contains(msg, code) {
			t.Errorf("the refusal says %q: %q", code, msg)
		}
	}
	if a := e.storedAccount(t, u); a.ReadMailbox {
		t.Error("reading stored on although refused")
	}

	e.issuer.Consent(u.TenantID, u.ObjectID, devauth.PermissionMailReadBasic)
	before := time.Now().Add(-time.Second)
	status, body = e.do(t, "PATCH", "/v1/me", tok, `{"readMailbox":true}`)
	if status != 200 || body["readMailbox"] != true || body["readMailboxSince"] == nil || body["inboxReadAt"] != nil {
		t.Fatalf("on with consent: %d %v", status, body)
	}
	a := e.storedAccount(t, u)
	if !a.ReadMailbox || a.ReadMailboxSince.Before(before) {
		t.Fatalf("stored: reading %v since %v", a.ReadMailbox, a.ReadMailboxSince)
	}
	// Asked again, nothing changes: the same opt-in, from the same time.
	if status, again := e.do(t, "PATCH", "/v1/me", tok, `{"readMailbox":true}`); status != 200 || again["readMailboxSince"] != body["readMailboxSince"] {
		t.Errorf("on again: %d %v", status, again)
	}

	// The reader's place, as the inbox reader saves it.
	readAt := time.Now().UTC().Truncate(time.Second)
	if saved, err := e.store.SaveInbox(context.Background(), a.Key, a.ReadMailboxSince, "https://graph.example/delta?token=1", readAt); err != nil || !saved {
		t.Fatalf("SaveInbox = %v, %v", saved, err)
	}
	if _, me := e.do(t, "GET", "/v1/me", tok, ""); me["inboxReadAt"] != readAt.Format(time.RFC3339) {
		t.Errorf("inboxReadAt = %v, want %s", me["inboxReadAt"], readAt.Format(time.RFC3339))
	}

	// The export holds the fields as stored; the inventory says what they are.
	if accounts := exportedFile(t, e, tok, "account/accounts.jsonl"); !strings.Contains(accounts, `"ReadMailbox":true`) || !strings.Contains(accounts, "https://graph.example/delta?token=1") {
		t.Errorf("the export's account lacks the reading fields: %s", accounts)
	}
	_, inv := e.do(t, "GET", "/v1/me/data", tok, "")
	if !strings.Contains(fmt.Sprint(inv["kinds"]), "while you let us read your mailbox") {
		t.Errorf("the inventory does not say what is kept of reading: %v", inv["kinds"])
	}

	status, body = e.do(t, "PATCH", "/v1/me", tok, `{"readMailbox":false}`)
	if status != 200 || body["readMailbox"] != false || body["readMailboxSince"] != nil || body["inboxReadAt"] != nil {
		t.Fatalf("off: %d %v", status, body)
	}
	if a := e.storedAccount(t, u); a.ReadMailbox || a.InboxCursor != "" || !a.InboxReadAt.IsZero() || !a.ReadMailboxSince.IsZero() {
		t.Errorf("after off the account keeps: %+v", a)
	}
	if status, _ := e.do(t, "PATCH", "/v1/me", tok, `{"readMailbox":false}`); status != 200 {
		t.Errorf("off again: %d", status)
	}
	if accounts := exportedFile(t, e, tok, "account/accounts.jsonl"); strings.Contains(accounts, "InboxCursor") || strings.Contains(accounts, "ReadMailbox") {
		t.Errorf("after off the export still holds reading fields: %s", accounts)
	}
	// Withdrawn at Microsoft: turning it on is refused again.
	e.issuer.Withdraw(u.TenantID, u.ObjectID, devauth.PermissionMailReadBasic)
	if status, body := e.do(t, "PATCH", "/v1/me", tok, `{"readMailbox":true}`); status != http.StatusForbidden || testenv.ErrorCode(body) != "consent_required" {
		t.Errorf("on after the permission was withdrawn: %d %v", status, body)
	}
	// The other fields still correct alone, and with reading.
	if status, body := e.do(t, "PATCH", "/v1/me", tok, `{"displayName":"New name","readMailbox":false}`); status != 200 || body["displayName"] != "New name" {
		t.Errorf("name and reading off: %d %v", status, body)
	}
	if status, body := e.do(t, "PATCH", "/v1/me", tok, `{"readMailbox":"yes"}`); status != http.StatusBadRequest {
		t.Errorf("readMailbox not a boolean: %d %v", status, body)
	}
}

// consentGrants stand in for the grants where Entra's answers cannot be
// had from the dev issuer's token endpoint: an administrator's consent
// required, and the application permission.
type consentGrants struct {
	application bool
	err         error
	asked       []string
}

func (g *consentGrants) Capture(context.Context, account.Key, string) error { return nil }
func (g *consentGrants) Has(context.Context, account.Key) (bool, error)     { return true, nil }
func (g *consentGrants) Application() bool                                  { return g.application }
func (g *consentGrants) Confirm(_ context.Context, _ account.Key, assertion, scope string) error {
	g.asked = append(g.asked, scope)
	return g.err
}

// TestReadMailboxAdminOnlyAndApplication: where only the administrator may
// allow it, the refusal says so (403 admin_consent_required); with the
// application permission no person's consent is asked and the account
// says the administrator allows it; without grants, reading stays off.
func TestReadMailboxAdminOnlyAndApplication(t *testing.T) {
	admin := &consentGrants{err: apperr.E(apperr.Unauthorized, grant.CodeAdminConsent, "only the administrator")}
	e := newGrantsEnv(t, func(*httptest.Server, *store.Store) grants { return admin })
	u := freshUser(devauth.FabrikamTenant)
	tok := e.token(t, u)
	e.do(t, "POST", "/v1/install", tok, "")
	status, body := e.do(t, "PATCH", "/v1/me", tok, `{"readMailbox":true}`)
	if status != http.StatusForbidden || testenv.ErrorCode(body) != "admin_consent_required" {
		t.Fatalf("admin only: %d %v", status, body)
	}
	if msg := body["error"].(map[string]any)["message"].(string); !strings.Contains(msg, "administrator") {
		t.Errorf("the refusal does not name the administrator: %q", msg)
	}
	if len(admin.asked) != 1 || admin.asked[0] != grant.MailReadBasic {
		t.Errorf("asked for %v, want Mail.ReadBasic once", admin.asked)
	}

	unavailable := &consentGrants{err: apperr.E(apperr.Transient, grant.CodeUnavailable, "try again in a minute")}
	e = newGrantsEnv(t, func(*httptest.Server, *store.Store) grants { return unavailable })
	tok = e.token(t, u)
	e.do(t, "POST", "/v1/install", tok, "")
	if status, body := e.do(t, "PATCH", "/v1/me", tok, `{"readMailbox":true}`); status != http.StatusServiceUnavailable {
		t.Errorf("Microsoft unreachable: %d %v", status, body)
	}

	app := &consentGrants{application: true}
	e = newGrantsEnv(t, func(*httptest.Server, *store.Store) grants { return app })
	tok = e.token(t, u)
	e.do(t, "POST", "/v1/install", tok, "")
	status, body = e.do(t, "PATCH", "/v1/me", tok, `{"readMailbox":true}`)
	if status != 200 || body["readMailbox"] != true || body["mailboxPermission"] != "application" {
		t.Errorf("application permission: %d %v", status, body)
	}

	plain := newEnv(t)
	tok = plain.token(t, freshUser(devauth.FabrikamTenant))
	plain.do(t, "POST", "/v1/install", tok, "")
	if status, body := plain.do(t, "PATCH", "/v1/me", tok, `{"readMailbox":true}`); status != http.StatusConflict || testenv.ErrorCode(body) != "reading_unavailable" {
		t.Errorf("without grants: %d %v", status, body)
	}
	if _, me := plain.do(t, "GET", "/v1/me", tok, ""); me["mailboxPermission"] != nil {
		t.Errorf("without grants the account says %v", me["mailboxPermission"])
	}
}

// exportedFile downloads the caller's export and returns one file of it.
func exportedFile(t *testing.T, e *env, tok, name string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+"/v1/me/export", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("export: %d %v", resp.StatusCode, err)
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if f.Name == name {
			r, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(r)
			return string(b)
		}
	}
	t.Fatalf("no %s in the export", name)
	return ""
}
