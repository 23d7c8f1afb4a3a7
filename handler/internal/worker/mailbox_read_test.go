package worker

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/delivery"
	"mailmerge/handler/internal/dev/testenv"
	"mailmerge/handler/internal/dev/testqueue"
	"mailmerge/handler/internal/invoke"
	"mailmerge/handler/internal/queue"
	"mailmerge/handler/internal/store"
	"mailmerge/handler/internal/task"
	"mailmerge/handler/internal/tracking"
)

// fakeInbox is a mailbox's inbox: messages in order of arrival, read
// from a cursor ("c<next index>") or, without one, from a time. It can
// forget its cursors (the next read from one is ErrCursorLost) or refuse
// to be read.
type fakeInbox struct {
	mu         sync.Mutex
	msgs       []delivery.Arrived
	lost       bool
	unreadable bool
	calls      []inboxCall
}

type inboxCall struct {
	cursor string
	since  time.Time
}

func (f *fakeInbox) add(a ...delivery.Arrived) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.msgs = append(f.msgs, a...)
}

func (f *fakeInbox) FindSent(context.Context, account.Key, string) (delivery.Found, error) {
	return delivery.Found{}, nil
}

func (f *fakeInbox) Inbox(_ context.Context, _ account.Key, cursor string, since time.Time, limit int) ([]delivery.Arrived, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, inboxCall{cursor, since})
	if f.unreadable {
		return nil, "", delivery.ErrUnreadable
	}
	start := 0
	if cursor != "" {
		if f.lost {
			f.lost = false
			return nil, "", delivery.ErrCursorLost
		}
		n, err := strconv.Atoi(strings.TrimPrefix(cursor, "c"))
		if err != nil {
			return nil, "", delivery.ErrCursorLost
		}
		start = n
	} else {
		for start < len(f.msgs) && f.msgs[start].Received.Before(since) {
			start++
		}
	}
	end := min(len(f.msgs), start+limit)
	return append([]delivery.Arrived(nil), f.msgs[start:end]...), "c" + strconv.Itoa(end), nil
}

// readingWorker is a worker whose messages carry our Message-IDs (tracking
// keys, a public host) and whose Reader is a fake inbox.
func readingWorker(t *testing.T) (*Worker, *store.Store, *fakeMailer, *fakeInbox, *testqueue.Queue) {
	t.Helper()
	st, err := store.Open(testenv.Storage(t))
	if err != nil {
		t.Fatal(err)
	}
	mailer := &fakeMailer{result: delivery.Result{Outcome: delivery.Sent}}
	q := &testqueue.Queue{}
	inbox := &fakeInbox{}
	w := newWorker(t, st, q, mailer)
	w.Links = tracking.Links{Base: "https://mailmerge.example", Keys: testTrackingKeys(t), Inbound: "campaigns@inbound.example"}
	w.Reader = inbox
	return w, st, mailer, inbox, q
}

// sentWithReading stores a campaign of rows (columns Email, CC, First
// name) whose owner lets us read the mailbox since since, sends it, and
// returns it with each row's Message-ID by its To address.
func sentWithReading(t *testing.T, w *Worker, mailer *fakeMailer, since time.Time, cells [][]string) (store.Campaign, map[string]string) {
	t.Helper()
	ctx := context.Background()
	c, msg := sendingCampaignOf(t, w, []string{"Email", "CC", "First name"}, cells)
	a, err := w.Store.Account(ctx, c.Account)
	if err != nil {
		t.Fatal(err)
	}
	a.StartReading(since)
	if err := w.Store.UpdateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	before := len(mailer.msgs)
	if err := w.send(ctx, msg); err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, m := range mailer.msgs[before:] {
		if m.MessageID == "" {
			t.Fatalf("a message to %s went without our Message-ID", m.To[0].Address)
		}
		ids[m.To[0].Address] = m.MessageID
	}
	if len(ids) != len(cells) {
		t.Fatalf("%d messages sent, want %d", len(ids), len(cells))
	}
	return c, ids
}

