package tracking

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// Verdict says whether a person or a machine made a hit.
type Verdict string

// The verdicts.
const (
	Human     Verdict = "human"
	Automated Verdict = "automated"
)

// Hit is one request to the pixel, a tracked link or the unsubscribe page,
// with what is known about it when it is judged.
type Hit struct {
	Kind Kind
	// Link is a click's link: its index in the message (0 for an open).
	Link      int
	Method    string
	UserAgent string
	// Prefetch: the request said it is a prefetch (Sec-Purpose or Purpose).
	Prefetch bool
	At       time.Time
	// SentAt is when the row's message was sent (zero when unknown).
	SentAt time.Time
	// OtherLinksAt are the times of clicks on other links of the same
	// message (same row), for the burst rule.
	OtherLinksAt []time.Time
	// SameKindAt are the times of the row's other hits of the same kind
	// (opens, or clicks on any of its links), for the flood rule.
	SameKindAt []time.Time
}

// The windows of the timing rules.
const (
	// TooSoon: a person does not open or click within seconds of the send;
	// scanners do (gophish #973, #2446, #2549: Safe Links within seconds;
	// Mautic flags hits under 2 s; craft-campaign #546 used a 10 s window).
	TooSoon = 10 * time.Second
	// Burst: a person does not click two links of one message within a
	// second; a scanner follows them all (craft-campaign #546: 5 clicks
	// within 1 s).
	Burst = time.Second
	// FloodHits, FloodWindow: a person does not open one message, or
	// click in it, more than FloodHits times within FloodWindow; a load
	// tool or a script does, thousands of times (an outside test hit one
	// pixel 80,000 times with ApacheBench). FloodHits stays above what
	// mail proxies repeat on their own (Litmus: Yahoo's proxy fetched a
	// pixel up to 4 times); the window is craft-campaign #546's.
	FloodHits   = 5
	FloodWindow = 10 * time.Second
)

// Judge says whether h was a person or a machine, and by which rule
// (empty for a person). The rules, each with its source:
//   - head: a HEAD request fetches no content to look at (Mautic's
//     documentation on tracking: HEAD requests are skipped).
//   - prefetch: "Sec-Purpose: prefetch" or "Purpose: prefetch" (Mautic).
//   - no_user_agent: nothing a person's mail program sends.
//   - apple_mpp: Apple Mail Privacy Protection loads every image of every
//     message in the background, read or not, with the user agent exactly
//     "Mozilla/5.0" (Apple's MPP page; ua-parser/uap-core #509). Opens only.
//   - google_proxy / yahoo_proxy: Google's image proxy
//     ("GoogleImageProxy", via ggpht.com) and Yahoo's ("YahooMailProxy")
//     fetch images for the mailbox, not necessarily when a person reads
//     (gophish #1390: opens seconds after the send; Litmus on Yahoo's
//     proxy retrying a pixel up to 4 times). Opens only.
//   - scanner: a link scanner named in its user agent: Mimecast,
//     Proofpoint (urldefense), Barracuda (cudasvc), Cisco, Microsoft
//     Safe Links (safelinks), or a generic bot, crawler, script or
//     headless browser; or a program that fetches URLs: curl, Wget,
//     python-requests, Go-http-client, OkHttp, Java, libwww-perl
//     (matomo-org/device-detector's regexes/client/libraries.yml, which
//     Mautic judges user agents with), and ApacheBench (an outside test
//     hit one pixel 80,000 times with it).
//   - old_chrome: Chrome below version 100 (2022), the user agents
//     Defender for Office 365 Safe Links was seen detonating links with
//     (Chrome 57, 79, 80, 96: gophish #973, #2446, #2646).
//   - too_soon: within TooSoon of the send.
//   - burst: another link of the same message within Burst.
//   - flood: more than FloodHits hits of one kind on one row within
//     FloodWindow, this one among them.
func Judge(h Hit) (Verdict, string) {
	ua := strings.TrimSpace(h.UserAgent)
	lower := strings.ToLower(ua)
	switch {
	case h.Method == "HEAD":
		return Automated, "head"
	case h.Prefetch:
		return Automated, "prefetch"
	case ua == "":
		return Automated, "no_user_agent"
	case h.Kind == Open && ua == "Mozilla/5.0":
		return Automated, "apple_mpp"
	case h.Kind == Open && strings.Contains(lower, "googleimageproxy"):
		return Automated, "google_proxy"
	case h.Kind == Open && strings.HasPrefix(lower, "yahoomailproxy"):
		return Automated, "yahoo_proxy"
	case scanner(lower):
		return Automated, "scanner"
	case oldChrome(lower):
		return Automated, "old_chrome"
	case !h.SentAt.IsZero() && h.At.Sub(h.SentAt) < TooSoon:
		return Automated, "too_soon"
	}
	if h.Kind == Click {
		for _, t := range h.OtherLinksAt {
			if d := h.At.Sub(t); d < Burst && d > -Burst {
				return Automated, "burst"
			}
		}
	}
	if flood(h.At, h.SameKindAt) {
		return Automated, "flood"
	}
	return Human, ""
}

