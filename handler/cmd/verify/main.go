// Command verify is the first-deployment check (make verify-deployment):
// against a deployed function app it signs in a sender and a recipient
// mailbox you control (device code flow), sends a small campaign through
// the app as a person would, and proves each promise that rests on Azure,
// Entra, Graph and Exchange Online (handler/internal/verify). It prints
// each check with its evidence, writes a Markdown report, and exits 1 when
// a check failed.
//
//	go run ./handler/cmd/verify -base-url https://mailmerge.example.com -recipient you@example.org
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"mailmerge/handler/internal/verify"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	failed, err := run(ctx, os.Args[1:], os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "verify:", err)
		os.Exit(2)
	}
	if failed {
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, out io.Writer) (failed bool, err error) {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	base := fs.String("base-url", "", "the deployed app's public base URL (PUBLIC_BASE_URL), e.g. https://mailmerge.example.com")
	recipient := fs.String("recipient", "", "a mailbox you control that receives the test messages (this tenant or another)")
	bounceTo := fs.String("bounce-to", "", "a made-up address at the recipient's domain, for the bounce (default: one is made)")
	graph := fs.String("graph", "https://graph.microsoft.com/v1.0", "Microsoft Graph (the Graph sandbox locally)")
	report := fs.String("report", "build/verify-report.md", "where the Markdown report is written")
	wait := fs.Duration("wait", 12*time.Minute, "the longest wait for one step (a campaign, a message, a timer)")
	ca := fs.String("ca", "", "a PEM file of a certificate authority to trust besides the system's (the local dev sign-in's)")
	local := fs.Bool("local", false, "the app runs on the local host, which starts timers on request (no key needed)")
	if err := fs.Parse(args); err != nil {
		return false, err
	}
	if *base == "" || !strings.Contains(*recipient, "@") {
		return false, errors.New("give -base-url and -recipient (see -h)")
	}
	hc := &http.Client{Timeout: 60 * time.Second}
	if *ca != "" {
		pem, err := os.ReadFile(*ca)
		if err != nil {
			return false, err
		}
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		if !pool.AppendCertsFromPEM(pem) {
			return false, fmt.Errorf("%s holds no certificate", *ca)
		}
		hc.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}
	}
	fmt.Fprintf(out, "First-deployment check of %s, messages to %s\n\n", *base, *recipient)
	start := time.Now()
	results := verify.Run(ctx, verify.Options{
		BaseURL: *base, Recipient: *recipient, BounceTo: *bounceTo, GraphURL: *graph,
		Signer:       &verify.DeviceCode{HTTP: hc, Prompt: out},
		FunctionsKey: os.Getenv("FUNCTIONS_KEY"), Admin: *local,
		Wait: *wait, HTTP: hc, Out: out,
	})
	if err := os.MkdirAll(filepath.Dir(*report), 0o755); err != nil {
		return false, err
	}
	f, err := os.Create(*report)
	if err != nil {
		return false, err
	}
	defer f.Close()
	if err := verify.Report(f, *base, start, results); err != nil {
		return false, err
	}
	fmt.Fprintf(out, "\nReport: %s\n", *report)
	return verify.Failed(results), nil
}
