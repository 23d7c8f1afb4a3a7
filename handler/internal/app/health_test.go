package app

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"mailmerge/handler/internal/backup"
	"mailmerge/handler/internal/dev/devauth"
	"mailmerge/handler/internal/dev/testenv"
	"mailmerge/handler/internal/dev/testqueue"
	"mailmerge/handler/internal/functions"
	"mailmerge/handler/internal/identity"
	"mailmerge/handler/internal/lifecycle"
	"mailmerge/handler/internal/store"
	"mailmerge/handler/internal/worker"
)

// healthEnv is the API on a storage account of its own (the timers'
// records and the exports are the deployment's, not an account's, so
// tests sharing one would see each other's), with deps set by the test.
type healthEnv struct {
	srv    *httptest.Server
	issuer *devauth.Issuer
	store  *store.Store
	life   *lifecycle.Lifecycle
}

func newHealthEnv(t *testing.T, set func(*Deps)) *healthEnv {
	t.Helper()
	entra := httptest.NewServer(nil)
	t.Cleanup(entra.Close)
	iss, err := devauth.NewIssuer(entra.URL, clientID)
	if err != nil {
		t.Fatal(err)
	}
	entra.Config.Handler = iss.Handler()
	st, err := store.Open(testenv.IsolatedStorage(t))
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	life := lifecycle.New(st, &testqueue.Queue{}, logger, time.Now)
	d := Deps{Logger: logger, Store: st, Backups: st, Lifecycle: life,
		Auth:           identity.NewVerifier(ctx, entra.URL, clientID, entra.Client(), logger),
		InboundAddress: "campaigns@inbound.example.com"}
	if set != nil {
		set(&d)
	}
	srv := httptest.NewServer(New(d))
	t.Cleanup(srv.Close)
	return &healthEnv{srv: srv, issuer: iss, store: st, life: life}
}

// health asks GET /v1/health as a signed-in person who has no account
// (the answer holds nothing of anyone's), and returns the answer raw and
// decoded.
func (e *healthEnv) health(t *testing.T) (string, healthView) {
	t.Helper()
	tok, err := e.issuer.Mint(freshUser(devauth.ContosoTenant))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", e.srv.URL+"/v1/health", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/health: %d %s", resp.StatusCode, raw)
	}
	checkHealthSchema(t, raw)
	var h healthView
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	return string(raw), h
}

// checkHealthSchema: the answer is what the OpenAPI document says it is.
func checkHealthSchema(t *testing.T, raw []byte) {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(openAPIDocument)
	if err != nil {
		t.Fatal(err)
	}
	op := doc.Paths.Value("/v1/health")
	if op == nil || op.Get == nil {
		t.Fatal("the OpenAPI document has no GET /v1/health")
	}
	schema := op.Get.Responses.Status(http.StatusOK).Value.Content.Get("application/json").Schema.Value
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	if err := schema.VisitJSON(v); err != nil {
		t.Errorf("the answer does not match the OpenAPI document: %v\n%s", err, raw)
	}
}

func timerOf(t *testing.T, h healthView, name string) timerView {
	t.Helper()
	for _, tv := range h.Timers {
		if tv.Name == name {
			return tv
		}
	}
	t.Fatalf("no timer %s in %+v", name, h.Timers)
	return timerView{}
}

// fireTimer invokes a timer function as the host does.
func fireTimer(t *testing.T, fn http.Handler, name string) int {
	t.Helper()
	w := httptest.NewRecorder()
	body := `{"Data":{"timer":{"IsPastDue":false,"ScheduleStatus":null}},"Metadata":{}}`
	fn.ServeHTTP(w, httptest.NewRequest("POST", "/"+name, strings.NewReader(body)))
	return w.Code
}

