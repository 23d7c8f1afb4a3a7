package web

import (
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestVendoredFiles: every vendored library file is the one recorded when
// it was fetched (make vendor-web), has its licence beside it, and no
// other file hides in the vendor folders.
func TestVendoredFiles(t *testing.T) {
	for _, dir := range []string{"static/vendor", "testdata/vendor"} {
		raw, err := os.ReadFile(filepath.Join(dir, "vendor.json"))
		if err != nil {
			t.Fatal(err)
		}
		var list []struct{ Package, Version, From, File, SHA256 string }
		if err := json.Unmarshal(raw, &list); err != nil {
			t.Fatalf("%s/vendor.json: %v", dir, err)
		}
		listed := map[string]bool{"vendor.json": true}
		licences := map[string]bool{}
		for _, f := range list {
			body, err := os.ReadFile(filepath.Join(dir, f.File))
			if err != nil {
				t.Errorf("%s@%s: %v", f.Package, f.Version, err)
				continue
			}
			sum := sha256.Sum256(body)
			if hex.EncodeToString(sum[:]) != f.SHA256 {
				t.Errorf("%s/%s is not %s@%s's %s as vendored (sha256 differs): run make vendor-web", dir, f.File, f.Package, f.Version, f.From)
			}
			if f.Version == "" || strings.ContainsAny(f.Version, "^~*") {
				t.Errorf("%s: version %q is not pinned", f.Package, f.Version)
			}
			listed[f.File] = true
			if strings.HasSuffix(f.File, ".LICENSE.txt") {
				licences[f.Package] = true
			}
		}
		for _, f := range list {
			if !licences[f.Package] {
				t.Errorf("%s: no licence vendored", f.Package)
			}
		}
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if !listed[e.Name()] {
				t.Errorf("%s/%s is not in vendor.json", dir, e.Name())
			}
		}
	}
}

