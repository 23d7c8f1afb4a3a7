package campaign

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"mailmerge/handler/internal/apperr"
)

// Window is when a campaign may send: on these days, from From to To
// (hours and minutes, To not included), in TimeZone (an IANA name). The
// zero Window is always open.
type Window struct {
	Days     []string `json:"days"` // "mon" … "sun"
	From     string   `json:"from"` // "09:00"
	To       string   `json:"to"`   // "17:00"
	TimeZone string   `json:"timeZone"`
}

// dayNames are the days as a Window names them, by time.Weekday.
var dayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// IsZero reports whether the window is always open.
func (w Window) IsZero() bool {
	return len(w.Days) == 0 && w.From == "" && w.To == "" && w.TimeZone == ""
}

// Check says what is wrong with w, in words for the owner.
func (w Window) Check() error {
	if w.IsZero() {
		return nil
	}
	bad := func(format string, a ...any) error {
		return apperr.E(apperr.Invalid, "window_invalid", format, a...)
	}
	if len(w.Days) == 0 {
		return bad("a sending window names at least one day (mon, tue, wed, thu, fri, sat, sun)")
	}
	for _, d := range w.Days {
		if !slices.Contains(dayNames, d) {
			return bad("%q is not a day: write mon, tue, wed, thu, fri, sat or sun", d)
		}
	}
	from, okF := minutes(w.From)
	to, okT := minutes(w.To)
	if !okF || !okT {
		return bad("from and to are times of day such as 09:00 and 17:30")
	}
	if to <= from {
		return bad("the window must end after it starts on the same day (from %s to %s)", w.From, w.To)
	}
	if w.TimeZone == "" || strings.EqualFold(w.TimeZone, "local") {
		return bad("name the window's time zone, such as Europe/Paris")
	}
	if _, err := time.LoadLocation(w.TimeZone); err != nil {
		return bad("%q is not a time zone we know: use a name such as Europe/Paris or America/New_York", w.TimeZone)
	}
	return nil
}

// minutes reads "HH:MM" as minutes after midnight ("24:00" is the end of
// the day).
func minutes(s string) (int, bool) {
	var h, m int
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	if _, err := fmt.Sscanf(s, "%d:%d", &h, &m); err != nil || h < 0 || m < 0 || m > 59 || h*60+m > 24*60 {
		return 0, false
	}
	return h*60 + m, true
}

// At says whether t is inside the window and, if so, when the window
// closes; if not, when it next opens. The zero Window is always open
// (until is zero). A window that cannot be read is taken as always open:
// Check refuses it before it is stored.
func (w Window) At(t time.Time) (open bool, until time.Time) {
	if w.IsZero() {
		return true, time.Time{}
	}
	// Read once here (the send step asks before each batch): a window
	// Check would refuse is open.
	from, okF := minutes(w.From)
	to, okT := minutes(w.To)
	loc, err := time.LoadLocation(w.TimeZone)
	if !okF || !okT || to <= from || err != nil || w.TimeZone == "" {
		return true, time.Time{}
	}
	local := t.In(loc)
	for i := range 8 {
		day := time.Date(local.Year(), local.Month(), local.Day()+i, 0, 0, 0, 0, loc)
		if !slices.Contains(w.Days, dayNames[day.Weekday()]) {
			continue
		}
		opens := time.Date(day.Year(), day.Month(), day.Day(), from/60, from%60, 0, 0, loc)
		closes := time.Date(day.Year(), day.Month(), day.Day(), to/60, to%60, 0, 0, loc)
		switch {
		case t.Before(opens):
			return false, opens
		case t.Before(closes):
			return true, closes
		}
	}
	return true, time.Time{} // no day at all: Check refuses it
}
