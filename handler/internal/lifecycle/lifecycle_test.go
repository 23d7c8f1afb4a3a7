package lifecycle

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/dev/testenv"
	"mailmerge/handler/internal/queue"
	"mailmerge/handler/internal/store"
)

type countingQueue struct {
	mu sync.Mutex
	n  map[string]int
}

func (q *countingQueue) Send(ctx context.Context, m queue.Message) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.n[m.Queue]++
	return nil
}

// TestMovesRefusedAsTheTableSays: each event of the lifecycle moves a
// campaign only from the states the table allows, with the error the API
// shows otherwise, and writes nothing then.
func TestMovesRefusedAsTheTableSays(t *testing.T) {
	st, err := store.Open(testenv.Storage(t))
	if err != nil {
		t.Fatal(err)
	}
	q := &countingQueue{n: map[string]int{}}
	l := New(st, q, slog.New(slog.NewTextHandler(io.Discard, nil)), time.Now)
	ctx := context.Background()
	k := account.Key{TenantID: testenv.Name("t"), ObjectID: testenv.Name("o")}
	c, err := l.Create(ctx, store.Campaign{Account: k, ID: testenv.Name("c"), Name: "N", AddressHash: testenv.Name("h")})
	if err != nil || c.Status != campaign.Draft || c.Data.Status != campaign.DataNone {
		t.Fatalf("create: %+v %v", c, err)
	}
	code := func(err error) string { return apperr.CodeOf(err) }
	if _, err := l.PauseByOwner(ctx, k, c.ID); code(err) != "campaign_not_running" {
		t.Errorf("pause a draft: %v", err)
	}
	if _, err := l.Cancel(ctx, k, c.ID); code(err) != "campaign_not_running" {
		t.Errorf("cancel a draft: %v", err)
	}
	if _, err := l.Resume(ctx, k, c.ID); code(err) != "campaign_not_paused" {
		t.Errorf("resume a draft: %v", err)
	}
	// A draft cannot be queued: no valid data yet.
	if _, err := l.Accept(ctx, k, c.ID, "m1", "o1", func(store.Campaign) error { return nil }); code(err) != "campaign_state" || !apperr.Is(err, apperr.Conflict) {
		t.Errorf("queue a draft: %v", err)
	}
	// Data read for an upload that is not the campaign's: nothing recorded.
	if ok, err := l.DataRead(ctx, k, c.ID, "other", store.DataSummary{Status: campaign.DataReady}); ok || err != nil {
		t.Errorf("stale data read: %v %v", ok, err)
	}
	if _, err := l.Upload(ctx, k, c.ID, func(store.Campaign) store.DataSummary {
		return store.DataSummary{Status: campaign.DataProcessing, UploadID: "u1"}
	}); err != nil {
		t.Fatal(err)
	}
	if ok, err := l.DataRead(ctx, k, c.ID, "u1", store.DataSummary{Status: campaign.DataReady, Rows: 3, ValidRows: 2}); !ok || err != nil {
		t.Fatalf("data read: %v %v", ok, err)
	}
	if c, _ = st.Campaign(ctx, k, c.ID); c.Status != campaign.Ready {
		t.Fatalf("after valid data: %s", c.Status)
	}
	if c, err = l.Accept(ctx, k, c.ID, "m1", "o1", func(store.Campaign) error { return nil }); err != nil || c.Status != campaign.Queued || q.n[queue.CampaignStart] != 1 {
		t.Fatalf("queue: %s %v, starts %d", c.Status, err, q.n[queue.CampaignStart])
	}
	if _, err := l.Upload(ctx, k, c.ID, func(store.Campaign) store.DataSummary { return store.DataSummary{} }); code(err) != "campaign_started" {
		t.Errorf("upload once queued: %v", err)
	}
	if err := l.Start(ctx, c, "Hello"); err != nil {
		t.Fatal(err)
	}
	c, _ = st.Campaign(ctx, k, c.ID)
	if c.Status != campaign.Sending || c.Counts != (campaign.Counts{Pending: 2, Skipped: 1}) || c.StepToken == "" {
		t.Fatalf("started: %s %+v step %q", c.Status, c.Counts, c.StepToken)
	}
	// A second start of the same campaign does nothing.
	if err := l.Start(ctx, c, "Hello"); err != nil || q.n[queue.CampaignSend] != 1 {
		t.Errorf("second start: %v, steps %d", err, q.n[queue.CampaignSend])
	}
	if c, err = l.PauseByOwner(ctx, k, c.ID); err != nil || c.Status != campaign.Paused || c.Reason.Code != "paused_by_user" {
		t.Fatalf("pause: %s %v", c.Status, err)
	}
	if c, err = l.Resume(ctx, k, c.ID); err != nil || c.Status != campaign.Sending || !c.Reason.IsZero() {
		t.Fatalf("resume: %s %+v %v", c.Status, c.Reason, err)
	}
	if err := l.Complete(ctx, c, "not the live step", campaign.Counts{Sent: 2, Skipped: 1}); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.Campaign(ctx, k, c.ID); got.Status != campaign.Sending {
		t.Errorf("a stale step completed the campaign: %s", got.Status)
	}
	if c, err = l.Cancel(ctx, k, c.ID); err != nil || c.Status != campaign.Cancelled {
		t.Fatalf("cancel: %s %v", c.Status, err)
	}
	if _, err := l.Cancel(ctx, k, c.ID); code(err) != "campaign_not_running" {
		t.Errorf("cancel twice: %v", err)
	}
	// The pure move refuses what the table refuses, and changes nothing.
	before := c
	if err := Move(&c, campaign.Sending, campaign.Reason{}, time.Now()); !apperr.Is(err, apperr.Conflict) || c.Status != before.Status || c.UpdatedAt != before.UpdatedAt {
		t.Errorf("cancelled → sending: %v, %s", err, c.Status)
	}
}
