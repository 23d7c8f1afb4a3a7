package sheet

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/tealeg/xlsx/v3"

	"mailmerge/handler/internal/apperr"
)

// tealegBook writes a workbook with tealeg: one sheet per name, each with
// a header and one row naming the sheet; hidden names the hidden ones.
func tealegBook(t *testing.T, names []string, hidden map[string]bool, edit func(*xlsx.File)) []byte {
	t.Helper()
	f := xlsx.NewFile()
	for _, name := range names {
		sh, err := f.AddSheet(name)
		if err != nil {
			t.Fatal(err)
		}
		sh.Hidden = hidden[name]
		h := sh.AddRow()
		h.AddCell().SetString("Email")
		h.AddCell().SetString("List")
		r := sh.AddRow()
		r.AddCell().SetString("ann@example.com")
		r.AddCell().SetString(name)
	}
	if edit != nil {
		edit(f)
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// listOf is the sheet each row of the table came from.
func listOf(t *testing.T, tab *Table) string {
	t.Helper()
	if len(tab.Rows) != 1 || len(tab.Rows[0].Cells) < 2 {
		t.Fatalf("rows %+v", tab.Rows)
	}
	return tab.Rows[0].Cells[1]
}

// TestWorksheetChoice: the first visible worksheet is read, as Excel shows
// it first; ?sheet= names another; the workbook's worksheets are listed.
func TestWorksheetChoice(t *testing.T) {
	data := tealegBook(t, []string{"Old list", "Customers", "Partners"}, map[string]bool{"Old list": true}, nil)
	tab, err := ParseSheet(data, "b.xlsx", "", DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if got := listOf(t, tab); got != "Customers" || tab.Sheet != "Customers" {
		t.Errorf("read %q (sheet %q), want the first visible one, Customers", got, tab.Sheet)
	}
	want := []Sheet{{Name: "Old list", Hidden: true, Worksheet: true}, {Name: "Customers", Worksheet: true}, {Name: "Partners", Worksheet: true}}
	if fmt.Sprint(tab.Sheets) != fmt.Sprint(want) {
		t.Errorf("Sheets = %+v, want %+v", tab.Sheets, want)
	}
	for name, want := range map[string]string{"Partners": "Partners", "  partners ": "Partners", "Old list": "Old list"} {
		tab, err := ParseSheet(data, "b.xlsx", name, DefaultLimits())
		if err != nil || listOf(t, tab) != want || tab.Sheet != want {
			t.Errorf("sheet %q: %+v %v, want %s", name, tab, err, want)
		}
	}
	_, err = ParseSheet(data, "b.xlsx", "Suppliers", DefaultLimits())
	wantCode(t, err, apperr.Invalid, "sheet_not_found")
	if err == nil || !strings.Contains(err.Error(), `"Old list", "Customers", "Partners"`) {
		t.Errorf("the error should list the worksheets: %v", err)
	}
	// Every worksheet hidden: the first.
	data = tealegBook(t, []string{"A", "B"}, map[string]bool{"A": true, "B": true}, nil)
	if tab, err := ParseSheet(data, "h.xlsx", "", DefaultLimits()); err != nil || listOf(t, tab) != "A" {
		t.Errorf("all hidden: %+v %v", tab, err)
	}
}

// chartFirst is a workbook whose first sheet is a chart sheet, as Excel
// writes one ("Move Chart" > "New sheet").
func chartFirst(t *testing.T) []byte {
	t.Helper()
	b := book{sheetData: row(1, inl("A1", "Email"), inl("B1", "List")) + row(2, inl("A2", "ann@example.com"), inl("B2", "Recipients"))}
	b.extra = map[string][]byte{
		"xl/workbook.xml": []byte(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Chart1" sheetId="3" r:id="rId9"/><sheet name="Recipients" sheetId="2" r:id="rId7"/></sheets></workbook>`),
		"xl/_rels/workbook.xml.rels": []byte(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId9" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/chartsheet" Target="chartsheets/sheet1.xml"/><Relationship Id="rId7" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/><Relationship Id="rId4" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>`),
		"xl/chartsheets/sheet1.xml": []byte(`<chartsheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheetViews><sheetView workbookViewId="0"/></sheetViews><drawing r:id="rId1"/></chartsheet>`),
	}
	return b.bytes(t)
}

func TestChartSheetFirst(t *testing.T) {
	data := chartFirst(t)
	tab, err := ParseSheet(data, "c.xlsx", "", DefaultLimits())
	if err != nil || listOf(t, tab) != "Recipients" || len(tab.Sheets) != 1 {
		t.Fatalf("%+v %v", tab, err)
	}
	_, err = ParseSheet(data, "c.xlsx", "chart1", DefaultLimits())
	wantCode(t, err, apperr.Invalid, "sheet_not_a_worksheet")
}

// TestMergedHeader: a header merged across two columns names the first
// only, as Word's mail merge reads it, instead of naming two columns alike.
func TestMergedHeader(t *testing.T) {
	data := tealegBook(t, []string{"Sheet1"}, nil, func(f *xlsx.File) {
		sh := f.Sheets[0]
		c, err := sh.Cell(0, 1)
		if err != nil {
			t.Fatal(err)
		}
		c.SetString("List name")
		c.Merge(1, 0)
	})
	tab, err := ParseSheet(data, "m.xlsx", "", DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	if !equalStrings(tab.Header, []string{"Email", "List name"}) {
		t.Errorf("Header = %q", tab.Header)
	}
	if len(tab.Warnings) != 1 || tab.Warnings[0].Code != "merged_cells" || !strings.Contains(tab.Warnings[0].Message, "B1:C1") {
		t.Errorf("Warnings = %+v", tab.Warnings)
	}
}

// TestDuplicatePartNames: a zip with two entries of one name is refused as
// damaged: which of them a reader takes is anyone's guess.
func TestDuplicatePartNames(t *testing.T) {
	good := tealegBook(t, []string{"Sheet1"}, nil, nil)
	zr, err := zip.NewReader(bytes.NewReader(good), int64(len(good)))
	if err != nil {
		t.Fatal(err)
	}
	for _, twin := range []string{"xl/worksheets/sheet1.xml", "XL/Worksheets/Sheet1.xml"} {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for _, f := range zr.File {
			copyEntry(t, zw, f, f.Name)
			if f.Name == "xl/worksheets/sheet1.xml" {
				copyEntry(t, zw, f, twin)
			}
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		_, err := ParseSheet(buf.Bytes(), "twin.xlsx", "", DefaultLimits())
		wantCode(t, err, apperr.Invalid, "file_unreadable")
	}
}

func copyEntry(t *testing.T, zw *zip.Writer, f *zip.File, name string) {
	t.Helper()
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	w, err := zw.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(w, rc); err != nil {
		t.Fatal(err)
	}
}

// compoundFile writes an OLE compound file (version 3, 512-byte sectors)
// holding the named streams, each padded to 4,096 bytes so that none goes
// in the mini stream: the container Office saves an encrypted workbook in.
func compoundFile(streams ...string) []byte {
	const sector, endOfChain, free, fatSect = 512, 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD
	per := 4096 / sector
	le := binary.LittleEndian
	header := make([]byte, sector)
	copy(header, oleMagic)
	le.PutUint16(header[24:], 0x3E)
	le.PutUint16(header[26:], 3)
	le.PutUint16(header[28:], 0xFFFE)
	le.PutUint16(header[30:], 9)
	le.PutUint16(header[32:], 6)
	le.PutUint32(header[44:], 1)          // FAT sectors
	le.PutUint32(header[48:], 1)          // first directory sector
	le.PutUint32(header[56:], 4096)       // mini stream cutoff
	le.PutUint32(header[60:], endOfChain) // no mini FAT
	le.PutUint32(header[68:], endOfChain) // no DIFAT sectors
	for i := 76; i < sector; i += 4 {
		le.PutUint32(header[i:], free)
	}
	le.PutUint32(header[76:], 0) // the FAT is sector 0
	fat := make([]byte, sector)
	for i := range sector / 4 {
		le.PutUint32(fat[4*i:], free)
	}
	le.PutUint32(fat[0:], fatSect)
	le.PutUint32(fat[4:], endOfChain) // the directory
	dir := make([]byte, sector)
	entry := func(i int, name string, kind byte, child, right uint32, start uint32, size uint32) {
		e := dir[128*i : 128*(i+1)]
		for j, r := range name {
			le.PutUint16(e[2*j:], uint16(r))
		}
		le.PutUint16(e[64:], uint16(2*len(name)+2))
		e[66], e[67] = kind, 1
		le.PutUint32(e[68:], free)
		le.PutUint32(e[72:], right)
		le.PutUint32(e[76:], child)
		le.PutUint32(e[116:], start)
		le.PutUint32(e[120:], size)
	}
	entry(0, "Root Entry", 5, 1, free, endOfChain, 0)
	var data []byte
	for i, name := range streams {
		start := 2 + i*per
		for s := range per {
			next := uint32(start + s + 1)
			if s == per-1 {
				next = endOfChain
			}
			le.PutUint32(fat[4*(start+s):], next)
		}
		right := uint32(free)
		if i+1 < len(streams) {
			right = uint32(i + 2)
		}
		entry(i+1, name, 2, free, right, uint32(start), 4096)
		data = append(data, bytes.Repeat([]byte{byte(i + 1)}, 4096)...)
	}
	return append(append(append(header, fat...), dir...), data...)
}

// TestPasswordProtectedWorkbook: a workbook saved with a password to open
// is an OLE container, like a legacy .xls; the person is told which it is.
func TestPasswordProtectedWorkbook(t *testing.T) {
	_, err := ParseSheet(compoundFile("EncryptionInfo", "EncryptedPackage"), "secret.xlsx", "", DefaultLimits())
	wantCode(t, err, apperr.Unsupported, "file_encrypted")
	if err == nil || !strings.Contains(err.Error(), "password") {
		t.Errorf("error %v should say the file has a password", err)
	}
	_, err = ParseSheet(compoundFile("Workbook"), "old.xls", "", DefaultLimits())
	wantCode(t, err, apperr.Unsupported, "xls_not_supported")
}
