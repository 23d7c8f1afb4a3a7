package pacing

import (
	"context"
	mrand "math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/dev/testenv"
	"mailmerge/handler/internal/store"
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
	cp.Lapsed = append([]store.Lease(nil), m.Lapsed...)
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
	if l.MaxSend == 0 {
		l.MaxSend = 75 * time.Second
	}
	return New(&memStore{data: map[string]store.Mailbox{}}, l, "test-owner", c.now), c
}

// TestPerMinute: spacing alone keeps 30 starts within a minute, but the
// minute counts from when Graph accepted each message, so slow answers
// hold the 31st back until the first accepted one is a minute old.
func TestPerMinute(t *testing.T) {
	p, c := newPacer(Limits{PerMinute: 30, PerDay: 10_000, Concurrent: 4, LeaseTTL: time.Minute})
	ctx := context.Background()
	var firstAccepted time.Time
	for i := range 30 {
		g, err := acquire(ctx, p, "mb", 1)
		if err == nil && !g.OK && g.Reason == ReasonSpacing {
			c.t = g.NotBefore
			g, err = acquire(ctx, p, "mb", 1)
		}
		if err != nil || !g.OK {
			t.Fatalf("send %d: %+v %v", i, g, err)
		}
		c.t = c.t.Add(1900 * time.Millisecond)
		if i == 0 {
			firstAccepted = c.t
		}
		if err := release(ctx, p, "mb", g, 1, true, 0); err != nil {
			t.Fatal(err)
		}
	}
	g, _ := acquire(ctx, p, "mb", 1)
	if g.OK || !g.NotBefore.Equal(firstAccepted.Add(time.Minute)) || g.Reason != ReasonPerMinute {
		t.Fatalf("31st within the minute of the first acceptance: %+v", g)
	}
	c.t = g.NotBefore
	if g, _ := acquire(ctx, p, "mb", 1); !g.OK {
		t.Errorf("at NotBefore: %+v", g)
	}
}

// steps drives a mailbox as send steps do for minutes: each step asks,
// sends what it is granted (Graph answers after latency) and schedules
// itself for when it is told; deliver(d) is how long a message scheduled
// d ahead takes to arrive. It returns when each send started.
func steps(t *testing.T, p *Pacer, c *clock, minutes int, latency time.Duration, deliver func(d time.Duration) time.Duration) (starts []time.Time, reasons map[string]int) {
	t.Helper()
	ctx := context.Background()
	end := c.t.Add(time.Duration(minutes) * time.Minute)
	reasons = map[string]int{}
	for c.t.Before(end) {
		gs, denied, err := p.AcquireN(ctx, "mb", []int{1, 1, 1, 1})
		if err != nil {
			t.Fatal(err)
		}
		var done []Done
		for _, g := range gs {
			starts = append(starts, c.t)
			done = append(done, Done{Grant: g, N: 1, Sent: true})
		}
		c.t = c.t.Add(latency)
		if err := p.ReleaseN(ctx, "mb", done, 0); err != nil {
			t.Fatal(err)
		}
		reasons[denied.Reason]++
		c.t = c.t.Add(deliver(max(denied.NotBefore.Sub(c.t), 0)))
	}
	return starts, reasons
}

// gaps are the least, median and largest time between starts.
func gaps(starts []time.Time) (lo, median, hi time.Duration) {
	var gs []time.Duration
	for i := 1; i < len(starts); i++ {
		gs = append(gs, starts[i].Sub(starts[i-1]))
	}
	slices.Sort(gs)
	return gs[0], gs[len(gs)/2], gs[len(gs)-1]
}

// TestSendsAreSpread: at 30 a minute a send starts about every 2 s, with a
// little jitter, never two at once, and the rate is the limit's.
func TestSendsAreSpread(t *testing.T) {
	p, c := newPacer(DefaultLimits(75 * time.Second))
	starts, reasons := steps(t, p, c, 5, 300*time.Millisecond, func(d time.Duration) time.Duration { return d })
	if n := len(starts); n < 147 || n > 150 {
		t.Errorf("%d sends in 5 minutes at 30 a minute, want 147 to 150 (98%% to 100%%)", n)
	}
	lo, median, hi := gaps(starts)
	if lo < 1800*time.Millisecond || hi > 2300*time.Millisecond || median < 1950*time.Millisecond || median > 2100*time.Millisecond {
		t.Errorf("gaps %v, median %v, %v; want about 2 s", lo, median, hi)
	}
	if hi-lo < 100*time.Millisecond {
		t.Errorf("gaps %v to %v: no jitter", lo, hi)
	}
	if reasons[ReasonPerMinute] > 0 || reasons[ReasonSpacing] == 0 {
		t.Errorf("denials %v: spacing, not the per-minute count, should pace", reasons)
	}
}