func runRead(t *testing.T, w *Worker, k account.Key) {
	t.Helper()
	body, _ := json.Marshal(task.MailboxRead{Key: k})
	if err := handle(w.readMailbox)(context.Background(), invoke.Message{Body: body}); err != nil {
		t.Fatal(err)
	}
}

func suppressionSources(t *testing.T, st *store.Store, k account.Key) map[string]store.Suppression {
	t.Helper()
	page, err := st.Suppressions(context.Background(), k, 100, "")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]store.Suppression{}
	for _, s := range page.Suppressions {
		out[s.Key] = s
	}
	return out
}

// TestMailboxReadMarksRows: a reply from a recipient marks its row
// replied (the first only), an NDR hard-bounces its row and suppresses the
// failed address (or, when it names none, the row's To), a delay notice
// soft-bounces it, and a later NDR makes that hard. Automatic replies,
// replies from others, Message-IDs of another host or of another
// account's message change nothing. The campaign counts each row once,
// and reading the same messages again changes nothing.
func TestMailboxReadMarksRows(t *testing.T) {
	w, st, mailer, inbox, _ := readingWorker(t)
	ctx := context.Background()
	since := time.Now().Add(-time.Minute).UTC()
	c, ids := sentWithReading(t, w, mailer, since, [][]string{
		{"ann@example.com", "cat@example.com", "Ann"},
		{"bob@example.com", "", "Bob"},
		{"cy@example.com", "", "Cy"},
		{"di@example.com", "", "Di"},
		{"ed@example.com", "", "Ed"},
	})
	// A message of another account, whose reply lands in this inbox.
	other, otherIDs := sentWithReading(t, w, mailer, since, [][]string{{"zed@example.com", "", "Zed"}})
	at := time.Now().UTC().Truncate(time.Millisecond)
	refer := func(id string) []string { return []string{id, "<x@elsewhere.example> " + id} }
	inbox.add(
		delivery.Arrived{ID: "1", Received: at, From: "Ann@Example.com", Refers: refer(ids["ann@example.com"])},
		delivery.Arrived{ID: "2", Received: at.Add(time.Second), From: "cat@example.com", Refers: refer(ids["ann@example.com"])},
		delivery.Arrived{ID: "3", Received: at, From: "MicrosoftExchange@example.com", Refers: refer(ids["bob@example.com"]), Report: true, Auto: true, Failed: []string{"bob@example.com"}},
		delivery.Arrived{ID: "4", Received: at, From: "MicrosoftExchange@example.com", Refers: refer(ids["cy@example.com"]), Delayed: true, Auto: true, Failed: []string{"cy@example.com"}},
		delivery.Arrived{ID: "5", Received: at, From: "di@example.com", Refers: refer(ids["di@example.com"]), Auto: true},
		delivery.Arrived{ID: "6", Received: at, From: "postmaster@example.com", Refers: refer(ids["ed@example.com"]), Report: true},
		delivery.Arrived{ID: "7", Received: at, From: "stranger@example.com", Refers: refer(ids["ed@example.com"])},
		delivery.Arrived{ID: "8", Received: at, From: "di@example.com", Refers: []string{strings.Replace(ids["di@example.com"], "mailmerge.example", "evil.example", 1)}},
		delivery.Arrived{ID: "9", Received: at, From: "zed@example.com", Refers: refer(otherIDs["zed@example.com"])},
		delivery.Arrived{ID: "10", Received: at, From: "MicrosoftExchange@example.com", Refers: refer(ids["bob@example.com"]), Delayed: true, Failed: []string{"bob@example.com"}},
		delivery.Arrived{ID: "11", Received: at, From: "MicrosoftExchange@example.com", Refers: refer(ids["di@example.com"]), Report: true, Failed: []string{"nobody@example.com"}},
	)
	runRead(t, w, c.Account)

	want := map[int]struct {
		replied bool
		bounce  store.Bounce
	}{2: {true, ""}, 3: {false, store.BounceHard}, 4: {false, store.BounceSoft}, 5: {false, ""}, 6: {false, store.BounceHard}}
	check := func(when string) {
		t.Helper()
		for row, wt := range want {
			r, err := st.Recipient(ctx, c.ID, row)
			if err != nil {
				t.Fatal(err)
			}
			if !r.RepliedAt.IsZero() != wt.replied || r.Bounce != wt.bounce || r.BouncedAt.IsZero() != (wt.bounce == "") {
				t.Errorf("%s: row %d replied at %v, bounce %q at %v; want replied %v, bounce %q", when, row, r.RepliedAt, r.Bounce, r.BouncedAt, wt.replied, wt.bounce)
			}
		}
		r2, _ := st.Recipient(ctx, c.ID, 2)
		if !r2.RepliedAt.Equal(at) {
			t.Errorf("%s: row 2 replied at %v, want the first reply's time %v", when, r2.RepliedAt, at)
		}
		got, err := st.Campaign(ctx, c.Account, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Replied != 1 || got.Bounced != 3 {
			t.Errorf("%s: campaign counts %d replied, %d bounced; want 1 and 3", when, got.Replied, got.Bounced)
		}
		list := suppressionSources(t, st, c.Account)
		for _, addr := range []string{"bob@example.com", "ed@example.com"} {
			if s := list[store.SuppressionKey(addr)]; s.Address != addr || s.Source != store.SourceBounce {
				t.Errorf("%s: %s on the list as %+v, want its address with source bounce", when, addr, s)
			}
		}
		if len(list) != 2 {
			t.Errorf("%s: %d addresses on the list, want bob and ed alone: %+v", when, len(list), list)
		}
		r, _ := st.Recipient(ctx, other.ID, 2)
		if !r.RepliedAt.IsZero() {
			t.Errorf("%s: another account's row marked from this inbox", when)
		}
	}
	check("first read")
	a, err := st.Account(ctx, c.Account)
	if err != nil {
		t.Fatal(err)
	}
	if a.InboxCursor != "c11" || a.InboxReadAt.IsZero() {
		t.Errorf("cursor %q read at %v, want c11 saved with the time", a.InboxCursor, a.InboxReadAt)
	}

	// The same messages read again (a cursor Graph hands back, a read
	// delivered twice): nothing counted twice.
	if _, err := st.SaveInbox(ctx, c.Account, a.ReadMailboxSince, "", a.InboxReadAt); err != nil {
		t.Fatal(err)
	}
	runRead(t, w, c.Account)
	check("read again")

	// A report that delivery to cy failed after all: the soft bounce
	// becomes hard (counted once), and cy is suppressed.
	inbox.add(delivery.Arrived{ID: "12", Received: at.Add(time.Hour), Refers: refer(ids["cy@example.com"]), Report: true, Failed: []string{"CY@example.com"}})
	runRead(t, w, c.Account)
	want[4] = struct {
		replied bool
		bounce  store.Bounce
	}{false, store.BounceHard}
	if got, _ := st.Campaign(ctx, c.Account, c.ID); got.Bounced != 3 {
		t.Errorf("after the soft bounce became hard, %d bounced, want 3", got.Bounced)
	}
	if ok, _ := st.Suppressed(ctx, c.Account, "cy@example.com"); !ok {
		t.Error("cy not suppressed after its hard bounce")
	}
	if r, _ := st.Recipient(ctx, c.ID, 4); r.Bounce != store.BounceHard {
		t.Errorf("row 4's bounce %q, want hard", r.Bounce)
	}
}

// TestMailboxReadCursor: a read goes on from the saved cursor; a cursor
// Graph lost starts again from the last read less a margin (never before
// reading was turned on); an unreadable mailbox is skipped, reading left
// on and the cursor kept; a read that ends after reading was turned off
// saves nothing.
func TestMailboxReadCursor(t *testing.T) {
	w, st, mailer, inbox, _ := readingWorker(t)
	ctx := context.Background()
	since := time.Now().Add(-5 * time.Hour).UTC().Truncate(time.Millisecond)
	c, ids := sentWithReading(t, w, mailer, since, [][]string{{"ann@example.com", "", "Ann"}})
	inbox.add(delivery.Arrived{ID: "1", Received: since.Add(-time.Minute), From: "ann@example.com", Refers: []string{ids["ann@example.com"]}})
	runRead(t, w, c.Account)
	if r, _ := st.Recipient(ctx, c.ID, 2); !r.RepliedAt.IsZero() {
		t.Error("a message from before reading was turned on was taken")
	}
	a, _ := st.Account(ctx, c.Account)
	if len(inbox.calls) != 1 || inbox.calls[0].cursor != "" || !inbox.calls[0].since.Equal(a.ReadMailboxSince) || a.InboxCursor != "c1" {
		t.Fatalf("first read %+v, cursor %q; want from the opt-in's time, then c1", inbox.calls, a.InboxCursor)
	}
	readAt := since.Add(3 * time.Hour)
	if _, err := st.SaveInbox(ctx, c.Account, a.ReadMailboxSince, a.InboxCursor, readAt); err != nil {
		t.Fatal(err)
	}

	inbox.add(delivery.Arrived{ID: "2", Received: readAt.Add(-10 * time.Minute), From: "ann@example.com", Refers: []string{ids["ann@example.com"]}})
	inbox.lost = true
	runRead(t, w, c.Account)
	calls := inbox.calls[1:]
	if len(calls) != 2 || calls[0].cursor != "c1" || calls[1].cursor != "" || !calls[1].since.Equal(readAt.Add(-cursorMargin)) {
		t.Fatalf("reads after the cursor was lost: %+v; want c1, then from %v", calls, readAt.Add(-cursorMargin))
	}
	if r, _ := st.Recipient(ctx, c.ID, 2); r.RepliedAt.IsZero() {
		t.Error("the reply within the margin was not read after the cursor was lost")
	}
	if a, _ = st.Account(ctx, c.Account); a.InboxCursor != "c2" {
		t.Errorf("cursor %q after the restart, want c2", a.InboxCursor)
	}

	inbox.unreadable = true
	runRead(t, w, c.Account)
	if a, _ = st.Account(ctx, c.Account); !a.ReadMailbox || a.InboxCursor != "c2" {
		t.Errorf("unreadable: reading %v, cursor %q; want on, c2 kept", a.ReadMailbox, a.InboxCursor)
	}
	inbox.unreadable = false

	// Reading turned off while the read runs: the cursor is not saved.
	w.Reader = offWhileReading{inbox, st}
	runRead(t, w, c.Account)
	if a, _ = st.Account(ctx, c.Account); a.ReadMailbox || a.InboxCursor != "" {
		t.Errorf("turned off meanwhile: reading %v, cursor %q; want off and forgotten", a.ReadMailbox, a.InboxCursor)
	}
	calls = inbox.calls
	runRead(t, w, c.Account)
	if len(inbox.calls) != len(calls) {
		t.Error("an account that turned reading off was read")
	}
}

// offWhileReading turns the account's reading off as its inbox is read.
type offWhileReading struct {
	*fakeInbox
	st *store.Store
}

func (o offWhileReading) Inbox(ctx context.Context, k account.Key, cursor string, since time.Time, limit int) ([]delivery.Arrived, string, error) {
	a, err := o.st.Account(ctx, k)
	if err != nil {
		return nil, "", err
	}
	a.StopReading()
	if err := o.st.UpdateAccount(ctx, a); err != nil {
		return nil, "", err
	}
	return o.fakeInbox.Inbox(ctx, k, cursor, since, limit)
}

// TestBounceAfterCampaignDeleted: an NDR for a message of a campaign the
// owner deleted suppresses by key alone: the failed address it names, or
// with none named, the message's only address; a message to several
// addresses whose report names none suppresses nothing (which one failed
// cannot be told).
func TestBounceAfterCampaignDeleted(t *testing.T) {
	w, st, mailer, inbox, _ := readingWorker(t)
	ctx := context.Background()
	c, ids := sentWithReading(t, w, mailer, time.Now().Add(-time.Minute), [][]string{
		{"amy@example.com", "amy-cc@example.com", "Amy"},
		{"ben@example.com", "", "Ben"},
		{"cal@example.com", "cal-cc@example.com", "Cal"},
	})
	if err := st.RecordDeletion(ctx, store.Deletion{Account: c.Account, CampaignID: c.ID, RequestedAt: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(task.DeleteCampaign{Campaign: task.Campaign{Key: c.Account, CampaignID: c.ID}})
	if err := handleDelivery(w.deleteCampaign)(ctx, invoke.Message{Body: body}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	inbox.add(
		delivery.Arrived{ID: "1", Received: now, Refers: []string{ids["amy@example.com"]}, Report: true, Failed: []string{"amy-cc@example.com"}},
		delivery.Arrived{ID: "2", Received: now, Refers: []string{ids["ben@example.com"]}, Report: true},
		delivery.Arrived{ID: "3", Received: now, Refers: []string{ids["cal@example.com"]}, Report: true},
		delivery.Arrived{ID: "4", Received: now, From: "ben@example.com", Refers: []string{ids["ben@example.com"]}},
	)
	runRead(t, w, c.Account)
	list := suppressionSources(t, st, c.Account)
	for _, addr := range []string{"amy-cc@example.com", "ben@example.com"} {
		if s, ok := list[store.SuppressionKey(addr)]; !ok || s.Address != "" || s.Source != store.SourceBounce {
			t.Errorf("%s: %+v, want on the list by key alone, source bounce", addr, s)
		}
	}
	if len(list) != 2 {
		t.Errorf("%d on the list, want 2: %+v", len(list), list)
	}
}

// TestMailboxScan: the timer queues a read for an account that lets us
// read its mailbox and sent within 30 days, once per period; not for one
// whose last campaign completed longer ago, nor for one that does not
// let us read.
func TestMailboxScan(t *testing.T) {
	w, st, mailer, _, q := readingWorker(t)
	ctx := context.Background()
	recent, _ := sentWithReading(t, w, mailer, time.Now(), [][]string{{"a@example.com", "", "A"}})
	old, _ := sentWithReading(t, w, mailer, time.Now(), [][]string{{"b@example.com", "", "B"}})
	long := time.Now().Add(-31 * 24 * time.Hour).UTC()
	if _, err := st.ModifyCampaign(ctx, old.Account, old.ID, func(c *store.Campaign) error {
		c.Status, c.StartedAt, c.CompletedAt, c.NextStepAt = campaign.Completed, long, long, long
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	notReading, _ := sendingCampaign(t, w, 1)
	// Two runs of one period (a timer fired twice).
	period := time.Now().UTC().Truncate(scanEvery).Add(time.Minute)
	w.Now = func() time.Time { return period }
	if err := w.mailboxScan(ctx, invoke.Timer{}); err != nil {
		t.Fatal(err)
	}
	if err := w.mailboxScan(ctx, invoke.Timer{}); err != nil {
		t.Fatal(err)
	}
	byAccount := map[account.Key][]string{}
	for _, m := range q.On(queue.MailboxRead) {
		p, err := task.Decode[task.MailboxRead](m.Body)
		if err != nil {
			t.Fatal(err)
		}
		byAccount[p.Key] = append(byAccount[p.Key], m.ID)
	}
	if got := byAccount[recent.Account]; len(got) != 2 || got[0] == "" || got[0] != got[1] {
		t.Errorf("reads of the recent account %q, want two with one duplicate id", got)
	}
	for name, k := range map[string]account.Key{"completed 31 days ago": old.Account, "not reading": notReading.Account} {
		if got := byAccount[k]; len(got) != 0 {
			t.Errorf("%s: %d reads queued", name, len(got))
		}
	}
	w.Reader = nil
	q.Reset()
	if err := w.mailboxScan(ctx, invoke.Timer{}); err != nil || len(q.All()) != 0 {
		t.Errorf("without a reader: %v, %d queued", err, len(q.All()))
	}
}
