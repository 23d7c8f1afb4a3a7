// Package pacing keeps each mailbox within Exchange Online's sending
// limits, shared by all campaigns of that mailbox: messages per minute,
// recipients per rolling 24 hours and requests in flight. The state lives
// in Table storage under ETag concurrency, so any number of workers on any
// number of instances agree. Nothing here sleeps: when the budget is spent,
// AcquireN says when to come back and the worker schedules itself.
package pacing

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	mrand "math/rand/v2"
	"sort"
	"time"

	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/store"
)

// Limits are a mailbox's budget. DESIGN §4: at most 30 messages a minute,
// 10,000 recipients in any 24 hours, 4 requests in flight; each may be set
// lower. Sends are spread across the minute (Interval: 2.02 s at 30 a
// minute), not sent in bursts, which receiving filters read as a bulk
// mailer.
type Limits struct {
	PerMinute  int
	PerDay     int
	Concurrent int
	// LeaseTTL is how long a send counts as in flight unless its owner
	// renews the lease (it does while the send lasts): a crashed worker's
	// sends stop holding the mailbox's request slots this soon.
	LeaseTTL time.Duration
	// MaxSend is the longest one send can take, its answer recorded
	// included (the Graph client's timeout and a margin). A lease is never
	// renewed past it, and a row claimed longer ago belongs to a worker
	// that is gone.
	MaxSend time.Duration
}

// Interval is the spacing of sends: a minute over PerMinute, 1% longer.
// A message counts in the minute from when Graph accepted it, some time
// after it started; the 1% absorbs that, so that the per-minute count
// seldom has to hold back a send that the spacing let start.
func (l Limits) Interval() time.Duration {
	if l.PerMinute <= 0 {
		return 0
	}
	return time.Minute * 101 / 100 / time.Duration(l.PerMinute)
}

// Why a send must wait (Grant.Reason).
const (
	ReasonThrottled = "throttled by Microsoft Graph"
	ReasonInFlight  = "requests in flight"
	ReasonPerMinute = "messages per minute"
	ReasonPerDay    = "recipients per 24 hours"
	ReasonSpacing   = "spacing"
)

// InFlightRetry is how soon to ask again when every request slot of the
// mailbox is taken.
const InFlightRetry = 2 * time.Second

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// DefaultLimits are Exchange Online's; maxSend is the longest one send
// can take.
func DefaultLimits(maxSend time.Duration) Limits {
	return Limits{PerMinute: 30, PerDay: 10_000, Concurrent: 4, LeaseTTL: 15 * time.Second, MaxSend: maxSend}
}

// Store is what pacing needs from storage.
type Store interface {
	Mailbox(ctx context.Context, key string) (store.Mailbox, error)
	SaveMailbox(ctx context.Context, m store.Mailbox) error
}

// Pacer hands out send permissions.
type Pacer struct {
	store  Store
	limits Limits
	owner  string
	now    func() time.Time
}

// New returns a Pacer whose leases name owner (this process); now is the
// clock (time.Now in production).
func New(s Store, limits Limits, owner string, now func() time.Time) *Pacer {
	return &Pacer{store: s, limits: limits, owner: owner, now: now}
}

// Owner names this process in its leases.
func (p *Pacer) Owner() string { return p.owner }

// Grant is an answer of AcquireN: either a lease to send now, or the time
// before which the mailbox has no budget for this message.
type Grant struct {
	Lease     store.Lease
	OK        bool
	NotBefore time.Time
	// Reason names the limit that applies when !OK.
	Reason string
}

