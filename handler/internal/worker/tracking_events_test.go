package worker

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/delivery"
	"mailmerge/handler/internal/dev/testenv"
	"mailmerge/handler/internal/dev/testqueue"
	"mailmerge/handler/internal/invoke"
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
		if err := handleDelivery(w.trackingEvents)(ctx, invokeMessage(body)); err != nil {
			t.Fatal(err)
		}
	}
	events, err := rowEvents(st, c.ID, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		kind    tracking.Kind
		verdict tracking.Verdict
		rule    string
	}{
		{tracking.Open, tracking.Automated, "too_soon"}, {tracking.Open, tracking.Automated, "apple_mpp"}, {tracking.Open, tracking.Human, ""},
		{tracking.Click, tracking.Automated, "burst"}, {tracking.Click, tracking.Automated, "burst"}, {tracking.Click, tracking.Human, ""},
	}
	if len(events) != len(want) {
		t.Fatalf("%d events stored: %+v", len(events), events)
	}
	for i, e := range events {
		if e.Kind != want[i].kind || e.Verdict != want[i].verdict || e.Rule != want[i].rule {
			t.Errorf("event %d: %c %s %q, want %c %s %q", i, e.Kind, e.Verdict, e.Rule, want[i].kind, want[i].verdict, want[i].rule)
		}
	}
	if other, _ := rowEvents(st, c.ID, 99); len(other) != 0 {
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
	if err := handleDelivery(w.trackingEvents)(ctx, invokeMessage(body)); err != nil {
		t.Fatal(err)
	}
	if gone, _ := rowEvents(st, c.ID, 3); len(gone) != 0 {
		t.Errorf("an event of a deleted campaign was kept: %+v", gone)
	}
}

// TestUnsubscribeSkipsRows: an unsubscribe puts the row's address on the
// account's list and skips the row; a running campaign skips a row whose
// address is on the list (unsubscribed elsewhere), and its counts say so.
func TestUnsubscribeSkipsRows(t *testing.T) {
	st, err := store.Open(testenv.Storage(t))
	if err != nil {
		t.Fatal(err)
	}
	mailer := &fakeMailer{result: delivery.Result{Outcome: delivery.Sent}}
	w := newWorker(t, st, &testqueue.Queue{}, mailer)
	c, msg := sendingCampaign(t, w, 3) // rows 2, 3, 4: r0@, r1@, r2@example.com
	ctx := context.Background()
	body, _ := json.Marshal(task.Events{Events: []tracking.Event{{Kind: tracking.Unsubscribe, Account: c.Account, CampaignID: c.ID, Row: 3,
		At: time.Now(), Method: "POST", OneClick: true}}})
	if err := handleDelivery(w.trackingEvents)(ctx, invokeMessage(body)); err != nil {
		t.Fatal(err)
	}
	if ok, err := st.Suppressed(ctx, c.Account, "R1@example.com"); !ok || err != nil {
		t.Fatalf("r1 not suppressed: %v %v", ok, err)
	}
	// Unsubscribed from another campaign meanwhile.
	if _, err := st.Suppress(ctx, c.Account, []store.Suppression{{Address: "r2@example.com", At: time.Now(), Source: "unsubscribe"}}); err != nil {
		t.Fatal(err)
	}
	if err := w.send(ctx, msg); err != nil {
		t.Fatal(err)
	}
	if mailer.sent != 1 {
		t.Errorf("%d sent, want 1", mailer.sent)
	}
	for row, want := range map[int]campaign.RowStatus{2: campaign.RowSent, 3: campaign.RowSkipped, 4: campaign.RowSkipped} {
		r, err := st.Recipient(ctx, c.ID, row)
		if err != nil || r.Status != want || (want == campaign.RowSkipped && r.Reason.Code != "unsubscribed") {
			t.Errorf("row %d: %s %q %v, want %s", row, r.Status, r.Reason.Code, err, want)
		}
	}
	got, _ := st.Campaign(ctx, c.Account, c.ID)
	if got.Status != campaign.Completed || got.Counts != (campaign.Counts{Sent: 1, Skipped: 2}) {
		t.Errorf("campaign %s counts %+v", got.Status, got.Counts)
	}
	page, _ := st.Suppressions(ctx, c.Account, 10, "")
	if len(page.Suppressions) != 2 {
		t.Errorf("suppressions %+v", page)
	}
	for _, s := range page.Suppressions {
		if s.Address == "r1@example.com" && s.Source != "one-click" {
			t.Errorf("r1's suppression %+v", s)
		}
	}
}

