package sheet

import "errors"

// applyMerges shows the top-left value of each merged range in all of its
// cells, so that each data row of a merged block carries the value.
func (s *sheetReader) applyMerges() error {
	budget := 2 * (s.limits.MaxRows + 1) * s.limits.MaxColumns
	last := len(s.table.Rows) + 1
	for _, m := range s.merges {
		v := s.at(m.r1, m.c1)
		if v == "" {
			continue
		}
		if m.c2 > s.limits.MaxColumns {
			return tooManyColumns(m.c2, s.limits)
		}
		for r := m.r1; r <= min(m.r2, last); r++ {
			cells := s.rowCells(r)
			if len(*cells) < m.c2 {
				grown := make([]string, m.c2)
				copy(grown, *cells)
				*cells = grown
			}
			for c := m.c1; c <= m.c2; c++ {
				if budget--; budget < 0 {
					return unreadable(errors.New("overlapping merged cells"))
				}
				(*cells)[c-1] = v
			}
		}
	}
	return nil
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
