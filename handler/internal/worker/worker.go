// Package worker holds the queue and timer functions of the function
// table, one file per function: each is a plain func(ctx, payload) (a
// task payload, decoded and checked by handle) or func(ctx, timer) that
// invoke adapts to the Functions host. Status changes go through the
// campaign lifecycle.
package worker

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"time"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/delivery"
	"mailmerge/handler/internal/functions"
	"mailmerge/handler/internal/invoke"
	"mailmerge/handler/internal/lifecycle"
	"mailmerge/handler/internal/notify"
	"mailmerge/handler/internal/pacing"
	"mailmerge/handler/internal/sheet"
	"mailmerge/handler/internal/store"
	"mailmerge/handler/internal/task"
	"mailmerge/handler/internal/tracking"
)

// grants keep the delegated Graph access of each account.
type grants interface {
	// Has reports whether the account has usable access stored.
	Has(ctx context.Context, account account.Key) (bool, error)
	// Delete forgets the account's access.
	Delete(ctx context.Context, account account.Key) error
}

// notifier sends one composed notice.
type notifier interface {
	Send(ctx context.Context, e notify.Email) (string, error)
}

// Deps are what the workers need, built by main in dependency order.
type Deps struct {
	Logger *slog.Logger
	Store  *store.Store
	// Backups is where the table exports go (a separate, immutable
	// account in Azure; see BackupStorage).
	Backups   *store.Store
	Lifecycle *lifecycle.Lifecycle
	// Mailer sends from the owner's mailbox (Microsoft Graph).
	Mailer delivery.Mailer
	// Reader reads the owner's mailbox, for owners who let us
	// (store.Account.ReadMailbox); nil: never.
	Reader delivery.Reader
	// Pacer keeps each mailbox within its sending limits (built from
	// Sending.Limits when nil).
	Pacer *pacing.Pacer
	// Grants hold each account's delegated Graph access; nil: every
	// account may send (tests of the workers alone).
	Grants grants
	// Notifier sends the owner's notices (Postmark), from NotifyFrom.
	Notifier   notifier
	NotifyFrom string
	// Sending tunes the send worker (DefaultSending when zero).
	Sending Sending
	// Links make the rows' tracked links, open pixels and unsubscribe
	// links.
	Links tracking.Links
	// SheetLimits bound what the data worker reads.
	SheetLimits sheet.Limits
	Now         func() time.Time
	// Instance names this process in its pacing leases and row claims
	// (its host name and a random suffix when empty).
	Instance string
}

// Worker runs the queue and timer functions.
type Worker struct {
	Deps
	jobs jobs
}

// defaultSendTimeout is the send timeout DefaultSending assumes when Deps
// do not say.
const defaultSendTimeout = time.Minute

// New returns the workers, with defaults for what Deps leave out.
func New(d Deps) *Worker {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Sending == (Sending{}) {
		d.Sending = DefaultSending(defaultSendTimeout)
	}
	if d.Instance == "" {
		host, _ := os.Hostname()
		d.Instance = host + "-" + lifecycle.NewStep()
	}
	if d.Pacer == nil {
		d.Pacer = pacing.New(d.Store, d.Sending.Limits, d.Instance, d.Now)
	}
	if d.SheetLimits == (sheet.Limits{}) {
		d.SheetLimits = sheet.DefaultLimits()
	}
	return &Worker{Deps: d}
}

// Functions maps the queue and timer functions of the function table to
// their invocation handlers (functions.Serve checks that none is missing).
func (w *Worker) Functions() map[string]http.Handler {
	return map[string]http.Handler{
		"account-delete":  invoke.Queue(w.Logger, "account-delete", functions.QueueBinding, handleDelivery(w.deleteAccount)),
		"campaign-delete": invoke.Queue(w.Logger, "campaign-delete", functions.QueueBinding, handleDelivery(w.deleteCampaign)),
		"campaign-data":   invoke.Queue(w.Logger, "campaign-data", functions.QueueBinding, handle(w.readData)),
		"campaign-start":  invoke.Queue(w.Logger, "campaign-start", functions.QueueBinding, handle(w.start)),
		"campaign-send":   invoke.Queue(w.Logger, "campaign-send", functions.QueueBinding, handle(w.send)),
		"notify":          invoke.Queue(w.Logger, "notify", functions.QueueBinding, handle(w.notify)),
		"tracking-events": invoke.Queue(w.Logger, "tracking-events", functions.QueueBinding, handleDelivery(w.trackingEvents)),
		"mailbox-read":    invoke.Queue(w.Logger, "mailbox-read", functions.QueueBinding, handle(w.readMailbox)),
		// Timers go through w.timer, which records each run (timer_runs.go).
		"mailbox-scan": w.timer("mailbox-scan", w.mailboxScan),
		"retention":    w.timer("retention", w.retention),
		"sweep":        w.timer("sweep", w.sweep),
		"backup":       w.timer("backup", w.backupTables),
	}
}

// handle adapts fn, the work of one payload type, to a queue function:
// every queue's message is decoded and checked here, once, and a body
// that is not a T is Invalid (dropped, not retried).
func handle[T task.Payload](fn func(context.Context, T) error) invoke.QueueFunc {
	return handleDelivery(func(ctx context.Context, p T, _ invoke.Message) error { return fn(ctx, p) })
}

// handleDelivery is handle for work that also reads the delivery: the
// transport's message id, or how often the message was delivered.
func handleDelivery[T task.Payload](fn func(context.Context, T, invoke.Message) error) invoke.QueueFunc {
	return func(ctx context.Context, m invoke.Message) error {
		p, err := task.Decode[T](m.Body)
		if err != nil {
			return err
		}
		return fn(ctx, p, m)
	}
}

// Sending tunes the send worker.
type Sending struct {
	// Limits are each mailbox's; Limits.MaxSend is also how long a row's
	// claim lasts.
	Limits pacing.Limits
	// StepBudget bounds one send step; the step then schedules the next,
	// so no invocation runs long and pause or cancel take effect soon.
	StepBudget time.Duration
	// Doubt tunes how a send whose answer was lost is resolved.
	Doubt Doubt
}

// DefaultSending is the production tuning for a Mailer whose sends time
// out after sendTimeout. A send's claim and lease last that long, plus the
// time to record its answer and a margin.
func DefaultSending(sendTimeout time.Duration) Sending {
	return Sending{Limits: pacing.DefaultLimits(sendTimeout + settleTimeout + 5*time.Second), StepBudget: 30 * time.Second, Doubt: DefaultDoubt}
}

// settleTimeout bounds recording an outcome after the invocation's own
// context ended (host shutdown): what Graph answered must not be lost.
const settleTimeout = 10 * time.Second
