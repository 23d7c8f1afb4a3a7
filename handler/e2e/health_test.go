package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestHealthThroughTheHost: the health answer, through the local host,
// shows a timer's run once the host ran it (POST /admin/functions/sweep,
// as Azure's admin API does) and the export the backup timer wrote; the
// settings the local host gives are plain values, so all resolved, and
// none of them is in the answer.
func TestHealthThroughTheHost(t *testing.T) {
	t.Parallel()
	h := startHost(t, nil)
	// No install: the answer is anyone's who is signed in.
	tok := h.token(t, "alice")
	start := time.Now().UTC().Add(-time.Second)
	h.runFunction(t, "sweep", "")
	h.runFunction(t, "backup", "")

	var last map[string]any
	after := func(v any) bool {
		s, _ := v.(string)
		at, err := time.Parse(time.RFC3339Nano, s)
		return err == nil && at.After(start)
	}
	eventually(t, 60*time.Second, "the sweep's run and the export in the health answer", func() bool {
		status, body := h.call(t, "GET", "/v1/health", tok, "")
		if status != 200 {
			t.Fatalf("GET /v1/health: %d %v", status, body)
		}
		last = body
		swept := false
		for _, v := range body["timers"].([]any) {
			tv := v.(map[string]any)
			if run, ok := tv["lastRun"].(map[string]any); ok && tv["name"] == "sweep" {
				swept = after(run["startedAt"]) && run["outcome"] == "succeeded" && tv["overdue"] == false
			}
		}
		b := body["backups"].(map[string]any)
		return swept && after(b["latestAt"]) && b["overdue"] == false
	})
	for _, v := range last["settings"].([]any) {
		if s := v.(map[string]any); s["resolved"] != true {
			t.Errorf("setting %v not resolved", s)
		}
	}
	// The commit is there only when Go stamped it (-buildvcs; off on
	// machines with GOFLAGS=-buildvcs=false): then a whole one.
	version := last["version"].(map[string]any)
	if g, _ := version["go"].(string); !strings.HasPrefix(g, "go1.") || version["module"] == "" {
		t.Errorf("version %v: no Go version or module version", version)
	}
	if rev, ok := version["revision"].(string); ok && !regexp.MustCompile(`^[0-9a-f]{40}$`).MatchString(rev) {
		t.Errorf("version %v: the revision is not a commit", version)
	}
	text := strings.ToLower(strings.Join(flatten(last), " "))
	for _, name := range []string{"ENTRA_CLIENT_SECRET", "TOKEN_CACHE_KEY", "POSTMARK_SERVER_TOKEN", "POSTMARK_INBOUND_PASSWORD", "TRACKING_KEYS"} {
		if v := h.settings[name]; v == "" || strings.Contains(text, strings.ToLower(v)) {
			t.Errorf("the answer holds %s's value (or it has none)", name)
		}
	}
}

// flatten lists every string of a decoded JSON value.
func flatten(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			out = append(out, flatten(e)...)
		}
		return out
	case map[string]any:
		var out []string
		for k, e := range x {
			out = append(out, k)
			out = append(out, flatten(e)...)
		}
		return out
	}
	return nil
}
