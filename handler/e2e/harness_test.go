// Package e2e runs the whole app the way Azure runs it: the local Functions
// host starts the real handler binary, forwards HTTP, polls the Azurite
// queues and fires timers; every call here goes through that invocation path.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/dev/devauth"
	"mailmerge/handler/internal/dev/testenv"
	"mailmerge/handler/internal/functions"
	"mailmerge/handler/internal/store"
)

const clientID = "6d1f2c8e-0b4a-4f3e-9c71-5a2e8b0d4f10"

// syncBuffer collects process output safely across goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// build compiles a command of the repository into dir.
func build(t testing.TB, dir, pkg, out string) string {
	t.Helper()
	built, err := binaries.get(t, pkg)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, out)
	// A copy per use: a test may stage, run and kill its own.
	if err := os.Link(built, bin); err != nil {
		raw, err := os.ReadFile(built)
		if err == nil {
			err = os.WriteFile(bin, raw, 0o755)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return bin
}

// binaries builds each package once per test run: building (linking, in
// fact) the handler for every test was a minute of the package's time.
var binaries = &binaryCache{built: map[string]string{}}

type binaryCache struct {
	mu    sync.Mutex
	dir   string
	built map[string]string
}

func (c *binaryCache) get(t testing.TB, pkg string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if bin, ok := c.built[pkg]; ok {
		return bin, nil
	}
	if c.dir == "" {
		dir, err := os.MkdirTemp("", "e2e-bin-")
		if err != nil {
			return "", err
		}
		c.dir = dir
	}
	bin := filepath.Join(c.dir, strings.ReplaceAll(pkg, "/", "_"))
	cmd := exec.Command("go", "build", "-o", bin, "./"+pkg)
	cmd.Dir = testenv.RepoRoot(t)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	c.built[pkg] = bin
	return bin, nil
}

func freeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// host is a running local Functions host with the staged app.
type host struct {
	URL      string
	Entra    string
	Graph    string      // the Graph sandbox
	Postmark string      // the Postmark sandbox
	AppDir   string      // the staged app
	MailDir  string      // where the sandboxes write .eml files
	Output   *syncBuffer // the handler's stdout and stderr
	HostLog  *syncBuffer // the local host's own log
	cmd      *exec.Cmd
	settings map[string]string
	// entraClient trusts the dev issuer's certificate.
	entraClient *http.Client
}

// startHost stages the app in a temporary folder (handler binary, host.json,
// function folders with Storage queue triggers, local.settings.json) and
// runs the local host on it.
func startHost(t testing.TB, extra map[string]string, flags ...string) *host {
	t.Helper()
	appDir := t.TempDir()
	build(t, appDir, "handler", functions.ExecutableName)
	funchost := build(t, t.TempDir(), "handler/cmd/funchost", "funchost")
	if err := functions.Write(appDir, "", functions.Storage); err != nil {
		t.Fatal(err)
	}
	// Each host starts with fresh sending budgets for the test users.
	st := openStore(t)
	for _, u := range devauth.Users {
		if err := st.DeleteMailbox(context.Background(), account.Key{TenantID: u.TenantID, ObjectID: u.ObjectID}.String()); err != nil {
			t.Fatal(err)
		}
	}
	// The stand-ins listen on ports picked free a moment before; a test
	// running beside this one may take one meanwhile: then try again.
	for attempt := 1; ; attempt++ {
		h, clash := launch(t, funchost, appDir, extra, flags)
		if h != nil {
			return h
		}
		if !clash || attempt == 3 {
			t.Fatal("the local host did not start (see its log above)")
		}
	}
}

// launch writes the settings (with fresh ports for the stand-ins) and
// runs the local host; it returns nil, and whether a port was taken, if
// the host exited before it was ready.
func launch(t testing.TB, funchost, appDir string, extra map[string]string, flags []string) (*host, bool) {
	t.Helper()
	settings := map[string]string{
		"FUNCTIONS_WORKER_RUNTIME":  "custom",
		"AzureWebJobsStorage":       testenv.IsolatedStorageConnectionString(t),
		"BackupStorage":             testenv.IsolatedStorageConnectionString(t),
		"QUEUE_TRANSPORT":           "storage",
		"ServiceBusConnection":      "",
		"ENTRA_AUTHORITY":           "https://" + freeAddr(t),
		"ENTRA_CLIENT_ID":           clientID,
		"DEBUG_LOG_RETENTION":       "336h",
		"INBOUND_ADDRESS":           "campaigns@inbound.mailmerge.localhost",
		"POSTMARK_INBOUND_USER":     "postmark",
		"POSTMARK_INBOUND_PASSWORD": "e2e-webhook-password",
		"ENTRA_CLIENT_SECRET":       "e2e-client-secret",
		"TOKEN_CACHE_KEY":           "ZTJlLXRva2VuLWNhY2hlLWtleS0zMi1ieXRlcy0wMDA=",
		"GRAPH_BASE_URL":            "http://" + freeAddr(t) + "/v1.0",
		"POSTMARK_API_URL":          "http://" + freeAddr(t),
		"POSTMARK_SERVER_TOKEN":     "e2e-postmark-server-token",
		"NOTIFY_FROM":               "notices@mailmerge.localhost",
		"PUBLIC_BASE_URL":           "http://127.0.0.1:7071",
		"TRACKING_KEYS":             "1:ZTJlLW9ubHktdHJhY2tpbmcta2V5LW5vdC1hLXNlY3JldA==",
	}
	for k, v := range extra {
		settings[k] = v
	}
	raw, _ := json.MarshalIndent(map[string]any{"IsEncrypted": false, "Values": settings}, "", "  ")
	if err := os.WriteFile(filepath.Join(appDir, "local.settings.json"), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	h := &host{Output: &syncBuffer{}, HostLog: &syncBuffer{}, settings: settings, AppDir: appDir, MailDir: t.TempDir()}
	cmd := exec.Command(funchost, append([]string{"-app", appDir, "-addr", "127.0.0.1:0", "-mail-dir", h.MailDir}, flags...)...)
	// The test's own environment must not override the staged settings.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	cmd.Stdout = h.Output
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	h.cmd = cmd
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(40 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		if t.Failed() {
			t.Logf("local host log:\n%s\nhandler output:\n%s", h.HostLog, h.Output)
		}
	})
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(h.HostLog, line)
			if !sent && strings.HasPrefix(line, "funchost ready ") {
				ready <- line
				sent = true
			}
		}
		if !sent {
			close(ready)
		}
	}()
	select {
	case line, ok := <-ready:
		if !ok {
			_ = cmd.Wait()
			log := h.HostLog.String()
			t.Logf("local host exited:\n%s", log)
			return nil, strings.Contains(log, "address already in use")
		}
		for _, f := range strings.Fields(line) {
			if v, ok := strings.CutPrefix(f, "http="); ok {
				h.URL = v
			}
			if v, ok := strings.CutPrefix(f, "entra="); ok {
				h.Entra = v
			}
			if v, ok := strings.CutPrefix(f, "entra-ca="); ok {
				h.entraClient = caClient(t, v)
			}
			if v, ok := strings.CutPrefix(f, "graph="); ok {
				h.Graph = v
			}
			if v, ok := strings.CutPrefix(f, "postmark="); ok {
				h.Postmark = v
			}
		}
	case <-time.After(90 * time.Second):
		t.Fatalf("local host not ready after 90 s:\n%s", h.HostLog)
	}
	return h, false
}

