package funchost

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailmerge/handler/internal/dev/devauth"
)

// TestDeviceUsers: DEV_DEVICE_USERS (or Options.DeviceUsers) makes the
// host's dev issuer approve device codes in order, as those users, so a
// command signing in with the device code flow runs without a person; an
// unknown user stops the host before it starts.
func TestDeviceUsers(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	const clientID = "6d1f2c8e-0b4a-4f3e-9c71-5a2e8b0d4f10"
	authority := "https://127.0.0.1:" + strconv.Itoa(port)
	dir := t.TempDir()
	writeApp(t, dir, map[string]string{
		"host.json":         `{"version":"2.0","customHandler":{"description":{"defaultExecutablePath":` + quote(exe) + `},"enableForwardingHttpRequest":true},"extensions":{"http":{"routePrefix":""}}}`,
		"api/function.json": `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req","methods":["get"],"route":"v1/{*path}"},{"type":"http","direction":"out","name":"res"}]}`,
		"local.settings.json": `{"IsEncrypted":false,"Values":{"ENTRA_AUTHORITY":` + quote(authority) + `,"ENTRA_CLIENT_ID":` + quote(clientID) +
			`,"` + fakeHandlerVar + `":` + quote(filepath.Join(dir, "requests.log")) + `}}`,
	})
	env := func(users string) func(string) string {
		return func(name string) string {
			if name == DeviceUsersVar {
				return users
			}
			return ""
		}
	}
	if _, err := New(Options{AppDir: dir, Getenv: env("bob,dave")}); err == nil || !strings.Contains(err.Error(), `"dave"`) {
		t.Errorf("an unknown device user: %v", err)
	}
	h, err := New(Options{AppDir: dir, Addr: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), HandlerOutput: io.Discard, Getenv: env(" bob, alice "), Environ: []string{"PATH=" + os.Getenv("PATH")}})
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

	pem, err := os.ReadFile(h.EntraCAFile())
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}}
	call := func(path string, form url.Values) map[string]any {
		t.Helper()
		resp, err := client.PostForm(authority+"/organizations/oauth2/v2.0/"+path, form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return body
	}
	for _, want := range []string{"bob", "alice", ""} {
		dc := call("devicecode", url.Values{"client_id": {clientID}, "scope": {"api://" + clientID + "/access_as_user"}})
		got := call("token", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"}, "client_id": {clientID}, "device_code": {dc["device_code"].(string)}})
		if want == "" {
			if got["error"] != "authorization_pending" {
				t.Errorf("a code after the device users: %v, want authorization_pending", got)
			}
			continue
		}
		u, _ := devauth.FindUser(want)
		ci, _ := got["client_info"].(string)
		raw, _ := base64.RawURLEncoding.DecodeString(ci)
		if got["access_token"] == nil || !strings.Contains(string(raw), u.ObjectID) {
			t.Errorf("code approved as %s: %v", want, got)
		}
	}
}
