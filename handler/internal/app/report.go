package app

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/identity"
	"mailmerge/handler/internal/pacing"
	"mailmerge/handler/internal/store"
	"mailmerge/handler/internal/tracking"
	"mailmerge/handler/internal/words"
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
	Row            int                `json:"row"`
	To             string             `json:"to,omitempty"`
	Status         campaign.RowStatus `json:"status"`
	Reason         *errorDetail       `json:"reason,omitempty"`
	SentAt         *time.Time         `json:"sentAt,omitempty"`
	FirstOpenAt    *time.Time         `json:"firstOpenAt,omitempty"`
	FirstClickAt   *time.Time         `json:"firstClickAt,omitempty"`
	UnsubscribedAt *time.Time         `json:"unsubscribedAt,omitempty"`
	// RepliedAt is when the first reply came; BouncedAt when a report
	// that the message bounced came, Bounce its kind ("hard": not
	// delivered, "soft": delayed). Read from the owner's mailbox.
	RepliedAt *time.Time   `json:"repliedAt,omitempty"`
	BouncedAt *time.Time   `json:"bouncedAt,omitempty"`
	Bounce    store.Bounce `json:"bounce,omitempty"`
	Opens     int          `json:"opens"`
	Clicks    int          `json:"clicks"`
}

// reportCounts are the rows per state, and how many of the campaign's
// recipients unsubscribed from it (rows whose message was unsubscribed
// from), replied to it, and whose message bounced (BouncedSoft of them
// only delayed so far).
type reportCounts struct {
	counts
	Unsubscribed int `json:"unsubscribed"`
	Replied      int `json:"replied"`
	Bounced      int `json:"bounced"`
	BouncedSoft  int `json:"bouncedSoft"`
}

// rates are shares (0 to 1) of the messages sent that a person opened,
// clicked in and unsubscribed from; machines' opens and clicks are left
// out. Nil when nothing was sent, and for opens or clicks when the
// campaign did not count them.
type rates struct {
	Opens        *float64 `json:"opens"`
	Clicks       *float64 `json:"clicks"`
	Unsubscribes *float64 `json:"unsubscribes"`
	// Replies and Bounces are nil, too, when the mailbox was not read.
	Replies *float64 `json:"replies"`
	Bounces *float64 `json:"bounces"`
}

// peopleShown bounds the people the JSON report lists: a page shows that
// many, the CSV every row.
const peopleShown = 100

// people are the rows whose message a person (not a machine) opened or
// clicked in: how many, and the first peopleShown of them in the order
// of their first open or click.
type people struct {
	Total int         `json:"total"`
	Rows  []rowReport `json:"rows"`
}

