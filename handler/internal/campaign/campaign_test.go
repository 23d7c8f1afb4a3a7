package campaign

import (
	"strings"
	"testing"

	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/sheet"
)

func TestNormalizeColumn(t *testing.T) {
	tests := map[string]string{
		"  First   name ":   "First name",
		"First\u00a0name":   "First name",
		"E-mail\t":          "E-mail",
		"":                  "",
		"   ":               "",
		"Ünïcode  Spalte  ": "Ünïcode Spalte",
	}
	for in, want := range tests {
		if got := NormalizeColumn(in); got != want {
			t.Errorf("NormalizeColumn(%q) = %q, want %q", in, got, want)
		}
	}
	if ColumnKey(" FIRST  Name") != ColumnKey("first name") {
		t.Error("column keys must ignore case and spacing")
	}
}

func TestParseAddresses(t *testing.T) {
	tests := []struct {
		cell  string
		n     int
		valid bool
	}{
		{"ann@example.com", 1, true},
		{"ann@example.com; bob@example.org", 2, true},
		{"ann@example.com, bob@example.org;", 2, true},
		{`"Doe, Ann" <ann@example.com>; Bob <bob@example.org>`, 2, true},
		{"", 0, true},
		{" ; ", 0, true},
		{"ann@example", 0, false},
		{"ann.example.com", 0, false},
		{"ann@[127.0.0.1]", 0, false},
		{"ann@@example.com", 0, false},
		{"ann@example..com", 0, false},
		{"jörg@exämple.de", 1, true},
	}
	for _, tt := range tests {
		got, err := ParseAddresses(tt.cell)
		if (err == nil) != tt.valid || (tt.valid && len(got) != tt.n) {
			t.Errorf("ParseAddresses(%q) = %d addresses, %v; want %d, valid %v", tt.cell, len(got), err, tt.n, tt.valid)
		}
	}
}

func rows(cells ...[]string) []sheet.Row {
	out := make([]sheet.Row, len(cells))
	for i, c := range cells {
		out[i] = sheet.Row{Row: i + 2, Cells: c}
	}
	return out
}

func TestHeaderErrors(t *testing.T) {
	one := rows([]string{"a@example.com"})
	tests := []struct {
		name   string
		header []string
		rows   []sheet.Row
		code   string
		says   string
	}{
		{"no recipient column", []string{"Name", "Company"}, one, "recipient_column_missing", "Name, Company"},
		{"both Email and To", []string{"Email", "To"}, one, "recipient_column_ambiguous", "Email and a To"},
		{"duplicate", []string{"Email", "First name", " first  NAME "}, one, "duplicate_columns", "columns B and C"},
		{"header only", []string{"Email", "Name"}, nil, "no_rows", "no recipients"},
		{"unnamed column with data", []string{"Email", "", "Name"}, rows([]string{"a@example.com", "x", "A"}), "column_without_name", "column B"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, err := Validate(tt.header, tt.rows)
			var e *apperr.Error
			if err == nil || !asErr(err, &e) || e.Code != tt.code || !strings.Contains(e.Message, tt.says) {
				t.Errorf("got %v, want %s saying %q", err, tt.code, tt.says)
			}
		})
	}
}

func asErr(err error, e **apperr.Error) bool {
	v, ok := err.(*apperr.Error)
	*e = v
	return ok
}

func TestRowValidation(t *testing.T) {
	header := []string{" Email ", "First  name", "CC", ""}
	rs := rows(
		[]string{"ann@example.com", "Ann"},                      // 2 valid
		[]string{"", ""},                                        // 3 empty
		[]string{"not-an-address", "Bob"},                       // 4 invalid
		[]string{"", "Carol"},                                   // 5 no recipient
		[]string{"ANN@example.com", "Ann again"},                // 6 duplicate of 2
		[]string{"dan@example.com", "Dan", "boss@example"},      // 7 invalid CC
		[]string{"eve@example.com", "Eve", "", "", "stray"},     // 8 valid with a warning
		[]string{"fay@example.com; gus@example.com", "Fay+Gus"}, // 9 valid, two recipients
	)
	cols, out, rep, err := Validate(header, rs)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(cols.Names, "|"); got != "Email|First name|CC|" || cols.To != 0 || cols.CC != 2 || cols.BCC != -1 {
		t.Errorf("columns %q, %+v", got, cols)
	}
	want := map[int]string{2: "", 3: "empty_row", 4: "invalid_address", 5: "no_recipient", 6: "duplicate_recipient", 7: "invalid_address", 8: "", 9: ""}
	for _, r := range out {
		if r.Reason.Code != want[r.Row] {
			t.Errorf("row %d: problem %q, want %q", r.Row, r.Reason.Code, want[r.Row])
		}
		if (r.Reason.Code == "") != (r.Status == RowPending) {
			t.Errorf("row %d: status %s with problem %q", r.Row, r.Status, r.Reason.Code)
		}
		if len(r.Cells) != 4 {
			t.Errorf("row %d: %d cells, want exactly the 4 columns", r.Row, len(r.Cells))
		}
	}
	if rep.Rows != 8 || rep.ValidRows != 3 {
		t.Errorf("report rows %d valid %d, want 8 and 3", rep.Rows, rep.ValidRows)
	}
	// Valid rows 2, 8 and 9: CC is empty in all three, First name in none.
	if cols.Empty[1] != 0 || cols.Empty[2] != 3 {
		t.Errorf("empty counts %v", cols.Empty)
	}
	if rep.Counts["extra_cells"] != 1 || rep.Counts["invalid_address"] != 2 {
		t.Errorf("counts %v", rep.Counts)
	}
	for _, i := range rep.Issues {
		if i.Row == 6 && !strings.Contains(i.Message, "row 2") {
			t.Errorf("duplicate must name the first row: %q", i.Message)
		}
		if i.Row == 8 && (i.Severity != SeverityWarning || i.Column != "E") {
			t.Errorf("extra cells issue: %+v", i)
		}
	}
}

func TestReportIsBoundedButCountsAreWhole(t *testing.T) {
	var rs [][]string
	for range MaxReportedIssues + 50 {
		rs = append(rs, []string{"bad"})
	}
	_, _, rep, err := Validate([]string{"To"}, rows(rs...))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Issues) != MaxReportedIssues || !rep.Truncated || rep.Counts["invalid_address"] != MaxReportedIssues+50 || rep.ValidRows != 0 {
		t.Errorf("issues %d truncated %v counts %v valid %d", len(rep.Issues), rep.Truncated, rep.Counts, rep.ValidRows)
	}
}

func TestColumnLetter(t *testing.T) {
	for i, want := range map[int]string{0: "A", 25: "Z", 26: "AA", 27: "AB", 701: "ZZ", 702: "AAA"} {
		if got := ColumnLetter(i); got != want {
			t.Errorf("ColumnLetter(%d) = %s, want %s", i, got, want)
		}
	}
}

func TestReportFitsItsStorage(t *testing.T) {
	var rs [][]string
	for range MaxReportedIssues {
		rs = append(rs, []string{strings.Repeat("x", 30_000)})
	}
	_, _, rep, err := Validate([]string{"Email"}, rows(rs...))
	if err != nil {
		t.Fatal(err)
	}
	b := rep.JSON()
	if len(b) > maxReportBytes {
		t.Errorf("report is %d bytes", len(b))
	}
	if !strings.Contains(string(b), `"invalid_address":200`) {
		t.Errorf("counts must stay whole: %.200s", b)
	}
}
