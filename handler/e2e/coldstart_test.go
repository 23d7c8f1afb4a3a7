package e2e

import (
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailmerge/handler/internal/config"
)

// BenchmarkHandlerColdStart measures what the Functions host waits for: from
// starting the handler process to its first answer on GET /, and the
// process's resident memory once idle. Goals: under 50 ms and under 30 MB.
//
//	go test -run '^$' -bench ColdStart ./handler/e2e/
func BenchmarkHandlerColdStart(b *testing.B) {
	bin := build(b, b.TempDir(), "handler", "handler")
	client := &http.Client{Timeout: time.Second}
	var totalStart time.Duration
	var maxRSS int64
	for b.Loop() {
		addr := freeAddr(b)
		port := addr[strings.LastIndex(addr, ":")+1:]
		cmd := exec.Command(bin)
		cmd.Env = []string{
			config.Port + "=" + port,
			config.Storage + "=UseDevelopmentStorage=true",
			config.BackupStorage + "=UseDevelopmentStorage=true",
			config.QueueTransport + "=storage",
			config.EntraAuthority + "=https://login.microsoftonline.com",
			config.EntraClientID + "=" + clientID,
			config.InboundAddress + "=campaigns@inbound.mailmerge.localhost",
			config.PostmarkInboundUser + "=postmark",
			config.PostmarkInboundPassword + "=bench-webhook-password",
			config.EntraClientSecret + "=bench-client-secret",
			config.TokenCacheKey + "=ZTJlLXRva2VuLWNhY2hlLWtleS0zMi1ieXRlcy0wMDA=",
			config.PostmarkServerToken + "=bench-postmark-token",
			config.NotifyFrom + "=notices@mailmerge.localhost",
			config.PublicBaseURL + "=http://127.0.0.1:7071",
			config.TrackingKeys + "=1:ZTJlLW9ubHktdHJhY2tpbmcta2V5LW5vdC1hLXNlY3JldA==",
		}
		start := time.Now()
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		for {
			resp, err := client.Get("http://" + addr + "/")
			if err == nil {
				resp.Body.Close()
				break
			}
			if time.Since(start) > 10*time.Second {
				b.Fatal("the handler did not answer within 10 s")
			}
			time.Sleep(500 * time.Microsecond)
		}
		totalStart += time.Since(start)
		b.StopTimer()
		time.Sleep(300 * time.Millisecond) // idle
		if rss := residentKB(cmd.Process.Pid); rss > maxRSS {
			maxRSS = rss
		}
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		b.StartTimer()
	}
	b.ReportMetric(float64(totalStart.Microseconds())/float64(b.N)/1000, "ms-to-ready")
	b.ReportMetric(float64(maxRSS)/1024, "MB-idle-RSS")
}

// residentKB reads VmRSS from /proc.
func residentKB(pid int) int64 {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
