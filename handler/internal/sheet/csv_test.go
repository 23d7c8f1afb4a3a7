package sheet

import (
	"fmt"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"

	"mailmerge/handler/internal/apperr"
)

func utf16LE(t *testing.T, s string) []byte {
	t.Helper()
	b, err := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func cp1252(t *testing.T, s string) []byte {
	t.Helper()
	b, err := charmap.Windows1252.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCSV(t *testing.T) {
	tests := []struct {
		name       string
		data       []byte
		wantHeader []string
		wantRows   []string
	}{
		{"plain", []byte("Email,Name\na@b.c,Ann\n"), []string{"Email", "Name"}, []string{"2:a@b.c|Ann"}},
		{"utf-8 BOM", []byte("\xEF\xBB\xBFEmail,Name\r\na@b.c,Zoë\r\n"), []string{"Email", "Name"}, []string{"2:a@b.c|Zoë"}},
		{"semicolons with decimal commas", []byte("Email;Amount;City\na@b.c;1,50;Köln\nd@e.f;2,75;Wien\n"),
			[]string{"Email", "Amount", "City"}, []string{"2:a@b.c|1,50|Köln", "3:d@e.f|2,75|Wien"}},
		{"tabs", []byte("Email\tName, full\na@b.c\tAnn, B\n"), []string{"Email", "Name, full"}, []string{"2:a@b.c|Ann, B"}},
		{"excel sep line", []byte("sep=;\nA;B\n1,5;2\n"), []string{"A", "B"}, []string{"2:1,5|2"}},
		{"windows-1252", cp1252(t, "Name,Price,Note\nRené,€5,Müller\n"), []string{"Name", "Price", "Note"}, []string{"2:René|€5|Müller"}},
		{"utf-16le BOM", utf16LE(t, "Email\tName\r\na@b.c\tJosé 😀\r\n"), []string{"Email", "Name"}, []string{"2:a@b.c|José 😀"}},
		{"quoted newlines keep row numbers", []byte("A,B\n\"line1\nline2\",x\n\"say \"\"hi\"\"\",y\n3,z\n"),
			[]string{"A", "B"}, []string{"2:line1\nline2|x", "3:say \"hi\"|y", "4:3|z"}},
		{"quoted CRLF", []byte("A,B\r\n\"l1\r\nl2\",x\r\n5,y\r\n"), []string{"A", "B"}, []string{"2:l1\nl2|x", "3:5|y"}},
		{"old mac CR", []byte("A,B\r1,2\r3,4\r"), []string{"A", "B"}, []string{"2:1|2", "3:3|4"}},
		{"emoji", []byte("Name,Mood\nAnn,🎉👍🏽\n"), []string{"Name", "Mood"}, []string{"2:Ann|🎉👍🏽"}},
		{"trailing empty lines and cells", []byte("A,B,,\n1,2,,\n,,,\n\n\n"), []string{"A", "B"}, []string{"2:1|2"}},
		{"empty rows between are kept", []byte("A,B\n1,2\n,,\n\n3,4\n"), []string{"A", "B"}, []string{"2:1|2", "3:", "4:", "5:3|4"}},
		{"header trailing space and duplicates", []byte("Name ,Name ,Email\nx,y,z\n"), []string{"Name ", "Name ", "Email"}, []string{"2:x|y|z"}},
		{"more cells than header", []byte("A\n1,2,3\n"), []string{"A"}, []string{"2:1|2|3"}},
		{"header only", []byte("A,B\n"), []string{"A", "B"}, []string{}},
		{"values stay text", []byte("Zip,Amount,Date\n01234,\"1,234.50\",2021-10-05\n"), []string{"Zip", "Amount", "Date"}, []string{"2:01234|1,234.50|2021-10-05"}},
		{"single column", []byte("Email\na@b.c\n"), []string{"Email"}, []string{"2:a@b.c"}},
		{"no final newline", []byte("A,B\n1,2"), []string{"A", "B"}, []string{"2:1|2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab := mustParse(t, tt.data, "people.csv")
			if tab.Format != "csv" {
				t.Errorf("Format = %q", tab.Format)
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

func TestCSVErrors(t *testing.T) {
	tests := []struct {
		name     string
		data     string
		kind     apperr.Kind
		code     string
		contains string
	}{
		{"unterminated quote", "A,B\n1,2\n3,\"open\n4,5\n", apperr.Invalid, "csv_bad_quote", "row 3"},
		{"stray quote, then a quote left open", "A,B\n1,5\" screen\n3,\"open\n4,5\n", apperr.Invalid, "csv_bad_quote", "row 3"},
		{"first row empty", ",,\nx,y\n", apperr.Invalid, "header_missing", ""},
		{"only blank lines", "\n\n \n", apperr.Invalid, "file_empty", ""},
		{"too many columns", "A\n" + strings.Repeat("x,", 200) + "x\n", apperr.TooLarge, "too_many_columns", "row 2"},
		{"cell too large", "A,B,C\n" + strings.Repeat("\n", 15) + "1,2," + strings.Repeat("y", 33<<10) + "\n", apperr.TooLarge, "cell_too_large", "row 17, column 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseSheet([]byte(tt.data), "x.csv", "", DefaultLimits())
			e := wantCode(t, err, tt.kind, tt.code)
			if !strings.Contains(e.Message, tt.contains) {
				t.Errorf("message %q does not say %q", e.Message, tt.contains)
			}
		})
	}
}

// TestCSVStrayQuotes: a " inside a value that does not start with one is a
// character, as Excel reads it; each such row is a warning. Quoted values
// around it read as usual.
func TestCSVStrayQuotes(t *testing.T) {
	data := "Email,Place,Note\r\n" +
		"ann@example.com,37°36'37.8\"N 122°22'29.1\"W,ok\r\n" +
		"bob@example.com,\"Main St, \"\"Old\"\" town\",5\" screen\r\n" +
		"\r\n" +
		"cy@example.com,\"two\nlines\",plain\r\n" +
		"di@example.com,Oslo,12\" x 8\"\r\n"
	tab := mustParse(t, []byte(data), "places.csv")
	want := []string{
		`2:ann@example.com|37°36'37.8"N 122°22'29.1"W|ok`,
		`3:bob@example.com|Main St, "Old" town|5" screen`,
		`4:`,
		"5:cy@example.com|two\nlines|plain",
		`6:di@example.com|Oslo|12" x 8"`,
	}
	if got := rowsOf(tab); !equalStrings(got, want) {
		t.Errorf("Rows = %q, want %q", got, want)
	}
	var rows []int
	for _, w := range tab.Warnings {
		if w.Code == "csv_stray_quote" {
			rows = append(rows, w.Row)
		}
	}
	if fmt.Sprint(rows) != "[2 3 6]" {
		t.Errorf("warned rows %v, want [2 3 6]: %+v", rows, tab.Warnings)
	}
	// Semicolons, as a European Excel writes.
	tab = mustParse(t, []byte("Email;Size\nann@example.com;5\"\n"), "s.csv")
	if got := rowsOf(tab); !equalStrings(got, []string{`2:ann@example.com|5"`}) || len(tab.Warnings) != 1 {
		t.Errorf("semicolons: %q %+v", got, tab.Warnings)
	}
}

func TestCSVTooManyRows(t *testing.T) {
	var b strings.Builder
	b.WriteString("Email\n")
	for i := range 101_000 {
		b.WriteString("a" + itoa(i) + "@example.com\n")
	}
	_, err := ParseSheet([]byte(b.String()), "big.csv", "", DefaultLimits())
	e := wantCode(t, err, apperr.TooLarge, "too_many_rows")
	if !strings.Contains(e.Message, "101000") || !strings.Contains(e.Message, "100000") {
		t.Errorf("message %q does not give the count and the limit", e.Message)
	}
	// Exactly at the limit is fine.
	var ok strings.Builder
	ok.WriteString("Email\n")
	for i := range 100_000 {
		ok.WriteString("a" + itoa(i) + "@example.com\n")
	}
	if tab := mustParse(t, []byte(ok.String()), "ok.csv"); len(tab.Rows) != 100_000 || tab.Rows[99_999].Row != 100_001 {
		t.Errorf("got %d rows", len(tab.Rows))
	}
}

func TestDetectDelimiter(t *testing.T) {
	tests := []struct {
		in   string
		want rune
	}{
		{"a,b,c\n1,2,3\n", ','},
		{"a;b;c\n1,5;2;3\n", ';'},
		{"a\tb\n1,2\t3\n", '\t'},
		{"\"x;y\",b\n1,2\n", ','},
		{"\"multi\nline;;;\",b\n1,2\n", ','},
		{"email\n", ','},
		{"a;b\n1;2\n3;4\n", ';'},
	}
	for _, tt := range tests {
		if got, _ := detectDelimiter([]byte(tt.in)); got != tt.want {
			t.Errorf("detectDelimiter(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
