package lifecycle

import (
	"context"
	"slices"
	"strings"
	"time"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/notify"
	"mailmerge/handler/internal/store"
	"mailmerge/handler/internal/task"
)

// Accept queues a ready campaign for its start: the template email
// accepted, stored under originalID, is the one it sends. ok checks the
// campaign as read again (after a lost race) and may refuse. The start
// message's id makes a resent start a duplicate Service Bus drops.
//
// A campaign held for review or scheduled takes a newer email too: it
// replaces the held one (deleted), and the campaign is checked and held
// (or scheduled) again: a campaign in review waits for its owner to start
// it once more.
func (l *Lifecycle) Accept(ctx context.Context, k account.Key, id, inboundID, originalID string, ok func(store.Campaign) error) (store.Campaign, error) {
	var replaced string
	c, err := l.Store.ModifyCampaign(ctx, k, id, func(c *store.Campaign) error {
		if err := ok(*c); err != nil {
			return err
		}
		replaced = ""
		if c.Status == campaign.Review || c.Status == campaign.Scheduled {
			replaced = c.OriginalID
		}
		if err := Move(c, campaign.Queued, campaign.Reason{}, l.now()); err != nil {
			return err
		}
		c.InboundMessageID, c.OriginalID, c.QueuedAt, c.Refused = inboundID, originalID, l.now(), campaign.Reason{}
		c.StartConfirmedAt = time.Time{}
		return nil
	})
	if err != nil {
		return c, err
	}
	if replaced != "" && replaced != originalID {
		if err := l.Store.DeleteOriginal(ctx, c.Account, c.ID, replaced); err != nil {
			l.Logger.WarnContext(ctx, "replaced email not deleted", "campaign", c.ID, "error", err.Error())
		}
	}
	return c, l.Tasks.Start(ctx, task.Start{Campaign: ref(c)}, "start-"+c.ID+"-"+inboundID)
}

// Refuse gives back a queued campaign whose template email cannot be sent
// as it is (a placeholder that is no column, an attachment a row names
// that the email lacks): the email is refused, not the campaign. The
// campaign goes back to ready with the reason kept on it, naming every
// problem; no row changes; the held email is deleted; and the owner is
// told, in the same words, to send the corrected email to the same
// address, which is then accepted.
func (l *Lifecycle) Refuse(ctx context.Context, c store.Campaign, why campaign.Reason, problems []string) error {
	text := why.Text
	if len(problems) > 0 {
		text = strings.Join(problems, "\n") // a line each
	}
	refused := campaign.Reason{Code: why.Code, Text: campaign.Clip(text, 2000) + "\n" + fixByEmail}
	original := c.OriginalID
	c, moved, err := l.change(ctx, c.Account, c.ID, []campaign.Status{campaign.Queued}, campaign.Ready, campaign.Reason{},
		func(c *store.Campaign) error {
			c.Refused, c.OriginalID, c.QueuedAt = refused, "", time.Time{}
			return nil
		})
	if err != nil || !moved {
		return err
	}
	if original != "" {
		if err := l.Store.DeleteOriginal(ctx, c.Account, c.ID, original); err != nil {
			// It goes with the campaign at the latest.
			l.Logger.WarnContext(ctx, "refused email not deleted", "campaign", c.ID, "error", err.Error())
		}
	}
	l.Logger.InfoContext(ctx, "template email refused", "campaign", c.ID, "code", why.Code, "problems", len(problems))
	return l.Notify(ctx, c, notify.Notice{Kind: notify.Refused, Reason: campaign.Clip(text, 2000), Action: fixByEmail, Counts: notify.Counts{Total: c.Data.ValidRows}})
}

// RecordRefusal keeps on a campaign not yet started why the owner's
// latest template email was refused by the inbound webhook (an email
// before the data, an attachment too large or damaged), where the
// dashboard and the add-in show it, and tells the owner. A campaign
// started meanwhile is not this email's to mark.
func (l *Lifecycle) RecordRefusal(ctx context.Context, c store.Campaign, why campaign.Reason) {
	c, err := l.Store.ModifyCampaign(ctx, c.Account, c.ID, func(c *store.Campaign) error {
		if !campaign.Editable(c.Status) {
			return store.ErrUnchanged
		}
		c.Refused, c.UpdatedAt = why, l.now()
		return nil
	})
	if err != nil {
		l.Logger.WarnContext(ctx, "refusal not recorded", "campaign", c.ID, "error", err.Error())
	}
	n := notify.Notice{Kind: notify.Refused, Reason: why.Text, Counts: notify.Counts{Total: c.Data.ValidRows},
		Action: "Fix this, then send the email to the campaign's address again."}
	if err := l.Notify(ctx, c, n); err != nil {
		l.Logger.WarnContext(ctx, "refusal notice not queued", "campaign", c.ID, "error", err.Error())
	}
}

// fixByEmail ends every reason for a refused template email: what to do.
const fixByEmail = "Nothing was sent. Correct the email in Outlook and send it to this campaign's address again."

