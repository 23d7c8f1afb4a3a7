package funchost

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"mailmerge/handler/internal/dev/testenv"
)

// fakeHandlerVar makes the test binary act as a custom handler: the host
// under test starts this very executable. It records every request it gets
// into the file the variable names.
const fakeHandlerVar = "FUNCHOST_FAKE_HANDLER_LOG"

func TestMain(m *testing.M) {
	if path := os.Getenv(fakeHandlerVar); path != "" {
		fakeHandler(path)
		return
	}
	os.Exit(m.Run())
}

type recorded struct {
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Query   string            `json:"query"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
}

func fakeHandler(logPath string) {
	var mu sync.Mutex
	f, err := os.OpenFile(logPath, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		os.Exit(3)
	}
	record := func(r *http.Request, body []byte) {
		mu.Lock()
		defer mu.Unlock()
		h := map[string]string{}
		for k := range r.Header {
			h[k] = r.Header.Get(k)
		}
		line, _ := json.Marshal(recorded{r.Method, r.URL.Path, r.URL.RawQuery, h, string(body)})
		_, _ = f.Write(append(line, '\n'))
	}
	reply := func(w http.ResponseWriter, status int) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"Outputs":{},"Logs":["fake"],"ReturnValue":null}`))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {})
	recordAndReply := func(status int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			record(r, b)
			reply(w, status)
		}
	}
	mux.HandleFunc("POST /works", recordAndReply(200))
	mux.HandleFunc("POST /tick", recordAndReply(200))
	mux.HandleFunc("POST /fails", recordAndReply(500))
	mux.HandleFunc("/v1/", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		record(r, b)
		if r.URL.Path == "/v1/crash" {
			os.Exit(2)
		}
		w.Header().Set("X-Echo", r.Header.Get("X-Custom"))
		w.Header().Set("Location", "/elsewhere")
		w.WriteHeader(http.StatusFound)
		_, _ = w.Write([]byte("moved"))
	})
	_ = http.ListenAndServe("127.0.0.1:"+os.Getenv("FUNCTIONS_CUSTOMHANDLER_PORT"), mux)
}

