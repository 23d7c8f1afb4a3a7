package campaign

import (
	"fmt"
	"slices"
	"strings"
)

// Status is a campaign's state (docs/states.md).
type Status string

// Campaign states.
const (
	Draft  Status = "draft"
	Ready  Status = "ready"
	Queued Status = "queued"
	// Review: the template email is accepted and held; nothing is sent
	// until the owner starts the campaign (start mode "review").
	Review Status = "review"
	// Scheduled: it starts by itself at its start time.
	Scheduled Status = "scheduled"
	Sending   Status = "sending"
	Paused    Status = "paused"
	Completed Status = "completed"
	Failed    Status = "failed"
	Cancelled Status = "cancelled"
)

// DataStatus is the state of a campaign's uploaded data.
type DataStatus string

// Uploaded data states.
const (
	DataNone       DataStatus = "none"
	DataProcessing DataStatus = "processing"
	DataReady      DataStatus = "ready"
	DataInvalid    DataStatus = "invalid"
	DataFailed     DataStatus = "failed"
)

// RowStatus is the state of one spreadsheet row.
type RowStatus string

// Row states: pending → sending → sent | failed | skipped | unknown.
const (
	RowPending RowStatus = "pending"
	RowSending RowStatus = "sending"
	RowSent    RowStatus = "sent"
	RowFailed  RowStatus = "failed"
	RowSkipped RowStatus = "skipped"
	// RowUnknown: it may have been sent; it is never sent again automatically.
	RowUnknown RowStatus = "unknown"
)

// Statuses, DataStatuses and RowStatuses list every state, in the order
// docs/states.md gives them.
var (
	Statuses     = []Status{Draft, Ready, Queued, Review, Scheduled, Sending, Paused, Completed, Failed, Cancelled}
	DataStatuses = []DataStatus{DataNone, DataProcessing, DataReady, DataInvalid, DataFailed}
	RowStatuses  = []RowStatus{RowPending, RowSending, RowSent, RowFailed, RowSkipped, RowUnknown}
)

// The transition tables: every change of state the service makes, and no
// other. A state missing on the left is final.
var (
	campaignMoves = map[Status][]Status{
		// A new upload keeps (or puts) the campaign in draft until its
		// rows are in; valid rows make it ready.
		Draft: {Draft, Ready},
		Ready: {Draft, Queued},
		// The template email queued it; the start worker starts it, or
		// holds it for the owner's review, or schedules it for its start
		// time, or gives it back (ready, the email refused) when the
		// template does not fit the rows, or pauses it when we may not send
		// from the mailbox yet; it fails only when it cannot start at all.
		Queued: {Sending, Review, Scheduled, Ready, Paused, Failed, Cancelled},
		// The owner starts it now or at a time (queued again, checked
		// again), or sends a newer template email (queued, then held
		// again), or cancels it.
		Review: {Queued, Cancelled},
		// Its time came (it starts), or the owner starts it now,
		// reschedules it or sends a newer email (queued again); it can be
		// paused or cancelled while it waits.
		Scheduled: {Sending, Queued, Paused, Cancelled},
		Sending:   {Paused, Completed, Failed, Cancelled},
		// Resume goes back to where it paused: queued when it never
		// started, sending otherwise.
		Paused: {Queued, Sending, Cancelled},
	}
	dataMoves = map[DataStatus][]DataStatus{
		DataNone: {DataProcessing},
		// A new upload may replace one still processing.
		DataProcessing: {DataProcessing, DataReady, DataInvalid, DataFailed},
		DataReady:      {DataProcessing},
		// A row corrected (lifecycle.Correct) made the data usable.
		DataInvalid: {DataProcessing, DataReady},
		DataFailed:  {DataProcessing},
	}
	rowMoves = map[RowStatus][]RowStatus{
		// Skipped before sending: an invalid or duplicate row, or one to
		// an address on the unsubscribe list (at the upload, or at the
		// start when the list changed), or the rest of a cancelled or
		// failed campaign.
		RowPending: {RowSending, RowSkipped},
		// Only before the campaign starts (lifecycle): a skipped row the
		// owner corrected, or one whose address left the unsubscribe
		// list, is to be sent after all.
		RowSkipped: {RowPending},
		// Only the step holding the claim puts a row back to pending,
		// when Graph said nothing was sent.
		RowSending: {RowPending, RowSent, RowFailed, RowUnknown},
	}
)

