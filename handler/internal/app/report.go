package app

import (
	"context"
	"encoding/csv"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/identity"
	"mailmerge/handler/internal/pacing"
	"mailmerge/handler/internal/store"
	"mailmerge/handler/internal/tracking"
)

// tally counts events of one kind: how many, and of how many rows.
type tally struct {
	Unique int `json:"unique"`
	Total  int `json:"total"`
	rows   map[int]bool
}

func (t *tally) add(row, n int) {
	if t.rows == nil {
		t.rows = map[int]bool{}
	}
	t.Total += n
	if !t.rows[row] {
		t.rows[row] = true
		t.Unique++
	}
}

// split keeps people's and machines' events apart.
type split struct {
	Human     tally `json:"human"`
	Automated tally `json:"automated"`
}

func (s *split) add(e store.Event) {
	if e.Verdict == tracking.Human {
		s.Human.add(e.Row, 1)
	} else {
		s.Automated.add(e.Row, 1)
	}
}

type linkReport struct {
	Link int    `json:"link"`
	URL  string `json:"url"`
	split
}

// hourReport counts one UTC hour: messages sent, people's opens and
// clicks, and machines' (mail and link scanners) apart.
type hourReport struct {
	Hour            time.Time `json:"hour"`
	Sent            int       `json:"sent"`
	Opens           int       `json:"opens"`
	Clicks          int       `json:"clicks"`
	AutomatedOpens  int       `json:"automatedOpens"`
	AutomatedClicks int       `json:"automatedClicks"`
}

// pace is what the mailbox may send (the pacing limits) and, while rows
// are left to send, the earliest time they can all have gone.
type pace struct {
	PerMinute int        `json:"perMinute"`
	PerDay    int        `json:"perDay"`
	Remaining int        `json:"remaining"`
	FinishBy  *time.Time `json:"finishBy,omitempty"`
}

type rowReport struct {
	Row          int                `json:"row"`
	To           string             `json:"to,omitempty"`
	Status       campaign.RowStatus `json:"status"`
	Reason       *errorDetail       `json:"reason,omitempty"`
	SentAt       *time.Time         `json:"sentAt,omitempty"`
	FirstOpenAt  *time.Time         `json:"firstOpenAt,omitempty"`
	FirstClickAt *time.Time         `json:"firstClickAt,omitempty"`
	Opens        int                `json:"opens"`
	Clicks       int                `json:"clicks"`
}