func writeApp(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func readLog(t *testing.T, path string) []recorded {
	t.Helper()
	raw, _ := os.ReadFile(path)
	var out []recorded
	for _, line := range strings.Split(strings.TrimSpace(string(raw)), "\n") {
		if line == "" {
			continue
		}
		var r recorded
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// runHost runs the app in dir with the local host until the test ends.
// external names stand-ins not to run.
func runHost(t *testing.T, dir string, logger *slog.Logger, external ...string) *Host {
	t.Helper()
	h, err := New(Options{
		AppDir:        dir,
		Addr:          "127.0.0.1:0",
		Logger:        logger,
		HandlerOutput: io.Discard,
		Getenv:        func(string) string { return "" },
		Environ:       []string{"PATH=" + os.Getenv("PATH")},
		External:      external,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan struct{})
	go func() { done <- h.Run(ctx, func() { close(ready) }) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("host stopped: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("host not ready")
	}
	return h
}

func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestHostRunsAnAppAsTheFunctionsHostDoes starts the host on an app whose
// handler is this test binary, and checks forwarding, queue invocations,
// retries, poison queues, timers and restarts.
func TestHostRunsAnAppAsTheFunctionsHostDoes(t *testing.T) {
	conn := testenv.StorageConnectionString(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	logPath := filepath.Join(dir, "requests.log")
	works, fails := testenv.Name("works"), testenv.Name("fails")
	writeApp(t, dir, map[string]string{
		"host.json": `{"version":"2.0","customHandler":{"description":{"defaultExecutablePath":` + quote(exe) + `},"enableForwardingHttpRequest":true},
			"extensions":{"http":{"routePrefix":""},"queues":{"maxPollingInterval":"00:00:00.2","visibilityTimeout":"00:00:00","maxDequeueCount":3}}}`,
		"api/function.json":   `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req","methods":["get","post"],"route":"v1/{*path}"},{"type":"http","direction":"out","name":"res"}]}`,
		"works/function.json": `{"bindings":[{"type":"queueTrigger","direction":"in","name":"msg","queueName":"` + works + `","connection":"Store"}]}`,
		"fails/function.json": `{"bindings":[{"type":"queueTrigger","direction":"in","name":"msg","queueName":"` + fails + `","connection":"Store"}]}`,
		"tick/function.json":  `{"bindings":[{"type":"timerTrigger","direction":"in","name":"timer","schedule":"*/1 * * * * *"}]}`,
		"local.settings.json": `{"IsEncrypted":false,"Values":{"Store":` + quote(conn) + `,"` + fakeHandlerVar + `":` + quote(logPath) + `}}`,
	})
	var hostLog bytes.Buffer
	var logMu sync.Mutex
	h := runHost(t, dir, slog.New(slog.NewTextHandler(lockedWriter{&hostLog, &logMu}, nil)))

	// HTTP: the original path, query, headers and body reach the handler;
	// redirects are passed back, not followed; unmatched routes are 404.
	req, _ := http.NewRequest("POST", h.URL()+"/v1/things/7?x=1&y=%20", strings.NewReader(`{"a":1}`))
	req.Header.Set("X-Custom", "kept")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("X-Echo") != "kept" || string(body) != "moved" {
		t.Errorf("forwarded answer: %d %q %q", resp.StatusCode, resp.Header.Get("X-Echo"), body)
	}
	if resp, err := http.Get(h.URL() + "/nowhere"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("unmatched route: %v %v", resp, err)
	}
	var fwd recorded
	for _, r := range readLog(t, logPath) {
		if r.Path == "/v1/things/7" {
			fwd = r
		}
	}
	if fwd.Method != "POST" || fwd.Query != "x=1&y=%20" || fwd.Body != `{"a":1}` || fwd.Headers["X-Custom"] != "kept" || fwd.Headers["X-Azure-Functions-Invocationid"] == "" {
		t.Errorf("forwarded request: %+v", fwd)
	}

	// Queues: base64 messages are decoded and delivered with the host's metadata.
	svc, err := azqueue.NewServiceClientFromConnectionString(conn, nil)
	if err != nil {
		t.Fatal(err)
	}
	enqueue := func(queue, text string) {
		if _, err := svc.NewQueueClient(queue).EnqueueMessage(context.Background(), text, nil); err != nil {
			t.Fatal(err)
		}
	}
	enqueue(works, base64.StdEncoding.EncodeToString([]byte(`{"n":1}`)))
	enqueue(fails, base64.StdEncoding.EncodeToString([]byte(`{"n":2}`)))
	enqueue(works, "not base64 at all!")

	waitFor(t, 20*time.Second, "the failing message reaches the poison queue", func() bool {
		return count(t, svc, fails+"-poison") == 1 && count(t, svc, works+"-poison") == 1
	})
	var worksCalls, failsCalls int
	for _, r := range readLog(t, logPath) {
		switch r.Path {
		case "/works":
			worksCalls++
			var payload struct {
				Data     map[string]string
				Metadata map[string]any
			}
			if err := json.Unmarshal([]byte(r.Body), &payload); err != nil {
				t.Fatalf("payload: %v", err)
			}
			if payload.Data["msg"] != `{"n":1}` || payload.Metadata["DequeueCount"] != "1" || payload.Metadata["n"] != "1" {
				t.Errorf("queue payload: %s", r.Body)
			}
			if id, _ := payload.Metadata["Id"].(string); !strings.HasPrefix(id, `"`) {
				t.Errorf("Id must be JSON-encoded inside the string: %q", id)
			}
			if _, ok := payload.Metadata["sys"].(map[string]any); !ok {
				t.Errorf("no sys metadata: %s", r.Body)
			}
		case "/fails":
			failsCalls++
		}
	}
	if worksCalls != 1 {
		t.Errorf("works invoked %d times, want 1 (the non-base64 message must not be delivered)", worksCalls)
	}
	if failsCalls != 3 {
		t.Errorf("fails invoked %d times, want maxDequeueCount = 3", failsCalls)
	}
	if n := count(t, svc, works); n != 0 {
		t.Errorf("%d messages left in %s: a success must delete its message", n, works)
	}

	// Timers fire on their NCRONTAB schedule with the host's timer object.
	waitFor(t, 5*time.Second, "the timer fires", func() bool {
		for _, r := range readLog(t, logPath) {
			if r.Path == "/tick" && strings.Contains(r.Body, `"ScheduleStatus"`) && strings.Contains(r.Body, `"IsPastDue":false`) {
				return true
			}
		}
		return false
	})

	t.Cleanup(func() {
		if t.Failed() {
			logMu.Lock()
			t.Logf("host log:\n%s", hostLog.String())
			logMu.Unlock()
		}
	})
	// A crashed handler is started again.
	_, _ = http.Get(h.URL() + "/v1/crash")
	waitFor(t, 20*time.Second, "the handler is restarted", func() bool {
		resp, err := client.Get(h.URL() + "/v1/again")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusFound
	})
	logMu.Lock()
	defer logMu.Unlock()
	for _, want := range []string{"function=fails trigger=queue", "outcome=failed", "function=works trigger=queue", "outcome=succeeded", "function=tick trigger=timer", "handler exited; restarting"} {
		if !strings.Contains(hostLog.String(), want) {
			t.Errorf("host log lacks %q", want)
		}
	}
}

// TestAdminAPIRefusesCrossSiteRequests: POST /admin/functions/{name}
// runs a function for a tool (curl, the tests) but not for a web page the
// developer has open, which could otherwise make the browser post to it
// (account-delete, for one): a cross-site Origin or Sec-Fetch-Site is
// refused, and so is a body that is not JSON, which a form can send across
// sites without asking.
func TestAdminAPIRefusesCrossSiteRequests(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	logPath := filepath.Join(dir, "requests.log")
	writeApp(t, dir, map[string]string{
		"host.json":           `{"version":"2.0","customHandler":{"description":{"defaultExecutablePath":` + quote(exe) + `},"enableForwardingHttpRequest":true}}`,
		"tick/function.json":  `{"bindings":[{"type":"timerTrigger","direction":"in","name":"timer","schedule":"0 0 0 1 1 *"}]}`,
		"local.settings.json": `{"IsEncrypted":false,"Values":{"` + fakeHandlerVar + `":` + quote(logPath) + `}}`,
	})
	h := runHost(t, dir, slog.New(slog.NewTextHandler(io.Discard, nil)))
	const json = "application/json"
	ran := 0
	for _, c := range []struct {
		name, origin, fetchSite, ctype string
		status                         int
	}{
		{"curl", "", "", json, http.StatusAccepted},
		{"JSON with a charset", "", "", "application/json; charset=utf-8", http.StatusAccepted},
		{"a page of the host", h.URL(), "same-origin", json, http.StatusAccepted},
		{"a page of the host as localhost", strings.Replace(h.URL(), "127.0.0.1", "localhost", 1), "same-origin", json, http.StatusAccepted},
		{"typed by the developer", "", "none", json, http.StatusAccepted},
		{"another site", "https://evil.example", "cross-site", json, http.StatusForbidden},
		{"another site, no Sec-Fetch-Site", "https://evil.example", "", json, http.StatusForbidden},
		{"another port of the host", "http://127.0.0.1:1", "same-site", json, http.StatusForbidden},
		{"a sandboxed page", "null", "cross-site", json, http.StatusForbidden},
		{"cross-site, no Origin", "", "cross-site", json, http.StatusForbidden},
		{"same-site, no Origin", "", "same-site", json, http.StatusForbidden},
		{"a form", "", "", "application/x-www-form-urlencoded", http.StatusUnsupportedMediaType},
		{"plain text", "", "", "text/plain", http.StatusUnsupportedMediaType},
		{"no content type", "", "", "", http.StatusUnsupportedMediaType},
	} {
		req, _ := http.NewRequest("POST", h.URL()+"/admin/functions/tick", strings.NewReader(`{}`))
		if c.origin != "" {
			req.Header.Set("Origin", c.origin)
		}
		if c.fetchSite != "" {
			req.Header.Set("Sec-Fetch-Site", c.fetchSite)
		}
		if c.ctype != "" {
			req.Header.Set("Content-Type", c.ctype)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("%s: %d, want %d", c.name, resp.StatusCode, c.status)
		}
		if resp.StatusCode == http.StatusAccepted {
			ran++
		}
	}
	ticks := func() int {
		n := 0
		for _, r := range readLog(t, logPath) {
			if r.Path == "/tick" {
				n++
			}
		}
		return n
	}
	waitFor(t, 10*time.Second, "the accepted runs reach the handler", func() bool { return ticks() >= ran })
	if got := ticks(); got != ran {
		t.Errorf("the function ran %d times, want %d (the accepted requests only)", got, ran)
	}
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func count(t *testing.T, svc *azqueue.ServiceClient, queue string) int {
	t.Helper()
	props, err := svc.NewQueueClient(queue).GetProperties(context.Background(), nil)
	if err != nil || props.ApproximateMessagesCount == nil {
		return -1
	}
	return int(*props.ApproximateMessagesCount)
}

// TestExternalStandIns: with -external, settings that point at loopback
// addresses where another tool already listens are left alone; without
// it, the host would try to serve its own stand-in there and fail.
func TestExternalStandIns(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	outside := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(outside.Close)
	dir := t.TempDir()
	writeApp(t, dir, map[string]string{
		"host.json":         `{"version":"2.0","customHandler":{"description":{"defaultExecutablePath":` + quote(exe) + `},"enableForwardingHttpRequest":true}}`,
		"api/function.json": `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req","methods":["get"],"route":"v1/{*path}"},{"type":"http","direction":"out","name":"res"}]}`,
		"local.settings.json": `{"IsEncrypted":false,"Values":{"GRAPH_BASE_URL":` + quote(outside.URL+"/v1.0") + `,"POSTMARK_API_URL":` + quote(outside.URL) +
			`,"ENTRA_AUTHORITY":` + quote(outside.URL) + `,"` + fakeHandlerVar + `":` + quote(filepath.Join(dir, "requests.log")) + `}}`,
	})
	if _, err := New(Options{AppDir: dir, External: []string{"graph", "smtp"}}); err == nil || !strings.Contains(err.Error(), "smtp") {
		t.Errorf("an unknown stand-in name: %v", err)
	}
	h, err := New(Options{AppDir: dir, Addr: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		HandlerOutput: io.Discard, Getenv: func(string) string { return "" }, Environ: []string{"PATH=" + os.Getenv("PATH")}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.Run(ctx, func() { t.Error("the host started its stand-ins on a port in use") }); err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("without -external: %v", err)
	}
	h2 := runHost(t, dir, slog.New(slog.NewTextHandler(io.Discard, nil)), "entra", "graph", "postmark")
	if h2.StandInURL("graph") != "" || h2.StandInURL("postmark") != "" || h2.EntraURL() != "" {
		t.Errorf("stand-ins run anyway: graph %q postmark %q entra %q", h2.StandInURL("graph"), h2.StandInURL("postmark"), h2.EntraURL())
	}
	if resp, err := http.Get(outside.URL + "/v1.0/me"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Errorf("the outside tool no longer answers: %v %v", resp, err)
	}
}

// TestListenerPID: the process listening on a port is told from another
// port's, as the start-up check of the handler's port needs.
func TestListenerPID(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	pid, known := listenerPID(port)
	if _, err := os.Stat("/proc/net/tcp"); err != nil {
		t.Skip("no /proc: the check is off here")
	}
	if !known || pid != os.Getpid() || !listening(port) {
		t.Fatalf("listener of %d: %d %v, want this process %d", port, pid, known, os.Getpid())
	}
	ln.Close()
	if listening(port) {
		t.Fatalf("port %d still listening after close", port)
	}
}
