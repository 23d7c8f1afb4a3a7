package worker

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/delivery"
	"mailmerge/handler/internal/dev/testenv"
	"mailmerge/handler/internal/dev/testqueue"
	"mailmerge/handler/internal/queue"
	"mailmerge/handler/internal/store"
	"mailmerge/handler/internal/task"
)

// TestSendWorkerOutcomes: each answer Graph can give maps to the row and
// campaign states docs/states.md says, through the real send step on
// Azurite, and the campaign's counts follow.
func TestSendWorkerOutcomes(t *testing.T) {
	st, err := store.Open(testenv.Storage(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		result    delivery.Result
		row       campaign.RowStatus
		status    campaign.Status
		code      string // the campaign's reason when paused
		nextStep  bool   // a later step is scheduled
		noticeFor string
	}{
		{"sent", delivery.Result{Outcome: delivery.Sent}, campaign.RowSent, campaign.Completed, "", false, "completed"},
		{"throttled, Retry-After 3 s", delivery.Result{Outcome: delivery.Retry, RetryAfter: 3 * time.Second, Reason: campaign.Reason{Code: "429"}}, campaign.RowPending, campaign.Sending, "", true, ""},
		{"504 after accept", delivery.Result{Outcome: delivery.Unknown, Reason: campaign.Reason{Code: "504"}}, campaign.RowUnknown, campaign.Completed, "", false, "completed"},
		{"permanent refusal", delivery.Result{Outcome: delivery.Failed, Reason: campaign.Reason{Code: "ErrorInvalidRecipients", Text: "bad address"}}, campaign.RowFailed, campaign.Completed, "", false, "completed"},
		{"grant expired", delivery.Result{Outcome: delivery.Unauthorized, Reason: campaign.Reason{Code: "invalid_grant"}}, campaign.RowPending, campaign.Paused, "grant_expired", false, "paused"},
		{"app credentials refused", delivery.Result{Outcome: delivery.Unauthorized, Reason: campaign.Reason{Code: delivery.CodeAppCredentials}}, campaign.RowPending, campaign.Paused, "service_sign_in_failed", false, "paused"},
		{"mailbox refused", delivery.Result{Outcome: delivery.Blocked, Reason: campaign.Reason{Code: "ErrorAccessDenied"}}, campaign.RowPending, campaign.Paused, "mailbox_refused", false, "paused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := &testqueue.Queue{}
			mailer := &fakeMailer{result: tt.result}
			w := newWorker(t, st, q, mailer)
			c, msg := sendingCampaign(t, w, 1)
			q.Reset()
			ctx := context.Background()
			if err := w.send(ctx, msg); err != nil {
				t.Fatalf("send step: %v", err)
			}
			if mailer.sent != 1 {
				t.Errorf("%d sends, want 1", mailer.sent)
			}
			r, err := st.Recipient(ctx, c.ID, 2)
			if err != nil || r.Status != tt.row {
				t.Errorf("row: %+v %v, want %s", r, err, tt.row)
			}
			got, err := st.Campaign(ctx, c.Account, c.ID)
			if err != nil || got.Status != tt.status || got.Reason.Code != tt.code {
				t.Errorf("campaign: %s %q %v, want %s %q", got.Status, got.Reason.Code, err, tt.status, tt.code)
			}
			want := campaign.Counts{Pending: 1}
			want.Move(campaign.RowPending, tt.row, 1)
			if got.Counts != want {
				t.Errorf("counts %+v, want %+v", got.Counts, want)
			}
			steps := q.On(queue.CampaignSend)
			if tt.nextStep != (len(steps) == 1) {
				t.Fatalf("next steps %+v, want one: %v", steps, tt.nextStep)
			}
			if tt.nextStep && steps[0].NotBefore.Before(time.Now().Add(2*time.Second)) {
				t.Errorf("the next step comes at %v, before Retry-After", steps[0].NotBefore)
			}
			notices := q.On(queue.Notify)
			if tt.noticeFor == "" && len(notices) > 0 || tt.noticeFor != "" && len(notices) != 1 {
				t.Fatalf("notices %+v, want %q", notices, tt.noticeFor)
			}
			if tt.noticeFor != "" {
				n, err := task.Decode[task.Notice](notices[0].Body)
				if err != nil || string(n.Notice.Kind) != tt.noticeFor {
					t.Errorf("notice %+v %v, want %s", n, err, tt.noticeFor)
				}
			}
			// A duplicate of the same step sends nothing again.
			if err := w.send(ctx, msg); err != nil {
				t.Fatal(err)
			}
			if mailer.sent != 1 {
				t.Errorf("a repeated step sent again: %d sends", mailer.sent)
			}
		})
	}
}

