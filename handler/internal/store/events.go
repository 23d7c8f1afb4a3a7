package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/tracking"
)

const tableEvents = "events"

// Event is a stored tracking event: an open, a click or an unsubscribe
// page view of one row, judged human or automated.
type Event struct {
	CampaignID string
	Row        int
	Kind       tracking.Kind // stored by name (kindName)
	Link       int
	URL        string
	At         time.Time
	UserAgent  string
	Verdict    tracking.Verdict
	Rule       string // the rule that judged it automated
	// id tells events of one row at one instant apart.
	ID string
}

// eventTimeKey is an event's time in its row key: to the nanosecond,
// sorting as text.
const eventTimeKey = "20060102T150405.000000000Z"

// eventRowKey sorts a campaign's events by row, then time.
func eventRowKey(row int, at time.Time, id string) string {
	return RecipientRowKey(row) + "|" + at.UTC().Format(eventTimeKey) + "|" + id
}

// kindName is an event kind as stored (in events and in a row's hit
// counts): "open", "click" or "unsubscribe".
func kindName(k tracking.Kind) string {
	switch k {
	case tracking.Open:
		return "open"
	case tracking.Click:
		return "click"
	case tracking.Unsubscribe:
		return "unsubscribe"
	}
	return ""
}

// kindNamed is the kind kindName names (false: none).
func kindNamed(name string) (tracking.Kind, bool) {
	for _, k := range []tracking.Kind{tracking.Open, tracking.Click, tracking.Unsubscribe} {
		if kindName(k) == name {
			return k, true
		}
	}
	return 0, false
}

func eventEntity(e Event) entity {
	if e.ID == "" {
		e.ID = randomHex(4)
	}
	en := newEntity(e.CampaignID, eventRowKey(e.Row, e.At, e.ID))
	p := en.Properties
	p["Row"], p["Kind"], p["Link"], p["URL"] = int32(e.Row), kindName(e.Kind), int32(e.Link), e.URL
	p["UserAgent"], p["Verdict"], p["Rule"] = e.UserAgent, string(e.Verdict), e.Rule
	setTime(en, "At", e.At)
	return en
}

// AddEvents stores events of one campaign (written again, an event with
// the same row, time and id replaces itself), up to 100 in one
// transaction.
func (s *Store) AddEvents(ctx context.Context, events []Event) error {
	for start := 0; start < len(events); start += batchEntities {
		chunk := events[start:min(start+batchEntities, len(events))]
		actions := make([]aztables.TransactionAction, 0, len(chunk))
		for _, e := range chunk {
			if e.CampaignID != chunk[0].CampaignID {
				return fmt.Errorf("add events: one campaign at a time")
			}
			raw, err := json.Marshal(eventEntity(e))
			if err != nil {
				return err
			}
			actions = append(actions, aztables.TransactionAction{ActionType: aztables.TransactionTypeInsertReplace, Entity: raw})
		}
		// A transaction does not say TableNotFound the way other calls do
		// (the batch answers 202 with the error inside): the table is made
		// first, once.
		if err := s.ensureTable(ctx, tableEvents); err != nil {
			return err
		}
		if _, err := s.table(tableEvents).SubmitTransaction(ctx, actions, nil); err != nil {
			return fmt.Errorf("add events: %w", translate(err))
		}
	}
	return nil
}

// DeleteEvents removes events (stored for a row that turned out to be
// gone).
func (s *Store) DeleteEvents(ctx context.Context, events []Event) error {
	for _, e := range events {
		if err := s.removeEntity(ctx, tableEvents, e.CampaignID, eventRowKey(e.Row, e.At, e.ID)); err != nil {
			return err
		}
	}
	return nil
}

func eventFrom(e entity) Event {
	_, rest, _ := strings.Cut(e.RowKey, "|")
	stamp, id, _ := strings.Cut(rest, "|")
	// The time as the row key has it: the At property keeps 100 ns (a
	// table's dates do), and an event written back with that time would
	// be another row, next to the one it was to replace.
	at, err := time.Parse(eventTimeKey, stamp)
	if err != nil {
		at = getTime(e, "At")
	}
	kind, _ := kindNamed(getString(e, "Kind")) // none: an event no report counts
	return Event{CampaignID: e.PartitionKey, Row: getInt(e, "Row"), Kind: kind, Link: getInt(e, "Link"),
		URL: getString(e, "URL"), At: at, UserAgent: getString(e, "UserAgent"),
		Verdict: tracking.Verdict(getString(e, "Verdict")), Rule: getString(e, "Rule"), ID: id}
}

// RowEventsBetween returns the events of one row from from to to, oldest
// first: a range of row keys, however many events the row has.
func (s *Store) RowEventsBetween(ctx context.Context, campaignID string, row int, from, to time.Time) ([]Event, error) {
	lo := RecipientRowKey(row) + "|" + from.UTC().Format(eventTimeKey)
	hi := RecipientRowKey(row) + "|" + to.UTC().Format(eventTimeKey) + "~"
	filter := fmt.Sprintf("PartitionKey eq '%s' and RowKey ge '%s' and RowKey le '%s'", escapeFilter(campaignID), lo, hi)
	var out []Event
	err := s.query(ctx, tableEvents, filter, func(e entity) error {
		out = append(out, eventFrom(e))
		return nil
	})
	return out, err
}

// ForEachEvent calls fn for every event of a campaign, by row then time.
func (s *Store) ForEachEvent(ctx context.Context, campaignID string, fn func(Event) error) error {
	return s.query(ctx, tableEvents, "PartitionKey eq '"+escapeFilter(campaignID)+"'", func(e entity) error {
		return fn(eventFrom(e))
	})
}

// CountHits writes row r's hit counts (Hits, HitsFrom) and its first
// human open and click (FirstOpenAt, FirstClickAt; zero: none) under the
// ETag r was read with: a row changed meanwhile is a Conflict (read it
// again and count again), a row that is gone NotFound.
func (s *Store) CountHits(ctx context.Context, campaignID string, r Recipient) (Recipient, error) {
	if r.ETag == "" {
		return r, apperr.E(apperr.Internal, "count_unguarded", "a row's hits are counted only as it was read")
	}
	e := newEntity(campaignID, RecipientRowKey(r.Row))
	// A merge cannot remove a property: no time is an empty string,
	// which reads as none.
	e.Properties["FirstOpenAt"], e.Properties["FirstClickAt"] = "", ""
	setTime(e, "FirstOpenAt", r.FirstOpenAt)
	setTime(e, "FirstClickAt", r.FirstClickAt)
	if err := setHits(e, r.Hits, r.HitsFrom); err != nil {
		return r, err
	}
	return s.mergeRecipient(ctx, campaignID, r, e)
}
