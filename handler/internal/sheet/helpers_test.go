package sheet

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"testing"

	"mailmerge/handler/internal/apperr"
)

// book describes a minimal workbook written by hand, for the cases a
// library writer cannot produce (inline strings, cached formula values,
// 1904 dates, gaps in row numbers...).
type book struct {
	sheetData string            // the inner XML of <sheetData>
	after     string            // XML after </sheetData>, such as <mergeCells>
	shared    []string          // raw inner XML of each <si>
	numFmts   map[int]string    // custom number formats by id
	xfs       []int             // numFmtId of each cellXfs entry; [0] if nil
	date1904  string            // the workbookPr date1904 attribute, if any
	absolute  bool              // write the sheet target as /xl/worksheets/...
	extra     map[string][]byte // more parts
	store     bool              // write entries uncompressed
}

func (b book) bytes(t testing.TB) []byte {
	t.Helper()
	parts := map[string]string{
		"[Content_Types].xml": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>`,
		"_rels/.rels": `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>`,
	}
	pr := ""
	if b.date1904 != "" {
		pr = fmt.Sprintf(`<workbookPr date1904="%s"/>`, b.date1904)
	}
	parts["xl/workbook.xml"] = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">` + pr +
		`<sheets><sheet name="Recipients" sheetId="2" r:id="rId7"/><sheet name="Other" sheetId="1" r:id="rId1"/></sheets></workbook>`
	target := "worksheets/sheet1.xml"
	if b.absolute {
		target = "/xl/worksheets/sheet1.xml"
	}
	parts["xl/_rels/workbook.xml.rels"] = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet2.xml"/><Relationship Id="rId7" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="` + target + `"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/><Relationship Id="rId4" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>`
	parts["xl/worksheets/sheet2.xml"] = `<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>wrong sheet</t></is></c></row></sheetData></worksheet>`
	parts["xl/worksheets/sheet1.xml"] = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><dimension ref="A1"/><sheetViews><sheetView workbookViewId="0"/></sheetViews><sheetFormatPr defaultRowHeight="15"/><sheetData>` +
		b.sheetData + `</sheetData>` + b.after + `<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/></worksheet>`
	parts["xl/styles.xml"] = b.styles()
	var sst strings.Builder
	fmt.Fprintf(&sst, `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="%d" uniqueCount="%d">`, len(b.shared), len(b.shared))
	for _, s := range b.shared {
		sst.WriteString("<si>" + s + "</si>")
	}
	sst.WriteString("</sst>")
	parts["xl/sharedStrings.xml"] = sst.String()
	all := map[string][]byte{}
	for k, v := range parts {
		all[k] = []byte(v)
	}
	for k, v := range b.extra {
		all[k] = v
	}
	return zipOf(t, all, b.store)
}

func (b book) styles() string {
	var s strings.Builder
	s.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">`)
	if len(b.numFmts) > 0 {
		ids := make([]int, 0, len(b.numFmts))
		for id := range b.numFmts {
			ids = append(ids, id)
		}
		sort.Ints(ids)
		fmt.Fprintf(&s, `<numFmts count="%d">`, len(ids))
		for _, id := range ids {
			code := strings.NewReplacer("&", "&amp;", `"`, "&quot;", "<", "&lt;", ">", "&gt;").Replace(b.numFmts[id])
			fmt.Fprintf(&s, `<numFmt numFmtId="%d" formatCode="%s"/>`, id, code)
		}
		s.WriteString(`</numFmts>`)
	}
	s.WriteString(`<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts><fills count="1"><fill><patternFill patternType="none"/></fill></fills><borders count="1"><border/></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>`)
	xfs := b.xfs
	if xfs == nil {
		xfs = []int{0}
	}
	fmt.Fprintf(&s, `<cellXfs count="%d">`, len(xfs))
	for _, id := range xfs {
		fmt.Fprintf(&s, `<xf numFmtId="%d" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>`, id)
	}
	s.WriteString(`</cellXfs></styleSheet>`)
	return s.String()
}

// zipOf writes the parts in name order.
func zipOf(t testing.TB, parts map[string][]byte, store bool) []byte {
	t.Helper()
	names := make([]string, 0, len(parts))
	for k := range parts {
		names = append(names, k)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range names {
		method := zip.Deflate
		if store {
			method = zip.Store
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: method})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(parts[name]); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// inl is an inline-string cell.
func inl(ref, text string) string {
	return fmt.Sprintf(`<c r="%s" t="inlineStr"><is><t>%s</t></is></c>`, ref, text)
}

// num is a number cell with style s.
func num(ref string, s int, v string) string {
	return fmt.Sprintf(`<c r="%s" s="%d"><v>%s</v></c>`, ref, s, v)
}

func row(r int, cells ...string) string {
	return fmt.Sprintf(`<row r="%d">%s</row>`, r, strings.Join(cells, ""))
}

// mustParse parses with the default limits and fails the test on error.
func mustParse(t *testing.T, data []byte, name string) *Table {
	t.Helper()
	tab, err := ParseSheet(data, name, "", DefaultLimits())
	if err != nil {
		t.Fatalf("ParseSheet: %v", err)
	}
	return tab
}

// wantCode checks that err is an *apperr.Error with the kind and code.
func wantCode(t *testing.T, err error, kind apperr.Kind, code string) *apperr.Error {
	t.Helper()
	var e *apperr.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T), want *apperr.Error %s", err, err, code)
	}
	if e.Kind != kind || e.Code != code {
		t.Fatalf("error = %s/%s %q, want %s/%s", e.Kind, e.Code, e.Message, kind, code)
	}
	return e
}

// rowsOf flattens rows for comparison: "2:a|b".
func rowsOf(t *Table) []string {
	out := make([]string, len(t.Rows))
	for i, r := range t.Rows {
		out[i] = fmt.Sprintf("%d:%s", r.Row, strings.Join(r.Cells, "|"))
	}
	return out
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// zerosReader yields n zero bytes without holding them.
type zerosReader struct{ n int64 }

func (z *zerosReader) Read(p []byte) (int, error) {
	if z.n <= 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), z.n)]
	clear(p)
	z.n -= int64(len(p))
	return len(p), nil
}