// caClient trusts the certificates of a PEM file (the local host's dev CA).
func caClient(t testing.TB, file string) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("dev issuer CA: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("dev issuer CA %s holds no certificate", file)
	}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
}

// token mints a dev Entra token for a test user through the dev issuer.
func (h *host) token(t testing.TB, user string) string {
	t.Helper()
	resp, err := h.entraClient.Post(h.Entra+"/dev/token", "application/json", strings.NewReader(`{"user":"`+user+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.AccessToken == "" {
		t.Fatalf("dev token for %s: %v", user, err)
	}
	return out.AccessToken
}

// call sends a request through the local host and decodes the JSON answer.
func (h *host) call(t testing.TB, method, path, token, body string) (int, map[string]any) {
	t.Helper()
	return testenv.CallJSON(t, method, h.URL+path, token, body)
}

// runFunction asks the local host's admin API to run a non-HTTP function now.
func (h *host) runFunction(t testing.TB, name, input string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"input": input})
	resp, err := http.Post(h.URL+"/admin/functions/"+name, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("admin run %s: %d", name, resp.StatusCode)
	}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("not within %v: %s", within, what)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// signIn gets a dev token for a test user and installs the account.
func (h *host) signIn(t testing.TB, login string) (string, account.Key) {
	t.Helper()
	u, ok := devauth.FindUser(login)
	if !ok {
		t.Fatalf("no test user %s", login)
	}
	tok := h.token(t, login)
	if status, body := h.call(t, "POST", "/v1/install", tok, ""); status != 200 && status != 201 {
		t.Fatalf("install %s: %d %v", login, status, body)
	}
	return tok, account.Key{TenantID: u.TenantID, ObjectID: u.ObjectID}
}

// newCampaign creates a campaign and returns its id and its view.
func (h *host) newCampaign(t testing.TB, tok, body string) (string, map[string]any) {
	t.Helper()
	status, c := h.call(t, "POST", "/v1/campaigns", tok, body)
	if status != 201 {
		t.Fatalf("create campaign: %d %v", status, c)
	}
	// Tests share one Azurite: a campaign left sending would go on in the
	// next test's host, in the same test user's mailbox.
	t.Cleanup(func() { _, _ = h.call(t, "DELETE", "/v1/campaigns/"+c["id"].(string), tok, "") })
	return c["id"].(string), c
}

// openStore opens the test Azurite the host runs on, for checks behind the API.
func openStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(testenv.IsolatedStorage(t))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestMain removes the binaries built for the run.
func TestMain(m *testing.M) {
	code := m.Run()
	if binaries.dir != "" {
		_ = os.RemoveAll(binaries.dir)
	}
	os.Exit(code)
}
