package sheet

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tealeg/xlsx/v3"

	"mailmerge/handler/internal/apperr"
)

// A workbook written by a library (tealeg/xlsx): shared strings, styles
// with number formats, a formula with its cached value.
func TestXLSXWrittenByLibrary(t *testing.T) {
	f := xlsx.NewFile()
	sh, err := f.AddSheet("Recipients")
	if err != nil {
		t.Fatal(err)
	}
	header := sh.AddRow()
	for _, h := range []string{"Email", "Name ", "Name ", "Joined", "Zip", "Share", "Balance", "Time", "Total", ""} {
		header.AddCell().SetString(h)
	}
	r := sh.AddRow()
	r.AddCell().SetString("ann@example.com")
	r.AddCell().SetString("Ann")
	r.AddCell().SetString("Ann")
	r.AddCell().SetDate(time.Date(2021, 10, 5, 0, 0, 0, 0, time.UTC))
	r.AddCell().SetFloatWithFormat(1234, "00000")
	r.AddCell().SetFloatWithFormat(0.256, "0.00%")
	r.AddCell().SetFloatWithFormat(25821.28, "$#,##0.00")
	r.AddCell().SetDateTimeWithFormat(0.75, "h:mm AM/PM")
	total := r.AddCell()
	total.SetFloat(2469)
	total.SetFormula("E2*2")
	r.AddCell().SetString("") // an empty trailing cell
	sh.AddRow()               // empty trailing rows
	sh.AddRow().AddCell().SetString("")
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	tab := mustParse(t, buf.Bytes(), "people.xlsx")
	if tab.Format != "xlsx" {
		t.Errorf("Format = %q", tab.Format)
	}
	wantHeader := []string{"Email", "Name ", "Name ", "Joined", "Zip", "Share", "Balance", "Time", "Total"}
	if !equalStrings(tab.Header, wantHeader) {
		t.Errorf("Header = %q, want %q", tab.Header, wantHeader)
	}
	// tealeg writes the date with built-in id 14, which Excel en-US shows as m/d/yyyy.
	want := []string{"2:ann@example.com|Ann|Ann|10/5/2021|01234|25.60%|$25,821.28|6:00 PM|2469"}
	if got := rowsOf(tab); !equalStrings(got, want) {
		t.Errorf("Rows = %q, want %q", got, want)
	}
}

// The hand-written cases: every cell type, styles, decoding, gaps.
func TestXLSXCellTypes(t *testing.T) {
	b := book{
		numFmts: map[int]string{164: "00000", 165: `"$"#,##0.00`, 166: "yyyy-mm-dd", 167: "[h]:mm:ss"},
		xfs:     []int{0, 14, 164, 10, 165, 166, 18, 167, 49, 4},
		shared: []string{
			`<t>Email</t>`,
			`<t xml:space="preserve">Name </t>`,
			`<t>unused</t>`,
			`<r><rPr><b/></rPr><t>Jo</t></r><r><t xml:space="preserve">hn </t></r><rPh sb="0" eb="1"><t>ジョン</t></rPh>`,
			`<t>a&amp;b &lt;c&gt; line1_x000D_&#10;line2 _x005F_x0041_ 😀</t>`,
		},
		sheetData: row(1,
			`<c r="A1" t="s"><v>0</v></c>`, `<c r="B1" t="s"><v>1</v></c>`, inl("C1", "Name "), inl("D1", "Joined"),
			inl("E1", "Code"), inl("F1", "Rate"), inl("G1", "Amount"), inl("H1", "ISO"), inl("I1", "Time"),
			inl("J1", "Formula"), inl("K1", "")) +
			row(2, `<c r="A2" t="s"><v>3</v></c>`, num("B2", 0, "1234.5"), num("C2", 1, "44474"), num("D2", 2, "1234"),
				num("E2", 3, "0.256"), num("F2", 4, "25821.28"), num("G2", 5, "44474.6"), num("H2", 6, "0.75"),
				num("I2", 7, "1.5"), `<c r="J2"><f>B2*2</f><v>2469</v></c>`) +
			row(4, `<c r="A4" t="str"><f>A2&amp;"x"</f><v>John x</v></c>`, `<c r="B4" t="b"><v>1</v></c>`,
				`<c r="C4" t="e"><f>NA()</f><v>#N/A</v></c>`, `<c r="D4" t="s"><v>4</v></c>`,
				`<c r="E4" s="1" t="d"><v>2021-10-05T00:00:00Z</v></c>`, `<c r="F4" s="8" t="s"><v>0</v></c>`,
				num("G4", 9, "-1234.5"), num("H4", 0, "0.30000000000000004"), num("I4", 0, "1234567890123"),
				`<c r="J4" t="b"><v>0</v></c>`) +
			`<row r="5" spans="1:3"><c r="A5" s="1"/><c r="B5" t="s"/></row>` +
			row(6, inl("K6", "extra")) +
			`<row r="7"/>` + row(8, `<c r="A8" s="1"/>`, inl("B8", "")),
	}
	tab := mustParse(t, b.bytes(t), "x.xlsx")
	wantHeader := []string{"Email", "Name ", "Name ", "Joined", "Code", "Rate", "Amount", "ISO", "Time", "Formula"}
	if !equalStrings(tab.Header, wantHeader) {
		t.Errorf("Header = %q, want %q", tab.Header, wantHeader)
	}
	want := []string{
		"2:John |1234.5|10/5/2021|01234|25.60%|$25,821.28|2021-10-05|6:00 PM|36:00:00|2469",
		"3:",
		"4:John x|TRUE|#N/A|a&b <c> line1\nline2 _x0041_ 😀|10/5/2021|Email|-1,234.50|0.3|1.23457E+12|FALSE",
		"5:",
		"6:||||||||||extra",
	}
	if got := rowsOf(tab); !equalStrings(got, want) {
		t.Errorf("Rows =\n%q\nwant\n%q", got, want)
	}
	if tab.Rows[1].Row != 3 || len(tab.Rows[1].Cells) != 0 {
		t.Errorf("empty row 3 = %+v", tab.Rows[1])
	}
}

