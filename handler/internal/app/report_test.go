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

// trackedWithRows is a campaign sending rows (Email, First name), made
// with the options of body (its name and tracking).
func (e *env) trackedWithRows(tb testing.TB, tok, body string, rows int) string {
	tb.Helper()
	ctx := context.Background()
	id := e.createCampaign(tb, tok, body)["id"].(string)
	c, err := e.life.Upload(ctx, keyOfToken(tb, e, tok), id, func(store.Campaign) store.DataSummary {
		return store.DataSummary{Status: campaign.DataProcessing, UploadID: "u1"}
	})
	if err != nil {
		tb.Fatal(err)
	}
	recipients := make([]store.Recipient, rows)
	for i := range recipients {
		recipients[i] = store.Recipient{Row: i + 2, Cells: []string{fmt.Sprintf("r%d@contoso.example", i+2), "Ann"}, Status: campaign.RowPending}
	}
	if err := e.store.ReplaceRecipients(ctx, id, recipients); err != nil {
		tb.Fatal(err)
	}
	data := store.DataSummary{Status: campaign.DataReady, Columns: []string{"Email", "First name"}, Rows: rows, ValidRows: rows}
	if _, err := e.life.DataRead(ctx, c.Account, id, "u1", data); err != nil {
		tb.Fatal(err)
	}
	if c, err = e.life.Accept(ctx, c.Account, id, "m1", "o1", func(store.Campaign) error { return nil }); err != nil {
		tb.Fatal(err)
	}
	if err := e.life.Start(ctx, c, "Hello"); err != nil {
		tb.Fatal(err)
	}
	return id
}

// markSent marks a row sent at at, as the send worker does.
func markSent(tb testing.TB, e *env, id string, row int, at time.Time) {
	tb.Helper()
	ctx := context.Background()
	r, err := e.store.Recipient(ctx, id, row)
	if err != nil {
		tb.Fatal(err)
	}
	r.Status = campaign.RowSending
	if _, err := e.store.SetRecipientStatus(ctx, id, r, campaign.RowSent, campaign.Reason{}, at); err != nil {
		tb.Fatal(err)
	}
}

// getCSV fetches path and returns the response and its body.
func getCSV(tb testing.TB, e *env, tok, path string) (*http.Response, string) {
	tb.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(raw)
}