// Other is another hit of the same row and kind as one judged: when it
// came, its link (a click's), and how it was judged.
type Other struct {
	At      time.Time
	Link    int
	Verdict Verdict
}

// Relabel says which of others (their indexes) turn automated, by rule,
// when Judge found h automated by rule: the hits h came with, which were
// the same machine's. For "burst", the clicks on the message's other links
// within Burst of h; for "flood", the hits within FloodWindow of h; for
// any other rule (or none), none. Hits judged automated already are left
// as they are (with their own rule).
func Relabel(h Hit, rule string, others []Other) []int {
	var out []int
	for i, o := range others {
		if o.Verdict == Automated {
			continue
		}
		d := h.At.Sub(o.At)
		switch {
		case rule == "burst" && h.Kind == Click && o.Link != h.Link && d < Burst && d > -Burst,
			rule == "flood" && d < FloodWindow && d > -FloodWindow:
			out = append(out, i)
		}
	}
	return out
}

// flood reports whether some FloodWindow holds at and more than FloodHits
// hits in all (at's own and others').
func flood(at time.Time, others []time.Time) bool {
	near := []time.Time{at}
	for _, t := range others {
		if d := t.Sub(at); d < FloodWindow && d > -FloodWindow {
			near = append(near, t)
		}
	}
	if len(near) <= FloodHits {
		return false
	}
	slices.SortFunc(near, time.Time.Compare)
	// Each run of FloodHits+1 hits in a row that spans less than the
	// window and has at within it.
	for i := 0; i+FloodHits < len(near); i++ {
		first, last := near[i], near[i+FloodHits]
		if last.Sub(first) < FloodWindow && !at.Before(first) && !at.After(last) {
			return true
		}
	}
	return false
}

// scannerWords name link scanners and programs in user agents.
var scannerWords = []string{
	"mimecast", "proofpoint", "urldefense", "barracuda", "cudasvc", "cisco", "ironport", "safelinks",
	"bot", "crawler", "spider", "scanner", "headlesschrome", "phantomjs", "python-", "curl/", "wget/",
	"go-http-client", "java/", "okhttp", "libwww", "httpclient", "axios/", "node-fetch", "apachebench",
}

func scanner(lowerUA string) bool {
	for _, w := range scannerWords {
		if strings.Contains(lowerUA, w) {
			return true
		}
	}
	return false
}

// oldChrome reports a Chrome (not another Chromium browser's own token)
// below version 100.
func oldChrome(lowerUA string) bool {
	_, after, ok := strings.Cut(lowerUA, "chrome/")
	if !ok {
		return false
	}
	major, _, _ := strings.Cut(after, ".")
	n, err := strconv.Atoi(major)
	return err == nil && n < 100
}
