package verify

import (
	"context"
	"fmt"
	"time"
)

// health is the app's GET /v1/health answer (handler/internal/app,
// health.go): names and times only, never a secret.
type health struct {
	Settings []struct {
		Name     string `json:"name"`
		Resolved bool   `json:"resolved"`
	} `json:"settings"`
	Timers []struct {
		Name     string `json:"name"`
		Schedule string `json:"schedule"`
		LastRun  *struct {
			StartedAt time.Time `json:"startedAt"`
			Outcome   string    `json:"outcome"`
			Failure   string    `json:"failure"`
		} `json:"lastRun"`
		Overdue bool `json:"overdue"`
	} `json:"timers"`
	Backups struct {
		LatestAt *time.Time `json:"latestAt"`
		Kind     string     `json:"kind"`
		Overdue  bool       `json:"overdue"`
	} `json:"backups"`
}

// timers are the app's timer functions, run now before the health is read
// where the run may start them (a new deployment's hourly ones may not have
// run yet).
var timers = []string{"sweep", "backup", "retention", "mailbox-scan"}

// checkInfra: the app's own health answer: every Key Vault reference
// resolved, every timer ran on time and well, a backup within its
// schedule.
func checkInfra(ctx context.Context, r *run) Result {
	started := r.Now().Add(-time.Second)
	triggered := false
	for _, t := range timers {
		triggered = r.runTimer(ctx, t) || triggered
	}
	var h health
	read := func() (bool, error) {
		if err := r.api(ctx, "GET", "/v1/health", nil, &h); err != nil {
			return false, err
		}
		for _, t := range h.Timers {
			if t.LastRun == nil || t.LastRun.StartedAt.Before(started) {
				return false, nil
			}
		}
		return true, nil
	}
	var err error
	if triggered {
		// A timer started on request runs on its own: wait for its record.
		err = r.waitFor(ctx, read)
		if err != nil && statusOf(err) == 0 {
			err = nil // judged below as it is
		}
	} else {
		_, err = read()
	}
	if err != nil {
		return fail("look at the function app's logs", err.Error())
	}
	return h.judge()
}

func (h health) judge() Result {
	var ev []string
	bad := ""
	for _, s := range h.Settings {
		if !s.Resolved && bad == "" {
			bad = "resolve the Key Vault reference of " + s.Name + ": the app's identity needs get on the vault's secrets, and the secret must exist"
		}
		ev = append(ev, fmt.Sprintf("setting %s: %s", s.Name, map[bool]string{true: "resolved", false: "NOT resolved"}[s.Resolved]))
	}
	for _, t := range h.Timers {
		switch {
		case t.LastRun == nil:
			ev = append(ev, fmt.Sprintf("timer %s (%s): not run yet", t.Name, t.Schedule))
			if bad == "" {
				bad = "the timer " + t.Name + " has not run: check that the function app is on and its timers are not disabled"
			}
		default:
			ev = append(ev, fmt.Sprintf("timer %s (%s): last run %s, %s", t.Name, t.Schedule, t.LastRun.StartedAt.UTC().Format(time.RFC3339), t.LastRun.Outcome))
			if t.LastRun.Outcome != "succeeded" && bad == "" {
				bad = "the timer " + t.Name + " failed (" + t.LastRun.Failure + "): read its invocation in the Functions logs"
			}
			if t.Overdue && bad == "" {
				bad = "the timer " + t.Name + " missed its schedule: check that the function app is on"
			}
		}
	}
	if h.Backups.LatestAt == nil {
		ev = append(ev, "backups: none yet")
	} else {
		ev = append(ev, fmt.Sprintf("latest backup: %s (%s)", h.Backups.LatestAt.UTC().Format(time.RFC3339), h.Backups.Kind))
	}
	if (h.Backups.LatestAt == nil || h.Backups.Overdue) && bad == "" {
		bad = "no backup within its schedule: check the backup timer and the BackupStorage connection"
	}
	if bad != "" {
		return fail(bad, ev...)
	}
	return pass(ev...)
}