// TestHealthShowsTimerRuns: a timer's run, fired through the invocation
// protocol, is recorded by the timer itself and shown with its outcome
// and when the next is due; a run that fails (here: the backup timer
// without a backup account) shows as failed; a timer that never ran is
// overdue, with no run.
func TestHealthShowsTimerRuns(t *testing.T) {
	e := newHealthEnv(t, nil)
	_, before := e.health(t)
	for _, tv := range before.Timers {
		if tv.LastRun != nil || tv.DueBy != nil || !tv.Overdue {
			t.Errorf("%s before any run: %+v, want no run and overdue", tv.Name, tv)
		}
	}
	var timers []string
	for _, f := range functions.Table() {
		if f.Trigger == functions.Timer {
			timers = append(timers, f.Name)
			if tv := timerOf(t, before, f.Name); tv.Schedule != f.Schedule {
				t.Errorf("%s: schedule %q, want %q", f.Name, tv.Schedule, f.Schedule)
			}
		}
	}
	if len(before.Timers) != len(timers) {
		t.Errorf("timers %+v, want %v", before.Timers, timers)
	}

	fns := worker.New(worker.Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Store: e.store, Lifecycle: e.life}).Functions()
	start := time.Now().UTC()
	if code := fireTimer(t, fns["sweep"], "sweep"); code != http.StatusOK {
		t.Fatalf("sweep: %d", code)
	}
	if code := fireTimer(t, fns["backup"], "backup"); code == http.StatusOK {
		t.Fatalf("backup without a backup account: %d, want a failure", code)
	}
	end := time.Now().UTC()
	_, after := e.health(t)

	sweep := timerOf(t, after, "sweep")
	if sweep.LastRun == nil {
		t.Fatalf("sweep after its run: %+v", sweep)
	}
	run := sweep.LastRun
	if run.StartedAt.Before(start) || run.EndedAt.Before(run.StartedAt) || run.EndedAt.After(end) || run.Outcome != "succeeded" || run.Failure != "" {
		t.Errorf("sweep's run %+v, want started after %s, ended by %s, succeeded", run, start, end)
	}
	// Every minute at :30: the next run starts within a minute, and has a minute to end.
	if sweep.Overdue || sweep.DueBy == nil || !sweep.DueBy.After(run.StartedAt.Add(time.Minute)) || sweep.DueBy.After(run.StartedAt.Add(2*time.Minute+scheduleSkew)) {
		t.Errorf("sweep: due by %v, overdue %v, after a run at %s", sweep.DueBy, sweep.Overdue, run.StartedAt)
	}
	if b := timerOf(t, after, "backup"); b.LastRun == nil || b.LastRun.Outcome != "failed" || b.LastRun.Failure != "internal" {
		t.Errorf("backup after a failed run: %+v (run %+v)", b, b.LastRun)
	}
	if r := timerOf(t, after, "retention"); r.LastRun != nil || !r.Overdue {
		t.Errorf("retention, never run: %+v", r)
	}
}

// TestHealthSettingsNeverShowValues: a setting Azure should have filled
// from Key Vault but left as the reference's text shows as unresolved, a
// missing one too, a value as resolved; the answer holds neither the
// values nor the references, only the names.
func TestHealthSettingsNeverShowValues(t *testing.T) {
	settings := map[string]string{
		"ENTRA_CLIENT_SECRET":   "@Microsoft.KeyVault(SecretUri=https://kv-mailmerge.vault.azure.net/secrets/entra-client-secret/)",
		"POSTMARK_SERVER_TOKEN": " @microsoft.keyvault(VaultName=kv-mailmerge;SecretName=postmark-server-token)",
		"TOKEN_CACHE_KEY":       "c2VjcmV0LXZhbHVlLW5ldmVyLXNob3duLWFueXdoZXI=",
		"TRACKING_KEYS":         "7:dHJhY2tpbmcta2V5LW5ldmVyLXNob3duLWFueXdoZXJl",
		"POSTMARK_INBOUND_USER": "inbound-user-never-shown",
		// POSTMARK_INBOUND_PASSWORD: missing.
	}
	e := newHealthEnv(t, func(d *Deps) { d.Getenv = func(k string) string { return settings[k] } })
	raw, h := e.health(t)
	want := map[string]bool{"ENTRA_CLIENT_SECRET": false, "POSTMARK_SERVER_TOKEN": false, "TOKEN_CACHE_KEY": true,
		"TRACKING_KEYS": true, "POSTMARK_INBOUND_USER": true, "POSTMARK_INBOUND_PASSWORD": false}
	got := map[string]bool{}
	for _, s := range h.Settings {
		got[s.Name] = s.Resolved
	}
	if len(got) != len(want) {
		t.Errorf("settings %v, want %v", got, want)
	}
	for name, resolved := range want {
		if r, ok := got[name]; !ok || r != resolved {
			t.Errorf("%s: resolved %v (listed %v), want %v", name, r, ok, resolved)
		}
	}
	for _, v := range settings {
		for _, part := range []string{strings.TrimSpace(v), "vault", "SecretUri", "never-shown", "entra-client-secret"} {
			if strings.Contains(strings.ToLower(raw), strings.ToLower(part)) {
				t.Errorf("the answer holds %q:\n%s", part, raw)
			}
		}
	}
	// Each setting is its name and whether it resolved: no length, no digest.
	var shape struct {
		Settings []map[string]any `json:"settings"`
	}
	_ = json.Unmarshal([]byte(raw), &shape)
	for _, s := range shape.Settings {
		if len(s) != 2 {
			t.Errorf("a setting says more than its name and whether it resolved: %v", s)
		}
	}
}

