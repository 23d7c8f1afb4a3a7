// Command handler is the Azure Functions custom handler: one binary that
// serves every function of the app. main wires; the packages under
// internal/ do the work.
package main

import (
	// The sending windows name IANA time zones: the zone database goes
	// with the binary, whatever the host has.
	_ "time/tzdata"

	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"mailmerge/handler/internal/app"
	"mailmerge/handler/internal/config"
	"mailmerge/handler/internal/functions"
	"mailmerge/handler/internal/grant"
	"mailmerge/handler/internal/graphmail"
	"mailmerge/handler/internal/identity"
	"mailmerge/handler/internal/lifecycle"
	"mailmerge/handler/internal/logging"
	"mailmerge/handler/internal/notify"
	"mailmerge/handler/internal/pacing"
	"mailmerge/handler/internal/queue"
	"mailmerge/handler/internal/sheet"
	"mailmerge/handler/internal/store"
	"mailmerge/handler/internal/task"
	"mailmerge/handler/internal/tracking"
	"mailmerge/handler/internal/web"
	"mailmerge/handler/internal/worker"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "handler:", err)
		os.Exit(1)
	}
}

// graphTimeout bounds one sendMail request: a message of up to 4 MB.
const graphTimeout = 60 * time.Second

// limits lowers Exchange Online's limits to the configured ones.
func limits(l pacing.Limits, cfg config.Config) pacing.Limits {
	if cfg.SendPerMinute > 0 {
		l.PerMinute = cfg.SendPerMinute
	}
	if cfg.SendPerDay > 0 {
		l.PerDay = cfg.SendPerDay
	}
	if cfg.SendConcurrent > 0 {
		l.Concurrent = cfg.SendConcurrent
	}
	return l
}

// shutdownGrace is how long in-flight invocations get to finish on SIGTERM.
const shutdownGrace = 25 * time.Second

// recorderFlushWithin is how long the tracking events still in memory get
// to reach the queue after the server stopped.
const recorderFlushWithin = 4 * time.Second

// run builds every component in dependency order and serves until ctx ends.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	logger := logging.New(stdout, slog.LevelInfo)
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	st, err := store.Open(cfg.Storage)
	if err != nil {
		return err
	}
	backups, err := store.Open(cfg.BackupStorage)
	if err != nil {
		return err
	}
	var q task.Sender
	switch cfg.QueueTransport {
	case config.TransportServiceBus:
		q, err = queue.NewServiceBus(cfg.ServiceBus)
	default:
		q, err = queue.NewStorage(cfg.Storage)
	}
	if err != nil {
		return err
	}
	httpClient := &http.Client{Timeout: 30 * time.Second}
	verifier := identity.NewVerifier(ctx, cfg.EntraAuthority, cfg.EntraClientID, httpClient, logger)
	grants, err := grant.New(grant.Config{Authority: cfg.EntraAuthority, ClientID: cfg.EntraClientID, ClientSecret: cfg.EntraClientSecret,
		Application: cfg.GraphApplication, Key: cfg.TokenCacheKey, HTTPClient: httpClient}, st)
	if err != nil {
		return err
	}
	graph, err := graphmail.New(cfg.GraphBaseURL, graphTimeout)
	if err != nil {
		return err
	}
	sending := worker.DefaultSending(graphTimeout)
	sending.Limits = limits(sending.Limits, cfg)
	if cfg.SendLookAfter > 0 {
		sending.Doubt.After = cfg.SendLookAfter
	}
	life := lifecycle.New(st, q, logger, time.Now)
	// One name and one budget per process: the send steps and the API's
	// test messages share the mailboxes' pacing.
	host, _ := os.Hostname()
	instance := host + "-" + lifecycle.NewStep()
	pacer := pacing.New(st, sending.Limits, instance, time.Now)
	mailer := graphmail.NewSender(graph, grants, cfg.GraphApplication, grant.Expired)
	// Tracking events are kept in memory and handed to the events queue in
	// batches; the recorder stops after the server, flushing what is left.
	events := tracking.NewRecorder(life.Tasks.Events, logger)
	recCtx, stopRecorder := context.WithCancel(context.Background())
	recorded := make(chan struct{})
	go func() { events.Run(recCtx, recorderFlushWithin); close(recorded) }()
	defer func() { stopRecorder(); <-recorded }()
	api := app.New(app.Deps{
		Logger:            logger,
		Store:             st,
		Lifecycle:         life,
		Auth:              verifier,
		DebugLogRetention: cfg.DebugLogRetention,
		InboundAddress:    cfg.InboundAddress,
		SheetLimits:       sheet.DefaultLimits(),
		PostmarkInbound:   cfg.PostmarkInbound,
		Grants:            grants,
		TrackingKeys:      cfg.TrackingKeys,
		Recorder:          events,
		Pace:              sending.Limits,
		Tester:            mailer,
		Pacer:             pacer,
		PublicBaseURL:     cfg.PublicBaseURL,
		AddressKey:        cfg.TokenCacheKey,
		Backups:           backups,
		Getenv:            getenv,
	})
	workers := worker.New(worker.Deps{
		Logger:      logger,
		Store:       st,
		Backups:     backups,
		Lifecycle:   life,
		Mailer:      mailer,
		Reader:      mailer,
		Pacer:       pacer,
		Instance:    instance,
		Grants:      grants,
		Notifier:    notify.New(cfg.PostmarkAPIURL, cfg.PostmarkServerToken, httpClient),
		NotifyFrom:  cfg.NotifyFrom,
		Sending:     sending,
		Links:       tracking.Links{Base: cfg.PublicBaseURL, Keys: cfg.TrackingKeys, Inbound: cfg.InboundAddress},
		SheetLimits: sheet.DefaultLimits(),
	})
	site, err := web.New(web.Config{ClientID: cfg.EntraClientID, Authority: cfg.EntraAuthority, BaseURL: cfg.PublicBaseURL})
	if err != nil {
		return err
	}
	h, err := functions.Serve(site.Mount(api), workers.Functions())
	if err != nil {
		return err
	}

	// The host always calls 127.0.0.1:<port>; nothing else may reach us.
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.Port)))
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	logger.Info("handler listening", "addr", ln.Addr().String())

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
