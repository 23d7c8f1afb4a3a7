package app

import (
	"context"
	"fmt"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"mailmerge/handler/internal/backup"
	"mailmerge/handler/internal/config"
	"mailmerge/handler/internal/functions"
	"mailmerge/handler/internal/identity"
)

// healthView is the app's health answer: what it can prove about its own
// deployment, for the operator's first-deployment check. It holds no
// secret (nor a length or digest of one) and nothing of anyone's.
type healthView struct {
	// Time is the app's clock when it answered.
	Time     time.Time     `json:"time"`
	Version  versionView   `json:"version"`
	Settings []settingView `json:"settings"`
	Timers   []timerView   `json:"timers"`
	Backups  backupsView   `json:"backups"`
}

// versionView is the build of the running binary, as Go stamped it.
type versionView struct {
	// Module is the main module's version: "(devel)" for a build from a
	// working tree.
	Module string `json:"module"`
	// Revision and RevisionTime are the commit it was built from, and
	// Modified whether the tree had changes besides (empty and false when
	// it was built outside version control).
	Revision     string `json:"revision,omitempty"`
	RevisionTime string `json:"revisionTime,omitempty"`
	Modified     bool   `json:"modified"`
	Go           string `json:"go"`
}

// settingView says whether a setting Azure fills from Key Vault reached
// the app as a value: the name only, never the value.
type settingView struct {
	Name     string `json:"name"`
	Resolved bool   `json:"resolved"`
}

// timerView is a timer function's schedule and last recorded run.
type timerView struct {
	Name     string `json:"name"`
	Schedule string `json:"schedule"`
	// LastRun is nil when no run is recorded.
	LastRun *timerRunView `json:"lastRun"`
	// DueBy is when the run after the last one should have ended: its
	// scheduled start plus one period to finish.
	DueBy *time.Time `json:"dueBy"`
	// Overdue: DueBy has passed, or no run is recorded at all.
	Overdue bool `json:"overdue"`
}

// timerRunView is one run of a timer.
type timerRunView struct {
	StartedAt time.Time `json:"startedAt"`
	EndedAt   time.Time `json:"endedAt"`
	// Outcome is "succeeded" or "failed"; Failure the kind of error a
	// failed run ended with.
	Outcome string `json:"outcome"`
	Failure string `json:"failure,omitempty"`
}

// backupsView is the latest table export and whether it is recent enough
// for the backup timer's schedule.
type backupsView struct {
	// LatestAt is the newest export's cutoff (it holds every write made
	// before it), of the exports of today and yesterday (UTC); nil when
	// there is none.
	LatestAt *time.Time `json:"latestAt"`
	// Kind is "whole" or "changes".
	Kind     string     `json:"kind,omitempty"`
	Schedule string     `json:"schedule"`
	DueBy    *time.Time `json:"dueBy"`
	Overdue  bool       `json:"overdue"`
}

// keyVaultSettings are the settings Azure fills from Key Vault
// (infra/modules/functionapp.bicep; a test keeps the two lists equal).
func keyVaultSettings() []string {
	return []string{config.EntraClientSecret, config.TokenCacheKey, config.PostmarkServerToken,
		config.PostmarkInboundUser, config.PostmarkInboundPassword, config.TrackingKeys}
}

// unresolvedReference reports whether v is a Key Vault reference that the
// platform left as it was: "If a reference isn't resolved properly, the
// reference string is used instead, for example, @Microsoft.KeyVault(...)"
// (Microsoft Learn, "Use Key Vault references as app settings in Azure App
// Service and Azure Functions", Troubleshoot Key Vault references).
func unresolvedReference(v string) bool {
	return strings.HasPrefix(strings.ToLower(strings.TrimSpace(v)), "@microsoft.keyvault(")
}

// scheduleSkew is how early a host may fire a timer, or how far its clock
// and ours may differ: a run started that much before its scheduled time
// counts as that time's run.
const scheduleSkew = 5 * time.Second

