package worker

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/delivery"
	"mailmerge/handler/internal/dev/devauth"
	"mailmerge/handler/internal/dev/testenv"
	"mailmerge/handler/internal/dev/testqueue"
	"mailmerge/handler/internal/invoke"
	"mailmerge/handler/internal/lifecycle"
	"mailmerge/handler/internal/merge"
	"mailmerge/handler/internal/pacing"
	"mailmerge/handler/internal/postmark"
	"mailmerge/handler/internal/store"
	"mailmerge/handler/internal/task"
)

// fakeMailer answers every send with one result and counts the sends.
type fakeMailer struct {
	mu     sync.Mutex
	result delivery.Result
	sent   int
	// msgs and headers are what each send was given.
	msgs    []merge.Message
	headers []map[string]string
}

func (m *fakeMailer) Send(ctx context.Context, k account.Key, msg merge.Message, files []delivery.File, headers map[string]string) delivery.Result {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent++
	m.msgs = append(m.msgs, msg)
	m.headers = append(m.headers, headers)
	return m.result
}

// newWorker is a worker on Azurite whose queue records and whose mailer
// is the fake; limits never hold a send back.
func newWorker(t testing.TB, st *store.Store, q *testqueue.Queue, mailer delivery.Mailer) *Worker {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	limits := pacing.Limits{PerMinute: 60_000, PerDay: 10_000, Concurrent: 4, LeaseTTL: 15 * time.Second, MaxSend: 75 * time.Second}
	return New(Deps{
		Logger: logger, Store: st, Lifecycle: lifecycle.New(st, q, logger, time.Now), Mailer: mailer,
		Sending: Sending{Limits: limits, StepBudget: 10 * time.Second}, Instance: "unit-test",
	})
}

// sendingCampaign stores an account and a campaign of rows (cells: an
// address and a first name each) in state sending with a live step, and
// returns the step's payload.
func sendingCampaign(t testing.TB, w *Worker, rows int) (store.Campaign, task.Step) {
	t.Helper()
	cells := make([][]string, rows)
	for i := range cells {
		cells[i] = []string{"r" + strconv.Itoa(i) + "@example.com", "Ann"}
	}
	return sendingCampaignOf(t, w, []string{"Email", "First name"}, cells)
}

// sendingCampaignOf is sendingCampaign with the given columns and the
// cells of rows 2, 3, ….
func sendingCampaignOf(t testing.TB, w *Worker, columns []string, cells [][]string) (store.Campaign, task.Step) {
	t.Helper()
	rows := len(cells)
	ctx := context.Background()
	id := testenv.Name("")
	k := account.Key{TenantID: devauth.ContosoTenant, ObjectID: "0000" + id[:4] + "-0000-4000-8000-" + id + "0000"[:12-len(id)]}
	now := time.Now().UTC()
	if err := w.Store.CreateAccount(ctx, store.Account{Key: k, Email: "u" + id + "@contoso.example", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal("account:", err)
	}
	// A campaign id as the API makes them (16 bytes in base32hex), which
	// tracking tokens carry.
	c, err := w.Lifecycle.Create(ctx, store.Campaign{Account: k, ID: testenv.Name("c") + "0000000000000", Name: "Unit", AddressHash: testenv.Name("h")})
	if err != nil {
		t.Fatal("campaign:", err)
	}
	recipients := make([]store.Recipient, rows)
	for i := range recipients {
		recipients[i] = store.Recipient{Row: i + 2, Cells: cells[i], Status: campaign.RowPending}
	}
	if err := w.Store.ReplaceRecipients(ctx, c.ID, recipients); err != nil {
		t.Fatal("rows:", err)
	}
	in := postmark.Inbound{MessageID: testenv.Name("m"), Subject: "Hi {{First name}}", HtmlBody: "<p>Hi {{First name}}</p>"}
	original := testenv.Name("o")
	if err := w.Store.PutOriginal(ctx, k, c.ID, original, store.Original{Inbound: in}, nil); err != nil {
		t.Fatal(err)
	}
	// The campaign goes through its states as the API and the workers move it.
	if _, err := w.Lifecycle.Upload(ctx, k, c.ID, func(store.Campaign) store.DataSummary {
		return store.DataSummary{Status: campaign.DataProcessing, UploadID: "u1"}
	}); err != nil {
		t.Fatal(err)
	}
	data := store.DataSummary{Status: campaign.DataReady, Columns: columns, Rows: rows, ValidRows: rows}
	if _, err := w.Lifecycle.DataRead(ctx, k, c.ID, "u1", data); err != nil {
		t.Fatal(err)
	}
	if c, err = w.Lifecycle.Accept(ctx, k, c.ID, in.MessageID, original, func(store.Campaign) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := w.Lifecycle.Start(ctx, c, in.Subject); err != nil {
		t.Fatal(err)
	}
	if c, err = w.Store.Campaign(ctx, k, c.ID); err != nil || c.Status != campaign.Sending {
		t.Fatalf("campaign %s %v, want sending", c.Status, err)
	}
	return c, task.Step{Campaign: task.Campaign{Key: k, CampaignID: c.ID}, Step: c.StepToken}
}

func invokeMessage(body []byte) invoke.Message { return invoke.Message{Body: body} }
