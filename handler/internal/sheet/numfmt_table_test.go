package sheet

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
)

// formatCase is one line of testdata/numfmt.tsv: a format code, a cell
// value (a number, TRUE or FALSE, or s:text), the text Excel (en-US) shows
// for it, where that was recorded, and why we differ when we knowingly do.
type formatCase struct {
	line              int
	code, value, want string
	source, known     string
}

func readFormatCases(t *testing.T) []formatCase {
	t.Helper()
	f, err := os.Open("testdata/numfmt.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []formatCase
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if n == 1 || line == "" {
			continue // the header
		}
		cols := strings.Split(line, "\t")
		if len(cols) < 4 {
			t.Fatalf("testdata/numfmt.tsv:%d: want code, value, text and source, tab-separated", n)
		}
		c := formatCase{line: n, code: cols[0], value: cols[1], want: cols[2], source: cols[3]}
		if c.want == "<empty>" {
			c.want = ""
		}
		if len(cols) > 4 {
			c.known = cols[4]
		}
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// displayed is the text a cell of value shows under code, as the sheet
// reader makes it: a number, TRUE or FALSE, or s:text.
func displayed(code, value string) string {
	f := compileFormat(code)
	switch {
	case value == "TRUE" || value == "FALSE":
		return string(f.appendBool(nil, value == "TRUE"))
	case strings.HasPrefix(value, "s:"):
		out, ok := f.appendText(nil, value[2:])
		if !ok {
			return value[2:]
		}
		return string(out)
	}
	v, err := strconv.ParseFloat(value, 64)
	if err != nil {
		return "bad value " + value
	}
	return string(f.appendValue(nil, v, false))
}

// TestFormatTable checks every case of testdata/numfmt.tsv: the cases from
// Microsoft's "Number format codes" documentation and from spreadsheet
// libraries' test data recorded from Excel. A case marked as a known
// difference must still differ (so the mark goes when it is fixed).
func TestFormatTable(t *testing.T) {
	cases := readFormatCases(t)
	agree, known := 0, 0
	for _, c := range cases {
		got := displayed(c.code, c.value)
		switch {
		case got == c.want && c.known != "":
			t.Errorf("numfmt.tsv:%d: %q %s now shows %q as Excel does: remove the mark %q", c.line, c.code, c.value, got, c.known)
		case got == c.want:
			agree++
		case c.known != "":
			known++
		default:
			t.Errorf("numfmt.tsv:%d: %q %s: got %q, Excel shows %q (%s)", c.line, c.code, c.value, got, c.want, c.source)
		}
	}
	t.Logf("%d of %d cases show as Excel does; %d known differences", agree, len(cases), known)
}
