package app

import (
	"context"
	"time"

	"mailmerge/handler/internal/invoke"
)

// stalledDeletion is how long an account deletion may stay unfinished before
// the retention timer hands it to the worker again.
const stalledDeletion = 15 * time.Minute

// retention deletes what the privacy promises say must go: expired install
// debug entries. It also re-enqueues account deletions that were interrupted.
func (a *App) retention(ctx context.Context, t invoke.Timer) error {
	now := a.Now().UTC()
	expired, err := a.Store.DeleteExpiredDebugEntries(ctx, now)
	if err != nil {
		return err
	}
	pending, err := a.Store.PendingDeletions(ctx, now.Add(-stalledDeletion))
	if err != nil {
		return err
	}
	for _, d := range pending {
		if err := a.enqueueDeletion(ctx, d.Account); err != nil {
			return err
		}
	}
	a.Logger.InfoContext(ctx, "retention done", "expiredDebugEntries", expired, "resumedDeletions", len(pending), "pastDue", t.IsPastDue)
	return nil
}
