package lifecycle

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strings"
	"time"

	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/notify"
	"mailmerge/handler/internal/store"
	"mailmerge/handler/internal/task"
)

// ref names campaign c in a payload.
func ref(c store.Campaign) task.Campaign { return task.Campaign{Key: c.Account, CampaignID: c.ID} }

// NewStep is a new step token.
func NewStep() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// SetStep makes step the campaign's live step, due at, and enqueues it.
// The token is written before the message goes out, so the step finds
// itself live; a lost message is found by the sweep.
func (l *Lifecycle) SetStep(ctx context.Context, c store.Campaign, step string, at time.Time) error {
	if err := l.Store.SetStepToken(ctx, c.Account, c.ID, step, at); err != nil {
		return err
	}
	return l.Tasks.Step(ctx, task.Step{Campaign: ref(c), Step: step}, at)
}

// AdvanceStep hands the live step from to a new one due at, starting at
// row, and enqueues it, unless a pause, cancel, resume or newer step came
// meanwhile: then the calling step just ends.
func (l *Lifecycle) AdvanceStep(ctx context.Context, c store.Campaign, from string, at time.Time, row int) error {
	step := NewStep()
	ok, err := l.Store.AdvanceStep(ctx, c.Account, c.ID, from, step, at, c.Status)
	if err != nil || !ok {
		return err
	}
	return l.Tasks.Step(ctx, task.Step{Campaign: ref(c), Step: step, Row: row}, at)
}

// StartAgain enqueues the start of a queued campaign whose start was lost.
func (l *Lifecycle) StartAgain(ctx context.Context, c store.Campaign) error {
	return l.Tasks.Start(ctx, task.Start{Campaign: ref(c)}, "")
}

// Notify queues a notice to the campaign's owner about the change the
// campaign's last update recorded.
func (l *Lifecycle) Notify(ctx context.Context, c store.Campaign, n notify.Notice) error {
	return l.NotifyOnce(ctx, c, n, strings.ReplaceAll(c.UpdatedAt.Format(time.RFC3339Nano), ":", ""))
}

// NotifyOnce queues a notice; key tells it from the campaign's other
// notices of its kind (Service Bus drops a second one with the same).
func (l *Lifecycle) NotifyOnce(ctx context.Context, c store.Campaign, n notify.Notice, key string) error {
	n.CampaignID, n.Campaign, n.Subject = c.ID, c.Name, c.Subject
	return l.Tasks.Notice(ctx, task.Notice{Key: c.Account, Notice: n}, "notice-"+c.ID+"-"+string(n.Kind)+"-"+key)
}

// NoticeCounts turns row counts into a notice's counts.
func NoticeCounts(c campaign.Counts) notify.Counts {
	return notify.Counts{Total: c.Total(), Sent: c.Sent, Failed: c.Failed, Skipped: c.Skipped, Unknown: c.Unknown, Pending: c.Pending + c.Sending}
}