type report struct {
	CampaignID  string          `json:"campaignId"`
	Name        string          `json:"name"`
	Status      campaign.Status `json:"status"`
	TrackOpens  bool            `json:"trackOpens"`
	TrackClicks bool            `json:"trackClicks"`
	Counts      counts          `json:"counts"`
	Opens       split           `json:"opens"`
	Clicks      split           `json:"clicks"`
	Links       []linkReport    `json:"links"`
	Hours       []hourReport    `json:"hours"`
	Pace        pace            `json:"pace"`
	Rows        []rowReport     `json:"rows"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// buildReport reads the campaign's rows and events once. A row's hits
// beyond the events stored of it (store.Recipient.Hits) count as a
// machine's: a row hit that often is a flood.
func (a *App) buildReport(r *http.Request, c store.Campaign) (report, error) {
	rep := report{CampaignID: c.ID, Name: c.Name, Status: c.Status, TrackOpens: c.TrackOpens, TrackClicks: c.TrackClicks,
		Links: []linkReport{}, Hours: []hourReport{}, Rows: []rowReport{}}
	hours := map[time.Time]*hourReport{}
	hour := func(t time.Time) *hourReport {
		h := t.UTC().Truncate(time.Hour)
		if hours[h] == nil {
			hours[h] = &hourReport{Hour: h}
		}
		return hours[h]
	}
	to := campaign.Locate(c.Data.Columns).To
	byRow := map[int]int{}
	rowCounts := map[campaign.RowStatus]int{}
	links := map[int]*linkReport{}
	link := func(n int) *linkReport {
		if links[n] == nil {
			links[n] = &linkReport{Link: n}
		}
		return links[n]
	}
	err := a.Store.ForEachRecipient(r.Context(), c.ID, func(rec store.Recipient) error {
		rr := rowReport{Row: rec.Row, Status: rec.Status, Reason: reasonView(rec.Reason),
			FirstOpenAt: timePtr(rec.FirstOpenAt), FirstClickAt: timePtr(rec.FirstClickAt)}
		if to >= 0 && to < len(rec.Cells) {
			rr.To = rec.Cells[to]
		}
		if rec.Status == campaign.RowSent {
			rr.SentAt = timePtr(rec.UpdatedAt)
			hour(rec.UpdatedAt).Sent++
		}
		rowCounts[rec.Status]++
		byRow[rec.Row] = len(rep.Rows)
		rep.Rows = append(rep.Rows, rr)
		for k, n := range rec.Hits {
			if n.Extra == 0 {
				continue
			}
			switch k.Kind {
			case tracking.Open:
				rep.Opens.Automated.add(rec.Row, n.Extra)
				hour(k.Hour).AutomatedOpens += n.Extra
			case tracking.Click:
				rep.Clicks.Automated.add(rec.Row, n.Extra)
				link(k.Link).Automated.add(rec.Row, n.Extra)
				hour(k.Hour).AutomatedClicks += n.Extra
			}
		}
		return nil
	})
	if err != nil {
		return rep, err
	}
	rep.Counts = counts{Rows: c.Data.Rows, Valid: c.Data.ValidRows}
	rep.Counts.add(campaign.CountsOf(rowCounts))
	err = a.Store.ForEachEvent(r.Context(), c.ID, func(e store.Event) error {
		human := e.Verdict == tracking.Human
		switch e.Kind {
		case tracking.Open:
			rep.Opens.add(e)
			if human {
				hour(e.At).Opens++
			} else {
				hour(e.At).AutomatedOpens++
			}
		case tracking.Click:
			rep.Clicks.add(e)
			l := link(e.Link)
			if l.URL == "" {
				l.URL = e.URL
			}
			l.add(e)
			if human {
				hour(e.At).Clicks++
			} else {
				hour(e.At).AutomatedClicks++
			}
		default:
			return nil
		}
		if i, ok := byRow[e.Row]; ok && human {
			if e.Kind == tracking.Open {
				rep.Rows[i].Opens++
			} else {
				rep.Rows[i].Clicks++
			}
		}
		return nil
	})
	for _, l := range links {
		rep.Links = append(rep.Links, *l)
	}
	sort.Slice(rep.Links, func(i, j int) bool { return rep.Links[i].Link < rep.Links[j].Link })
	for _, h := range hours {
		rep.Hours = append(rep.Hours, *h)
	}
	sort.Slice(rep.Hours, func(i, j int) bool { return rep.Hours[i].Hour.Before(rep.Hours[j].Hour) })
	if err != nil {
		return rep, err
	}
	rep.Pace, err = a.pace(r.Context(), c, rowCounts[campaign.RowPending]+rowCounts[campaign.RowSending])
	return rep, err
}

// pace estimates when a campaign that is sending will have sent its
// remaining rows, from the mailbox's limits and what it sent in the last
// 24 hours. A campaign not sending (paused, ended, not started) gets the
// limits alone.
func (a *App) pace(ctx context.Context, c store.Campaign, remaining int) (pace, error) {
	p := pace{PerMinute: a.Pace.PerMinute, PerDay: a.Pace.PerDay, Remaining: remaining}
	if remaining == 0 || (c.Status != campaign.Queued && c.Status != campaign.Sending) {
		return p, nil
	}
	m, err := a.Store.Mailbox(ctx, c.Account.String())
	if err != nil {
		return p, err
	}
	finish := pacing.Estimate(a.Pace, m, remaining, a.Now(), c.Window).UTC().Truncate(time.Second)
	p.FinishBy = &finish
	return p, nil
}

// getReport answers the campaign's report: JSON, or with ?format=csv one
// line per row, every cell safe to open in a spreadsheet.
func (a *App) getReport(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "csv" {
		return apperr.E(apperr.Invalid, "format_invalid", "format is json or csv")
	}
	c, err := a.ownCampaign(r, p)
	if err != nil {
		return err
	}
	rep, err := a.buildReport(r, c)
	if err != nil {
		return err
	}
	if format != "csv" {
		encode(w, http.StatusOK, rep)
		return nil
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="report-`+c.ID+`.csv"`)
	w.WriteHeader(http.StatusOK)
	// A byte order mark, so Excel reads the file as UTF-8.
	_, _ = w.Write([]byte("\ufeff"))
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"Row", "To", "Status", "Reason", "Sent at", "First open", "First click", "Opens", "Clicks"})
	stamp := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05")
	}
	for _, row := range rep.Rows {
		reason := ""
		if row.Reason != nil {
			reason = row.Reason.Message
		}
		_ = cw.Write([]string{strconv.Itoa(row.Row), safeCell(row.To), string(row.Status), safeCell(reason), stamp(row.SentAt),
			stamp(row.FirstOpenAt), stamp(row.FirstClickAt), strconv.Itoa(row.Opens), strconv.Itoa(row.Clicks)})
	}
	cw.Flush()
	return nil
}

// safeCell keeps a spreadsheet from reading a cell as a formula (OWASP
// CSV injection): one that starts with = + - @, a tab, a carriage return
// or a line feed is prefixed with a single quote, and so is one that
// starts with NUL, which a reader may drop, leaving the formula behind.
func safeCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r\n\x00", rune(s[0])) {
		return "'" + s
	}
	return s
}
