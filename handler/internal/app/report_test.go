package app

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/dev/devauth"
	"mailmerge/handler/internal/store"
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
		{Row: 2, Kind: "open", At: sent.Add(10 * time.Minute), Verdict: "human"},
		{Row: 2, Kind: "open", At: sent.Add(11 * time.Minute), Verdict: "human"},
		{Row: 2, Kind: "open", At: sent.Add(time.Second), Verdict: "automated", Rule: "too_soon"},
		{Row: 2, Kind: "click", Link: 1, URL: "https://contoso.example/offer", At: sent.Add(12 * time.Minute), Verdict: "human"},
		{Row: 2, Kind: "click", Link: 0, URL: "https://contoso.example/", At: sent.Add(2 * time.Second), Verdict: "automated", Rule: "too_soon"},
	} {
		ev.CampaignID = id
		if err := e.store.AddEvent(ctx, ev); err != nil {
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
