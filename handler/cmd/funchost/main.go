// Command funchost runs a staged Functions app locally the way the Azure
// Functions host does, on Azurite, for machines without Core Tools. It also
// serves the development Entra issuer when ENTRA_AUTHORITY points at a
// loopback address.
//
//	funchost -app build/app [-addr 127.0.0.1:7071] [-mail-dir dir] [-graph-per-minute n] [-external graph,postmark,entra] [-device-users alice,bob]
//
// It also runs the Graph sandbox and the Postmark sandbox where
// GRAPH_BASE_URL and POSTMARK_API_URL point at loopback http addresses;
// -external leaves the named settings alone, for another tool listening
// there.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"mailmerge/handler/internal/dev/funchost"
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
	mailDir := fs.String("mail-dir", "", "where the Graph sandbox writes .eml files (a folder per mailbox) and the Postmark sandbox its emails; default <app>/mail")
	var graph funchost.GraphLimits
	fs.IntVar(&graph.PerMinute, "graph-per-minute", 0, "Graph sandbox: messages per mailbox per minute (0: Exchange's 30, -1: unlimited)")
	fs.IntVar(&graph.Concurrent, "graph-concurrent", 0, "Graph sandbox: requests per mailbox in flight (0: Exchange's 4, -1: unlimited)")
	fs.IntVar(&graph.PerDay, "graph-per-day", 0, "Graph sandbox: recipients per mailbox per 24 h (0: Exchange's 10,000, -1: unlimited)")
	tokenLifetime := fs.Duration("graph-token-lifetime", 0, "dev issuer: lifetime of Graph access tokens (default an hour, as Entra's)")
	deviceUsers := fs.String("device-users", "", "dev issuer: test users who approve device code sign-ins automatically, in order (alice,bob: the first code as alice, the second as bob); default $"+funchost.DeviceUsersVar)
	external := fs.String("external", "", "stand-ins not to run, comma-separated (entra, graph, postmark): their settings are left alone, for a service or tool already listening there")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	h, err := funchost.New(funchost.Options{
		AppDir:             *appDir,
		Addr:               *addr,
		Logger:             logger,
		HandlerOutput:      stdout,
		Getenv:             getenv,
		Environ:            os.Environ(),
		MailDir:            *mailDir,
		Graph:              graph,
		GraphTokenLifetime: *tokenLifetime,
		External:           externalNames(*external),
		DeviceUsers:        externalNames(*deviceUsers),
	})
	if err != nil {
		return err
	}
	return h.Run(ctx, func() {
		// One machine-readable line for scripts and tests, then help for people.
		fmt.Fprintf(stderr, "funchost ready http=%s entra=%s graph=%s postmark=%s entra-ca=%s\n", h.URL(), h.EntraURL(), h.StandInURL("graph"), h.StandInURL("postmark"), h.EntraCAFile())
		if e := h.EntraURL(); e != "" {
			cacert := ""
			if f := h.EntraCAFile(); f != "" {
				// The dev issuer's https certificate is signed by a CA made at start-up.
				cacert = " --cacert " + f
			}
			fmt.Fprintf(stderr, "  dev sign-in: curl -s%s -X POST %s/dev/token -d '{\"user\":\"alice\"}'   (users: alice, bob in Contoso; carol in Fabrikam)\n", cacert, e)
			fmt.Fprintf(stderr, "  device code sign-in: enter the code at %s/dev/device%s\n", e, autoApproved(h.DeviceUsers()))
		}
		if g := h.StandInURL("graph"); g != "" {
			fmt.Fprintf(stderr, "  Graph sandbox: %s/_sandbox/messages   .eml files under %s\n", g, h.MailDir())
		}
		if p := h.StandInURL("postmark"); p != "" {
			fmt.Fprintf(stderr, "  Postmark sandbox (notices): %s/_sandbox/messages\n", p)
		}
		if e := h.EntraURL(); e != "" {
			fmt.Fprintf(stderr, "  Dashboard: %s/   sign in as alice, bob or carol. Your browser must accept the dev sign-in's certificate (a CA made at start-up): open %s/dev/users once and proceed.\n", h.URL(), e)
			fmt.Fprintf(stderr, "  Outlook add-in: task pane %s/addin/taskpane, manifest %s/addin/manifest.xml (Outlook side-loads add-ins only over https: see the README)\n", h.URL(), h.URL())
		}
		fmt.Fprintf(stderr, "  API: %s/v1/openapi.json   run a timer now: curl -X POST %s/admin/functions/retention -H 'Content-Type: application/json' -d '{}'\n", h.URL(), h.URL())
	})
}

// autoApproved says who approves device codes without a person.
func autoApproved(users []string) string {
	if len(users) == 0 {
		return ""
	}
	return " (the first codes approved automatically, in order: " + strings.Join(users, ", ") + ")"
}

// externalNames splits a comma-separated flag.
func externalNames(flag string) []string {
	var out []string
	for _, name := range strings.Split(flag, ",") {
		if name = strings.TrimSpace(name); name != "" {
			out = append(out, name)
		}
	}
	return out
}
