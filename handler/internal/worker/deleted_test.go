package worker

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"mailmerge/handler/internal/delivery"
	"mailmerge/handler/internal/dev/testenv"
	"mailmerge/handler/internal/dev/testqueue"
	"mailmerge/handler/internal/invoke"
	"mailmerge/handler/internal/notify"
	"mailmerge/handler/internal/store"
	"mailmerge/handler/internal/task"
	"mailmerge/handler/internal/tracking"
)

type countingNotifier struct{ sent int }

func (n *countingNotifier) Send(ctx context.Context, e notify.Email) (string, error) {
	n.sent++
	return "id", nil
}

// TestQueuedWorkOfDeletedDataDoesNothing: once a campaign or its account
// is deleted (or being deleted), a message still on any queue is
// acknowledged and does nothing: nothing is sent, stored or enqueued.
func TestQueuedWorkOfDeletedDataDoesNothing(t *testing.T) {
	st, err := store.Open(testenv.Storage(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, deleted := range []string{"campaign", "account"} {
		t.Run(deleted, func(t *testing.T) {
			q := &testqueue.Queue{}
			mailer := &fakeMailer{result: delivery.Result{Outcome: delivery.Sent}}
			w := newWorker(t, st, q, mailer)
			notifier := &countingNotifier{}
			w.Notifier, w.NotifyFrom = notifier, "notices@example.com"
			c, _ := sendingCampaign(t, w, 2)
			ctx := context.Background()
			now := time.Now().UTC()
			if deleted == "campaign" {
				if _, err := st.ModifyCampaign(ctx, c.Account, c.ID, func(c *store.Campaign) error { c.DeletionRequestedAt = now; return nil }); err != nil {
					t.Fatal(err)
				}
			} else {
				a, _ := st.Account(ctx, c.Account)
				a.DeletionRequestedAt = now
				if err := st.UpdateAccount(ctx, a); err != nil {
					t.Fatal(err)
				}
			}
			q.Reset()
			ref := task.Campaign{Key: c.Account, CampaignID: c.ID}
			msgs := map[string]any{
				"campaign-send":   task.Step{Campaign: ref, Step: c.StepToken},
				"campaign-start":  task.Start{Campaign: ref},
				"campaign-data":   task.Data{Campaign: ref, UploadID: c.Data.UploadID},
				"notify":          task.Notice{Key: c.Account, Notice: notify.Notice{Kind: notify.Completed, CampaignID: c.ID}},
				"tracking-events": task.Events{Events: []tracking.Event{{Kind: tracking.Unsubscribe, Account: c.Account, CampaignID: c.ID, Row: 2, At: now}}},
			}
			fns := map[string]invoke.QueueFunc{
				"campaign-send":   handle(w.send),
				"campaign-start":  handle(w.start),
				"campaign-data":   handle(w.readData),
				"notify":          handle(w.notify),
				"tracking-events": handleDelivery(w.trackingEvents),
			}
			for name, m := range msgs {
				body, _ := json.Marshal(m)
				if err := fns[name](ctx, invokeMessage(body)); err != nil {
					t.Errorf("%s: %v, want it acknowledged", name, err)
				}
			}
			if mailer.sent != 0 || notifier.sent != 0 || len(q.All()) != 0 {
				t.Errorf("after deletion: %d sent, %d notices, %d enqueued", mailer.sent, notifier.sent, len(q.All()))
			}
			if ok, _ := st.Suppressed(ctx, c.Account, "r0@example.com"); ok {
				t.Errorf("an unsubscribe of a deleted %s was applied", deleted)
			}
		})
	}
}
