package sheet

import (
	"math"
	"strconv"
)

// appendValue appends v as the format shows it. date1904 picks the
// workbook's date system.
func (f *numFormat) appendValue(dst []byte, v float64, date1904 bool) []byte {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return append(dst, "#NUM!"...)
	}
	s, minus := f.pick(v)
	if s == nil || s.kind == kindText {
		// A text-only format shows numbers as General does.
		return appendGeneral(dst, v)
	}
	abs := math.Abs(v)
	if s.kind == kindDate {
		if v < 0 && date1904 && s.elapsed() {
			// The 1904 date system allows negative times: an elapsed
			// time then shows with a minus sign.
			if out, ok := s.appendDate(append(dst, '-'), -v, date1904); ok {
				return out
			}
		}
		if out, ok := s.appendDate(dst, v, date1904); ok {
			return out
		}
		// Excel shows ##### for a date before 1900 or after 9999; the
		// number tells the user more.
		return appendGeneral(dst, v)
	}
	if minus {
		dst = append(dst, '-')
	}
	switch s.kind {
	case kindGeneral:
		for _, t := range s.tokens {
			switch t.kind {
			case tokGeneral:
				dst = appendGeneral(dst, abs)
			case tokLit:
				dst = append(dst, t.lit...)
			}
		}
		return dst
	case kindNumber:
		return s.appendNumber(dst, abs)
	case kindFraction:
		return s.appendFraction(dst, abs)
	}
	for _, t := range s.tokens {
		if t.kind == tokLit {
			dst = append(dst, t.lit...)
		}
	}
	return dst
}

// elapsed tells whether the section shows an elapsed time ([h], [m], [s]).
func (s *fmtSection) elapsed() bool {
	for _, t := range s.tokens {
		if t.kind == tokElapsedH || t.kind == tokElapsedM || t.kind == tokElapsedS {
			return true
		}
	}
	return false
}

// pick chooses the section for v and whether a minus sign must be added:
// only the first section of a one-section format (or a condition that does
// not itself mean negative) gets one.
func (f *numFormat) pick(v float64) (*fmtSection, bool) {
	secs := f.sections
	if f.conditional {
		for i := range secs {
			s := &secs[i]
			if s.kind == kindText && i == f.text {
				continue
			}
			if !s.hasCond || s.matches(v) {
				// [<0] or [<=0] says "negative" itself, like a negative section.
				neg := s.hasCond && (s.condOp == "<" || s.condOp == "<=") && s.condVal <= 0
				return s, v < 0 && !neg
			}
		}
		return nil, false
	}
	n := min(len(secs), 3) // a fourth section is for text
	switch {
	case n == 1 || (v >= 0 && n == 2) || (v > 0 && n >= 3):
		return &secs[0], v < 0
	case v < 0:
		return &secs[1], false
	}
	return &secs[2], false
}

func (s *fmtSection) matches(v float64) bool {
	switch s.condOp {
	case "<":
		return v < s.condVal
	case "<=":
		return v <= s.condVal
	case ">":
		return v > s.condVal
	case ">=":
		return v >= s.condVal
	case "=":
		return v == s.condVal
	case "<>":
		return v != s.condVal
	}
	return false
}

// appendBool shows a boolean cell: TRUE or FALSE, through the text section
// when the format has one, as a text cell would.
func (f *numFormat) appendBool(dst []byte, b bool) []byte {
	text := "FALSE"
	if b {
		text = "TRUE"
	}
	if out, ok := f.appendText(dst, text); ok {
		return out
	}
	return append(dst, text...)
}

// appendText applies the text section to a text cell, reporting false when
// the format has none (text is then shown as it is).
func (f *numFormat) appendText(dst []byte, text string) ([]byte, bool) {
	if f.text < 0 {
		return dst, false
	}
	for _, t := range f.sections[f.text].tokens {
		switch t.kind {
		case tokLit:
			dst = append(dst, t.lit...)
		case tokText:
			dst = append(dst, text...)
		}
	}
	return dst, true
}

// appendNumber formats v >= 0 with placeholders, walking the tokens so that
// literals inside the number (000-00-0000) stay where the code puts them.
func (s *fmtSection) appendNumber(dst []byte, v float64) []byte {
	x := toDecimal(v)
	if x.n > 0 {
		x.exp += s.scaleExp
	}
	e := 0
	if s.exp {
		x, e = s.scientific(x)
	} else {
		x.round(s.fracN)
	}
	var ibuf [330]byte
	intd := ibuf[:0]
	for i := 0; i < x.exp; i++ {
		intd = append(intd, x.digit(i))
	}
	last := -1 // the last decimal that is not zero
	for k := 0; k < s.fracN; k++ {
		if x.digit(x.exp+k) != '0' {
			last = k
		}
	}
	for _, t := range s.tokens {
		switch t.kind {
		case tokLit:
			dst = append(dst, t.lit...)
		case tokInt:
			dst = s.appendInt(dst, intd, t)
		case tokPoint:
			if s.intN == 0 {
				dst = append(dst, intd...)
			}
			dst = append(dst, '.')
		case tokFrac:
			switch {
			case t.n <= last:
				dst = append(dst, x.digit(x.exp+t.n))
			case t.ch == '0':
				dst = append(dst, '0')
			case t.ch == '?':
				dst = append(dst, ' ')
			}
		case tokExp:
			dst = append(dst, 'E')
			if e < 0 {
				dst = append(dst, '-')
			} else if s.expPlus {
				dst = append(dst, '+')
			}
			ae := e
			if ae < 0 {
				ae = -ae
			}
			for w := len(strconv.Itoa(ae)); w < s.expMin; w++ {
				dst = append(dst, '0')
			}
			dst = strconv.AppendInt(dst, int64(ae), 10)
		}
	}
	return dst
}

