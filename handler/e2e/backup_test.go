package e2e

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

// TestBackupTimer: the backup timer exports the tables to the backups
// container, daily and (once a month) monthly, gzip JSON lines.
func TestBackupTimer(t *testing.T) {
	h := startHost(t, nil)
	st := openStore(t)
	tok, _ := h.signIn(t, "alice")
	id, _ := h.newCampaign(t, tok, `{"name":"In the backup"}`)
	today := "daily/" + time.Now().UTC().Format("2006-01-02") + "/"
	h.runFunction(t, "backup", "")
	var name string
	eventually(t, 30*time.Second, "a daily export with the campaign", func() bool {
		names, _ := st.ListBlobs(context.Background(), "backups", today)
		for _, n := range names {
			raw, err := st.GetBlob(context.Background(), "backups", n)
			if err != nil {
				continue
			}
			zr, err := gzip.NewReader(bytes.NewReader(raw))
			if err != nil {
				continue
			}
			text, _ := io.ReadAll(zr)
			if strings.Contains(string(text), `"RowKey":"`+id+`"`) {
				name = n
				return true
			}
		}
		return false
	})
	// The monthly export follows the daily one.
	eventually(t, 30*time.Second, "this month's export", func() bool {
		monthly, _ := st.ListBlobs(context.Background(), "backups", "monthly/"+time.Now().UTC().Format("2006-01"))
		return len(monthly) == 1
	})
	t.Logf("exported to %s", name)
}
