package devauth

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	testClient = "6d1f2c8e-0b4a-4f3e-9c71-5a2e8b0d4f10"
	testSecret = "s3cret"
)

func newTestIssuer(t *testing.T) (*Issuer, *httptest.Server) {
	t.Helper()
	var h http.Handler
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	iss, err := NewIssuer(srv.URL, testClient)
	if err != nil {
		t.Fatal(err)
	}
	iss.ClientSecret = testSecret
	h = iss.Handler()
	return iss, srv
}

func post(t *testing.T, srv *httptest.Server, tenant string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := srv.Client().PostForm(srv.URL+"/"+tenant+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("answer is not JSON: %v", err)
	}
	return resp.StatusCode, body
}

func oboForm(assertion string) url.Values {
	return url.Values{
		"grant_type":          {grantJWTBearer},
		"requested_token_use": {"on_behalf_of"},
		"client_id":           {testClient},
		"client_secret":       {testSecret},
		"assertion":           {assertion},
		"scope":               {"https://graph.microsoft.com/Mail.Send offline_access openid profile"},
	}
}

func TestTokenEndpointErrors(t *testing.T) {
	iss, srv := newTestIssuer(t)
	alice, _ := FindUser("alice")
	good, _ := iss.Mint(alice)
	expired := iss.Claims(alice, time.Now().Add(-2*time.Hour))
	old, _ := iss.Sign(expired)
	otherAud := iss.Claims(alice, time.Now())
	otherAud["aud"] = "00000000-0000-4000-8000-000000000000"
	foreign, _ := iss.Sign(otherAud)
	for _, tc := range []struct {
		name   string
		tenant string
		form   url.Values
		status int
		code   string
		aadsts float64
	}{
		{"wrong secret", ContosoTenant, with(oboForm(good), "client_secret", "nope"), 401, "invalid_client", 7000215},
		{"no secret", ContosoTenant, with(oboForm(good), "client_secret", ""), 401, "invalid_client", 7000218},
		{"unknown client", ContosoTenant, with(oboForm(good), "client_id", "11111111-0000-4000-8000-000000000000"), 400, "unauthorized_client", 700016},
		{"unsupported grant", ContosoTenant, with(oboForm(good), "grant_type", "password"), 400, "unsupported_grant_type", 70003},
		{"expired assertion", ContosoTenant, oboForm(old), 400, "invalid_grant", 500133},
		{"assertion for another app", ContosoTenant, oboForm(foreign), 400, "invalid_grant", 50013},
		{"tenant not the assertion's", FabrikamTenant, oboForm(good), 400, "invalid_grant", 50013},
		{"scope not Graph's", ContosoTenant, with(oboForm(good), "scope", "https://outlook.office.com/Mail.Send"), 400, "invalid_scope", 70011},
		{"unknown refresh token", ContosoTenant, url.Values{"grant_type": {"refresh_token"}, "client_id": {testClient}, "client_secret": {testSecret}, "refresh_token": {"x"}, "scope": {"https://graph.microsoft.com/Mail.Send"}}, 400, "invalid_grant", 9002313},
		{"client credentials without .default", ContosoTenant, url.Values{"grant_type": {"client_credentials"}, "client_id": {testClient}, "client_secret": {testSecret}, "scope": {"https://graph.microsoft.com/Mail.Send"}}, 400, "invalid_scope", 1002012},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := post(t, srv, tc.tenant, tc.form)
			if status != tc.status || body["error"] != tc.code {
				t.Fatalf("got %d %v, want %d %s", status, body["error"], tc.status, tc.code)
			}
			codes, _ := body["error_codes"].([]any)
			if len(codes) != 1 || codes[0] != tc.aadsts {
				t.Errorf("error_codes = %v, want [%v]", body["error_codes"], tc.aadsts)
			}
			desc, _ := body["error_description"].(string)
			if !strings.HasPrefix(desc, "AADSTS") || body["trace_id"] == "" || body["correlation_id"] == "" || body["timestamp"] == "" {
				t.Errorf("not Entra's error shape: %v", body)
			}
		})
	}
}

func TestOnBehalfOfRefreshAndRevoke(t *testing.T) {
	iss, srv := newTestIssuer(t)
	alice, _ := FindUser("alice")
	a, _ := iss.Mint(alice)
	status, body := post(t, srv, ContosoTenant, oboForm(a))
	if status != 200 {
		t.Fatalf("OBO: %d %v", status, body)
	}
	c := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(body["access_token"].(string), c); err != nil {
		t.Fatal(err)
	}
	if c["aud"] != GraphResource || c["scp"] != "Mail.Send" || c["upn"] != alice.Email || c["oid"] != alice.ObjectID || c["tid"] != alice.TenantID {
		t.Errorf("Graph token claims %v", c)
	}
	rt, _ := body["refresh_token"].(string)
	if rt == "" || body["id_token"] == nil || body["token_type"] != "Bearer" {
		t.Fatalf("OBO answer %v", body)
	}
	if _, b := post(t, srv, ContosoTenant, with(oboForm(a), "scope", "https://graph.microsoft.com/Mail.Send")); b["refresh_token"] != nil {
		t.Error("a refresh token without offline_access")
	}
	refresh := url.Values{"grant_type": {"refresh_token"}, "client_id": {testClient}, "client_secret": {testSecret}, "refresh_token": {rt}, "scope": {"https://graph.microsoft.com/Mail.Send offline_access"}}
	if status, body := post(t, srv, ContosoTenant, refresh); status != 200 || body["refresh_token"] == nil {
		t.Fatalf("refresh: %d %v", status, body)
	}

	resp, err := srv.Client().Post(srv.URL+"/dev/revoke", "application/json", strings.NewReader(`{"user":"alice"}`))
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("revoke: %v %v", resp, err)
	}
	for name, form := range map[string]url.Values{"refresh": refresh, "OBO with an old assertion": oboForm(a)} {
		status, body := post(t, srv, ContosoTenant, form)
		codes, _ := body["error_codes"].([]any)
		if status != 400 || body["error"] != "invalid_grant" || len(codes) != 1 || codes[0] != float64(50173) {
			t.Errorf("%s after revoke: %d %v", name, status, body)
		}
	}
	// A refresh token that a redemption under way at the revocation issued
	// belongs to the revoked session too.
	iss.mu.Lock()
	iss.refresh["in-flight"] = &refreshGrant{tenantID: alice.TenantID, objectID: alice.ObjectID, upn: alice.Email, session: time.Now().Add(-time.Minute)}
	iss.mu.Unlock()
	if status, body := post(t, srv, ContosoTenant, with(refresh, "refresh_token", "in-flight")); status != 400 || body["error"] != "invalid_grant" {
		t.Errorf("refresh token of a revoked session: %d %v", status, body)
	}
	// A new sign-in is a new session: its refresh tokens work.
	fresh, _ := iss.Mint(alice)
	status, body = post(t, srv, ContosoTenant, oboForm(fresh))
	if status != 200 {
		t.Fatalf("OBO with a new assertion after revoke: %d %v", status, body)
	}
	if status, body := post(t, srv, ContosoTenant, with(refresh, "refresh_token", body["refresh_token"].(string))); status != 200 {
		t.Errorf("refresh in a session begun after the revocation: %d %v", status, body)
	}
}

func with(f url.Values, k, v string) url.Values {
	c := url.Values{}
	for key, vals := range f {
		c[key] = vals
	}
	c.Set(k, v)
	return c
}
