// Package campaign holds the rules of a campaign that do not depend on where
// it is stored: its states, how spreadsheet columns are named and matched,
// and how uploaded rows are validated into recipients and a report.
package campaign

import (
	"strings"
	"unicode"
)

// Campaign states (DESIGN §4).
const (
	Draft     = "draft"
	Ready     = "ready"
	Queued    = "queued"
	Sending   = "sending"
	Paused    = "paused"
	Completed = "completed"
	Failed    = "failed"
	Cancelled = "cancelled"
)

// Recipient data states.
const (
	DataNone       = "none"
	DataProcessing = "processing"
	DataReady      = "ready"
	DataInvalid    = "invalid"
	DataFailed     = "failed"
)

// Row states (DESIGN §4): pending → sending → sent | failed | skipped | unknown.
const (
	RowPending = "pending"
	RowSending = "sending"
	RowSent    = "sent"
	RowFailed  = "failed"
	RowSkipped = "skipped"
	// RowUnknown: it may have been sent; it is never sent again automatically.
	RowUnknown = "unknown"
)

// Editable reports whether a campaign in this state may still get new data
// or tracking options: only before the template email started it.
func Editable(status string) bool { return status == Draft || status == Ready }

// NormalizeColumn trims a column name and collapses inner runs of white
// space (non-breaking spaces included) into one space.
func NormalizeColumn(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r == '\u00a0' }), " ")
}

// ColumnKey is the form in which column names are compared: normalised and
// case-folded, so "  First   name" matches {{first name}}.
func ColumnKey(s string) string { return strings.ToLower(NormalizeColumn(s)) }