// AcquireN asks to send messages to ns[i] recipients each, in order, from
// mailbox now, in one read and write of the mailbox's state. It grants a
// prefix of them; when it stops short, denied says why and until when.
// Each message granted is counted in the minute and the day and holds a
// lease until ReleaseN.
func (p *Pacer) AcquireN(ctx context.Context, mailbox string, ns []int) (granted []Grant, denied Grant, err error) {
	for _, n := range ns {
		if n > p.limits.PerDay {
			return nil, Grant{}, apperr.E(apperr.Invalid, "too_many_recipients", "one message to %d recipients is over the mailbox's %d a day", n, p.limits.PerDay)
		}
	}
	err = p.update(ctx, mailbox, func(m *store.Mailbox, now time.Time) bool {
		granted, denied = granted[:0], Grant{}
		moved := false
		for _, n := range ns {
			g := p.decide(m, n, now)
			if !g.OK {
				denied = g
				// The minute's count holds sends back (Graph answered
				// slowly, or a late step caught up): the grid starts
				// again from there rather than catch up, which would
				// bunch sends that the next minute's count echoes.
				if g.Reason == ReasonPerMinute && g.NotBefore.After(m.Next) {
					m.Next, moved = g.NotBefore, true
				}
				break
			}
			m.Hours[hourOf(now)] += n
			m.Leases = append(m.Leases, g.Lease)
			m.Next, m.LastStart = p.nextSlot(m.Next, now), now
			granted = append(granted, g)
		}
		return len(granted) > 0 || moved
	})
	return granted, denied, err
}

// decide applies the limits to the mailbox's state at now.
func (p *Pacer) decide(m *store.Mailbox, n int, now time.Time) Grant {
	prune(m, now, p.limits)
	var next time.Time
	reason := ""
	later := func(t time.Time, why string) {
		if t.After(next) {
			next, reason = t, why
		}
	}
	if m.BlockedUntil.After(now) {
		later(m.BlockedUntil, ReasonThrottled)
	}
	// Spacing: the next send is due at m.Next, on a grid an interval
	// apart, and half an interval after the last one at least. The step is
	// told to come back a little after that (jitter); one that comes a
	// little early (a queue's whole-second delay) may start then.
	if interval := p.limits.Interval(); interval > 0 {
		due := m.Next
		if half := m.LastStart.Add(interval / 2); half.After(due) {
			due = half
		}
		if now.Before(due.Add(-earlyBy(interval))) {
			later(due.Add(mrand.N(interval/10+1)), ReasonSpacing)
		}
	}
	if len(m.Leases) >= p.limits.Concurrent {
		// A send in flight normally ends within a second or two; only a
		// crashed worker's lease lasts until it expires.
		later(minTime(m.Leases[0].Expires, now.Add(InFlightRetry)), ReasonInFlight)
	}
	// A message counts in the minute from when Graph accepted it; one in
	// flight counts already, whenever it will be accepted.
	if used := len(m.Sends) + len(m.Leases); used >= p.limits.PerMinute {
		if k := used - p.limits.PerMinute; k < len(m.Sends) {
			later(m.Sends[k].Add(time.Minute), ReasonPerMinute)
		} else {
			later(now.Add(InFlightRetry), ReasonPerMinute)
		}
	}
	if used := sum(m.Hours); used+n > p.limits.PerDay {
		// Free hours oldest first until the message fits.
		hours := sortedHours(m.Hours)
		for _, h := range hours {
			used -= m.Hours[h]
			if used+n <= p.limits.PerDay {
				later(time.Unix((h+25)*3600, 0).UTC(), ReasonPerDay)
				break
			}
		}
	}
	if reason != "" {
		return Grant{NotBefore: next, Reason: reason}
	}
	deadline := now.Add(p.limits.MaxSend)
	return Grant{OK: true, Lease: store.Lease{ID: newID(), Owner: p.owner, Expires: minTime(now.Add(p.limits.LeaseTTL), deadline), Deadline: deadline}}
}

// earlyBy is how much before its slot a send may start: a tenth of the
// interval, and 100 ms at least, so that at high rates (raised limits) a
// step sends a batch instead of one message per invocation.
func earlyBy(interval time.Duration) time.Duration {
	return max(interval/10, 100*time.Millisecond)
}

// nextSlot moves the spacing grid on by one interval after a send granted
// at now. A send up to two intervals late keeps the grid, so a late step
// (a queue's delay) costs no rate: the next sends come sooner, half an
// interval apart at least. One later than that starts the grid afresh, so
// an idle mailbox saves up no burst.
func (p *Pacer) nextSlot(next, now time.Time) time.Time {
	interval := p.limits.Interval()
	if next.Before(now.Add(-2 * interval)) {
		next = now
	}
	return next.Add(interval)
}

