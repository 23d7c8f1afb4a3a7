package app

import (
	"sort"
	"time"
)

// timeUnit is the length of a timeline's buckets: chosen from how long
// what it shows took, so that a campaign sent in a minute is drawn in
// minutes and one read over weeks in days.
type timeUnit string

const (
	unitMinute timeUnit = "minute"
	unitHour   timeUnit = "hour"
	unitDay    timeUnit = "day"
	unitWeek   timeUnit = "week"
)

// minBuckets is the fewest buckets a timeline has: a campaign sent within
// a minute is one bar among empty minutes, not one bar the width of the
// chart.
const minBuckets = 10

// unitFor is the unit for a span: minutes up to two hours (at most 120
// bars), hours up to three days (72), days up to 120 days, weeks beyond.
func unitFor(span time.Duration) timeUnit {
	switch {
	case span <= 2*time.Hour:
		return unitMinute
	case span <= 72*time.Hour:
		return unitHour
	case span <= 120*24*time.Hour:
		return unitDay
	}
	return unitWeek
}

// floor is the start of the bucket t is in, in loc: hours and days as
// its clocks show them (so a zone half an hour off UTC gets its own
// hours), weeks from Monday.
func (u timeUnit) floor(t time.Time, loc *time.Location) time.Time {
	t = t.In(loc)
	switch u {
	case unitMinute:
		return t.Truncate(time.Minute)
	case unitHour:
		_, off := t.Zone()
		shift := time.Duration(off) * time.Second
		return t.Add(shift).Truncate(time.Hour).Add(-shift)
	}
	y, m, d := t.Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, loc)
	if u == unitWeek {
		day = day.AddDate(0, 0, -((int(day.Weekday()) + 6) % 7))
	}
	return day
}

// next is the start of the bucket after the one starting at b. Days are
// counted on the calendar, so a day of a clock change is one bucket.
func (u timeUnit) next(b time.Time, loc *time.Location) time.Time {
	var n time.Time
	switch u {
	case unitMinute:
		n = b.Add(time.Minute)
	case unitHour:
		n = u.floor(b.Add(time.Hour), loc)
	default:
		y, m, d := b.In(loc).Date()
		days := 1
		if u == unitWeek {
			days = 7
		}
		n = time.Date(y, m, d+days, 0, 0, 0, 0, loc)
	}
	if !n.After(b) { // a clock change the zone's rules make ambiguous
		n = b.Add(time.Hour)
	}
	return n
}

// activity counts people's and machines' opens and clicks.
type activity struct {
	Opens           int `json:"opens"`
	Clicks          int `json:"clicks"`
	AutomatedOpens  int `json:"automatedOpens"`
	AutomatedClicks int `json:"automatedClicks"`
}

func (a *activity) add(o activity) {
	a.Opens += o.Opens
	a.Clicks += o.Clicks
	a.AutomatedOpens += o.AutomatedOpens
	a.AutomatedClicks += o.AutomatedClicks
}

type sentBucket struct {
	At   time.Time `json:"at"`
	Sent int       `json:"sent"`
}

type activityBucket struct {
	At time.Time `json:"at"`
	activity
}

// sentTimeline is the messages sent per bucket, from the first send to
// the last.
type sentTimeline struct {
	Unit    timeUnit     `json:"unit"`
	Buckets []sentBucket `json:"buckets"`
}

// activityTimeline is the opens and clicks per bucket, from the first
// send (or the first open or click) to the last open or click.
type activityTimeline struct {
	Unit    timeUnit         `json:"unit"`
	Buckets []activityBucket `json:"buckets"`
}

// timelines are the report's two time axes, each with its own unit, in
// Zone's clocks.
type timelines struct {
	Zone     string           `json:"zone"`
	Sent     sentTimeline     `json:"sent"`
	Activity activityTimeline `json:"activity"`
}

// minuteCounts gathers a campaign's sends and its opens and clicks per
// minute as the report reads them (hits only counted, beyond those
// stored, at the start of their hour), to be put in buckets once the
// spans are known.
type minuteCounts struct {
	sent     map[time.Time]int
	activity map[time.Time]*activity
}

func newMinuteCounts() *minuteCounts {
	return &minuteCounts{sent: map[time.Time]int{}, activity: map[time.Time]*activity{}}
}

func (m *minuteCounts) addSent(t time.Time) {
	m.sent[t.UTC().Truncate(time.Minute)]++
}

func (m *minuteCounts) addActivity(t time.Time, a activity) {
	k := t.UTC().Truncate(time.Minute)
	if m.activity[k] == nil {
		m.activity[k] = &activity{}
	}
	m.activity[k].add(a)
}

// span is the first and last of times (zero when there are none).
func span[V any](m map[time.Time]V) (first, last time.Time) {
	for t := range m {
		if first.IsZero() || t.Before(first) {
			first = t
		}
		if t.After(last) {
			last = t
		}
	}
	return first, last
}

// axis is the buckets' starts from first to last, in the unit that fits
// them, at least minBuckets of them.
func axis(first, last time.Time, loc *time.Location) (timeUnit, []time.Time) {
	u := unitFor(last.Sub(first))
	var starts []time.Time
	for b := u.floor(first, loc); !b.After(last) || len(starts) < minBuckets; b = u.next(b, loc) {
		starts = append(starts, b.UTC())
	}
	return u, starts
}

// bucketOf is the index of the bucket t falls in, starts being sorted.
func bucketOf(starts []time.Time, t time.Time) int {
	i := sort.Search(len(starts), func(i int) bool { return starts[i].After(t) })
	return max(i-1, 0)
}

// timelines puts the counts in buckets that fit their spans, in loc.
func (m *minuteCounts) timelines(loc *time.Location) timelines {
	tl := timelines{Zone: loc.String(), Sent: sentTimeline{Unit: unitMinute, Buckets: []sentBucket{}},
		Activity: activityTimeline{Unit: unitMinute, Buckets: []activityBucket{}}}
	if len(m.sent) > 0 {
		first, last := span(m.sent)
		var starts []time.Time
		tl.Sent.Unit, starts = axis(first, last, loc)
		tl.Sent.Buckets = make([]sentBucket, len(starts))
		for i, s := range starts {
			tl.Sent.Buckets[i].At = s
		}
		for t, n := range m.sent {
			tl.Sent.Buckets[bucketOf(starts, t)].Sent += n
		}
	}
	if len(m.activity) > 0 {
		first, last := span(m.activity)
		if sentFirst, _ := span(m.sent); !sentFirst.IsZero() && sentFirst.Before(first) {
			first = sentFirst
		}
		var starts []time.Time
		tl.Activity.Unit, starts = axis(first, last, loc)
		tl.Activity.Buckets = make([]activityBucket, len(starts))
		for i, s := range starts {
			tl.Activity.Buckets[i].At = s
		}
		for t, a := range m.activity {
			tl.Activity.Buckets[bucketOf(starts, t)].add(*a)
		}
	}
	return tl
}