// TransitionError is a change of state the tables do not allow.
type TransitionError struct {
	What     string // "campaign", "data" or "row"
	From, To string
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("a %s cannot go from %s to %s", e.What, e.From, e.To)
}

// To checks that a campaign may go from s to next.
func (s Status) To(next Status) error { return check("campaign", campaignMoves, s, next) }

// To checks that uploaded data may go from s to next.
func (s DataStatus) To(next DataStatus) error { return check("data", dataMoves, s, next) }

// To checks that a row may go from s to next.
func (s RowStatus) To(next RowStatus) error { return check("row", rowMoves, s, next) }

// Final reports whether nothing moves a campaign on from s.
func (s Status) Final() bool { return len(campaignMoves[s]) == 0 }

// Final reports whether nothing moves a row on from s.
func (s RowStatus) Final() bool { return len(rowMoves[s]) == 0 }

func check[S ~string](what string, moves map[S][]S, from, to S) error {
	if slices.Contains(moves[from], to) {
		return nil
	}
	return &TransitionError{What: what, From: string(from), To: string(to)}
}

// StartMode says what an accepted template email does.
type StartMode string

// The start modes.
const (
	// OnEmail: the campaign starts when its template email is accepted
	// (at its start time, if it has one).
	OnEmail StartMode = "onEmail"
	// HoldForReview: the accepted email is held (state review) until the
	// owner starts the campaign.
	HoldForReview StartMode = "review"
)

// StartModes lists the start modes.
var StartModes = []StartMode{OnEmail, HoldForReview}

// Reason says why something stopped, failed or was refused: a code for
// programs and a sentence for people.
type Reason struct {
	Code string
	Text string
}

// IsZero reports whether there is no reason.
func (r Reason) IsZero() bool { return r.Code == "" && r.Text == "" }

// Counts are a campaign's rows by state.
type Counts struct {
	Pending, Sending, Sent, Failed, Skipped, Unknown int
}

// CountsOf turns a count per state into Counts.
func CountsOf(m map[RowStatus]int) Counts {
	return Counts{Pending: m[RowPending], Sending: m[RowSending], Sent: m[RowSent], Failed: m[RowFailed],
		Skipped: m[RowSkipped], Unknown: m[RowUnknown]}
}

// Total is the number of rows counted.
func (c Counts) Total() int {
	return c.Pending + c.Sending + c.Sent + c.Failed + c.Skipped + c.Unknown
}

// Move counts n rows that went from one state to another.
func (c *Counts) Move(from, to RowStatus, n int) {
	*c.of(from) -= n
	*c.of(to) += n
}

func (c *Counts) of(s RowStatus) *int {
	switch s {
	case RowPending:
		return &c.Pending
	case RowSending:
		return &c.Sending
	case RowSent:
		return &c.Sent
	case RowFailed:
		return &c.Failed
	case RowSkipped:
		return &c.Skipped
	}
	return &c.Unknown
}

// TransitionsMarkdown renders the transition tables as docs/states.md
// shows them.
func TransitionsMarkdown() string {
	var b strings.Builder
	b.WriteString("| of | from | may become |\n|---|---|---|\n")
	row := func(what, from string, to []string) {
		if len(to) == 0 {
			to = []string{"nothing (final)"}
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s |\n", what, from, strings.Join(to, ", "))
	}
	quote := func(s string) string { return "`" + s + "`" }
	for _, s := range Statuses {
		var to []string
		for _, t := range campaignMoves[s] {
			to = append(to, quote(string(t)))
		}
		row("campaign", string(s), to)
	}
	for _, s := range DataStatuses {
		var to []string
		for _, t := range dataMoves[s] {
			to = append(to, quote(string(t)))
		}
		row("data", string(s), to)
	}
	for _, s := range RowStatuses {
		var to []string
		for _, t := range rowMoves[s] {
			to = append(to, quote(string(t)))
		}
		row("row", string(s), to)
	}
	return b.String()
}
