package identity_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/dev/devauth"
	"mailmerge/handler/internal/identity"
)

const clientID = "6d1f2c8e-0b4a-4f3e-9c71-5a2e8b0d4f10"

// entra serves the JWKS of whichever issuer is current, so tests can rotate keys.
type entra struct {
	mu      sync.Mutex
	current *devauth.Issuer
	fetches int
}

func (e *entra) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	iss := e.current
	e.fetches++
	e.mu.Unlock()
	iss.Handler().ServeHTTP(w, r)
}

func setup(t *testing.T) (*devauth.Issuer, *identity.Verifier, *entra) {
	t.Helper()
	e := &entra{}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	iss, err := devauth.NewIssuer(srv.URL, clientID)
	if err != nil {
		t.Fatal(err)
	}
	e.current = iss
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	v := identity.NewVerifier(ctx, srv.URL, clientID, srv.Client(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	return iss, v, e
}

func alice() devauth.User { u, _ := devauth.FindUser("alice"); return u }

func TestTokenMatrix(t *testing.T) {
	iss, v, _ := setup(t)
	now := time.Now()
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	signWith := func(c jwt.MapClaims, key *rsa.PrivateKey, kid string) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
		tok.Header["kid"] = kid
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	modified := func(edit func(jwt.MapClaims)) string {
		c := iss.Claims(alice(), now)
		edit(c)
		s, err := iss.Sign(c)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	pubDER, _ := x509.MarshalPKIXPublicKey(&iss.Key().PublicKey)
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, iss.Claims(alice(), now))
	hs.Header["kid"] = iss.KeyID()
	hsToken, _ := hs.SignedString(pubDER)
	none := jwt.NewWithClaims(jwt.SigningMethodNone, iss.Claims(alice(), now))
	none.Header["kid"] = iss.KeyID()
	noneToken, _ := none.SignedString(jwt.UnsafeAllowNoneSignatureType)

	tests := []struct {
		name  string
		token string
		code  string
	}{
		{"expired", modified(func(c jwt.MapClaims) {
			c["exp"] = now.Add(-time.Hour).Unix()
			c["nbf"] = now.Add(-2 * time.Hour).Unix()
			c["iat"] = now.Add(-2 * time.Hour).Unix()
		}), "token_expired"},
		{"not yet valid", modified(func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Hour).Unix() }), "token_not_yet_valid"},
		{"no exp", modified(func(c jwt.MapClaims) { delete(c, "exp") }), "token_expiry_missing"},
		{"no nbf", modified(func(c jwt.MapClaims) { delete(c, "nbf") }), "token_not_before_missing"},
		{"wrong audience", modified(func(c jwt.MapClaims) { c["aud"] = "00000003-0000-0000-c000-000000000000" }), "token_audience"},
		{"issuer of another tenant", modified(func(c jwt.MapClaims) { c["iss"] = iss.Authority + "/" + devauth.FabrikamTenant + "/v2.0" }), "token_issuer"},
		{"v1 issuer", modified(func(c jwt.MapClaims) { c["iss"] = "https://sts.windows.net/" + devauth.ContosoTenant + "/" }), "token_issuer"},
		{"tenant not a guid", modified(func(c jwt.MapClaims) { c["tid"] = "contoso" }), "token_tenant"},
		{"no oid", modified(func(c jwt.MapClaims) { delete(c, "oid") }), "token_subject"},
		{"no scope", modified(func(c jwt.MapClaims) { delete(c, "scp") }), "token_scope"},
		{"other scope", modified(func(c jwt.MapClaims) { c["scp"] = "User.Read Mail.Send" }), "token_scope"},
		{"alg none", noneToken, "token_algorithm"},
		{"HS256 keyed with the public key", hsToken, "token_algorithm"},
		{"unknown kid", signWith(iss.Claims(alice(), now), other, "not-published"), "token_key_unknown"},
		{"no kid", func() string {
			tok := jwt.NewWithClaims(jwt.SigningMethodRS256, iss.Claims(alice(), now))
			s, _ := tok.SignedString(iss.Key())
			return s
		}(), "token_key_unknown"},
		{"forged signature", signWith(iss.Claims(alice(), now), other, iss.KeyID()), "token_signature"},
		{"garbage", "not.a.jwt", "token_malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(context.Background(), tt.token)
			var e *apperr.Error
			if !apperr.Is(err, apperr.Unauthorized) || !asError(err, &e) || e.Code != tt.code {
				t.Errorf("got %v, want unauthorized %s", err, tt.code)
			}
		})
	}
}

func asError(err error, target **apperr.Error) bool {
	e, ok := err.(*apperr.Error)
	if ok {
		*target = e
	}
	return ok
}

func TestValidTokenGivesTheAccountKey(t *testing.T) {
	iss, v, _ := setup(t)
	for _, u := range devauth.Users {
		tok, err := iss.Mint(u)
		if err != nil {
			t.Fatal(err)
		}
		p, err := v.Verify(context.Background(), tok)
		if err != nil {
			t.Fatalf("%s: %v", u.Login, err)
		}
		if p.TenantID != u.TenantID || p.ObjectID != u.ObjectID || p.Email != u.Email || p.Name != u.Name {
			t.Errorf("%s: got %+v", u.Login, p)
		}
	}
}

func TestAuthorizationHeader(t *testing.T) {
	iss, v, _ := setup(t)
	tok, _ := iss.Mint(alice())
	bobUser, _ := devauth.FindUser("bob")
	bob, _ := iss.Mint(bobUser)
	tests := []struct {
		headers []string
		code    string
	}{
		{nil, "token_missing"},
		{[]string{"Basic YWxpY2U6c2VjcmV0"}, "token_malformed"},
		{[]string{"Bearer "}, "token_malformed"},
		{[]string{"Bearer " + tok}, ""},
		{[]string{"bearer " + tok}, ""},
		// Two headers, or two credentials folded into one: which counts is ambiguous.
		{[]string{"Bearer " + tok, "Bearer " + bob}, "authorization_ambiguous"},
		{[]string{"Bearer " + tok, "Bearer " + tok}, "authorization_ambiguous"},
		{[]string{"Bearer " + tok + ", Bearer " + bob}, "authorization_ambiguous"},
		{[]string{"Bearer " + tok, ""}, "authorization_ambiguous"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", "/v1/me", nil)
		for _, h := range tt.headers {
			r.Header.Add("Authorization", h)
		}
		_, err := v.FromRequest(r)
		var e *apperr.Error
		switch {
		case tt.code == "" && err != nil:
			t.Errorf("%q: %v", tt.headers, err)
		case tt.code != "" && (!asError(err, &e) || e.Code != tt.code):
			t.Errorf("%q: got %v, want %s", tt.headers, err, tt.code)
		}
	}
}

// TestKeyRotation: a token signed with a key published after the first fetch
// is accepted because an unknown kid refreshes the key set.
func TestKeyRotation(t *testing.T) {
	iss, v, e := setup(t)
	tok, _ := iss.Mint(alice())
	if _, err := v.Verify(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	rotated, err := devauth.NewIssuer(iss.Authority, clientID)
	if err != nil {
		t.Fatal(err)
	}
	e.mu.Lock()
	e.current = rotated
	before := e.fetches
	e.mu.Unlock()
	tok2, _ := rotated.Mint(alice())
	if _, err := v.Verify(context.Background(), tok2); err != nil {
		t.Fatalf("token with the rotated key: %v", err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fetches == before {
		t.Error("the key set was not fetched again for the unknown kid")
	}
}