// schedules parses the timers' NCRONTAB expressions (six fields, seconds
// first, UTC), by function name.
func schedules() (map[string]cron.Schedule, error) {
	parser := cron.NewParser(cron.Second | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)
	out := map[string]cron.Schedule{}
	for _, f := range functions.Table() {
		if f.Trigger != functions.Timer {
			continue
		}
		s, err := parser.Parse(f.Schedule)
		if err != nil {
			return nil, fmt.Errorf("timer %s: schedule %q: %w", f.Name, f.Schedule, err)
		}
		out[f.Name] = s
	}
	return out, nil
}

// dueBy is when the run after one started at last should have ended: the
// next scheduled start, plus one period of the schedule to finish in.
func dueBy(s cron.Schedule, last time.Time) time.Time {
	next := s.Next(last.UTC().Add(scheduleSkew))
	return s.Next(next)
}

// health answers GET /v1/health for any signed-in caller, also one without
// an account: it holds nothing of anyone's. What it proves:
//   - settings: no setting that Azure fills from Key Vault still holds the
//     reference's own text (the process's settings are read at start, and
//     the platform fetches referenced secrets again at least daily);
//   - timers: each timer's last run as the timer itself recorded it, and
//     whether the next one is late for the schedule in the function table;
//   - backups: the newest table export in the backup account, and whether
//     it is late for the backup timer's schedule.
func (a *App) health(w http.ResponseWriter, r *http.Request, _ identity.Principal) error {
	ctx := r.Context()
	now := a.Now().UTC()
	sched, err := schedules()
	if err != nil {
		return err
	}
	out := healthView{Time: now, Version: buildVersion(), Settings: []settingView{}, Timers: []timerView{}}
	for _, name := range keyVaultSettings() {
		v := ""
		if a.Getenv != nil {
			v = a.Getenv(name)
		}
		out.Settings = append(out.Settings, settingView{Name: name, Resolved: v != "" && !unresolvedReference(v)})
	}

	runs, err := a.Store.TimerRuns(ctx)
	if err != nil {
		return err
	}
	for _, f := range functions.Table() {
		if f.Trigger != functions.Timer {
			continue
		}
		t := timerView{Name: f.Name, Schedule: f.Schedule, Overdue: true}
		if run, ok := runs[f.Name]; ok {
			t.LastRun = &timerRunView{StartedAt: run.StartedAt, EndedAt: run.EndedAt, Outcome: "succeeded", Failure: run.Failure}
			if run.Failure != "" {
				t.LastRun.Outcome = "failed"
			}
			due := dueBy(sched[f.Name], run.StartedAt)
			t.DueBy, t.Overdue = &due, now.After(due)
		}
		out.Timers = append(out.Timers, t)
	}

	out.Backups, err = a.backupHealth(ctx, now, sched)
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, out)
	return nil
}

// backupHealth finds the newest table export of today and yesterday
// (UTC): an export every 5 minutes makes anything older overdue anyway,
// and two days of names are a few hundred at most.
func (a *App) backupHealth(ctx context.Context, now time.Time, sched map[string]cron.Schedule) (backupsView, error) {
	const timer = "backup"
	out := backupsView{Overdue: true}
	for _, f := range functions.Table() {
		if f.Name == timer {
			out.Schedule = f.Schedule
		}
	}
	if a.Backups == nil {
		return out, nil
	}
	var exports []backup.Export
	for _, day := range []time.Time{now, now.AddDate(0, 0, -1)} {
		for _, kind := range []string{backup.Full, backup.Changes} {
			names, err := a.Backups.ListBlobs(ctx, backup.Container, backup.DayPrefix(kind, day))
			if err != nil {
				return out, err
			}
			for _, n := range names {
				if e, err := backup.Parse(n); err == nil && !e.Cutoff.After(now.Add(scheduleSkew)) {
					exports = append(exports, e)
				}
			}
		}
	}
	latest, ok := backup.Latest(exports)
	if !ok {
		return out, nil
	}
	due := dueBy(sched[timer], latest.Cutoff)
	out.LatestAt, out.DueBy, out.Overdue = &latest.Cutoff, &due, now.After(due)
	out.Kind = "changes"
	if latest.Kind == backup.Full {
		out.Kind = "whole"
	}
	return out, nil
}

// buildVersion reads what Go stamped into the binary.
func buildVersion() versionView {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return versionView{}
	}
	v := versionView{Module: bi.Main.Version, Go: bi.GoVersion}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.time":
			v.RevisionTime = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}