func TestXLSXMergedCells(t *testing.T) {
	b := book{
		sheetData: row(1, inl("A1", "Team"), inl("B1", "Name"), inl("C1", "Contact")) +
			row(2, inl("A2", "Red"), inl("B2", "Ann"), inl("C2", "ann@x.org")) +
			row(3, inl("B3", "Bob")) +
			row(4, inl("B4", "Cy"), inl("C4", "cy@x.org")) +
			row(5, inl("A5", "Blue"), inl("B5", "Di")),
		after: `<mergeCells count="3"><mergeCell ref="A2:A4"/><mergeCell ref="C1:D1"/><mergeCell ref="B5:C9"/></mergeCells>`,
	}
	tab := mustParse(t, b.bytes(t), "m.xlsx")
	// As Word's mail merge reads them: the value in the top-left cell only.
	if want := []string{"Team", "Name", "Contact"}; !equalStrings(tab.Header, want) {
		t.Errorf("Header = %q, want %q", tab.Header, want)
	}
	want := []string{"2:Red|Ann|ann@x.org", "3:|Bob", "4:|Cy|cy@x.org", "5:Blue|Di"}
	if got := rowsOf(tab); !equalStrings(got, want) {
		t.Errorf("Rows = %q, want %q", got, want)
	}
	var warnings []string
	for _, w := range tab.Warnings {
		warnings = append(warnings, fmt.Sprintf("%d %s %s", w.Row, w.Code, w.Message))
	}
	wantWarnings := []string{
		"2 merged_cells cells A2:A4 are merged; only A2 holds the value, and the other cells are read as empty",
		"1 merged_cells cells C1:D1 are merged; only C1 holds the value, and the other cells are read as empty",
		"5 merged_cells cells B5:C9 are merged; only B5 holds the value, and the other cells are read as empty",
	}
	if !equalStrings(warnings, wantWarnings) {
		t.Errorf("Warnings = %q, want %q", warnings, wantWarnings)
	}
}

func TestXLSXDate1904(t *testing.T) {
	for _, attr := range []string{"1", "true"} {
		b := book{date1904: attr, xfs: []int{0, 14}, sheetData: row(1, inl("A1", "Date")) + row(2, num("A2", 1, "43012"))}
		tab := mustParse(t, b.bytes(t), "d.xlsx")
		if got := rowsOf(tab); !equalStrings(got, []string{"2:10/5/2021"}) {
			t.Errorf("date1904=%s: Rows = %q", attr, got)
		}
	}
}

func TestXLSXStructure(t *testing.T) {
	tests := []struct {
		name       string
		b          book
		wantHeader []string
		wantRows   []string
	}{
		{"absolute target", book{absolute: true, sheetData: row(1, inl("A1", "Email")) + row(2, inl("A2", "a@b.c"))},
			[]string{"Email"}, []string{"2:a@b.c"}},
		{"header only", book{sheetData: row(1, inl("A1", "Email"), inl("B1", "Name"))},
			[]string{"Email", "Name"}, []string{}},
		{"no r attributes", book{sheetData: `<row><c t="inlineStr"><is><t>A</t></is></c><c t="inlineStr"><is><t>B</t></is></c></row><row><c><v>1</v></c><c><v>2</v></c></row>`},
			[]string{"A", "B"}, []string{"2:1|2"}},
		{"namespace prefix", book{sheetData: `<x:row r="1"><x:c r="B1" t="inlineStr"><x:is><x:t>Name</x:t></x:is></x:c></x:row>`},
			[]string{"", "Name"}, []string{}},
		{"whitespace only counts", book{sheetData: row(1, inl("A1", "H")) + row(2, inl("A2", " ")) + row(3, inl("A3", ""))},
			[]string{"H"}, []string{"2: "}},
		{"cdata and comments", book{sheetData: `<!-- a > comment --><row r="1"><c r="A1" t="inlineStr"><is><t><![CDATA[a&b<c>]]></t></is></c></row>`},
			[]string{"a&b<c>"}, []string{}},
		{"hidden by format", book{numFmts: map[int]string{164: ";;;"}, xfs: []int{0, 164}, sheetData: row(1, inl("A1", "H")) + row(2, num("A2", 1, "5"))},
			[]string{"H"}, []string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab, err := parseXLSX(tt.b.bytes(t), "", DefaultLimits())
			if err != nil {
				t.Fatal(err)
			}
			if !equalStrings(tab.Header, tt.wantHeader) {
				t.Errorf("Header = %q, want %q", tab.Header, tt.wantHeader)
			}
			if got := rowsOf(tab); !equalStrings(got, tt.wantRows) {
				t.Errorf("Rows = %q, want %q", got, tt.wantRows)
			}
		})
	}
}

