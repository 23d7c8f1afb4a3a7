package tracking

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"
)

// TestRecorderLosesNothing: events recorded while the queue refuses are
// kept and handed on once it takes them; stopping flushes what is left.
func TestRecorderLosesNothing(t *testing.T) {
	var mu sync.Mutex
	refuse, got := true, 0
	flush := func(ctx context.Context, evs []Event) error {
		mu.Lock()
		defer mu.Unlock()
		if refuse {
			return errors.New("queue down")
		}
		got += len(evs)
		return nil
	}
	r := NewRecorder(flush, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx, 5*time.Second); close(done) }()
	for i := range 1200 {
		r.Record(Event{Kind: Open, Row: i})
	}
	time.Sleep(3 * FlushEvery)
	mu.Lock()
	refuse = false
	mu.Unlock()
	for i := range 300 {
		r.Record(Event{Kind: Click, Row: i})
	}
	stop()
	<-done
	if got != 1500 {
		t.Errorf("%d of 1500 events handed on", got)
	}
}
