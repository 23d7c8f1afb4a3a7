package app

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mailmerge/handler/internal/config"
	"mailmerge/handler/internal/lifecycle"
	"mailmerge/handler/internal/logging"
	"mailmerge/handler/internal/queue"
	"mailmerge/handler/internal/store"
	"mailmerge/handler/internal/task"
	"mailmerge/handler/internal/tracking"
)

// countingSender takes queue messages and counts the events in them, as
// the queue would (the batch is encoded as it is in production).
type countingSender struct {
	mu     sync.Mutex
	events int
}

func (c *countingSender) Send(ctx context.Context, m queue.Message) error {
	ev, err := task.Decode[task.Events](m.Body)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.events += len(ev.Events)
	c.mu.Unlock()
	return nil
}

// BenchmarkTrackingEndpoints: pixel and click requests through the whole
// router and middleware, in process, on all cores, with the real recorder
// handing JSON batches to a queue: requests per second and latency
// percentiles. Storage is not touched (it points nowhere).
//
//	go test ./handler/internal/app -run '^$' -bench TrackingEndpoints -benchtime 200000x
func BenchmarkTrackingEndpoints(b *testing.B) {
	st, _ := store.Open(config.Connection{Name: config.Storage, ConnectionString: "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;TableEndpoint=http://127.0.0.1:9/devstoreaccount1;BlobEndpoint=http://127.0.0.1:9/devstoreaccount1;"})
	// The production logger (JSON, a line per request), into nothing.
	logger := logging.New(io.Discard, slog.LevelInfo)
	sender := &countingSender{}
	life := lifecycle.New(st, sender, logger, time.Now)
	rec := tracking.NewRecorder(life.Tasks.Events, logger)
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { rec.Run(ctx, 5*time.Second); close(done) }()
	h := New(Deps{Logger: logger, Store: st, Lifecycle: life, TrackingKeys: trackingKeys, Recorder: rec})
	open, _ := trackingKeys.Sign(tracking.Target{Kind: tracking.Open, CampaignID: trackedCampaign, Row: 1234})
	click, _ := trackingKeys.Sign(tracking.Target{Kind: tracking.Click, CampaignID: trackedCampaign, Row: 1234, Link: 3, URL: "https://contoso.example/products/spring-offer?utm_source=mail"})
	var requests atomic.Int64
	for _, c := range []struct{ name, path string }{{"pixel", "/o/" + open}, {"click", "/c/" + click}} {
		b.Run(c.name, func(b *testing.B) {
			var mu sync.Mutex
			var lat []time.Duration
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				mine := make([]time.Duration, 0, 1024)
				for pb.Next() {
					req := httptest.NewRequest("GET", c.path, nil)
					req.Header.Set("User-Agent", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/128.0.0.0 Edg/128.0.0.0")
					w := httptest.NewRecorder()
					t0 := time.Now()
					h.ServeHTTP(w, req)
					mine = append(mine, time.Since(t0))
					requests.Add(1)
					if w.Code != http.StatusOK && w.Code != http.StatusFound {
						b.Fatalf("status %d", w.Code)
					}
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			})
			elapsed := time.Since(start)
			slices.Sort(lat)
			b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "req/s")
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
	// Stopping flushes what is in memory: no event is lost.
	stop()
	<-done
	if int64(sender.events) != requests.Load() {
		b.Errorf("%d requests, %d events reached the queue", requests.Load(), sender.events)
	}
}
