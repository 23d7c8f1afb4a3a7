package worker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
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
// its other hits), stores them with their campaign, up to storedPerHour
// of a row's kind, link and hour (the rest are only counted on the row),
// and notes each row's first human open and click; an unsubscribe puts
// every address of its message on the suppression list (unsubscribe.go). Events are handled a row at
// a time: one read of the row, one of its events around them, their
// writes in one transaction, one write of the row. An event of a row that
// is gone (its campaign was deleted) is not kept. A batch delivered again
// stores nothing twice (an event's id is made from the event) and counts
// nothing twice (the row names the messages it counted).
func (w *Worker) trackingEvents(ctx context.Context, msg task.Events, m invoke.Message) error {
	byRow := map[rowKey][]tracking.Event{}
	var order []rowKey
	kept, counted := 0, 0
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
		stored, extra, err := w.trackRow(ctx, m.ID, k, byRow[k])
		if err != nil {
			return err
		}
		kept, counted = kept+stored, counted+extra
	}
	w.Logger.InfoContext(ctx, "tracking events stored", "events", len(msg.Events), "kept", kept, "counted", counted)
	return nil
}

// rowKey names one row of one campaign.
type rowKey struct {
	campaign string
	row      int
}

// storedPerHour bounds the events stored of one row, kind, link and UTC
// hour. A person opens a message or follows a link a few times; a flood
// (an outside test hit one pixel 80,000 times) would otherwise fill the
// table and slow every report and inventory of the campaign. What comes
// beyond the bound is counted on the row, as a machine's.
const storedPerHour = 50

// countTries bounds the writes of a row's counts that lose to another
// writer of the row before the invocation is retried.
const countTries = 10

// trackRow judges the opens and clicks of one row, stores those within
// the bound and counts the rest on the row, and returns how many it
// stored and counted. msgID names the queue message (empty: unknown).
func (w *Worker) trackRow(ctx context.Context, msgID string, k rowKey, events []tracking.Event) (int, int, error) {
	if k.campaign == "" {
		return 0, 0, nil
	}
	r, err := w.Store.Recipient(ctx, k.campaign, k.row)
	if apperr.Is(err, apperr.NotFound) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, err
	}
	if msgID != "" && slices.Contains(r.HitsFrom, msgID) {
		return 0, 0, nil // counted when the message came before
	}
	slices.SortStableFunc(events, func(a, b tracking.Event) int { return a.At.Compare(b.At) })
	// The row's events around these: the same events stored before, and
	// hits of the same bursts and floods.
	stored, err := w.Store.RowEventsBetween(ctx, k.campaign, k.row, events[0].At.Add(-tracking.FloodWindow), events[len(events)-1].At.Add(tracking.FloodWindow))
	if err != nil {
		return 0, 0, err
	}
	seen := map[string]bool{}
	byKind := map[tracking.Kind][]*store.Event{} // stored and new, for the burst and flood rules
	for i := range stored {
		seen[stored[i].ID] = true
		byKind[stored[i].Kind] = append(byKind[stored[i].Kind], &stored[i])
	}
	var sentAt time.Time
	if r.Status == campaign.RowSent || r.Status == campaign.RowUnknown {
		sentAt = r.UpdatedAt
	}
	var out []*store.Event
	relabelled := map[*store.Event]bool{}
	for _, e := range events {
		id := eventID(e)
		if seen[id] {
			continue // delivered before: judged and kept then
		}
		seen[id] = true
		hit := tracking.Hit{Kind: e.Kind, Link: e.Link, Method: e.Method, UserAgent: e.UserAgent, Prefetch: e.Prefetch, At: e.At, SentAt: sentAt}
		same := byKind[e.Kind]
		others := make([]tracking.Other, len(same))
		for i, o := range same {
			others[i] = tracking.Other{At: o.At, Link: o.Link, Verdict: o.Verdict}
			hit.SameKindAt = append(hit.SameKindAt, o.At)
			if e.Kind == tracking.Click && o.Link != e.Link {
				hit.OtherLinksAt = append(hit.OtherLinksAt, o.At)
			}
		}
		verdict, rule := tracking.Judge(hit)
		// The hits a burst or flood came with were the same machine's.
		for _, i := range tracking.Relabel(hit, rule, others) {
			same[i].Verdict, same[i].Rule = tracking.Automated, rule
			relabelled[same[i]] = true
		}
		se := &store.Event{CampaignID: k.campaign, Row: k.row, Kind: e.Kind, Link: e.Link, URL: e.URL, At: e.At.UTC(),
			UserAgent: campaign.Clip(e.UserAgent, tracking.MaxUserAgent), Verdict: verdict, Rule: rule, ID: id}
		out = append(out, se)
		byKind[e.Kind] = append(byKind[e.Kind], se)
	}
	if len(out) == 0 {
		return 0, 0, nil
	}
	isNew := map[*store.Event]bool{}
	for _, se := range out {
		isNew[se] = true
	}
	// An event a failed try of this message stored is seen, not counted
	// again: the bound may let a few more in; the report counts it where
	// it is.
	written := map[*store.Event]bool{}
	for try := 1; ; try++ {
		keep, extra := bound(r.Hits, out)
		var write, drop []store.Event
		for _, se := range out {
			if keep[se] {
				write = append(write, *se)
			} else if written[se] {
				// Stored by a try that lost to another writer of the
				// row, which filled the bound first.
				drop = append(drop, *se)
			}
		}
		for o := range relabelled {
			if !isNew[o] {
				write = append(write, *o)
			}
		}
		if err := w.Store.AddEvents(ctx, write); err != nil {
			return 0, 0, err
		}
		if err := w.Store.DeleteEvents(ctx, drop); err != nil {
			return 0, 0, err
		}
		for _, se := range out {
			written[se] = keep[se]
		}
		counts := maps.Clone(r.Hits)
		if counts == nil {
			counts = store.Hits{}
		}
		for hk, n := range extra {
			counts.Add(hk, 0, n)
		}
		for se := range keep {
			counts.Add(hitKey(se), 1, 0)
		}
		next := r
		next.Hits = counts
		if msgID != "" {
			next.HitsFrom = append(slices.Clip(r.HitsFrom), msgID)
		}
		if next.FirstOpenAt, err = w.firstHuman(ctx, k, tracking.Open, r.FirstOpenAt, relabelled, out, keep); err != nil {
			return 0, 0, err
		}
		if next.FirstClickAt, err = w.firstHuman(ctx, k, tracking.Click, r.FirstClickAt, relabelled, out, keep); err != nil {
			return 0, 0, err
		}
		// Written first, counted after: a campaign deleted meanwhile has
		// lost its rows before its events, so one of the two deletes these.
		_, err = w.Store.CountHits(ctx, k.campaign, next)
		switch {
		case err == nil:
			n := 0
			for _, c := range extra {
				n += c
			}
			return len(keep), n, nil
		case apperr.Is(err, apperr.NotFound):
			return 0, 0, w.Store.DeleteEvents(ctx, write)
		case !apperr.Is(err, apperr.Conflict):
			return 0, 0, err
		case try == countTries:
			return 0, 0, apperr.Wrap(err, apperr.Transient, "row_busy", "the row's hit counts kept changing")
		}
		// Another writer counted hits of the row meanwhile (or changed
		// its state): count again on what it wrote.
		if r, err = w.Store.Recipient(ctx, k.campaign, k.row); err != nil {
			return 0, 0, err
		}
		if msgID != "" && slices.Contains(r.HitsFrom, msgID) {
			return 0, 0, nil // the same message, delivered twice at once
		}
	}
}

