package sheet

import (
	"errors"
	"io"
	"math"
	"strconv"
	"time"

	"mailmerge/handler/internal/apperr"
)

// sheetReader turns one worksheet part into a Table.
type sheetReader struct {
	limits   Limits
	date1904 bool
	sst      []string
	styles   []*numFormat
	general  *numFormat

	table   Table
	lastRow int  // the last row number with a non-empty cell
	tooMany bool // past MaxRows: only counting rows now
	text    int  // bytes of cell text allocated (shared strings excluded)

	// The current row and cell.
	row   int
	cells []string
	col   int
	style int
	typ   byte
	v     []byte // raw <v> text
	is    []byte // raw inline string text
	hasV  bool

	buf    []byte   // formatting scratch
	slab   []string // rows' cells are carved from here: one allocation per many rows
	merges []cellRange
}

type cellRange struct{ c1, r1, c2, r2 int }

// read scans the sheet part. Tags that carry no cell value are skipped;
// the merged ranges after sheetData are collected and applied at the end.
func (s *sheetReader) read(r io.Reader) (*Table, error) {
	s.table.Format = "xlsx"
	s.general = compileFormat("General")
	x := newXMLScanner(r)
	keep, inData, inCell, inIs, inRPh := false, false, false, false, false
	for {
		err := x.next(keep)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, unreadable(err)
		}
		keep = false
		name, end, self := x.name()
		switch string(name) {
		case "sheetData":
			inData = !end && !self
		case "row":
			if !inData {
				continue
			}
			if end {
				if err := s.endRow(); err != nil {
					return nil, err
				}
				continue
			}
			s.startRow(x)
			if self {
				if err := s.endRow(); err != nil {
					return nil, err
				}
			}
		case "c":
			if !inData {
				continue
			}
			if end {
				inCell = false
				if err := s.endCell(); err != nil {
					return nil, err
				}
				continue
			}
			s.startCell(x)
			if !self {
				if v, ok := x.cellValue(); ok {
					s.v, s.hasV = append(s.v, v...), true
					if err := s.endCell(); err != nil {
						return nil, err
					}
					continue
				}
			}
			inCell, inIs, inRPh = !self, false, false
		case "v":
			if inCell && !self {
				if end {
					s.v = append(s.v[:0], x.text...)
					s.hasV = true
				} else {
					keep = true
				}
			}
		case "is":
			inIs = inCell && !end && !self
		case "rPh":
			inRPh = !end && !self
		case "t":
			if inIs && !inRPh && !self {
				if end {
					s.is = append(s.is, x.text...)
					s.hasV = true
				} else {
					keep = true
				}
			}
		case "mergeCell":
			if rg, ok := parseRange(x); ok {
				s.merges = append(s.merges, rg)
			}
		}
	}
	if s.tooMany {
		return nil, apperr.E(apperr.TooLarge, "too_many_rows",
			"the sheet has %d data rows; the limit is %d: split the recipients into several files", s.lastRow-1, s.limits.MaxRows)
	}
	s.applyMerges()
	return &s.table, nil
}

func (s *sheetReader) startRow(x *xmlScanner) {
	n := 0
	x.attrs(func(k, v []byte) {
		if string(k) == "r" {
			n = atoi(v)
		}
	})
	if n <= 0 {
		n = s.row + 1 // r is optional: rows then follow each other
	}
	s.row, s.col = n, 0
	s.cells = s.cells[:0]
}

func (s *sheetReader) startCell(x *xmlScanner) {
	col, style, typ := 0, 0, byte('n')
	x.attrs(func(k, v []byte) {
		switch string(k) {
		case "r":
			col = colIndex(v)
		case "s":
			style = atoi(v)
		case "t":
			switch string(v) {
			case "s":
				typ = 's'
			case "inlineStr":
				typ = 'i'
			case "str":
				typ = 'S'
			case "b", "e", "d":
				typ = v[0]
			}
		}
	})
	if col <= 0 {
		col = s.col + 1
	}
	s.col, s.style, s.typ = col, style, typ
	s.v, s.is, s.hasV = s.v[:0], s.is[:0], false
}

// endCell works out the displayed text and puts it in the row.
func (s *sheetReader) endCell() error {
	if !s.hasV {
		return nil
	}
	if s.tooMany || s.row-1 > s.limits.MaxRows {
		// Only counting: any value makes the row count.
		if len(s.v) > 0 || len(s.is) > 0 {
			s.cells = append(s.cells[:0], "x")
		}
		return nil
	}
	text, shared, err := s.cellText()
	if err != nil || text == "" {
		return err
	}
	if s.col > s.limits.MaxColumns {
		return tooManyColumns(s.col, s.limits)
	}
	if len(text) > s.limits.MaxCellBytes {
		return apperr.E(apperr.TooLarge, "cell_too_large",
			"cell %s%d holds %s of text; the limit is %s per cell", colName(s.col), s.row, size(int64(len(text))), size(int64(s.limits.MaxCellBytes)))
	}
	if !shared {
		if s.text += len(text); s.text > maxTextBytes {
			return apperr.E(apperr.TooLarge, "zip_too_large",
				"the sheet holds more than %s of text; keep only the recipients' columns, or split the file", size(maxTextBytes))
		}
	}
	for len(s.cells) < s.col-1 {
		s.cells = append(s.cells, "")
	}
	if len(s.cells) >= s.col {
		s.cells[s.col-1] = text // a repeated reference: the later one wins
	} else {
		s.cells = append(s.cells, text)
	}
	return nil
}

