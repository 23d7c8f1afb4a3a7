package funchost

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"mailmerge/handler/internal/dev/devauth"
	"mailmerge/handler/internal/dev/graphsandbox"
)

// Version is what the local host reports as its host version.
const Version = "4.1040.0-local"

// Options configure a Host.
type Options struct {
	// AppDir is the staged app root.
	AppDir string
	// Addr is where HTTP functions are served, 127.0.0.1:7071 by default.
	Addr string
	// Logger receives one line per invocation.
	Logger *slog.Logger
	// HandlerOutput receives the handler process's stdout and stderr.
	HandlerOutput io.Writer
	// Getenv reads the environment, which takes precedence over
	// local.settings.json as with Core Tools.
	Getenv func(string) string
	// Environ is the environment passed on to the handler.
	Environ []string
	// MailDir is where the Graph sandbox writes .eml files (a folder per
	// mailbox) and the Postmark sandbox its emails; <AppDir>/mail by default.
	MailDir string
	// Graph tunes the Graph sandbox's limits.
	Graph GraphLimits
	// GraphTokenLifetime is how long the dev issuer's Graph tokens last
	// (an hour by default, as Entra's); short to exercise refreshing.
	GraphTokenLifetime time.Duration
	// External names the stand-ins not to run ("entra", "graph",
	// "postmark"), whatever their settings point at: the handler then
	// talks to the service or tool that is already there.
	External []string
	// DeviceUsers are the test users who approve the dev issuer's device
	// code sign-ins automatically, in order (alice, bob: the first code as
	// alice, the second as bob), so that a command signing in with the
	// device code flow runs without a person. Empty: the environment's
	// DEV_DEVICE_USERS (comma-separated); then none, and someone answers
	// at <issuer>/dev/device.
	DeviceUsers []string
}

// DeviceUsersVar is the environment variable read when
// Options.DeviceUsers is empty.
const DeviceUsersVar = "DEV_DEVICE_USERS"

// runs tells whether the host serves the stand-in name.
func (h *Host) runs(name string) bool {
	return !slices.Contains(h.opts.External, name)
}

// Host runs one staged app.
type Host struct {
	opts   Options
	app    *appRoot
	logger *slog.Logger
	client *http.Client

	mu      sync.Mutex
	port    int
	cmd     *exec.Cmd
	exited  chan struct{}
	httpURL string
	entra   string
	// entraTLS is the dev issuer's certificate when it is served over https.
	entraTLS *entraTLS
	// standInURLs are the running stand-ins by name; graph is the Graph sandbox.
	standInURLs map[string]string
	graph       *graphsandbox.Sandbox
}

// New loads the staged app.
func New(opts Options) (*Host, error) {
	app, err := loadApp(opts.AppDir)
	if err != nil {
		return nil, err
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:7071"
	}
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if opts.HandlerOutput == nil {
		opts.HandlerOutput = os.Stdout
	}
	for _, name := range opts.External {
		if name != "entra" && name != "graph" && name != "postmark" {
			return nil, fmt.Errorf("external %q: the stand-ins are entra, graph and postmark", name)
		}
	}
	users := strings.Join(opts.DeviceUsers, ",")
	if users == "" {
		users = opts.Getenv(DeviceUsersVar)
	}
	if opts.DeviceUsers, err = devauth.ParseDeviceUsers(users); err != nil {
		return nil, err
	}
	// The host never follows redirects on the handler's behalf.
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &Host{opts: opts, app: app, logger: opts.Logger, client: client, standInURLs: map[string]string{}}, nil
}

// setting reads an app setting: the environment first, then local.settings.json.
func (h *Host) setting(name string) string {
	if v := h.opts.Getenv(name); v != "" {
		return v
	}
	return h.app.Settings[name]
}

// URL returns the base URL of the HTTP listener once Run has started it.
func (h *Host) URL() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.httpURL
}

// DeviceUsers returns the test users who approve device codes
// automatically, in order.
func (h *Host) DeviceUsers() []string { return h.opts.DeviceUsers }

// EntraURL returns the dev issuer's base URL, or "" when none is served.
func (h *Host) EntraURL() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.entra
}

