package app

import (
	"flag"
	"io"
	"net/http"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"mailmerge/handler/internal/dev/devauth"
)

var exportRows = flag.Int("export-rows", 100_000, "rows of the exported campaign")

// BenchmarkExport100k: GET /v1/me/export of an account whose campaign has
// 100,000 rows, read to the end: time, zip size and the peak heap while
// it streams.
//
//	tools/with-azurite.sh go test ./handler/internal/app -run '^$' -bench Export100k -benchtime 1x
func BenchmarkExport100k(b *testing.B) {
	e := newEnv(b)
	tok, _ := e.installed(b, devauth.ContosoTenant)
	made := time.Now()
	e.sendingWithRows(b, tok, *exportRows)
	b.Logf("%d rows written in %v", *exportRows, time.Since(made))
	for b.Loop() {
		runtime.GC()
		var base runtime.MemStats
		runtime.ReadMemStats(&base)
		var peak atomic.Uint64
		stop := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			for {
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				if m.HeapInuse > peak.Load() {
					peak.Store(m.HeapInuse)
				}
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
		}()
		start := time.Now()
		req, _ := http.NewRequest("GET", e.srv.URL+"/v1/me/export", nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		close(stop)
		<-sampled
		if resp.StatusCode != 200 || n < 1<<10 {
			b.Fatalf("export: %d, %d bytes", resp.StatusCode, n)
		}
		b.ReportMetric(time.Since(start).Seconds(), "s")
		b.ReportMetric(float64(n)/(1<<20), "MB-zip")
		b.ReportMetric(float64(peak.Load()-min(peak.Load(), base.HeapInuse))/(1<<20), "MB-peak-heap-growth")
	}
}