func tooManyColumns(col int, limits Limits) *apperr.Error {
	return apperr.E(apperr.TooLarge, "too_many_columns",
		"the sheet has data in column %s (column %d); the limit is %d columns: remove the columns the mail merge does not need", colName(col), col, limits.MaxColumns)
}

// cellText is the cell as Excel shows it; shared tells that the string is
// the shared-string table's own (no new memory).
func (s *sheetReader) cellText() (text string, shared bool, err error) {
	f := s.general
	if s.style >= 0 && s.style < len(s.styles) {
		f = s.styles[s.style]
	}
	switch s.typ {
	case 's':
		i := atoi(s.v)
		if i < 0 || i >= len(s.sst) {
			return "", false, unreadable(errors.New("cell " + colName(s.col) + strconv.Itoa(s.row) + " refers to a missing shared string"))
		}
		if f.text < 0 {
			return s.sst[i], true, nil
		}
		s.buf, _ = f.appendText(s.buf[:0], s.sst[i])
	case 'i':
		s.buf = appendDecoded(s.buf[:0], s.is)
		if f.text >= 0 {
			s.buf, _ = f.appendText(s.buf[:0], string(s.buf))
		}
	case 'S', 'e':
		s.buf = appendDecoded(s.buf[:0], s.v)
	case 'b':
		v := string(s.v)
		if v == "" {
			return "", false, nil
		}
		b := v == "1" || v == "true"
		if f.text < 0 {
			return boolText(b), true, nil // a constant: no copy
		}
		s.buf = f.appendBool(s.buf[:0], b)
	case 'd':
		serial, ok := isoSerial(string(s.v), s.date1904)
		if !ok {
			s.buf = appendDecoded(s.buf[:0], s.v)
			break
		}
		s.buf = f.appendValue(s.buf[:0], serial, s.date1904)
	default:
		raw := trimSpace(s.v)
		if len(raw) == 0 {
			return "", false, nil
		}
		if f.general && plainGeneral(raw) {
			return string(raw), false, nil
		}
		v, perr := strconv.ParseFloat(string(raw), 64)
		if perr != nil {
			return "", false, unreadable(errors.New("cell " + colName(s.col) + strconv.Itoa(s.row) + " has a damaged number"))
		}
		s.buf = f.appendValue(s.buf[:0], v, s.date1904)
	}
	return string(s.buf), false, nil
}

// endRow keeps a row with any non-empty cell, adding the empty rows before
// it so that Rows[i].Row is i+2.
func (s *sheetReader) endRow() error {
	if len(s.cells) == 0 || s.row < 1 {
		return nil
	}
	n := s.row
	s.lastRow = max(s.lastRow, n)
	if n-1 > s.limits.MaxRows {
		s.tooMany = true
		return nil
	}
	if s.tooMany {
		return nil
	}
	cells := s.keep(s.cells)
	if n == 1 {
		s.table.Header = cells
		return nil
	}
	rows := s.table.Rows
	for len(rows)+2 < n {
		rows = append(rows, Row{Row: len(rows) + 2})
	}
	if len(rows)+2 > n {
		rows[n-2].Cells = cells // out of order: Excel never writes this
	} else {
		rows = append(rows, Row{Row: n, Cells: cells})
	}
	s.table.Rows = rows
	return nil
}

// keep copies the row's cells into the slab, which saves an allocation per
// row.
func (s *sheetReader) keep(cells []string) []string {
	if len(s.slab) < len(cells) {
		s.slab = make([]string, max(len(cells), 16<<10))
	}
	out := s.slab[:len(cells):len(cells)]
	copy(out, cells)
	s.slab = s.slab[len(cells):]
	return out
}

// isoSerial converts a t="d" cell's ISO 8601 text to a serial date.
func isoSerial(v string, date1904 bool) (float64, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02", "15:04:05.999999999"} {
		t, err := time.Parse(layout, v)
		if err != nil {
			continue
		}
		if layout[0] == '1' {
			t = t.AddDate(1899, 11, 30) // a bare time is day 0
		}
		days := float64(t.Unix())/86400 - unixDay18991230
		if days < 61 {
			days-- // before Excel's fake 1900-02-29
		}
		if date1904 {
			days -= 1462
		}
		return math.Max(days, 0), true
	}
	return 0, false
}