// Run starts everything and blocks until ctx ends. ready is called once the
// handler answers and the listeners are up.
func (h *Host) Run(ctx context.Context, ready func()) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	if err := h.startHandler(ctx); err != nil {
		return err
	}
	defer h.stopHandler()

	var wg sync.WaitGroup
	errc := make(chan error, 8)
	defer wg.Wait()
	defer cancel()

	if srv, ln, err := h.entraServer(); err != nil {
		return err
	} else if srv != nil {
		wg.Go(func() { serveUntil(ctx, srv, ln, errc) })
	}

	// Listen before the stand-ins start: the Graph sandbox posts mail for
	// the inbound domain to the app's webhook at this address.
	ln, err := net.Listen("tcp", h.opts.Addr)
	if err != nil {
		return fmt.Errorf("listen %s: %w", h.opts.Addr, err)
	}
	h.mu.Lock()
	h.httpURL = "http://" + ln.Addr().String()
	h.mu.Unlock()

	standIns, closeStandIns, err := h.standIns()
	if err != nil {
		ln.Close()
		return err
	}
	defer closeStandIns()
	for _, s := range standIns {
		wg.Go(func() { serveUntil(ctx, s.srv, s.ln, errc) })
	}

	srv := &http.Server{Handler: h.httpHandler(ctx), ReadHeaderTimeout: 10 * time.Second}
	wg.Go(func() { serveUntil(ctx, srv, ln, errc) })

	if err := h.startQueues(ctx, &wg); err != nil {
		return err
	}
	if err := h.startTimers(ctx, &wg); err != nil {
		return err
	}
	wg.Go(func() { h.supervise(ctx) })

	if ready != nil {
		ready()
	}
	select {
	case <-ctx.Done():
		return nil
	case err := <-errc:
		return err
	}
}

func serveUntil(ctx context.Context, srv *http.Server, ln net.Listener, errc chan<- error) {
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		errc <- err
	}
}

// entraServer serves the dev Entra issuer when ENTRA_AUTHORITY points at a
// loopback http or https address: the app then trusts tokens minted here,
// and gets Graph tokens from its token endpoint with ENTRA_CLIENT_SECRET.
// Over https (which MSAL requires) it presents a certificate of the host's
// dev CA, which the handler trusts through SSL_CERT_FILE.
func (h *Host) entraServer() (*http.Server, net.Listener, error) {
	authority := h.setting("ENTRA_AUTHORITY")
	u, ok := h.devEntra()
	if !ok {
		return nil, nil, nil
	}
	iss, err := devauth.NewIssuer(authority, h.setting("ENTRA_CLIENT_ID"))
	if err != nil {
		return nil, nil, err
	}
	iss.ClientSecret = h.setting("ENTRA_CLIENT_SECRET")
	iss.GraphTokenLifetime = h.opts.GraphTokenLifetime
	iss.DeviceUsers = h.opts.DeviceUsers
	// The app registration's SPA redirect URI: the web app on this host.
	// Only its pages may read the issuer's answers in the browser.
	iss.AllowRedirect = func(uri string) bool {
		o, ok := strings.CutSuffix(uri, "/app/redirect")
		return ok && h.appOrigin(o)
	}
	iss.AllowOrigin = h.appOrigin
	ln, err := net.Listen("tcp", u.Host)
	if err != nil {
		return nil, nil, fmt.Errorf("dev issuer: listen %s: %w", u.Host, err)
	}
	if u.Scheme == "https" {
		t, err := h.devEntraTLS()
		if err != nil {
			ln.Close()
			return nil, nil, err
		}
		ln = tls.NewListener(ln, t.config)
	}
	h.mu.Lock()
	h.entra = strings.TrimRight(authority, "/")
	h.mu.Unlock()
	return &http.Server{Handler: iss.Handler(), ReadHeaderTimeout: 10 * time.Second}, ln, nil
}

// appOrigin reports whether origin is the web app's on this host: its
// address, or the same as localhost.
func (h *Host) appOrigin(origin string) bool {
	base := h.URL()
	return base != "" && (origin == base || origin == strings.Replace(base, "127.0.0.1", "localhost", 1))
}

