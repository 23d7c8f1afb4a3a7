package app

import (
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"mailmerge/handler/internal/config"
	"mailmerge/handler/internal/dev/testqueue"
	"mailmerge/handler/internal/lifecycle"
	"mailmerge/handler/internal/store"
	"mailmerge/handler/internal/tracking"
)

type eventLog struct {
	mu     sync.Mutex
	events []tracking.Event
}

func (l *eventLog) Record(e tracking.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.events = append(l.events, e)
}

func (l *eventLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.events)
}

var trackingKeys = func() tracking.Keys {
	ks, err := tracking.ParseKeys("2:" + base64.StdEncoding.EncodeToString([]byte("unit-test-tracking-key-2-0123456789")) +
		",1:" + base64.StdEncoding.EncodeToString([]byte("unit-test-tracking-key-1-0123456789")))
	if err != nil {
		panic(err)
	}
	return ks
}()

// trackingServer is the API on a storage account that does not answer:
// the tracking routes must not need it.
func trackingServer(t *testing.T) (*httptest.Server, *eventLog) {
	t.Helper()
	dead := "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
		"BlobEndpoint=http://127.0.0.1:9/devstoreaccount1;QueueEndpoint=http://127.0.0.1:9/devstoreaccount1;TableEndpoint=http://127.0.0.1:9/devstoreaccount1;"
	st, err := store.Open(config.Connection{Name: config.Storage, ConnectionString: dead})
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	events := &eventLog{}
	srv := httptest.NewServer(New(Deps{Logger: logger, Store: st, Lifecycle: lifecycle.New(st, &testqueue.Queue{}, logger, time.Now),
		TrackingKeys: trackingKeys, Recorder: events}))
	t.Cleanup(srv.Close)
	return srv, events
}

func noRedirects() *http.Client {
	return &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

const trackedCampaign = "vpesgnag4anvpt7rjbfeu91ho8"

// TestOpenPixel: the pixel answers the same GIF to every token, and only
// a valid one is recorded; HEAD gets no body.
func TestOpenPixel(t *testing.T) {
	srv, events := trackingServer(t)
	valid, _ := trackingKeys.Sign(tracking.Target{Kind: tracking.Open, CampaignID: trackedCampaign, Row: 7})
	click, _ := trackingKeys.Sign(tracking.Target{Kind: tracking.Click, CampaignID: trackedCampaign, Row: 7, URL: "https://contoso.example/"})
	for _, c := range []struct {
		method, token string
		recorded      bool
	}{{"GET", valid, true}, {"HEAD", valid, true}, {"GET", valid[:len(valid)-3], false}, {"GET", "nonsense", false}, {"GET", click, false}} {
		before := events.len()
		req, _ := http.NewRequest(c.method, srv.URL+"/o/"+c.token, nil)
		req.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0) Outlook")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		wantBody := 43
		if c.method == "HEAD" {
			wantBody = 0
		}
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/gif" || !strings.Contains(resp.Header.Get("Cache-Control"), "no-store") ||
			len(body) != wantBody || resp.Header.Get("Content-Length") != "43" {
			t.Errorf("%s %.12s…: %d %v, %d bytes", c.method, c.token, resp.StatusCode, resp.Header, len(body))
		}
		if got := events.len() - before; got != map[bool]int{true: 1, false: 0}[c.recorded] {
			t.Errorf("%s %.12s…: %d events recorded", c.method, c.token, got)
		}
	}
	if e := events.events[1]; e.Method != "HEAD" || e.Row != 7 || e.CampaignID != trackedCampaign {
		t.Errorf("HEAD event %+v", e)
	}
}

// TestClick: a valid token redirects to its URL (storage down or not); a
// forged, truncated or foreign token gets a page and no redirect, and
// nothing is recorded.
func TestClick(t *testing.T) {
	srv, events := trackingServer(t)
	target := "https://contoso.example/offer?x=1&y=%C3%A9"
	valid, _ := trackingKeys.Sign(tracking.Target{Kind: tracking.Click, CampaignID: trackedCampaign, Row: 3, Link: 2, URL: target})
	oldKey := tracking.Keys{trackingKeys[1]}
	signedByOld, _ := oldKey.Sign(tracking.Target{Kind: tracking.Click, CampaignID: trackedCampaign, Row: 3, Link: 2, URL: target})
	foreign, _ := tracking.Keys{{ID: 2, Secret: []byte("someone-else's-key-0123456789abcdef")}}.Sign(tracking.Target{Kind: tracking.Click, CampaignID: trackedCampaign, Row: 3, URL: "https://evil.test/"})
	raw, _ := base64.RawURLEncoding.DecodeString(valid)
	// The URL is encrypted: a changed byte of it changes what it decrypts to.
	changed := []byte(string(raw))
	changed[len(changed)-10] ^= 0x20
	open, _ := trackingKeys.Sign(tracking.Target{Kind: tracking.Open, CampaignID: trackedCampaign, Row: 3})
	for _, c := range []struct {
		name, token string
		redirect    bool
	}{
		{"valid", valid, true},
		{"signed by the previous key", signedByOld, true},
		{"another key", foreign, false},
		{"changed URL", base64.RawURLEncoding.EncodeToString(changed), false},
		{"truncated", valid[:len(valid)-4], false},
		{"an open token", open, false},
		{"a URL", "https:%2F%2Fevil.test", false},
	} {
		before := events.len()
		resp, err := noRedirects().Get(srv.URL + "/c/" + c.token)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if c.redirect {
			if resp.StatusCode != 302 || resp.Header.Get("Location") != target || events.len() != before+1 {
				t.Errorf("%s: %d Location %q, %d events", c.name, resp.StatusCode, resp.Header.Get("Location"), events.len()-before)
			}
			continue
		}
		if resp.StatusCode != 404 || resp.Header.Get("Location") != "" || !strings.Contains(string(body), "not valid") || events.len() != before {
			t.Errorf("%s: %d Location %q, %d events, body %.80s", c.name, resp.StatusCode, resp.Header.Get("Location"), events.len()-before, body)
		}
	}
	req, _ := http.NewRequest("HEAD", srv.URL+"/c/"+valid, nil)
	if resp, err := noRedirects().Do(req); err != nil || resp.StatusCode != 302 || events.events[len(events.events)-1].Method != "HEAD" {
		t.Errorf("HEAD: %v %v", resp, err)
	}
}

