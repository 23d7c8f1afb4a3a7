package tracking

import (
	"slices"
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
		{"curl", Hit{Kind: Open, Method: "GET", UserAgent: "curl/8.5.0", At: later}, Automated, "scanner"},
		{"Wget", Hit{Kind: Open, Method: "GET", UserAgent: "Wget/1.21.4", At: later}, Automated, "scanner"},
		{"python-requests", Hit{Kind: Open, Method: "GET", UserAgent: "python-requests/2.32.3", At: later}, Automated, "scanner"},
		{"Go", Hit{Kind: Open, Method: "GET", UserAgent: "Go-http-client/1.1", At: later}, Automated, "scanner"},
		{"ApacheBench", Hit{Kind: Open, Method: "GET", UserAgent: "ApacheBench/2.3", At: later}, Automated, "scanner"},
		{"OkHttp", Hit{Kind: Click, Method: "GET", UserAgent: "okhttp/4.12.0", At: later}, Automated, "scanner"},
		{"Java", Hit{Kind: Click, Method: "GET", UserAgent: "Java/17.0.10", At: later}, Automated, "scanner"},
		{"Apache HttpClient", Hit{Kind: Click, Method: "GET", UserAgent: "Apache-HttpClient/4.5.14 (Java/17.0.10)", At: later}, Automated, "scanner"},
		{"libwww-perl", Hit{Kind: Click, Method: "GET", UserAgent: "libwww-perl/6.77", At: later}, Automated, "scanner"},
		{"blank user agent", Hit{Kind: Open, Method: "GET", UserAgent: "   ", At: later}, Automated, "no_user_agent"},
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

// TestJudgeFlood: more than FloodHits hits of one kind within
// FloodWindow are a machine's; as many spread wider are a person's.
func TestJudgeFlood(t *testing.T) {
	at := time.Date(2026, 12, 2, 11, 0, 0, 0, time.UTC)
	times := func(n int, gap time.Duration) []time.Time {
		var out []time.Time
		for i := 1; i <= n; i++ {
			out = append(out, at.Add(-time.Duration(i)*gap))
		}
		return out
	}
	for _, tt := range []struct {
		name   string
		others []time.Time
		want   Verdict
	}{
		{"five others within a second each", times(5, time.Second), Automated},
		{"five others, 1.9 s apart (9.5 s in all)", times(5, 1900*time.Millisecond), Automated},
		{"four others within seconds", times(4, time.Second), Human},
		{"five others, 3 s apart", times(5, 3*time.Second), Human},
		{"five others later", []time.Time{at.Add(time.Second), at.Add(2 * time.Second), at.Add(3 * time.Second), at.Add(4 * time.Second), at.Add(5 * time.Second)}, Automated},
	} {
		h := Hit{Kind: Open, Method: "GET", UserAgent: outlook, At: at, SameKindAt: tt.others}
		if v, rule := Judge(h); v != tt.want || (v == Automated && rule != "flood") {
			t.Errorf("%s: %s %q, want %s", tt.name, v, rule, tt.want)
		}
	}
}

// TestRelabel: a burst brings along the clicks on other links within
// Burst, a flood the hits within FloodWindow; a hit judged automated
// already keeps its rule, and no other rule brings any along.
func TestRelabel(t *testing.T) {
	at := time.Date(2026, 12, 2, 11, 0, 0, 0, time.UTC)
	others := []Other{
		{At: at.Add(-300 * time.Millisecond), Link: 0, Verdict: Human},     // 0: another link, within Burst
		{At: at.Add(-300 * time.Millisecond), Link: 1, Verdict: Human},     // 1: the same link, within Burst
		{At: at.Add(900 * time.Millisecond), Link: 2, Verdict: Human},      // 2: another link, within Burst, after
		{At: at.Add(-time.Second), Link: 2, Verdict: Human},                // 3: another link, Burst before
		{At: at.Add(-200 * time.Millisecond), Link: 2, Verdict: Automated}, // 4: another link, a machine's already
		{At: at.Add(-9 * time.Second), Link: 1, Verdict: Human},            // 5: within FloodWindow
		{At: at.Add(10 * time.Second), Link: 1, Verdict: Human},            // 6: FloodWindow after
	}
	click := Hit{Kind: Click, Link: 1, Method: "GET", UserAgent: outlook, At: at}
	open := Hit{Kind: Open, Method: "GET", UserAgent: outlook, At: at}
	for _, tt := range []struct {
		name string
		hit  Hit
		rule string
		want []int
	}{
		{"a burst of clicks", click, "burst", []int{0, 2}},
		{"a flood of clicks", click, "flood", []int{0, 1, 2, 3, 5}},
		{"a flood of opens", open, "flood", []int{0, 1, 2, 3, 5}},
		{"a burst is of clicks", open, "burst", nil},
		{"too soon", click, "too_soon", nil},
		{"a person", click, "", nil},
	} {
		if got := Relabel(tt.hit, tt.rule, others); !slices.Equal(got, tt.want) {
			t.Errorf("%s: relabels %v, want %v", tt.name, got, tt.want)
		}
	}
}