// Start turns a queued (or scheduled, now due) campaign into a sending
// one and hands it its first step. A campaign no longer in that state
// (started by a second delivery, paused or cancelled meanwhile) is left
// alone.
func (l *Lifecycle) Start(ctx context.Context, c store.Campaign, subject string) error {
	// The rows it starts with (and their counts) follow the unsubscribe
	// list as it is now.
	if c.Status == campaign.Queued || c.Status == campaign.Scheduled {
		if err := l.recheckUnsubscribes(ctx, c); err != nil {
			return err
		}
	}
	now := l.now()
	// Called only once its start time, if any, has come: from either.
	c, moved, err := l.change(ctx, c.Account, c.ID, []campaign.Status{campaign.Queued, campaign.Scheduled}, campaign.Sending, campaign.Reason{},
		func(c *store.Campaign) error {
			c.StartedAt, c.NextStepAt, c.Subject = now, now, campaign.Clip(subject, 200)
			c.Counts = campaign.Counts{Pending: c.Data.ValidRows, Skipped: c.Data.Rows - c.Data.ValidRows}
			c.CountedAt = now
			return nil
		})
	if err != nil || !moved {
		return err
	}
	if err := l.SetStep(ctx, c, NewStep(), now); err != nil {
		return err
	}
	l.Logger.InfoContext(ctx, "campaign started", "campaign", c.ID, "rows", c.Data.ValidRows)
	return l.Notify(ctx, c, notify.Notice{Kind: notify.Started, Counts: notify.Counts{Total: c.Data.ValidRows, Pending: c.Data.ValidRows}})
}

// Fail ends a queued or sending campaign that cannot be sent, and tells
// the owner. Its rows were never sent: they are skipped with the reason.
func (l *Lifecycle) Fail(ctx context.Context, c store.Campaign, why campaign.Reason, problems []string) error {
	if !slices.Contains([]campaign.Status{campaign.Queued, campaign.Sending}, c.Status) {
		return nil
	}
	if err := l.SkipPending(ctx, c, campaign.Reason{Code: why.Code, Text: "the campaign could not start: " + why.Text}); err != nil {
		return err
	}
	counts, err := l.Store.RecipientCounts(ctx, c.ID)
	if err != nil {
		return err
	}
	c, moved, err := l.change(ctx, c.Account, c.ID, []campaign.Status{campaign.Queued, campaign.Sending}, campaign.Failed, why,
		func(c *store.Campaign) error {
			c.CompletedAt, c.Counts, c.CountedAt = l.now(), campaign.CountsOf(counts), l.now()
			return nil
		})
	if err != nil || !moved {
		return err
	}
	l.Logger.InfoContext(ctx, "campaign failed", "campaign", c.ID, "code", why.Code, "problems", len(problems))
	return l.Notify(ctx, c, notify.Notice{Kind: notify.Failed, Reason: why.Text, Problems: problems,
		Action: "Correct the email or the spreadsheet, then start a new campaign; it can reuse this campaign's recipients.",
		Counts: notify.Counts{Total: c.Data.ValidRows}})
}

// Pause pauses a campaign in state from, for a reason the owner can act
// on, and tells them; a campaign no longer in that state is left alone.
func (l *Lifecycle) Pause(ctx context.Context, c store.Campaign, from campaign.Status, why campaign.Reason) error {
	c, moved, err := l.change(ctx, c.Account, c.ID, []campaign.Status{from}, campaign.Paused, why, nil)
	if err != nil || !moved {
		return err
	}
	l.Logger.InfoContext(ctx, "campaign paused", "campaign", c.ID, "code", why.Code)
	return l.Notify(ctx, c, notify.Notice{Kind: notify.Paused, Reason: why.Text, Action: "Open the Mail Merge add-in in Outlook, then press Resume."})
}

// Complete completes a sending campaign whose live step is step, with
// its exact counts, and tells the owner. A campaign paused, cancelled or
// handed to another step meanwhile is left alone.
func (l *Lifecycle) Complete(ctx context.Context, c store.Campaign, step string, counts campaign.Counts) error {
	c, moved, err := l.change(ctx, c.Account, c.ID, []campaign.Status{campaign.Sending}, campaign.Completed, campaign.Reason{},
		func(c *store.Campaign) error {
			if c.StepToken != step {
				return store.ErrUnchanged
			}
			c.CompletedAt, c.Counts, c.CountedAt = l.now(), counts, l.now()
			return nil
		})
	if err != nil || !moved {
		return err
	}
	nc := NoticeCounts(counts)
	l.Logger.InfoContext(ctx, "campaign completed", "campaign", c.ID, "sent", nc.Sent, "failed", nc.Failed, "unknown", nc.Unknown, "skipped", nc.Skipped)
	return l.Notify(ctx, c, notify.Notice{Kind: notify.Completed, Counts: nc})
}

// SkipPending marks every row not yet sent as skipped, with the reason.
func (l *Lifecycle) SkipPending(ctx context.Context, c store.Campaign, why campaign.Reason) error {
	now := l.now()
	for {
		rows, err := l.Store.RecipientsInStatus(ctx, c.ID, campaign.RowPending, 100)
		if err != nil || len(rows) == 0 {
			return err
		}
		for _, r := range rows {
			// Conditional: a row claimed meanwhile is that worker's to settle.
			if _, err := l.Store.SetRecipientStatus(ctx, c.ID, r, campaign.RowSkipped, why, now); err != nil && !apperr.Is(err, apperr.Conflict) {
				return err
			}
		}
	}
}
