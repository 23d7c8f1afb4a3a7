package sheet

import (
	"math"
	"strconv"
	"unicode/utf8"
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
		if v < 0 && (date1904 || s.elapsedOnly()) && s.elapsed() {
			// A negative elapsed time shows with a minus sign: always when
			// the code holds nothing else ([h]), and in the 1904 date
			// system, which allows negative times.
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
	if s.kind == kindNumber {
		return s.appendNumber(dst, abs, minus)
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

// elapsedOnly tells whether the section is one elapsed count ([h], [mm],
// [s]) and literals.
func (s *fmtSection) elapsedOnly() bool {
	parts := 0
	for _, t := range s.tokens {
		if t.kind != tokLit {
			parts++
		}
	}
	return parts == 1
}

// pick chooses the section for v and whether a minus sign must be added:
// only a section that is not itself for negatives gets one.
func (f *numFormat) pick(v float64) (*fmtSection, bool) {
	secs := f.sections
	n := min(len(secs), 3) // the sections for numbers
	if f.text >= 0 && f.text < 3 {
		n = f.text
	}
	if n == 0 {
		return nil, false
	}
	if f.conditional {
		return f.pickByCondition(secs[:n], v)
	}
	switch {
	case n == 1 || (v >= 0 && n == 2) || (v > 0 && n >= 3):
		return &secs[0], v < 0
	case v < 0:
		return &secs[1], false
	}
	return &secs[2], false
}

// pickByCondition chooses among sections with conditions, as Excel does:
// a value that meets the first section's condition takes it; when only the
// first has a condition, the second is for negative values and the third
// for the rest (with two sections, the second is for all the rest, and
// shows a minus sign unless the first takes every value that is not
// negative); a second section with its own condition takes what meets it,
// and the third the rest.
func (f *numFormat) pickByCondition(secs []fmtSection, v float64) (*fmtSection, bool) {
	first := &secs[0]
	if !first.hasCond || first.matches(v) {
		return first, v < 0 && !first.negativeCond()
	}
	switch {
	case len(secs) == 1:
		return nil, false
	case secs[1].hasCond:
		if secs[1].matches(v) {
			return &secs[1], v < 0 && !secs[1].negativeCond()
		}
		if len(secs) > 2 {
			return &secs[2], v < 0
		}
		return nil, false
	case len(secs) == 2:
		return &secs[1], v < 0 && !first.takesNonNegative()
	case v < 0:
		return &secs[1], false
	}
	return &secs[2], false
}

// negativeCond tells whether the section's condition is for negative
// values only ([<0], [<=-5]): a minus sign then goes without saying.
func (s *fmtSection) negativeCond() bool {
	return s.hasCond && (s.condOp == "<" || s.condOp == "<=") && s.condVal <= 0
}

// takesNonNegative tells whether the section's condition takes every value
// that is not negative ([>=0], [>-1]).
func (s *fmtSection) takesNonNegative() bool {
	return s.hasCond && ((s.condOp == ">=" && s.condVal <= 0) || (s.condOp == ">" && s.condVal < 0))
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
	if out, ok := f.appendText(dst, boolText(b)); ok {
		return out
	}
	return append(dst, boolText(b)...)
}

// boolText is how Excel writes a boolean.
func boolText(b bool) string {
	if b {
		return "TRUE"
	}
	return "FALSE"
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
		case tokText, tokGeneral:
			dst = append(dst, text...)
		}
	}
	return dst, true
}

// appendNumber formats v >= 0 with placeholders, walking the tokens so that
// literals inside the number (000-00-0000) stay where the code puts them;
// minus puts a minus sign before it, unless it shows as zero.
func (s *fmtSection) appendNumber(dst []byte, v float64, minus bool) []byte {
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
	// A negative number too small to show shows as zero, unsigned.
	if minus && x.n > 0 {
		dst = append(dst, '-')
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
	case t.ch == '0', t.ch == '#' && s.exp && len(intd) == 0:
		// Excel shows zero in scientific notation with every # a 0
		// (##0.0E+0 shows 000.0E+0).
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
	var whole, num, den int64
	switch {
	case s.denFixed > 0:
		den = s.denFixed
		f := v
		if s.hasWhole {
			whole = int64(math.Floor(v))
			f = v - float64(whole)
		}
		num = int64(math.Round(f * float64(den)))
	default:
		// Excel looks no further than 7-digit denominators.
		p, q := approximate(v, int64(math.Pow10(min(s.denN, 7)))-1)
		num, den = p, q
		if s.hasWhole {
			whole, num = p/q, p%q
		}
	}
	if s.hasWhole && num == den {
		whole, num = whole+1, 0
	}
	// With nothing to show after the whole number, Excel leaves the rest of
	// the code blank, its width kept.
	blank := s.hasWhole && num == 0
	lastWhole := -1
	for i, t := range s.tokens {
		if t.kind == tokInt {
			lastWhole = i
		}
	}
	var wbuf, nbuf, dbuf [24]byte
	wd := wbuf[:0]
	if whole > 0 || blank {
		wd = strconv.AppendInt(wd, whole, 10)
	}
	nd := strconv.AppendInt(nbuf[:0], num, 10)
	dd := strconv.AppendInt(dbuf[:0], den, 10)
	for i, t := range s.tokens {
		if blank && i > lastWhole {
			dst = appendBlank(dst, t)
			continue
		}
		switch t.kind {
		case tokLit:
			dst = append(dst, t.lit...)
		case tokInt:
			dst = s.appendInt(dst, wd, t)
		case tokNum:
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
			dst = append(dst, '/')
		case tokDen:
			switch {
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
			dst = append(dst, t.lit...)
		}
	}
	return dst
}

// appendBlank writes t as spaces of its width.
func appendBlank(dst []byte, t token) []byte {
	n := 1
	switch t.kind {
	case tokLit, tokDenFixed:
		n = utf8.RuneCountInString(t.lit)
	case tokNum, tokDen, tokSlash:
	default:
		n = 0
	}
	for range n {
		dst = append(dst, ' ')
	}
	return dst
}

// approximate finds the fraction Excel shows for x with a denominator of
// at most maxDen: the last convergent of x's continued fraction within
// that bound (not always the closest fraction: 123.456 with ?/? is
// 123 1/2, as Excel shows it).
func approximate(x float64, maxDen int64) (int64, int64) {
	b := x
	var p2, p1, p int64 = 0, 1, 0
	var q2, q1, q int64 = 1, 0, 0
	for q1 < maxDen {
		a := math.Floor(b)
		p = int64(a)*p1 + p2
		q = int64(a)*q1 + q2
		if b-a < 5e-8 {
			break
		}
		b = 1 / (b - a)
		p2, p1 = p1, p
		q2, q1 = q1, q
	}
	if q > maxDen {
		if q1 > maxDen {
			p, q = p2, q2
		} else {
			p, q = p1, q1
		}
	}
	return p, q
}
