package campaign

import (
	"slices"
	"strings"
)

// CodeUnsubscribed is the reason code of a row not sent because an address
// it goes to is on the account's unsubscribe list: found when the rows are
// checked (the upload, a copy, the start) or by the send step itself.
const CodeUnsubscribed = "unsubscribed"

// Unsubscribed is why a row to address is not sent.
func Unsubscribed(address string) Reason {
	// Words first: a reason is shown as a sentence, its first letter a
	// capital, which an address must not get.
	return Reason{Code: CodeUnsubscribed, Text: "the address " + strings.ToLower(address) + " is on your unsubscribe list"}
}

// ListedTo is the first To address of a row's cells that listed says is on
// the unsubscribe list; "" when there is none. Only To counts: a listed CC
// or BCC address is left out of the message, which is still sent.
func ListedTo(cells []string, cols Columns, listed func(address string) bool) string {
	if cols.To < 0 || cols.To >= len(cells) {
		return ""
	}
	addrs, err := ParseAddresses(cells[cols.To])
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		if listed(a.Address) {
			return a.Address
		}
	}
	return ""
}

// SkipUnsubscribed skips each row still to be sent whose To addresses
// include one on the unsubscribe list, with its own reason and a line in
// the report, so that it is not counted among the rows that will be sent.
// It returns how many it skipped.
func SkipUnsubscribed(rows []Row, cols *Columns, rep *Report, listed func(address string) bool) int {
	n := 0
	for i := range rows {
		r := &rows[i]
		if r.Status != RowPending {
			continue
		}
		a := ListedTo(r.Cells, *cols, listed)
		if a == "" {
			continue
		}
		r.Status, r.Reason = RowSkipped, Unsubscribed(a)
		rep.Skip(r.Row, cols.Names[cols.To], r.Reason)
		AddEmpty(cols.Empty, r.Cells, -1)
		n++
	}
	return n
}

// Skip records that row, valid so far, is skipped for why: one valid row
// less, and an error line naming the column.
func (r *Report) Skip(row int, column string, why Reason) {
	if r.Counts == nil {
		r.Counts = map[string]int{}
	}
	r.ValidRows--
	r.add(Issue{Row: row, Column: column, Code: why.Code, Severity: SeverityError, Message: why.Text})
}

// Unskip records that row, skipped for the reason code, is to be sent
// after all (corrected, or its address taken off the unsubscribe list):
// one valid row more, and its errors leave the report; its warnings stay.
func (r *Report) Unskip(row int, code string) {
	r.ValidRows++
	if r.Counts[code] > 0 {
		r.Counts[code]--
		if r.Counts[code] == 0 {
			delete(r.Counts, code)
		}
	}
	r.Issues = slices.DeleteFunc(r.Issues, func(i Issue) bool { return i.Row == row && i.Severity == SeverityError })
}

// AddEmpty adds d to the count, in empty, of each column whose cell in
// cells is empty: a row joining (1) or leaving (-1) the valid rows.
func AddEmpty(empty []int, cells []string, d int) {
	for i := range empty {
		if i >= len(cells) || strings.TrimSpace(cells[i]) == "" {
			empty[i] += d
		}
	}
}