type report struct {
	CampaignID  string          `json:"campaignId"`
	Name        string          `json:"name"`
	Status      campaign.Status `json:"status"`
	TrackOpens  bool            `json:"trackOpens"`
	TrackClicks bool            `json:"trackClicks"`
	// MailboxRead says whether replies and bounces were looked for: the
	// owner lets us read their mailbox, or did when some were found.
	MailboxRead bool         `json:"mailboxRead"`
	Counts      reportCounts `json:"counts"`
	Rates       rates        `json:"rates"`
	Opens       split        `json:"opens"`
	Clicks      split        `json:"clicks"`
	Links       []linkReport `json:"links"`
	Hours       []hourReport `json:"hours"`
	Timelines   timelines    `json:"timelines"`
	Pace        pace         `json:"pace"`
	People      people       `json:"people"`
	// Rows are every row, for the CSV: not in the JSON, which a large
	// campaign would make megabytes long (GET .../recipients pages them).
	Rows []rowReport `json:"-"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// earlier keeps the earlier of *p and t.
func earlier(p **time.Time, t time.Time) {
	if *p == nil || t.Before(**p) {
		*p = &t
	}
}

// share is n of all, nil when all is 0.
func share(n, all int) *float64 {
	if all == 0 {
		return nil
	}
	f := float64(n) / float64(all)
	return &f
}

// buildReport reads the campaign's rows and events once. A row's hits
// beyond the events stored of it (store.Recipient.Hits) count as a
// machine's: a row hit that often is a flood. A row's first open and
// click are its first by a person, as its events say. Hours and days of
// the timelines are loc's.
func (a *App) buildReport(r *http.Request, c store.Campaign, loc *time.Location) (report, error) {
	rep := report{CampaignID: c.ID, Name: c.Name, Status: c.Status, TrackOpens: c.TrackOpens, TrackClicks: c.TrackClicks,
		Links: []linkReport{}, Hours: []hourReport{}, People: people{Rows: []rowReport{}}}
	hours := map[time.Time]*hourReport{}
	hour := func(t time.Time) *hourReport {
		h := t.UTC().Truncate(time.Hour)
		if hours[h] == nil {
			hours[h] = &hourReport{Hour: h}
		}
		return hours[h]
	}
	minutes := newMinuteCounts()
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
		rr := rowReport{Row: rec.Row, Status: rec.Status, Reason: reasonView(rec.Reason)}
		if to >= 0 && to < len(rec.Cells) {
			rr.To = rec.Cells[to]
		}
		rr.RepliedAt, rr.BouncedAt, rr.Bounce = timePtr(rec.RepliedAt), timePtr(rec.BouncedAt), rec.Bounce
		if rec.Status == campaign.RowSent {
			rr.SentAt = timePtr(rec.UpdatedAt)
			hour(rec.UpdatedAt).Sent++
			minutes.addSent(rec.UpdatedAt)
		}
		rowCounts[rec.Status]++
		byRow[rec.Row] = len(rep.Rows)
		rep.Rows = append(rep.Rows, rr)
		for k, n := range rec.Hits {
			if n.Extra == 0 {
				continue
			}
			// Only counted, so known to the hour: drawn at its start, or
			// at the send if that came later in the hour.
			at := k.Hour
			if rr.SentAt != nil && rr.SentAt.After(at) && rr.SentAt.Before(at.Add(time.Hour)) {
				at = *rr.SentAt
			}
			switch k.Kind {
			case tracking.Open:
				rep.Opens.Automated.add(rec.Row, n.Extra)
				hour(k.Hour).AutomatedOpens += n.Extra
				minutes.addActivity(at, activity{AutomatedOpens: n.Extra})
			case tracking.Click:
				rep.Clicks.Automated.add(rec.Row, n.Extra)
				link(k.Link).Automated.add(rec.Row, n.Extra)
				hour(k.Hour).AutomatedClicks += n.Extra
				minutes.addActivity(at, activity{AutomatedClicks: n.Extra})
			}
		}
		return nil
	})
	if err != nil {
		return rep, err
	}
	err = a.Store.ForEachEvent(r.Context(), c.ID, func(e store.Event) error {
		human := e.Verdict == tracking.Human
		var row *rowReport
		if i, ok := byRow[e.Row]; ok {
			row = &rep.Rows[i]
		}
		switch e.Kind {
		case tracking.Open:
			rep.Opens.add(e)
			if human {
				hour(e.At).Opens++
				minutes.addActivity(e.At, activity{Opens: 1})
			} else {
				hour(e.At).AutomatedOpens++
				minutes.addActivity(e.At, activity{AutomatedOpens: 1})
			}
			if row != nil && human {
				row.Opens++
				earlier(&row.FirstOpenAt, e.At)
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
				minutes.addActivity(e.At, activity{Clicks: 1})
			} else {
				hour(e.At).AutomatedClicks++
				minutes.addActivity(e.At, activity{AutomatedClicks: 1})
			}
			if row != nil && human {
				row.Clicks++
				earlier(&row.FirstClickAt, e.At)
			}
		case tracking.Unsubscribe:
			if row != nil {
				earlier(&row.UnsubscribedAt, e.At)
			}
		}
		return nil
	})
	if err != nil {
		return rep, err
	}
	for _, l := range links {
		rep.Links = append(rep.Links, *l)
	}
	sort.Slice(rep.Links, func(i, j int) bool { return rep.Links[i].Link < rep.Links[j].Link })
	for _, h := range hours {
		rep.Hours = append(rep.Hours, *h)
	}
	sort.Slice(rep.Hours, func(i, j int) bool { return rep.Hours[i].Hour.Before(rep.Hours[j].Hour) })
	rep.Timelines = minutes.timelines(loc)
	rep.Counts.counts = counts{Rows: c.Data.Rows, Valid: c.Data.ValidRows}
	rep.Counts.add(campaign.CountsOf(rowCounts))
	acct, err := a.Store.Account(r.Context(), c.Account)
	if err != nil && !apperr.Is(err, apperr.NotFound) {
		return rep, err
	}
	rep.MailboxRead = acct.ReadMailbox
	rep.summarize()
	rep.Pace, err = a.pace(r.Context(), c, rowCounts[campaign.RowPending]+rowCounts[campaign.RowSending])
	return rep, err
}

// summarize counts the unsubscribes, replies and bounces, works out the
// rates over the rows sent, and lists the people who opened, clicked or
// replied, and those whose message bounced.
func (rep *report) summarize() {
	var opened, clicked, unsubscribed, replied, bounced int
	for _, row := range rep.Rows {
		if row.UnsubscribedAt != nil {
			rep.Counts.Unsubscribed++
		}
		if row.RepliedAt != nil {
			rep.Counts.Replied++
		}
		if row.BouncedAt != nil {
			rep.Counts.Bounced++
			if row.Bounce == store.BounceSoft {
				rep.Counts.BouncedSoft++
			}
		}
		if row.FirstOpenAt != nil || row.FirstClickAt != nil || row.RepliedAt != nil || row.BouncedAt != nil {
			rep.People.Rows = append(rep.People.Rows, row)
		}
		if row.Status != campaign.RowSent {
			continue
		}
		if row.FirstOpenAt != nil {
			opened++
		}
		if row.FirstClickAt != nil {
			clicked++
		}
		if row.UnsubscribedAt != nil {
			unsubscribed++
		}
		if row.RepliedAt != nil {
			replied++
		}
		if row.BouncedAt != nil {
			bounced++
		}
	}
	sent := rep.Counts.Sent
	rep.Rates.Unsubscribes = share(unsubscribed, sent)
	// Found before reading was turned off: they were looked for then.
	rep.MailboxRead = rep.MailboxRead || rep.Counts.Replied > 0 || rep.Counts.Bounced > 0
	if rep.MailboxRead {
		rep.Rates.Replies, rep.Rates.Bounces = share(replied, sent), share(bounced, sent)
	}
	if rep.TrackOpens {
		rep.Rates.Opens = share(opened, sent)
	}
	if rep.TrackClicks {
		rep.Rates.Clicks = share(clicked, sent)
	}
	first := func(r rowReport) time.Time {
		var at *time.Time
		for _, t := range []*time.Time{r.FirstOpenAt, r.FirstClickAt, r.RepliedAt, r.BouncedAt} {
			if t != nil {
				earlier(&at, *t)
			}
		}
		return *at
	}
	list := rep.People.Rows
	sort.SliceStable(list, func(i, j int) bool { return first(list[i]).Before(first(list[j])) })
	rep.People.Total = len(list)
	rep.People.Rows = list[:min(len(list), peopleShown)]
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
// line per row, every cell safe to open in a spreadsheet, in a file named
// after the campaign. ?zone (a time zone name; default the campaign's
// sending hours' zone, else UTC) sets the clocks of the timelines' hours
// and days and of the CSV's times.
func (a *App) getReport(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	q := r.URL.Query()
	format := q.Get("format")
	if format != "" && format != "json" && format != "csv" {
		return apperr.E(apperr.Invalid, "format_invalid", "format is json or csv")
	}
	c, err := a.ownCampaign(r, p)
	if err != nil {
		return err
	}
	loc, err := reportZone(q.Get("zone"), c.Window.TimeZone)
	if err != nil {
		return err
	}
	rep, err := a.buildReport(r, c, loc)
	if err != nil {
		return err
	}
	if format != "csv" {
		encode(w, http.StatusOK, rep)
		return nil
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", attachment(reportFileName(c.Name)))
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	// A byte order mark, so Excel reads the file as UTF-8.
	_, _ = w.Write([]byte("\ufeff"))
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"Row", "To", "Status", "Reason", "Sent at", "First open", "First click", "Opens", "Clicks", "Unsubscribed",
		"Replied", "Bounced", "Bounce"})
	// Times as ISO 8601 with their offset from UTC, so no reader takes
	// them for another zone's.
	stamp := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.In(loc).Format(time.RFC3339)
	}
	for _, row := range rep.Rows {
		reason := ""
		if row.Reason != nil {
			reason = row.Reason.Message
		}
		status := words.Rows[row.Status].Name
		if status == "" {
			status = string(row.Status)
		}
		_ = cw.Write([]string{strconv.Itoa(row.Row), safeCell(row.To), status, safeCell(reason), stamp(row.SentAt),
			stamp(row.FirstOpenAt), stamp(row.FirstClickAt), strconv.Itoa(row.Opens), strconv.Itoa(row.Clicks), stamp(row.UnsubscribedAt),
			stamp(row.RepliedAt), stamp(row.BouncedAt), bounceWords[row.Bounce]})
	}
	cw.Flush()
	return nil
}

// bounceWords name the kinds of bounce in the CSV.
var bounceWords = map[store.Bounce]string{store.BounceHard: "not delivered", store.BounceSoft: "delivery delayed"}

// reportZone is the zone named (an IANA name such as Europe/Paris), else
// the campaign's own (its sending hours'), else UTC.
func reportZone(name, campaignZone string) (*time.Location, error) {
	if name == "" {
		name = campaignZone
	}
	if name == "" || strings.EqualFold(name, "local") {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil || len(name) > 64 {
		return nil, apperr.E(apperr.Invalid, "zone_invalid", "zone is a time zone name such as Europe/Paris or America/New_York")
	}
	return loc, nil
}

// reportFileName is the CSV's name: the campaign's, as a file name may
// hold it on Windows, macOS and Linux (no / \ : * ? " < > | nor control
// characters, no leading or trailing dot or space, at most 100
// characters), then " - report.csv".
func reportFileName(campaignName string) string {
	var b strings.Builder
	for _, r := range campaignName {
		switch {
		case r < 0x20 || r == 0x7f || unicode.IsSpace(r) || strings.ContainsRune(`/\:*?"<>|`, r):
			b.WriteRune(' ')
		default:
			b.WriteRune(r)
		}
	}
	name := strings.Join(strings.Fields(b.String()), " ")
	if runes := []rune(name); len(runes) > 100 {
		name = string(runes[:100])
	}
	name = strings.Trim(name, ". ")
	if name == "" {
		name = "Campaign"
	}
	return name + " - report.csv"
}

// attachment is a Content-Disposition for a download named name: the
// name in ASCII for old readers (others' characters as _), and in full as
// RFC 5987's UTF-8 filename*, which browsers prefer (RFC 6266).
func attachment(name string) string {
	var ascii, enc strings.Builder
	for _, r := range name {
		if r < 0x80 && r >= 0x20 && r != '"' && r != '\\' && r != 0x7f {
			ascii.WriteRune(r)
		} else {
			ascii.WriteRune('_')
		}
	}
	for _, c := range []byte(name) {
		if c < 0x80 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0) {
			enc.WriteByte(c)
		} else {
			fmt.Fprintf(&enc, "%%%02X", c)
		}
	}
	return `attachment; filename="` + ascii.String() + `"; filename*=UTF-8''` + enc.String()
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
