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
	"mime"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"
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
}

// asset is one embedded file under its hashed URL, with its gzip form.
type asset struct {
	body, gz []byte
	ctype    string
}

// Site serves the web app.
type Site struct {
	assets map[string]asset // hashed URL path → file
	urls   map[string]string
	index  []byte
	bridge []byte
	csp    string
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
		var gz bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
		_, _ = zw.Write(body)
		if err := zw.Close(); err != nil {
			return err
		}
		s.assets[hashed] = asset{body: body, gz: gz.Bytes(), ctype: ctype}
		s.urls[name] = hashed
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Modules import each other as "app/<name>" (and the libraries by
	// their names): the import map says where each is now.
	imports := map[string]string{}
	for name, u := range s.urls {
		if strings.HasSuffix(name, ".js") && !strings.HasPrefix(name, "vendor/") {
			imports["app/"+strings.TrimSuffix(name, ".js")] = u
		}
	}
	imports["preact-htm"] = s.urls["vendor/htm.standalone.module.js"]
	importMap, err := json.Marshal(map[string]any{"imports": sorted(imports)})
	if err != nil {
		return nil, err
	}
	settings, err := json.Marshal(map[string]string{"clientId": c.ClientID, "authority": strings.TrimRight(c.Authority, "/")})
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
	pages, err := template.New("").Funcs(funcs).ParseFS(static, "static/*.html")
	if err != nil {
		return nil, err
	}
	// json.Marshal escapes <, > and &: the map cannot end the script.
	data := map[string]any{"ImportMap": template.HTML(importMap), "Settings": string(settings)}
	var b bytes.Buffer
	if err := pages.ExecuteTemplate(&b, "index.html", data); err != nil {
		return nil, err
	}
	s.index = bytes.Clone(b.Bytes())
	b.Reset()
	if err := pages.ExecuteTemplate(&b, "redirect.html", data); err != nil {
		return nil, err
	}
	s.bridge = bytes.Clone(b.Bytes())
	// The import map is the one inline script: allowed by its hash, taken
	// from the page as rendered.
	_, after, _ := strings.Cut(string(s.index), `<script type="importmap">`)
	inline, _, ok := strings.Cut(after, "</script>")
	if !ok {
		return nil, fmt.Errorf("web: index.html has no import map")
	}
	sum := sha256.Sum256([]byte(inline))
	authority := c.Authority
	if u, err := url.Parse(c.Authority); err == nil && u.Host != "" {
		authority = u.Scheme + "://" + u.Host
	}
	s.csp = strings.Join([]string{
		"default-src 'none'",
		"script-src 'self' 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'",
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
		// The Outlook add-in shows these pages in its task pane.
		"frame-ancestors 'self' " + strings.Join(outlookOrigins, " "),
	}, "; ")
	return s, nil
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

// CSP is the Content-Security-Policy of every answer.
func (s *Site) CSP() string { return s.csp }

// Handler serves GET and HEAD of /, /app/redirect (where sign-in comes
// back) and the hashed files under /app/.
func (s *Site) Handler() http.Handler {
	mux := http.NewServeMux()
	page := func(body []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			s.headers(w, "text/html; charset=utf-8")
			w.Header().Set("Cache-Control", "no-cache")
			_, _ = w.Write(body)
		}
	}
	mux.HandleFunc("GET /{$}", page(s.index))
	mux.HandleFunc("GET /app/redirect", page(s.bridge))
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
			w.Header().Set("Content-Encoding", "gzip")
			w.Header().Set("Content-Length", strconv.Itoa(len(a.gz)))
			if r.Method != http.MethodHead {
				_, _ = w.Write(a.gz)
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
