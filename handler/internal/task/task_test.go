package task

import (
	"bytes"
	"context"
	"encoding/base64"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/dev/testqueue"
	"mailmerge/handler/internal/functions"
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

// storageQueue refuses what a Storage queue refuses: a message over 64 KB
// once base64-encoded.
type storageQueue struct {
	testqueue.Queue
}

func (q *storageQueue) Send(ctx context.Context, m queue.Message) error {
	if base64.StdEncoding.EncodedLen(len(m.Body)) > 64<<10 {
		return apperr.E(apperr.Internal, "queue_refused", "the queue refused the message")
	}
	return q.Queue.Send(ctx, m)
}

// TestEventTooLargeIsDropped: an event that alone does not fit a queue
// message is dropped and logged (ids and counts, not its user agent), and
// the events around it are sent: the flush does not fail for it.
func TestEventTooLargeIsDropped(t *testing.T) {
	q := &storageQueue{}
	var logs bytes.Buffer
	at := time.Now()
	huge := "Mozilla/5.0 " + strings.Repeat("<>", 8<<10) // 16 KB, six times that in JSON
	events := []tracking.Event{
		{Kind: tracking.Open, CampaignID: "vpesgnag4anvpt7rjbfeu91ho8", Row: 2, At: at, Method: "GET", UserAgent: "Mozilla/5.0 (Windows NT 10.0)"},
		{Kind: tracking.Open, CampaignID: "vpesgnag4anvpt7rjbfeu91ho8", Row: 3, At: at, Method: "GET", UserAgent: huge},
		{Kind: tracking.Open, CampaignID: "vpesgnag4anvpt7rjbfeu91ho8", Row: 4, At: at, Method: "GET", UserAgent: "Mozilla/5.0 (Windows NT 10.0)"},
	}
	err := (Queue{Sender: q, Now: time.Now, Logger: slog.New(slog.NewJSONHandler(&logs, nil))}).Events(context.Background(), events)
	if err != nil {
		t.Fatalf("the flush failed: %v", err)
	}
	var rows []int
	for _, m := range q.On(queue.TrackingEvents) {
		p, err := Decode[Events](m.Body)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range p.Events {
			rows = append(rows, e.Row)
		}
	}
	if !slices.Equal(rows, []int{2, 4}) {
		t.Errorf("rows sent %v, want [2 4]", rows)
	}
	if !strings.Contains(logs.String(), `"row":3`) || !strings.Contains(logs.String(), "vpesgnag4anvpt7rjbfeu91ho8") || strings.Contains(logs.String(), "Mozilla") {
		t.Errorf("log: %s", logs.String())
	}
}

// TestEveryPayloadHasItsQueue: each payload names its queue, one that the
// queue function of the same name drains, no two the same, and is sent
// there.
func TestEveryPayloadHasItsQueue(t *testing.T) {
	drained := map[string]string{}
	for _, f := range functions.Table() {
		if f.Trigger == functions.Queue {
			drained[f.Queue] = f.Name
		}
	}
	q := &testqueue.Queue{}
	tasks := Queue{Sender: q, Now: time.Now}
	ctx := context.Background()
	c := Campaign{Key: account.Key{TenantID: "t", ObjectID: "o"}, CampaignID: "c"}
	events := []tracking.Event{{Kind: tracking.Open, CampaignID: "c", Row: 2}}
	for _, tt := range []struct {
		got, want string
		send      func() error
	}{
		{Start{}.Queue(), "campaign-start", func() error { return tasks.Start(ctx, Start{Campaign: c}, "") }},
		{Step{}.Queue(), "campaign-send", func() error { return tasks.Step(ctx, Step{Campaign: c, Step: "s"}, time.Time{}) }},
		{Data{}.Queue(), "campaign-data", func() error { return tasks.Data(ctx, Data{Campaign: c, UploadID: "u"}) }},
		{Notice{}.Queue(), "notify", func() error { return tasks.Notice(ctx, Notice{Key: c.Key}, "") }},
		{DeleteAccount{}.Queue(), "account-delete", func() error { return tasks.DeleteAccount(ctx, DeleteAccount{Key: c.Key}) }},
		{DeleteCampaign{}.Queue(), "campaign-delete", func() error { return tasks.DeleteCampaign(ctx, DeleteCampaign{c}) }},
		{Events{}.Queue(), "tracking-events", func() error { return tasks.Events(ctx, events) }},
		{MailboxRead{}.Queue(), "mailbox-read", func() error { return tasks.MailboxRead(ctx, MailboxRead{Key: c.Key}, "") }},
	} {
		if tt.got != tt.want {
			t.Errorf("a payload of %s names queue %q", tt.want, tt.got)
		}
		if name := drained[tt.want]; name != tt.want {
			t.Errorf("queue %q is drained by %q, want the function of that name (once)", tt.want, name)
		}
		delete(drained, tt.want)
		q.Reset()
		if err := tt.send(); err != nil {
			t.Fatal(err)
		}
		if all := q.All(); len(all) != 1 || all[0].Queue != tt.want {
			t.Errorf("a payload of %s sent as %+v", tt.want, all)
		}
	}
	if len(drained) != 0 {
		t.Errorf("queues no payload names: %v", drained)
	}
}