// TestLateStepsKeepTheRate: a step that comes back late or early (a
// Storage queue's whole-second visibility and its polling) costs no rate:
// the grid holds and the next sends come sooner, half an interval apart at
// least. An idle mailbox saves up no burst.
func TestLateStepsKeepTheRate(t *testing.T) {
	p, c := newPacer(DefaultLimits(75 * time.Second))
	rng := mrand.New(mrand.NewPCG(1, 2))
	queue := func(d time.Duration) time.Duration {
		return d.Round(time.Second) + time.Duration(rng.Int64N(int64(250*time.Millisecond)))
	}
	starts, _ := steps(t, p, c, 5, 100*time.Millisecond, queue)
	if n := len(starts); n < 147 {
		t.Errorf("%d sends in 5 minutes with late steps, want at least 147 (98%% of 150)", n)
	}
	if lo, _, _ := gaps(starts); lo < 800*time.Millisecond {
		t.Errorf("two sends %v apart", lo)
	}
	for i := 30; i < len(starts); i++ {
		if window := starts[i].Sub(starts[i-30]); window < time.Minute {
			t.Fatalf("31 sends within %v", window)
		}
	}
	c.t = c.t.Add(10 * time.Minute)
	gs, _, err := p.AcquireN(context.Background(), "mb", []int{1, 1, 1, 1})
	if err != nil || len(gs) != 1 {
		t.Errorf("after 10 idle minutes: %d sends at once, want 1 (%v)", len(gs), err)
	}
}

// TestDeadLeasesLapse: a worker that dies holds its request slots only
// until its leases' TTL; one that lives renews them while Graph answers,
// never past the send's deadline. A lapsed send may have gone out: it
// counts in the minute.
func TestDeadLeasesLapse(t *testing.T) {
	p, c := newPacer(Limits{PerMinute: 6000, PerDay: 10_000, Concurrent: 2, LeaseTTL: 15 * time.Second, MaxSend: 75 * time.Second})
	ctx := context.Background()
	dead, _, _ := p.AcquireN(ctx, "mb", []int{1})
	live, _, _ := p.AcquireN(ctx, "mb", []int{1})
	if len(dead) != 1 || len(live) != 1 || live[0].Lease.Owner != "test-owner" || !live[0].Lease.Deadline.Equal(c.t.Add(75*time.Second)) {
		t.Fatalf("leases: %+v %+v", dead, live)
	}
	if g, _ := acquire(ctx, p, "mb", 1); g.OK || g.Reason != "requests in flight" {
		t.Fatalf("a third in flight: %+v", g)
	}
	for range 3 {
		c.t = c.t.Add(5 * time.Second)
		if err := p.Renew(ctx, "mb", live); err != nil {
			t.Fatal(err)
		}
	}
	c.t = c.t.Add(time.Second)
	g, _ := acquire(ctx, p, "mb", 1)
	if !g.OK {
		t.Fatalf("16 s after the dead worker's last word, its slot is still held: %+v", g)
	}
	m, _ := p.store.Mailbox(ctx, "mb")
	if len(m.Leases) != 2 || len(m.Sends) != 1 || !m.Sends[0].Equal(dead[0].Lease.Expires) {
		t.Errorf("the lapsed send should count in the minute from its expiry: %+v", m)
	}
	if len(m.Lapsed) != 1 || m.Lapsed[0].ID != dead[0].Lease.ID {
		t.Errorf("the lapsed send should be kept until its deadline, for Settled: %+v", m.Lapsed)
	}
	// Renewed or not, a lease ends at its deadline.
	for range 20 {
		c.t = c.t.Add(5 * time.Second)
		_ = p.Renew(ctx, "mb", live)
	}
	m, _ = p.store.Mailbox(ctx, "mb")
	for _, l := range m.Leases {
		if l.ID == live[0].Lease.ID && l.Expires.After(live[0].Lease.Deadline) {
			t.Errorf("renewed past its deadline: %+v", l)
		}
	}
	if g, _ := acquire(ctx, p, "mb", 1); !g.OK {
		t.Errorf("past every deadline: %+v", g)
	}
	if m, _ = p.store.Mailbox(ctx, "mb"); len(m.Lapsed) != 0 {
		t.Errorf("lapsed sends kept past their deadline: %+v", m.Lapsed)
	}
}