// dig reads a value at a dotted path of a decoded JSON object; nil when
// there is none.
func dig(v any, path string) any {
	for _, p := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// TestReport: counts, opens and clicks with people and machines apart,
// per link and per row; the rates over the messages sent (people only);
// who opened or clicked; the CSV named after the campaign, its times
// with their zone, its cells defused; another account gets 404.
func TestReport(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.installed(t, devauth.ContosoTenant)
	id := e.trackedWithRows(t, tok, `{"name":"Frühling: launch/2026","trackOpens":true,"trackClicks":true}`, 4)
	ctx := context.Background()
	sent := time.Date(2026, 12, 1, 9, 30, 0, 0, time.UTC)
	rows := []store.Recipient{
		{Row: 2, Cells: []string{"ann@contoso.example", "Ann"}, Status: campaign.RowPending},
		{Row: 3, Cells: []string{"=HYPERLINK(\"https://evil.test\")", "Bob"}, Status: campaign.RowSkipped,
			Reason: campaign.Reason{Code: "address_invalid", Text: "-not an address"}},
		{Row: 4, Cells: []string{"cy@contoso.example", "Cy"}, Status: campaign.RowPending},
		{Row: 5, Cells: []string{"di@contoso.example", "Di"}, Status: campaign.RowPending},
	}
	if err := e.store.ReplaceRecipients(ctx, id, rows); err != nil {
		t.Fatal(err)
	}
	// ReplaceRecipients does not keep UpdatedAt: mark rows sent as the worker does.
	markSent(t, e, id, 2, sent)
	markSent(t, e, id, 5, sent.Add(40*time.Second))
	for _, ev := range []store.Event{
		{Row: 2, Kind: tracking.Open, At: sent.Add(10 * time.Minute), Verdict: tracking.Human},
		{Row: 2, Kind: tracking.Open, At: sent.Add(11 * time.Minute), Verdict: tracking.Human},
		{Row: 2, Kind: tracking.Open, At: sent.Add(time.Second), Verdict: tracking.Automated, Rule: "too_soon"},
		{Row: 2, Kind: tracking.Click, Link: 1, URL: "https://contoso.example/offer", At: sent.Add(12 * time.Minute), Verdict: tracking.Human},
		{Row: 2, Kind: tracking.Click, Link: 0, URL: "https://contoso.example/", At: sent.Add(2 * time.Second), Verdict: tracking.Automated, Rule: "too_soon"},
		// Row 5: only a scanner opened it; then it was unsubscribed from.
		{Row: 5, Kind: tracking.Open, At: sent.Add(41 * time.Second), Verdict: tracking.Automated, Rule: "too_soon"},
		{Row: 5, Kind: tracking.Unsubscribe, At: sent.Add(2 * time.Hour), Verdict: tracking.Human},
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
	for path, want := range map[string]any{
		"opens.human.unique": 1.0, "opens.human.total": 2.0, "opens.automated.total": 2.0,
		"clicks.human.total": 1.0, "clicks.automated.total": 1.0, "counts.sent": 2.0, "counts.skipped": 1.0, "counts.pending": 1.0,
		"counts.unsubscribed": 1.0, "rates.opens": 0.5, "rates.clicks": 0.5, "rates.unsubscribes": 0.5,
		"trackOpens": true, "trackClicks": true, "people.total": 1.0, "timelines.zone": "UTC",
		"timelines.sent.unit": "minute", "timelines.activity.unit": "minute",
	} {
		if got := dig(rep, path); got != want {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
	if _, ok := rep["rows"]; ok {
		t.Error("the JSON lists every row: it should list only the people, bounded")
	}
	links := rep["links"].([]any)
	if len(links) != 2 || links[1].(map[string]any)["url"] != "https://contoso.example/offer" {
		t.Errorf("links %v", links)
	}
	who := rep["people"].(map[string]any)["rows"].([]any)
	if len(who) != 1 {
		t.Fatalf("people %v, want row 2 alone (row 5 was opened by a machine only)", who)
	}
	row2 := who[0].(map[string]any)
	if row2["row"] != 2.0 || row2["to"] != "ann@contoso.example" || row2["firstOpenAt"] != sent.Add(10*time.Minute).Format(time.RFC3339) ||
		row2["firstClickAt"] != sent.Add(12*time.Minute).Format(time.RFC3339) || row2["opens"] != 2.0 || row2["clicks"] != 1.0 || row2["sentAt"] == nil {
		t.Errorf("row 2 %v", row2)
	}
	hours := rep["hours"].([]any)
	if len(hours) != 1 || hours[0].(map[string]any)["sent"] != float64(2) || hours[0].(map[string]any)["opens"] != float64(2) {
		t.Errorf("hours %v", hours)
	}
	if h := hours[0].(map[string]any); h["automatedOpens"] != float64(2) || h["automatedClicks"] != float64(1) {
		t.Errorf("machines' opens and clicks in the hour: %v", h)
	}
	// Sent within a minute: minutes, one of them with both messages.
	sentBuckets := dig(rep, "timelines.sent.buckets").([]any)
	if len(sentBuckets) != 10 || dig(sentBuckets[0], "sent") != 2.0 || dig(sentBuckets[0], "at") != "2026-12-01T09:30:00Z" {
		t.Errorf("sent timeline %v", sentBuckets)
	}
	var people, machines float64
	for _, b := range dig(rep, "timelines.activity.buckets").([]any) {
		people += dig(b, "opens").(float64) + dig(b, "clicks").(float64)
		machines += dig(b, "automatedOpens").(float64) + dig(b, "automatedClicks").(float64)
	}
	if people != 3 || machines != 3 {
		t.Errorf("activity timeline: %v by people, %v by machines; want 3 and 3", people, machines)
	}
	// One row left to send, the campaign sending: the estimate is one
	// interval at Exchange Online's 30 a minute from now.
	pace := rep["pace"].(map[string]any)
	finish, _ := time.Parse(time.RFC3339, fmt.Sprint(pace["finishBy"]))
	if pace["perMinute"] != float64(30) || pace["perDay"] != float64(10_000) || pace["remaining"] != float64(1) ||
		finish.Before(time.Now().Add(-time.Minute)) || finish.After(time.Now().Add(time.Minute)) {
		t.Errorf("pace %v", pace)
	}

	resp, raw := getCSV(t, e, tok, "/v1/campaigns/"+id+"/report?format=csv&zone=Europe/Paris")
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv: %d %s", resp.StatusCode, raw)
	}
	if got, want := resp.Header.Get("Content-Disposition"),
		`attachment; filename="Fr_hling launch 2026 - report.csv"; filename*=UTF-8''Fr%C3%BChling%20launch%202026%20-%20report.csv`; got != want {
		t.Errorf("Content-Disposition %s, want %s", got, want)
	}
	lines, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(raw, "\ufeff"))).ReadAll()
	if err != nil || len(lines) != 5 {
		t.Fatalf("csv %q: %v", raw, err)
	}
	if want := []string{"Row", "To", "Status", "Reason", "Sent at", "First open", "First click", "Opens", "Clicks", "Unsubscribed", "Replied", "Bounced", "Bounce"}; strings.Join(lines[0], "|") != strings.Join(want, "|") {
		t.Errorf("header %q", lines[0])
	}
	// In Paris's winter time, an hour ahead of UTC.
	if want := []string{"2", "ann@contoso.example", "Sent", "", "2026-12-01T10:30:00+01:00", "2026-12-01T10:40:00+01:00", "2026-12-01T10:42:00+01:00", "2", "1", "", "", "", ""}; strings.Join(lines[1], "|") != strings.Join(want, "|") {
		t.Errorf("row 2 in the CSV: %q, want %q", lines[1], want)
	}
	if lines[2][1] != `'=HYPERLINK("https://evil.test")` || lines[2][2] != "Skipped" || lines[2][3] != "'-not an address" {
		t.Errorf("row 3 in the CSV: %q", lines[2])
	}
	if lines[3][2] != "To send" {
		t.Errorf("row 4 in the CSV: %q", lines[3])
	}
	if lines[4][9] != "2026-12-01T12:30:00+01:00" || lines[4][5] != "" {
		t.Errorf("row 5 in the CSV: %q, want unsubscribed at 12:30 and no open by a person", lines[4])
	}
	for _, line := range lines {
		for _, cell := range line {
			if cell != "" && strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
				t.Errorf("a cell a spreadsheet would read as a formula: %q", cell)
			}
		}
	}
	// Without a zone: UTC, marked Z.
	if _, raw := getCSV(t, e, tok, "/v1/campaigns/"+id+"/report?format=csv"); !strings.Contains(raw, ",2026-12-01T09:30:00Z,") {
		t.Errorf("csv without a zone: %q", raw)
	}
	if status, body := e.do(t, "GET", "/v1/campaigns/"+id+"/report?zone=Mars/Olympus", tok, ""); status != 400 || !strings.Contains(fmt.Sprint(body), "Europe/Paris") {
		t.Errorf("an unknown zone: %d %v", status, body)
	}
	other, _ := e.installed(t, devauth.FabrikamTenant)
	if status, _ := e.do(t, "GET", "/v1/campaigns/"+id+"/report", other, ""); status != 404 {
		t.Errorf("another account: %d", status)
	}
}

