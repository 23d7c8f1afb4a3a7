package worker

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/delivery"
	"mailmerge/handler/internal/dev/testenv"
	"mailmerge/handler/internal/dev/testqueue"
	"mailmerge/handler/internal/merge"
	"mailmerge/handler/internal/store"
	"mailmerge/handler/internal/task"
	"mailmerge/handler/internal/tracking"
)

// doubtMailer loses the answer of the first send to the addresses in
// lost (the message reached Exchange or not, as accepted says), and keeps
// what each send was given.
type doubtMailer struct {
	mu       sync.Mutex
	lost     map[string]bool
	accepted map[string]bool
	sends    map[string][]string // address → the Message-IDs it was sent with
	box      map[string]bool     // Message-IDs in the mailbox
}

func (m *doubtMailer) Send(_ context.Context, _ account.Key, msg merge.Message, _ []delivery.File, _ map[string]string) delivery.Result {
	m.mu.Lock()
	defer m.mu.Unlock()
	to := msg.To[0].Address
	first := len(m.sends[to]) == 0
	m.sends[to] = append(m.sends[to], msg.MessageID)
	if first && m.lost[to] {
		if m.accepted[to] {
			m.box[msg.MessageID] = true
		}
		return delivery.Result{Outcome: delivery.Unknown, Reason: campaign.Reason{Code: "GatewayTimeout"}}
	}
	m.box[msg.MessageID] = true
	return delivery.Result{Outcome: delivery.Sent}
}

// FindSent finds what was accepted; the first look at each finds it still
// a draft (waiting), as Exchange shows a message it has not sent yet.
func (m *doubtMailer) FindSent(_ context.Context, _ account.Key, id string) (delivery.Found, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.box[id] {
		return delivery.Found{}, nil
	}
	if !m.box["looked "+id] {
		m.box["looked "+id] = true
		return delivery.Found{Waiting: true}, nil
	}
	return delivery.Found{Sent: true, SentAt: time.Now().UTC()}, nil
}

func (m *doubtMailer) Inbox(context.Context, account.Key, string, time.Time, int) ([]delivery.Arrived, string, error) {
	return nil, "", nil
}

// TestInDoubtSendsResolved: with reading on, a send whose answer was lost
// after Exchange accepted it ends sent without being sent again (after a
// look that sees it still a draft); one lost before it was accepted is not
// found, and is sent once more with the same Message-ID; nothing ends
// unknown. With reading off, a lost answer is unknown, as before.
func TestInDoubtSendsResolved(t *testing.T) {
	st, err := store.Open(testenv.Storage(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, reading := range []bool{true, false} {
		m := &doubtMailer{
			lost:     map[string]bool{"r0@example.com": true, "r1@example.com": true},
			accepted: map[string]bool{"r0@example.com": true},
			sends:    map[string][]string{}, box: map[string]bool{},
		}
		w := newWorker(t, st, &testqueue.Queue{}, m)
		w.Reader = m
		w.Sending.Doubt = Doubt{After: 20 * time.Millisecond, Looks: 2, Waiting: 5}
		w.Links = tracking.Links{Base: "https://mailmerge.example", Keys: testTrackingKeys(t), Inbound: "campaigns@inbound.example"}
		c, msg := sendingCampaign(t, w, 4)
		ctx := context.Background()
		a, err := st.Account(ctx, c.Account)
		if err != nil {
			t.Fatal(err)
		}
		if reading {
			a.StartReading(time.Now())
			if err := st.UpdateAccount(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		for range 50 {
			if err := w.send(ctx, msg); err != nil {
				t.Fatal(err)
			}
			if c, err = st.Campaign(ctx, c.Account, c.ID); err != nil {
				t.Fatal(err)
			}
			if c.Status != campaign.Sending {
				break
			}
			msg = task.Step{Campaign: msg.Campaign, Step: c.StepToken}
			time.Sleep(25 * time.Millisecond)
		}
		if !reading {
			if c.Status != campaign.Completed || c.Counts.Unknown != 2 || c.Counts.Sent != 2 {
				t.Errorf("reading off: %s %+v, want completed with 2 sent and 2 unknown", c.Status, c.Counts)
			}
			for to, ids := range m.sends {
				if len(ids) != 1 || ids[0] != "" {
					t.Errorf("reading off: %s sent with %q, want once without a Message-ID of ours", to, ids)
				}
			}
			continue
		}
		if c.Status != campaign.Completed || c.Counts.Sent != 4 || c.Counts.Unknown != 0 {
			t.Fatalf("campaign %s %+v, want completed with 4 sent", c.Status, c.Counts)
		}
		for to, ids := range m.sends {
			want := 1
			if to == "r1@example.com" {
				want = 2 // never accepted: sent once more
			}
			if len(ids) != want || !strings.HasPrefix(ids[0], "<") || !strings.HasSuffix(ids[0], "@mailmerge.example>") {
				t.Errorf("%s sent %d times with %q, want %d with our Message-ID", to, len(ids), ids, want)
			}
			if len(ids) == 2 && ids[0] != ids[1] {
				t.Errorf("sent again with another Message-ID: %q", ids)
			}
		}
		r1, err := st.Recipient(ctx, c.ID, 3)
		if err != nil || !r1.Resent || r1.Status != campaign.RowSent || r1.MessageID == "" {
			t.Errorf("row sent again: %+v %v", r1, err)
		}
	}
}
