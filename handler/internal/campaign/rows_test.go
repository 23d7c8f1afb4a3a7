package campaign

import (
	"slices"
	"strings"
	"testing"

	"mailmerge/handler/internal/sheet"
)

// TestSkipUnsubscribed: a row whose To addresses include one on the list
// is skipped with its own reason and a line in the report, and leaves the
// valid rows and the empty-cell counts; a CC on the list, a row already
// skipped, or a row without a listed address are left as they are.
func TestSkipUnsubscribed(t *testing.T) {
	header := []string{"Email", "CC", "First name"}
	read := []sheet.Row{
		{Row: 2, Cells: []string{"ann@example.com", "", "Ann"}},
		{Row: 3, Cells: []string{"bob@example.com; Gone@Example.com", "", ""}},
		{Row: 4, Cells: []string{"cy@example.com", "gone@example.com", "Cy"}},
		{Row: 5, Cells: []string{"not an address", "", "Dee"}},
		{Row: 6, Cells: []string{"gone@example.com", "", "Eve"}},
	}
	cols, rows, rep, err := Validate(header, read)
	if err != nil {
		t.Fatal(err)
	}
	if rep.ValidRows != 4 || cols.Empty[2] != 1 {
		t.Fatalf("validated: %d valid, %v empty", rep.ValidRows, cols.Empty)
	}
	listed := func(a string) bool { return strings.EqualFold(a, "gone@example.com") }
	if n := SkipUnsubscribed(rows, &cols, &rep, listed); n != 2 {
		t.Errorf("skipped %d rows, want 2", n)
	}
	want := map[int]RowStatus{2: RowPending, 3: RowSkipped, 4: RowPending, 5: RowSkipped, 6: RowSkipped}
	for _, r := range rows {
		if r.Status != want[r.Row] {
			t.Errorf("row %d: %s, want %s", r.Row, r.Status, want[r.Row])
		}
	}
	if r := rows[1]; r.Reason.Code != CodeUnsubscribed || r.Reason.Text != "the address gone@example.com is on your unsubscribe list" {
		t.Errorf("row 3's reason: %+v", r.Reason)
	}
	if rows[3].Reason.Code != "invalid_address" {
		t.Errorf("row 5 keeps its own reason: %+v", rows[3].Reason)
	}
	if rep.ValidRows != 2 || rep.Counts[CodeUnsubscribed] != 2 {
		t.Errorf("report: %d valid, counts %v", rep.ValidRows, rep.Counts)
	}
	// Rows 3 and 6 no longer count their empty cells: only valid rows do.
	if !slices.Equal(cols.Empty, []int{0, 1, 0}) {
		t.Errorf("empty cells per column: %v", cols.Empty)
	}
	i := slices.IndexFunc(rep.Issues, func(i Issue) bool { return i.Row == 6 })
	if i < 0 || rep.Issues[i].Severity != SeverityError || rep.Issues[i].Column != "Email" {
		t.Errorf("row 6 in the report: %+v", rep.Issues)
	}
	// Taken off the list, then corrected: row 6 counts again, its line
	// goes; row 5's (another row) stays.
	rep.Unskip(6, CodeUnsubscribed)
	if rep.ValidRows != 3 || rep.Counts[CodeUnsubscribed] != 1 || slices.ContainsFunc(rep.Issues, func(i Issue) bool { return i.Row == 6 }) {
		t.Errorf("after row 6 came back: %d valid, %v, %+v", rep.ValidRows, rep.Counts, rep.Issues)
	}
	rep.Unskip(5, "invalid_address")
	if _, ok := rep.Counts["invalid_address"]; ok || slices.ContainsFunc(rep.Issues, func(i Issue) bool { return i.Row == 5 }) {
		t.Errorf("after row 5 was corrected: %v, %+v", rep.Counts, rep.Issues)
	}
	// A report read back without counts takes a skip.
	var bare Report
	bare.Skip(9, "Email", Unsubscribed("x@example.com"))
	if bare.Counts[CodeUnsubscribed] != 1 || bare.ValidRows != -1 {
		t.Errorf("bare report: %+v", bare)
	}
}

// TestListedTo: only To addresses count, read as the upload reads them.
func TestListedTo(t *testing.T) {
	cols := Locate([]string{"To", "CC"})
	listed := func(a string) bool { return a == "b@example.com" }
	for _, c := range []struct {
		cells []string
		want  string
	}{
		{[]string{"a@example.com", "b@example.com"}, ""},
		{[]string{`"B, Person" <b@example.com>; a@example.com`, ""}, "b@example.com"},
		{[]string{"not an address", ""}, ""},
		{[]string{}, ""},
	} {
		if got := ListedTo(c.cells, cols, listed); got != c.want {
			t.Errorf("%q: %q, want %q", c.cells, got, c.want)
		}
	}
}