// TestReportRepliesAndBounces: rows marked by the mailbox reader are
// counted (each once), their shares of the messages sent given, listed
// among the people with when and which kind, and in the CSV. Without
// reading, no share is given (not one of 0); found before reading was
// turned off, they are still shown.
func TestReportRepliesAndBounces(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.installed(t, devauth.ContosoTenant)
	ctx := context.Background()
	k := keyOfToken(t, e, tok)
	id := e.trackedWithRows(t, tok, `{"name":"Answers"}`, 4)
	sent := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	for row := 2; row <= 5; row++ {
		markSent(t, e, id, row, sent)
	}
	report := func() map[string]any {
		t.Helper()
		status, rep := e.do(t, "GET", "/v1/campaigns/"+id+"/report", tok, "")
		if status != 200 {
			t.Fatalf("report: %d %v", status, rep)
		}
		return rep
	}
	rep := report()
	if rates := rep["rates"].(map[string]any); rep["mailboxRead"] != false || rates["replies"] != nil || rates["bounces"] != nil || dig(rep, "counts.replied") != 0.0 {
		t.Errorf("reading off: mailboxRead %v, rates %v, counts %v", rep["mailboxRead"], rates, rep["counts"])
	}

	a, err := e.store.Account(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	a.StartReading(time.Now())
	if err := e.store.UpdateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	if rep = report(); rep["mailboxRead"] != true || dig(rep, "rates.replies") != 0.0 || dig(rep, "rates.bounces") != 0.0 {
		t.Errorf("reading on, nothing found: mailboxRead %v, rates %v", rep["mailboxRead"], rep["rates"])
	}
	replied, bounced := sent.Add(20*time.Minute), sent.Add(5*time.Minute)
	for row, m := range map[int]store.Mark{
		2: {RepliedAt: replied},
		3: {Bounce: store.BounceHard, BouncedAt: bounced},
		4: {Bounce: store.BounceSoft, BouncedAt: bounced.Add(time.Minute)},
	} {
		if _, err := e.store.MarkRecipient(ctx, id, row, m); err != nil {
			t.Fatal(err)
		}
	}
	// A second reply to row 2 changes nothing.
	if _, err := e.store.MarkRecipient(ctx, id, 2, store.Mark{RepliedAt: replied.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	// Turned off since: what was found is still shown.
	if a, err = e.store.Account(ctx, k); err == nil {
		a.StopReading()
		err = e.store.UpdateAccount(ctx, a)
	}
	if err != nil {
		t.Fatal(err)
	}
	rep = report()
	for path, want := range map[string]any{
		"mailboxRead": true, "counts.replied": 1.0, "counts.bounced": 2.0, "counts.bouncedSoft": 1.0,
		"rates.replies": 0.25, "rates.bounces": 0.5, "people.total": 3.0,
	} {
		if got := dig(rep, path); got != want {
			t.Errorf("%s = %v, want %v", path, got, want)
		}
	}
	who := dig(rep, "people.rows").([]any)
	if len(who) != 3 || dig(who[0], "row") != 3.0 || dig(who[1], "row") != 4.0 || dig(who[2], "row") != 2.0 {
		t.Fatalf("people %v, want rows 3, 4 and 2 (in the order of what happened first)", who)
	}
	if dig(who[0], "bounce") != "hard" || dig(who[0], "bouncedAt") != bounced.Format(time.RFC3339) || dig(who[1], "bounce") != "soft" ||
		dig(who[2], "repliedAt") != replied.Format(time.RFC3339) || dig(who[2], "bounce") != nil {
		t.Errorf("people %v", who)
	}
	_, raw := getCSV(t, e, tok, "/v1/campaigns/"+id+"/report?format=csv")
	lines, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(raw, "\ufeff"))).ReadAll()
	if err != nil || len(lines) != 5 {
		t.Fatalf("csv %q: %v", raw, err)
	}
	for i, want := range [][]string{
		{"Replied", "Bounced", "Bounce"},
		{replied.Format(time.RFC3339), "", ""},
		{"", bounced.Format(time.RFC3339), "not delivered"},
		{"", bounced.Add(time.Minute).Format(time.RFC3339), "delivery delayed"},
		{"", "", ""},
	} {
		if got := lines[i][10:]; strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("csv line %d: %q, want %q", i, got, want)
		}
	}
}

