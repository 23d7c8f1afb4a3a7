package app

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/dev/devauth"
	"mailmerge/handler/internal/store"
	"mailmerge/handler/internal/tracking"
)

var floodHits = flag.Int("flood-hits", 100_000, "hits on one row of the campaign of BenchmarkReportFlood")

// User agents of the flood: people's mail programs and browsers, mail
// proxies, and programs.
var (
	floodBrowsers = []string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 Safari/537.36 Edg/128.0.0.0",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
		"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
		"Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
		"Mozilla/5.0",
	}
	floodTools = []string{
		"ApacheBench/2.3", "curl/8.5.0", "python-requests/2.32.3", "Go-http-client/1.1", "Wget/1.21.4", "okhttp/4.12.0", "Java/17.0.10",
	}
)

// floodEvents are n hits on one row, spread over an hour from start: four
// in five opens, the rest clicks on three links; two in three from a
// browser, the rest from programs.
func floodEvents(campaignID string, row, n int, start time.Time) []tracking.Event {
	rnd := rand.New(rand.NewPCG(1, 2))
	step := time.Hour / time.Duration(n)
	events := make([]tracking.Event, n)
	for i := range events {
		e := tracking.Event{Kind: tracking.Open, CampaignID: campaignID, Row: row, Method: "GET",
			At: start.Add(time.Duration(i)*step + time.Duration(rnd.Int64N(int64(step))))}
		if rnd.IntN(5) == 0 {
			e.Kind, e.Link = tracking.Click, 1+rnd.IntN(3)
			e.URL = fmt.Sprintf("https://contoso.example/offer/%d?utm_source=mail&utm_campaign=spring", e.Link)
		}
		if rnd.IntN(3) < 2 {
			e.UserAgent = floodBrowsers[rnd.IntN(len(floodBrowsers))]
		} else {
			e.UserAgent = floodTools[rnd.IntN(len(floodTools))]
		}
		events[i] = e
	}
	return events
}

// BenchmarkReportFlood: 100,000 hits on one row of a campaign, judged and
// stored by the tracking-events function as the queue delivers them; then
// the campaign's report and the account's inventory (GET /v1/me/data),
// each timed. "events" is how many events were stored.
//
//	tools/with-azurite.sh go test ./handler/internal/app -run '^$' -bench ReportFlood -benchtime 20x
func BenchmarkReportFlood(b *testing.B) {
	e := newEnv(b)
	tok, _ := e.installed(b, devauth.ContosoTenant)
	id := e.sendingWithRows(b, tok, 3)
	ctx := context.Background()
	sent := time.Now().UTC().Add(-2 * time.Hour)
	r2, _ := e.store.Recipient(ctx, id, 2)
	r2.Status = campaign.RowSending
	if _, err := e.store.SetRecipientStatus(ctx, id, r2, campaign.RowSent, campaign.Reason{}, sent); err != nil {
		b.Fatal(err)
	}
	made := time.Now()
	deliverEvents(b, e, floodEvents(id, 2, *floodHits, sent.Add(10*time.Minute)))
	stored := 0
	if err := e.store.ForEachEvent(ctx, id, func(store.Event) error {
		stored++
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d hits through the tracking-events function in %v: %d events stored", *floodHits, time.Since(made).Round(time.Millisecond), stored)
	if _, rep := e.do(b, "GET", "/v1/campaigns/"+id+"/report", tok, ""); rep != nil {
		b.Logf("opens %v; clicks %v", rep["opens"], rep["clicks"])
	}
	b.Run("report", func(b *testing.B) {
		for b.Loop() {
			status, rep := e.do(b, "GET", "/v1/campaigns/"+id+"/report", tok, "")
			if status != http.StatusOK {
				b.Fatalf("report: %d %v", status, rep)
			}
			opens, clicks := rep["opens"].(map[string]any), rep["clicks"].(map[string]any)
			total := 0.0
			for _, s := range []map[string]any{opens, clicks} {
				total += s["human"].(map[string]any)["total"].(float64) + s["automated"].(map[string]any)["total"].(float64)
			}
			if int(total) != *floodHits {
				b.Fatalf("the report counts %v hits of %d", total, *floodHits)
			}
		}
		b.ReportMetric(float64(stored), "events")
	})
	b.Run("me-data", func(b *testing.B) {
		for b.Loop() {
			if status, v := e.do(b, "GET", "/v1/me/data", tok, ""); status != http.StatusOK {
				b.Fatalf("me/data: %d %v", status, v)
			}
		}
		b.ReportMetric(float64(stored), "events")
	})
}