// firstHuman is a row's first human hit of kind: noted (the row's), or a
// person's hit of this message (out, stored if keep says so) before it.
// A noted one that a flood or burst turned out to be part of is not one
// any more; the row's next stored human hit is, if any (read after this
// message's events were written, so with their verdicts).
func (w *Worker) firstHuman(ctx context.Context, k rowKey, kind tracking.Kind, noted time.Time, relabelled map[*store.Event]bool,
	out []*store.Event, keep map[*store.Event]bool) (time.Time, error) {
	first := noted
	for o := range relabelled {
		if d := o.At.Sub(noted); o.Kind == kind && !noted.IsZero() && d < time.Microsecond && d > -time.Microsecond {
			later, err := w.Store.RowEventsBetween(ctx, k.campaign, k.row, noted, noted.AddDate(1, 0, 0))
			if err != nil {
				return first, err
			}
			first = time.Time{}
			for _, e := range later {
				if e.Kind == kind && e.Verdict == tracking.Human {
					first = e.At
					break
				}
			}
			break
		}
	}
	for _, se := range out {
		if keep[se] && se.Kind == kind && se.Verdict == tracking.Human && (first.IsZero() || se.At.Before(first)) {
			first = se.At
		}
	}
	return first, nil
}

// hitKey is what the row counts e under.
func hitKey(e *store.Event) store.HitKey {
	return store.HitKey{Kind: e.Kind, Link: e.Link, Hour: e.At.UTC().Truncate(time.Hour)}
}

// bound says which of events (oldest first) are stored: those that keep
// their row's kind, link and hour within storedPerHour, counting what
// counts says is stored; the others are only counted, in extra.
func bound(counts store.Hits, events []*store.Event) (map[*store.Event]bool, map[store.HitKey]int) {
	keep := map[*store.Event]bool{}
	extra := map[store.HitKey]int{}
	used := map[store.HitKey]int{}
	for _, e := range events {
		hk := hitKey(e)
		if counts[hk].Stored+used[hk] < storedPerHour {
			used[hk]++
			keep[e] = true
		} else {
			extra[hk]++
		}
	}
	return keep, extra
}

// eventID names an event by what it is, so the same event stored twice
// is one.
func eventID(e tracking.Event) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%c|%s|%d|%d|%s|%s|%s", e.Kind, e.CampaignID, e.Row, e.Link, e.At.UTC().Format(time.RFC3339Nano), e.Method, e.UserAgent))
	return hex.EncodeToString(sum[:6])
}
