package worker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/invoke"
	"mailmerge/handler/internal/store"
	"mailmerge/handler/internal/task"
	"mailmerge/handler/internal/tracking"
)

// trackingEvents runs tracking-events: it judges each open and click a
// person's or a machine's (tracking.Judge, with the row's send time and
// its other clicks), stores it with its campaign, and notes the row's
// first human open and click. An event of a row that is gone (its
// campaign was deleted) is not kept. A batch delivered again stores
// nothing twice: an event's id is made from the event.
func (w *Worker) trackingEvents(ctx context.Context, m invoke.Message) error {
	msg, err := task.Decode[task.Events](m.Body)
	if err != nil {
		return err
	}
	kept := 0
	rows := map[rowKey]rowRead{}
	for _, e := range msg.Events {
		ok, err := w.trackEvent(ctx, e, rows)
		if err != nil {
			return err
		}
		if ok {
			kept++
		}
	}
	w.Logger.InfoContext(ctx, "tracking events stored", "events", len(msg.Events), "kept", kept)
	return nil
}

// kinds name the event kinds as stored.
var kinds = map[tracking.Kind]string{tracking.Open: "open", tracking.Click: "click"}

// rowKey and rowRead remember, for one message, the rows already read.
type rowKey struct {
	campaign string
	row      int
}

type rowRead struct {
	r   store.Recipient
	err error
}

func (w *Worker) trackEvent(ctx context.Context, e tracking.Event, rows map[rowKey]rowRead) (bool, error) {
	if e.Kind == tracking.Unsubscribe {
		return w.unsubscribe(ctx, e)
	}
	kind, ok := kinds[e.Kind]
	if !ok || e.CampaignID == "" {
		return false, nil // nothing the endpoints send
	}
	k := rowKey{e.CampaignID, e.Row}
	read, ok := rows[k]
	if !ok {
		read.r, read.err = w.Store.Recipient(ctx, e.CampaignID, e.Row)
		rows[k] = read
	}
	r, err := read.r, read.err
	if apperr.Is(err, apperr.NotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	hit := tracking.Hit{Kind: e.Kind, Method: e.Method, UserAgent: e.UserAgent, Prefetch: e.Prefetch, At: e.At}
	if r.Status == campaign.RowSent || r.Status == campaign.RowUnknown {
		hit.SentAt = r.UpdatedAt
	}
	// The events of the row around this one: the same event stored
	// before, and clicks of the same burst.
	earlier, err := w.Store.RowEventsNear(ctx, e.CampaignID, e.Row, e.At, tracking.Burst)
	if err != nil {
		return false, err
	}
	id := eventID(e)
	var burst []store.Event
	for _, o := range earlier {
		if o.ID == id {
			return true, nil // delivered before: judged and kept then
		}
		if e.Kind == tracking.Click && o.Kind == "click" && o.Link != e.Link {
			hit.OtherLinksAt = append(hit.OtherLinksAt, o.At)
			if d := e.At.Sub(o.At); d < tracking.Burst && d > -tracking.Burst && o.Verdict == string(tracking.Human) {
				burst = append(burst, o)
			}
		}
	}
	verdict, rule := tracking.Judge(hit)
	se := store.Event{CampaignID: e.CampaignID, Row: e.Row, Kind: kind, Link: e.Link, URL: e.URL, At: e.At.UTC(),
		UserAgent: campaign.Clip(e.UserAgent, 400), Verdict: string(verdict), Rule: rule, ID: id}
	if err := w.Store.AddEvent(ctx, se); err != nil {
		return false, err
	}
	if rule == "burst" {
		// The clicks it came in a burst with were the same machine's.
		for _, o := range burst {
			o.Verdict, o.Rule = string(tracking.Automated), "burst"
			if err := w.Store.AddEvent(ctx, o); err != nil {
				return false, err
			}
		}
	}
	// Written first, checked after: a campaign deleted meanwhile has lost
	// its rows before its events, so one of the two deletes this event.
	mark := ""
	if verdict == tracking.Human {
		mark = kind
	}
	if _, err := w.Store.MarkRecipient(ctx, e.CampaignID, e.Row, mark, se.At); apperr.Is(err, apperr.NotFound) {
		return false, w.Store.DeleteEvent(ctx, se)
	} else if err != nil {
		return false, err
	}
	return true, nil
}

// eventID names an event by what it is, so the same event stored twice
// is one.
func eventID(e tracking.Event) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%c|%s|%d|%d|%s|%s|%s", e.Kind, e.CampaignID, e.Row, e.Link, e.At.UTC().Format(time.RFC3339Nano), e.Method, e.UserAgent))
	return hex.EncodeToString(sum[:6])
}

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
		list = append(list, store.Suppression{Address: a.Address, At: e.At.UTC(), Source: source, CampaignID: c.ID, Row: e.Row})
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
