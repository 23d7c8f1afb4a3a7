package worker

import (
	"context"
	"errors"
	"net/url"
	"time"

	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/delivery"
	"mailmerge/handler/internal/store"
)

// Doubt tunes how a send whose answer was lost (a timeout, a 5xx, a crash
// while the row was claimed) is resolved when its owner lets us read the
// mailbox: the row stays "sending" and is looked for in the sender's
// mailbox by its Message-ID (docs/mailbox-reading.md). Found sent: it is
// sent. Found as a draft (accepted, not yet sent by Exchange): it is
// waited for, never sent again. Not found after Looks looks: it was never
// accepted, and is sent once more with the same Message-ID; after that, or
// when the mailbox cannot be read, it is unknown, as without reading.
type Doubt struct {
	// After is how long after the lost answer the first look is, and
	// the time between looks.
	After time.Duration
	// Looks is how many looks find nothing before the row is sent again.
	Looks int
	// Waiting is how many looks a message seen as a draft is waited for
	// before the row is called unknown.
	Waiting int
}

// DefaultDoubt: the first look 2 minutes after the lost answer, 3 looks
// (6 minutes) before a message never seen is sent again, an hour for one
// seen as a draft.
var DefaultDoubt = Doubt{After: 2 * time.Minute, Looks: 3, Waiting: 30}

// Why a row is in doubt, and how it ended.
var (
	inDoubt = campaign.Reason{Code: "in_doubt",
		Text: "Microsoft 365 gave no clear answer; we look in your mailbox for the message before sending it again"}
	notFoundResent = campaign.Reason{Code: "resent",
		Text: "the message was not in your mailbox after Microsoft 365 gave no clear answer, so it was sent again, once"}
	unreadable = campaign.Reason{Code: "no_answer",
		Text: "no clear answer from Microsoft 365, and your mailbox could not be read to check; the message may have been sent"}
	notSentInTime = campaign.Reason{Code: "no_answer",
		Text: "Microsoft 365 accepted the message but had not sent it an hour later; it may still go"}
	resentInDoubt = campaign.Reason{Code: "no_answer",
		Text: "no clear answer from Microsoft 365 for a message already sent again once; it may have been sent"}
)

// messageID is the Message-ID of row's message: the id its unsubscribe
// record is stored under (tracking.Keys.UnsubscribeIDs), so a reply or a
// bounce that names it finds the campaign and the row again, also after
// the campaign was deleted; it says nothing of either. "" without
// tracking keys.
func (w *Worker) messageID(c store.Campaign, row int) string {
	ids := w.Links.Keys.UnsubscribeIDs(c.Account, c.ID, row)
	u, err := url.Parse(w.Links.Base)
	if len(ids) == 0 || err != nil || u.Hostname() == "" {
		return ""
	}
	return "<" + ids[0] + "@" + u.Hostname() + ">"
}

// reads reports whether the campaign's owner lets us read the mailbox.
func (w *Worker) reads(ctx context.Context, c store.Campaign) bool {
	if w.Reader == nil {
		return false
	}
	a, err := w.Store.Account(ctx, c.Account)
	return err == nil && a.ReadMailbox && !a.Deleting()
}

// doubt keeps a claimed row whose answer was lost "sending", to be looked
// for in the mailbox; false when it cannot (no Message-ID, or the write
// failed), and the row is unknown as before.
func (w *Worker) doubt(ctx context.Context, c store.Campaign, r store.Recipient) bool {
	if r.MessageID == "" || w.Reader == nil {
		return false
	}
	now := w.Now().UTC()
	if _, err := w.Store.DoubtRecipient(ctx, c.ID, r, inDoubt, now.Add(w.Sending.Doubt.After), now); err != nil {
		w.Logger.WarnContext(ctx, "row not kept in doubt", "campaign", c.ID, "row", r.Row, "error", err.Error())
		return false
	}
	return true
}

// resolve settles row r, "sending" past its claim's deadline with a
// Message-ID, by looking in the mailbox (reading: the owner still lets
// us). It returns the row's final state ("" when it is not final: looked
// for again later, or sent again), and an error only when storage failed.
func (w *Worker) resolve(ctx context.Context, c store.Campaign, r store.Recipient, reading bool, now time.Time) (campaign.RowStatus, error) {
	d := w.Sending.Doubt
	final := func(status campaign.RowStatus, why campaign.Reason, at time.Time) (campaign.RowStatus, error) {
		_, err := w.Store.SetRecipientStatus(ctx, c.ID, r, status, why, at)
		if apperr.Is(err, apperr.Conflict) {
			return "", nil // changed meanwhile: its outcome is recorded
		}
		if err != nil {
			return "", err
		}
		return status, nil
	}
	again := func() (campaign.RowStatus, error) {
		_, err := w.Store.DoubtRecipient(ctx, c.ID, r, inDoubt, now.Add(d.After), now)
		if err != nil && !apperr.Is(err, apperr.Conflict) {
			return "", err
		}
		return "", nil
	}
	if !reading {
		return final(campaign.RowUnknown, unreadable, now)
	}
	found, err := w.Reader.FindSent(ctx, c.Account, r.MessageID)
	switch {
	case errors.Is(err, delivery.ErrUnreadable):
		return final(campaign.RowUnknown, unreadable, now)
	case err != nil:
		w.Logger.WarnContext(ctx, "mailbox look failed", "campaign", c.ID, "row", r.Row, "error", err.Error())
		if r.Looks >= d.Looks+d.Waiting {
			return final(campaign.RowUnknown, unreadable, now)
		}
		return again()
	case found.Sent:
		at := found.SentAt
		if at.IsZero() {
			at = now
		}
		return final(campaign.RowSent, campaign.Reason{}, at)
	case found.Waiting:
		if r.Looks >= d.Waiting {
			return final(campaign.RowUnknown, notSentInTime, now)
		}
		return again()
	case r.Looks < d.Looks:
		return again()
	case r.Resent:
		return final(campaign.RowUnknown, resentInDoubt, now)
	}
	// Never accepted: it goes once more, with the same Message-ID.
	_, err = w.Store.ResendRecipient(ctx, c.ID, r, notFoundResent, now)
	if err != nil && !apperr.Is(err, apperr.Conflict) {
		return "", err
	}
	w.Logger.InfoContext(ctx, "row not in the mailbox: sent again", "campaign", c.ID, "row", r.Row)
	return "", nil
}
