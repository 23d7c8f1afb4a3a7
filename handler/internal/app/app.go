// Package app is the HTTP face of the handler: the API routes, the queue and
// timer functions of the function table, and the one place where error kinds
// become HTTP statuses.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/config"
	"mailmerge/handler/internal/delivery"
	"mailmerge/handler/internal/functions"
	"mailmerge/handler/internal/identity"
	"mailmerge/handler/internal/invoke"
	"mailmerge/handler/internal/notify"
	"mailmerge/handler/internal/pacing"
	"mailmerge/handler/internal/queue"
	"mailmerge/handler/internal/sheet"
	"mailmerge/handler/internal/store"
)

// authenticator validates a request's bearer token.
type authenticator interface {
	FromRequest(r *http.Request) (identity.Principal, error)
}

// sender puts a message on a queue.
type sender interface {
	Send(ctx context.Context, m queue.Message) error
}

// Deps are what the app needs, built by main in dependency order.
type Deps struct {
	Logger *slog.Logger
	Store  *store.Store
	// Backups is where the table exports go (a separate, immutable
	// account in Azure; see BackupStorage).
	Backups *store.Store
	Queue   sender
	Auth    authenticator
	Now     func() time.Time
	// DebugLogRetention is how long install debug entries live.
	DebugLogRetention time.Duration
	// InboundAddress is the Postmark inbound address campaign addresses
	// are made from.
	InboundAddress string
	// SheetLimits bound uploads.
	SheetLimits sheet.Limits
	// PostmarkInbound are the inbound webhook's basic auth credentials.
	PostmarkInbound config.BasicAuth
	// Mailer sends from the owner's mailbox (Microsoft Graph).
	Mailer delivery.Mailer
	// Pacer keeps each mailbox within its sending limits.
	Pacer *pacing.Pacer
	// Grants hold each account's delegated Graph access.
	Grants grants
	// Notifier sends the owner's notices (Postmark), from NotifyFrom.
	Notifier   notifier
	NotifyFrom string
	// Sending tunes the send worker (DefaultSending when zero).
	Sending Sending
	// Instance names this process in its pacing leases and row claims
	// (random when empty).
	Instance string
}

// defaultSendTimeout is the send timeout DefaultSending assumes when Deps
// do not say.
const defaultSendTimeout = time.Minute

// newInstanceID names a process: its host name and a random suffix.
func newInstanceID() string {
	host, _ := os.Hostname()
	return host + "-" + randomID()
}

// grants keep the delegated Graph access of each account.
type grants interface {
	// Capture exchanges the caller's token for lasting Graph access.
	Capture(ctx context.Context, account account.Key, assertion string) error
	// Has reports whether the account has usable access stored.
	Has(ctx context.Context, account account.Key) (bool, error)
	// Delete forgets the account's access.
	Delete(ctx context.Context, account account.Key) error
}

// notifier sends one composed notice.
type notifier interface {
	Send(ctx context.Context, e notify.Email) (string, error)
}

// App holds the dependencies the handlers share.
type App struct {
	Deps
	jobs jobs
}

// New returns the handler for every route and function of the function table.
// It fails if a queue or timer function of the table has no worker here.
func New(d Deps) (http.Handler, error) {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Sending == (Sending{}) {
		d.Sending = DefaultSending(defaultSendTimeout)
	}
	if d.Instance == "" {
		d.Instance = newInstanceID()
	}
	if d.Pacer == nil {
		d.Pacer = pacing.New(d.Store, d.Sending.Limits, d.Instance, d.Now)
	}
	if d.SheetLimits == (sheet.Limits{}) {
		d.SheetLimits = sheet.DefaultLimits()
	}
	a := &App{Deps: d}
	mux := http.NewServeMux()

	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		encode(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	for _, rt := range a.routes() {
		mux.Handle(rt.method+" "+rt.pattern, a.guard(rt))
	}
	for pattern, allow := range allowedMethods(a.routes()) {
		mux.Handle(pattern, methodNotAllowed(allow))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, d.Logger, notFound("no such route: "+r.Method+" "+r.URL.Path))
	})

	workers := a.workers()
	for _, f := range functions.Table() {
		if f.Trigger == functions.HTTP {
			continue
		}
		h, ok := workers[f.Name]
		if !ok {
			return nil, fmt.Errorf("function %s is in the table but has no worker", f.Name)
		}
		// The host POSTs queue and timer invocations to /<FunctionName>.
		mux.Handle("POST /"+f.Name, h)
	}
	return a.middleware(mux), nil
}

// workers maps function names to their invocation handlers.
func (a *App) workers() map[string]http.Handler {
	return map[string]http.Handler{
		"account-delete":  invoke.Queue(a.Logger, "account-delete", functions.QueueBinding, a.deleteAccountWorker),
		"campaign-delete": invoke.Queue(a.Logger, "campaign-delete", functions.QueueBinding, a.deleteCampaignWorker),
		"campaign-data":   invoke.Queue(a.Logger, "campaign-data", functions.QueueBinding, a.dataWorker),
		"campaign-start":  invoke.Queue(a.Logger, "campaign-start", functions.QueueBinding, a.startWorker),
		"campaign-send":   invoke.Queue(a.Logger, "campaign-send", functions.QueueBinding, a.sendWorker),
		"notify":          invoke.Queue(a.Logger, "notify", functions.QueueBinding, a.notifyWorker),
		"retention":       invoke.TimerHandler(a.Logger, "retention", functions.TimerBinding, a.retention),
		"sweep":           invoke.TimerHandler(a.Logger, "sweep", functions.TimerBinding, a.sweepTimer),
		"backup":          invoke.TimerHandler(a.Logger, "backup", functions.TimerBinding, a.backupTables),
	}
}