func newSite(t *testing.T) *httptest.Server {
	t.Helper()
	s, err := New(Config{ClientID: "11111111-2222-4333-8444-555555555555", Authority: "https://login.example.test", BaseURL: "https://mailmerge.example.test"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Mount(http.NotFoundHandler()))
	t.Cleanup(srv.Close)
	return srv
}

// TestPagesAndFiles: the pages are never cached and carry the security
// headers (HSTS; Outlook may frame the add-in's pages and the sign-in
// bridge, nothing frames the dashboard); every file they name is served,
// gzipped, under a content hash and cached for a year; the only inline
// script is the import map, and the CSP allows exactly it.
func TestPagesAndFiles(t *testing.T) {
	srv := newSite(t)
	outlook := "frame-ancestors 'self' https://outlook.office.com https://outlook.office365.com https://outlook.live.com https://*.officeapps.live.com https://*.outlook.com"
	framedBy := map[string]string{"/": "frame-ancestors 'none'", "/app/redirect": outlook, "/addin/taskpane": outlook, "/addin/dialog": outlook}
	for _, page := range []string{"/", "/app/redirect", "/addin/taskpane", "/addin/dialog"} {
		resp, err := http.Get(srv.URL + page)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		h := resp.Header
		csp := h.Get("Content-Security-Policy")
		if resp.StatusCode != 200 || h.Get("Cache-Control") != "no-cache" || h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Referrer-Policy") == "" {
			t.Errorf("%s: %d %v", page, resp.StatusCode, h)
		}
		if got, want := h.Get("Strict-Transport-Security"), "max-age=31536000; includeSubDomains"; got != want {
			t.Errorf("%s: Strict-Transport-Security = %q, want %q", page, got, want)
		}
		for _, want := range []string{"default-src 'none'", "connect-src 'self' https://login.example.test"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", page, csp, want)
			}
		}
		if got := directive(csp, "frame-ancestors"); got != framedBy[page] {
			t.Errorf("%s: %q, want %q", page, got, framedBy[page])
		}
		if strings.Contains(csp, "script-src 'self' 'unsafe-inline'") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("%s: CSP allows inline script: %s", page, csp)
		}
		// Scripts from elsewhere: Office.js from Microsoft's folder in the
		// add-in's pages (as the store requires), nothing in the others.
		var scriptSrc string
		for _, d := range strings.Split(csp, ";") {
			if f := strings.Fields(d); len(f) > 0 && f[0] == "script-src" {
				scriptSrc = strings.Join(f[1:], " ")
			}
		}
		external := regexp.MustCompile(`https?://\S+`).FindAllString(scriptSrc, -1)
		addin := strings.HasPrefix(page, "/addin/")
		if addin && (len(external) != 1 || external[0] != "https://appsforoffice.microsoft.com/lib/1/hosted/") || !addin && len(external) != 0 {
			t.Errorf("%s: scripts allowed from %v", page, external)
		}
		if addin != strings.Contains(string(body), `<script src="`+OfficeJS+`"></script>`) {
			t.Errorf("%s: Office.js loaded: %v", page, !addin)
		}
		scripts := regexp.MustCompile(`(?s)<script([^>]*)>(.*?)</script>`).FindAllStringSubmatch(string(body), -1)
		for _, m := range scripts {
			if strings.TrimSpace(m[2]) == "" {
				continue
			}
			if !strings.Contains(m[1], `type="importmap"`) {
				t.Errorf("%s: an inline script: %s", page, m[0])
				continue
			}
			sum := sha256.Sum256([]byte(m[2]))
			if !strings.Contains(csp, "'sha256-"+b64(sum[:])+"'") {
				t.Errorf("%s: the import map's hash is not in the CSP", page)
			}
			var im struct{ Imports map[string]string }
			if err := json.Unmarshal([]byte(m[2]), &im); err != nil || im.Imports["app/main"] == "" || im.Imports["preact-htm"] == "" {
				t.Errorf("%s: import map %s: %v", page, m[2], err)
			}
			// The pane signs in through Outlook: its "app/auth" is the add-in's.
			if auth := im.Imports["app/auth"]; addin != strings.HasPrefix(auth, "/app/addin/auth.") {
				t.Errorf("%s: app/auth is %s", page, auth)
			}
			for _, u := range im.Imports {
				checkAsset(t, srv.URL+u)
			}
		}
		for _, m := range regexp.MustCompile(`(?:src|href)="(/app/[^"]+)"`).FindAllStringSubmatch(string(body), -1) {
			checkAsset(t, srv.URL+m[1])
		}
	}
	// Unknown files and paths answer 404; others go to the API. Files and
	// errors are framed by no one.
	for path, want := range map[string]int{"/app/main.js": 404, "/app/nope.0123456789ab.js": 404, "/addin/manifest.xml": 200} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: %d, want %d", path, resp.StatusCode, want)
		}
		if got := directive(resp.Header.Get("Content-Security-Policy"), "frame-ancestors"); got != "frame-ancestors 'none'" {
			t.Errorf("%s: %q, want frame-ancestors 'none'", path, got)
		}
	}
}

// directive is the named directive of a Content-Security-Policy, as it
// stands there.
func directive(csp, name string) string {
	for _, d := range strings.Split(csp, ";") {
		if f := strings.Fields(d); len(f) > 0 && f[0] == name {
			return strings.Join(f, " ")
		}
	}
	return ""
}

func checkAsset(t *testing.T, u string) {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") || resp.Header.Get("Content-Encoding") != "gzip" {
		t.Errorf("%s: %d %v", u, resp.StatusCode, resp.Header)
		return
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Errorf("%s: %v", u, err)
		return
	}
	body, _ := io.ReadAll(zr)
	sum := sha256.Sum256(body)
	if !strings.Contains(u, "."+hex.EncodeToString(sum[:6])+".") {
		t.Errorf("%s: the name does not carry the content's hash", u)
	}
}
