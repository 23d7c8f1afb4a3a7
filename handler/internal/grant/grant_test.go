package grant_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/dev/devauth"
	"mailmerge/handler/internal/dev/testenv"
	"mailmerge/handler/internal/grant"
	"mailmerge/handler/internal/store"
)

const (
	clientID = "6d1f2c8e-0b4a-4f3e-9c71-5a2e8b0d4f10"
	secret   = "dev-secret-for-tests"
)

// entra is the dev issuer over TLS, counting token requests by grant type
// and remembering the refresh tokens it handed out.
type entra struct {
	iss *devauth.Issuer
	srv *httptest.Server

	mu       sync.Mutex
	grants   map[string]int
	refreshs []string
}

func newEntra(t *testing.T) *entra {
	t.Helper()
	e := &entra{grants: map[string]int{}}
	var handler http.Handler
	e.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(e.srv.Close)
	iss, err := devauth.NewIssuer(e.srv.URL, clientID)
	if err != nil {
		t.Fatal(err)
	}
	iss.ClientSecret = secret
	e.iss = iss
	inner := iss.Handler()
	handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token") {
			inner.ServeHTTP(w, r)
			return
		}
		_ = r.ParseForm()
		rec := httptest.NewRecorder()
		inner.ServeHTTP(rec, r)
		var body struct {
			RefreshToken string `json:"refresh_token"`
		}
		_ = json.Unmarshal(rec.Body.Bytes(), &body)
		e.mu.Lock()
		e.grants[r.PostForm.Get("grant_type")]++
		if body.RefreshToken != "" {
			e.refreshs = append(e.refreshs, body.RefreshToken)
		}
		e.mu.Unlock()
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	})
	return e
}

func (e *entra) count(grantType string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.grants[grantType]
}

const (
	obo     = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	refresh = "refresh_token"
)

// user is a fresh Contoso user, so tests do not share grant blobs.
func user() devauth.User {
	id := uuid.NewString()
	return devauth.User{Login: "u" + id[:8], TenantID: devauth.ContosoTenant, ObjectID: id, Name: "User " + id[:8], Email: "u" + id[:8] + "@contoso.example"}
}

func key(u devauth.User) account.Key {
	return account.Key{TenantID: u.TenantID, ObjectID: u.ObjectID}
}

