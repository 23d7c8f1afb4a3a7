// Package lifecycle owns a campaign's state: every change of a campaign's
// status happens here, through Move and campaign's transition table, on
// behalf of both the HTTP API (create, upload, pause, resume, cancel, the
// template email) and the workers (data read, start, fail, complete).
// It also hands the send step from one invocation to the next, queues
// the owner's notices about each change, and corrects a row only while
// its sending state allows it (Correct).
package lifecycle

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/store"
	"mailmerge/handler/internal/task"
	"mailmerge/handler/internal/words"
)

// Lifecycle changes campaigns' states.
type Lifecycle struct {
	Store  *store.Store
	Tasks  task.Queue
	Logger *slog.Logger
	Now    func() time.Time
}

// New returns a Lifecycle; now defaults to time.Now.
func New(st *store.Store, q task.Sender, logger *slog.Logger, now func() time.Time) *Lifecycle {
	if now == nil {
		now = time.Now
	}
	return &Lifecycle{Store: st, Tasks: task.Queue{Sender: q, Now: now, Logger: logger}, Logger: logger, Now: now}
}

func (l *Lifecycle) now() time.Time { return l.Now().UTC() }

// Move is the one place a campaign's status is set: it moves c to status
// to, with why (empty when it needs none), at now, if the transition
// table allows it, and is a Conflict otherwise.
func Move(c *store.Campaign, to campaign.Status, why campaign.Reason, now time.Time) error {
	if err := c.Status.To(to); err != nil {
		return apperr.Wrap(err, apperr.Conflict, "campaign_state", err.Error())
	}
	c.Status, c.Reason, c.UpdatedAt = to, why, now
	return nil
}

// moveData sets the state of the campaign's uploaded data, if the data
// transition table allows it.
func moveData(c *store.Campaign, d store.DataSummary) error {
	from := c.Data.Status
	if from == "" {
		from = campaign.DataNone
	}
	if err := from.To(d.Status); err != nil {
		return apperr.Wrap(err, apperr.Conflict, "data_state", err.Error())
	}
	c.Data = d
	return nil
}

// change moves campaign id to status to, with why, if it is in one of the
// states from; apply, when set, changes more in the same write. A campaign
// in none of from is left alone: moved is false.
func (l *Lifecycle) change(ctx context.Context, k account.Key, id string, from []campaign.Status, to campaign.Status, why campaign.Reason,
	apply func(*store.Campaign) error) (c store.Campaign, moved bool, err error) {
	c, err = l.Store.ModifyCampaign(ctx, k, id, func(c *store.Campaign) error {
		moved = false
		if !slices.Contains(from, c.Status) {
			return store.ErrUnchanged
		}
		if apply != nil {
			if err := apply(c); err != nil {
				return err
			}
		}
		if err := Move(c, to, why, l.now()); err != nil {
			return err
		}
		moved = true
		return nil
	})
	return c, moved, err
}

// Create stores a new campaign as a draft without data.
func (l *Lifecycle) Create(ctx context.Context, c store.Campaign) (store.Campaign, error) {
	c.Status, c.Data = campaign.Draft, store.DataSummary{Status: campaign.DataNone}
	c.CreatedAt, c.UpdatedAt = l.now(), l.now()
	return c, l.Store.CreateCampaign(ctx, c)
}

// Editable refuses a change that only a campaign not yet started may get.
func Editable(c store.Campaign, what string) error {
	if campaign.Editable(c.Status) {
		return nil
	}
	return apperr.E(apperr.Conflict, "campaign_started", "the campaign has started (it is %s); %s", words.CampaignIs(c.Status), what)
}