// TestTrackingEventClipped: what an event carries is clipped, however
// long the user agent or the token's URL, so one request cannot make an
// event too large for a queue message; the redirect still goes to the
// whole URL.
func TestTrackingEventClipped(t *testing.T) {
	srv, events := trackingServer(t)
	long := "https://contoso.example/offer?q=" + strings.Repeat("x", 5000)
	open, _ := trackingKeys.Sign(tracking.Target{Kind: tracking.Open, CampaignID: trackedCampaign, Row: 7})
	click, _ := trackingKeys.Sign(tracking.Target{Kind: tracking.Click, CampaignID: trackedCampaign, Row: 7, Link: 1, URL: long})
	ua := "Mozilla/5.0 " + strings.Repeat("<é>", 16<<10/4)
	for _, path := range []string{"/o/" + open, "/c/" + click} {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		req.Header.Set("User-Agent", ua)
		resp, err := noRedirects().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if path[1] == 'c' && resp.Header.Get("Location") != long {
			t.Errorf("redirect to %d characters of %d", len(resp.Header.Get("Location")), len(long))
		}
	}
	if events.len() != 2 {
		t.Fatalf("%d events", events.len())
	}
	for _, e := range events.events {
		if len(e.UserAgent) > 400 || !strings.HasPrefix(ua, e.UserAgent) || !utf8.ValidString(e.UserAgent) {
			t.Errorf("%c: a user agent of %d bytes kept", e.Kind, len(e.UserAgent))
		}
		if len(e.URL) > 2000 || !strings.HasPrefix(long, e.URL) {
			t.Errorf("%c: a URL of %d bytes kept", e.Kind, len(e.URL))
		}
	}
	if e := events.events[1]; len(e.URL) != 2000 {
		t.Errorf("the click's URL: %d bytes kept, want the first 2000", len(e.URL))
	}
}

// TestPageEscapes: the small pages of the tracking and unsubscribe routes
// escape every value they show (they are written without html/template),
// and show the button only for an action.
func TestPageEscapes(t *testing.T) {
	for _, d := range []pageData{
		{Title: `<b>Title</b>`, Text: `"Jane" <jane@contoso.example> & co's +1`},
		{Title: "Unsubscribe", Text: "From news@contoso.example", Button: `</button><script>x()</script>`, Action: true},
	} {
		rec := httptest.NewRecorder()
		writePage(rec, http.StatusOK, d)
		body := rec.Body.String()
		if strings.Contains(body, "<b>") || strings.Contains(body, "<jane@") || strings.Contains(body, "<script>") {
			t.Errorf("markup of a value is in the page:\n%s", body)
		}
		for _, want := range []string{"<title>" + escapeHTML(d.Title) + "</title>", "<h1>" + escapeHTML(d.Title) + "</h1>", "<p>" + escapeHTML(d.Text) + "</p>"} {
			if !strings.Contains(body, want) {
				t.Errorf("the page lacks %s:\n%s", want, body)
			}
		}
		if got := strings.Contains(body, "<form method=\"post\"><button type=\"submit\">"+escapeHTML(d.Button)+"</button></form>"); got != d.Action {
			t.Errorf("action %v: the form is there: %v\n%s", d.Action, got, body)
		}
		if !strings.HasPrefix(body, "<!doctype html>") || !strings.HasSuffix(body, "</main></body></html>\n") {
			t.Errorf("the page is not whole:\n%s", body)
		}
	}
	if got, want := escapeHTML("\"&'+<>\x00é"), "&#34;&amp;&#39;&#43;&lt;&gt;\uFFFDé"; got != want {
		t.Errorf("escapeHTML = %q, want %q", got, want)
	}
}
