package app

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/delivery"
	"mailmerge/handler/internal/dev/devauth"
	"mailmerge/handler/internal/dev/testenv"
	"mailmerge/handler/internal/invoke"
	"mailmerge/handler/internal/merge"
	"mailmerge/handler/internal/pacing"
	"mailmerge/handler/internal/postmark"
	"mailmerge/handler/internal/queue"
	"mailmerge/handler/internal/store"
)

// fakeMailer answers every send with one result and counts the sends.
type fakeMailer struct {
	mu     sync.Mutex
	result delivery.Result
	sent   int
}

func (m *fakeMailer) Send(ctx context.Context, k account.Key, msg merge.Message, files []delivery.File, headers map[string]string) delivery.Result {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent++
	return m.result
}

// sendingCampaign stores an account and a one-row campaign in state
// sending with a live step, and returns the worker's message for it.
func sendingCampaign(t *testing.T, a *App) (store.Campaign, invoke.Message) {
	t.Helper()
	ctx := context.Background()
	u := freshUser(devauth.ContosoTenant)
	k := account.Key{TenantID: u.TenantID, ObjectID: u.ObjectID}
	now := time.Now().UTC()
	if err := a.Store.CreateAccount(ctx, store.Account{Key: k, Email: u.Email, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal("account:", err)
	}
	_, hash := newAddressToken()
	c := store.Campaign{Account: k, ID: newCampaignID(now), Name: "Unit", Status: campaign.Sending, AddressHash: hash, CreatedAt: now, UpdatedAt: now,
		Data: store.DataSummary{Status: campaign.DataReady, Columns: []string{"Email", "First name"}, Rows: 1, ValidRows: 1}}
	if err := a.Store.CreateCampaign(ctx, c); err != nil {
		t.Fatal("campaign:", err)
	}
	if err := a.Store.ReplaceRecipients(ctx, c.ID, []store.Recipient{{Row: 2, Cells: []string{"ann@example.com", "Ann"}, Status: campaign.RowPending}}); err != nil {
		t.Fatal("rows:", err)
	}
	id := randomID()
	in := postmark.Inbound{MessageID: testenv.Name("m"), Subject: "Hi {{First name}}", HtmlBody: "<p>Hi {{First name}}</p>"}
	if err := a.storeOriginal(ctx, c, id, in, nil); err != nil {
		t.Fatal(err)
	}
	c, err := a.Store.Campaign(ctx, k, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	c.OriginalID, c.InboundMessageID = id, in.MessageID
	if err := a.Store.UpdateCampaign(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := a.Store.SetStepToken(ctx, k, c.ID, "step-1", now); err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(campaignMessage{TenantID: k.TenantID, ObjectID: k.ObjectID, CampaignID: c.ID, Step: "step-1"})
	return c, invoke.Message{Body: body}
}

// TestSendWorkerOutcomes: each answer Graph can give maps to the row and
// campaign states DESIGN §4 says, through the real send step on Azurite.
func TestSendWorkerOutcomes(t *testing.T) {
	st, err := store.Open(testenv.Storage(t))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		result    delivery.Result
		row       string
		status    string
		code      string // the campaign's reason when paused
		nextStep  bool   // a later step is scheduled
		noticeFor string
	}{
		{"sent", delivery.Result{Outcome: delivery.Sent}, campaign.RowSent, campaign.Completed, "", false, "completed"},
		{"throttled, Retry-After 3 s", delivery.Result{Outcome: delivery.Retry, RetryAfter: 3 * time.Second, Code: "429"}, campaign.RowPending, campaign.Sending, "", true, ""},
		{"504 after accept", delivery.Result{Outcome: delivery.Unknown, Code: "504"}, campaign.RowUnknown, campaign.Completed, "", false, "completed"},
		{"permanent refusal", delivery.Result{Outcome: delivery.Failed, Code: "ErrorInvalidRecipients", Reason: "bad address"}, campaign.RowFailed, campaign.Completed, "", false, "completed"},
		{"grant expired", delivery.Result{Outcome: delivery.Unauthorized, Code: "invalid_grant"}, campaign.RowPending, campaign.Paused, "grant_expired", false, "paused"},
		{"app credentials refused", delivery.Result{Outcome: delivery.Unauthorized, Code: delivery.CodeAppCredentials}, campaign.RowPending, campaign.Paused, "service_sign_in_failed", false, "paused"},
		{"mailbox refused", delivery.Result{Outcome: delivery.Blocked, Code: "ErrorAccessDenied"}, campaign.RowPending, campaign.Paused, "mailbox_refused", false, "paused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := &recordingQueue{}
			mailer := &fakeMailer{result: tt.result}
			limits := pacing.Limits{PerMinute: 60_000, PerDay: 10_000, Concurrent: 4, LeaseTTL: 15 * time.Second, MaxSend: 75 * time.Second}
			a := &App{Deps: Deps{
				Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Store: st, Queue: q, Mailer: mailer, Now: time.Now,
				Sending: Sending{Limits: limits, StepBudget: 10 * time.Second},
				Pacer:   pacing.New(st, limits, "unit-test", time.Now),
			}}
			c, msg := sendingCampaign(t, a)
			ctx := context.Background()
			if err := a.sendWorker(ctx, msg); err != nil {
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
			if err != nil || got.Status != tt.status || got.StatusCode != tt.code {
				t.Errorf("campaign: %s %q %v, want %s %q", got.Status, got.StatusCode, err, tt.status, tt.code)
			}
			steps := q.on(queue.CampaignSend)
			if tt.nextStep != (len(steps) == 1) {
				t.Fatalf("next steps %+v, want one: %v", steps, tt.nextStep)
			}
			if tt.nextStep && steps[0].NotBefore.Before(time.Now().Add(2*time.Second)) {
				t.Errorf("the next step comes at %v, before Retry-After", steps[0].NotBefore)
			}
			notices := q.on(queue.Notify)
			if tt.noticeFor == "" && len(notices) > 0 || tt.noticeFor != "" && (len(notices) != 1 || !json.Valid(notices[0].Body)) {
				t.Fatalf("notices %+v, want %q", notices, tt.noticeFor)
			}
			if tt.noticeFor != "" {
				var n noticeMessage
				if err := json.Unmarshal(notices[0].Body, &n); err != nil || string(n.Notice.Kind) != tt.noticeFor {
					t.Errorf("notice %+v %v, want %s", n, err, tt.noticeFor)
				}
			}
			// A duplicate of the same step sends nothing again.
			if err := a.sendWorker(ctx, msg); err != nil {
				t.Fatal(err)
			}
			if mailer.sent != 1 {
				t.Errorf("a repeated step sent again: %d sends", mailer.sent)
			}
		})
	}
}

// TestStartWorker: a queued campaign whose template fits its columns starts
// sending (a step queued, the owner told); one whose placeholders name no
// column fails, its rows skipped, the owner told what to fix; a start
// delivered twice starts it once.
func TestStartWorker(t *testing.T) {
	st, err := store.Open(testenv.Storage(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, subject string
		status, row   string
		notice        string
	}{
		{"fits", "Hi {{First name}}", campaign.Sending, campaign.RowPending, "started"},
		{"unknown placeholder", "Hi {{Frist name}}", campaign.Failed, campaign.RowSkipped, "failed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q := &recordingQueue{}
			a := &App{Deps: Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Store: st, Queue: q, Now: time.Now, Sending: DefaultSending(time.Minute)}}
			c, _ := sendingCampaign(t, a)
			ctx := context.Background()
			in := postmark.Inbound{MessageID: testenv.Name("m"), Subject: tt.subject, HtmlBody: "<p>Hello</p>"}
			id := randomID()
			if err := a.storeOriginal(ctx, c, id, in, nil); err != nil {
				t.Fatal(err)
			}
			c, err := st.Campaign(ctx, c.Account, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			c.Status, c.OriginalID, c.InboundMessageID, c.StepToken = campaign.Queued, id, in.MessageID, ""
			if err := st.UpdateCampaign(ctx, c); err != nil {
				t.Fatal(err)
			}
			body, _ := json.Marshal(campaignMessage{TenantID: c.Account.TenantID, ObjectID: c.Account.ObjectID, CampaignID: c.ID})
			for range 2 {
				if err := a.startWorker(ctx, invoke.Message{Body: body}); err != nil {
					t.Fatalf("start: %v", err)
				}
			}
			got, _ := st.Campaign(ctx, c.Account, c.ID)
			r, _ := st.Recipient(ctx, c.ID, 2)
			if got.Status != tt.status || r.Status != tt.row {
				t.Errorf("campaign %s, row %s; want %s, %s", got.Status, r.Status, tt.status, tt.row)
			}
			if steps := q.on(queue.CampaignSend); (tt.status == campaign.Sending) != (len(steps) == 1) {
				t.Errorf("send steps queued: %d", len(steps))
			}
			notices := q.on(queue.Notify)
			var n noticeMessage
			if len(notices) != 1 || json.Unmarshal(notices[0].Body, &n) != nil || string(n.Notice.Kind) != tt.notice {
				t.Errorf("notices %d (%+v), want one %s", len(notices), n.Notice, tt.notice)
			}
		})
	}
}
