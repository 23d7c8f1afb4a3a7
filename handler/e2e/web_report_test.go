package e2e

import (
	"encoding/csv"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"mailmerge/handler/internal/dev/testenv"
)

// TestWebReport walks a campaign's report in the browser at 1280 and 320
// px, checked by axe and for sideways scrolling: four messages sent within
// a minute (so the time axes are in minutes, not one bar for the hour), a
// scanner's open and click, two people's opens and a click, a one-click
// unsubscribe. The page shows the rates as percentages of the messages
// sent, the unsubscribe, who opened or clicked (people, not the scanner),
// and the "Clicks per link" caption on one line on a phone; the CSV is
// named after the campaign and has an Unsubscribed column. A campaign
// sent without tracking says tracking was off and shows no open or click
// rate.
func TestWebReport(t *testing.T) {
	t.Parallel()
	h := startHost(t, nil)
	tok, _ := h.signIn(t, "alice")
	tag := testenv.Name("rep")
	tracked := h.sentCampaign(t, tok, `{"name":"Spring launch","trackOpens":true,"trackClicks":true}`, tag, 4)
	msgs := h.sent(t, tag)
	if len(msgs) != 4 {
		t.Fatalf("%d messages sent, want 4", len(msgs))
	}
	body := map[string]string{}
	for _, m := range msgs {
		body[m.To[0].Address] = m.Body
	}
	links := func(to, kind string) []string {
		var out []string
		for _, m := range regexp.MustCompile(`http://127\.0\.0\.1:7071/`+kind+`/[A-Za-z0-9_-]+`).FindAllString(body[to], -1) {
			out = append(out, h.URL+strings.TrimPrefix(m, "http://127.0.0.1:7071"))
		}
		if len(out) == 0 {
			t.Fatalf("no /%s/ link in the message to row of %s", kind, to)
		}
		return out
	}
	get := func(u, ua string) {
		req, _ := http.NewRequest("GET", u, nil)
		req.Header.Set("User-Agent", ua)
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	addr := func(n string) string { return tag + "." + n + "@example.com" }
	// A mail gateway's scanner opens and follows the first message at once.
	get(links(addr("1"), "o")[0], "Mozilla/5.0 (compatible; Mimecast URL Protect)")
	get(links(addr("1"), "c")[0], "Mozilla/5.0 (compatible; Mimecast URL Protect)")
	// People read later than a scanner would: two open, one of them clicks,
	// the fourth unsubscribes from their mail program.
	time.Sleep(11 * time.Second)
	get(links(addr("2"), "o")[0], outlookUA)
	get(links(addr("2"), "c")[0], outlookUA)
	get(links(addr("3"), "o")[0], outlookUA)
	resp, err := noFollow.PostForm(links(addr("4"), "u")[0], url.Values{"List-Unsubscribe": {"One-Click"}})
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("one-click unsubscribe: %v %v", resp, err)
	}
	resp.Body.Close()
	var rep map[string]any
	eventually(t, 30*time.Second, "the opens, clicks and unsubscribe counted", func() bool {
		_, rep = h.call(t, "GET", "/v1/campaigns/"+tracked+"/report", tok, "")
		counts, _ := rep["counts"].(map[string]any)
		opens, _ := rep["opens"].(map[string]any)
		clicks, _ := rep["clicks"].(map[string]any)
		return counts != nil && counts["unsubscribed"] == 1.0 && opens["human"].(map[string]any)["unique"] == 2.0 &&
			clicks["human"].(map[string]any)["unique"] == 1.0 && clicks["automated"].(map[string]any)["total"] == 1.0
	})
	if r := rep["rates"].(map[string]any); r["opens"] != 0.5 || r["clicks"] != 0.25 || r["unsubscribes"] != 0.25 {
		t.Errorf("rates %v", r)
	}

	// The CSV, as the page asks for it.
	req, _ := http.NewRequest("GET", h.URL+"/v1/campaigns/"+tracked+"/report?format=csv&zone=Europe/Paris", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if cd := resp.Header.Get("Content-Disposition"); !strings.Contains(cd, `filename="Spring launch - report.csv"`) {
		t.Errorf("CSV named %q", cd)
	}
	lines, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(raw), "\ufeff"))).ReadAll()
	if err != nil || len(lines) != 5 || lines[0][9] != "Unsubscribed" {
		t.Fatalf("CSV %q: %v", raw, err)
	}
	for _, line := range lines[1:] {
		if _, err := time.Parse(time.RFC3339, line[4]); err != nil || !regexp.MustCompile(`[+-]\d\d:\d\d$`).MatchString(line[4]) {
			t.Errorf("sent at %q: not a time with its offset", line[4])
		}
		if unsubscribed := line[9] != ""; unsubscribed != (line[1] == addr("4")) {
			t.Errorf("row %s: unsubscribed %q", line[0], line[9])
		}
	}

	ctx := headless(t)
	run := stepper(t, ctx)
	signInBrowser(run, h, "alice")
	run("the report", chromedp.Navigate(h.URL+"/#/campaigns/"+tracked+"/report"), chromedp.WaitVisible(chromedp.CSS(`#report-title`)),
		chromedp.WaitVisible(`//h2[contains(., "Who opened or clicked")]`), chromedp.WaitVisible(`//caption[contains(., "Clicks per link")]`))
	eventually(t, 10*time.Second, "both charts drawn", func() bool {
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`Array.from(document.querySelectorAll("canvas")).filter(c => window.Chart && Chart.getChart(c) && c.width > 0).length`))
		return err == nil && n == 2
	})
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("%s: %v", sel, err)
		}
		return s
	}
	rates := text(`.rates`)
	for _, want := range []string{"50%", "Opened", "2 of 4", "25%", "Clicked", "1 of 4", "Unsubscribed"} {
		if !strings.Contains(rates, want) {
			t.Errorf("rates %q lack %q", rates, want)
		}
	}
	all := text(`main`)
	for _, want := range []string{"Messages sent per minute", "Opens and clicks per minute", "Clicks: 1 person (1 in all), plus 1 by link scanners"} {
		if !strings.Contains(all, want) {
			t.Errorf("the report lacks %q: %q", want, all)
		}
	}
	people := text(`.people`)
	if !strings.Contains(people, addr("2")) || !strings.Contains(people, addr("3")) || strings.Contains(people, addr("1")) || !strings.Contains(people, "2 people") {
		t.Errorf("who opened or clicked: %q (the scanner's row must not be there)", people)
	}
	// On a phone the caption reads on one line, not a word a line.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(320, 900), chromedp.Sleep(300*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	lines2, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`(() => {
		const c = document.querySelector("table.links caption");
		return c.getBoundingClientRect().height / parseFloat(getComputedStyle(c).lineHeight);
	})()`))
	if err != nil || lines2 > 1.5 {
		t.Errorf("the caption at 320 px is %.1f lines high (%v), want one", lines2, err)
	}
	pageAt(t, ctx, "report", 1280, 320)

	// A campaign without tracking: no open or click rate, and it says why.
	quiet := h.sentCampaign(t, tok, `{"name":"Quiet note"}`, tag+"q", 2)
	run("the report without tracking", chromedp.Navigate(h.URL+"/#/campaigns/"+quiet+"/report"), chromedp.WaitVisible(`//h1[contains(., "Quiet note")]`),
		chromedp.WaitVisible(`//p[contains(., "Tracking was off for this campaign")]`))
	off := text(`main`)
	for _, no := range []string{"Opened", "Clicked", "Who opened", "Opens and clicks"} {
		if strings.Contains(off, no) {
			t.Errorf("a campaign without tracking shows %q: %q", no, off)
		}
	}
	if !strings.Contains(off, "0% unsubscribed: 0 of the 2 messages sent") {
		t.Errorf("the unsubscribe rate is missing: %q", off)
	}
	pageAt(t, ctx, "report-tracking-off", 1280, 320)
}

// sentCampaign creates a campaign with the options of body, uploads n
// rows of people(tag, n), sends its template email and waits until it
// completed; it returns its id.
func (h *host) sentCampaign(t *testing.T, tok, body, tag string, n int) string {
	t.Helper()
	id, c := h.newCampaign(t, tok, body)
	token := strings.TrimPrefix(strings.Split(c["inboundAddress"].(string), "@")[0], "campaigns+")
	h.upload(t, tok, id, "people.csv", people(tag, n))
	if data := h.processed(t, tok, id); data["status"] != "ready" {
		t.Fatalf("data %v", data)
	}
	h.sendTemplate(t, "alice", token, template{Subject: "Hi {{First name}} " + tag,
		HTML: `<html><body><p>Hi {{First name}}, see <a href="https://contoso.example/offer">our offer</a>.</p><p><a href="{{@unsubscribe}}">Unsubscribe</a></p></body></html>`})
	h.waitStatus(t, tok, id, 90*time.Second, "completed")
	return id
}
