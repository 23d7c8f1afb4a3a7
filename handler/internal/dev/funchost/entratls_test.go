package funchost

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/dev/devauth"
	"mailmerge/handler/internal/grant"
)

func TestDevIssuerOverHTTPS(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	const clientID, secret = "6d1f2c8e-0b4a-4f3e-9c71-5a2e8b0d4f10", "host-test-secret"
	authority := "https://127.0.0.1:" + strconv.Itoa(port)
	dir := t.TempDir()
	writeApp(t, dir, map[string]string{
		"host.json":         `{"version":"2.0","customHandler":{"description":{"defaultExecutablePath":` + quote(exe) + `},"enableForwardingHttpRequest":true},"extensions":{"http":{"routePrefix":""}}}`,
		"api/function.json": `{"bindings":[{"type":"httpTrigger","direction":"in","name":"req","methods":["get"],"route":"v1/{*path}"},{"type":"http","direction":"out","name":"res"}]}`,
		"local.settings.json": `{"IsEncrypted":false,"Values":{"ENTRA_AUTHORITY":` + quote(authority) + `,"ENTRA_CLIENT_ID":` + quote(clientID) +
			`,"ENTRA_CLIENT_SECRET":` + quote(secret) + `,"` + fakeHandlerVar + `":` + quote(filepath.Join(dir, "requests.log")) + `}}`,
	})
	h := runHost(t, dir, slog.New(slog.NewTextHandler(io.Discard, nil)))

	if got := h.EntraURL(); got != authority {
		t.Errorf("EntraURL = %q, want %q", got, authority)
	}
	caFile := h.EntraCAFile()
	if caFile == "" {
		t.Fatal("no CA file")
	}
	if env := h.handlerEnv(0); !slices.Contains(env, "SSL_CERT_FILE="+caFile) {
		t.Errorf("the handler's environment lacks SSL_CERT_FILE=%s", caFile)
	}

	// A client that trusts exactly what SSL_CERT_FILE gives the handler.
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		t.Fatal("the CA file holds no certificates")
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: roots}
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second}

	if _, err := http.Get(authority + "/common/discovery/v2.0/keys"); err == nil {
		t.Error("the system roots trust the dev issuer; want only the CA file to")
	}
	resp, err := client.Get(authority + "/" + devauth.ContosoTenant + "/v2.0/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var conf map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&conf)
	resp.Body.Close()
	if want := authority + "/" + devauth.ContosoTenant + "/oauth2/v2.0/token"; conf["token_endpoint"] != want {
		t.Errorf("token_endpoint = %v, want %s", conf["token_endpoint"], want)
	}

	// The web app's pages on this host, by its address or as localhost,
	// may read the issuer's answers from the browser; no other page may.
	twin := strings.Replace(h.URL(), "127.0.0.1", "localhost", 1)
	for _, c := range []struct {
		origin  string
		allowed bool
	}{{h.URL(), true}, {twin, true}, {"https://evil.example", false}, {"http://127.0.0.1:1", false}} {
		req, _ := http.NewRequest("POST", authority+"/dev/token", strings.NewReader(`{"user":"alice"}`))
		req.Header.Set("Origin", c.origin)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		want := ""
		if c.allowed {
			want = c.origin
		}
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != want {
			t.Errorf("Origin %s: Access-Control-Allow-Origin = %q, want %q", c.origin, got, want)
		}
	}

	// MSAL, which refuses http authorities, gets a token with the host's
	// client secret.
	g, err := grant.New(grant.Config{Authority: authority, ClientID: clientID, ClientSecret: secret, Application: true, HTTPClient: client}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := g.Credential(account.Key{TenantID: devauth.ContosoTenant, ObjectID: "x"}).GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{grant.AppScope}})
	if err != nil || tok.Token == "" {
		t.Fatalf("app token from the host's issuer: %v", err)
	}
}
