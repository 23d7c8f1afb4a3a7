package sheet

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/tealeg/xlsx/v3"
)

const benchRows = 100_000

// benchLimits lifts the upload size limit: 100,000 realistic rows are more
// than 10 MB as CSV, and the benchmarks measure the parser, not the limit.
func benchLimits() Limits {
	l := DefaultLimits()
	l.MaxFileBytes = 1 << 30
	return l
}

var benchHeader = []string{"Email", "First name", "Last name", "Company", "City", "Country", "Phone", "Zip",
	"Joined", "Amount", "Score", "Rate", "Notes", "Title", "Department", "Customer ID", "Birthday", "Active", "Street", "Ref"}

// benchCell is one generated value: text, or a number with a style (an
// index into benchStyles).
type benchCell struct {
	text  string
	num   float64
	style int // 0 text, 1 General number, 2 m/d/yyyy, 3 00000, 4 $#,##0.00, 5 0.00%, 6 d-mmm-yy, 7 bool
}

// benchRow makes row i's 20 realistic values, the same for xlsx and CSV.
func benchRow(i int) []benchCell {
	first := []string{"Ann", "Bob", "Chloé", "Dmitri", "Eve", "François", "Grace", "Hiro", "Ines", "José"}
	last := []string{"Smith", "Müller", "García", "O'Brien", "Nakamura", "Kowalski", "Dubois", "Rossi", "Nguyen", "Haddad"}
	cities := []string{"Seattle", "Berlin", "Paris", "São Paulo", "Tokyo", "Lagos", "Zürich", "Austin"}
	f, l := first[i%10], last[(i/10)%10]
	return []benchCell{
		{text: fmt.Sprintf("%s.%s%d@example.com", strings.ToLower(f), strings.ToLower(l), i)},
		{text: f},
		{text: l},
		{text: fmt.Sprintf("Company %d Ltd", i%5000)},
		{text: cities[i%len(cities)]},
		{text: "United States"},
		{text: fmt.Sprintf("+1 206-555-%04d", i%10000)},
		{num: float64(i % 99999), style: 3},
		{num: float64(40000 + i%5000), style: 2},
		{num: float64(i%100000) + 0.25, style: 4},
		{num: float64(i % 1000), style: 1},
		{num: float64(i%1000) / 1000, style: 5},
		{text: fmt.Sprintf("Prefers email, order #%d", i)},
		{text: []string{"Mr", "Ms", "Dr", "Mx"}[i%4]},
		{text: []string{"Sales", "R&D", "Support", "Finance"}[i%4]},
		{num: float64(1000000 + i), style: 1},
		{num: float64(20000 + i%15000), style: 6},
		{num: float64(i % 2), style: 7},
		{text: fmt.Sprintf("%d Main Street, Apt %d", i%9999+1, i%50)},
		{num: float64(i) * 1.1, style: 1},
	}
}

// genXLSX writes the benchmark workbook the way Excel does: shared strings
// for text, styled numbers, one row element per row.
func genXLSX(tb testing.TB, rows int) []byte {
	sst := map[string]int{}
	var strs []string
	var sheet strings.Builder
	sheet.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><dimension ref="A1:T100001"/><sheetData>`)
	str := func(s string) int {
		id, ok := sst[s]
		if !ok {
			id = len(strs)
			sst[s] = id
			strs = append(strs, s)
		}
		return id
	}
	sheet.WriteString(`<row r="1" spans="1:20">`)
	for c, h := range benchHeader {
		fmt.Fprintf(&sheet, `<c r="%s1" t="s"><v>%d</v></c>`, colName(c+1), str(h))
	}
	sheet.WriteString(`</row>`)
	for i := range rows {
		r := i + 2
		fmt.Fprintf(&sheet, `<row r="%d" spans="1:20" x14ac:dyDescent="0.25">`, r)
		for c, v := range benchRow(i) {
			ref := colName(c+1) + strconv.Itoa(r)
			switch v.style {
			case 0:
				fmt.Fprintf(&sheet, `<c r="%s" t="s"><v>%d</v></c>`, ref, str(v.text))
			case 7:
				fmt.Fprintf(&sheet, `<c r="%s" t="b"><v>%g</v></c>`, ref, v.num)
			case 1:
				fmt.Fprintf(&sheet, `<c r="%s"><v>%s</v></c>`, ref, strconv.FormatFloat(v.num, 'g', -1, 64))
			default:
				fmt.Fprintf(&sheet, `<c r="%s" s="%d"><v>%s</v></c>`, ref, v.style-1, strconv.FormatFloat(v.num, 'g', -1, 64))
			}
		}
		sheet.WriteString(`</row>`)
	}
	sheet.WriteString(`</sheetData></worksheet>`)
	shared := make([]string, len(strs))
	for i, s := range strs {
		shared[i] = "<t>" + strings.NewReplacer("&", "&amp;", "<", "&lt;").Replace(s) + "</t>"
	}
	b := book{
		numFmts: map[int]string{164: "00000", 165: `"$"#,##0.00`},
		// s=1 m/d/yyyy, s=2 00000, s=3 $, s=4 0.00%, s=5 d-mmm-yy
		xfs:    []int{0, 14, 164, 165, 10, 15},
		shared: shared,
		extra:  map[string][]byte{"xl/worksheets/sheet1.xml": []byte(sheet.String())},
	}
	return b.bytes(tb)
}

