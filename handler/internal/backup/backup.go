// Package backup names the table exports and chooses which to restore.
//
// Table storage has no point-in-time restore of its own, so the backup
// timer exports the tables itself, into containers that are immutable and
// kept by lifecycle rules in Azure (infra/modules/storage.bicep):
//
//	backups/daily/<date>/<hh-mm-ss>.jsonl.gz    every table, whole: the first export of each hour
//	backups/changes/<date>/<hh-mm-ss>.jsonl.gz  what changed since the previous export, every 5 minutes
//	backups-monthly/<yyyy-mm>.jsonl.gz          every table, whole: the first export of each month
//
// The time in a name is the export's cutoff: it holds every write made
// before it. A point in time is restored from the last whole export before
// it and the change exports after that one, in order (Plan).
package backup

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The containers.
const (
	Container        = "backups"
	MonthlyContainer = "backups-monthly"
)

// Kinds of export within Container.
const (
	Full    = "daily/"
	Changes = "changes/"
)

// Overlap is how far a change export reaches back before the previous
// cutoff: clock skew between us and the storage service's Timestamp, and
// writes that were committing while it read. (The timer runs every 5
// minutes, by its schedule in the function table: that is the recovery
// point of the tables.)
const Overlap = 2 * time.Minute

// How long exports are kept: the whole and change exports for the
// 35 days of point-in-time recovery (plus a day, so the whole export
// before the oldest point is still there), the monthly copies for 12
// months. The containers' immutability periods (infra/) are no longer, so
// the backup timer can delete what has expired.
const (
	KeepExports = 36 * 24 * time.Hour
	KeepMonths  = 12
	// KeepTombstones is how long a finished deletion's ids are kept:
	// longer than the oldest backup that can hold the deleted data (the
	// monthly copies), so no restore brings that data back.
	KeepTombstones = 400 * 24 * time.Hour
	// KeepRemovals is how long the records of deleted rows are kept: as
	// long as the exports they correct, and a day.
	KeepRemovals = KeepExports + 24*time.Hour
	// KeepSoftDeleted is how long Azure Storage keeps deleted blobs for the
	// operator to recover: softDeleteDays of infra/modules/storage.bicep
	// (infracheck checks they agree).
	KeepSoftDeleted = 36 * 24 * time.Hour
)

const (
	layout = "2006-01-02/15-04-05"
	suffix = ".jsonl.gz"
)

// Name is the blob name in Container of an export of kind with cutoff at.
func Name(kind string, at time.Time) string {
	return kind + at.UTC().Format(layout) + suffix
}

// MonthlyName is the blob name in MonthlyContainer for the month of at.
func MonthlyName(at time.Time) string {
	return at.UTC().Format("2006-01") + suffix
}

// DayPrefix is the prefix in Container that lists the exports of kind
// made on the day of at.
func DayPrefix(kind string, at time.Time) string {
	return kind + at.UTC().Format("2006-01-02") + "/"
}

// Export is one export in Container.
type Export struct {
	Name   string
	Kind   string // Full or Changes
	Cutoff time.Time
}

// Parse reads an export's kind and cutoff from its name.
func Parse(name string) (Export, error) {
	for _, kind := range []string{Full, Changes} {
		rest, ok := strings.CutPrefix(name, kind)
		if !ok {
			continue
		}
		at, err := time.Parse(layout, strings.TrimSuffix(rest, suffix))
		if err != nil || !strings.HasSuffix(rest, suffix) {
			break
		}
		return Export{Name: name, Kind: kind, Cutoff: at}, nil
	}
	return Export{}, fmt.Errorf("%q is not a table export (want daily/ or changes/<date>/<hh-mm-ss>%s)", name, suffix)
}

// Latest is the newest of exports (with ok false when there is none).
func Latest(exports []Export) (Export, bool) {
	if len(exports) == 0 {
		return Export{}, false
	}
	return slices.MaxFunc(exports, func(a, b Export) int { return a.Cutoff.Compare(b.Cutoff) }), true
}

// Plan chooses what restores the tables to the point at: the last whole
// export with its cutoff at or before at, then every change export after
// it up to at, oldest first. Its recovery point is the last cutoff in the
// plan (returned), at most one timer period (5 minutes) before at while
// the timer ran.
func Plan(exports []Export, at time.Time) ([]Export, time.Time, error) {
	var base Export
	found := false
	for _, e := range exports {
		if e.Kind == Full && !e.Cutoff.After(at) && (!found || e.Cutoff.After(base.Cutoff)) {
			base, found = e, true
		}
	}
	if !found {
		return nil, time.Time{}, fmt.Errorf("no whole export at or before %s", at.UTC().Format(time.RFC3339))
	}
	plan := []Export{base}
	for _, e := range exports {
		if e.Kind == Changes && e.Cutoff.After(base.Cutoff) && !e.Cutoff.After(at) {
			plan = append(plan, e)
		}
	}
	slices.SortStableFunc(plan[1:], func(a, b Export) int { return a.Cutoff.Compare(b.Cutoff) })
	return plan, plan[len(plan)-1].Cutoff, nil
}

// Expired are the exports that are past KeepExports at now.
func Expired(exports []Export, now time.Time) []Export {
	var out []Export
	for _, e := range exports {
		if e.Cutoff.Before(now.Add(-KeepExports)) {
			out = append(out, e)
		}
	}
	return out
}

// ExpiredMonthly are the monthly copies (names in MonthlyContainer) older
// than the last KeepMonths months at now; names that are not monthly
// copies are left alone.
func ExpiredMonthly(names []string, now time.Time) []string {
	first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC).AddDate(0, -(KeepMonths - 1), 0)
	var out []string
	for _, n := range names {
		month, err := time.Parse("2006-01", strings.TrimSuffix(n, suffix))
		if err == nil && strings.HasSuffix(n, suffix) && month.Before(first) {
			out = append(out, n)
		}
	}
	return out
}

// Kept is one keeping rule of what is not an account's own data but holds
// copies or ids of it, as the privacy notice must state it.
type Kept struct {
	What string `json:"what"`
	Kept string `json:"kept"`
}

// Elsewhere are those rules, from the constants that enforce them.
func Elsewhere() []Kept {
	days := func(d time.Duration) string { return strconv.Itoa(int(d.Hours()/24)) + " days" }
	return []Kept{
		{"copies of our records, for recovery after a failure (every 5 minutes)",
			days(KeepExports) + "; one a month for " + strconv.Itoa(KeepMonths) + " months. A recovery never brings back what you deleted."},
		{"a note of what you deleted (only its reference numbers and when), so that a recovery leaves it out", days(KeepTombstones)},
		{"where each deleted record was and when it went (never its content), for the same reason", days(KeepRemovals)},
		{"deleted files, which only our operators can bring back, for a short time", days(KeepSoftDeleted)},
	}
}