// Renew keeps the leases of sends still in flight alive for another
// LeaseTTL, never past their deadline. The owner renews while it waits for
// Graph; a lease nobody renews has a dead owner and soon ends.
func (p *Pacer) Renew(ctx context.Context, mailbox string, grants []Grant) error {
	return p.update(ctx, mailbox, func(m *store.Mailbox, now time.Time) bool {
		changed := false
		for i, l := range m.Leases {
			for _, g := range grants {
				if l.ID == g.Lease.ID {
					m.Leases[i].Expires = minTime(now.Add(p.limits.LeaseTTL), l.Deadline)
					changed = true
				}
			}
		}
		return changed
	})
}

// Done is the end of one granted send.
type Done struct {
	Grant Grant
	// N is the message's recipients, as acquired.
	N int
	// Sent: Graph accepted it (or may have); false gives it back.
	Sent bool
	// At is when Graph answered; zero means now.
	At time.Time
}

// ReleaseN ends leases, in one read and write of the mailbox's state. A
// message sent (Done.Sent) counts in the minute from when Graph accepted
// it; one not sent is given back to the budget (Graph answered 429 or
// 503: nothing was sent). blockFor (from Retry-After) pauses the whole
// mailbox.
func (p *Pacer) ReleaseN(ctx context.Context, mailbox string, done []Done, blockFor time.Duration) error {
	return p.update(ctx, mailbox, func(m *store.Mailbox, now time.Time) bool {
		for _, d := range done {
			p.end(m, d, now)
		}
		sort.Slice(m.Sends, func(i, j int) bool { return m.Sends[i].Before(m.Sends[j]) })
		if until := now.Add(blockFor); blockFor > 0 && until.After(m.BlockedUntil) {
			m.BlockedUntil = until
		}
		return true
	})
}

// end removes a send's lease. A message Graph accepted counts in the
// minute from when it did (Exchange counts it then); one that was not
// sent is given back to the day.
func (p *Pacer) end(m *store.Mailbox, d Done, now time.Time) {
	m.Leases = withoutLease(m.Leases, d.Grant.Lease.ID)
	m.Lapsed = withoutLease(m.Lapsed, d.Grant.Lease.ID)
	start := d.Grant.Lease.Deadline.Add(-p.limits.MaxSend)
	switch {
	case d.Sent:
		at := d.At
		if at.IsZero() || at.After(now) {
			at = now
		}
		m.Sends = append(m.Sends, at.UTC())
	case m.Hours[hourOf(start)] >= d.N:
		m.Hours[hourOf(start)] -= d.N
	}
}

func withoutLease(leases []store.Lease, id string) []store.Lease {
	for i, l := range leases {
		if l.ID == id {
			return append(leases[:i], leases[i+1:]...)
		}
	}
	return leases
}

// update reads, changes and writes the mailbox under its ETag, again on a
// lost race. change returns false when there is nothing to write.
func (p *Pacer) update(ctx context.Context, mailbox string, change func(*store.Mailbox, time.Time) bool) error {
	for range 20 {
		m, err := p.store.Mailbox(ctx, mailbox)
		if err != nil {
			return err
		}
		if !change(&m, p.now().UTC()) {
			return nil
		}
		err = p.store.SaveMailbox(ctx, m)
		if !apperr.Is(err, apperr.Conflict) {
			return err
		}
	}
	return apperr.E(apperr.Transient, "mailbox_busy", "the mailbox's budget kept changing; try again")
}

// prune drops what no longer counts: sends over a minute old, hours over
// a day old, expired leases. An expired lease's send may have gone out:
// it counts in the minute from when the lease expired. Its owner may also
// be sending still, until the lease's deadline: it is kept among the
// lapsed until then, for Settled.
func prune(m *store.Mailbox, now time.Time, l Limits) {
	var lapsed []store.Lease
	for _, le := range m.Lapsed {
		if le.Deadline.After(now) {
			lapsed = append(lapsed, le)
		}
	}
	leases := m.Leases[:0]
	for _, le := range m.Leases {
		if le.Expires.After(now) {
			leases = append(leases, le)
			continue
		}
		m.Sends = append(m.Sends, le.Expires)
		if le.Deadline.After(now) {
			lapsed = append(lapsed, le)
		}
	}
	m.Lapsed = lapsed
	sort.Slice(leases, func(i, j int) bool { return leases[i].Expires.Before(leases[j].Expires) })
	m.Leases = leases
	sort.Slice(m.Sends, func(i, j int) bool { return m.Sends[i].Before(m.Sends[j]) })
	sends := m.Sends[:0]
	for _, t := range m.Sends {
		if now.Sub(t) < time.Minute {
			sends = append(sends, t)
		}
	}
	m.Sends = sends
	if m.Hours == nil {
		m.Hours = map[int64]int{}
	}
	for h := range m.Hours {
		if h < hourOf(now)-24 {
			delete(m.Hours, h)
		}
	}
}