// TestCountsOncePerBatch: a step's counts are written once per batch, not
// per row, and equal the rows' states when the campaign completes.
func TestCountsOncePerBatch(t *testing.T) {
	st, err := store.Open(testenv.Storage(t))
	if err != nil {
		t.Fatal(err)
	}
	q := &testqueue.Queue{}
	w := newWorker(t, st, q, &fakeMailer{result: delivery.Result{Outcome: delivery.Sent}})
	c, msg := sendingCampaign(t, w, 9)
	ctx := context.Background()
	before, _ := st.Campaign(ctx, c.Account, c.ID)
	if err := w.send(ctx, msg); err != nil {
		t.Fatal(err)
	}
	got, err := st.Campaign(ctx, c.Account, c.ID)
	if err != nil || got.Status != campaign.Completed || got.Counts != (campaign.Counts{Sent: 9}) {
		t.Fatalf("campaign %s counts %+v %v, want completed with 9 sent", got.Status, got.Counts, err)
	}
	// 9 rows at 4 a batch: 3 batches, 3 count writes, then the completion.
	if got.CountedAt.Equal(before.CountedAt) {
		t.Error("counts never written")
	}
}

// TestStartWorker: a queued campaign whose template fits its columns starts
// sending (a step queued, the owner told); one whose placeholders name no
// column is ready again, its rows untouched, the email refused and
// deleted, the reason on the campaign naming the placeholder and the
// column meant, and the owner told the same; a start delivered twice
// starts it once.
func TestStartWorker(t *testing.T) {
	st, err := store.Open(testenv.Storage(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, subject string
		status        campaign.Status
		row           campaign.RowStatus
		notice        string
	}{
		{"fits", "Hi {{First name}}", campaign.Sending, campaign.RowPending, "started"},
		{"unknown placeholder", "Hi {{Frist name}}", campaign.Ready, campaign.RowPending, "refused"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q := &testqueue.Queue{}
			w := newWorker(t, st, q, &fakeMailer{})
			c, _ := sendingCampaign(t, w, 1)
			ctx := context.Background()
			// Back to queued with another template, as a paused campaign
			// that never started is resumed.
			in := store.Original{}
			in.MessageID, in.Subject, in.HtmlBody = testenv.Name("m"), tt.subject, "<p>Hello</p>"
			id := testenv.Name("o")
			if err := st.PutOriginal(ctx, c.Account, c.ID, id, in, nil); err != nil {
				t.Fatal(err)
			}
			if err := w.Lifecycle.Pause(ctx, c, campaign.Sending, campaign.Reason{Code: "test"}); err != nil {
				t.Fatal(err)
			}
			if _, err := st.ModifyCampaign(ctx, c.Account, c.ID, func(c *store.Campaign) error {
				c.OriginalID, c.InboundMessageID, c.StartedAt = id, in.MessageID, time.Time{}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			if _, err := w.Lifecycle.Resume(ctx, c.Account, c.ID); err != nil {
				t.Fatal(err)
			}
			q.Reset()
			body, _ := json.Marshal(task.Start{Campaign: task.Campaign{Key: c.Account, CampaignID: c.ID}})
			for range 2 {
				if err := handle(w.start)(ctx, invokeMessage(body)); err != nil {
					t.Fatalf("start: %v", err)
				}
			}
			got, _ := st.Campaign(ctx, c.Account, c.ID)
			r, _ := st.Recipient(ctx, c.ID, 2)
			if got.Status != tt.status || r.Status != tt.row {
				t.Errorf("campaign %s, row %s; want %s, %s", got.Status, r.Status, tt.status, tt.row)
			}
			if steps := q.On(queue.CampaignSend); (tt.status == campaign.Sending) != (len(steps) == 1) {
				t.Errorf("send steps queued: %d", len(steps))
			}
			notices := q.On(queue.Notify)
			var n task.Notice
			if len(notices) == 1 {
				n, _ = task.Decode[task.Notice](notices[0].Body)
			}
			if len(notices) != 1 || string(n.Notice.Kind) != tt.notice {
				t.Errorf("notices %d (%+v), want one %s", len(notices), n.Notice, tt.notice)
			}
			if tt.status == campaign.Ready {
				const want = "`{{Frist name}}` in the subject is not a column: did you mean `{{First name}}`?"
				if !strings.HasPrefix(got.Refused.Text, want) || got.Refused.Code != "template_invalid" || !strings.HasPrefix(n.Notice.Reason, want) {
					t.Errorf("refused %+v, notice %q; want both to start %q", got.Refused, n.Notice.Reason, want)
				}
				if got.OriginalID != "" {
					t.Errorf("the campaign still holds the refused email %s", got.OriginalID)
				}
				if _, err := st.Original(ctx, store.Campaign{Account: c.Account, ID: c.ID, OriginalID: id}); err == nil {
					t.Error("the refused email is still stored")
				}
			}
		})
	}
}
