package task

import (
	"context"
	"strings"
	"testing"
	"time"

	"mailmerge/handler/internal/dev/testqueue"
	"mailmerge/handler/internal/queue"
	"mailmerge/handler/internal/tracking"
)

// TestEventsFitAQueueMessage: however many events, each message stays
// under what a Storage queue takes, and every event is in one of them.
func TestEventsFitAQueueMessage(t *testing.T) {
	q := &testqueue.Queue{}
	events := make([]tracking.Event, 2000)
	for i := range events {
		events[i] = tracking.Event{Kind: tracking.Click, CampaignID: "vpesgnag4anvpt7rjbfeu91ho8", Row: i + 2, URL: "https://contoso.example/" + strings.Repeat("p", 200),
			At: time.Now(), Method: "GET", UserAgent: strings.Repeat("Mozilla/5.0 ", 20)}
	}
	if err := (Queue{Sender: q, Now: time.Now}).Events(context.Background(), events); err != nil {
		t.Fatal(err)
	}
	msgs := q.On(queue.TrackingEvents)
	seen := map[int]bool{}
	for _, m := range msgs {
		if len(m.Body) > 48<<10 {
			t.Errorf("a message of %d bytes", len(m.Body))
		}
		p, err := Decode[Events](m.Body)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range p.Events {
			seen[e.Row] = true
		}
	}
	if len(seen) != len(events) || len(msgs) < 10 {
		t.Errorf("%d events in %d messages", len(seen), len(msgs))
	}
}
