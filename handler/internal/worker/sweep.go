package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/invoke"
	"mailmerge/handler/internal/lifecycle"
	"mailmerge/handler/internal/store"
)

// stepGrace is how late a step may be before the sweep enqueues another.
const stepGrace = 2 * time.Minute

// sweep settles what crashes leave behind: sending campaigns whose next
// step is overdue get a new one (which records rows "sending" past their
// claim's deadline as unknown), queued campaigns whose start was lost are
// started again, and cancelled campaigns not yet settled are settled.
func (w *Worker) sweep(ctx context.Context, _ invoke.Timer) error {
	now := w.Now().UTC()
	cs, err := w.Store.CampaignsToSweep(ctx, now.Add(-settleCancelWithin))
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range cs {
		if err := w.sweepCampaign(ctx, c, now); err != nil {
			errs = append(errs, fmt.Errorf("campaign %s: %w", c.ID, err))
		}
	}
	return errors.Join(errs...)
}

// settleCancelWithin is how long the sweep keeps looking at a cancelled
// campaign after its last step; each look that steps again restarts it.
const settleCancelWithin = 24 * time.Hour

// startGiveUp is how long a queued campaign may fail to start before the
// sweep stops trying and fails it.
const startGiveUp = time.Hour

func (w *Worker) sweepCampaign(ctx context.Context, c store.Campaign, now time.Time) error {
	switch c.Status {
	case campaign.Queued:
		if now.Sub(c.QueuedAt) < stepGrace {
			return nil
		}
		if now.Sub(c.QueuedAt) > startGiveUp {
			return w.Lifecycle.Fail(ctx, c, campaign.Reason{Code: "start_failed", Text: "the campaign could not be started within an hour"}, nil)
		}
		w.Logger.InfoContext(ctx, "sweep: start again", "campaign", c.ID)
		return w.Lifecycle.StartAgain(ctx, c)
	case campaign.Scheduled:
		// Its start is due and was lost (or the queue held it back).
		if now.Sub(c.StartAt) < stepGrace {
			return nil
		}
		w.Logger.InfoContext(ctx, "sweep: start a scheduled campaign again", "campaign", c.ID)
		return w.Lifecycle.StartWhenDue(ctx, c)
	case campaign.Cancelled:
		if !c.CompletedAt.IsZero() || now.Sub(c.NextStepAt) < stepGrace {
			return nil
		}
		return w.Lifecycle.SetStep(ctx, c, lifecycle.NewStep(), now)
	}
	// Claims past their deadline are settled by the step that comes next;
	// the sweep only makes sure one comes.
	if now.Sub(c.NextStepAt) >= stepGrace {
		w.Logger.InfoContext(ctx, "sweep: step again", "campaign", c.ID)
		return w.Lifecycle.SetStep(ctx, c, lifecycle.NewStep(), now)
	}
	return nil
}
