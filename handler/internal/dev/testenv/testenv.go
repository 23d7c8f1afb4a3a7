// Package testenv gives tests the real dependencies: the private Azurite that
// `make test` starts (tools/with-azurite.sh), and the repository root.
package testenv

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"mailmerge/handler/internal/config"
)

// StorageVar names the connection string of the test Azurite.
const StorageVar = "MAILMERGE_TEST_STORAGE"

// StorageConnectionString returns the test Azurite's connection string. A
// test that needs storage fails, never skips, without it: run `make test`.
func StorageConnectionString(tb testing.TB) string {
	tb.Helper()
	cs := os.Getenv(StorageVar)
	if cs == "" {
		tb.Fatalf("%s is not set: integration tests need Azurite; run `make test` (or tools/with-azurite.sh go test ./...)", StorageVar)
	}
	return cs
}

// Storage returns a storage connection to the test Azurite.
func Storage(tb testing.TB) config.Connection {
	tb.Helper()
	return config.Connection{Name: config.Storage, ConnectionString: StorageConnectionString(tb)}
}

// RepoRoot returns the repository root (the folder holding go.mod).
func RepoRoot(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("go.mod not found above the test's folder")
		}
		dir = parent
	}
}

// Name returns a random lower-case name with the given prefix, for queues
// and tables that must not collide between tests.
func Name(prefix string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// Upload PUTs a spreadsheet to a campaign's data as the add-in does: the
// raw file as the body, its name in X-File-Name.
func Upload(tb testing.TB, baseURL, token, campaignID, name string, data []byte) (int, map[string]any) {
	tb.Helper()
	req, err := http.NewRequest("PUT", baseURL+"/v1/campaigns/"+campaignID+"/data", bytes.NewReader(data))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("X-File-Name", name)
	req.Header.Set("Content-Type", "application/octet-stream")
	return DoJSON(tb, req)
}

// CallJSON sends a request with an optional bearer token and JSON body and
// decodes the JSON answer (nil for an empty one); a non-JSON answer fails
// the test, since every answer of the API is JSON.
func CallJSON(tb testing.TB, method, url, token, body string) (int, map[string]any) {
	tb.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		tb.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return DoJSON(tb, req)
}

// DoJSON sends req and decodes the JSON answer; a non-JSON answer fails the test.
func DoJSON(tb testing.TB, req *http.Request) (int, map[string]any) {
	tb.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if len(bytes.TrimSpace(raw)) > 0 && json.Unmarshal(raw, &out) != nil {
		tb.Fatalf("%s %s: answer is not JSON: %q", req.Method, req.URL.Path, raw)
	}
	return resp.StatusCode, out
}

// ErrorCode returns error.code of an API error answer.
func ErrorCode(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// AccountsVar names the spare accounts of the test Azurite (comma
// separated), which IsolatedStorage hands out.
const AccountsVar = "MAILMERGE_TEST_ACCOUNTS"

var spare struct {
	mu    sync.Mutex
	given map[string]string
}

// lockTag tells one Azurite from another: its table endpoint's port.
func lockTag(cs string) string {
	_, after, _ := strings.Cut(cs, "TableEndpoint=http://127.0.0.1:")
	port, _, _ := strings.Cut(after, "/")
	return port
}

// IsolatedStorageConnectionString returns a connection string to a
// storage account of the test Azurite that no other test of this process
// uses, the same for every call of one test: tests that each run their
// own functions host in parallel must not share queues (a host would run
// another's work) or tables.
func IsolatedStorageConnectionString(tb testing.TB) string {
	tb.Helper()
	cs := StorageConnectionString(tb)
	spare.mu.Lock()
	defer spare.mu.Unlock()
	if spare.given == nil {
		spare.given = map[string]string{}
	}
	if got, ok := spare.given[tb.Name()]; ok {
		return got
	}
	// Test binaries of several packages run at once on one Azurite: an
	// account is taken by creating its lock file, which only one can.
	var name string
	for _, n := range strings.Split(os.Getenv(AccountsVar), ",") {
		if n == "" {
			continue
		}
		lock := filepath.Join(os.TempDir(), "mailmerge-spare-"+lockTag(cs)+"-"+n)
		if f, err := os.OpenFile(lock, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600); err == nil {
			f.Close()
			name = n
			break
		}
	}
	if name == "" {
		tb.Fatalf("no spare storage account left (%s=%q): give tools/with-azurite.sh more", AccountsVar, os.Getenv(AccountsVar))
	}
	got := strings.ReplaceAll(cs, "devstoreaccount1", name)
	spare.given[tb.Name()] = got
	return got
}

// IsolatedStorage is IsolatedStorageConnectionString as a connection.
func IsolatedStorage(tb testing.TB) config.Connection {
	tb.Helper()
	return config.Connection{Name: config.Storage, ConnectionString: IsolatedStorageConnectionString(tb)}
}
