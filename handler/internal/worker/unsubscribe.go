package worker

import (
	"context"

	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/store"
	"mailmerge/handler/internal/tracking"
)

// unsubscribe puts the To addresses of the event's row on its account's
// suppression list, and skips the row if it is not sent yet. A campaign
// deleted meanwhile leaves nothing to find the address by.
func (w *Worker) unsubscribe(ctx context.Context, e tracking.Event) (bool, error) {
	c, err := w.Store.Campaign(ctx, e.Account, e.CampaignID)
	if apperr.Is(err, apperr.NotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if gone, err := w.accountGone(ctx, c.Account); gone || err != nil {
		return false, err // its deletion removes the list too
	}
	r, err := w.Store.Recipient(ctx, c.ID, e.Row)
	if apperr.Is(err, apperr.NotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	to := campaign.Locate(c.Data.Columns).To
	if to < 0 || to >= len(r.Cells) {
		return false, nil
	}
	addrs, _ := campaign.ParseAddresses(r.Cells[to])
	source := "unsubscribe"
	if e.OneClick {
		source = "one-click"
	}
	list := make([]store.Suppression, 0, len(addrs))
	for _, a := range addrs {
		list = append(list, store.Suppression{Address: a.Address, At: e.At.UTC(), Source: source})
	}
	if err := w.Store.Suppress(ctx, c.Account, list); err != nil {
		return false, err
	}
	if r.Status == campaign.RowPending {
		if _, err := w.Store.SetRecipientStatus(ctx, c.ID, r, campaign.RowSkipped, unsubscribed, w.Now().UTC()); err == nil {
			_, _ = w.count(ctx, c, []campaign.RowStatus{campaign.RowSkipped})
		} else if !apperr.Is(err, apperr.Conflict) {
			return false, err
		}
	}
	w.Logger.InfoContext(ctx, "unsubscribed", "campaign", c.ID, "row", e.Row, "oneClick", e.OneClick)
	return true, nil
}

// unsubscribed is why a row to an address on the suppression list is
// not sent.
var unsubscribed = campaign.Reason{Code: "unsubscribed", Text: "the recipient unsubscribed from your emails"}
