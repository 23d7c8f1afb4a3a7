package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/backup"
	"mailmerge/handler/internal/dev/testenv"
)

// TestBackupAndRestore: the backup timer exports the tables to the backup
// account, whole and then as changes, plus the month's copy; the restore
// command takes the tables back to a point in time, and never brings back a
// campaign its owner deleted.
func TestBackupAndRestore(t *testing.T) {
	t.Parallel()
	h := startHost(t, nil)
	st := openStore(t)
	ctx := context.Background()
	tok, alice := h.signIn(t, "alice")
	lost, _ := h.newCampaign(t, tok, `{"name":"Lost from the tables"}`)
	deleted, _ := h.newCampaign(t, tok, `{"name":"Deleted by its owner"}`)
	start := time.Now().UTC().Truncate(time.Second)
	// Exports past their keeping time go; younger ones stay.
	expired := backup.Name(backup.Full, start.Add(-backup.KeepExports-time.Hour))
	kept := backup.Name(backup.Changes, start.Add(-backup.KeepExports+time.Hour))
	expiredMonth := backup.MonthlyName(start.AddDate(0, -backup.KeepMonths-1, 0))
	for _, b := range []struct{ container, name string }{{backup.Container, expired}, {backup.Container, kept}, {backup.MonthlyContainer, expiredMonth}} {
		if err := st.PutBlob(ctx, b.container, b.name, gzipped("")); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { _ = st.DeleteBlob(ctx, backup.Container, kept) })

	// exported waits for an export of one of kinds, made since start, that holds text.
	exported := func(text string, kinds ...string) string {
		t.Helper()
		var found string
		eventually(t, 30*time.Second, "an export holding "+text, func() bool {
			var names []string
			for _, kind := range kinds {
				more, _ := st.ListBlobs(ctx, backup.Container, backup.DayPrefix(kind, time.Now()))
				names = append(names, more...)
			}
			for _, n := range names {
				e, err := backup.Parse(n)
				if err != nil || e.Cutoff.Before(start) {
					continue
				}
				if strings.Contains(readExport(t, backup.Container, n), text) {
					found = n
					return true
				}
			}
			return false
		})
		return found
	}
	h.runFunction(t, "backup", "")
	// The first export of an hour is whole; this test may not be the first.
	first, _ := backup.Parse(exported(`"RowKey":"`+deleted+`"`, backup.Full, backup.Changes))
	eventually(t, 30*time.Second, "this month's copy, and the expired exports gone", func() bool {
		monthly, _ := st.ListBlobs(ctx, backup.MonthlyContainer, "")
		exports, _ := st.ListBlobs(ctx, backup.Container, "")
		return slices.Contains(monthly, backup.MonthlyName(time.Now())) && !slices.Contains(monthly, expiredMonth) &&
			!slices.Contains(exports, expired) && slices.Contains(exports, kept)
	})

	// The owner deletes one campaign; the other's row is removed.
	if status, body := h.call(t, "DELETE", "/v1/campaigns/"+deleted, tok, ""); status != 202 {
		t.Fatalf("delete campaign: %d %v", status, body)
	}
	eventually(t, 30*time.Second, "the deletion to finish", func() bool {
		_, err := st.CampaignForDeletion(ctx, alice, deleted)
		return apperr.Is(err, apperr.NotFound)
	})
	if err := st.DeleteCampaignRow(ctx, alice, lost); err != nil {
		t.Fatal(err)
	}
	// The next export holds only what changed, the deletion's tombstone
	// among it (unless the hour turned meanwhile, making it whole).
	time.Sleep(time.Second)
	h.runFunction(t, "backup", "")
	next, _ := backup.Parse(exported(`"RowKey":"`+alice.String()+"|"+deleted+`"`, backup.Full, backup.Changes))
	if !next.Cutoff.After(first.Cutoff) {
		t.Errorf("export %s is not after %s", next.Name, first.Name)
	}
	if next.Kind == backup.Changes && strings.Contains(readExport(t, backup.Container, next.Name), `"RowKey":"`+lost+`"`) {
		t.Errorf("the unchanged campaign is in the change export %s", next.Name)
	}

	restore := build(t, t.TempDir(), "handler/cmd/restore", "restore")
	conn := testenv.IsolatedStorageConnectionString(t)
	run := func(at string) {
		t.Helper()
		cmd := exec.Command(restore, "-at", at, "-tables", "campaigns", "-partition", alice.String())
		cmd.Env = append(os.Environ(), "AzureWebJobsStorage="+conn, "BackupStorage="+conn)
		out, err := cmd.CombinedOutput()
		t.Logf("restore -at %s:\n%s", at, out)
		if err != nil {
			t.Fatal(err)
		}
	}
	// To the latest point, both are gone: one deleted by its owner, the
	// other's row removed before that point (recorded with the exports).
	run("latest")
	if _, err := st.Campaign(ctx, alice, lost); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("a campaign removed before the recovery point came back: %v", err)
	}
	// To the first export, the removed one is back; the deleted one never is.
	run(first.Cutoff.Format(time.RFC3339))
	if c, err := st.Campaign(ctx, alice, lost); err != nil || c.Name != "Lost from the tables" {
		t.Errorf("campaign after the restore to %s: %+v %v", first.Cutoff, c, err)
	}
	if _, err := st.CampaignForDeletion(ctx, alice, deleted); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("the deleted campaign came back: %v", err)
	}
}

// readExport reads a gzip export whole (tests only).
func readExport(t testing.TB, container, name string) string {
	t.Helper()
	raw, err := openStore(t).GetBlob(context.Background(), container, name)
	if err != nil {
		return ""
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return ""
	}
	text, _ := io.ReadAll(zr)
	return string(text)
}
func gzipped(text string) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte(text))
	_ = zw.Close()
	return buf.Bytes()
}
