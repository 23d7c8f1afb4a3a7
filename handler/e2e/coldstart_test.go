package e2e

import (
	"debug/elf"
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
// process's resident memory once idle. Goals: at most 10 ms and 16 MB.
// Most of that memory is the binary's own pages that start-up touches, so
// it grows with the binary: TestHandlerKeepsOnlyMethodsItCalls guards the
// largest cause. It needs no storage: the handler reaches storage and the
// network only when a request needs them.
//
//	go test -run '^$' -bench ColdStart -benchtime 10x ./handler/e2e/
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

// TestHandlerKeepsOnlyMethodsItCalls: the handler does not look methods up
// by name through reflect (text/template and html/template's executors
// do). A binary that can do that keeps every method of every type it
// links, and the Graph SDK has thousands: the handler was 178 MB instead of
// 27, and every start touched 25 MB more of it (39 MB idle instead of 15).
func TestHandlerKeepsOnlyMethodsItCalls(t *testing.T) {
	bin := build(t, t.TempDir(), "handler", "handler")
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	lookups := map[string]bool{"reflect.Value.Method": true, "reflect.Value.MethodByName": true,
		"reflect.(*rtype).Method": true, "reflect.(*rtype).MethodByName": true}
	for _, s := range syms {
		if lookups[s.Name] {
			t.Errorf("the handler links %s: find what calls it with go build -o /dev/null -ldflags=-dumpdep ./handler 2>&1 | grep ReflectMethod", s.Name)
		}
	}
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
