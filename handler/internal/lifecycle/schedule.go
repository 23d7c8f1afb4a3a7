package lifecycle

import (
	"context"
	"time"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/notify"
	"mailmerge/handler/internal/store"
	"mailmerge/handler/internal/task"
	"mailmerge/handler/internal/words"
)

// Hold holds a queued campaign whose checked template email waits for its
// owner's review (start mode review), and tells them.
func (l *Lifecycle) Hold(ctx context.Context, c store.Campaign) error {
	c, moved, err := l.change(ctx, c.Account, c.ID, []campaign.Status{campaign.Queued}, campaign.Review, campaign.Reason{}, nil)
	if err != nil || !moved {
		return err
	}
	l.Logger.InfoContext(ctx, "campaign held for review", "campaign", c.ID)
	return l.Notify(ctx, c, notify.Notice{Kind: notify.Held, Counts: notify.Counts{Total: c.Data.ValidRows},
		Action: "Open the campaign in the dashboard or the Outlook add-in: preview any row, send yourself a test, then start it now or at a time."})
}

// Schedule makes a queued campaign whose checked template email waits for
// its start time scheduled, and queues its start for then.
func (l *Lifecycle) Schedule(ctx context.Context, c store.Campaign) error {
	c, moved, err := l.change(ctx, c.Account, c.ID, []campaign.Status{campaign.Queued}, campaign.Scheduled, campaign.Reason{},
		func(c *store.Campaign) error {
			// The sweep starts it if its start message is lost.
			c.NextStepAt = c.StartAt
			return nil
		})
	if err != nil || !moved {
		return err
	}
	l.Logger.InfoContext(ctx, "campaign scheduled", "campaign", c.ID, "in", time.Until(c.StartAt).Round(time.Second).String())
	return l.StartWhenDue(ctx, c)
}

// StartWhenDue queues the start of scheduled campaign c for its start
// time. A Storage queue holds a message back at most 7 days; a start that
// comes early is queued again by the start worker.
func (l *Lifecycle) StartWhenDue(ctx context.Context, c store.Campaign) error {
	return l.Tasks.StartAt(ctx, task.Start{Campaign: ref(c), At: c.StartAt}, "start-"+c.ID+"-"+c.StartAt.UTC().Format("20060102T150405.000"), c.StartAt)
}

// StartByOwner starts a campaign held for review or scheduled: now when at
// is zero or past, else at that time (scheduled). It is queued again, so
// the start worker checks it once more (the grant to send) and starts or
// schedules it; a later template email holds it for review again.
func (l *Lifecycle) StartByOwner(ctx context.Context, k account.Key, id string, at time.Time) (store.Campaign, error) {
	now := l.now()
	if !at.After(now) {
		at = time.Time{}
	}
	c, err := l.Store.ModifyCampaign(ctx, k, id, func(c *store.Campaign) error {
		switch c.Status {
		case campaign.Review, campaign.Scheduled:
		case campaign.Draft, campaign.Ready:
			return apperr.E(apperr.Conflict, "no_template", "the campaign has no template email yet: send your email to the campaign's address first")
		default:
			return apperr.E(apperr.Conflict, "campaign_started", "the campaign has started already (it is %s)", words.CampaignIs(c.Status))
		}
		c.StartAt, c.StartConfirmedAt = at, now
		return Move(c, campaign.Queued, campaign.Reason{}, now)
	})
	if err != nil {
		return c, err
	}
	if err := l.Tasks.Start(ctx, task.Start{Campaign: ref(c)}, "start-"+c.ID+"-"+now.Format("20060102T150405.000")); err != nil {
		// The sweep queues a lost start again.
		l.Logger.WarnContext(ctx, "start not enqueued", "campaign", c.ID, "error", err.Error())
	}
	l.Logger.InfoContext(ctx, "campaign started by its owner", "campaign", c.ID, "scheduled", !at.IsZero())
	return c, nil
}