// rowEvents are all the stored events of a row.
func rowEvents(st *store.Store, campaignID string, row int) ([]store.Event, error) {
	return st.RowEventsBetween(context.Background(), campaignID, row, time.Time{}, time.Now().AddDate(1, 0, 0))
}

// TestTrackingFlood: a row hit many times within seconds is a machine's
// (the hits and the earlier ones of the burst, even from an earlier
// message, which then is no first open), and however often a row is hit,
// at most storedPerHour of its events per kind, link and hour are
// stored; the rest are counted on the row, once however often their
// message is delivered.
func TestTrackingFlood(t *testing.T) {
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
	if err != nil {
		t.Fatal(err)
	}
	// Whole hours after the send, so every hit of a part is in one UTC hour.
	base := sent.UpdatedAt.Truncate(time.Hour).Add(2 * time.Hour)
	deliver := func(id string, events []tracking.Event) {
		t.Helper()
		body, _ := json.Marshal(task.Events{Events: events})
		if err := handleDelivery(w.trackingEvents)(ctx, invoke.Message{Body: body, ID: id}); err != nil {
			t.Fatal(err)
		}
	}

	// A flood of opens on row 3: ten within five seconds, a browser's.
	var flood []tracking.Event
	for i := range 10 {
		flood = append(flood, tracking.Event{Kind: tracking.Open, CampaignID: c.ID, Row: 3, At: base.Add(time.Duration(i) * 500 * time.Millisecond), Method: "GET", UserAgent: outlookUA})
	}
	deliver("flood-1", flood[:4])
	deliver("flood-2", flood[4:])
	events, _ := rowEvents(st, c.ID, 3)
	if len(events) != 10 {
		t.Fatalf("%d of 10 events stored", len(events))
	}
	for i, e := range events {
		if e.Verdict != tracking.Automated || e.Rule != "flood" {
			t.Errorf("hit %d of the flood: %s %q", i, e.Verdict, e.Rule)
		}
	}

	// 120 opens on row 2 in one hour, 25 s apart (no flood), in three
	// messages: at most 50 stored.
	var hits []tracking.Event
	for i := range 120 {
		hits = append(hits, tracking.Event{Kind: tracking.Open, CampaignID: c.ID, Row: 2, At: base.Add(time.Duration(i) * 25 * time.Second), Method: "GET", UserAgent: outlookUA})
	}
	for i := range 3 {
		deliver("hits-"+strconv.Itoa(i), hits[i*40:(i+1)*40])
	}
	events, _ = rowEvents(st, c.ID, 2)
	if len(events) != storedPerHour {
		t.Errorf("%d events of one row, kind and hour stored, want %d", len(events), storedPerHour)
	}
	// The rest are counted on the row, once however often delivered.
	deliver("hits-1", hits[40:80])
	r, err := st.Recipient(ctx, c.ID, 2)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := r.Hits[store.HitKey{Kind: tracking.Open, Hour: base}], (store.HitCount{Stored: storedPerHour, Extra: 120 - storedPerHour}); len(r.Hits) != 1 || got != want {
		t.Errorf("row 2 counts %v, want %v", r.Hits, want)
	}
	if events, _ = rowEvents(st, c.ID, 2); len(events) != storedPerHour {
		t.Errorf("%d events stored after a message came again", len(events))
	}
	if !r.FirstOpenAt.Equal(base) {
		t.Errorf("first open %v, want %v", r.FirstOpenAt, base)
	}
	if r3, _ := st.Recipient(ctx, c.ID, 3); !r3.FirstOpenAt.IsZero() {
		t.Errorf("a flood's hits made row 3's first open %v", r3.FirstOpenAt)
	}
}
