package store

import (
	"context"
	"fmt"
	"maps"
	"testing"
	"time"

	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/dev/testenv"
	"mailmerge/handler/internal/tracking"
)

// TestEventRewrittenInPlace: an event read back and written again (the
// tracking worker relabels a burst's earlier hits) replaces itself, even
// when its time has more digits than the table keeps of a date.
func TestEventRewrittenInPlace(t *testing.T) {
	s, ctx := open(t), context.Background()
	id := testenv.Name("c")
	at := time.Date(2026, 12, 2, 10, 0, 0, 123456789, time.UTC)
	if err := s.AddEvents(ctx, []Event{{CampaignID: id, Row: 2, Kind: tracking.Click, Link: 1, At: at, Verdict: tracking.Human, ID: "abc"}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.RowEventsBetween(ctx, id, 2, at.Add(-time.Second), at.Add(time.Second))
	if err != nil || len(got) != 1 {
		t.Fatalf("read back %+v %v", got, err)
	}
	got[0].Verdict, got[0].Rule = tracking.Automated, "burst"
	if err := s.AddEvents(ctx, got); err != nil {
		t.Fatal(err)
	}
	var all []Event
	if err := s.ForEachEvent(ctx, id, func(e Event) error { all = append(all, e); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all[0].Verdict != tracking.Automated || !all[0].At.Equal(at) {
		t.Errorf("after the rewrite: %+v", all)
	}
}

// TestEventsStoredByName: an event's kind and verdict, and a row's hit
// counts, are stored as the words they always were ("open", "click";
// "human", "automated"), so what was stored before reads back.
func TestEventsStoredByName(t *testing.T) {
	at := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	for _, tt := range []struct {
		kind    tracking.Kind
		verdict tracking.Verdict
		name    string
		word    string
	}{
		{tracking.Open, tracking.Human, "open", "human"},
		{tracking.Click, tracking.Automated, "click", "automated"},
	} {
		en := eventEntity(Event{CampaignID: "c", Row: 2, Kind: tt.kind, At: at, Verdict: tt.verdict, ID: "abc"})
		if got := en.Properties["Kind"]; got != tt.name {
			t.Errorf("kind %c stored as %v, want %q", tt.kind, got, tt.name)
		}
		if got := en.Properties["Verdict"]; got != tt.word {
			t.Errorf("verdict %s stored as %v, want %q", tt.verdict, got, tt.word)
		}
		if back := eventFrom(en); back.Kind != tt.kind || back.Verdict != tt.verdict {
			t.Errorf("read back %c %s, want %c %s", back.Kind, back.Verdict, tt.kind, tt.verdict)
		}
		k := HitKey{Kind: tt.kind, Link: 3, Hour: at}
		text := hitKeyText(k)
		if want := tt.name + "/3/2026120210"; text != want {
			t.Errorf("hit key stored as %q, want %q", text, want)
		}
		if back, ok := parseHitKey(text); !ok || back != k {
			t.Errorf("hit key %q read back as %+v %v", text, back, ok)
		}
	}
}

// TestCountHits: a row's hit counts are written under the ETag it was
// read with, read back the same, kept within the entity however long a
// flood lasts (totals kept), and a row that is gone is NotFound.
func TestCountHits(t *testing.T) {
	s, ctx := open(t), context.Background()
	id := testenv.Name("c")
	if err := s.ReplaceRecipients(ctx, id, []Recipient{{Row: 2, Cells: []string{"ann@contoso.example"}, Status: "sent"}}); err != nil {
		t.Fatal(err)
	}
	r, err := s.Recipient(ctx, id, 2)
	if err != nil {
		t.Fatal(err)
	}
	hour := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	first := hour.Add(90 * time.Second)
	r.Hits = Hits{{Kind: tracking.Open, Hour: hour}: {Stored: 50, Extra: 12}, {Kind: tracking.Click, Link: 3, Hour: hour}: {Stored: 2}}
	for i := range 25 {
		r.HitsFrom = append(r.HitsFrom, fmt.Sprintf("m%d", i))
	}
	r.FirstOpenAt = first
	stale := r
	if _, err := s.CountHits(ctx, id, r); err != nil {
		t.Fatal(err)
	}
	got, err := s.Recipient(ctx, id, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(got.Hits, r.Hits) || len(got.HitsFrom) != 20 || got.HitsFrom[19] != "m24" || !got.FirstOpenAt.Equal(first) || len(got.Cells) != 1 {
		t.Errorf("read back %+v", got)
	}
	if _, err := s.CountHits(ctx, id, stale); !apperr.Is(err, apperr.Conflict) {
		t.Errorf("counted on a row changed meanwhile: %v", err)
	}

	// A flood of 3,000 hours, and a count of stored events two days old.
	got.Hits = Hits{{Kind: tracking.Open, Hour: hour.Add(-48 * time.Hour)}: {Stored: 7}}
	for i := range 3000 {
		got.Hits.Add(HitKey{Kind: tracking.Open, Hour: hour.Add(time.Duration(i) * time.Hour)}, 0, 2)
	}
	got.FirstOpenAt = time.Time{}
	if _, err := s.CountHits(ctx, id, got); err != nil {
		t.Fatal(err)
	}
	again, err := s.Recipient(ctx, id, 2)
	if err != nil {
		t.Fatal(err)
	}
	extra, stored := 0, 0
	for _, c := range again.Hits {
		extra, stored = extra+c.Extra, stored+c.Stored
	}
	if len(again.Hits) > maxHitKeys || extra != 6000 || stored != 0 || !again.FirstOpenAt.IsZero() {
		t.Errorf("%d counts, %d extra, %d stored, first open %v", len(again.Hits), extra, stored, again.FirstOpenAt)
	}
	if _, err := s.DeleteRecipients(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CountHits(ctx, id, again); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("counted on a row that is gone: %v", err)
	}
}
