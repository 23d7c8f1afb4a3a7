package lifecycle

import (
	"context"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/store"
	"mailmerge/handler/internal/task"
	"mailmerge/handler/internal/words"
)

// PauseByOwner pauses a queued, scheduled or sending campaign at its
// owner's request: sending stops after the messages in flight (a
// scheduled one does not start). A paused one stays paused.
func (l *Lifecycle) PauseByOwner(ctx context.Context, k account.Key, id string) (store.Campaign, error) {
	why := campaign.Reason{Code: "paused_by_user", Text: "you paused the campaign"}
	c, err := l.Store.ModifyCampaign(ctx, k, id, func(c *store.Campaign) error {
		switch c.Status {
		case campaign.Paused:
			return store.ErrUnchanged
		case campaign.Queued, campaign.Scheduled, campaign.Sending:
			return Move(c, campaign.Paused, why, l.now())
		}
		return apperr.E(apperr.Conflict, "campaign_not_running", "only a queued, scheduled or sending campaign can be paused (it is %s)", words.CampaignIs(c.Status))
	})
	if err == nil {
		l.Logger.InfoContext(ctx, "campaign paused", "campaign", c.ID, "code", why.Code)
	}
	return c, err
}

// Resume continues a paused campaign where it stopped: queued when it
// never started, sending with a new step otherwise.
func (l *Lifecycle) Resume(ctx context.Context, k account.Key, id string) (store.Campaign, error) {
	c, err := l.Store.ModifyCampaign(ctx, k, id, func(c *store.Campaign) error {
		if c.Status != campaign.Paused {
			return apperr.E(apperr.Conflict, "campaign_not_paused", "only a paused campaign can be resumed (it is %s)", words.CampaignIs(c.Status))
		}
		if c.StartedAt.IsZero() {
			return Move(c, campaign.Queued, campaign.Reason{}, l.now())
		}
		return Move(c, campaign.Sending, campaign.Reason{}, l.now())
	})
	if err != nil {
		return c, err
	}
	step := NewStep()
	if c.Status == campaign.Queued {
		err = l.Tasks.Start(ctx, task.Start{Campaign: ref(c)}, "resume-"+c.ID+"-"+step)
	} else {
		err = l.SetStep(ctx, c, step, l.now())
	}
	if err != nil {
		// The sweep finds the campaign without a live step or start.
		l.Logger.WarnContext(ctx, "resume not enqueued", "campaign", c.ID, "error", err.Error())
	}
	l.Logger.InfoContext(ctx, "campaign resumed", "campaign", c.ID)
	return c, nil
}

// Cancel ends a queued, held, scheduled, sending or paused campaign for
// good: a step settles it (rows not yet sent are skipped).
func (l *Lifecycle) Cancel(ctx context.Context, k account.Key, id string) (store.Campaign, error) {
	why := campaign.Reason{Code: "cancelled_by_user", Text: "you cancelled the campaign"}
	c, err := l.Store.ModifyCampaign(ctx, k, id, func(c *store.Campaign) error {
		switch c.Status {
		case campaign.Queued, campaign.Review, campaign.Scheduled, campaign.Sending, campaign.Paused:
			return Move(c, campaign.Cancelled, why, l.now())
		}
		return apperr.E(apperr.Conflict, "campaign_not_running", "only a campaign that has its email and is not finished can be cancelled (it is %s)", words.CampaignIs(c.Status))
	})
	if err != nil {
		return c, err
	}
	if err := l.SetStep(ctx, c, NewStep(), l.now()); err != nil {
		l.Logger.WarnContext(ctx, "cancel not enqueued", "campaign", c.ID, "error", err.Error())
	}
	l.Logger.InfoContext(ctx, "campaign cancelled", "campaign", c.ID)
	return c, nil
}
