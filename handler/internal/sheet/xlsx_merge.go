package sheet

import "fmt"

// maxMergeWarnings bounds the merged ranges reported.
const maxMergeWarnings = 50

// applyMerges reads merged cells as Word's mail merge does: the value is
// in the top-left cell only, and the others of the range are empty. (Excel
// keeps only that value too; copying it into every cell would turn a
// merged header into duplicate columns.) Each merged range that touches
// the table is reported, so the person can see why a cell is empty.
func (s *sheetReader) applyMerges() {
	last := len(s.table.Rows) + 1
	reported := 0
	for _, m := range s.merges {
		if m.r1 > last || (m.r1 == m.r2 && m.c1 == m.c2) {
			continue
		}
		if reported++; reported > maxMergeWarnings {
			continue
		}
		from, to := colName(m.c1)+fmt.Sprint(m.r1), colName(m.c2)+fmt.Sprint(m.r2)
		msg := fmt.Sprintf("cells %s:%s are merged; only %s holds the value, and the other cells are read as empty", from, to, from)
		if s.at(m.r1, m.c1) == "" {
			msg = fmt.Sprintf("cells %s:%s are merged and empty", from, to)
		}
		s.table.Warnings = append(s.table.Warnings, Warning{Row: m.r1, Code: "merged_cells", Message: msg})
	}
	if reported > maxMergeWarnings {
		s.table.Warnings = append(s.table.Warnings, Warning{Row: 0, Code: "merged_cells",
			Message: fmt.Sprintf("%d more merged ranges", reported-maxMergeWarnings)})
	}
}

func (s *sheetReader) rowCells(r int) *[]string {
	if r == 1 {
		return &s.table.Header
	}
	return &s.table.Rows[r-2].Cells
}

func (s *sheetReader) at(r, c int) string {
	if r < 1 || r > len(s.table.Rows)+1 || c < 1 {
		return ""
	}
	cells := *s.rowCells(r)
	if c > len(cells) {
		return ""
	}
	return cells[c-1]
}

// parseRange reads <mergeCell ref="A2:C3"/>.
func parseRange(x *xmlScanner) (cellRange, bool) {
	var rg cellRange
	ok := false
	x.attrs(func(k, v []byte) {
		if string(k) != "ref" {
			return
		}
		a, b := v, v
		for i, c := range v {
			if c == ':' {
				a, b = v[:i], v[i+1:]
			}
		}
		rg.c1, rg.r1 = colIndex(a), rowIndex(a)
		rg.c2, rg.r2 = colIndex(b), rowIndex(b)
		ok = rg.c1 > 0 && rg.r1 > 0 && rg.c2 >= rg.c1 && rg.r2 >= rg.r1
	})
	return rg, ok
}