// TestReportTrackingOff: a campaign that counted neither opens nor clicks
// says so, and gives no rate for them (not a rate of 0); unsubscribes
// still have theirs.
func TestReportTrackingOff(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.installed(t, devauth.ContosoTenant)
	id := e.trackedWithRows(t, tok, `{"name":"Quiet"}`, 2)
	markSent(t, e, id, 2, time.Now().UTC().Add(-time.Hour))
	status, rep := e.do(t, "GET", "/v1/campaigns/"+id+"/report", tok, "")
	if status != 200 {
		t.Fatalf("report: %d %v", status, rep)
	}
	rates := rep["rates"].(map[string]any)
	for k, want := range map[string]any{"opens": nil, "clicks": nil, "unsubscribes": 0.0} {
		if got, ok := rates[k]; !ok || got != want {
			t.Errorf("rates.%s = %v (given: %v), want %v", k, got, ok, want)
		}
	}
	if rep["trackOpens"] != false || rep["trackClicks"] != false {
		t.Errorf("tracking %v %v", rep["trackOpens"], rep["trackClicks"])
	}
}

// TestReportUnsubscribe: an unsubscribe from a sent message, as the
// tracking-events function takes it from the queue, is counted on the
// campaign's report and its row, once however often it is delivered.
func TestReportUnsubscribe(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.installed(t, devauth.ContosoTenant)
	id := e.trackedWithRows(t, tok, `{"name":"Leaving","trackOpens":true}`, 3)
	sent := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	markSent(t, e, id, 2, sent)
	markSent(t, e, id, 3, sent)
	k := keyOfToken(t, e, tok)
	at := sent.Add(20 * time.Minute)
	unsub := tracking.Event{Kind: tracking.Unsubscribe, Account: k, CampaignID: id, Row: 3, At: at, Method: "POST", OneClick: true}
	deliverEvents(t, e, []tracking.Event{unsub})
	deliverEvents(t, e, []tracking.Event{unsub}) // delivered again
	if on, err := e.store.Suppressed(context.Background(), k, "r3@contoso.example"); err != nil || !on {
		t.Fatalf("row 3's address is not on the unsubscribe list: %v %v", on, err)
	}
	status, rep := e.do(t, "GET", "/v1/campaigns/"+id+"/report", tok, "")
	if status != 200 {
		t.Fatalf("report: %d %v", status, rep)
	}
	if dig(rep, "counts.unsubscribed") != 1.0 || dig(rep, "rates.unsubscribes") != 0.5 || dig(rep, "rates.opens") != 0.0 || dig(rep, "rates.clicks") != nil {
		t.Errorf("counts %v, rates %v", rep["counts"], rep["rates"])
	}
	_, raw := getCSV(t, e, tok, "/v1/campaigns/"+id+"/report?format=csv")
	lines, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(raw, "\ufeff"))).ReadAll()
	if err != nil || len(lines) != 4 {
		t.Fatalf("csv %q: %v", raw, err)
	}
	if lines[2][0] != "3" || lines[2][9] != at.Format(time.RFC3339) || lines[1][9] != "" {
		t.Errorf("unsubscribed column: %q, %q", lines[1], lines[2])
	}
}

