package app

import (
	"compress/gzip"
	"context"
	"io"
	"time"

	"mailmerge/handler/internal/invoke"
)

// containerBackups holds the table exports. In Azure it is immutable, and
// lifecycle rules keep daily/ 35 days and monthly/ 12 months (infra/).
const containerBackups = "backups"

// backup exports every table to backups/daily/<date>/<hour>.jsonl.gz, and
// once a month to backups/monthly/<month>.jsonl.gz. Table storage has no
// point-in-time restore of its own; these exports are the tables' recovery
// points, so the tables can be recovered to the last hour.
func (a *App) backup(ctx context.Context, _ invoke.Timer) error {
	now := a.Now().UTC()
	daily := "daily/" + now.Format("2006-01-02/15") + ".jsonl.gz"
	if err := a.exportTables(ctx, daily); err != nil {
		return err
	}
	monthly := "monthly/" + now.Format("2006-01") + ".jsonl.gz"
	have, err := a.Store.ListBlobs(ctx, containerBackups, monthly)
	if err != nil {
		return err
	}
	if len(have) == 0 {
		return a.exportTables(ctx, monthly)
	}
	return nil
}

func (a *App) exportTables(ctx context.Context, name string) error {
	start := time.Now()
	var tables, entities int
	err := a.Store.PutBlobStream(ctx, containerBackups, name, func(w io.Writer) error {
		zw := gzip.NewWriter(w)
		var err error
		if tables, entities, err = a.Store.ExportTables(ctx, zw); err != nil {
			return err
		}
		return zw.Close()
	})
	if err != nil {
		return err
	}
	a.Logger.InfoContext(ctx, "tables exported", "blob", name, "tables", tables, "entities", entities, "ms", time.Since(start).Milliseconds())
	return nil
}
