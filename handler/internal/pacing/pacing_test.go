package pacing

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/store"
	"mailmerge/handler/internal/testenv"
)

// memStore keeps mailboxes in memory with ETags, like Table storage.
type memStore struct {
	mu   sync.Mutex
	data map[string]store.Mailbox
	n    int
}

func (s *memStore) Mailbox(ctx context.Context, key string) (store.Mailbox, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.data[key]
	if !ok {
		return store.Mailbox{Key: key, Hours: map[int64]int{}}, nil
	}
	cp := m
	cp.Sends = append([]time.Time(nil), m.Sends...)
	cp.Leases = append([]store.Lease(nil), m.Leases...)
	cp.Hours = map[int64]int{}
	for k, v := range m.Hours {
		cp.Hours[k] = v
	}
	return cp, nil
}

func (s *memStore) SaveMailbox(ctx context.Context, m store.Mailbox) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur, ok := s.data[m.Key]; (ok && cur.ETag != m.ETag) || (!ok && m.ETag != "") {
		return apperr.E(apperr.Conflict, "conflict", "changed")
	}
	s.n++
	m.ETag = strconv.Itoa(s.n)
	s.data[m.Key] = m
	return nil
}

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newPacer(l Limits) (*Pacer, *clock) {
	c := &clock{t: time.Date(2026, 11, 28, 10, 0, 0, 0, time.UTC)}
	return New(&memStore{data: map[string]store.Mailbox{}}, l, c.now), c
}

func TestPerMinute(t *testing.T) {
	p, c := newPacer(Limits{PerMinute: 30, PerDay: 10_000, Concurrent: 4, LeaseTTL: time.Minute})
	ctx := context.Background()
	start := c.t
	for i := range 30 {
		g, err := p.Acquire(ctx, "mb", 1)
		if err != nil || !g.OK {
			t.Fatalf("send %d: %+v %v", i, g, err)
		}
		if err := p.Release(ctx, "mb", g, 1, true, 0); err != nil {
			t.Fatal(err)
		}
		c.t = c.t.Add(time.Second)
	}
	g, _ := p.Acquire(ctx, "mb", 1)
	if g.OK || !g.NotBefore.Equal(start.Add(time.Minute)) || g.Reason != "messages per minute" {
		t.Fatalf("31st within the minute: %+v", g)
	}
	c.t = g.NotBefore
	if g, _ := p.Acquire(ctx, "mb", 1); !g.OK {
		t.Errorf("at NotBefore: %+v", g)
	}
}