// TestReportPeopleBounded: the JSON lists at most peopleShown of the
// people who opened, the first to open first, and counts them all.
func TestReportPeopleBounded(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.installed(t, devauth.ContosoTenant)
	n := peopleShown + 5
	id := e.trackedWithRows(t, tok, `{"name":"Big","trackOpens":true}`, n)
	sent := time.Now().UTC().Add(-48 * time.Hour).Truncate(time.Second)
	var events []store.Event
	for row := 2; row < n+2; row++ {
		markSent(t, e, id, row, sent)
		// The last rows opened first.
		events = append(events, store.Event{CampaignID: id, Row: row, Kind: tracking.Open, At: sent.Add(time.Duration(n+2-row) * time.Minute), Verdict: tracking.Human})
	}
	if err := e.store.AddEvents(context.Background(), events); err != nil {
		t.Fatal(err)
	}
	status, rep := e.do(t, "GET", "/v1/campaigns/"+id+"/report", tok, "")
	if status != 200 {
		t.Fatalf("report: %d %v", status, rep)
	}
	rows := dig(rep, "people.rows").([]any)
	if dig(rep, "people.total") != float64(n) || len(rows) != peopleShown || dig(rows[0], "row") != float64(n+1) || dig(rows[peopleShown-1], "row") != 7.0 {
		t.Errorf("people: total %v, %d listed, first row %v, last %v", dig(rep, "people.total"), len(rows), dig(rows[0], "row"), dig(rows[len(rows)-1], "row"))
	}
	if dig(rep, "rates.opens") != 1.0 {
		t.Errorf("rates %v", rep["rates"])
	}
	// Opens over almost two hours: still minutes, no more than 120 and some.
	if u, b := dig(rep, "timelines.activity.unit"), dig(rep, "timelines.activity.buckets").([]any); u != "minute" || len(b) < 100 || len(b) > 121 {
		t.Errorf("activity timeline: %v, %d buckets", u, len(b))
	}
}

