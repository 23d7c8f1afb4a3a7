package app

import (
	"archive/zip"
	"bytes"
	"io"
	"net/http"
	"sort"
	"strings"
	"testing"

	"mailmerge/handler/internal/dev/devauth"
	"mailmerge/handler/internal/dev/testenv"
)

// rawCall is an API call whose answer is read as bytes; a zip answer is
// read as the text of its files.
func (e *env) rawCall(t *testing.T, method, path, tok, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+tok)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.Header.Get("Content-Type") != "application/zip" {
		return resp.StatusCode, string(raw)
	}
	zr, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, f := range zr.File {
		all.WriteString(f.Name + "\n")
		rc, _ := f.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		all.Write(b)
	}
	return resp.StatusCode, all.String()
}

// TestAnotherAccountReachesNothing goes through every route of the route
// table as two other accounts (same tenant, other tenant), with Alice's
// campaign id, row and suppressed address where a route takes one: a
// route with a path value answers 404; no answer holds anything of
// Alice's (her export and inventory included); and after all of it, her
// own DELETE /v1/me from the others included, Alice's data is unchanged.
func TestAnotherAccountReachesNothing(t *testing.T) {
	e := newEnv(t)
	aliceTok, alice := e.installed(t, devauth.ContosoTenant)
	id := e.sendingWithRows(t, aliceTok, 3)
	if status, body := e.do(t, "PATCH", "/v1/campaigns/"+id, aliceTok, `{"name":"Alice's own"}`); status != 200 {
		t.Fatalf("rename: %d %v", status, body)
	}
	suppressed := testenv.Name("alice-keeps") + "@contoso.example"
	if status, body := e.do(t, "POST", "/v1/suppressions", aliceTok, `{"addresses":["`+suppressed+`"]}`); status != 200 {
		t.Fatalf("suppress: %d %v", status, body)
	}
	_, before := e.rawCall(t, "GET", "/v1/me/export", aliceTok, "")
	secrets := []string{id, alice.Email, suppressed, "r1@contoso.example", "Alice's own"}
	for _, s := range secrets {
		if !strings.Contains(before, s) {
			t.Fatalf("Alice's export lacks %q: the test could not tell", s)
		}
	}
	bobTok, _ := e.installed(t, devauth.ContosoTenant)
	carolTok, _ := e.installed(t, devauth.FabrikamTenant)
	bodies := map[string]string{
		"PATCH /v1/me":                              `{"displayName":"Mallory","notifyEmail":"mallory@contoso.example"}`,
		"POST /v1/campaigns":                        `{"name":"Mallory's"}`,
		"PATCH /v1/campaigns/{id}":                  `{"name":"mine now"}`,
		"POST /v1/campaigns/{id}/data/reuse":        `{"from":"` + id + `"}`,
		"POST /v1/campaigns/{id}/preview":           `{"subject":"Hi {{Email}}","html":"<p>{{Email}}</p>"}`,
		"PATCH /v1/campaigns/{id}/recipients/{row}": `{"cells":{"Email":"x@example.com"}}`,
		"POST /v1/suppressions":                     `{"addresses":["mallory@contoso.example"]}`,
	}
	routes := (&App{}).routes()
	// Their own DELETE /v1/me last: the other routes need their accounts.
	sort.SliceStable(routes, func(i, j int) bool {
		return routes[j].method == "DELETE" && routes[j].pattern == "/v1/me" && !(routes[i].method == "DELETE" && routes[i].pattern == "/v1/me")
	})
	tried := 0
	for _, rt := range routes {
		if rt.authed == nil {
			continue // public: the webhook's basic auth, the recipients' signed tokens
		}
		path := strings.NewReplacer("{id}", id, "{row}", "2", "{address}", suppressed).Replace(rt.pattern)
		if strings.Contains(path, "{") {
			t.Errorf("%s %s: a path value this test does not fill", rt.method, rt.pattern)
			continue
		}
		for who, tok := range map[string]string{"bob (same tenant)": bobTok, "carol (other tenant)": carolTok} {
			var status int
			var got string
			if rt.method == "PUT" {
				s, body := e.upload(t, tok, id, "list.csv", []byte("Email\nx@example.com\n"))
				status, got = s, testenv.ErrorCode(body)
			} else {
				status, got = e.rawCall(t, rt.method, path, tok, bodies[rt.method+" "+rt.pattern])
			}
			tried++
			if path != rt.pattern && status != http.StatusNotFound {
				t.Errorf("%s %s as %s: %d %s, want 404", rt.method, rt.pattern, who, status, got)
			}
			for _, s := range secrets {
				if strings.Contains(got, s) {
					t.Errorf("%s %s as %s answers with Alice's %q", rt.method, rt.pattern, who, s)
				}
			}
		}
	}
	_, after := e.rawCall(t, "GET", "/v1/me/export", aliceTok, "")
	for _, s := range secrets {
		if !strings.Contains(after, s) {
			t.Errorf("after the others' calls, Alice's export lacks %q", s)
		}
	}
	if status, c := e.do(t, "GET", "/v1/campaigns/"+id, aliceTok, ""); status != 200 || c["name"] != "Alice's own" || c["status"] != "sending" {
		t.Errorf("Alice's campaign after the others' calls: %d %v", status, c)
	}
	t.Logf("%d calls as another account", tried)
}
