package app

import (
	"compress/gzip"
	"context"
	"io"
	"slices"
	"time"

	"mailmerge/handler/internal/backup"
	"mailmerge/handler/internal/invoke"
)

// backupTables runs every 5 minutes (backup.Period). The first run of each
// hour exports every table whole (backups/daily/...), the others only what
// changed since the previous export (backups/changes/...), so the tables
// can be restored to within 5 minutes of any point while the exports are
// kept; the first of each month is also kept as a monthly copy. Table
// storage has no point-in-time restore of its own: these are its recovery
// points (see package backup).
func (a *App) backupTables(ctx context.Context, _ invoke.Timer) error {
	now := a.Now().UTC()
	recent, err := a.exports(ctx, now)
	if err != nil {
		return err
	}
	hour := now.Truncate(time.Hour)
	fullThisHour := false
	for _, e := range recent {
		fullThisHour = fullThisHour || e.Kind == backup.Full && !e.Cutoff.Before(hour)
	}
	if last, ok := backup.Latest(recent); ok && fullThisHour {
		err = a.exportTables(ctx, backup.Container, backup.Name(backup.Changes, now), last.Cutoff.Add(-backup.Overlap))
	} else {
		err = a.exportTables(ctx, backup.Container, backup.Name(backup.Full, now), time.Time{})
	}
	if err != nil {
		return err
	}
	monthly, err := a.Backups.ListBlobs(ctx, backup.MonthlyContainer, "")
	if err != nil {
		return err
	}
	if !slices.Contains(monthly, backup.MonthlyName(now)) {
		if err := a.exportTables(ctx, backup.MonthlyContainer, backup.MonthlyName(now), time.Time{}); err != nil {
			return err
		}
	}
	return a.pruneExports(ctx, recent, monthly, now)
}

// exports lists the exports in the backups container up to now. A change
// export reaches back to the newest; with none this hour, the next export
// is whole.
func (a *App) exports(ctx context.Context, now time.Time) ([]backup.Export, error) {
	var out []backup.Export
	for _, kind := range []string{backup.Full, backup.Changes} {
		names, err := a.Backups.ListBlobs(ctx, backup.Container, kind)
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
// rule is relied on to delete from an immutable container.
func (a *App) pruneExports(ctx context.Context, exports []backup.Export, monthly []string, now time.Time) error {
	expired := backup.Expired(exports, now)
	for _, e := range expired {
		if err := a.Backups.DeleteBlob(ctx, backup.Container, e.Name); err != nil {
			return err
		}
	}
	old := backup.ExpiredMonthly(monthly, now)
	for _, n := range old {
		if err := a.Backups.DeleteBlob(ctx, backup.MonthlyContainer, n); err != nil {
			return err
		}
	}
	if len(expired)+len(old) > 0 {
		a.Logger.InfoContext(ctx, "expired exports deleted", "exports", len(expired), "monthly", len(old))
	}
	return nil
}

// exportTables streams the tables (all of them, or what changed since) to
// a gzip blob.
func (a *App) exportTables(ctx context.Context, container, name string, since time.Time) error {
	start := time.Now()
	var tables, entities int
	err := a.Backups.PutBlobStream(ctx, container, name, func(w io.Writer) error {
		zw := gzip.NewWriter(w)
		var err error
		if tables, entities, err = a.Store.ExportTables(ctx, zw, since); err != nil {
			return err
		}
		return zw.Close()
	})
	if err != nil {
		return err
	}
	a.Logger.InfoContext(ctx, "tables exported", "container", container, "blob", name, "whole", since.IsZero(),
		"tables", tables, "entities", entities, "ms", time.Since(start).Milliseconds())
	return nil
}
