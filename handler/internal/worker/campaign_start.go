package worker

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/merge"
	"mailmerge/handler/internal/store"
	"mailmerge/handler/internal/task"
)

// templateInvalid is why a template email whose placeholders do not fit
// the columns is refused.
var templateInvalid = campaign.Reason{Code: "template_invalid", Text: "The email's placeholders do not match the spreadsheet's columns."}

// start runs campaign-start: it turns a queued campaign into a sending
// one. The template must compile against the columns and every row's
// attachments must resolve; otherwise the email is refused, the campaign
// is ready again, and the owner is told what to fix.
func (w *Worker) start(ctx context.Context, m task.Start) error {
	c, err := w.Store.Campaign(ctx, m.Key, m.CampaignID)
	if apperr.Is(err, apperr.NotFound) {
		return nil // deleted meanwhile
	}
	if err != nil {
		return err
	}
	if gone, err := w.accountGone(ctx, c.Account); gone || err != nil {
		return err // its deletion removes the campaign
	}
	switch c.Status {
	case campaign.Queued:
	case campaign.Scheduled:
		return w.startScheduled(ctx, c, m)
	default:
		w.Logger.InfoContext(ctx, "start skipped", "campaign", c.ID, "status", c.Status)
		return nil
	}
	// A template that does not fit the rows is the email's problem, not
	// the campaign's: the email is refused and the campaign waits, ready,
	// for a corrected one.
	j, err := w.compile(ctx, c)
	var ce *merge.CompileError
	if errors.As(err, &ce) {
		problems := make([]string, 0, len(ce.Problems))
		for _, p := range ce.Problems {
			problems = append(problems, p.Sentence())
		}
		return w.Lifecycle.Refuse(ctx, c, templateInvalid, problems)
	}
	if err != nil {
		return err
	}
	if problems, err := w.checkAttachments(ctx, c, j); err != nil {
		return err
	} else if len(problems) > 0 {
		return w.Lifecycle.Refuse(ctx, c, campaign.Reason{Code: "attachments_invalid", Text: "Some rows name attachments the email does not have."}, problems)
	}
	// Checked: held for the owner's review, or waiting for its time, or
	// started now.
	if c.StartMode == campaign.HoldForReview && c.StartConfirmedAt.IsZero() {
		return w.Lifecycle.Hold(ctx, c)
	}
	if c.StartAt.After(w.Now()) {
		return w.Lifecycle.Schedule(ctx, c)
	}
	return w.startNow(ctx, c, j.subject)
}

// startNow starts a checked campaign, queued or scheduled, if we may send
// from its mailbox; else it pauses it until the owner gives the grant.
func (w *Worker) startNow(ctx context.Context, c store.Campaign, subject string) error {
	if w.Grants != nil {
		ok, err := w.Grants.Has(ctx, c.Account)
		if err != nil {
			return err
		}
		if !ok {
			return w.Lifecycle.Pause(ctx, c, c.Status, campaign.Reason{Code: "grant_missing", Text: "we have no permission to send from your mailbox yet"})
		}
	}
	return w.Lifecycle.Start(ctx, c, subject)
}

// startScheduled starts a scheduled campaign whose time has come. A start
// queued for an earlier schedule (the owner rescheduled since) does
// nothing; one that came early, as a Storage queue holds a message back
// at most 7 days, is queued again for the time.
func (w *Worker) startScheduled(ctx context.Context, c store.Campaign, m task.Start) error {
	if !m.At.IsZero() && !m.At.Equal(c.StartAt) {
		w.Logger.InfoContext(ctx, "start of an earlier schedule skipped", "campaign", c.ID)
		return nil
	}
	if c.StartAt.After(w.Now()) {
		return w.Lifecycle.StartWhenDue(ctx, c)
	}
	// Checked when it was scheduled: the template and the rows have not
	// changed since (a newer email queues it again).
	j, err := w.compile(ctx, c)
	if err != nil {
		return err
	}
	return w.startNow(ctx, c, j.subject)
}

// checkAttachments resolves every sendable row's Attachments cell against
// the template's attachments; it lists the rows that name unknown ones.
func (w *Worker) checkAttachments(ctx context.Context, c store.Campaign, j *job) ([]string, error) {
	if j.fields.Attachments < 0 {
		return nil, nil
	}
	var problems []string
	err := w.Store.ForEachRecipient(ctx, c.ID, func(r store.Recipient) error {
		if r.Status != campaign.RowPending {
			return nil
		}
		// The row's cell is not quoted: notices carry no spreadsheet data.
		if _, err := merge.ResolveAttachments(r.Cells, j.fields, j.atts); err != nil && len(problems) < 20 {
			problems = append(problems, fmt.Sprintf("Row %d names an attachment the email does not have (it has: %s).", r.Row, attachmentList(j.atts)))
		}
		return nil
	})
	return problems, err
}

// attachmentList names the template's attachments (not inline images).
func attachmentList(atts []merge.Attachment) string {
	var names []string
	for _, at := range atts {
		if !at.Inline() {
			names = append(names, strconv.Quote(at.Name))
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
