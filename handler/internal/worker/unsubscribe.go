package worker

import (
	"context"
	"slices"

	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/store"
	"mailmerge/handler/internal/tracking"
)

// unsubscribe puts every address the event's message went to (To, CC and
// BCC) on its account's suppression list, and skips the row if it is not
// sent yet. What a sent message went to is kept apart from the campaign
// (store.UnsubscribeLink), so an unsubscribe after the owner deleted the
// campaign still holds: the list then gets the addresses' keys alone.
// While the campaign is kept, its row names the addresses, which the
// owner's list shows. Only a deleted account leaves nothing to do: its
// list is gone and nothing is sent from it any more.
func (w *Worker) unsubscribe(ctx context.Context, e tracking.Event) (bool, error) {
	if gone, err := w.accountGone(ctx, e.Account); gone || err != nil {
		return false, err
	}
	var keys []string
	for _, id := range w.Links.Keys.UnsubscribeIDs(e.Account, e.CampaignID, e.Row) {
		l, err := w.Store.UnsubscribeLinkOf(ctx, id)
		if apperr.Is(err, apperr.NotFound) {
			continue
		}
		if err != nil {
			return false, err
		}
		if l.Account == e.Account && l.CampaignID == e.CampaignID && l.Row == e.Row {
			keys = l.Keys
			break
		}
	}
	source := "unsubscribe"
	switch {
	case e.ByEmail:
		source = "email"
	case e.OneClick:
		source = "one-click"
	}
	var list []store.Suppression
	r, c, err := w.unsubscribedRow(ctx, e)
	if err != nil {
		return false, err
	}
	if r != nil {
		fields := campaign.Locate(c.Data.Columns)
		for _, col := range []int{fields.To, fields.CC, fields.BCC} {
			if col < 0 || col >= len(r.Cells) {
				continue
			}
			addrs, _ := campaign.ParseAddresses(r.Cells[col])
			for _, a := range addrs {
				list = append(list, store.Suppression{Address: a.Address, At: e.At.UTC(), Source: source})
				keys = slices.DeleteFunc(keys, func(k string) bool { return k == store.SuppressionKey(a.Address) })
			}
		}
	}
	for _, k := range keys {
		list = append(list, store.Suppression{Key: k, At: e.At.UTC(), Source: source})
	}
	if len(list) == 0 {
		w.Logger.InfoContext(ctx, "unsubscribe of a message never sent", "campaign", e.CampaignID, "row", e.Row)
		return false, nil
	}
	if _, err := w.Store.Suppress(ctx, e.Account, list); err != nil {
		return false, err
	}
	if r != nil {
		if err := w.noteUnsubscribe(ctx, c.ID, r.Row, e); err != nil {
			return false, err
		}
	}
	if r != nil && r.Status == campaign.RowPending {
		if _, err := w.Store.SetRecipientStatus(ctx, c.ID, *r, campaign.RowSkipped, unsubscribed, w.Now().UTC()); err == nil {
			_, _ = w.count(ctx, c, []campaign.RowStatus{campaign.RowSkipped})
		} else if !apperr.Is(err, apperr.Conflict) {
			return false, err
		}
	}
	w.Logger.InfoContext(ctx, "unsubscribed", "campaign", e.CampaignID, "row", e.Row, "addresses", len(list), "source", source)
	return true, nil
}

// noteUnsubscribe stores the unsubscribe as an event of its row, for the
// campaign's report (how many unsubscribed, and when, per row): the
// suppression list keeps no campaign. Stored again, it replaces itself
// (its id is made from the event). Written first, the row read after: a
// campaign deleted meanwhile has lost its rows before its events, so
// either its deletion or this removes the event.
func (w *Worker) noteUnsubscribe(ctx context.Context, campaignID string, row int, e tracking.Event) error {
	ev := store.Event{CampaignID: campaignID, Row: row, Kind: tracking.Unsubscribe, At: e.At.UTC(), Verdict: tracking.Human, ID: eventID(e)}
	if err := w.Store.AddEvents(ctx, []store.Event{ev}); err != nil {
		return err
	}
	if _, err := w.Store.Recipient(ctx, campaignID, row); apperr.Is(err, apperr.NotFound) {
		return w.Store.DeleteEvents(ctx, []store.Event{ev})
	} else if err != nil {
		return err
	}
	return nil
}

// unsubscribedRow is the event's row and campaign while they are kept;
// nil once the campaign is deleted.
func (w *Worker) unsubscribedRow(ctx context.Context, e tracking.Event) (*store.Recipient, store.Campaign, error) {
	c, err := w.Store.Campaign(ctx, e.Account, e.CampaignID)
	if apperr.Is(err, apperr.NotFound) {
		return nil, c, nil
	}
	if err != nil {
		return nil, c, err
	}
	r, err := w.Store.Recipient(ctx, c.ID, e.Row)
	if apperr.Is(err, apperr.NotFound) {
		return nil, c, nil
	}
	if err != nil {
		return nil, c, err
	}
	return &r, c, nil
}

// unsubscribed is why a row to an address on the suppression list is
// not sent.
var unsubscribed = campaign.Reason{Code: "unsubscribed", Text: "the recipient unsubscribed from your emails"}
