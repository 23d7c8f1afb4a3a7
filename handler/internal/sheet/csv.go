package sheet

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"

	"mailmerge/handler/internal/apperr"
)

// parseCSV reads a CSV file as Excel would open it: values are text as they
// are, the delimiter is the one Excel would have written (comma, or
// semicolon in European locales, or tab when pasted), and a blank line is an
// empty row.
func parseCSV(data []byte, limits Limits) (*Table, error) {
	text, err := decodeText(data)
	if err != nil {
		return nil, err
	}
	text = normaliseCR(text)
	delim, text := detectDelimiter(text)
	t, err := readCSV(text, delim, nil, limits)
	var pe *csv.ParseError
	if errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrBareQuote) {
		// A " inside a value that does not start with one (37°36'37.8"N,
		// 5" screen) is a character to Excel: read it so, and say which
		// rows had one. A quote left open is still an error.
		quoted, lines := quoteBareQuotes(text, delim)
		t, err = readCSV(quoted, delim, lines, limits)
	}
	return t, err
}

// readCSV reads the decoded text. bareLines are the lines whose values
// held a stray quote, each row on them reported.
func readCSV(text []byte, delim rune, bareLines map[int]bool, limits Limits) (*Table, error) {
	r := csv.NewReader(bytes.NewReader(text))
	r.Comma = delim
	r.FieldsPerRecord = -1
	// Strict quotes: a lazy reader lets an unclosed quote swallow the rest
	// of the file silently; a clear error naming the row is better.
	r.LazyQuotes = false
	r.ReuseRecord = true

	t := &Table{Format: "csv"}
	var slab []string
	row, prevEnd, lastRow := 0, 0, 0
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, csvError(err, row, prevEnd)
		}
		start, _ := r.FieldPos(0)
		if row == 0 {
			row = 1 // blank lines before the header are not rows
		} else {
			row += start - prevEnd // blank lines that csv skipped are rows
		}
		endLine, _ := r.FieldPos(len(rec) - 1)
		prevEnd = endLine + strings.Count(rec[len(rec)-1], "\n")
		if hasLine(bareLines, start, prevEnd) && len(t.Warnings) < maxStrayQuoteWarnings {
			t.Warnings = append(t.Warnings, Warning{Row: row, Code: "csv_stray_quote",
				Message: fmt.Sprintf(`row %d has a " inside a value that does not start with one; it is read as part of the value, as Excel does`, row)})
		}

		n := len(rec)
		for n > 0 && rec[n-1] == "" {
			n--
		}
		if n == 0 {
			continue
		}
		lastRow = row
		if row-1 > limits.MaxRows {
			continue // past the limit: only counting
		}
		if n > limits.MaxColumns {
			return nil, apperr.E(apperr.TooLarge, "too_many_columns",
				"row %d has %d columns; the limit is %d columns: remove the columns the mail merge does not need", row, n, limits.MaxColumns)
		}
		for i, v := range rec[:n] {
			if len(v) > limits.MaxCellBytes {
				return nil, apperr.E(apperr.TooLarge, "cell_too_large",
					"row %d, column %d holds %s of text; the limit is %s per cell", row, i+1, size(int64(len(v))), size(int64(limits.MaxCellBytes)))
			}
		}
		// The strings already share one allocation per record; only the
		// slice (reused by the reader) is copied, into a shared slab.
		if len(slab) < n {
			slab = make([]string, max(n, 16<<10))
		}
		cells := slab[:n:n]
		copy(cells, rec)
		slab = slab[n:]
		if row == 1 {
			t.Header = cells
			continue
		}
		for len(t.Rows)+2 < row {
			t.Rows = append(t.Rows, Row{Row: len(t.Rows) + 2})
		}
		t.Rows = append(t.Rows, Row{Row: row, Cells: cells})
	}
	if lastRow-1 > limits.MaxRows {
		return nil, apperr.E(apperr.TooLarge, "too_many_rows",
			"the file has %d data rows; the limit is %d: split the recipients into several files", lastRow-1, limits.MaxRows)
	}
	return t, nil
}

// maxStrayQuoteWarnings bounds the rows reported for a stray quote.
const maxStrayQuoteWarnings = 50

// hasLine tells whether lines holds one from first to last.
func hasLine(lines map[int]bool, first, last int) bool {
	for l := first; l <= last && len(lines) > 0; l++ {
		if lines[l] {
			return true
		}
	}
	return false
}

// quoteBareQuotes rewrites each unquoted value that holds a " as a quoted
// one (the quote doubled), which is how Excel reads it, and returns the
// lines (1-based) where it did. Quoted values are copied as they are.
func quoteBareQuotes(text []byte, delim rune) ([]byte, map[int]bool) {
	out := make([]byte, 0, len(text)+len(text)/50)
	lines := map[int]bool{}
	line := 1
	d := byte(delim)
	for i := 0; i < len(text); {
		// At the start of a value.
		if text[i] == '"' {
			// Quoted: up to the closing quote ("" is a quote inside).
			j := i + 1
			for j < len(text) {
				if text[j] == '"' {
					if j+1 < len(text) && text[j+1] == '"' {
						j += 2
						continue
					}
					j++
					break
				}
				j++
			}
			line += bytes.Count(text[i:j], []byte("\n"))
			out = append(out, text[i:j]...)
			i = j
		} else {
			j := i
			for j < len(text) && text[j] != d && text[j] != '\n' {
				j++
			}
			value := text[i:j]
			if bytes.IndexByte(value, '"') >= 0 {
				lines[line] = true
				value = bytes.TrimSuffix(value, []byte("\r"))
				out = append(out, '"')
				out = append(out, bytes.ReplaceAll(value, []byte(`"`), []byte(`""`))...)
				out = append(out, '"')
				if bytes.HasSuffix(text[i:j], []byte("\r")) {
					out = append(out, '\r')
				}
			} else {
				out = append(out, value...)
			}
			i = j
		}
		// The delimiter or the line end after the value.
		if i < len(text) {
			if text[i] == '\n' {
				line++
			}
			out = append(out, text[i])
			i++
		}
	}
	return out, lines
}

