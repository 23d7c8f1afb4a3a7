package app

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/dev/devauth"
	"mailmerge/handler/internal/dev/testenv"
	"mailmerge/handler/internal/queue"
	"mailmerge/handler/internal/store"
	"mailmerge/handler/internal/tracking"
	"mailmerge/handler/internal/worker"
)

// TestReport: counts, opens and clicks with people and machines apart,
// per link and per row; the CSV defuses formulas; another account gets 404.
func TestReport(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.installed(t, devauth.ContosoTenant)
	id := e.sendingWithRows(t, tok, 3)
	ctx := context.Background()
	sent := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	rows := []store.Recipient{
		{Row: 2, Cells: []string{"ann@contoso.example", "Ann"}, Status: campaign.RowSent, UpdatedAt: sent},
		{Row: 3, Cells: []string{"=HYPERLINK(\"https://evil.test\")", "Bob"}, Status: campaign.RowSkipped,
			Reason: campaign.Reason{Code: "address_invalid", Text: "-not an address"}},
		{Row: 4, Cells: []string{"cy@contoso.example", "Cy"}, Status: campaign.RowPending},
	}
	if err := e.store.ReplaceRecipients(ctx, id, rows); err != nil {
		t.Fatal(err)
	}
	// ReplaceRecipients does not keep UpdatedAt: mark row 2 sent as the worker does.
	r2, _ := e.store.Recipient(ctx, id, 2)
	r2.Status = campaign.RowSending
	if _, err := e.store.SetRecipientStatus(ctx, id, r2, campaign.RowSent, campaign.Reason{}, sent); err != nil {
		t.Fatal(err)
	}
	for _, ev := range []store.Event{
		{Row: 2, Kind: tracking.Open, At: sent.Add(10 * time.Minute), Verdict: tracking.Human},
		{Row: 2, Kind: tracking.Open, At: sent.Add(11 * time.Minute), Verdict: tracking.Human},
		{Row: 2, Kind: tracking.Open, At: sent.Add(time.Second), Verdict: tracking.Automated, Rule: "too_soon"},
		{Row: 2, Kind: tracking.Click, Link: 1, URL: "https://contoso.example/offer", At: sent.Add(12 * time.Minute), Verdict: tracking.Human},
		{Row: 2, Kind: tracking.Click, Link: 0, URL: "https://contoso.example/", At: sent.Add(2 * time.Second), Verdict: tracking.Automated, Rule: "too_soon"},
	} {
		ev.CampaignID = id
		if err := e.store.AddEvents(ctx, []store.Event{ev}); err != nil {
			t.Fatal(err)
		}
	}
	status, rep := e.do(t, "GET", "/v1/campaigns/"+id+"/report", tok, "")
	if status != 200 {
		t.Fatalf("report: %d %v", status, rep)
	}
	get := func(path ...string) any {
		var v any = rep
		for _, p := range path {
			v = v.(map[string]any)[p]
		}
		return v
	}
	for path, want := range map[string]float64{
		"opens.human.unique": 1, "opens.human.total": 2, "opens.automated.total": 1,
		"clicks.human.total": 1, "clicks.automated.total": 1, "counts.sent": 1, "counts.skipped": 1, "counts.pending": 1,
	} {
		if got := get(strings.Split(path, ".")...); got != want {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
	links := rep["links"].([]any)
	if len(links) != 2 || links[1].(map[string]any)["url"] != "https://contoso.example/offer" {
		t.Errorf("links %v", links)
	}
	row2 := rep["rows"].([]any)[0].(map[string]any)
	if row2["firstOpenAt"] != nil || row2["opens"] != float64(2) || row2["clicks"] != float64(1) || row2["sentAt"] == nil {
		t.Errorf("row 2 %v", row2)
	}
	hours := rep["hours"].([]any)
	if len(hours) != 1 || hours[0].(map[string]any)["sent"] != float64(1) || hours[0].(map[string]any)["opens"] != float64(2) {
		t.Errorf("hours %v", hours)
	}
	if h := hours[0].(map[string]any); h["automatedOpens"] != float64(1) || h["automatedClicks"] != float64(1) {
		t.Errorf("machines' opens and clicks in the hour: %v", h)
	}
	// One row left to send, the campaign sending: the estimate is one
	// interval at Exchange Online's 30 a minute from now.
	pace := rep["pace"].(map[string]any)
	finish, _ := time.Parse(time.RFC3339, fmt.Sprint(pace["finishBy"]))
	if pace["perMinute"] != float64(30) || pace["perDay"] != float64(10_000) || pace["remaining"] != float64(1) ||
		finish.Before(time.Now().Add(-time.Minute)) || finish.After(time.Now().Add(time.Minute)) {
		t.Errorf("pace %v", pace)
	}

	req, _ := http.NewRequest("GET", e.srv.URL+"/v1/campaigns/"+id+"/report?format=csv", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv: %d %s", resp.StatusCode, raw)
	}
	lines, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(raw), "\ufeff"))).ReadAll()
	if err != nil || len(lines) != 4 {
		t.Fatalf("csv %q: %v", raw, err)
	}
	if lines[2][1] != `'=HYPERLINK("https://evil.test")` || lines[2][3] != "'-not an address" {
		t.Errorf("row 3 in the CSV: %q", lines[2])
	}
	for _, line := range lines {
		for _, cell := range line {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("a cell a spreadsheet would read as a formula: %q", cell)
			}
		}
	}
	other, _ := e.installed(t, devauth.FabrikamTenant)
	if status, _ := e.do(t, "GET", "/v1/campaigns/"+id+"/report", other, ""); status != 404 {
		t.Errorf("another account: %d", status)
	}
}

