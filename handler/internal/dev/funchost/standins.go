package funchost

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"mailmerge/handler/internal/dev/devauth"
	"mailmerge/handler/internal/dev/graphsandbox"
	"mailmerge/handler/internal/dev/postmarksandbox"
)

// GraphLimits tune the Graph sandbox; zero values are Exchange Online's.
type GraphLimits struct {
	PerMinute, Concurrent, PerDay int
}

// standIn is a local stand-in for an external service, served where the
// app's settings point.
type standIn struct {
	name string
	srv  *http.Server
	ln   net.Listener
	url  string
}

// standIns starts the Graph sandbox when GRAPH_BASE_URL, and the Postmark
// sandbox when POSTMARK_API_URL, point at a loopback http address, unless
// Options.External names them. The handler then reaches them exactly as it
// reaches Graph and Postmark.
func (h *Host) standIns() ([]standIn, error) {
	var out []standIn
	if u, ok := loopbackHTTP(h.setting("GRAPH_BASE_URL")); ok && h.runs("graph") {
		sb, err := graphsandbox.New(graphsandbox.Options{
			Dir:       filepath.Join(h.MailDir(), "graph"),
			PerMinute: h.opts.Graph.PerMinute, Concurrent: h.opts.Graph.Concurrent, PerDay: h.opts.Graph.PerDay,
			// Application tokens name the user by id; the dev users are the mailboxes.
			ResolveUser: devauth.ResolveUser,
		})
		if err != nil {
			return nil, err
		}
		s, err := listenStandIn("graph", u, sb.Handler())
		if err != nil {
			return nil, err
		}
		h.graph = sb
		out = append(out, s)
	}
	if u, ok := loopbackHTTP(h.setting("POSTMARK_API_URL")); ok && h.runs("postmark") {
		pm := postmarksandbox.New(postmarksandbox.Options{ServerToken: h.setting("POSTMARK_SERVER_TOKEN"), Dir: filepath.Join(h.MailDir(), "postmark")})
		s, err := listenStandIn("postmark", u, pm.Handler())
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	h.mu.Lock()
	for _, s := range out {
		h.standInURLs[s.name] = s.url
	}
	h.mu.Unlock()
	return out, nil
}

func listenStandIn(name string, u *url.URL, handler http.Handler) (standIn, error) {
	ln, err := net.Listen("tcp", u.Host)
	if err != nil {
		return standIn{}, fmt.Errorf("%s sandbox: listen %s: %w", name, u.Host, err)
	}
	return standIn{name: name, ln: ln, url: "http://" + u.Host,
		srv: &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}}, nil
}

func loopbackHTTP(raw string) (*url.URL, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || !isLoopback(u.Hostname()) {
		return nil, false
	}
	return u, true
}

// MailDir is where the sandboxes write what they receive.
func (h *Host) MailDir() string {
	if h.opts.MailDir != "" {
		return h.opts.MailDir
	}
	return filepath.Join(h.opts.AppDir, "mail")
}

// StandInURL returns the base URL of a running stand-in ("graph" or
// "postmark"), or "".
func (h *Host) StandInURL(name string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return strings.TrimRight(h.standInURLs[name], "/")
}
