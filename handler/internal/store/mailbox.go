package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"mailmerge/handler/internal/apperr"
)

const tableMailboxes = "mailboxes"

// Lease is one send in flight from a mailbox.
type Lease struct {
	ID string `json:"id"`
	// Owner names the process sending.
	Owner string `json:"owner,omitempty"`
	// Expires is when the lease ends unless its owner renews it.
	Expires time.Time `json:"expires"`
	// Deadline is when the send must have ended: renewals stop there.
	Deadline time.Time `json:"deadline"`
}

// Mailbox is the sending budget state of one mailbox, shared by all its
// campaigns and guarded by its ETag.
type Mailbox struct {
	Key string
	// Sends are when Graph accepted the latest messages (for the
	// per-minute limit), in order. They are stored rounded up to the next
	// 100 ms, so the state stays small at any rate and errs on the safe
	// side.
	Sends []time.Time
	// Hours counts recipients per UTC hour (unix hour -> recipients), for
	// the rolling 24-hour limit.
	Hours map[int64]int
	// Leases are sends in flight.
	Leases []Lease
	// Lapsed are leases that expired before their deadline: their owner
	// stopped renewing (it crashed, or could not reach storage in time), so
	// they hold no request slot, but the send may be under way until the
	// deadline. Kept until then for pacing.Settled.
	Lapsed []Lease
	// BlockedUntil is set by a throttling answer from Graph.
	BlockedUntil time.Time
	// Next is when the next send is due, sends being spread across the
	// minute, and LastStart when the latest one started.
	Next      time.Time
	LastStart time.Time
	// ETag is empty for a mailbox not stored yet.
	ETag string
}

type mailboxState struct {
	// Sends are [unix milliseconds, count] pairs, one per 100 ms.
	Sends  [][2]int64     `json:"sends"`
	Hours  map[string]int `json:"hours"`
	Leases []Lease        `json:"leases"`
	Lapsed []Lease        `json:"lapsed,omitempty"`
	// Next and LastStart are in unix milliseconds.
	Next      int64 `json:"next,omitempty"`
	LastStart int64 `json:"last,omitempty"`
}

// sendBucket is the resolution of stored send times.
const sendBucket = 100 * time.Millisecond

// packSends rounds sorted send times up to the next bucket and counts them.
func packSends(sends []time.Time) [][2]int64 {
	var out [][2]int64
	for _, t := range sends {
		ms := t.Add(sendBucket - 1).Truncate(sendBucket).UnixMilli()
		if n := len(out); n > 0 && out[n-1][0] == ms {
			out[n-1][1]++
			continue
		}
		out = append(out, [2]int64{ms, 1})
	}
	return out
}

func unpackSends(packed [][2]int64) []time.Time {
	var out []time.Time
	for _, b := range packed {
		t := time.UnixMilli(b[0]).UTC()
		for range b[1] {
			out = append(out, t)
		}
	}
	return out
}

// decodeMailboxState reads the stored state part by part. A part that does
// not decode (written by an older version, or restored from an older
// backup) is read as empty rather than failing: a mailbox whose state
// cannot be read would otherwise never send again, while an empty budget
// at worst lets Exchange throttle us, which the sender obeys. Send times
// stored one by one (before they were counted per 100 ms) are still read.
func decodeMailboxState(raw string) mailboxState {
	var parts struct {
		Sends, Hours, Leases, Lapsed, Next, Last json.RawMessage
	}
	var st mailboxState
	if raw == "" || json.Unmarshal([]byte(raw), &parts) != nil {
		return st
	}
	if json.Unmarshal(parts.Sends, &st.Sends) != nil {
		st.Sends = nil
		var times []time.Time
		if json.Unmarshal(parts.Sends, &times) == nil {
			st.Sends = packSends(times)
		}
	}
	if json.Unmarshal(parts.Hours, &st.Hours) != nil {
		st.Hours = nil
	}
	if json.Unmarshal(parts.Leases, &st.Leases) != nil {
		st.Leases = nil
	}
	if json.Unmarshal(parts.Lapsed, &st.Lapsed) != nil {
		st.Lapsed = nil
	}
	for i, l := range st.Leases {
		if l.Deadline.IsZero() {
			// Written before leases had a deadline: their expiry was it.
			st.Leases[i].Deadline = l.Expires
		}
	}
	if json.Unmarshal(parts.Next, &st.Next) != nil {
		st.Next = 0
	}
	if json.Unmarshal(parts.Last, &st.LastStart) != nil {
		st.LastStart = 0
	}
	return st
}

// millis is t in unix milliseconds, 0 for the zero time.
func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMillis undoes millis.
func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// Mailbox reads a mailbox's state; a mailbox never seen has an empty one.
func (s *Store) Mailbox(ctx context.Context, key string) (Mailbox, error) {
	e, etag, err := s.getEntity(ctx, tableMailboxes, key, "")
	if apperr.Is(err, apperr.NotFound) {
		return Mailbox{Key: key, Hours: map[int64]int{}}, nil
	}
	if err != nil {
		return Mailbox{}, err
	}
	st := decodeMailboxState(getString(e, "State"))
	m := Mailbox{Key: key, Sends: unpackSends(st.Sends), Leases: st.Leases, Lapsed: st.Lapsed, Hours: map[int64]int{}, BlockedUntil: getTime(e, "BlockedUntil"),
		Next: fromMillis(st.Next), LastStart: fromMillis(st.LastStart), ETag: etag}
	for h, n := range st.Hours {
		var hour int64
		if _, err := fmt.Sscan(h, &hour); err == nil {
			m.Hours[hour] = n
		}
	}
	return m, nil
}

// SaveMailbox writes the state if nobody changed it since it was read;
// otherwise it returns a Conflict and the caller reads again.
func (s *Store) SaveMailbox(ctx context.Context, m Mailbox) error {
	st := mailboxState{Sends: packSends(m.Sends), Leases: m.Leases, Lapsed: m.Lapsed, Hours: map[string]int{}, Next: millis(m.Next), LastStart: millis(m.LastStart)}
	for h, n := range m.Hours {
		st.Hours[fmt.Sprint(h)] = n
	}
	raw, err := json.Marshal(st)
	if err != nil {
		return err
	}
	e := newEntity(m.Key, "")
	e.Properties["State"] = string(raw)
	setTime(e, "BlockedUntil", m.BlockedUntil)
	if m.ETag == "" {
		return s.addEntity(ctx, tableMailboxes, e)
	}
	return s.replaceEntity(ctx, tableMailboxes, e, m.ETag)
}

// DeleteMailbox removes a mailbox's state (with its account).
func (s *Store) DeleteMailbox(ctx context.Context, key string) error {
	return s.deleteEntity(ctx, tableMailboxes, key, "")
}
