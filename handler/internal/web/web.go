// Package web serves the web app: the dashboard at / and its files under
// /app/, embedded in the binary. Files are served under names that carry
// a hash of their content, cached for a year; the pages that name them
// (index.html, the sign-in redirect page) are never cached. ES modules
// import each other by bare names that an import map turns into the
// hashed URLs; the Content-Security-Policy allows that one inline script
// by its hash, and no other.
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

//go:embed static
var static embed.FS

// Config is what the browser needs to sign in.
type Config struct {
	// ClientID is the app registration's client id, the API's audience.
	ClientID string
	// Authority is Entra's base URL (ENTRA_AUTHORITY), without a tenant.
	Authority string
	// BaseURL is where people reach the app (PUBLIC_BASE_URL): the
	// add-in's manifest points there.
	BaseURL string
}

// asset is one embedded file under its hashed URL, with its gzip form,
// made when it is first asked for: compressing every file at start-up
// took most of the handler's cold start (about 50 ms and 30 MB for the
// vendored libraries), which every function's start pays, not only the
// web app's.
type asset struct {
	body  []byte
	gz    func() []byte
	ctype string
}

// gzipOnce returns body's gzip form, compressed at the first call.
func gzipOnce(body []byte) func() []byte {
	return sync.OnceValue(func() []byte {
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		_, _ = zw.Write(body)
		_ = zw.Close() // writes to memory cannot fail
		return gz.Bytes()
	})
}

// Site serves the web app.
type Site struct {
	assets map[string]asset // hashed URL path → file
	urls   map[string]string
	// The pages: the dashboard, the sign-in redirect bridge, the add-in's
	// task pane and its sign-in dialog.
	index, bridge, pane, dialog page
	// csp is the policy of everything else (files, errors).
	csp string
	// addinManifest is the Outlook add-in's manifest, for BaseURL.
	addinManifest []byte
}