func TestConcurrencyAndRefund(t *testing.T) {
	p, c := newPacer(Limits{PerMinute: 6000, PerDay: 10_000, Concurrent: 4, LeaseTTL: time.Minute})
	ctx := context.Background()
	var held []Grant
	for range 4 {
		g, _ := acquire(ctx, p, "mb", 1)
		if !g.OK {
			t.Fatalf("in flight %d: %+v", len(held), g)
		}
		held = append(held, g)
	}
	if g, _ := acquire(ctx, p, "mb", 1); g.OK || g.Reason != "requests in flight" || !g.NotBefore.Equal(c.t.Add(InFlightRetry)) {
		t.Fatalf("fifth in flight: %+v (asks again after %v, not when the leases expire)", g, InFlightRetry)
	}
	// A 429: nothing sent, the mailbox waits Retry-After, the budget is refunded.
	if err := release(ctx, p, "mb", held[0], 1, false, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	g, _ := acquire(ctx, p, "mb", 1)
	if g.OK || g.Reason != "throttled by Microsoft Graph" || !g.NotBefore.Equal(c.t.Add(10*time.Second)) {
		t.Fatalf("after a 429: %+v", g)
	}
	m, _ := p.store.Mailbox(ctx, "mb")
	if len(m.Leases) != 3 || len(m.Sends) != 0 || m.Hours[hourOf(c.t)] != 3 {
		t.Errorf("the refused send still counts: %d in flight, %d sent, %v", len(m.Leases), len(m.Sends), m.Hours)
	}
	// A crashed worker's lease ends by itself.
	c.t = c.t.Add(2 * time.Minute)
	if g, _ := acquire(ctx, p, "mb", 1); !g.OK {
		t.Errorf("after the leases expired: %+v", g)
	}
}

func TestPerDayRecipients(t *testing.T) {
	p, c := newPacer(Limits{PerMinute: 1000, PerDay: 100, Concurrent: 100, LeaseTTL: time.Minute})
	ctx := context.Background()
	for i := range 2 {
		g, _ := acquire(ctx, p, "mb", 40)
		if !g.OK {
			t.Fatalf("message %d: %+v", i, g)
		}
		c.t = c.t.Add(2 * time.Hour)
	}
	g, _ := acquire(ctx, p, "mb", 40)
	// 80 used: the first hour's 40 must leave the 24-hour window.
	want := time.Date(2026, 11, 29, 11, 0, 0, 0, time.UTC)
	if g.OK || g.Reason != "recipients per 24 hours" || !g.NotBefore.Equal(want) {
		t.Fatalf("third: %+v, want not before %v", g, want)
	}
	c.t = want
	if g, _ := acquire(ctx, p, "mb", 40); !g.OK {
		t.Errorf("a day later: %+v", g)
	}
	if _, err := acquire(ctx, p, "mb", 101); !apperr.Is(err, apperr.Invalid) {
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
	p := New(st, Limits{PerMinute: 60_000, PerDay: 10_000, Concurrent: 4, LeaseTTL: time.Minute, MaxSend: time.Minute}, "test-owner", time.Now)
	ctx := context.Background()
	mb := testenv.Name("mb")
	var mu sync.Mutex
	granted := 0
	var wg sync.WaitGroup
	for range 12 {
		wg.Go(func() {
			g, err := acquire(ctx, p, mb, 1)
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
	start := time.Now()
	p := New(st, Limits{PerMinute: 6_000_000, PerDay: 1_000_000, Concurrent: 100, LeaseTTL: time.Minute, MaxSend: time.Minute}, "test-owner", time.Now)
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
		if s.UnixMilli()%100 != 0 {
			t.Fatalf("send stored at %v: not rounded up to 100 ms", s)
		}
		// Rounded up, never down: no send is stored as earlier than it was.
		if s.Before(start) {
			t.Fatalf("send stored at %v, before the test began at %v", s, start)
		}
	}
}

// A send that takes over a minute still counts until it ends: the minute
// runs from when Graph accepted it.
func TestLongSendCountsUntilAccepted(t *testing.T) {
	p, c := newPacer(Limits{PerMinute: 2, PerDay: 100, Concurrent: 4, LeaseTTL: 3 * time.Minute})
	ctx := context.Background()
	slow, _ := acquire(ctx, p, "mb", 1)
	c.t = c.t.Add(61 * time.Second)
	if g, _ := acquire(ctx, p, "mb", 1); !g.OK {
		t.Fatalf("second send: %+v", g)
	}
	if g, _ := acquire(ctx, p, "mb", 1); g.OK {
		t.Fatalf("a third send while the slow one is in flight exceeds 2 a minute: %+v", g)
	}
	c.t = c.t.Add(9 * time.Second)
	if err := release(ctx, p, "mb", slow, 1, true, 0); err != nil {
		t.Fatal(err)
	}
	// Accepted at 70 s, with the second still in flight: a third may go
	// only once the slow one's minute is over.
	if g, _ := acquire(ctx, p, "mb", 1); g.OK || !g.NotBefore.Equal(c.t.Add(60*time.Second)) {
		t.Fatalf("after the slow send was accepted: %+v", g)
	}
}

// TestSettledWaitsForSendsInFlight: Settled returns once the sends in
// flight when it was called end, released or past their deadline, and
// does not wait for sends that start after it was called.
func TestSettledWaitsForSendsInFlight(t *testing.T) {
	s := &memStore{data: map[string]store.Mailbox{}}
	var mu sync.Mutex
	at := time.Now()
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return at }
	p := New(s, Limits{PerMinute: 600, PerDay: 1000, Concurrent: 4, LeaseTTL: 15 * time.Second, MaxSend: time.Minute}, "w1", now)
	ctx := context.Background()
	first, err := acquire(ctx, p, "m", 1)
	if err != nil || !first.OK {
		t.Fatal(first, err)
	}
	done := make(chan error, 1)
	go func() { done <- Settled(ctx, s, "m", now) }()
	// A send that starts later is not waited for.
	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	at = at.Add(3 * time.Second)
	mu.Unlock()
	later, err := acquire(ctx, p, "m", 1)
	if err != nil || !later.OK {
		t.Fatal(later, err)
	}
	select {
	case err := <-done:
		t.Fatalf("settled with a send in flight: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	if err := release(ctx, p, "m", first, 1, true, 0); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("not settled after the send in flight ended")
	}

	// A lease nobody renews, past its deadline: its owner is gone (a live
	// one has ended its send by then), and so is the wait.
	go func() { done <- Settled(ctx, s, "m", now) }()
	select {
	case err := <-done:
		t.Fatalf("settled with a send in flight: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	mu.Lock()
	at = at.Add(61 * time.Second)
	mu.Unlock()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("a lease past its deadline is still waited for")
	}
	// Nothing in flight: at once.
	if err := Settled(ctx, s, "empty", now); err != nil {
		t.Fatal(err)
	}
}

// TestSettledWaitsForALapsedSendOnAzurite: a lease that lapsed (its
// owner's renewals failed: slow storage) no longer holds a request slot,
// but its owner may still be sending until the lease's deadline. Settled
// waits for it until then, or until its owner releases it, even once
// another worker's grant has pruned it.
func TestSettledWaitsForALapsedSendOnAzurite(t *testing.T) {
	st, err := store.Open(testenv.Storage(t))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	at := time.Now()
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return at }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); at = at.Add(d) }
	l := Limits{PerMinute: 600, PerDay: 1000, Concurrent: 4, LeaseTTL: 15 * time.Second, MaxSend: time.Minute}
	slow, other := New(st, l, "w1", now), New(st, l, "w2", now)
	ctx := context.Background()
	mb := testenv.Name("mb")
	settled := func() chan error {
		done := make(chan error, 1)
		go func() { done <- Settled(ctx, st, mb, now) }()
		return done
	}
	waits := func(done chan error, what string) {
		t.Helper()
		select {
		case err := <-done:
			t.Fatalf("%s: settled with a send in flight (%v)", what, err)
		case <-time.After(300 * time.Millisecond):
		}
	}
	ends := func(done chan error, what string) {
		t.Helper()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(3 * time.Second):
			t.Fatalf("%s: not settled", what)
		}
	}

	g, err := acquire(ctx, slow, mb, 1)
	if err != nil || !g.OK {
		t.Fatal(g, err)
	}
	advance(16 * time.Second) // lapsed, 44 s before its deadline
	done := settled()
	waits(done, "lapsed")
	// Another worker's grant prunes the lapsed lease: its slot is free,
	// its send may still be under way.
	if g2, err := acquire(ctx, other, mb, 1); err != nil || !g2.OK {
		t.Fatal(g2, err)
	} else if err := release(ctx, other, mb, g2, 1, true, 0); err != nil {
		t.Fatal(err)
	}
	waits(done, "lapsed and pruned")
	advance(45 * time.Second) // past the deadline
	ends(done, "past the deadline")

	// Lapsed and pruned before the call: waited for until released.
	g, err = acquire(ctx, slow, mb, 1)
	if err != nil || !g.OK {
		t.Fatal(g, err)
	}
	advance(16 * time.Second)
	if g2, err := acquire(ctx, other, mb, 1); err != nil || !g2.OK {
		t.Fatal(g2, err)
	} else if err := release(ctx, other, mb, g2, 1, true, 0); err != nil {
		t.Fatal(err)
	}
	done = settled()
	waits(done, "pruned before the call")
	if err := release(ctx, slow, mb, g, 1, true, 0); err != nil {
		t.Fatal(err)
	}
	ends(done, "released")
}

// TestEstimate: the pace alone, then the rolling day's limit with what the
// mailbox sent in the last hours.
func TestEstimate(t *testing.T) {
	l := Limits{PerMinute: 30, PerDay: 10_000, Concurrent: 4}
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	if got := Estimate(l, store.Mailbox{}, 0, now, campaign.Window{}); !got.Equal(now) {
		t.Errorf("nothing left: %v, want now", got)
	}
	// 300 messages at 2.02 s each: 10 minutes and 6 seconds.
	if got, want := Estimate(l, store.Mailbox{}, 300, now, campaign.Window{}), now.Add(300*l.Interval()); !got.Equal(want) {
		t.Errorf("300 messages: %v, want %v", got, want)
	}
	// 9,900 recipients sent an hour ago: 100 go now, the rest wait until
	// that hour leaves the rolling day (23 hours on), then go at the pace.
	m := store.Mailbox{Hours: map[int64]int{hourOf(now) - 1: 9_900}}
	got := Estimate(l, m, 1_100, now, campaign.Window{})
	freed := time.Unix((hourOf(now)+23)*3600, 0)
	if want := freed.Add(1_000 * l.Interval()); !got.Equal(want) {
		t.Errorf("over the day's limit: %v, want %v", got, want)
	}
	// Throttled: nothing starts before the block ends.
	blocked := store.Mailbox{BlockedUntil: now.Add(10 * time.Minute)}
	if got, want := Estimate(l, blocked, 1, now, campaign.Window{}), now.Add(10*time.Minute+l.Interval()); !got.Equal(want) {
		t.Errorf("throttled: %v, want %v", got, want)
	}
	// A window of 09:00 to 09:05 UTC on weekdays: 148 fit in each (at
	// 2.02 s), Thursday's and Friday's; the last 4 go on Monday.
	w := campaign.Window{Days: []string{"mon", "tue", "wed", "thu", "fri"}, From: "09:00", To: "09:05", TimeZone: "UTC"}
	inFirst := int(5 * time.Minute / l.Interval())
	if got, want := Estimate(l, store.Mailbox{}, 300, now, w), time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC).Add(time.Duration(300-2*inFirst)*l.Interval()); !got.Equal(want) {
		t.Errorf("in a window: %v, want %v", got, want)
	}
	// Saturday: nothing before Monday 09:00.
	sat := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	if got, want := Estimate(l, store.Mailbox{}, 1, sat, w), time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC).Add(l.Interval()); !got.Equal(want) {
		t.Errorf("from a Saturday: %v, want %v", got, want)
	}
}

// acquire asks p for one message to n recipients: its grant, or why not.
func acquire(ctx context.Context, p *Pacer, mailbox string, n int) (Grant, error) {
	gs, denied, err := p.AcquireN(ctx, mailbox, []int{n})
	if err != nil || len(gs) == 0 {
		return denied, err
	}
	return gs[0], nil
}

// release ends one lease of p.
func release(ctx context.Context, p *Pacer, mailbox string, g Grant, n int, sent bool, blockFor time.Duration) error {
	return p.ReleaseN(ctx, mailbox, []Done{{Grant: g, N: n, Sent: sent}}, blockFor)
}
