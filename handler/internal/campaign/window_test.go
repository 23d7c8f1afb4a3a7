package campaign

import (
	"testing"
	"time"
)

func TestWindowAt(t *testing.T) {
	weekdays := Window{Days: []string{"mon", "tue", "wed", "thu", "fri"}, From: "09:00", To: "17:00", TimeZone: "Europe/Paris"}
	daily := Window{Days: []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}, From: "09:00", To: "17:00", TimeZone: "Europe/Paris"}
	utc := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, c := range []struct {
		name  string
		w     Window
		at    string
		open  bool
		until string
	}{
		{"always", Window{}, "2026-12-05T12:00:00Z", true, ""},
		{"Saturday noon", weekdays, "2026-12-05T11:00:00Z", false, "2026-12-07T08:00:00Z"},
		{"Wednesday morning", weekdays, "2026-12-02T09:30:00Z", true, "2026-12-02T16:00:00Z"},
		{"Wednesday at the close", weekdays, "2026-12-02T16:00:00Z", false, "2026-12-03T08:00:00Z"},
		{"Friday evening", weekdays, "2026-12-04T18:00:00Z", false, "2026-12-07T08:00:00Z"},
		{"before the opening", weekdays, "2026-12-03T07:59:59Z", false, "2026-12-03T08:00:00Z"},
		{"the day summer time starts", daily, "2026-03-29T08:00:00Z", true, "2026-03-29T15:00:00Z"},
		{"the night summer time starts", daily, "2026-03-29T01:30:00Z", false, "2026-03-29T07:00:00Z"},
	} {
		open, until := c.w.At(utc(c.at))
		want := time.Time{}
		if c.until != "" {
			want = utc(c.until)
		}
		if open != c.open || !until.Equal(want) {
			t.Errorf("%s: open %v until %v, want %v until %v", c.name, open, until.UTC(), c.open, want)
		}
	}
}

func TestWindowCheck(t *testing.T) {
	ok := Window{Days: []string{"mon"}, From: "09:00", To: "17:30", TimeZone: "America/New_York"}
	if err := ok.Check(); err != nil {
		t.Errorf("%+v: %v", ok, err)
	}
	for name, w := range map[string]Window{
		"no day":        {From: "09:00", To: "17:00", TimeZone: "Europe/Paris"},
		"unknown day":   {Days: []string{"monday"}, From: "09:00", To: "17:00", TimeZone: "Europe/Paris"},
		"bad time":      {Days: []string{"mon"}, From: "9", To: "17:00", TimeZone: "Europe/Paris"},
		"ends first":    {Days: []string{"mon"}, From: "17:00", To: "09:00", TimeZone: "Europe/Paris"},
		"no zone":       {Days: []string{"mon"}, From: "09:00", To: "17:00"},
		"unknown zone":  {Days: []string{"mon"}, From: "09:00", To: "17:00", TimeZone: "Mars/Olympus"},
		"minute 60":     {Days: []string{"mon"}, From: "09:60", To: "17:00", TimeZone: "Europe/Paris"},
		"after the day": {Days: []string{"mon"}, From: "09:00", To: "24:01", TimeZone: "Europe/Paris"},
	} {
		if err := w.Check(); err == nil {
			t.Errorf("%s: %+v accepted", name, w)
		}
	}
}