// TestSafeCell: a cell that a spreadsheet could read as a formula is
// quoted, and so is one behind a leading LF or NUL (which a reader may
// drop); others are kept as they are.
func TestSafeCell(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"Ann", "Ann"},
		{"ann@example.com", "ann@example.com"},
		{"a=b", "a=b"},
		{`=HYPERLINK("https://evil.test")`, `'=HYPERLINK("https://evil.test")`},
		{"+1", "'+1"},
		{"-1", "'-1"},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"\t=1+1", "'\t=1+1"},
		{"\r=1+1", "'\r=1+1"},
		{"\n=1+1", "'\n=1+1"},
		{"\x00=1+1", "'\x00=1+1"},
	} {
		if got := safeCell(c.in); got != c.want {
			t.Errorf("safeCell(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// deliverEvents hands events to the tracking-events function as the queue
// would: in the messages task.Queue.Events makes of the recorder's
// batches, each through the invocation protocol.
func deliverEvents(tb testing.TB, e *env, events []tracking.Event) {
	tb.Helper()
	for start := 0; start < len(events); start += tracking.MaxBatch {
		if err := e.life.Tasks.Events(context.Background(), events[start:min(start+tracking.MaxBatch, len(events))]); err != nil {
			tb.Fatal(err)
		}
	}
	fn := worker.New(worker.Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Store: e.store, Lifecycle: e.life}).Functions()["tracking-events"]
	for _, m := range e.queue.On(queue.TrackingEvents) {
		body, _ := json.Marshal(map[string]any{"Data": map[string]string{"msg": string(m.Body)},
			"Metadata": map[string]string{"MessageId": strconv.Quote(testenv.Name("m")), "DequeueCount": "1"}})
		w := httptest.NewRecorder()
		fn.ServeHTTP(w, httptest.NewRequest("POST", "/tracking-events", bytes.NewReader(body)))
		if w.Code != http.StatusOK {
			tb.Fatalf("tracking-events: %d %s", w.Code, w.Body)
		}
	}
	e.queue.Reset()
}

// TestReportCountsEveryHit: a row hit more often than its events are
// stored still counts every hit, in the totals, per link and per hour
// (those not stored as a machine's), while the events stored stay few.
func TestReportCountsEveryHit(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.installed(t, devauth.ContosoTenant)
	id := e.sendingWithRows(t, tok, 3)
	ctx := context.Background()
	sent := time.Now().UTC().Add(-3 * time.Hour)
	r2, _ := e.store.Recipient(ctx, id, 2)
	r2.Status = campaign.RowSending
	if _, err := e.store.SetRecipientStatus(ctx, id, r2, campaign.RowSent, campaign.Reason{}, sent); err != nil {
		t.Fatal(err)
	}
	// One UTC hour after the send: 300 opens 12 s apart, half a
	// browser's, half curl's; 120 clicks 30 s apart on links 1 and 2.
	base := sent.Truncate(time.Hour).Add(time.Hour)
	const browser = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 Safari/537.36 Edg/128.0.0.0"
	var events []tracking.Event
	for i := range 300 {
		ua := browser
		if i%2 == 1 {
			ua = "curl/8.5.0"
		}
		events = append(events, tracking.Event{Kind: tracking.Open, CampaignID: id, Row: 2, At: base.Add(time.Duration(i) * 12 * time.Second), Method: "GET", UserAgent: ua})
	}
	for i := range 120 {
		link := 1 + i%2
		events = append(events, tracking.Event{Kind: tracking.Click, CampaignID: id, Row: 2, Link: link, URL: fmt.Sprintf("https://contoso.example/%d", link),
			At: base.Add(time.Duration(i)*30*time.Second + 7*time.Second), Method: "GET", UserAgent: browser})
	}
	deliverEvents(t, e, events)

	stored := map[string]int{}
	if err := e.store.ForEachEvent(ctx, id, func(ev store.Event) error {
		stored[fmt.Sprintf("%c %d", ev.Kind, ev.Link)]++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for k, n := range stored {
		if n > 50 {
			t.Errorf("%d events stored of %s in one hour, want at most 50 (the worker's bound)", n, k)
		}
	}
	status, rep := e.do(t, "GET", "/v1/campaigns/"+id+"/report", tok, "")
	if status != 200 {
		t.Fatalf("report: %d %v", status, rep)
	}
	total := func(kind string) float64 {
		s := rep[kind].(map[string]any)
		return s["human"].(map[string]any)["total"].(float64) + s["automated"].(map[string]any)["total"].(float64)
	}
	if total("opens") != 300 || total("clicks") != 120 {
		t.Errorf("opens %v, clicks %v, want 300 and 120", total("opens"), total("clicks"))
	}
	if a := rep["opens"].(map[string]any)["automated"].(map[string]any); a["unique"] != float64(1) || a["total"].(float64) < 150 {
		t.Errorf("machines' opens %v", a)
	}
	for _, l := range rep["links"].([]any) {
		l := l.(map[string]any)
		if n := l["human"].(map[string]any)["total"].(float64) + l["automated"].(map[string]any)["total"].(float64); n != 60 || l["url"] != fmt.Sprintf("https://contoso.example/%v", l["link"]) {
			t.Errorf("link %v: %v clicks, url %v", l["link"], n, l["url"])
		}
	}
	var opens, clicks float64
	for _, h := range rep["hours"].([]any) {
		h := h.(map[string]any)
		opens += h["opens"].(float64) + h["automatedOpens"].(float64)
		clicks += h["clicks"].(float64) + h["automatedClicks"].(float64)
		if n := h["opens"].(float64) + h["automatedOpens"].(float64); n != 0 && n != 300 {
			t.Errorf("hour %v: %v opens, want all 300 in it", h["hour"], n)
		}
	}
	if opens != 300 || clicks != 120 {
		t.Errorf("hours: %v opens, %v clicks", opens, clicks)
	}
}
