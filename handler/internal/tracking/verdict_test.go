package tracking

import (
	"testing"
	"time"
)

const (
	outlook    = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 Safari/537.36 Edg/128.0.0.0"
	appleMail  = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)"
	iphone     = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"
	gmailProxy = "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
	yahooProxy = "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html"
	safeLinks  = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/79.0.3945.88 Safari/537.36"
)

// TestJudge: each rule, and the person it must not catch.
func TestJudge(t *testing.T) {
	sent := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	later := sent.Add(3 * time.Minute)
	for _, tt := range []struct {
		name string
		hit  Hit
		want Verdict
		rule string
	}{
		{"a person opens in Outlook", Hit{Kind: Open, Method: "GET", UserAgent: outlook, At: later, SentAt: sent}, Human, ""},
		{"a person clicks in Apple Mail", Hit{Kind: Click, Method: "GET", UserAgent: appleMail, At: later, SentAt: sent}, Human, ""},
		{"a person on an iPhone", Hit{Kind: Click, Method: "GET", UserAgent: iphone, At: later}, Human, ""},
		{"HEAD", Hit{Kind: Click, Method: "HEAD", UserAgent: outlook, At: later, SentAt: sent}, Automated, "head"},
		{"prefetch", Hit{Kind: Click, Method: "GET", UserAgent: outlook, Prefetch: true, At: later}, Automated, "prefetch"},
		{"no user agent", Hit{Kind: Open, Method: "GET", At: later}, Automated, "no_user_agent"},
		{"Apple MPP open", Hit{Kind: Open, Method: "GET", UserAgent: "Mozilla/5.0", At: later}, Automated, "apple_mpp"},
		{"Gmail proxy open", Hit{Kind: Open, Method: "GET", UserAgent: gmailProxy, At: later}, Automated, "google_proxy"},
		{"Yahoo proxy open", Hit{Kind: Open, Method: "GET", UserAgent: yahooProxy, At: later}, Automated, "yahoo_proxy"},
		{"Mimecast", Hit{Kind: Click, Method: "GET", UserAgent: "Mimecast URL Protect", At: later}, Automated, "scanner"},
		{"Proofpoint", Hit{Kind: Click, Method: "GET", UserAgent: "Proofpoint URL Defense", At: later}, Automated, "scanner"},
		{"Barracuda", Hit{Kind: Click, Method: "GET", UserAgent: "Barracuda Sentinel (EE)", At: later}, Automated, "scanner"},
		{"a script", Hit{Kind: Click, Method: "GET", UserAgent: "python-requests/2.31", At: later}, Automated, "scanner"},
		{"headless browser", Hit{Kind: Click, Method: "GET", UserAgent: "Mozilla/5.0 HeadlessChrome/120.0", At: later}, Automated, "scanner"},
		{"Safe Links' old Chrome", Hit{Kind: Click, Method: "GET", UserAgent: safeLinks, At: later}, Automated, "old_chrome"},
		{"within seconds of the send", Hit{Kind: Click, Method: "GET", UserAgent: outlook, At: sent.Add(4 * time.Second), SentAt: sent}, Automated, "too_soon"},
		{"open within seconds", Hit{Kind: Open, Method: "GET", UserAgent: outlook, At: sent.Add(time.Second), SentAt: sent}, Automated, "too_soon"},
		{"two links in a second", Hit{Kind: Click, Method: "GET", UserAgent: outlook, At: later, OtherLinksAt: []time.Time{later.Add(-400 * time.Millisecond)}}, Automated, "burst"},
		{"two links a minute apart", Hit{Kind: Click, Method: "GET", UserAgent: outlook, At: later, OtherLinksAt: []time.Time{later.Add(-time.Minute)}}, Human, ""},
	} {
		if v, rule := Judge(tt.hit); v != tt.want || rule != tt.rule {
			t.Errorf("%s: %s %q, want %s %q", tt.name, v, rule, tt.want, tt.rule)
		}
	}
}