// genCSV writes the same rows as Excel's "CSV UTF-8" would.
func genCSV(rows int) []byte {
	var out bytes.Buffer
	out.WriteString("\xEF\xBB\xBF" + strings.Join(benchHeader, ",") + "\r\n")
	f := compileFormat
	formats := []*numFormat{nil, f("General"), f("m/d/yyyy"), f("00000"), f(`"$"#,##0.00`), f("0.00%"), f("d-mmm-yy")}
	var buf []byte
	for i := range rows {
		for c, v := range benchRow(i) {
			if c > 0 {
				out.WriteByte(',')
			}
			text := v.text
			switch v.style {
			case 0:
			case 7:
				text = map[bool]string{true: "TRUE", false: "FALSE"}[v.num == 1]
			default:
				buf = formats[v.style].appendValue(buf[:0], v.num, false)
				text = string(buf)
			}
			if strings.ContainsAny(text, ",\"\n") {
				text = `"` + strings.ReplaceAll(text, `"`, `""`) + `"`
			}
			out.WriteString(text)
		}
		out.WriteString("\r\n")
	}
	return out.Bytes()
}

func BenchmarkParseXLSX100k(b *testing.B) {
	data := genXLSX(b, benchRows)
	b.SetBytes(int64(len(data)))
	limits := benchLimits()
	for b.Loop() {
		tab, err := ParseSheet(data, "bench.xlsx", "", limits)
		if err != nil || len(tab.Rows) != benchRows {
			b.Fatalf("ParseSheet: %v", err)
		}
	}
	b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

func BenchmarkParseCSV100k(b *testing.B) {
	data := genCSV(benchRows)
	b.SetBytes(int64(len(data)))
	limits := benchLimits()
	for b.Loop() {
		tab, err := ParseSheet(data, "bench.csv", "", limits)
		if err != nil || len(tab.Rows) != benchRows {
			b.Fatalf("ParseSheet: %v", err)
		}
	}
	b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkParseXLSX100kTealeg reads the same workbook with tealeg/xlsx for
// comparison (slow: seconds per run, over a GB of memory).
func BenchmarkParseXLSX100kTealeg(b *testing.B) {
	data := genXLSX(b, benchRows)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if n, err := readTealeg(data); err != nil || n != benchRows+1 {
			b.Fatalf("tealeg: %d rows, %v", n, err)
		}
	}
	b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// readTealeg reads the first sheet's formatted values, as our parser does.
func readTealeg(data []byte) (int, error) {
	f, err := xlsx.OpenBinary(data)
	if err != nil {
		return 0, err
	}
	rows := 0
	err = f.Sheets[0].ForEachRow(func(r *xlsx.Row) error {
		rows++
		return r.ForEachCell(func(c *xlsx.Cell) error {
			_, err := c.FormattedValue()
			return err
		})
	})
	return rows, err
}

// Peak memory is measured honestly as the peak resident set (VmHWM) of a
// child process that does nothing but read the file and parse it once.

func BenchmarkPeakMemoryXLSX100k(b *testing.B)       { benchPeak(b, "xlsx", genXLSX(b, benchRows)) }
func BenchmarkPeakMemoryXLSX100kTealeg(b *testing.B) { benchPeak(b, "tealeg", genXLSX(b, benchRows)) }
func BenchmarkPeakMemoryCSV100k(b *testing.B)        { benchPeak(b, "csv", genCSV(benchRows)) }

func benchPeak(b *testing.B, mode string, data []byte) {
	var mb float64
	for b.Loop() {
		mb = peakMB(b, mode, data)
	}
	b.ReportMetric(mb, "peak-MB")
}

// TestPeakMemoryXLSX holds the product's goal: one 100,000 × 20 workbook
// parses in under 256 MB of resident memory.
func TestPeakMemoryXLSX(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a 100,000-row workbook")
	}
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("needs /proc")
	}
	if mb := peakMB(t, "xlsx", genXLSX(t, benchRows)); mb >= 256 {
		t.Errorf("peak resident memory %.0f MB, want < 256 MB", mb)
	} else {
		t.Logf("peak resident memory %.0f MB", mb)
	}
}

// peakMB runs TestPeakMemoryChild in a new process of this test binary.
func peakMB(tb testing.TB, mode string, data []byte) float64 {
	path := filepath.Join(tb.TempDir(), "input")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestPeakMemoryChild$", "-test.v")
	cmd.Env = append(os.Environ(), "SHEET_PEAK_FILE="+path, "SHEET_PEAK_MODE="+mode)
	out, err := cmd.CombinedOutput()
	m := regexp.MustCompile(`PEAK_KB=(\d+)`).FindSubmatch(out)
	if err != nil || m == nil {
		tb.Fatalf("child: %v\n%s", err, out)
	}
	kb, _ := strconv.Atoi(string(m[1]))
	return float64(kb) / 1024
}

// TestPeakMemoryChild is the child of peakMB; it does nothing otherwise.
func TestPeakMemoryChild(t *testing.T) {
	path := os.Getenv("SHEET_PEAK_FILE")
	if path == "" {
		t.Skip("run by peakMB")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rows := 0
	switch os.Getenv("SHEET_PEAK_MODE") {
	case "tealeg":
		rows, err = readTealeg(data)
	default:
		var tab *Table
		tab, err = ParseSheet(data, "input."+os.Getenv("SHEET_PEAK_MODE"), "", benchLimits())
		if err == nil {
			rows = len(tab.Rows)
		}
		runtime.KeepAlive(tab)
	}
	if err != nil {
		t.Fatal(err)
	}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`VmHWM:\s+(\d+) kB`).FindSubmatch(status)
	if m == nil {
		t.Fatal("no VmHWM")
	}
	fmt.Printf("PEAK_KB=%s ROWS=%d\n", m[1], rows)
}