// appendInt writes the integer placeholder t; the leftmost one also takes
// the digits that have no placeholder of their own.
func (s *fmtSection) appendInt(dst, intd []byte, t token) []byte {
	if t.n == s.intN-1 {
		for i := len(intd) - 1; i > t.n; i-- {
			dst = s.appendDigit(dst, intd[len(intd)-1-i], i)
		}
	}
	switch {
	case t.n < len(intd):
		return s.appendDigit(dst, intd[len(intd)-1-t.n], t.n)
	case t.ch == '0':
		return s.appendDigit(dst, '0', t.n)
	case t.ch == '?':
		// A blank keeps its width, and so does the separator after it.
		dst = append(dst, ' ')
		if s.thousands && t.n > 0 && t.n%3 == 0 {
			dst = append(dst, ' ')
		}
	}
	return dst
}

// appendDigit writes the digit at position i (from the right) and the
// thousands separator after it.
func (s *fmtSection) appendDigit(dst []byte, c byte, i int) []byte {
	dst = append(dst, c)
	if s.thousands && i > 0 && i%3 == 0 {
		dst = append(dst, ',')
	}
	return dst
}

// scientific scales x to its mantissa and returns the exponent. Codes with a
// # before several integer places (##0.0E+0) keep the exponent a multiple of
// their count, as engineering notation does.
func (s *fmtSection) scientific(x decimal) (decimal, int) {
	if x.n == 0 {
		return x, 0
	}
	exponent := func(lead int) int {
		switch {
		case s.engineering:
			return floorDiv(lead, s.intN) * s.intN
		case s.intN == 0:
			return lead + 1
		}
		return lead - (s.intN - 1)
	}
	maxInt := max(s.intN, 1)
	e := exponent(x.exp - 1)
	for range 3 {
		y := x
		y.exp -= e
		y.round(s.fracN)
		if y.exp <= maxInt || y.n == 0 {
			return y, e
		}
		// Rounding carried into a new digit (9.99 -> 10.0).
		e = exponent(y.exp - 1 + e)
	}
	y := x
	y.exp -= e
	y.round(s.fracN)
	return y, e
}

func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// appendFraction formats v >= 0 as a fraction: "# ?/?" shows 1.5 as 1 1/2.
func (s *fmtSection) appendFraction(dst []byte, v float64) []byte {
	v *= math.Pow10(s.scaleExp)
	whole, f := 0.0, v
	if s.hasWhole {
		whole = math.Floor(v)
		f = v - whole
	}
	var num, den int64
	if s.denFixed > 0 {
		den = s.denFixed
		num = int64(math.Round(f * float64(den)))
	} else {
		num, den = approximate(f, int64(math.Pow10(min(s.denN, 4)))-1)
	}
	if s.hasWhole && num == den {
		whole, num = whole+1, 0
	}
	blank := s.hasWhole && num == 0 // Excel leaves the fraction's width blank
	var wbuf, nbuf, dbuf [24]byte
	wd := wbuf[:0]
	if whole > 0 || blank {
		wd = strconv.AppendFloat(wd, whole, 'f', 0, 64)
	}
	nd := strconv.AppendInt(nbuf[:0], num, 10)
	dd := strconv.AppendInt(dbuf[:0], den, 10)
	for _, t := range s.tokens {
		switch t.kind {
		case tokLit:
			dst = append(dst, t.lit...)
		case tokInt:
			dst = s.appendInt(dst, wd, t)
		case tokNum:
			if blank {
				dst = append(dst, ' ')
				continue
			}
			if t.n == s.numN-1 && len(nd) > s.numN {
				dst = append(dst, nd[:len(nd)-s.numN]...)
			}
			switch {
			case t.n < len(nd):
				dst = append(dst, nd[len(nd)-1-t.n])
			case t.ch == '0':
				dst = append(dst, '0')
			case t.ch == '?':
				dst = append(dst, ' ')
			}
		case tokSlash:
			if blank {
				dst = append(dst, ' ')
			} else {
				dst = append(dst, '/')
			}
		case tokDen:
			switch {
			case blank:
				dst = append(dst, ' ')
			case t.n < len(dd):
				dst = append(dst, dd[t.n])
				if t.n == s.denN-1 {
					dst = append(dst, dd[t.n+1:]...)
				}
			case t.ch == '?':
				dst = append(dst, ' ')
			case t.ch == '0':
				dst = append(dst, '0')
			}
		case tokDenFixed:
			if blank {
				for range t.lit {
					dst = append(dst, ' ')
				}
			} else {
				dst = append(dst, t.lit...)
			}
		}
	}
	return dst
}

// approximate finds the closest num/den to f with den <= maxDen, preferring
// the smallest denominator among equals, as Excel's ?/? does.
func approximate(f float64, maxDen int64) (int64, int64) {
	bestNum, bestDen, bestErr := int64(math.Round(f)), int64(1), math.Abs(f-math.Round(f))
	for d := int64(2); d <= maxDen && bestErr > 1e-12; d++ {
		n := int64(math.Round(f * float64(d)))
		if err := math.Abs(f - float64(n)/float64(d)); err < bestErr-1e-15 {
			bestNum, bestDen, bestErr = n, d, err
		}
	}
	return bestNum, bestDen
}
