package sheet

import (
	"io"

	"mailmerge/handler/internal/apperr"
)

// readSharedStrings loads the workbook's shared-string table once, so each
// cell that uses a string shares it instead of allocating its own. A <si> is
// plain <t> text or rich-text runs <r><t>; phonetic runs <rPh> are readings
// Excel does not display.
func (p *pkg) readSharedStrings(name string, limits Limits) ([]string, error) {
	rc, ok, err := p.open(name)
	if !ok || err != nil {
		return nil, err
	}
	defer rc.Close()
	x := newXMLScanner(rc)
	var (
		out               []string
		raw, dec          []byte
		keep, inSI, inRPh bool
		total             int
		truncateAt        = limits.MaxCellBytes + 1
	)
	for {
		err := x.next(keep)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, unreadable(err)
		}
		keep = false
		name, end, self := x.name()
		switch string(name) {
		case "sst":
			if !end {
				x.attrs(func(k, v []byte) {
					if string(k) == "uniqueCount" && out == nil {
						out = make([]string, 0, min(atoi(v), 1<<20))
					}
				})
			}
		case "si":
			switch {
			case self:
				out = append(out, "")
			case !end:
				inSI, raw = true, raw[:0]
			default:
				inSI = false
				dec = appendDecoded(dec[:0], raw)
				if len(dec) > truncateAt {
					// Only its length matters now: a cell that uses it is
					// refused as too large.
					dec = dec[:truncateAt]
				}
				if total += len(dec); total > maxTextBytes || len(out) >= maxSharedStrings {
					return nil, apperr.E(apperr.TooLarge, "zip_too_large",
						"the workbook holds more text than we can read (over %d distinct texts or %s); keep only the recipients sheet, or save it as .csv", maxSharedStrings, size(maxTextBytes))
				}
				out = append(out, string(dec))
			}
		case "rPh":
			inRPh = !end && !self
		case "t":
			if inSI && !inRPh && !self {
				if end {
					if len(raw) <= 2*truncateAt {
						raw = append(raw, x.text...)
					}
				} else {
					keep = true
				}
			}
		}
	}
}
