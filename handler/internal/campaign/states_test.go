package campaign

import (
	"errors"
	"flag"
	"strings"
	"testing"

	"mailmerge/handler/internal/dev/testenv"
)

var update = flag.Bool("update", false, "rewrite the generated parts of docs/")

// TestTransitions walks every pair of states: the allowed moves are
// exactly those of docs/states.md (DESIGN §4), every other is an error
// that names both states.
func TestTransitions(t *testing.T) {
	allowed := map[string]bool{}
	for _, m := range []string{
		"draft>draft", "draft>ready", "ready>draft", "ready>queued",
		"queued>sending", "queued>review", "queued>scheduled", "queued>ready", "queued>paused", "queued>failed", "queued>cancelled",
		"review>queued", "review>cancelled",
		"scheduled>sending", "scheduled>queued", "scheduled>paused", "scheduled>cancelled",
		"sending>paused", "sending>completed", "sending>failed", "sending>cancelled",
		"paused>queued", "paused>sending", "paused>cancelled",
	} {
		allowed["campaign:"+m] = true
	}
	for _, m := range []string{
		"none>processing", "processing>processing", "processing>ready", "processing>invalid", "processing>failed",
		"ready>processing", "invalid>processing", "invalid>ready", "failed>processing",
	} {
		allowed["data:"+m] = true
	}
	for _, m := range []string{
		"pending>sending", "pending>skipped", "skipped>pending",
		"sending>pending", "sending>sent", "sending>failed", "sending>unknown",
	} {
		allowed["row:"+m] = true
	}
	walked := 0
	check := func(what, from, to string, err error) {
		t.Helper()
		walked++
		want := allowed[what+":"+from+">"+to]
		var te *TransitionError
		switch {
		case want && err != nil:
			t.Errorf("%s %s → %s refused: %v", what, from, to, err)
		case !want && err == nil:
			t.Errorf("%s %s → %s allowed", what, from, to)
		case !want && (!errors.As(err, &te) || !strings.Contains(err.Error(), from) || !strings.Contains(err.Error(), to)):
			t.Errorf("%s %s → %s: error %v does not name both states", what, from, to, err)
		}
	}
	for _, from := range Statuses {
		for _, to := range Statuses {
			check("campaign", string(from), string(to), from.To(to))
		}
		if from.Final() != (from == Completed || from == Failed || from == Cancelled) {
			t.Errorf("campaign %s: final %v", from, from.Final())
		}
	}
	for _, from := range DataStatuses {
		for _, to := range DataStatuses {
			check("data", string(from), string(to), from.To(to))
		}
	}
	for _, from := range RowStatuses {
		for _, to := range RowStatuses {
			check("row", string(from), string(to), from.To(to))
		}
		if from.Final() != (from != RowPending && from != RowSending && from != RowSkipped) {
			t.Errorf("row %s: final %v", from, from.Final())
		}
	}
	if walked != 10*10+5*5+6*6 {
		t.Errorf("walked %d pairs", walked)
	}
	// A state the tables do not know goes nowhere.
	if Status("archived").To(Draft) == nil || Status("").To(Draft) == nil {
		t.Error("an unknown state moved")
	}
}

// TestStatesDocument: the transitions in docs/states.md are the tables
// here (go test -update rewrites that part of the document).
func TestStatesDocument(t *testing.T) {
	testenv.Generated(t, "../../../docs/states.md", "<!-- transitions: generated from handler/internal/campaign/states.go -->",
		"<!-- end transitions -->", TransitionsMarkdown(), *update)
}
