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

// Recorder takes events from the endpoints without making them wait: it
// keeps them in memory and hands them on in batches (a flush every
// FlushEvery, or sooner when MaxBatch are waiting), retrying a flush that
// fails, and flushes what is left when it stops. An event is lost only if
// the process dies without stopping (a kill -9) within FlushEvery of it,
// or if more than MaxWaiting wait while the queue is down.
type Recorder struct {
	// Flush hands a batch on (to the events queue); an error keeps the
	// batch for the next try.
	Flush  func(ctx context.Context, events []Event) error
	Logger *slog.Logger

	mu      sync.Mutex
	waiting []Event
	wake    chan struct{}
	dropped int
}

// Tuning of the recorder.
const (
	FlushEvery = 200 * time.Millisecond
	MaxBatch   = 500
	MaxWaiting = 200_000
	// RetryAfter is the pause after a flush the queue refused.
	RetryAfter = time.Second
)

// NewRecorder returns a recorder that flushes with flush.
func NewRecorder(flush func(ctx context.Context, events []Event) error, logger *slog.Logger) *Recorder {
	return &Recorder{Flush: flush, Logger: logger, wake: make(chan struct{}, 1)}
}

// Record keeps e for the next flush. It never blocks on I/O.
func (r *Recorder) Record(e Event) {
	r.mu.Lock()
	if len(r.waiting) >= MaxWaiting {
		r.dropped++
		r.mu.Unlock()
		return
	}
	r.waiting = append(r.waiting, e)
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
				case <-time.After(RetryAfter):
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
	n := min(len(r.waiting), MaxBatch)
	batch := append([]Event(nil), r.waiting[:n]...)
	dropped := r.dropped
	r.dropped = 0
	r.mu.Unlock()
	if dropped > 0 {
		r.Logger.Error("tracking events dropped: too many waiting for the queue", "events", dropped)
	}
	if n == 0 {
		return true
	}
	if err := r.Flush(ctx, batch); err != nil {
		r.Logger.Warn("tracking events not handed on; trying again", "events", n, "error", err.Error())
		return false
	}
	r.mu.Lock()
	r.waiting = r.waiting[n:]
	if len(r.waiting) == 0 {
		r.waiting = nil
	}
	r.mu.Unlock()
	return true
}