// csvError words a quoting error for the user, naming the row as Excel
// would number it.
func csvError(err error, row, prevEnd int) error {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return unreadableCSV(err)
	}
	at := 1
	if row > 0 {
		at = row + max(1, pe.StartLine-prevEnd)
	}
	switch {
	case errors.Is(pe.Err, csv.ErrBareQuote):
		return apperr.Wrap(pe, apperr.Invalid, "csv_bad_quote", fmt.Sprintf(
			`row %d (line %d of the file) has a " inside a value that is not in quotes; put the whole value in double quotes and write each " inside it as ""`, at, pe.Line))
	case errors.Is(pe.Err, csv.ErrQuote):
		return apperr.E(apperr.Invalid, "csv_bad_quote",
			`row %d (line %d of the file) opens a quoted value that is not closed properly; close the quote, and write each " inside a quoted value as ""`, at, pe.StartLine)
	}
	return unreadableCSV(err)
}

func unreadableCSV(err error) *apperr.Error {
	return apperr.Wrap(err, apperr.Invalid, "file_unreadable",
		"the CSV file could not be read; open it in Excel and save it again as CSV UTF-8 or as .xlsx")
}

// decodeText turns the file into UTF-8: a BOM names UTF-8 or UTF-16; other
// bytes that are not valid UTF-8 come from Excel's "CSV" on Windows, which
// writes Windows-1252.
func decodeText(data []byte) ([]byte, error) {
	var (
		out []byte
		err error
	)
	switch {
	case bytes.HasPrefix(data, []byte{0xEF, 0xBB, 0xBF}):
		return data[3:], nil
	case bytes.HasPrefix(data, []byte{0xFF, 0xFE}):
		out, err = unicode.UTF16(unicode.LittleEndian, unicode.ExpectBOM).NewDecoder().Bytes(data)
	case bytes.HasPrefix(data, []byte{0xFE, 0xFF}):
		out, err = unicode.UTF16(unicode.BigEndian, unicode.ExpectBOM).NewDecoder().Bytes(data)
	case utf8.Valid(data):
		return data, nil
	default:
		out, err = charmap.Windows1252.NewDecoder().Bytes(data)
	}
	if err != nil {
		return nil, unreadableCSV(err)
	}
	return out, nil
}

// normaliseCR turns old-Mac lone CRs into LFs; encoding/csv handles CRLF
// itself, so a CRLF file is left alone and not copied.
func normaliseCR(text []byte) []byte {
	for i := bytes.IndexByte(text, '\r'); i >= 0; {
		if i+1 >= len(text) || text[i+1] != '\n' {
			text = bytes.ReplaceAll(text, []byte("\r\n"), []byte("\n"))
			return bytes.ReplaceAll(text, []byte("\r"), []byte("\n"))
		}
		j := bytes.IndexByte(text[i+1:], '\r')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return text
}

// detectDelimiter picks among comma, semicolon and tab the one that splits
// the first lines (outside quotes) into a steady, non-zero number of fields.
// Excel's "sep=;" first line names it outright and is dropped.
func detectDelimiter(text []byte) (rune, []byte) {
	if line, rest, _ := bytes.Cut(text, []byte("\n")); len(line) == 5 && bytes.HasPrefix(line, []byte("sep=")) {
		return rune(line[4]), rest
	}
	const maxLines = 50
	// On a tie the rarer character in real text wins: a tab or a semicolon
	// that splits every line the same way is a delimiter, while commas also
	// occur inside names and amounts.
	candidates := [3]byte{'\t', ';', ','}
	var counts [maxLines][3]int
	lines, inQuote, nonEmpty := 0, false, false
	for _, c := range text[:min(len(text), 256<<10)] {
		if lines == maxLines {
			break
		}
		switch {
		case c == '"':
			inQuote = !inQuote
		case inQuote:
		case c == '\n':
			if nonEmpty {
				lines++
			}
			nonEmpty = false
			continue
		default:
			for k, d := range candidates {
				if c == d {
					counts[lines][k]++
				}
			}
		}
		nonEmpty = true
	}
	if nonEmpty && lines < maxLines {
		lines++
	}
	best, bestScore := ',', -1
	for k, d := range candidates {
		if lines == 0 || counts[0][k] == 0 {
			continue
		}
		steady := 0
		for i := range lines {
			if counts[i][k] == counts[0][k] {
				steady++
			}
		}
		if score := steady*1000 + min(counts[0][k], 999); score > bestScore {
			best, bestScore = rune(d), score
		}
	}
	return best, text
}