// TestHealthBackups: the newest export of today or yesterday (UTC), whole
// or changes, and whether the next is late for the backup timer's
// schedule (every 5 minutes at :20); none at all is overdue.
func TestHealthBackups(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2031, 3, 4, 0, 2, 0, 0, time.UTC)
	e := newHealthEnv(t, func(d *Deps) { d.Now = func() time.Time { return now } })
	if _, h := e.health(t); h.Backups.LatestAt != nil || h.Backups.DueBy != nil || !h.Backups.Overdue || h.Backups.Schedule != "20 */5 * * * *" {
		t.Fatalf("no export yet: %+v", h.Backups)
	}
	put := func(name string) {
		t.Helper()
		if err := e.store.PutBlob(ctx, backup.Container, name, []byte("{}")); err != nil {
			t.Fatal(err)
		}
	}
	put(backup.Name(backup.Full, time.Date(2031, 3, 3, 23, 0, 20, 0, time.UTC)))
	put(backup.Name(backup.Changes, time.Date(2031, 3, 3, 23, 58, 20, 0, time.UTC)))
	put(backup.Name(backup.Changes, time.Date(2031, 3, 1, 23, 59, 20, 0, time.UTC))) // older than yesterday: not read
	put(backup.Changes + "2031-03-04/not-an-export.txt")

	check := func(when string, at time.Time, latest time.Time, kind string, due time.Time, overdue bool) {
		t.Helper()
		now = at
		_, h := e.health(t)
		b := h.Backups
		if b.LatestAt == nil || !b.LatestAt.Equal(latest) || b.Kind != kind || b.DueBy == nil || !b.DueBy.Equal(due) || b.Overdue != overdue {
			t.Errorf("%s: %+v (latest %v, due %v), want latest %s %s, due %s, overdue %v", when, b, b.LatestAt, b.DueBy, kind, latest, due, overdue)
		}
	}
	yesterday := time.Date(2031, 3, 3, 23, 58, 20, 0, time.UTC)
	// After 23:58:20 the next export is at 00:00:20; it has until 00:05:20.
	check("just after midnight", now, yesterday, "changes", time.Date(2031, 3, 4, 0, 5, 20, 0, time.UTC), false)
	check("a run missed", time.Date(2031, 3, 4, 0, 6, 0, 0, time.UTC), yesterday, "changes", time.Date(2031, 3, 4, 0, 5, 20, 0, time.UTC), true)
	whole := time.Date(2031, 3, 4, 0, 5, 20, 0, time.UTC)
	put(backup.Name(backup.Full, whole))
	check("a whole export today", time.Date(2031, 3, 4, 0, 6, 0, 0, time.UTC), whole, "whole", time.Date(2031, 3, 4, 0, 15, 20, 0, time.UTC), false)
}

// TestDueBy: the run after the last one should have ended one period
// after its scheduled start; a run fired a little early counts as its
// scheduled time's.
func TestDueBy(t *testing.T) {
	sched, err := schedules()
	if err != nil {
		t.Fatal(err)
	}
	at := func(h, m, s, ms int) time.Time { return time.Date(2031, 3, 4, h, m, s, ms*1e6, time.UTC) }
	for _, c := range []struct {
		timer    string
		last     time.Time
		want     time.Time
		describe string
	}{
		{"sweep", at(12, 0, 30, 200), at(12, 2, 30, 0), "every minute at :30"},
		{"sweep", at(12, 0, 29, 900), at(12, 2, 30, 0), "fired 100 ms early"},
		{"sweep", at(12, 0, 45, 0), at(12, 2, 30, 0), "started late"},
		{"backup", at(12, 20, 20, 0), at(12, 30, 20, 0), "every 5 minutes at :20"},
		{"mailbox-scan", at(12, 20, 40, 0), at(12, 30, 40, 0), "every 5 minutes at :40"},
		{"retention", at(12, 5, 0, 100), at(14, 5, 0, 0), "hourly at 5 past"},
	} {
		s, ok := sched[c.timer]
		if !ok {
			t.Fatalf("no schedule for %s", c.timer)
		}
		if got := dueBy(s, c.last); !got.Equal(c.want) {
			t.Errorf("%s, %s: last run %s, due by %s, want %s", c.timer, c.describe, c.last.Format(time.RFC3339Nano), got, c.want)
		}
	}
}

// TestKeyVaultSettingsAreTheInfrastructures: the health answer checks
// exactly the app settings infra/ makes Key Vault references.
func TestKeyVaultSettingsAreTheInfrastructures(t *testing.T) {
	src, err := os.ReadFile("../../../infra/modules/functionapp.bicep")
	if err != nil {
		t.Fatal(err)
	}
	var inInfra []string
	for _, m := range regexp.MustCompile(`(?m)^\s*(\w+):\s*'@Microsoft\.KeyVault\(`).FindAllStringSubmatch(string(src), -1) {
		inInfra = append(inInfra, m[1])
	}
	checked := keyVaultSettings()
	slices.Sort(inInfra)
	slices.Sort(checked)
	if len(inInfra) == 0 || !slices.Equal(inInfra, checked) {
		t.Errorf("Key Vault references in infra/: %v; the health answer checks %v", inInfra, checked)
	}
}

// TestUnresolvedReference: the forms App Service leaves in place.
func TestUnresolvedReference(t *testing.T) {
	for v, want := range map[string]bool{
		"@Microsoft.KeyVault(SecretUri=https://v.vault.azure.net/secrets/s/)": true,
		"@Microsoft.KeyVault(VaultName=v;SecretName=s)":                       true,
		"  @microsoft.keyvault(VaultName=v;SecretName=s)":                     true,
		"1:c2VjcmV0": false,
		"a value that mentions @Microsoft.KeyVault(": false,
		"": false,
	} {
		if got := unresolvedReference(v); got != want {
			t.Errorf("unresolvedReference(%q) = %v, want %v", v, got, want)
		}
	}
}
