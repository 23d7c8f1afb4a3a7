// Package app is the HTTP face of the handler: the API routes, the queue and
// timer functions of the function table, and the one place where error kinds
// become HTTP statuses.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"mailmerge/handler/internal/config"
	"mailmerge/handler/internal/functions"
	"mailmerge/handler/internal/identity"
	"mailmerge/handler/internal/invoke"
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
	Queue  sender
	Auth   authenticator
	Now    func() time.Time
	// DebugLogRetention is how long install debug entries live.
	DebugLogRetention time.Duration
	// InboundAddress is the Postmark inbound address campaign addresses
	// are made from.
	InboundAddress string
	// SheetLimits bound uploads.
	SheetLimits sheet.Limits
	// PostmarkInbound are the inbound webhook's basic auth credentials.
	PostmarkInbound config.BasicAuth
}

// App holds the dependencies the handlers share.
type App struct {
	Deps
}

// New returns the handler for every route and function of the function table.
// It fails if a queue or timer function of the table has no worker here.
func New(d Deps) (http.Handler, error) {
	if d.Now == nil {
		d.Now = time.Now
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
		"retention":       invoke.TimerHandler(a.Logger, "retention", functions.TimerBinding, a.retention),
	}
}
