package tracking

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
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

// TestRecorderPoisonEvent: an event the queue never takes, while it takes
// others, holds back neither the events recorded with it nor those after
// it, and is dropped in the end (the queue's limits are elsewhere; this is
// whatever else a queue may refuse for good).
func TestRecorderPoisonEvent(t *testing.T) {
	var mu sync.Mutex
	var got []int
	flush := func(ctx context.Context, evs []Event) error {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range evs {
			if e.Row == 13 {
				return errors.New("message refused")
			}
		}
		for _, e := range evs {
			got = append(got, e.Row)
		}
		return nil
	}
	r := NewRecorder(flush, slog.New(slog.NewTextHandler(io.Discard, nil)))
	r.retryAfter = 20 * time.Millisecond
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx, 5*time.Second); close(done) }()
	r.Record(Event{Kind: Open, Row: 13})
	for i := range 20 {
		r.Record(Event{Kind: Open, Row: 100 + i})
	}
	time.Sleep(5 * FlushEvery)
	for i := range 20 {
		r.Record(Event{Kind: Open, Row: 200 + i})
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if (n == 40 && r.pending() == 0) || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	left := r.pending()
	stop()
	<-done
	if len(got) != 40 {
		t.Errorf("%d of the 40 events after the refused one handed on", len(got))
	}
	if left != 0 {
		t.Errorf("%d events still waiting: the refused one was not dropped", left)
	}
}

// TestRecorderBoundedByBytes: while the queue is down, what waits is
// bounded by its size, not only by how many: events with 16 KB user agents
// stop being kept at about MaxWaitingBytes.
func TestRecorderBoundedByBytes(t *testing.T) {
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
	go func() { r.Run(ctx, 10*time.Second); close(done) }()
	ua := strings.Repeat("u", 16<<10)
	for i := range 4000 { // 64 MB
		r.Record(Event{Kind: Open, CampaignID: "vpesgnag4anvpt7rjbfeu91ho8", Row: i, UserAgent: ua, Method: "GET"})
	}
	mu.Lock()
	refuse = false
	mu.Unlock()
	stop()
	<-done
	if max := MaxWaitingBytes / (16 << 10); got > max || got < max*9/10 {
		t.Errorf("%d events of 16 KB kept, want about %d", got, max)
	}
}
