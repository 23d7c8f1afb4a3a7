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

// inboundRoute is the app's Postmark inbound webhook (DESIGN section 3).
const inboundRoute = "/hooks/postmark/inbound"

// standIns starts the Graph sandbox when GRAPH_BASE_URL, and the Postmark
// sandbox when POSTMARK_API_URL, point at a loopback http address, unless
// Options.External names them. The handler then reaches them exactly as it
// reaches Graph and Postmark. The dev users are the Graph sandbox's
// mailboxes, delivering mail to each other; mail to INBOUND_ADDRESS's
// domain reaches the app's inbound webhook as Postmark posts it, with
// POSTMARK_INBOUND_USER and POSTMARK_INBOUND_PASSWORD. The returned
// function stops their pending deliveries.
func (h *Host) standIns() ([]standIn, func(), error) {
	var out []standIn
	var closers []func() error
	closeAll := func() {
		for _, c := range closers {
			_ = c()
		}
	}
	var inbound *postmarksandbox.Inbound
	if h.runs("graph") {
		var err error
		if inbound, err = h.inboundSide(); err != nil {
			return nil, nil, err
		}
		if inbound != nil {
			closers = append(closers, inbound.Close)
		}
	}
	if u, ok := loopbackHTTP(h.setting("GRAPH_BASE_URL")); ok && h.runs("graph") {
		opts := graphsandbox.Options{
			Dir:       filepath.Join(h.MailDir(), "graph"),
			PerMinute: h.opts.Graph.PerMinute, Concurrent: h.opts.Graph.Concurrent, PerDay: h.opts.Graph.PerDay,
			// Application tokens name the user by id; the dev users are the mailboxes.
			ResolveUser: devauth.ResolveUser,
		}
		for _, u := range devauth.Users {
			opts.Mailboxes = append(opts.Mailboxes, graphsandbox.Mailbox{Address: u.Email, Name: u.Name, Tenant: u.TenantID})
		}
		if inbound != nil {
			opts.Relays = map[string]graphsandbox.Relay{domainOf(h.setting("INBOUND_ADDRESS")): inbound}
		}
		sb, err := graphsandbox.New(opts)
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		closers = append(closers, sb.Close)
		s, err := listenStandIn("graph", u, sb.Handler())
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		h.graph = sb
		out = append(out, s)
	}
	if u, ok := loopbackHTTP(h.setting("POSTMARK_API_URL")); ok && h.runs("postmark") {
		pm := postmarksandbox.New(postmarksandbox.Options{ServerToken: h.setting("POSTMARK_SERVER_TOKEN"), Dir: filepath.Join(h.MailDir(), "postmark"), Inbound: inbound})
		s, err := listenStandIn("postmark", u, pm.Handler())
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		out = append(out, s)
	}
	h.mu.Lock()
	for _, s := range out {
		h.standInURLs[s.name] = s.url
	}
	h.mu.Unlock()
	return out, closeAll, nil
}

// inboundSide is Postmark's inbound side posting to the app's webhook, or
// nil when INBOUND_ADDRESS or the webhook's credentials are not set.
func (h *Host) inboundSide() (*postmarksandbox.Inbound, error) {
	addr, user, pass := h.setting("INBOUND_ADDRESS"), h.setting("POSTMARK_INBOUND_USER"), h.setting("POSTMARK_INBOUND_PASSWORD")
	if domainOf(addr) == "" || user == "" || pass == "" {
		return nil, nil
	}
	return postmarksandbox.NewInbound(postmarksandbox.InboundOptions{
		WebhookURL: h.URL() + inboundRoute, User: user, Password: pass,
		Dir: filepath.Join(h.MailDir(), "postmark", "inbound"),
	})
}

// domainOf is the domain of an address, lower case, or "".
func domainOf(address string) string {
	_, d, _ := strings.Cut(strings.TrimSpace(address), "@")
	return strings.ToLower(d)
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
