package lifecycle

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/dev/testenv"
	"mailmerge/handler/internal/sheet"
	"mailmerge/handler/internal/store"
)

// TestUnsubscribesCheckedAgainAtTheStart: rows to addresses on the list
// are skipped when they come in; when the list changes before the start,
// the start checks them again: an address added since is skipped, one
// taken off is to be sent (unless a row to be sent has the same
// recipients), and the campaign starts with those counts.
func TestUnsubscribesCheckedAgainAtTheStart(t *testing.T) {
	st, err := store.Open(testenv.Storage(t))
	if err != nil {
		t.Fatal(err)
	}
	l := New(st, &countingQueue{n: map[string]int{}}, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now)
	ctx := context.Background()
	k := account.Key{TenantID: testenv.Name("t"), ObjectID: testenv.Name("o")}
	suppress := func(addrs ...string) {
		t.Helper()
		for _, a := range addrs {
			if _, err := st.Suppress(ctx, k, []store.Suppression{{Address: a, At: time.Now(), Source: "added"}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	unsuppress := func(addrs ...string) {
		t.Helper()
		for _, a := range addrs {
			if err := st.UnsuppressKey(ctx, k, store.SuppressionKey(a)); err != nil {
				t.Fatal(err)
			}
		}
	}
	suppress("a@example.com", "b@example.com", "e@example.com")
	c, err := l.Create(ctx, store.Campaign{Account: k, ID: testenv.Name("c"), Name: "N", AddressHash: testenv.Name("h")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Upload(ctx, k, c.ID, func(store.Campaign) store.DataSummary {
		return store.DataSummary{Status: campaign.DataProcessing, UploadID: "u1"}
	}); err != nil {
		t.Fatal(err)
	}
	var read []sheet.Row
	for i, a := range []string{"a", "b", "c", "d", "e"} {
		read = append(read, sheet.Row{Row: i + 2, Cells: []string{a + "@example.com"}})
	}
	cols, rows, rep, err := campaign.Validate([]string{"Email"}, read)
	if err != nil {
		t.Fatal(err)
	}
	checked, err := l.SkipUnsubscribed(ctx, k, &cols, rows, &rep)
	if err != nil || checked == "" {
		t.Fatalf("check: %q %v", checked, err)
	}
	var recipients []store.Recipient
	for _, r := range rows {
		recipients = append(recipients, store.Recipient{Row: r.Row, Cells: r.Cells, Status: r.Status, Reason: r.Reason})
	}
	if err := st.ReplaceRecipients(ctx, c.ID, recipients); err != nil {
		t.Fatal(err)
	}
	data := store.DataSummary{Status: campaign.DataReady, Columns: cols.Names, Empty: cols.Empty, Rows: rep.Rows, ValidRows: rep.ValidRows,
		Report: string(rep.JSON()), Checked: checked}
	if _, err := l.DataRead(ctx, k, c.ID, "u1", data); err != nil {
		t.Fatal(err)
	}
	if c, _ = st.Campaign(ctx, k, c.ID); c.Data.ValidRows != 2 || c.Data.Checked != checked {
		t.Fatalf("read in: %d valid, checked %q", c.Data.ValidRows, c.Data.Checked)
	}
	// The list changes; row 5 is corrected to a, now off the list.
	unsuppress("a@example.com", "e@example.com")
	suppress("c@example.com")
	if _, err := l.Correct(ctx, c, 5, map[string]string{"Email": "a@example.com"}); err != nil {
		t.Fatal(err)
	}
	if c, err = l.Accept(ctx, k, c.ID, "m1", "o1", func(store.Campaign) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := l.Start(ctx, c, "Hello"); err != nil {
		t.Fatal(err)
	}
	want := map[int]campaign.RowStatus{2: campaign.RowSkipped, 3: campaign.RowSkipped, 4: campaign.RowSkipped, 5: campaign.RowPending, 6: campaign.RowPending}
	for row, status := range want {
		r, err := st.Recipient(ctx, c.ID, row)
		if err != nil || r.Status != status {
			t.Errorf("row %d: %s %+v %v, want %s", row, r.Status, r.Reason, err, status)
		}
		if row == 4 && r.Reason != campaign.Unsubscribed("c@example.com") {
			t.Errorf("row 4's reason: %+v", r.Reason)
		}
	}
	c, _ = st.Campaign(ctx, k, c.ID)
	if c.Status != campaign.Sending || c.Counts != (campaign.Counts{Pending: 2, Skipped: 3}) || c.Data.ValidRows != 2 || c.Data.Checked == checked {
		t.Errorf("started: %s %+v, %d valid, checked %q", c.Status, c.Counts, c.Data.ValidRows, c.Data.Checked)
	}
	var after campaign.Report
	if err := json.Unmarshal([]byte(c.Data.Report), &after); err != nil {
		t.Fatal(err)
	}
	// a, b and c: row 2 (a, off the list) stays skipped, row 5 sends to a.
	if after.ValidRows != 2 || after.Counts[campaign.CodeUnsubscribed] != 3 {
		t.Errorf("report after the start: %d valid, %v", after.ValidRows, after.Counts)
	}
}
