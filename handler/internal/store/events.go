package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

const tableEvents = "events"

// Event is a stored tracking event: an open, a click or an unsubscribe
// page view of one row, judged human or automated.
type Event struct {
	CampaignID string
	Row        int
	Kind       string // "open", "click", "unsubscribe"
	Link       int
	URL        string
	At         time.Time
	UserAgent  string
	Verdict    string // "human" or "automated"
	Rule       string // the rule that judged it automated
	// id tells events of one row at one instant apart.
	ID string
}

// eventRowKey sorts a campaign's events by row, then time.
func eventRowKey(row int, at time.Time, id string) string {
	return RecipientRowKey(row) + "|" + at.UTC().Format("20060102T150405.000000000Z") + "|" + id
}

// AddEvent stores e in its campaign's partition.
func (s *Store) AddEvent(ctx context.Context, e Event) error {
	if e.ID == "" {
		e.ID = randomHex(4)
	}
	en := newEntity(e.CampaignID, eventRowKey(e.Row, e.At, e.ID))
	p := en.Properties
	p["Row"], p["Kind"], p["Link"], p["URL"] = int32(e.Row), e.Kind, int32(e.Link), e.URL
	p["UserAgent"], p["Verdict"], p["Rule"] = e.UserAgent, e.Verdict, e.Rule
	setTime(en, "At", e.At)
	return s.replaceEntity(ctx, tableEvents, en, "")
}

// DeleteEvent removes one event (one stored for a row that turned out to
// be gone).
func (s *Store) DeleteEvent(ctx context.Context, e Event) error {
	return s.removeEntity(ctx, tableEvents, e.CampaignID, eventRowKey(e.Row, e.At, e.ID))
}

func eventFrom(e entity) Event {
	id := e.RowKey[strings.LastIndexByte(e.RowKey, '|')+1:]
	return Event{CampaignID: e.PartitionKey, Row: getInt(e, "Row"), Kind: getString(e, "Kind"), Link: getInt(e, "Link"),
		URL: getString(e, "URL"), At: getTime(e, "At"), UserAgent: getString(e, "UserAgent"),
		Verdict: getString(e, "Verdict"), Rule: getString(e, "Rule"), ID: id}
}

// RowEvents returns the events of one row of a campaign, oldest first.
func (s *Store) RowEvents(ctx context.Context, campaignID string, row int) ([]Event, error) {
	prefix := RecipientRowKey(row) + "|"
	filter := fmt.Sprintf("PartitionKey eq '%s' and RowKey ge '%s' and RowKey lt '%s~'", escapeFilter(campaignID), prefix, RecipientRowKey(row))
	var out []Event
	err := s.query(ctx, tableEvents, filter, func(e entity) error {
		out = append(out, eventFrom(e))
		return nil
	})
	return out, err
}

// RowEventsNear returns the events of one row from within of at, oldest
// first: a range of row keys, however many events the row has.
func (s *Store) RowEventsNear(ctx context.Context, campaignID string, row int, at time.Time, within time.Duration) ([]Event, error) {
	from := RecipientRowKey(row) + "|" + at.Add(-within).UTC().Format("20060102T150405.000000000Z")
	to := RecipientRowKey(row) + "|" + at.Add(within).UTC().Format("20060102T150405.000000000Z") + "~"
	filter := fmt.Sprintf("PartitionKey eq '%s' and RowKey ge '%s' and RowKey le '%s'", escapeFilter(campaignID), from, to)
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

// MarkRecipient notes a row's first human open or click (kind "open" or
// "click") at, if it has none yet, without creating a row that is gone:
// a row deleted with its campaign is NotFound. It returns the row as it
// was (its send time is UpdatedAt when it is sent).
func (s *Store) MarkRecipient(ctx context.Context, campaignID string, row int, kind string, at time.Time) (Recipient, error) {
	r, err := s.Recipient(ctx, campaignID, row)
	if err != nil {
		return r, err
	}
	prop := map[string]string{"open": "FirstOpenAt", "click": "FirstClickAt"}[kind]
	if prop == "" || at.IsZero() {
		return r, nil
	}
	first := r.FirstOpenAt
	if kind == "click" {
		first = r.FirstClickAt
	}
	if !first.IsZero() && !first.After(at) {
		return r, nil
	}
	e := newEntity(campaignID, RecipientRowKey(row))
	setTime(e, prop, at)
	// Unconditional but never creating: a row deleted meanwhile is NotFound.
	_, err = s.mergeRecipient(ctx, campaignID, Recipient{Row: row}, e)
	return r, err
}
