package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/backup"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/config"
	"mailmerge/handler/internal/dev/testenv"
	"mailmerge/handler/internal/lifecycle"
	"mailmerge/handler/internal/store"
)

// The tables come back as they were at a point in time: the whole export
// before it plus the change exports up to it, from the backup account.
func TestRestoreToPointInTime(t *testing.T) {
	ctx := context.Background()
	conn := testenv.StorageConnectionString(t)
	env := map[string]string{config.Storage: conn, config.BackupStorage: conn}
	getenv := func(k string) string { return env[k] }
	st, err := store.Open(config.Connection{Name: config.Storage, ConnectionString: conn})
	if err != nil {
		t.Fatal(err)
	}
	prefix := testenv.Name("rst")
	k := account.Key{TenantID: prefix + "t", ObjectID: "o"}
	id := prefix + "c"
	// Cutoffs on a random hour weeks ahead, where no other test writes and
	// the backup timer neither reads nor deletes.
	base := time.Now().UTC().Truncate(time.Hour).Add(time.Duration(500+rand.IntN(8000)) * time.Hour)
	export := func(kind string, cutoff, since time.Time) {
		t.Helper()
		err := st.PutBlobStream(ctx, backup.Container, backup.Name(kind, cutoff), func(w io.Writer) error {
			zw := gzip.NewWriter(w)
			if _, _, err := st.ExportTables(ctx, zw, since); err != nil {
				return err
			}
			return zw.Close()
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	rename := func(name string) {
		t.Helper()
		if _, err := st.ModifyCampaign(ctx, k, id, func(c *store.Campaign) error { c.Name = name; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.CreateCampaign(ctx, store.Campaign{Account: k, ID: id, Name: "v1", Status: campaign.Sending, AddressHash: testenv.Name("h")}); err != nil {
		t.Fatal(err)
	}
	if err := st.ReplaceRecipients(ctx, id, []store.Recipient{{Row: 2, Cells: []string{"a@contoso.example"}, Status: campaign.RowSending}, {Row: 3, Cells: []string{"b@contoso.example"}, Status: campaign.RowPending}}); err != nil {
		t.Fatal(err)
	}
	export(backup.Full, base, time.Time{})
	since := time.Now().Add(-backup.Overlap)
	rename("v2")
	export(backup.Changes, base.Add(5*time.Minute), since)
	since = time.Now().Add(-backup.Overlap)
	rename("v3")
	export(backup.Changes, base.Add(10*time.Minute), since)
	if err := st.DeleteCampaignRow(ctx, k, id); err != nil {
		t.Fatal(err)
	}

	restore := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		if err := run(ctx, append([]string{"restore", "-partition", prefix}, args...), getenv, &out); err != nil {
			t.Fatalf("restore %v: %v\n%s", args, err, out.String())
		}
		return out.String()
	}
	out := restore("-dry-run", "-at", base.Add(7*time.Minute).Format(time.RFC3339))
	if !strings.Contains(out, "plan: 2 exports; recovery point "+base.Add(5*time.Minute).Format(time.RFC3339)) {
		t.Errorf("dry run said:\n%s", out)
	}
	if _, err := st.Campaign(ctx, k, id); !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("a dry run wrote: %v", err)
	}
	for _, c := range []struct {
		at   time.Duration
		want string
	}{{7 * time.Minute, "v2"}, {10 * time.Minute, "v3"}, {0, "v1"}} {
		out := restore("-at", base.Add(c.at).Format(time.RFC3339))
		got, err := st.Campaign(ctx, k, id)
		if err != nil || got.Name != c.want {
			t.Errorf("restored to +%v: %q, %v; want %q\n%s", c.at, got.Name, err, c.want, out)
		}
		// A campaign that was sending waits for its owner; the row in
		// flight may have been sent, the pending one stays pending.
		if got.Status != campaign.Paused || got.Reason.Code != "restored_from_backup" || !strings.Contains(got.Reason.Text, base.Add(c.at.Truncate(5*time.Minute)).Format("15:04")) {
			t.Errorf("restored to +%v: %s %s %q", c.at, got.Status, got.Reason.Code, got.Reason.Text)
		}
		if !strings.Contains(out, "paused 1 running campaigns") {
			t.Errorf("restore output:\n%s", out)
		}
	}
	for row, want := range map[int]campaign.RowStatus{2: campaign.RowUnknown, 3: campaign.RowPending} {
		if r, err := st.Recipient(ctx, id, row); err != nil || r.Status != want {
			t.Errorf("row %d: %s %v, want %s", row, r.Status, err, want)
		}
	}
	// Writing back only a campaign's rows holds it too: a row that reads
	// pending again may have been sent.
	// As the owner resumes it.
	if _, err := st.ModifyCampaign(ctx, k, id, func(c *store.Campaign) error {
		return lifecycle.Move(c, campaign.Sending, campaign.Reason{}, time.Now())
	}); err != nil {
		t.Fatal(err)
	}
	restore("-at", base.Add(10*time.Minute).Format(time.RFC3339), "-tables", "recipients", "-partition", id)
	if c, err := st.Campaign(ctx, k, id); err != nil || c.Status != campaign.Paused {
		t.Errorf("after restoring its rows the campaign is %s (%v), want paused", c.Status, err)
	}

	// Mistakes are explained, and nothing is written.
	for _, args := range [][]string{{}, {"-at", "yesterday"}, {"-at", "2000-01-01T00:00:00Z"}, {"-backup", "no-container"}} {
		var out bytes.Buffer
		if err := run(ctx, append([]string{"restore"}, args...), getenv, &out); err == nil {
			t.Errorf("restore %v succeeded:\n%s", args, out.String())
		} else {
			t.Logf("restore %v: %v", args, err)
		}
	}
}
