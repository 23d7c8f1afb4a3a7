package campaign

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/sheet"
)

// MaxReportedIssues bounds the issues kept in a report; the counts stay whole.
const MaxReportedIssues = 200

// Issue severities: an error skips the row, a warning only informs.
const (
	SeverityError   = "error"
	SeverityWarning = "warning"
)

// Issue is one finding about one row, by the row number Excel shows.
type Issue struct {
	Row      int    `json:"row"`
	Column   string `json:"column,omitempty"`
	Code     string `json:"code"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
}

// Report is what the user sees before sending.
type Report struct {
	Rows      int            `json:"rows"`
	ValidRows int            `json:"validRows"`
	Counts    map[string]int `json:"counts"`
	Issues    []Issue        `json:"issues"`
	Truncated bool           `json:"truncated"`
}

// Warn adds a warning about row (0: the file as a whole) that skips
// nothing, such as what the spreadsheet reader read its own way.
func (r *Report) Warn(row int, code, message string) {
	r.add(Issue{Row: row, Code: code, Severity: SeverityWarning, Message: message})
}

func (r *Report) add(i Issue) {
	r.Counts[i.Code]++
	if len(r.Issues) < MaxReportedIssues {
		r.Issues = append(r.Issues, i)
	} else {
		r.Truncated = true
	}
}

// maxColumnName bounds a column name (names end up in templates and in the
// campaign row).
const maxColumnName = 255

// maxReportBytes keeps a stored report within one table property (64 KB).
const maxReportBytes = 60_000

// JSON encodes the report, dropping trailing issues (the counts stay whole)
// until it fits where it is stored.
func (r Report) JSON() []byte {
	for {
		b, _ := json.Marshal(r)
		if len(b) <= maxReportBytes || len(r.Issues) == 0 {
			return b
		}
		r.Issues, r.Truncated = r.Issues[:len(r.Issues)/2], true
	}
}

// Columns are the campaign's column names and where the special ones are
// (-1 when absent).
type Columns struct {
	Names []string
	// Empty counts, per column, the valid rows whose cell is empty: a
	// preview warns about placeholders without a fallback from it.
	Empty       []int
	To          int
	CC          int
	BCC         int
	Attachments int
}

// Row is a validated data row.
type Row struct {
	Row    int
	Cells  []string
	Status RowStatus
	Reason Reason
}

// Validate checks the header, then every row: recipients present and valid,
// no duplicate recipients, nothing beyond the named columns. A header
// problem is an error for the whole upload; row problems go in the report.
func Validate(header []string, rows []sheet.Row) (Columns, []Row, Report, error) {
	cols, err := readHeader(header, rows)
	if err != nil {
		return cols, nil, Report{}, err
	}
	if len(rows) == 0 {
		return cols, nil, Report{}, apperr.E(apperr.Invalid, "no_rows", "the file has a header row but no recipients below it")
	}
	rep := Report{Counts: map[string]int{}, Issues: []Issue{}}
	cols.Empty = make([]int, len(cols.Names))
	out := make([]Row, 0, len(rows))
	firstRowOf := map[string]int{}
	width := len(cols.Names)
	for _, r := range rows {
		row := Row{Row: r.Row, Cells: fit(r.Cells, width), Status: RowPending}
		skip := func(code, column, format string, args ...any) {
			msg := fmt.Sprintf(format, args...)
			row.Status, row.Reason = RowSkipped, Reason{Code: code, Text: msg}
			rep.add(Issue{Row: r.Row, Column: column, Code: code, Severity: SeverityError, Message: msg})
		}
		switch {
		case isEmpty(r.Cells):
			skip("empty_row", "", "row %d is empty", r.Row)
		default:
			if extra := extraCells(r.Cells, width); extra != "" {
				rep.add(Issue{Row: r.Row, Column: extra, Code: "extra_cells", Severity: SeverityWarning,
					Message: fmt.Sprintf("row %d has values in column %s, which has no name in row 1; they are ignored", r.Row, extra)})
			}
			key, n, problem := recipientsOf(row.Cells, cols)
			switch {
			case problem != nil:
				skip(problem.Code, problem.Column, "%s", problem.Message)
			case n == 0:
				skip("no_recipient", cols.Names[cols.To], "row %d has no address in %s", r.Row, cols.Names[cols.To])
			case n > MaxRecipientsPerRow:
				skip("too_many_recipients", "", "row %d has %d recipients; at most %d per message", r.Row, n, MaxRecipientsPerRow)
			default:
				if first, dup := firstRowOf[key]; dup {
					skip("duplicate_recipient", cols.Names[cols.To], "row %d has the same recipients as row %d", r.Row, first)
				} else {
					firstRowOf[key] = r.Row
				}
			}
		}
		if row.Status == RowPending {
			rep.ValidRows++
			for i, c := range row.Cells {
				if strings.TrimSpace(c) == "" {
					cols.Empty[i]++
				}
			}
		}
		out = append(out, row)
	}
	rep.Rows = len(out)
	return cols, out, rep, nil
}

type problem struct{ Code, Column, Message string }

// recipientsOf parses To, CC and BCC and returns a key identifying the To set
// (for duplicates), the total number of recipients, or the first problem.
func recipientsOf(cells []string, cols Columns) (string, int, *problem) {
	total := 0
	var to []string
	for _, idx := range []int{cols.To, cols.CC, cols.BCC} {
		if idx < 0 {
			continue
		}
		addrs, err := ParseAddresses(cells[idx])
		if err != nil {
			return "", 0, &problem{"invalid_address", cols.Names[idx], fmt.Sprintf("%s: %v", cols.Names[idx], err)}
		}
		total += len(addrs)
		if idx == cols.To {
			for _, a := range addrs {
				to = append(to, strings.ToLower(a.Address))
			}
		}
	}
	if len(to) == 0 {
		return "", 0, nil
	}
	sort.Strings(to)
	return strings.Join(to, ";"), total, nil
}

func readHeader(header []string, rows []sheet.Row) (Columns, error) {
	cols := Columns{To: -1, CC: -1, BCC: -1, Attachments: -1}
	seen := map[string]int{}
	var dups []string
	for i, h := range header {
		name := NormalizeColumn(h)
		if utf8.RuneCountInString(name) > maxColumnName {
			return cols, apperr.E(apperr.Invalid, "column_name_too_long",
				"the name of column %s is longer than %d characters; is row 1 really the header?", ColumnLetter(i), maxColumnName)
		}
		cols.Names = append(cols.Names, name)
		if name == "" {
			if hasData(rows, i) {
				return cols, apperr.E(apperr.Invalid, "column_without_name",
					"column %s has values but no name in row 1; name it or delete the column", ColumnLetter(i))
			}
			continue
		}
		key := ColumnKey(name)
		if j, ok := seen[key]; ok {
			dups = append(dups, fmt.Sprintf("%q in columns %s and %s", name, ColumnLetter(j), ColumnLetter(i)))
			continue
		}
		seen[key] = i
	}
	if len(dups) > 0 {
		return cols, apperr.E(apperr.Invalid, "duplicate_columns", "column names must differ (ignoring case and spaces): %s; rename one of each", strings.Join(dups, ", "))
	}
	_, hasEmail := seen["email"]
	_, hasTo := seen["to"]
	switch {
	case hasEmail && hasTo:
		return cols, apperr.E(apperr.Invalid, "recipient_column_ambiguous", "there is both an Email and a To column; keep one of them for the recipients")
	case !hasEmail && !hasTo:
		return cols, apperr.E(apperr.Invalid, "recipient_column_missing",
			"no column is named Email or To; the columns are: %s", strings.Join(nonEmpty(cols.Names), ", "))
	}
	return Locate(cols.Names), nil
}

// Locate finds the special columns among validated column names: the
// recipients (Email or To), CC, BCC and Attachments; -1 when absent.
func Locate(names []string) Columns {
	cols := Columns{Names: names, To: -1, CC: -1, BCC: -1, Attachments: -1}
	for i, n := range names {
		switch ColumnKey(n) {
		case "email", "to":
			cols.To = i
		case "cc":
			cols.CC = i
		case "bcc":
			cols.BCC = i
		case "attachments":
			cols.Attachments = i
		}
	}
	return cols
}

// ColumnLetter is Excel's name of the zero-based column i: A, ..., Z, AA, ...
func ColumnLetter(i int) string {
	s := ""
	for i++; i > 0; i = (i - 1) / 26 {
		s = string(rune('A'+(i-1)%26)) + s
	}
	return s
}

func hasData(rows []sheet.Row, col int) bool {
	for _, r := range rows {
		if col < len(r.Cells) && strings.TrimSpace(r.Cells[col]) != "" {
			return true
		}
	}
	return false
}

func isEmpty(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}

// extraCells names the first column past the header that holds a value.
func extraCells(cells []string, width int) string {
	for i := width; i < len(cells); i++ {
		if strings.TrimSpace(cells[i]) != "" {
			return ColumnLetter(i)
		}
	}
	return ""
}

// fit returns cells with exactly width entries.
func fit(cells []string, width int) []string {
	out := make([]string, width)
	copy(out, cells)
	return out
}

func nonEmpty(names []string) []string {
	var out []string
	for _, n := range names {
		if n != "" {
			out = append(out, n)
		}
	}
	return out
}

// CheckRow validates a corrected row as an upload would: its recipients
// parse, there is at least one To address and no more recipients than a
// message may have. It returns the row's To set (lower case, sorted) to
// find a duplicate by; the error is Invalid and names the column.
func CheckRow(cells []string, cols Columns) (string, error) {
	cells = fit(cells, len(cols.Names))
	key, n, p := recipientsOf(cells, cols)
	switch {
	case p != nil:
		return "", apperr.E(apperr.Invalid, p.Code, "%s", p.Message)
	case n == 0:
		return "", apperr.E(apperr.Invalid, "no_recipient", "the row has no address in %s", cols.Names[cols.To])
	case n > MaxRecipientsPerRow:
		return "", apperr.E(apperr.Invalid, "too_many_recipients", "the row has %d recipients; at most %d per message", n, MaxRecipientsPerRow)
	}
	return key, nil
}

// RecipientKey is the To set of a stored row (lower case, sorted), as
// CheckRow gives it; "" when it has none or they do not parse.
func RecipientKey(cells []string, cols Columns) string {
	key, _, p := recipientsOf(fit(cells, len(cols.Names)), cols)
	if p != nil {
		return ""
	}
	return key
}
