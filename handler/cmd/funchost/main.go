// Command funchost runs a staged Functions app locally the way the Azure
// Functions host does, on Azurite, for machines without Core Tools. It also
// serves the development Entra issuer when ENTRA_AUTHORITY points at a
// loopback address.
//
//	funchost -app build/app [-addr 127.0.0.1:7071]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"mailmerge/handler/internal/funchost"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "funchost:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	appDir := fs.String("app", "build/app", "staged app root (host.json, function folders, handler, local.settings.json)")
	addr := fs.String("addr", "127.0.0.1:7071", "listen address for HTTP functions; port 0 picks a free one")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	h, err := funchost.New(funchost.Options{
		AppDir:        *appDir,
		Addr:          *addr,
		Logger:        logger,
		HandlerOutput: stdout,
		Getenv:        getenv,
		Environ:       os.Environ(),
	})
	if err != nil {
		return err
	}
	return h.Run(ctx, func() {
		// One machine-readable line for scripts and tests, then help for people.
		fmt.Fprintf(stderr, "funchost ready http=%s entra=%s\n", h.URL(), h.EntraURL())
		if e := h.EntraURL(); e != "" {
			fmt.Fprintf(stderr, "  dev sign-in: curl -s -X POST %s/dev/token -d '{\"user\":\"alice\"}'   (users: alice, bob in Contoso; carol in Fabrikam)\n", e)
		}
		fmt.Fprintf(stderr, "  API: %s/v1/openapi.json   run a timer now: curl -X POST %s/admin/functions/retention -d '{}'\n", h.URL(), h.URL())
	})
}
