package worker

import (
	"context"

	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/notify"
	"mailmerge/handler/internal/task"
)

// notify runs notify: it sends a notice through Postmark. A refusal Postmark will
// repeat (an inactive address, an invalid request) is logged and dropped;
// an outage is retried by the queue a bounded number of times.
func (w *Worker) notify(ctx context.Context, m task.Notice) error {
	acct, err := w.Store.Account(ctx, m.Key)
	if apperr.Is(err, apperr.NotFound) || err == nil && acct.Deleting() {
		return nil // deleted: nobody to tell
	}
	if err != nil {
		return err
	}
	if m.Notice.CampaignID != "" {
		// A notice about a campaign deleted meanwhile is not sent.
		if _, err := w.Store.Campaign(ctx, m.Key, m.Notice.CampaignID); apperr.Is(err, apperr.NotFound) {
			return nil
		} else if err != nil {
			return err
		}
	}
	m.Notice.To = acct.NotificationEmail
	if m.Notice.To == "" {
		m.Notice.To = acct.Email
	}
	if m.Notice.To == "" {
		w.Logger.InfoContext(ctx, "notice not sent: no address", "campaign", m.Notice.CampaignID, "kind", string(m.Notice.Kind))
		return nil
	}
	email, err := notify.Compose(m.Notice, w.NotifyFrom)
	if err != nil {
		return err
	}
	id, err := w.Notifier.Send(ctx, email)
	if apperr.Is(err, apperr.Invalid) {
		w.Logger.WarnContext(ctx, "notice refused by Postmark", "campaign", m.Notice.CampaignID, "kind", string(m.Notice.Kind), "code", apperr.CodeOf(err))
		return nil
	}
	if err != nil {
		return err
	}
	w.Logger.InfoContext(ctx, "notice sent", "campaign", m.Notice.CampaignID, "kind", string(m.Notice.Kind), "postmarkId", id)
	return nil
}
