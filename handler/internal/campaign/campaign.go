// Package campaign holds the rules of a campaign that do not depend on where
// it is stored: its states, how spreadsheet columns are named and matched,
// and how uploaded rows are validated into recipients and a report.
package campaign

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Editable reports whether a campaign in this state may still get new data
// or tracking options: only before the template email started it.
func Editable(s Status) bool { return s == Draft || s == Ready }

// NormalizeColumn trims a column name and collapses inner runs of white
// space (non-breaking spaces included) into one space.
func NormalizeColumn(s string) string {
	return strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || r == '\u00a0' }), " ")
}

// ColumnKey is the form in which column names are compared: normalised and
// case-folded, so "  First   name" matches {{first name}}.
func ColumnKey(s string) string { return strings.ToLower(NormalizeColumn(s)) }

// Clip cuts a text we keep (a name, a subject, a reason) to at most n
// bytes, on a rune boundary.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
