package store

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"mailmerge/handler/internal/campaign"
)

// TestMarkRecipient: the first reply is kept, later ones leave it; a
// bounce is kept unless one is there, a hard one replacing a soft one;
// each change is reported once, also to two markers at once; the marks
// are read back, survive other writes of the row, and a gone row is
// NotFound.
func TestMarkRecipient(t *testing.T) {
	s, ctx := open(t), context.Background()
	id := "mark" + newKey().ObjectID[:8]
	if err := s.ReplaceRecipients(ctx, id, []Recipient{{Row: 2, Cells: []string{"a@example.com"}, Status: campaign.RowPending}}); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().UTC().Truncate(time.Millisecond)
	steps := []struct {
		mark Mark
		want Marked
	}{
		{Mark{RepliedAt: t0}, Marked{Replied: true}},
		{Mark{RepliedAt: t0.Add(time.Hour)}, Marked{}},
		{Mark{Bounce: BounceSoft, BouncedAt: t0.Add(time.Minute)}, Marked{Bounced: true}},
		{Mark{Bounce: BounceSoft, BouncedAt: t0.Add(2 * time.Minute)}, Marked{}},
		{Mark{Bounce: BounceHard, BouncedAt: t0.Add(3 * time.Minute)}, Marked{Hardened: true}},
		{Mark{Bounce: BounceSoft, BouncedAt: t0.Add(4 * time.Minute)}, Marked{}},
		{Mark{Bounce: BounceHard, BouncedAt: t0.Add(5 * time.Minute)}, Marked{}},
	}
	for i, st := range steps {
		got, err := s.MarkRecipient(ctx, id, 2, st.mark)
		if err != nil || got != st.want {
			t.Errorf("step %d: %+v, %v; want %+v", i, got, err, st.want)
		}
	}
	r, err := s.Recipient(ctx, id, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !r.RepliedAt.Equal(t0) || r.Bounce != BounceHard || !r.BouncedAt.Equal(t0.Add(3*time.Minute)) {
		t.Errorf("row: replied %v, bounce %q at %v", r.RepliedAt, r.Bounce, r.BouncedAt)
	}
	// Other writers of the row (a status change, hit counts) keep them.
	r.Status = campaign.RowSending
	if _, err := s.SetRecipientStatus(ctx, id, r, campaign.RowSent, campaign.Reason{}, t0); err != nil {
		t.Fatal(err)
	}
	if r, _ = s.Recipient(ctx, id, 2); r.RepliedAt.IsZero() || r.Bounce != BounceHard {
		t.Errorf("after a status change: %+v", r)
	}

	// Two readers of the same message at once: one of them marks.
	if err := s.ReplaceRecipients(ctx, id, []Recipient{{Row: 3, Cells: []string{"b@example.com"}, Status: campaign.RowSent}}); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var firsts []Marked
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := s.MarkRecipient(ctx, id, 3, Mark{RepliedAt: t0, Bounce: BounceHard, BouncedAt: t0})
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			firsts = append(firsts, m)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if n := len(slices.DeleteFunc(firsts, func(m Marked) bool { return m == Marked{} })); n != 1 {
		t.Errorf("%d of 4 concurrent markers marked, want 1", n)
	}
	if _, err := s.MarkRecipient(ctx, id, 99, Mark{RepliedAt: t0}); err == nil {
		t.Error("a row that does not exist was marked")
	}
}

// TestMailboxReadingQueries: the accounts that read their mailbox are
// found (not those being deleted); an account sent recently when a
// campaign is sending, or completed, started or stepped since the time
// asked; campaign counts of replies and bounces add up and survive other
// changes of the campaign.
func TestMailboxReadingQueries(t *testing.T) {
	s, ctx := open(t), context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	reading, off, deleting := newKey(), newKey(), newKey()
	for _, k := range []struct {
		a  Account
		on bool
	}{{Account{Key: reading}, true}, {Account{Key: off}, false}, {Account{Key: deleting, DeletionRequestedAt: now}, true}} {
		a := k.a
		a.CreatedAt, a.UpdatedAt = now, now
		if k.on {
			a.StartReading(now)
		}
		if err := s.CreateAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	all, err := s.AccountsReading(ctx)
	if err != nil {
		t.Fatal(err)
	}
	has := func(k any) bool {
		return slices.ContainsFunc(all, func(a Account) bool { return a.Key == k })
	}
	if !has(reading) || has(off) || has(deleting) {
		t.Errorf("accounts reading: reading %v, off %v, deleting %v; want only the first", has(reading), has(off), has(deleting))
	}

	long := now.Add(-40 * 24 * time.Hour)
	since := now.Add(-30 * 24 * time.Hour)
	for _, tt := range []struct {
		name string
		c    Campaign
		want bool
	}{
		{"a draft", Campaign{Status: campaign.Draft, CreatedAt: now}, false},
		{"completed long ago", Campaign{Status: campaign.Completed, StartedAt: long, CompletedAt: long, NextStepAt: long}, false},
		{"being deleted", Campaign{Status: campaign.Sending, StartedAt: now, DeletionRequestedAt: now}, false},
		{"sending", Campaign{Status: campaign.Sending, StartedAt: long}, true},
		{"completed lately", Campaign{Status: campaign.Completed, StartedAt: long, CompletedAt: now}, true},
		{"paused after a recent step", Campaign{Status: campaign.Paused, StartedAt: long, NextStepAt: now}, true},
	} {
		k := newKey()
		c := tt.c
		c.Account, c.ID, c.Name, c.AddressHash = k, "c1", tt.name, "h"+k.ObjectID
		if err := s.CreateCampaign(ctx, c); err != nil {
			t.Fatal(err)
		}
		got, err := s.SentSince(ctx, k, since)
		if err != nil || got != tt.want {
			t.Errorf("%s: sent since %v, %v; want %v", tt.name, got, err, tt.want)
		}
	}

	k := newKey()
	if err := s.CreateCampaign(ctx, Campaign{Account: k, ID: "c1", Name: "n", Status: campaign.Sending, AddressHash: "h" + k.ObjectID}); err != nil {
		t.Fatal(err)
	}
	for _, d := range [][2]int{{1, 0}, {0, 2}, {1, 1}, {0, 0}} {
		if err := s.CountResponses(ctx, k, "c1", d[0], d[1]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.ModifyCampaign(ctx, k, "c1", func(c *Campaign) error { c.Name = "renamed"; return nil }); err != nil {
		t.Fatal(err)
	}
	c, err := s.Campaign(ctx, k, "c1")
	if err != nil || c.Replied != 2 || c.Bounced != 3 {
		t.Errorf("counts %d replied, %d bounced (%v); want 2 and 3", c.Replied, c.Bounced, err)
	}
	if err := s.CountResponses(ctx, k, "gone", 1, 0); err == nil {
		t.Error("a campaign that does not exist was counted")
	}
}
