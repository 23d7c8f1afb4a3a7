package devauth

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestCORS: the app's own pages may read the issuer's answers across
// origins; a page of any other origin gets no CORS header, so the browser
// keeps from it what it asks (a token from POST /dev/token, for one).
func TestCORS(t *testing.T) {
	const app, twin = "http://127.0.0.1:7071", "http://localhost:7071"
	iss, err := NewIssuer("https://127.0.0.1:7072", testClient)
	if err != nil {
		t.Fatal(err)
	}
	iss.AllowOrigin = func(o string) bool { return o == app || o == twin }
	srv := httptest.NewServer(iss.Handler())
	t.Cleanup(srv.Close)
	token := "/" + ContosoTenant + "/oauth2/v2.0/token"
	for _, c := range []struct {
		name, method, path, origin string
		allowed                    bool
	}{
		{"the app reads the keys", "GET", "/common/discovery/v2.0/keys", app, true},
		{"the app as localhost", "GET", "/" + ContosoTenant + "/v2.0/.well-known/openid-configuration", twin, true},
		{"the app's preflight", "OPTIONS", token, app, true},
		{"the app asks for a dev token", "POST", "/dev/token", app, true},
		{"another site reads the keys", "GET", "/common/discovery/v2.0/keys", "https://evil.example", false},
		{"another site asks for a dev token", "POST", "/dev/token", "https://evil.example", false},
		{"another site's preflight", "OPTIONS", token, "https://evil.example", false},
		{"another port of the app's host", "POST", "/dev/token", "http://127.0.0.1:8080", false},
		{"a sandboxed page", "POST", "/dev/token", "null", false},
		{"no browser", "POST", "/dev/token", "", false},
	} {
		req, _ := http.NewRequest(c.method, srv.URL+c.path, strings.NewReader(`{"user":"alice"}`))
		if c.origin != "" {
			req.Header.Set("Origin", c.origin)
		}
		if c.method == "OPTIONS" {
			req.Header.Set("Access-Control-Request-Method", "POST")
			req.Header.Set("Access-Control-Request-Headers", "content-type")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := resp.Header
		want := ""
		if c.allowed {
			want = c.origin
		}
		if got := h.Get("Access-Control-Allow-Origin"); got != want {
			t.Errorf("%s: Access-Control-Allow-Origin = %q, want %q", c.name, got, want)
		}
		if !c.allowed {
			for k := range h {
				if strings.HasPrefix(k, "Access-Control-") {
					t.Errorf("%s: %s = %q, want no CORS header", c.name, k, h.Get(k))
				}
			}
		}
		if c.allowed && c.method == "OPTIONS" && (h.Get("Access-Control-Allow-Methods") == "" || h.Get("Access-Control-Allow-Headers") != "content-type") {
			t.Errorf("%s: preflight answer %v", c.name, h)
		}
		if c.origin != "" && !strings.Contains(h.Get("Vary"), "Origin") {
			t.Errorf("%s: Vary = %q, want Origin (the answer depends on it)", c.name, h.Get("Vary"))
		}
	}
}