func TestConcurrencyAndRefund(t *testing.T) {
	p, c := newPacer(Limits{PerMinute: 30, PerDay: 10_000, Concurrent: 4, LeaseTTL: time.Minute})
	ctx := context.Background()
	var held []Grant
	for range 4 {
		g, _ := p.Acquire(ctx, "mb", 1)
		if !g.OK {
			t.Fatalf("in flight %d: %+v", len(held), g)
		}
		held = append(held, g)
	}
	if g, _ := p.Acquire(ctx, "mb", 1); g.OK || g.Reason != "requests in flight" || !g.NotBefore.Equal(c.t.Add(InFlightRetry)) {
		t.Fatalf("fifth in flight: %+v (asks again after %v, not when the leases expire)", g, InFlightRetry)
	}
	// A 429: nothing sent, the mailbox waits Retry-After, the budget is refunded.
	if err := p.Release(ctx, "mb", held[0], 1, false, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	g, _ := p.Acquire(ctx, "mb", 1)
	if g.OK || g.Reason != "throttled by Microsoft Graph" || !g.NotBefore.Equal(c.t.Add(10*time.Second)) {
		t.Fatalf("after a 429: %+v", g)
	}
	m, _ := p.store.Mailbox(ctx, "mb")
	if len(m.Leases) != 3 || len(m.Sends) != 0 || m.Hours[hourOf(c.t)] != 3 {
		t.Errorf("the refused send still counts: %d in flight, %d sent, %v", len(m.Leases), len(m.Sends), m.Hours)
	}
	// A crashed worker's lease ends by itself.
	c.t = c.t.Add(2 * time.Minute)
	if g, _ := p.Acquire(ctx, "mb", 1); !g.OK {
		t.Errorf("after the leases expired: %+v", g)
	}
}

func TestPerDayRecipients(t *testing.T) {
	p, c := newPacer(Limits{PerMinute: 1000, PerDay: 100, Concurrent: 100, LeaseTTL: time.Minute})
	ctx := context.Background()
	for i := range 2 {
		g, _ := p.Acquire(ctx, "mb", 40)
		if !g.OK {
			t.Fatalf("message %d: %+v", i, g)
		}
		c.t = c.t.Add(2 * time.Hour)
	}
	g, _ := p.Acquire(ctx, "mb", 40)
	// 80 used: the first hour's 40 must leave the 24-hour window.
	want := time.Date(2026, 11, 29, 11, 0, 0, 0, time.UTC)
	if g.OK || g.Reason != "recipients per 24 hours" || !g.NotBefore.Equal(want) {
		t.Fatalf("third: %+v, want not before %v", g, want)
	}
	c.t = want
	if g, _ := p.Acquire(ctx, "mb", 40); !g.OK {
		t.Errorf("a day later: %+v", g)
	}
	if _, err := p.Acquire(ctx, "mb", 101); !apperr.Is(err, apperr.Invalid) {
		t.Errorf("a message over the daily budget: %v", err)
	}
}

// TestSharedAcrossWorkersOnAzurite: workers racing on one mailbox in Table
// storage never exceed the in-flight limit, thanks to the ETag.
func TestSharedAcrossWorkersOnAzurite(t *testing.T) {
	st, err := store.Open(testenv.Storage(t))
	if err != nil {
		t.Fatal(err)
	}
	p := New(st, Limits{PerMinute: 1000, PerDay: 10_000, Concurrent: 4, LeaseTTL: time.Minute}, time.Now)
	ctx := context.Background()
	mb := testenv.Name("mb")
	var mu sync.Mutex
	granted := 0
	var wg sync.WaitGroup
	for range 12 {
		wg.Go(func() {
			g, err := p.Acquire(ctx, mb, 1)
			if err != nil {
				t.Error(err)
				return
			}
			if g.OK {
				mu.Lock()
				granted++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if granted != 4 {
		t.Errorf("%d sends in flight at once, want exactly 4", granted)
	}
	m, err := st.Mailbox(ctx, mb)
	if err != nil || len(m.Leases) != 4 || len(m.Sends) != 0 {
		t.Errorf("stored state: %+v %v", m, err)
	}
}

// Accepted sends are stored rounded up to 100 ms: a busy minute stays
// small, and the rounding only ever delays the next send.
func TestSendsStoredCompactlyOnAzurite(t *testing.T) {
	st, err := store.Open(testenv.Storage(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	mb := "mb" + newID()
	p := New(st, Limits{PerMinute: 100_000, PerDay: 1_000_000, Concurrent: 100, LeaseTTL: time.Minute}, time.Now)
	var done []Done
	var m store.Mailbox
	for range 5 {
		gs, _, err := p.AcquireN(ctx, mb, []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range gs {
			done = append(done, Done{Grant: g, N: 1, Sent: true})
		}
	}
	for i := 0; i < 3000; i += len(done) {
		if err := p.ReleaseN(ctx, mb, done, 0); err != nil {
			t.Fatalf("after %d sends: %v", i, err)
		}
	}
	m, err = st.Mailbox(ctx, mb)
	if err != nil || len(m.Sends) != 3000 {
		t.Fatalf("%d sends stored, %v", len(m.Sends), err)
	}
	for _, s := range m.Sends {
		if s.Before(time.Now().Add(-time.Second)) || s.UnixMilli()%100 != 0 {
			t.Fatalf("send stored at %v: not rounded up to 100 ms", s)
		}
	}
}

// A send that takes over a minute still counts until it ends: the minute
// runs from when Graph accepted it.
func TestLongSendCountsUntilAccepted(t *testing.T) {
	p, c := newPacer(Limits{PerMinute: 2, PerDay: 100, Concurrent: 4, LeaseTTL: 3 * time.Minute})
	ctx := context.Background()
	slow, _ := p.Acquire(ctx, "mb", 1)
	c.t = c.t.Add(61 * time.Second)
	if g, _ := p.Acquire(ctx, "mb", 1); !g.OK {
		t.Fatalf("second send: %+v", g)
	}
	if g, _ := p.Acquire(ctx, "mb", 1); g.OK {
		t.Fatalf("a third send while the slow one is in flight exceeds 2 a minute: %+v", g)
	}
	c.t = c.t.Add(9 * time.Second)
	if err := p.Release(ctx, "mb", slow, 1, true, 0); err != nil {
		t.Fatal(err)
	}
	// Accepted at 70 s, with the second still in flight: a third may go
	// only once the slow one's minute is over.
	if g, _ := p.Acquire(ctx, "mb", 1); g.OK || !g.NotBefore.Equal(c.t.Add(60*time.Second)) {
		t.Fatalf("after the slow send was accepted: %+v", g)
	}
}
