// Package testqueue is a queue for tests that keeps what was sent.
package testqueue

import (
	"context"
	"sync"

	"mailmerge/handler/internal/queue"
)

// Queue records what was enqueued, safely from several goroutines (the
// workers enqueue from theirs too).
type Queue struct {
	mu   sync.Mutex
	sent []queue.Message
}

// Send records m.
func (q *Queue) Send(ctx context.Context, m queue.Message) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.sent = append(q.sent, m)
	return nil
}

// On returns what was enqueued on the named queue.
func (q *Queue) On(name string) []queue.Message {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []queue.Message
	for _, m := range q.sent {
		if m.Queue == name {
			out = append(out, m)
		}
	}
	return out
}

// Reset forgets what was enqueued so far.
func (q *Queue) Reset() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.sent = nil
}

// All returns everything enqueued.
func (q *Queue) All() []queue.Message {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]queue.Message(nil), q.sent...)
}
