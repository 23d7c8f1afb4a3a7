// Package verify is the first-deployment check (handler/cmd/verify, `make
// verify-deployment`): against a deployed function app, it signs in a
// sender and a recipient the operator controls, sends a small campaign
// through the product's own API and a real mailbox, and proves, check by
// check, what the product promises of Azure, Entra, Graph and Exchange
// (README "Verify on first deployment"). Each check says pass, fail or
// skipped, with its evidence and what to do when it fails; the run
// writes a Markdown report. Nothing secret is printed or written, and of
// the recipient only the address the operator typed.
package verify

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Status is a check's outcome.
type Status string

// The outcomes.
const (
	Pass    Status = "pass"
	Fail    Status = "fail"
	Skipped Status = "skipped"
)

// Result is one check's outcome, with what shows it and, when it failed,
// what to do.
type Result struct {
	Name     string
	Status   Status
	Evidence []string
	Fix      string
	Took     time.Duration
}

// Options configure a run.
type Options struct {
	// BaseURL is the deployed app (its public base URL).
	BaseURL string
	// Recipient is a mailbox the operator controls, in this tenant or
	// another; BounceTo a made-up address at its domain ("": one is
	// made).
	Recipient, BounceTo string
	// GraphURL is Microsoft Graph (the sandbox locally).
	GraphURL string
	// Signer signs the sender and the recipient in (device code flow).
	Signer Signer
	// FunctionsKey, when set, lets the run start a timer now through the
	// Functions host's admin API instead of waiting for its schedule
	// (locally no key is needed: Admin is true).
	FunctionsKey string
	Admin        bool
	// Wait bounds each wait (a campaign to complete, a message to
	// arrive, a timer to run).
	Wait time.Duration
	HTTP *http.Client
	// Out receives each check's line as it ends.
	Out io.Writer
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Signer gets tokens for "sender" and "recipient".
type Signer interface {
	Token(ctx context.Context, who string, scopes []string) (string, error)
}

// check is one step of the run: it records its results on the run.
type check struct {
	name string
	// needs names the checks that must pass before this one runs.
	needs []string
	run   func(ctx context.Context, r *run) Result
}

// Run runs every check in order and returns their results; a check whose
// prerequisite did not pass is skipped, saying which.
func Run(ctx context.Context, o Options) []Result {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Wait == 0 {
		o.Wait = 10 * time.Minute
	}
	if o.HTTP == nil {
		o.HTTP = &http.Client{Timeout: 60 * time.Second}
	}
	r := &run{Options: o, passed: map[string]bool{}, tag: tag(o.Now())}
	var out []Result
	for _, c := range checks() {
		res := Result{Name: c.name}
		start := o.Now()
		if missing := r.missing(c.needs); missing != "" {
			res.Status, res.Evidence = Skipped, []string{"needs " + missing}
		} else {
			res = c.run(ctx, r)
			res.Name = c.name
		}
		res.Took = o.Now().Sub(start)
		r.passed[c.name] = res.Status == Pass
		out = append(out, res)
		if o.Out != nil {
			fmt.Fprint(o.Out, line(res))
		}
	}
	r.cleanup(ctx)
	return out
}

func (r *run) missing(needs []string) string {
	var m []string
	for _, n := range needs {
		if !r.passed[n] {
			m = append(m, "“"+n+"”")
		}
	}
	return strings.Join(m, " and ")
}

// Failed reports whether any check failed.
func Failed(rs []Result) bool {
	for _, r := range rs {
		if r.Status == Fail {
			return true
		}
	}
	return false
}

// line is a result as printed while the run goes.
func line(r Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-7s %s (%.1f s)\n", strings.ToUpper(string(r.Status)), r.Name, r.Took.Seconds())
	for _, e := range r.Evidence {
		fmt.Fprintf(&b, "        %s\n", e)
	}
	if r.Status == Fail && r.Fix != "" {
		fmt.Fprintf(&b, "        what to do: %s\n", r.Fix)
	}
	return b.String()
}

// Report writes the results as Markdown.
func Report(w io.Writer, base string, at time.Time, rs []Result) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# First-deployment check of %s\n\n%s UTC\n\n", base, at.UTC().Format("2006-01-02 15:04"))
	counts := map[Status]int{}
	for _, r := range rs {
		counts[r.Status]++
	}
	fmt.Fprintf(&b, "%d passed, %d failed, %d skipped.\n\n| check | result | took |\n|---|---|---|\n", counts[Pass], counts[Fail], counts[Skipped])
	for _, r := range rs {
		fmt.Fprintf(&b, "| %s | %s | %.1f s |\n", r.Name, r.Status, r.Took.Seconds())
	}
	for _, r := range rs {
		fmt.Fprintf(&b, "\n## %s: %s\n\n", r.Name, r.Status)
		for _, e := range r.Evidence {
			fmt.Fprintf(&b, "- %s\n", strings.ReplaceAll(e, "\n", " "))
		}
		if r.Status == Fail && r.Fix != "" {
			fmt.Fprintf(&b, "\nWhat to do: %s\n", r.Fix)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// pass, fail and skip build results.
func pass(evidence ...string) Result { return Result{Status: Pass, Evidence: evidence} }
func fail(fix string, evidence ...string) Result {
	return Result{Status: Fail, Evidence: evidence, Fix: fix}
}
func skip(why string) Result { return Result{Status: Skipped, Evidence: []string{why}} }

// tag names this run's campaigns and subjects.
func tag(t time.Time) string { return "verify-" + t.UTC().Format("20060102-150405") }
