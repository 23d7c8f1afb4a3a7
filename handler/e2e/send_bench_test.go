package e2e

import (
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailmerge/handler/internal/dev/testenv"
)

// cpuTicks reads a process's user+system CPU time in clock ticks (1/100 s).
func cpuTicks(t testing.TB, pid int) int64 {
	t.Helper()
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the ")" that ends the command name: utime is the 12th, stime the 13th.
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+1:]))
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s
}

// BenchmarkCampaign1000 sends a 1,000-row campaign end to end through the
// local host on Azurite, with the Graph sandbox's and our limits raised so
// that pacing does not set the pace: wall time from the template email to
// completed, and the handler's CPU time per message.
func BenchmarkCampaign1000(b *testing.B) {
	h := startHost(b, map[string]string{"SEND_PER_MINUTE": "100000", "SEND_PER_DAY": "10000000", "SEND_CONCURRENT": "8", "SEND_ABOVE_EXCHANGE_LIMITS": "true"},
		"-graph-per-minute", "-1", "-graph-concurrent", "-1", "-graph-per-day", "-1")
	tok, _ := h.signIn(b, "alice")
	const rows = 1000
	var wall time.Duration
	var ticks int64
	for i := 0; i < b.N; i++ {
		tag := testenv.Name("bench")
		b.StopTimer()
		id, token := h.readyCampaign(b, tok, people(tag, rows))
		pids := handlerPIDs(b, h.AppDir)
		if len(pids) != 1 {
			b.Fatalf("handler processes: %v", pids)
		}
		before := cpuTicks(b, pids[0])
		b.StartTimer()
		start := time.Now()
		h.sendTemplate(b, "alice", token, template{Subject: "Offer for {{First name}} " + tag,
			HTML: "<p class=MsoNormal>Dear {{First&nbsp;name}}, a plan for {{Company | your firm}}.<o:p></o:p></p>"})
		// Polled gently: each read counts the rows, which is the handler's work too.
		var c map[string]any
		for c = h.campaign(b, tok, id); c["status"] != "completed"; c = h.campaign(b, tok, id) {
			if time.Since(start) > 10*time.Minute {
				b.Fatalf("not completed after 10 minutes: %v", c)
			}
			time.Sleep(500 * time.Millisecond)
		}
		wall += time.Since(start)
		b.StopTimer()
		ticks += cpuTicks(b, pids[0]) - before
		if n := c["counts"].(map[string]any)["sent"]; n != float64(rows) {
			b.Fatalf("sent %v of %d", n, rows)
		}
		b.StartTimer()
	}
	if os.Getenv("BENCH_DUMP") != "" {
		_ = os.WriteFile(os.Getenv("BENCH_DUMP"), []byte(h.Output.String()), 0o644)
	}
	msgs := float64(b.N * rows)
	b.ReportMetric(wall.Seconds()/float64(b.N), "s/campaign")
	b.ReportMetric(msgs/wall.Seconds(), "msgs/s")
	b.ReportMetric(float64(ticks)*10_000/msgs, "cpu-µs/msg")
}

// BenchmarkPacingAccuracy runs a campaign at Exchange's 30 messages a
// minute against the Graph sandbox (which enforces the same limit) for 5
// minutes, and measures the rate achieved against the limit, how the sends
// are spread (the gaps between them) and the 429s seen.
func BenchmarkPacingAccuracy(b *testing.B) {
	const perMinute = 30
	const window = 5 * time.Minute
	h := startHost(b, nil)
	tok, _ := h.signIn(b, "alice")
	tag := testenv.Name("pace")
	id, token := h.readyCampaign(b, tok, people(tag, perMinute*6))
	b.ResetTimer()
	h.sendTemplate(b, "alice", token, template{Subject: "Hi {{First name}} " + tag, HTML: "<p>Hi {{First name}}</p>"})
	eventually(b, time.Minute, "the first message", func() bool { return len(h.sent(b, tag)) > 0 })
	time.Sleep(window + 5*time.Second)
	b.StopTimer()
	_, _ = h.call(b, "POST", "/v1/campaigns/"+id+"/cancel", tok, "")
	var times []time.Time
	for _, m := range h.sent(b, tag) {
		times = append(times, m.Time)
	}
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	n := sort.Search(len(times), func(i int) bool { return !times[i].Before(times[0].Add(window)) })
	if n < perMinute {
		b.Fatalf("only %d messages sent in %v", n, window)
	}
	var gaps []time.Duration
	for i := 1; i < n; i++ {
		gaps = append(gaps, times[i].Sub(times[i-1]))
	}
	slices.Sort(gaps)
	throttled := strings.Count(h.Output.String(), `"msg":"send throttled"`)
	if os.Getenv("BENCH_DUMP") != "" {
		_ = os.WriteFile(os.Getenv("BENCH_DUMP"), []byte(h.Output.String()), 0o644)
	}
	b.ReportMetric(float64(n)/window.Minutes(), "msgs/min")
	b.ReportMetric(100*float64(n)/(perMinute*window.Minutes()), "%-of-limit")
	b.ReportMetric(gaps[0].Seconds(), "min-gap-s")
	b.ReportMetric(gaps[len(gaps)/2].Seconds(), "median-gap-s")
	b.ReportMetric(gaps[len(gaps)-1].Seconds(), "max-gap-s")
	b.ReportMetric(float64(throttled), "429s")
}
