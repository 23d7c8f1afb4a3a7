package web

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// TestNewPreparesNothing: New only checks its settings. The files are
// hashed and the pages rendered at the first request, so an instance that
// runs only queue and timer functions pays nothing for the web app (it
// was 1,800 allocations and 850 KB at every start).
func TestNewPreparesNothing(t *testing.T) {
	c := Config{ClientID: "11111111-2222-4333-8444-555555555555", Authority: "https://login.example.test", BaseURL: "https://mailmerge.example.test"}
	if n := testing.AllocsPerRun(10, func() {
		if _, err := New(c); err != nil {
			t.Fatal(err)
		}
	}); n > 30 {
		t.Errorf("New made %.0f allocations, want at most 30: it prepares the site", n)
	}
	// A base URL that is not a scheme and host is still refused at once.
	if _, err := New(Config{ClientID: c.ClientID, Authority: c.Authority, BaseURL: "https://mailmerge.example.test/app"}); err == nil {
		t.Error("New took a base URL with a path")
	}
}

// TestPagesEscapeSettings: the settings a page carries are escaped for
// their attribute, and read back whole, whatever characters they hold.
func TestPagesEscapeSettings(t *testing.T) {
	clientID := `"><script>alert('x')</script>&+`
	s, err := New(Config{ClientID: clientID, Authority: "https://login.example.test/?a=1&b=<2>"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	for _, path := range []string{"/", "/addin/taskpane", "/addin/dialog"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), "<script>alert") {
			t.Errorf("%s: the client id's markup is in the page", path)
		}
		m := regexp.MustCompile(`<meta name="mm-settings" content="([^"]*)">`).FindSubmatch(body)
		if m == nil {
			t.Fatalf("%s: no settings in\n%s", path, body)
		}
		var settings map[string]string
		if err := json.Unmarshal([]byte(html.UnescapeString(string(m[1]))), &settings); err != nil {
			t.Fatalf("%s: settings %s: %v", path, m[1], err)
		}
		if settings["clientId"] != clientID || settings["authority"] != "https://login.example.test/?a=1&b=<2>" {
			t.Errorf("%s: settings read back as %q", path, settings)
		}
	}
}

// TestFill: each {{action}} is replaced by its value; an action the page
// cannot have, or one left open, is an error that names the page.
func TestFill(t *testing.T) {
	value := func(action string) (string, error) {
		if action == ".A" {
			return "<a>", nil
		}
		return "", io.EOF
	}
	for _, c := range []struct{ text, want, err string }{
		{text: "x{{.A}}y{{ .A }}z", want: "x<a>y<a>z"},
		{text: "no action", want: "no action"},
		{text: "x{{.B}}", err: "page.html: EOF"},
		{text: "x{{.A", err: "page.html: a {{ without }}"},
	} {
		got, err := fill("page.html", c.text, value)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("fill(%q): %q, %v, want error %q", c.text, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("fill(%q) = %q, %v, want %q", c.text, got, err, c.want)
		}
	}
}