func TestXLSXEmptyFirstRow(t *testing.T) {
	for name, data := range map[string]string{
		"empty sheet":     "",
		"empty first row": row(1, `<c r="A1" s="0"/>`) + row(2, inl("A2", "x")),
		"starts at row 3": row(3, inl("A3", "x")),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := ParseSheet(book{sheetData: data}.bytes(t), "e.xlsx", "", DefaultLimits())
			wantCode(t, err, apperr.Invalid, "header_missing")
		})
	}
}

func TestXLSXLimits(t *testing.T) {
	var rows strings.Builder
	rows.WriteString(row(1, inl("A1", "Email")))
	for r := 2; r <= 101_001; r++ {
		rows.WriteString(row(r, num("A"+itoa(r), 0, itoa(r))))
	}
	_, err := ParseSheet(book{sheetData: rows.String()}.bytes(t), "big.xlsx", "", DefaultLimits())
	e := wantCode(t, err, apperr.TooLarge, "too_many_rows")
	if !strings.Contains(e.Message, "101000") || !strings.Contains(e.Message, "100000") {
		t.Errorf("message %q does not give the count and the limit", e.Message)
	}

	var wide []string
	for c := 1; c <= 201; c++ {
		wide = append(wide, inl(colName(c)+"1", "h"+itoa(c)))
	}
	_, err = ParseSheet(book{sheetData: row(1, wide...)}.bytes(t), "wide.xlsx", "", DefaultLimits())
	e = wantCode(t, err, apperr.TooLarge, "too_many_columns")
	if !strings.Contains(e.Message, "GS") {
		t.Errorf("message %q does not name column GS", e.Message)
	}

	big := strings.Repeat("x", 33<<10)
	b := book{shared: []string{"<t>" + big + "</t>"}, sheetData: row(1, inl("A1", "H")) + row(17, `<c r="C17" t="s"><v>0</v></c>`)}
	_, err = ParseSheet(b.bytes(t), "cell.xlsx", "", DefaultLimits())
	e = wantCode(t, err, apperr.TooLarge, "cell_too_large")
	if !strings.Contains(e.Message, "cell C17") {
		t.Errorf("message %q does not name cell C17", e.Message)
	}
	b = book{sheetData: row(1, inl("A1", "H")) + row(2, inl("B2", big))}
	_, err = ParseSheet(b.bytes(t), "cell.xlsx", "", DefaultLimits())
	wantCode(t, err, apperr.TooLarge, "cell_too_large")
}

func itoa(n int) string { return string(appendPadded(nil, int64(n), 1)) }

// TestXLSXLineBreaks: a line break in a cell (Alt+Enter) reads as one LF
// however the file writes it: LF, CR LF, _x000D_ or a character reference.
func TestXLSXLineBreaks(t *testing.T) {
	b := book{
		shared: []string{"<t>Email</t>", "<t>Address</t>", "<t xml:space=\"preserve\">1 Main St_x000D_\nSpringfield</t>"},
		sheetData: row(1, `<c r="A1" t="s"><v>0</v></c>`, `<c r="B1" t="s"><v>1</v></c>`) +
			row(2, inl("A2", "a@x.org"), `<c r="B2" t="s"><v>2</v></c>`) +
			row(3, inl("A3", "b@x.org"), inl("B3", "1 Main St&#13;&#10;Springfield")) +
			row(4, inl("A4", "c@x.org"), inl("B4", "1 Main St\r\nSpringfield")) +
			row(5, inl("A5", "d@x.org"), inl("B5", "1 Main St\nSpringfield")),
	}
	tab := mustParse(t, b.bytes(t), "lines.xlsx")
	for _, r := range tab.Rows {
		if r.Cells[1] != "1 Main St\nSpringfield" {
			t.Errorf("row %d: %q", r.Row, r.Cells[1])
		}
	}
	csv := mustParse(t, []byte("Email,Address\r\na@x.org,\"1 Main St\r\nSpringfield\"\r\n"), "lines.csv")
	if got := csv.Rows[0].Cells[1]; got != "1 Main St\nSpringfield" {
		t.Errorf("csv: %q", got)
	}
}