// devEntra returns ENTRA_AUTHORITY when it is a loopback http or https
// address the host serves the dev issuer at.
func (h *Host) devEntra() (*url.URL, bool) {
	if !h.runs("entra") {
		return nil, false
	}
	u, err := url.Parse(h.setting("ENTRA_AUTHORITY"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || !isLoopback(u.Hostname()) {
		return nil, false
	}
	return u, true
}

// devEntraTLS makes the dev issuer's CA and certificate once. The handler
// starts before the issuer, and needs the CA file in its environment.
func (h *Host) devEntraTLS() (*entraTLS, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.entraTLS != nil {
		return h.entraTLS, nil
	}
	t, err := newEntraTLS(h.opts.AppDir)
	if err != nil {
		return nil, err
	}
	h.entraTLS = t
	return t, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// startHandler starts the custom handler on a free port and waits until it
// answers GET / (polled every 25 ms, like the host, for up to 60 s). A free
// port can be taken by another process between our finding it and the
// handler binding it (tests run several hosts at once): the handler then
// exits at once, or another process answers on that port. Either way it
// is started again on another port, a few times.
func (h *Host) startHandler(ctx context.Context) error {
	var err error
	for range 5 {
		if err = h.startHandlerOnce(ctx); !errors.Is(err, errPortTaken) {
			return err
		}
		h.logger.Warn("the handler's port was taken; starting it on another")
	}
	return err
}

// errPortTaken: the port found free was taken before the handler bound it.
var errPortTaken = errors.New("the handler's port was taken")

func (h *Host) startHandlerOnce(ctx context.Context) error {
	desc := h.app.Host.CustomHandler.Description
	port, err := freePort()
	if err != nil {
		return err
	}
	exe := desc.DefaultExecutablePath
	if !filepath.IsAbs(exe) {
		exe = filepath.Join(h.app.Dir, exe)
	}
	cmd := exec.Command(exe, desc.Arguments...)
	cmd.Dir = filepath.Join(h.app.Dir, desc.WorkingDirectory)
	cmd.Stdout, cmd.Stderr = h.opts.HandlerOutput, h.opts.HandlerOutput
	cmd.Env = h.handlerEnv(port)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start handler %s: %w", exe, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()

	h.mu.Lock()
	h.port, h.cmd, h.exited = port, cmd, exited
	h.mu.Unlock()

	base := "http://127.0.0.1:" + strconv.Itoa(port) + "/"
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			if time.Since(start) < 5*time.Second && listening(port) {
				// It could not bind: another process listens there.
				return errPortTaken
			}
			return fmt.Errorf("handler exited during start-up (%s)", cmd.ProcessState)
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		resp, err := h.client.Get(base)
		if err == nil {
			resp.Body.Close()
			if owner, known := listenerPID(port); known && owner != cmd.Process.Pid {
				// Another process answered: ours cannot bind this port.
				_ = cmd.Process.Kill()
				<-exited
				return errPortTaken
			}
			h.logger.Info("handler ready", "pid", cmd.Process.Pid, "port", port, "ms", time.Since(start).Milliseconds())
			return nil
		}
		time.Sleep(25 * time.Millisecond)
	}
	return errors.New("handler did not answer GET / within 60 s")
}

func (h *Host) handlerEnv(port int) []string {
	env := append([]string{}, h.opts.Environ...)
	present := map[string]bool{}
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		present[k] = true
	}
	for k, v := range h.app.Settings {
		if !present[k] {
			env = append(env, k+"="+v)
		}
	}
	if u, ok := h.devEntra(); ok && u.Scheme == "https" {
		if t, err := h.devEntraTLS(); err == nil {
			env = append(env, "SSL_CERT_FILE="+t.caFile)
		} else {
			h.logger.Error("dev issuer TLS", "error", err.Error())
		}
	}
	p := strconv.Itoa(port)
	return append(env,
		"FUNCTIONS_CUSTOMHANDLER_PORT="+p,
		"FUNCTIONS_HTTPWORKER_PORT="+p,
		"FUNCTIONS_APP_ROOT_PATH="+h.app.Dir,
	)
}

// supervise restarts the handler if it dies, as the host restarts a worker.
func (h *Host) supervise(ctx context.Context) {
	for {
		h.mu.Lock()
		exited := h.exited
		h.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-exited:
		}
		h.logger.Warn("handler exited; restarting")
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
		if err := h.startHandler(ctx); err != nil {
			h.logger.Error("handler restart failed", "error", err.Error())
		}
	}
}

// stopHandler sends SIGTERM and waits for a graceful exit, then kills.
func (h *Host) stopHandler() {
	h.mu.Lock()
	cmd, exited := h.cmd, h.exited
	h.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(terminate)
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}

func (h *Host) handlerURL(path string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return "http://127.0.0.1:" + strconv.Itoa(h.port) + path
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// listenerPID is the process listening on 127.0.0.1:port, read from Linux's
// /proc (known false elsewhere, or when it cannot be told).
func listenerPID(port int) (pid int, known bool) {
	inode := listenInode(port)
	if inode == "" {
		return 0, false
	}
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return 0, false
	}
	want := "socket:[" + inode + "]"
	for _, p := range procs {
		n, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		fds, err := os.ReadDir(filepath.Join("/proc", p.Name(), "fd"))
		if err != nil {
			continue
		}
		for _, fd := range fds {
			if l, err := os.Readlink(filepath.Join("/proc", p.Name(), "fd", fd.Name())); err == nil && l == want {
				return n, true
			}
		}
	}
	return 0, false
}

// listening reports whether anything listens on 127.0.0.1:port (false
// when it cannot be told).
func listening(port int) bool { return listenInode(port) != "" }

// listenInode is the socket inode listening on 127.0.0.1:port in
// /proc/net/tcp, "" when none or unknown.
func listenInode(port int) string {
	raw, err := os.ReadFile("/proc/net/tcp")
	if err != nil {
		return ""
	}
	local := fmt.Sprintf("0100007F:%04X", port)
	for _, line := range strings.Split(string(raw), "\n")[1:] {
		f := strings.Fields(line)
		// sl local rem st tx:rx tr:tm retrnsmt uid timeout inode
		if len(f) > 9 && f[1] == local && f[3] == "0A" {
			return f[9]
		}
	}
	return ""
}
