package worker

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"mailmerge/handler/internal/delivery"
	"mailmerge/handler/internal/dev/testenv"
	"mailmerge/handler/internal/dev/testqueue"
	"mailmerge/handler/internal/store"
	"mailmerge/handler/internal/task"
	"mailmerge/handler/internal/tracking"
)

const outlookUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 Safari/537.36 Edg/128.0.0.0"

// TestTrackingEvents: events are judged with the row's send time and its
// other clicks, stored once however often delivered, noted on the row
// when a person's, and not kept for a row that is gone.
func TestTrackingEvents(t *testing.T) {
	st, err := store.Open(testenv.Storage(t))
	if err != nil {
		t.Fatal(err)
	}
	w := newWorker(t, st, &testqueue.Queue{}, &fakeMailer{result: delivery.Result{Outcome: delivery.Sent}})
	c, msg := sendingCampaign(t, w, 2)
	ctx := context.Background()
	if err := w.send(ctx, msg); err != nil {
		t.Fatal(err)
	}
	sent, err := st.Recipient(ctx, c.ID, 2)
	if err != nil || sent.Status != "sent" {
		t.Fatalf("row 2: %+v %v", sent, err)
	}
	later := sent.UpdatedAt.Add(5 * time.Minute)
	ev := func(kind tracking.Kind, row, link int, at time.Time, ua string) tracking.Event {
		return tracking.Event{Kind: kind, CampaignID: c.ID, Row: row, Link: link, URL: "https://contoso.example/" + string(rune('a'+link)), At: at, Method: "GET", UserAgent: ua}
	}
	batch := []tracking.Event{
		ev(tracking.Open, 2, 0, sent.UpdatedAt.Add(2*time.Second), outlookUA),            // too soon
		ev(tracking.Open, 2, 0, later, "Mozilla/5.0"),                                    // Apple MPP
		ev(tracking.Open, 2, 0, later.Add(time.Second), outlookUA),                       // a person
		ev(tracking.Click, 2, 0, later.Add(time.Minute), outlookUA),                      // the first of a burst
		ev(tracking.Click, 2, 1, later.Add(time.Minute+300*time.Millisecond), outlookUA), // burst
		ev(tracking.Click, 2, 1, later.Add(time.Hour), outlookUA),                        // a person, later
		ev(tracking.Click, 99, 0, later, outlookUA),                                      // no such row
	}
	body, _ := json.Marshal(task.Events{Events: batch})
	for range 2 { // delivered twice
		if err := w.trackingEvents(ctx, invokeMessage(body)); err != nil {
			t.Fatal(err)
		}
	}
	events, err := st.RowEvents(ctx, c.ID, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct{ kind, verdict, rule string }{
		{"open", "automated", "too_soon"}, {"open", "automated", "apple_mpp"}, {"open", "human", ""},
		{"click", "automated", "burst"}, {"click", "automated", "burst"}, {"click", "human", ""},
	}
	if len(events) != len(want) {
		t.Fatalf("%d events stored: %+v", len(events), events)
	}
	for i, e := range events {
		if e.Kind != want[i].kind || e.Verdict != want[i].verdict || e.Rule != want[i].rule {
			t.Errorf("event %d: %s %s %q, want %+v", i, e.Kind, e.Verdict, e.Rule, want[i])
		}
	}
	if other, _ := st.RowEvents(ctx, c.ID, 99); len(other) != 0 {
		t.Errorf("events kept for a row that does not exist: %+v", other)
	}
	r, _ := st.Recipient(ctx, c.ID, 2)
	if !r.FirstOpenAt.Equal(later.Add(time.Second).UTC()) || !r.FirstClickAt.Equal(later.Add(time.Minute).UTC()) && !r.FirstClickAt.Equal(later.Add(time.Hour).UTC()) {
		t.Errorf("first open %v, first click %v", r.FirstOpenAt, r.FirstClickAt)
	}
	// After the campaign's rows are deleted (its deletion), nothing is kept.
	if _, err := st.DeleteRecipients(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	body, _ = json.Marshal(task.Events{Events: []tracking.Event{ev(tracking.Click, 3, 0, later.Add(time.Hour), outlookUA)}})
	if err := w.trackingEvents(ctx, invokeMessage(body)); err != nil {
		t.Fatal(err)
	}
	if gone, _ := st.RowEvents(ctx, c.ID, 3); len(gone) != 0 {
		t.Errorf("an event of a deleted campaign was kept: %+v", gone)
	}
}