// assertion is the user's token for our API, as the add-in sends it.
func (e *entra) assertion(t *testing.T, u devauth.User) string {
	t.Helper()
	tok, err := e.iss.Mint(u)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(testenv.Storage(t))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func newKey(t *testing.T) []byte {
	t.Helper()
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func newGrants(t *testing.T, e *entra, st grant.Blobs, k []byte, application bool) *grant.Grants {
	t.Helper()
	g, err := grant.New(grant.Config{
		Authority:    e.srv.URL,
		ClientID:     clientID,
		ClientSecret: secret,
		Application:  application,
		Key:          k,
		HTTPClient:   e.srv.Client(),
	}, st)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func claims(t *testing.T, token string) jwt.MapClaims {
	t.Helper()
	c := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(token, c); err != nil {
		t.Fatalf("token is not a JWT: %v", err)
	}
	return c
}

func getToken(g *grant.Grants, k account.Key) (string, error) {
	tok, err := g.Credential(k).GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{grant.MailSend}})
	return tok.Token, err
}

func TestCaptureThenCredential(t *testing.T) {
	e, st, k := newEntra(t), openStore(t), newKey(t)
	u := user()
	ctx := context.Background()
	g := newGrants(t, e, st, k, false)

	if has, err := g.Has(ctx, key(u)); err != nil || has {
		t.Fatalf("Has before capture = %v, %v; want false", has, err)
	}
	if err := g.Capture(ctx, key(u), e.assertion(t, u)); err != nil {
		t.Fatal(err)
	}
	if has, err := g.Has(ctx, key(u)); err != nil || !has {
		t.Fatalf("Has after capture = %v, %v; want true", has, err)
	}
	tok, err := getToken(g, key(u))
	if err != nil {
		t.Fatal(err)
	}
	c := claims(t, tok)
	for name, want := range map[string]string{"aud": devauth.GraphResource, "scp": "Mail.Send", "oid": u.ObjectID, "tid": u.TenantID, "upn": u.Email} {
		if got, _ := c[name].(string); got != want {
			t.Errorf("claim %s = %q, want %q", name, got, want)
		}
	}

	// A new process reads the grant from storage and, the access token
	// being fresh, needs no token request.
	before := e.count(obo) + e.count(refresh)
	again, err := getToken(newGrants(t, e, st, k, false), key(u))
	if err != nil {
		t.Fatal(err)
	}
	if again != tok {
		t.Error("a new instance got another token; want the persisted one")
	}
	if after := e.count(obo) + e.count(refresh); after != before {
		t.Errorf("token requests: %d, want none", after-before)
	}
}

func TestExpiredAccessTokenRedeemsRefreshToken(t *testing.T) {
	e, st, k := newEntra(t), openStore(t), newKey(t)
	// MSAL renews tokens with less than five minutes left.
	e.iss.GraphTokenLifetime = time.Minute
	u := user()
	ctx := context.Background()
	if err := newGrants(t, e, st, k, false).Capture(ctx, key(u), e.assertion(t, u)); err != nil {
		t.Fatal(err)
	}
	blob1, _ := st.GetBlob(ctx, "tokencache", key(u).String())

	for i := 1; i <= 2; i++ {
		tok, err := getToken(newGrants(t, e, st, k, false), key(u))
		if err != nil {
			t.Fatal(err)
		}
		if got := claims(t, tok)["oid"]; got != u.ObjectID {
			t.Errorf("oid = %v, want %s", got, u.ObjectID)
		}
		if got := e.count(refresh); got != i {
			t.Errorf("refresh-token redemptions after request %d = %d, want %d", i, got, i)
		}
	}
	if got := e.count(obo); got != 1 {
		t.Errorf("on-behalf-of exchanges = %d, want 1 (the capture)", got)
	}
	blob2, _ := st.GetBlob(ctx, "tokencache", key(u).String())
	if bytes.Equal(blob1, blob2) {
		t.Error("the grant blob did not change after a refresh")
	}
}

func TestRevokedGrantIsExpired(t *testing.T) {
	e, st, k := newEntra(t), openStore(t), newKey(t)
	e.iss.GraphTokenLifetime = time.Minute
	u := user()
	ctx := context.Background()
	g := newGrants(t, e, st, k, false)
	old := e.assertion(t, u)
	if err := g.Capture(ctx, key(u), old); err != nil {
		t.Fatal(err)
	}
	e.iss.Revoke(u.TenantID, u.ObjectID)

	_, err := getToken(g, key(u))
	if !grant.Expired(err) {
		t.Fatalf("GetToken after revocation: %v; want Expired", err)
	}
	if apperr.KindOf(err) != apperr.Unauthorized {
		t.Errorf("kind = %s, want unauthorized", apperr.KindOf(err))
	}

	err = g.Capture(ctx, key(u), old)
	var ae *apperr.Error
	if !apperrAs(err, &ae) || ae.Kind != apperr.Unauthorized || ae.Code != grant.CodeConsentRequired {
		t.Fatalf("Capture with a revoked assertion: %v; want unauthorized %s", err, grant.CodeConsentRequired)
	}

	// Signing in again gives a new assertion, and sending works again.
	if err := g.Capture(ctx, key(u), e.assertion(t, u)); err != nil {
		t.Fatal(err)
	}
	if _, err := getToken(g, key(u)); err != nil {
		t.Fatal(err)
	}
}

func TestBlobIsCiphertext(t *testing.T) {
	e, st, k := newEntra(t), openStore(t), newKey(t)
	u := user()
	ctx := context.Background()
	a := e.assertion(t, u)
	if err := newGrants(t, e, st, k, false).Capture(ctx, key(u), a); err != nil {
		t.Fatal(err)
	}
	blob, err := st.GetBlob(ctx, "tokencache", key(u).String())
	if err != nil {
		t.Fatal(err)
	}
	e.mu.Lock()
	secrets := append([]string{a, a[len(a)-43:], secret, string(k)}, e.refreshs...)
	e.mu.Unlock()
	if len(secrets) < 5 {
		t.Fatal("no refresh token was issued")
	}
	for _, s := range secrets {
		if bytes.Contains(blob, []byte(s)) {
			t.Errorf("the blob contains a secret in plaintext (%d bytes)", len(s))
		}
	}
	for _, s := range []string{"refresh", "assertion", "Mail.Send", u.Email, u.ObjectID} {
		if bytes.Contains(blob, []byte(s)) {
			t.Errorf("the blob contains %q in plaintext", s)
		}
	}
}

func TestWrongKeyIsExpired(t *testing.T) {
	e, st := newEntra(t), openStore(t)
	u := user()
	ctx := context.Background()
	if err := newGrants(t, e, st, newKey(t), false).Capture(ctx, key(u), e.assertion(t, u)); err != nil {
		t.Fatal(err)
	}
	rotated := newGrants(t, e, st, newKey(t), false)
	if _, err := getToken(rotated, key(u)); !grant.Expired(err) {
		t.Errorf("GetToken with another key: %v; want Expired", err)
	}
	if has, err := rotated.Has(ctx, key(u)); err != nil || has {
		t.Errorf("Has with another key = %v, %v; want false", has, err)
	}
}

func TestApplicationToken(t *testing.T) {
	e := newEntra(t)
	g := newGrants(t, e, nil, nil, true)
	ctx := context.Background()
	k := account.Key{TenantID: devauth.FabrikamTenant, ObjectID: uuid.NewString()}
	if err := g.Capture(ctx, k, "not used"); err != nil {
		t.Errorf("Capture in application mode: %v", err)
	}
	if has, err := g.Has(ctx, k); err != nil || !has {
		t.Errorf("Has in application mode = %v, %v; want true", has, err)
	}
	tok, err := g.Credential(k).GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{grant.AppScope}})
	if err != nil {
		t.Fatal(err)
	}
	c := claims(t, tok.Token)
	if got, _ := c["idtyp"].(string); got != "app" {
		t.Errorf("idtyp = %q, want app", got)
	}
	if got, _ := c["tid"].(string); got != devauth.FabrikamTenant {
		t.Errorf("tid = %q, want Fabrikam's", got)
	}
	if roles, _ := c["roles"].([]any); len(roles) != 1 || roles[0] != "Mail.Send" {
		t.Errorf("roles = %v, want [Mail.Send]", c["roles"])
	}
	if _, ok := c["upn"]; ok {
		t.Error("an app token has a upn")
	}
}

