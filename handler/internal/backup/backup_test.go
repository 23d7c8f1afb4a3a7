package backup

import (
	"strings"
	"testing"
	"time"
)

func TestNamesParseBack(t *testing.T) {
	at := time.Date(2026, 11, 28, 16, 5, 20, 999, time.UTC)
	for _, kind := range []string{Full, Changes} {
		name := Name(kind, at)
		e, err := Parse(name)
		if err != nil {
			t.Fatal(err)
		}
		if e.Kind != kind || !e.Cutoff.Equal(at.Truncate(time.Second)) || !strings.HasPrefix(name, DayPrefix(kind, at)) {
			t.Errorf("%s parsed as %+v", name, e)
		}
	}
	if MonthlyName(at) != "2026-11.jsonl.gz" {
		t.Errorf("monthly name %q", MonthlyName(at))
	}
	for _, bad := range []string{"daily/2026-11-28.jsonl.gz", "changes/2026-11-28/16-05-20.json", "monthly/2026-11.jsonl.gz", "daily/2026-13-28/16-05-20.jsonl.gz"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// A point in time is the last whole export at or before it plus the
// change exports between, in order; later exports are left out.
func TestPlan(t *testing.T) {
	day := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	at := func(h, m int) time.Time { return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	var exports []Export
	add := func(kind string, t time.Time) {
		e, err := Parse(Name(kind, t))
		if err != nil {
			panic(err)
		}
		exports = append(exports, e)
	}
	add(Full, at(14, 0))
	add(Changes, at(14, 55))
	add(Full, at(15, 0))
	add(Changes, at(15, 10)) // out of order on purpose
	add(Changes, at(15, 5))
	add(Changes, at(15, 15))
	add(Full, at(16, 0))

	plan, reached, err := Plan(exports, at(15, 12))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range plan {
		got = append(got, e.Name)
	}
	want := []string{Name(Full, at(15, 0)), Name(Changes, at(15, 5)), Name(Changes, at(15, 10))}
	if strings.Join(got, " ") != strings.Join(want, " ") || !reached.Equal(at(15, 10)) {
		t.Errorf("plan %v reaching %v, want %v reaching 15:10", got, reached, want)
	}
	if plan, reached, _ := Plan(exports, at(16, 0)); len(plan) != 1 || !reached.Equal(at(16, 0)) {
		t.Errorf("at a whole export's cutoff: %v %v", plan, reached)
	}
	if _, _, err := Plan(exports, at(13, 59)); err == nil {
		t.Error("a point before every whole export was planned")
	}
}

// Exports go after 36 days, monthly copies after 12 months; nothing else.
func TestExpiry(t *testing.T) {
	now := time.Date(2026, 11, 28, 16, 0, 0, 0, time.UTC)
	old, _ := Parse(Name(Changes, now.Add(-KeepExports-time.Minute)))
	young, _ := Parse(Name(Full, now.Add(-KeepExports+time.Minute)))
	if got := Expired([]Export{old, young}, now); len(got) != 1 || got[0] != old {
		t.Errorf("expired %v", got)
	}
	got := ExpiredMonthly([]string{"2025-11.jsonl.gz", "2025-12.jsonl.gz", "2026-11.jsonl.gz", "notes.txt"}, now)
	if len(got) != 1 || got[0] != "2025-11.jsonl.gz" {
		t.Errorf("expired monthly %v; want 2025-11 only (12 kept: 2025-12 to 2026-11)", got)
	}
}