// TestTimelineUnits: the unit fits the span (minutes for a short one,
// hours for a day, days and weeks beyond), buckets follow the zone's
// clocks, and there are at least minBuckets of them.
func TestTimelineUnits(t *testing.T) {
	at := time.Date(2026, 3, 28, 22, 10, 30, 0, time.UTC)
	paris, _ := time.LoadLocation("Europe/Paris")
	kolkata, _ := time.LoadLocation("Asia/Kolkata")
	for _, c := range []struct {
		name              string
		start             time.Time
		span              time.Duration
		loc               *time.Location
		unit              timeUnit
		buckets           int
		firstAt, secondAt string
	}{
		{"sent in a minute", at, 40 * time.Second, time.UTC, unitMinute, 10, "2026-03-28T22:10:00Z", "2026-03-28T22:11:00Z"},
		{"an hour and a half", at, 90 * time.Minute, time.UTC, unitMinute, 91, "2026-03-28T22:10:00Z", "2026-03-28T22:11:00Z"},
		{"a day, in hours, half an hour off UTC", at, 20 * time.Hour, kolkata, unitHour, 21, "2026-03-28T21:30:00Z", "2026-03-28T22:30:00Z"},
		// Paris moves its clocks on 29 March: that day is 23 hours long.
		{"ten days, in Paris's days", at.Add(12 * time.Hour), 10 * 24 * time.Hour, paris, unitDay, 11, "2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z"},
		{"a year, in weeks from Monday", at, 365 * 24 * time.Hour, time.UTC, unitWeek, 53, "2026-03-23T00:00:00Z", "2026-03-30T00:00:00Z"},
	} {
		m := newMinuteCounts()
		m.addSent(c.start)
		m.addSent(c.start.Add(c.span))
		tl := m.timelines(c.loc).Sent
		if tl.Unit != c.unit || len(tl.Buckets) != c.buckets {
			t.Errorf("%s: %s, %d buckets; want %s, %d", c.name, tl.Unit, len(tl.Buckets), c.unit, c.buckets)
			continue
		}
		if got := tl.Buckets[0].At.Format(time.RFC3339); got != c.firstAt {
			t.Errorf("%s: first bucket at %s, want %s", c.name, got, c.firstAt)
		}
		if got := tl.Buckets[1].At.Format(time.RFC3339); got != c.secondAt {
			t.Errorf("%s: second bucket at %s, want %s", c.name, got, c.secondAt)
		}
		n := 0
		for _, b := range tl.Buckets {
			n += b.Sent
		}
		if n != 2 || tl.Buckets[0].Sent == 0 {
			t.Errorf("%s: %d sent in the buckets, %d in the first", c.name, n, tl.Buckets[0].Sent)
		}
	}
}

// TestReportFileName: the CSV is named after the campaign, with what no
// file name may hold left out, and given in full as RFC 5987 says.
func TestReportFileName(t *testing.T) {
	for _, c := range []struct{ campaign, file, header string }{
		{"Spring launch", "Spring launch - report.csv", `attachment; filename="Spring launch - report.csv"; filename*=UTF-8''Spring%20launch%20-%20report.csv`},
		{`a/b\c:d*e?f"g<h>i|j`, "a b c d e f g h i j - report.csv", ""},
		{"  ..Tabs\tand\nlines.. ", "Tabs and lines - report.csv", ""},
		{"", "Campaign - report.csv", ""},
		{"Été 2026 – offre", "Été 2026 – offre - report.csv", `attachment; filename="_t_ 2026 _ offre - report.csv"; filename*=UTF-8''%C3%89t%C3%A9%202026%20%E2%80%93%20offre%20-%20report.csv`},
		{strings.Repeat("x", 150), strings.Repeat("x", 100) + " - report.csv", ""},
	} {
		if got := reportFileName(c.campaign); got != c.file {
			t.Errorf("reportFileName(%q) = %q, want %q", c.campaign, got, c.file)
		}
		if c.header != "" {
			if got := attachment(c.file); got != c.header {
				t.Errorf("attachment(%q) = %s, want %s", c.file, got, c.header)
			}
		}
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