func TestDeleteIsIdempotent(t *testing.T) {
	e, st, k := newEntra(t), openStore(t), newKey(t)
	u := user()
	ctx := context.Background()
	g := newGrants(t, e, st, k, false)
	if err := g.Delete(ctx, key(u)); err != nil {
		t.Fatalf("Delete of no grant: %v", err)
	}
	if err := g.Capture(ctx, key(u), e.assertion(t, u)); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := g.Delete(ctx, key(u)); err != nil {
			t.Fatalf("Delete %d: %v", i+1, err)
		}
	}
	if has, err := g.Has(ctx, key(u)); err != nil || has {
		t.Errorf("Has after Delete = %v, %v; want false", has, err)
	}
	if _, err := getToken(g, key(u)); !grant.Expired(err) {
		t.Errorf("GetToken after Delete: %v; want Expired", err)
	}
}

func TestEntraFailures(t *testing.T) {
	st, k := openStore(t), newKey(t)
	u := user()
	ctx := context.Background()

	t.Run("unreachable is transient", func(t *testing.T) {
		e := newEntra(t)
		a := e.assertion(t, u)
		g := newGrants(t, e, st, k, false)
		e.srv.Close()
		err := g.Capture(ctx, key(u), a)
		if apperr.KindOf(err) != apperr.Transient {
			t.Errorf("Capture with Entra down: %v (kind %s); want transient", err, apperr.KindOf(err))
		}
	})
	t.Run("wrong client secret is ours", func(t *testing.T) {
		e := newEntra(t)
		e.iss.ClientSecret = "another"
		err := newGrants(t, e, st, k, false).Capture(ctx, key(u), e.assertion(t, u))
		if err == nil || apperr.KindOf(err) != apperr.Internal || grant.Expired(err) {
			t.Errorf("Capture with a wrong secret: %v (kind %s); want internal", err, apperr.KindOf(err))
		}
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Error("the error shows the client secret")
		}
	})
	t.Run("assertion for another app needs consent", func(t *testing.T) {
		e := newEntra(t)
		c := e.iss.Claims(u, time.Now())
		c["aud"] = "11111111-2222-4333-8444-555555555555"
		a, err := e.iss.Sign(c)
		if err != nil {
			t.Fatal(err)
		}
		err = newGrants(t, e, st, k, false).Capture(ctx, key(u), a)
		var ae *apperr.Error
		if !apperrAs(err, &ae) || ae.Code != grant.CodeConsentRequired {
			t.Errorf("Capture: %v; want %s", err, grant.CodeConsentRequired)
		}
	})
}

func TestNewChecksConfig(t *testing.T) {
	_, err := grant.New(grant.Config{Authority: "http://127.0.0.1:1", Key: []byte("short")}, nil)
	if err == nil {
		t.Fatal("New accepted an empty config")
	}
	for _, want := range []string{"https authority", "client id", "client secret", "32-byte key"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func apperrAs(err error, target **apperr.Error) bool { return errors.As(err, target) }
