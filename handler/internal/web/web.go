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
	"io"
	"io/fs"
	"maps"
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

// asset is one embedded file under its hashed URL. Its bytes, and their
// gzip form, are made when it is first asked for: reading and compressing
// every file at start-up took most of the handler's cold start, which
// every instance pays, queue workers included, not only the web app's.
type asset struct {
	body  func() []byte
	gz    func() []byte
	ctype string
}

// newAsset is the embedded file p, read at the first call.
func newAsset(p, ctype string) asset {
	body := sync.OnceValue(func() []byte {
		// It was read to hash it: it is there.
		b, _ := static.ReadFile(p)
		return b
	})
	return asset{body: body, gz: sync.OnceValue(func() []byte { return gzipped(body()) }), ctype: ctype}
}

// gzipped is body's gzip form.
func gzipped(body []byte) []byte {
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	_, _ = zw.Write(body)
	_ = zw.Close() // writes to memory cannot fail
	return gz.Bytes()
}

// Site serves the web app. Nothing is hashed or rendered until something
// asks for it (a page, a file, the manifest): an instance that only runs
// queue and timer functions never pays for the web app.
type Site struct {
	// csp is the policy of everything but the pages (files, errors).
	csp   string
	built func() (*built, error)
}

// built is the web app as served.
type built struct {
	assets map[string]asset // hashed URL path → file
	urls   map[string]string
	// The pages: the dashboard, the sign-in redirect bridge, the add-in's
	// task pane and its sign-in dialog.
	index, bridge, pane, dialog page
	// addinManifest is the Outlook add-in's manifest, for BaseURL.
	addinManifest []byte
}

// New checks c and returns the site, which reads the embedded files and
// renders the pages for c when it is first asked for one.
func New(c Config) (*Site, error) {
	if c.BaseURL != "" {
		if _, _, err := manifestBase(c.BaseURL); err != nil {
			return nil, err
		}
	}
	return &Site{csp: policy(origin(c.Authority), "'none'", nil), built: sync.OnceValues(func() (*built, error) { return build(c) })}, nil
}

