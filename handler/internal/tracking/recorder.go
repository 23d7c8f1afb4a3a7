package tracking

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"mailmerge/handler/internal/account"
)

// Event is one hit on the pixel, a tracked link or the unsubscribe page,
// as the endpoint saw it; the events worker judges and stores it.
type Event struct {
	Kind Kind `json:"kind"`
	// Account owns the campaign (unsubscribes only).
	Account    account.Key `json:"account,omitzero"`
	CampaignID string      `json:"campaignId"`
	Row        int         `json:"row"`
	Link       int         `json:"link,omitempty"`
	URL        string      `json:"url,omitempty"`
	At         time.Time   `json:"at"`
	Method     string      `json:"method"`
	UserAgent  string      `json:"userAgent,omitempty"`
	Prefetch   bool        `json:"prefetch,omitempty"`
	// OneClick: an unsubscribe by the mail program (RFC 8058).
	OneClick bool `json:"oneClick,omitempty"`
	// ByEmail: an unsubscribe by mail to the message's unsubscribe
	// address (List-Unsubscribe's mailto, RFC 2369).
	ByEmail bool `json:"byEmail,omitempty"`
}

// An event keeps at most this much of a request's user agent and of a
// click's URL, clipped at the endpoint: a request must not make an event
// too large for a queue message (a 16 KB user agent did). Longer user
// agents are padding or attacks; a longer URL is still told apart by its
// link number, and the redirect uses the token's whole URL.
const (
	MaxUserAgent = 400
	MaxURL       = 2000
)

// size estimates what e holds in memory, and about what its JSON takes:
// its strings and the fields around them.
func (e Event) size() int {
	return 160 + len(e.Account.TenantID) + len(e.Account.ObjectID) + len(e.CampaignID) + len(e.URL) + len(e.Method) + len(e.UserAgent)
}

// Recorder takes events from the endpoints without making them wait: it
// keeps them in memory and hands them on in batches (a flush every
// FlushEvery, or sooner when MaxBatch are waiting), retrying a flush that
// fails, and flushes what is left when it stops. An event is lost only if
// the process dies without stopping (a kill -9) within FlushEvery of it,
// if more than MaxWaiting, or MaxWaitingBytes of them, wait while the
// queue is down, or if the queue refuses it alone MaxRefusals times while
// it takes others: a batch the queue refuses is tried again in halves,
// so one event it never takes holds back the others for seconds, not
// for good.
type Recorder struct {
	// Flush hands a batch on (to the events queue); an error keeps the
	// batch for the next try.
	Flush  func(ctx context.Context, events []Event) error
	Logger *slog.Logger

	mu      sync.Mutex
	waiting []waiting
	bytes   int // the estimated size of waiting
	wake    chan struct{}
	dropped int
	// batch is how many events the next flush hands on: MaxBatch, halved
	// after each refusal, doubled back after each flush that went.
	batch int
	// passed counts the flushes that went, to tell a queue that is down
	// from one that refuses only some events.
	passed int
	// retryAfter is RetryAfter (shorter in tests).
	retryAfter time.Duration
}

// waiting is an event kept for the queue: its estimated size, and how
// often the queue refused it alone, the first time after passed flushes.
type waiting struct {
	Event
	size     int
	refused  int
	passedAt int
}

// Tuning of the recorder.
const (
	FlushEvery = 200 * time.Millisecond
	MaxBatch   = 500
	MaxWaiting = 200_000
	// MaxWaitingBytes bounds the estimated size of what waits: an event
	// with a long user agent or URL weighs more than a short one.
	MaxWaitingBytes = 64 << 20
	// MaxRefusals: an event the queue refused alone this often, while it
	// took other events, is dropped.
	MaxRefusals = 3
	// RetryAfter is the pause after a flush the queue refused.
	RetryAfter = time.Second
)

// NewRecorder returns a recorder that flushes with flush.
func NewRecorder(flush func(ctx context.Context, events []Event) error, logger *slog.Logger) *Recorder {
	return &Recorder{Flush: flush, Logger: logger, wake: make(chan struct{}, 1), batch: MaxBatch, retryAfter: RetryAfter}
}

// Record keeps e for the next flush. It never blocks on I/O.
func (r *Recorder) Record(e Event) {
	size := e.size()
	r.mu.Lock()
	if len(r.waiting) >= MaxWaiting || r.bytes+size > MaxWaitingBytes {
		r.dropped++
		r.mu.Unlock()
		return
	}
	r.waiting = append(r.waiting, waiting{Event: e, size: size})
	r.bytes += size
	full := len(r.waiting) >= MaxBatch
	r.mu.Unlock()
	if full {
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
}

// Run flushes until ctx ends, then flushes what is left (for at most
// stopWithin) and returns.
func (r *Recorder) Run(ctx context.Context, stopWithin time.Duration) {
	tick := time.NewTicker(FlushEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), stopWithin)
			defer cancel()
			for r.pending() > 0 && sctx.Err() == nil {
				if !r.flush(sctx) {
					time.Sleep(100 * time.Millisecond)
				}
			}
			if n := r.pending(); n > 0 {
				r.Logger.Error("tracking events lost at stop", "events", n)
			}
			return
		case <-tick.C:
		case <-r.wake:
		}
		for r.pending() > 0 {
			if !r.flush(ctx) {
				// The queue refused: wait before the next try, whatever
				// arrives meanwhile.
				select {
				case <-ctx.Done():
				case <-time.After(r.retryAfter):
				}
				break
			}
		}
	}
}

func (r *Recorder) pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.waiting)
}

// flush hands on one batch and reports whether it went.
func (r *Recorder) flush(ctx context.Context) bool {
	r.mu.Lock()
	n := min(len(r.waiting), r.batch)
	batch := make([]Event, n)
	for i := range batch {
		batch[i] = r.waiting[i].Event
	}
	dropped := r.dropped
	r.dropped = 0
	r.mu.Unlock()
	if dropped > 0 {
		r.Logger.Error("tracking events dropped: too many waiting for the queue", "events", dropped)
	}
	if n == 0 {
		return true
	}
	err := r.Flush(ctx, batch)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil {
		r.remove(n)
		r.passed++
		r.batch = min(r.batch*2, MaxBatch)
		return true
	}
	if n > 1 {
		// Whatever the queue refused is in one half or the other.
		r.batch = n / 2
		r.Logger.Warn("tracking events not handed on; trying again", "events", n, "error", err.Error())
		return false
	}
	w := &r.waiting[0]
	if w.refused == 0 {
		w.passedAt = r.passed
	}
	w.refused++
	if w.refused >= MaxRefusals && r.passed > w.passedAt {
		r.Logger.Error("tracking event dropped: the queue refuses it and takes others", "campaign", w.CampaignID, "row", w.Row,
			"kind", string(w.Kind), "refusals", w.refused, "error", err.Error())
		r.remove(1)
		return true
	}
	// Behind the others, so that they are not held back by it; it is
	// tried again when its turn comes.
	r.waiting = append(r.waiting[1:], *w)
	r.Logger.Warn("tracking event not handed on; trying again after the others", "events", 1, "error", err.Error())
	return false
}

// remove forgets the first n waiting events.
func (r *Recorder) remove(n int) {
	for _, w := range r.waiting[:n] {
		r.bytes -= w.size
	}
	r.waiting = r.waiting[n:]
	if len(r.waiting) == 0 {
		r.waiting = nil
	}
}