// New reads the embedded files and renders the pages for c.
func New(c Config) (*Site, error) {
	s := &Site{assets: map[string]asset{}, urls: map[string]string{}}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".html") || path.Base(p) == "vendor.json" || strings.HasSuffix(p, ".txt") {
			return err
		}
		body, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		name := strings.TrimPrefix(p, "static/")
		sum := sha256.Sum256(body)
		ext := path.Ext(name)
		hashed := "/app/" + strings.TrimSuffix(name, ext) + "." + hex.EncodeToString(sum[:6]) + ext
		ctype := mime.TypeByExtension(ext)
		if ext == ".js" || ext == ".mjs" {
			ctype = "text/javascript; charset=utf-8"
		}
		s.assets[hashed] = asset{body: body, gz: gzipOnce(body), ctype: ctype}
		s.urls[name] = hashed
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Modules import each other as "app/<name>" (and the libraries by
	// their names): the import map says where each is now. The add-in's
	// task pane has its own, where "app/auth" is its sign-in (nested app
	// authentication inside Outlook).
	imports := map[string]string{}
	for name, u := range s.urls {
		if strings.HasSuffix(name, ".js") && !strings.HasPrefix(name, "vendor/") {
			imports["app/"+strings.TrimSuffix(name, ".js")] = u
		}
	}
	imports["preact-htm"] = s.urls["vendor/htm.standalone.module.js"]
	paneImports := maps.Clone(imports)
	paneImports["app/auth"] = s.urls["addin/auth.js"]
	importMap, err := json.Marshal(map[string]any{"imports": sorted(imports)})
	if err != nil {
		return nil, err
	}
	paneImportMap, err := json.Marshal(map[string]any{"imports": sorted(paneImports)})
	if err != nil {
		return nil, err
	}
	settings, err := json.Marshal(map[string]string{"clientId": c.ClientID, "authority": strings.TrimRight(c.Authority, "/"),
		"addinVersion": AddinVersion})
	if err != nil {
		return nil, err
	}
	funcs := template.FuncMap{"asset": func(name string) (string, error) {
		u, ok := s.urls[name]
		if !ok {
			return "", fmt.Errorf("web: no file %s", name)
		}
		return u, nil
	}}
	pages, err := template.New("").Funcs(funcs).ParseFS(static, "static/*.html", "static/addin/*.html")
	if err != nil {
		return nil, err
	}
	authority := origin(c.Authority)
	// Outlook frames the add-in's pages, and the sign-in bridge too: MSAL.js
	// renews a token silently in a hidden frame of the task pane that ends
	// there, and frame-ancestors names every ancestor, Outlook's page
	// included. Nothing frames the dashboard.
	inOutlook := "'self' " + strings.Join(outlookOrigins, " ")
	// json.Marshal escapes <, > and &: a map cannot end its script.
	render := func(name string, importMap []byte, ancestors string, scripts ...string) (page, error) {
		var b bytes.Buffer
		data := map[string]any{"ImportMap": template.HTML(importMap), "Settings": string(settings), "OfficeJS": OfficeJS}
		if err := pages.ExecuteTemplate(&b, name, data); err != nil {
			return page{}, err
		}
		// The import map is the one inline script: allowed by its hash,
		// taken from the page as rendered.
		if _, after, ok := strings.Cut(b.String(), `<script type="importmap">`); ok {
			inline, _, ok := strings.Cut(after, "</script>")
			if !ok {
				return page{}, fmt.Errorf("web: %s: the import map does not end", name)
			}
			sum := sha256.Sum256([]byte(inline))
			scripts = append(scripts, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
		}
		return page{body: bytes.Clone(b.Bytes()), csp: policy(authority, ancestors, scripts)}, nil
	}
	if s.index, err = render("index.html", importMap, "'none'"); err != nil {
		return nil, err
	}
	if s.bridge, err = render("redirect.html", nil, inOutlook); err != nil {
		return nil, err
	}
	// The task pane and its sign-in dialog load Office.js from Microsoft,
	// as the store requires; Office.js loads its other files from the same
	// folder.
	if s.pane, err = render("taskpane.html", paneImportMap, inOutlook, officeJSFolder); err != nil {
		return nil, err
	}
	if s.dialog, err = render("dialog.html", paneImportMap, inOutlook, officeJSFolder); err != nil {
		return nil, err
	}
	s.csp = policy(authority, "'none'", nil)
	if c.BaseURL != "" {
		if s.addinManifest, err = s.manifest(c); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// origin is a URL's scheme and host (Entra's authority is configured with
// or without a path); a value that is no URL is kept as it is.
func origin(raw string) string {
	if u, err := url.Parse(raw); err == nil && u.Host != "" {
		return u.Scheme + "://" + u.Host
	}
	return raw
}

// OfficeJS is Microsoft's hosted Office.js, which add-ins must load, and
// officeJSFolder the CSP source that allows it and the files it loads.
const (
	OfficeJS       = "https://appsforoffice.microsoft.com/lib/1/hosted/office.js"
	officeJSFolder = "https://appsforoffice.microsoft.com/lib/1/hosted/"
)

// page is a rendered page and its Content-Security-Policy.
type page struct {
	body []byte
	csp  string
}

// policy is the Content-Security-Policy of the pages: scripts from the
// app itself and the named sources only, framed by ancestors only.
func policy(authority, ancestors string, scripts []string) string {
	return strings.Join([]string{
		"default-src 'none'",
		strings.Join(append([]string{"script-src 'self'"}, scripts...), " "),
		// Email previews carry inline styles and remote images; they show
		// in a sandboxed frame that runs no script.
		"style-src 'self' 'unsafe-inline'",
		"img-src 'self' data: https:",
		"font-src 'self'",
		"connect-src 'self' " + authority,
		"frame-src 'self' " + authority,
		"form-action 'self' " + authority,
		"base-uri 'none'",
		"object-src 'none'",
		"frame-ancestors " + ancestors,
	}, "; ")
}

// outlookOrigins are the Outlook clients that frame the task pane.
var outlookOrigins = []string{"https://outlook.office.com", "https://outlook.office365.com", "https://outlook.live.com", "https://*.officeapps.live.com", "https://*.outlook.com"}

func sorted(m map[string]string) map[string]string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(map[string]string, len(m))
	for _, k := range keys {
		out[k] = m[k]
	}
	return out
}

// URL is the hashed URL of an embedded file (name relative to static/).
func (s *Site) URL(name string) string { return s.urls[name] }

// Manifest is the Outlook add-in's manifest (nil without a base URL).
func (s *Site) Manifest() []byte { return s.addinManifest }

// Handler serves GET and HEAD of /, /app/redirect (where sign-in comes
// back) and the hashed files under /app/.
func (s *Site) Handler() http.Handler {
	mux := http.NewServeMux()
	serve := func(p page) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			s.headers(w, "text/html; charset=utf-8")
			w.Header().Set("Content-Security-Policy", p.csp)
			w.Header().Set("Cache-Control", "no-cache")
			// Browsers heed it over https only (Azure), so local http is unaffected.
			w.Header().Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
			_, _ = w.Write(p.body)
		}
	}
	mux.HandleFunc("GET /{$}", serve(s.index))
	mux.HandleFunc("GET /app/redirect", serve(s.bridge))
	mux.HandleFunc("GET /addin/taskpane", serve(s.pane))
	mux.HandleFunc("GET /addin/dialog", serve(s.dialog))
	mux.HandleFunc("GET /addin/manifest.xml", func(w http.ResponseWriter, r *http.Request) {
		if s.addinManifest == nil {
			s.headers(w, "text/plain; charset=utf-8")
			http.Error(w, "no manifest: the app has no public base URL (PUBLIC_BASE_URL)", http.StatusNotFound)
			return
		}
		s.headers(w, "application/xml; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Content-Disposition", `inline; filename="manifest.xml"`)
		_, _ = w.Write(s.addinManifest)
	})
	mux.HandleFunc("GET /app/", func(w http.ResponseWriter, r *http.Request) {
		a, ok := s.assets[r.URL.Path]
		if !ok {
			s.headers(w, "text/plain; charset=utf-8")
			w.Header().Set("Cache-Control", "no-cache")
			http.Error(w, "not found (the app may have been updated: reload the page)", http.StatusNotFound)
			return
		}
		s.headers(w, a.ctype)
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		w.Header().Set("Vary", "Accept-Encoding")
		if acceptsGzip(r) {
			gz := a.gz()
			w.Header().Set("Content-Encoding", "gzip")
			w.Header().Set("Content-Length", strconv.Itoa(len(gz)))
			if r.Method != http.MethodHead {
				_, _ = w.Write(gz)
			}
			return
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
	})
	return mux
}

// acceptsGzip reports whether the request takes a gzip answer.
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}

// Mount serves the web app's paths (/ and /app/) and hands every other
// request to next (the API).
func (s *Site) Mount(next http.Handler) http.Handler {
	mux := http.NewServeMux()
	site := s.Handler()
	mux.Handle("GET /{$}", site)
	mux.Handle("GET /app/", site)
	mux.Handle("GET /addin/", site)
	mux.Handle("/", next)
	return mux
}

func (s *Site) headers(w http.ResponseWriter, ctype string) {
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Security-Policy", s.csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