// build hashes the embedded files and renders the pages for c.
func build(c Config) (*built, error) {
	s := &built{assets: map[string]asset{}, urls: map[string]string{}}
	vendored, err := vendoredSums()
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 8<<10)
	err = fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".html") || path.Base(p) == "vendor.json" || strings.HasSuffix(p, ".txt") {
			return err
		}
		name := strings.TrimPrefix(p, "static/")
		sum, ok := vendored[name]
		if !ok {
			// Hashed as it is read, not copied: the bytes are read again
			// when the file is first asked for.
			f, err := static.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			h := sha256.New()
			if _, err := io.CopyBuffer(h, f, buf); err != nil {
				return err
			}
			sum = hex.EncodeToString(h.Sum(nil))
		}
		ext := path.Ext(name)
		hashed := "/app/" + strings.TrimSuffix(name, ext) + "." + sum[:12] + ext
		ctype, ok := contentType(ext)
		if !ok {
			return fmt.Errorf("web: %s: no content type for %s files: add it to contentType", p, ext)
		}
		s.assets[hashed] = newAsset(p, ctype)
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
	authority := origin(c.Authority)
	// Outlook frames the add-in's pages, and the sign-in bridge too: MSAL.js
	// renews a token silently in a hidden frame of the task pane that ends
	// there, and frame-ancestors names every ancestor, Outlook's page
	// included. Nothing frames the dashboard.
	inOutlook := "'self' " + strings.Join(outlookOrigins, " ")
	// json.Marshal escapes <, > and &: a map cannot end its script.
	render := func(file string, importMap []byte, ancestors string, scripts ...string) (page, error) {
		raw, err := static.ReadFile(file)
		if err != nil {
			return page{}, err
		}
		body, err := fill(file, string(raw), func(action string) (string, error) {
			switch action {
			case ".ImportMap":
				return string(importMap), nil
			case ".Settings":
				return EscapeHTML(string(settings)), nil
			case ".OfficeJS":
				return EscapeHTML(OfficeJS), nil
			}
			if arg, ok := strings.CutPrefix(action, "asset "); ok {
				name, err := strconv.Unquote(strings.TrimSpace(arg))
				if err != nil {
					return "", fmt.Errorf("{{%s}}: the file's name is not quoted", action)
				}
				u, ok := s.urls[name]
				if !ok {
					return "", fmt.Errorf("no file %s", name)
				}
				return EscapeHTML(u), nil
			}
			return "", fmt.Errorf("{{%s}} is none of .ImportMap, .Settings, .OfficeJS or asset \"<file>\"", action)
		})
		if err != nil {
			return page{}, err
		}
		// The import map is the one inline script: allowed by its hash,
		// taken from the page as rendered.
		if _, after, ok := strings.Cut(body, `<script type="importmap">`); ok {
			inline, _, ok := strings.Cut(after, "</script>")
			if !ok {
				return page{}, fmt.Errorf("web: %s: the import map does not end", file)
			}
			sum := sha256.Sum256([]byte(inline))
			scripts = append(scripts, "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
		}
		return page{body: []byte(body), csp: policy(authority, ancestors, scripts)}, nil
	}
	if s.index, err = render("static/index.html", importMap, "'none'"); err != nil {
		return nil, err
	}
	if s.bridge, err = render("static/redirect.html", nil, inOutlook); err != nil {
		return nil, err
	}
	// The task pane and its sign-in dialog load Office.js from Microsoft,
	// as the store requires; Office.js loads its other files from the same
	// folder.
	if s.pane, err = render("static/addin/taskpane.html", paneImportMap, inOutlook, officeJSFolder); err != nil {
		return nil, err
	}
	if s.dialog, err = render("static/addin/dialog.html", paneImportMap, inOutlook, officeJSFolder); err != nil {
		return nil, err
	}
	if c.BaseURL != "" {
		if s.addinManifest, err = s.manifest(c); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// vendoredSums are the SHA-256 sums of the vendored libraries (name under
// static/ → hex) as recorded when they were fetched, which TestVendoredFiles
// checks: three quarters of the app's bytes, not read until asked for.
func vendoredSums() (map[string]string, error) {
	raw, err := static.ReadFile("static/vendor/vendor.json")
	if err != nil {
		return nil, err
	}
	var list []struct{ File, SHA256 string }
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("web: vendor/vendor.json: %w", err)
	}
	sums := make(map[string]string, len(list))
	for _, f := range list {
		if _, err := hex.DecodeString(f.SHA256); err != nil || len(f.SHA256) != 2*sha256.Size {
			return nil, fmt.Errorf("web: vendor/vendor.json: %s: %q is no SHA-256 sum", f.File, f.SHA256)
		}
		sums["vendor/"+f.File] = f.SHA256
	}
	return sums, nil
}

// contentType is the type of the files the app serves with extension
// ext, as package mime has it built in: mime.TypeByExtension would read
// the system's list of types first, a thousand lines, on the first request.
func contentType(ext string) (string, bool) {
	switch ext {
	case ".css":
		return "text/css; charset=utf-8", true
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8", true
	case ".json":
		return "application/json", true
	case ".png":
		return "image/png", true
	case ".svg":
		return "image/svg+xml", true
	case ".ico":
		return "image/vnd.microsoft.icon", true
	case ".webp":
		return "image/webp", true
	case ".woff2":
		return "font/woff2", true
	}
	return "", false
}

// fill is text with each {{action}} replaced by value(action), the action
// trimmed (`.Settings`, `asset "app.css"`). The pages and the add-in's
// manifest name a few values, no more: html/template and text/template
// would do it too, but their executor calls methods by name through
// reflect, and a binary that links it keeps every method of every type it
// has: with the Graph SDK's models, the handler was 178 MB instead of 27,
// and idle at 39 MB of memory instead of 15.
func fill(name, text string, value func(action string) (string, error)) (string, error) {
	var b strings.Builder
	for {
		before, rest, ok := strings.Cut(text, "{{")
		b.WriteString(before)
		if !ok {
			return b.String(), nil
		}
		action, after, ok := strings.Cut(rest, "}}")
		if !ok {
			return "", fmt.Errorf("web: %s: a {{ without }}", name)
		}
		v, err := value(strings.TrimSpace(action))
		if err != nil {
			return "", fmt.Errorf("web: %s: %w", name, err)
		}
		b.WriteString(v)
		text = after
	}
}

// EscapeHTML is s escaped for HTML text or a quoted attribute, as
// html/template escapes it.
func EscapeHTML(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case 0:
			b.WriteRune('\uFFFD')
		case '"':
			b.WriteString("&#34;")
		case '&':
			b.WriteString("&amp;")
		case '\'':
			b.WriteString("&#39;")
		case '+':
			b.WriteString("&#43;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
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

// URL is the hashed URL of an embedded file (name relative to static/),
// "" when there is none.
func (s *Site) URL(name string) string {
	b, err := s.built()
	if err != nil {
		return ""
	}
	return b.urls[name]
}

// Manifest is the Outlook add-in's manifest (nil without a base URL).
func (s *Site) Manifest() ([]byte, error) {
	b, err := s.built()
	if err != nil {
		return nil, err
	}
	return b.addinManifest, nil
}

// Handler serves GET and HEAD of /, /app/redirect (where sign-in comes
// back) and the hashed files under /app/.
func (s *Site) Handler() http.Handler {
	mux := http.NewServeMux()
	// with hands the request to serve with the site as built.
	with := func(serve func(b *built, w http.ResponseWriter, r *http.Request)) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			b, err := s.built()
			if err != nil {
				// Only a defect of this build's files can get here; the
				// web package's tests build the site, and New's callers
				// can see why with Manifest.
				s.headers(w, "text/plain; charset=utf-8")
				http.Error(w, "The web app is not available in this version of the service.", http.StatusInternalServerError)
				return
			}
			serve(b, w, r)
		}
	}
	serve := func(pick func(b *built) page) http.HandlerFunc {
		return with(func(b *built, w http.ResponseWriter, r *http.Request) {
			p := pick(b)
			s.headers(w, "text/html; charset=utf-8")
			w.Header().Set("Content-Security-Policy", p.csp)
			w.Header().Set("Cache-Control", "no-cache")
			// Browsers heed it over https only (Azure), so local http is unaffected.
			w.Header().Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
			_, _ = w.Write(p.body)
		})
	}
	mux.HandleFunc("GET /{$}", serve(func(b *built) page { return b.index }))
	mux.HandleFunc("GET /app/redirect", serve(func(b *built) page { return b.bridge }))
	mux.HandleFunc("GET /addin/taskpane", serve(func(b *built) page { return b.pane }))
	mux.HandleFunc("GET /addin/dialog", serve(func(b *built) page { return b.dialog }))
	mux.HandleFunc("GET /addin/manifest.xml", with(func(b *built, w http.ResponseWriter, r *http.Request) {
		if b.addinManifest == nil {
			s.headers(w, "text/plain; charset=utf-8")
			http.Error(w, "no manifest: the app has no public base URL (PUBLIC_BASE_URL)", http.StatusNotFound)
			return
		}
		s.headers(w, "application/xml; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		w.Header().Set("Content-Disposition", `inline; filename="manifest.xml"`)
		_, _ = w.Write(b.addinManifest)
	}))
	mux.HandleFunc("GET /app/", with(func(b *built, w http.ResponseWriter, r *http.Request) {
		a, ok := b.assets[r.URL.Path]
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
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body()))
	}))
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
