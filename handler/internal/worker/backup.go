package worker

import (
	"compress/gzip"
	"context"
	"io"
	"slices"
	"time"

	"mailmerge/handler/internal/backup"
	"mailmerge/handler/internal/invoke"
)

// backupTables runs every 5 minutes (its schedule). The first run of each
// hour exports every table whole (backups/daily/...), the others only what
// changed since the previous export (backups/changes/...), so the tables
// can be restored to within 5 minutes of any point while the exports are
// kept; the first of each month is also kept as a monthly copy. Table
// storage has no point-in-time restore of its own: these are its recovery
// points (see package backup).
func (w *Worker) backupTables(ctx context.Context, _ invoke.Timer) error {
	now := w.Now().UTC()
	existing, err := w.exports(ctx, now)
	if err != nil {
		return err
	}
	hour := now.Truncate(time.Hour)
	fullThisHour := false
	for _, e := range existing {
		fullThisHour = fullThisHour || e.Kind == backup.Full && !e.Cutoff.Before(hour)
	}
	if last, ok := backup.Latest(existing); ok && fullThisHour {
		err = w.exportTables(ctx, backup.Container, backup.Name(backup.Changes, now), last.Cutoff.Add(-backup.Overlap))
	} else {
		err = w.exportTables(ctx, backup.Container, backup.Name(backup.Full, now), time.Time{})
	}
	if err != nil {
		return err
	}
	monthly, err := w.Backups.ListBlobs(ctx, backup.MonthlyContainer, "")
	if err != nil {
		return err
	}
	if !slices.Contains(monthly, backup.MonthlyName(now)) {
		if err := w.exportTables(ctx, backup.MonthlyContainer, backup.MonthlyName(now), time.Time{}); err != nil {
			return err
		}
	}
	w.pruneExports(ctx, existing, monthly, now)
	return nil
}

// exports lists the exports in the backups container up to now. A change
// export reaches back to the newest; with none this hour, the next export
// is whole.
func (w *Worker) exports(ctx context.Context, now time.Time) ([]backup.Export, error) {
	var out []backup.Export
	for _, kind := range []string{backup.Full, backup.Changes} {
		names, err := w.Backups.ListBlobs(ctx, backup.Container, kind)
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			if e, err := backup.Parse(n); err == nil && !e.Cutoff.After(now) {
				out = append(out, e)
			}
		}
	}
	return out, nil
}

// pruneExports deletes the exports and monthly copies that are past their
// keeping time: the containers are immutable until then, and no lifecycle
// rule is relied on to delete from an immutable container. A refused
// deletion is logged and tried again at the next run; the export itself
// has succeeded.
func (w *Worker) pruneExports(ctx context.Context, exports []backup.Export, monthly []string, now time.Time) {
	var deleted, refused int
	drop := func(container, name string) {
		if err := w.Backups.DeleteBlob(ctx, container, name); err != nil {
			refused++
			w.Logger.WarnContext(ctx, "expired export not deleted", "container", container, "blob", name, "error", err)
			return
		}
		deleted++
	}
	for _, e := range backup.Expired(exports, now) {
		drop(backup.Container, e.Name)
	}
	for _, n := range backup.ExpiredMonthly(monthly, now) {
		drop(backup.MonthlyContainer, n)
	}
	if deleted+refused > 0 {
		w.Logger.InfoContext(ctx, "expired exports deleted", "deleted", deleted, "refused", refused)
	}
}

// exportTables streams the tables (all of them, or what changed since) to
// a gzip blob in the backup account.
func (w *Worker) exportTables(ctx context.Context, container, name string, since time.Time) error {
	start := time.Now()
	var tables, entities int
	err := w.Backups.PutBlobStream(ctx, container, name, func(out io.Writer) error {
		zw := gzip.NewWriter(out)
		var err error
		if tables, entities, err = w.Store.ExportTables(ctx, zw, since); err != nil {
			return err
		}
		return zw.Close()
	})
	if err != nil {
		return err
	}
	w.Logger.InfoContext(ctx, "tables exported", "container", container, "blob", name, "whole", since.IsZero(),
		"tables", tables, "entities", entities, "ms", time.Since(start).Milliseconds())
	return nil
}
