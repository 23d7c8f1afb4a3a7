// Package app is the HTTP API: the routes (routes.go), a file of handlers
// per noun, encoding and the one place where error kinds become HTTP
// statuses (encode.go), and the OpenAPI document. Status changes go
// through the campaign lifecycle; background work is queued as tasks for
// package worker.
package app

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/config"
	"mailmerge/handler/internal/delivery"
	"mailmerge/handler/internal/identity"
	"mailmerge/handler/internal/lifecycle"
	"mailmerge/handler/internal/pacing"
	"mailmerge/handler/internal/sheet"
	"mailmerge/handler/internal/store"
	"mailmerge/handler/internal/task"
	"mailmerge/handler/internal/tracking"
)

// authenticator validates a request's bearer token.
type authenticator interface {
	FromRequest(r *http.Request) (identity.Principal, error)
}

// Deps are what the API needs, built by main in dependency order.
type Deps struct {
	Logger *slog.Logger
	Store  *store.Store
	// Lifecycle changes campaigns' states and queues the workers' tasks.
	Lifecycle *lifecycle.Lifecycle
	Auth      authenticator
	Now       func() time.Time
	// DebugLogRetention is how long install debug entries live.
	DebugLogRetention time.Duration
	// InboundAddress is the Postmark inbound address campaign addresses
	// are made from.
	InboundAddress string
	// SheetLimits bound uploads.
	SheetLimits sheet.Limits
	// PostmarkInbound are the inbound webhook's basic auth credentials.
	PostmarkInbound config.BasicAuth
	// Grants hold each account's delegated Graph access (nil: the API
	// alone, in tests, captures none).
	Grants grants
	// TrackingKeys verify the tokens of the pixel, tracked links and
	// unsubscribe links.
	TrackingKeys tracking.Keys
	// Recorder takes the pixel's and the links' events.
	Recorder recorder
	// Pace are the mailboxes' sending limits, for the reports' estimates
	// of when a campaign will finish (zero: Exchange Online's).
	Pace pacing.Limits
	// Tester sends test messages from the owner's mailbox, and Pacer
	// keeps them within its budget (nil: tests cannot be sent).
	Tester delivery.Mailer
	Pacer  pacer
	// PublicBaseURL is where recipients reach the app: the links of a
	// test message.
	PublicBaseURL string
	// AddressKey keeps campaign addresses retrievable by their owners
	// (TOKEN_CACHE_KEY; empty: an address is shown only when made).
	AddressKey []byte
	// Backups is where the backup timer writes the table exports, and
	// Getenv reads the process's settings as the platform gave them: the
	// health answer's evidence (health.go; nil: no exports, no settings).
	Backups *store.Store
	Getenv  func(string) string
}

// grants keep the delegated Graph access of each account.
type grants interface {
	// Capture exchanges the caller's token for lasting Graph access.
	Capture(ctx context.Context, account account.Key, assertion string) error
	// Has reports whether the account has usable access stored.
	Has(ctx context.Context, account account.Key) (bool, error)
}

// App holds the dependencies the handlers share.
type App struct {
	Deps
	tasks task.Queue
	// addresses seals campaign addresses (nil: not kept).
	addresses *addressSealer
}

// New returns the handler of every API route.
func New(d Deps) http.Handler {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Pace == (pacing.Limits{}) {
		d.Pace = pacing.DefaultLimits(0)
	}
	if d.SheetLimits == (sheet.Limits{}) {
		d.SheetLimits = sheet.DefaultLimits()
	}
	a := &App{Deps: d, tasks: d.Lifecycle.Tasks}
	if len(d.AddressKey) > 0 {
		var err error
		if a.addresses, err = newAddressSealer(d.AddressKey); err != nil {
			d.Logger.Error("campaign addresses will be shown only when made", "error", err.Error())
		}
	}
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
	mux.Handle("/", a.serve(func(w http.ResponseWriter, r *http.Request) error {
		return notFound("no such route: " + r.Method + " " + r.URL.Path)
	}))
	return a.middleware(mux)
}