// hourOf is the unix hour of t. An hour bucket counts until it lies wholly
// outside the last 24 hours, so the day's budget is never overspent.
func hourOf(t time.Time) int64 { return t.Unix() / 3600 }

func sum(hours map[int64]int) int {
	n := 0
	for _, v := range hours {
		n += v
	}
	return n
}

func sortedHours(hours map[int64]int) []int64 {
	out := make([]int64, 0, len(hours))
	for h := range hours {
		out = append(out, h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Settled waits until the sends in flight from mailbox at the time of the
// call have ended: released by their owner, or past their deadline. Sends
// started later are not waited for. A caller that first stopped what they
// send (paused, cancelled or deleted it; the sender checks that after its
// lease and claim, before it sends) then knows that no more messages of
// it leave.
//
// A lease that merely expired is waited for too: expiry only says that its
// owner stopped renewing, which a live owner with slow storage does as
// well as a dead one, and either may be sending until the deadline (as
// long as its row's claim lasts). So the wait ends at the latest of those
// leases' deadlines at most: a crashed worker's leases hold it that long.
func Settled(ctx context.Context, s Store, mailbox string, now func() time.Time) error {
	m, err := s.Mailbox(ctx, mailbox)
	if err != nil {
		return err
	}
	waiting := map[string]bool{}
	for _, l := range append(m.Leases, m.Lapsed...) {
		if l.Deadline.After(now()) {
			waiting[l.ID] = true
		}
	}
	poll := 25 * time.Millisecond
	for len(waiting) > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
		poll = min(2*poll, 400*time.Millisecond)
		if m, err = s.Mailbox(ctx, mailbox); err != nil {
			return err
		}
		// A lease leaves both lists before its deadline only by its
		// owner's release: prune keeps an expired one among the lapsed.
		live := map[string]bool{}
		for _, l := range append(m.Leases, m.Lapsed...) {
			if waiting[l.ID] && l.Deadline.After(now()) {
				live[l.ID] = true
			}
		}
		waiting = live
	}
	return nil
}

// Estimate is when remaining messages of one recipient each would all have
// been sent from mailbox m, starting at now, at the limits' pace: one per
// Interval, and no more than PerDay recipients in any 24 hours, counting
// those the mailbox sent already. It ignores throttling and other
// campaigns to come, so it is the earliest finish, not a promise. Only
// the times inside the campaign's sending window w count (zero: any).
func Estimate(l Limits, m store.Mailbox, remaining int, now time.Time, w campaign.Window) time.Time {
	interval := l.Interval()
	if remaining <= 0 || interval <= 0 {
		return now
	}
	used := map[int64]int{}
	for h, n := range m.Hours {
		if h > hourOf(now)-24 {
			used[h] = n
		}
	}
	at := now
	if m.BlockedUntil.After(at) {
		at = m.BlockedUntil
	}
	// Hour by hour: as many as the spacing fits in what is left of the
	// hour, and the rolling day allows.
	for remaining > 0 {
		open, until := w.At(at)
		if !open {
			at = until
			continue
		}
		h := hourOf(at)
		inDay := 0
		for k, n := range used {
			if k > h-24 {
				inDay += n
			}
		}
		end := time.Unix((h+1)*3600, 0)
		if !until.IsZero() && until.Before(end) {
			end = until // the window closes within the hour
		}
		fits := int(end.Sub(at) / interval)
		if room := l.PerDay - inDay; room < fits {
			fits = max(room, 0)
		}
		if remaining <= fits {
			return at.Add(time.Duration(remaining) * interval)
		}
		remaining -= fits
		used[h] += fits
		at = end
	}
	return at
}
