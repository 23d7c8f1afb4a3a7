package store

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"mailmerge/handler/internal/dev/testenv"
)

// BenchmarkExport: what the backup timer costs with 100,000 recipient rows
// in the tables: a whole export (first run of each hour) and a change
// export that finds nothing new (the other eleven), which still scans.
func BenchmarkExport(b *testing.B) {
	st, err := Open(testenv.Storage(b))
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	const rows = 100_000
	for c := range 10 {
		id := testenv.Name(fmt.Sprintf("bench%d-", c))
		batch := make([]Recipient, rows/10)
		for i := range batch {
			batch[i] = Recipient{Row: i + 2, Cells: []string{fmt.Sprintf("r%d@contoso.example", i), "First", "Last", "Company"}, Status: "pending"}
		}
		if err := st.ReplaceRecipients(ctx, id, batch); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _, _ = st.DeleteRecipients(ctx, id) })
	}
	for _, c := range []struct {
		name  string
		since time.Time
	}{{"whole", time.Time{}}, {"changes", time.Now().Add(time.Minute)}} {
		b.Run(c.name, func(b *testing.B) {
			var entities int
			for b.Loop() {
				_, n, err := st.ExportTables(ctx, io.Discard, c.since)
				if err != nil {
					b.Fatal(err)
				}
				entities = n
			}
			b.ReportMetric(float64(entities), "entities")
		})
	}
}
