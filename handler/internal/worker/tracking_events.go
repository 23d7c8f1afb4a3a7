package worker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
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
// its other clicks), stores them with their campaign, and notes each
// row's first human open and click; an unsubscribe puts the row's
// address on the suppression list. Events are handled a row at a time:
// one read of the row, one of its events around them, their writes in
// one transaction. An event of a row that is gone (its campaign was
// deleted) is not kept. A batch delivered again stores nothing twice: an
// event's id is made from the event.
func (w *Worker) trackingEvents(ctx context.Context, m invoke.Message) error {
	msg, err := task.Decode[task.Events](m.Body)
	if err != nil {
		return err
	}
	byRow := map[rowKey][]tracking.Event{}
	var order []rowKey
	kept := 0
	for _, e := range msg.Events {
		switch e.Kind {
		case tracking.Unsubscribe:
			ok, err := w.unsubscribe(ctx, e)
			if err != nil {
				return err
			}
			if ok {
				kept++
			}
		case tracking.Open, tracking.Click:
			k := rowKey{e.CampaignID, e.Row}
			if byRow[k] == nil {
				order = append(order, k)
			}
			byRow[k] = append(byRow[k], e)
		}
	}
	for _, k := range order {
		n, err := w.trackRow(ctx, k, byRow[k])
		if err != nil {
			return err
		}
		kept += n
	}
	w.Logger.InfoContext(ctx, "tracking events stored", "events", len(msg.Events), "kept", kept)
	return nil
}

// rowKey names one row of one campaign.
type rowKey struct {
	campaign string
	row      int
}

// kinds name the event kinds as stored.
var kinds = map[tracking.Kind]string{tracking.Open: "open", tracking.Click: "click"}

// trackRow judges and stores the opens and clicks of one row and
// returns how many it kept.
func (w *Worker) trackRow(ctx context.Context, k rowKey, events []tracking.Event) (int, error) {
	if k.campaign == "" {
		return 0, nil
	}
	r, err := w.Store.Recipient(ctx, k.campaign, k.row)
	if apperr.Is(err, apperr.NotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	slices.SortStableFunc(events, func(a, b tracking.Event) int { return a.At.Compare(b.At) })
	// The row's events around these: the same events stored before, and
	// clicks of the same bursts.
	stored, err := w.Store.RowEventsBetween(ctx, k.campaign, k.row, events[0].At.Add(-tracking.Burst), events[len(events)-1].At.Add(tracking.Burst))
	if err != nil {
		return 0, err
	}
	seen := map[string]bool{}
	var clicks []*store.Event // stored and new, for the burst rule
	for i := range stored {
		seen[stored[i].ID] = true
		if stored[i].Kind == "click" {
			clicks = append(clicks, &stored[i])
		}
	}
	var sentAt time.Time
	if r.Status == campaign.RowSent || r.Status == campaign.RowUnknown {
		sentAt = r.UpdatedAt
	}
	var out []*store.Event
	relabelled := map[*store.Event]bool{}
	var firstOpen, firstClick time.Time
	for _, e := range events {
		id := eventID(e)
		if seen[id] {
			continue // delivered before: judged and kept then
		}
		seen[id] = true
		hit := tracking.Hit{Kind: e.Kind, Method: e.Method, UserAgent: e.UserAgent, Prefetch: e.Prefetch, At: e.At, SentAt: sentAt}
		var burst []*store.Event
		if e.Kind == tracking.Click {
			for _, o := range clicks {
				if o.Link != e.Link {
					hit.OtherLinksAt = append(hit.OtherLinksAt, o.At)
					if d := e.At.Sub(o.At); d < tracking.Burst && d > -tracking.Burst {
						burst = append(burst, o)
					}
				}
			}
		}
		verdict, rule := tracking.Judge(hit)
		se := &store.Event{CampaignID: k.campaign, Row: k.row, Kind: kinds[e.Kind], Link: e.Link, URL: e.URL, At: e.At.UTC(),
			UserAgent: campaign.Clip(e.UserAgent, 400), Verdict: string(verdict), Rule: rule, ID: id}
		if rule == "burst" {
			// The clicks it came in a burst with were the same machine's.
			for _, o := range burst {
				if o.Verdict != string(tracking.Automated) {
					o.Verdict, o.Rule = string(tracking.Automated), "burst"
					relabelled[o] = true
				}
			}
		}
		out = append(out, se)
		if se.Kind == "click" {
			clicks = append(clicks, se)
		}
	}
	var write []store.Event
	for _, se := range out {
		write = append(write, *se)
	}
	for o := range relabelled {
		if !slices.Contains(out, o) {
			write = append(write, *o)
		}
	}
	for _, se := range out {
		if se.Verdict != string(tracking.Human) {
			continue
		}
		if se.Kind == "open" && (firstOpen.IsZero() || se.At.Before(firstOpen)) {
			firstOpen = se.At
		}
		if se.Kind == "click" && (firstClick.IsZero() || se.At.Before(firstClick)) {
			firstClick = se.At
		}
	}
	if len(write) == 0 {
		return 0, nil
	}
	if err := w.Store.AddEvents(ctx, write); err != nil {
		return 0, err
	}
	// Written first, checked after: a campaign deleted meanwhile has lost
	// its rows before its events, so one of the two deletes these.
	if _, err := w.Store.MarkRecipient(ctx, k.campaign, k.row, firstOpen, firstClick); apperr.Is(err, apperr.NotFound) {
		return 0, w.Store.DeleteEvents(ctx, write)
	} else if err != nil {
		return 0, err
	}
	return len(out), nil
}

// eventID names an event by what it is, so the same event stored twice
// is one.
func eventID(e tracking.Event) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%c|%s|%d|%d|%s|%s|%s", e.Kind, e.CampaignID, e.Row, e.Link, e.At.UTC().Format(time.RFC3339Nano), e.Method, e.UserAgent))
	return hex.EncodeToString(sum[:6])
}

