package sheet

import (
	"strings"
	"unicode/utf8"
)

// numFormat is an Excel number format code compiled once per style, so that
// formatting a cell is a walk over a few tokens rather than a parse of the
// code. It has up to four sections: positive;negative;zero;text.
type numFormat struct {
	sections []fmtSection
	// conditional is set when a section carries a condition such as
	// [<=9999999]; sections are then chosen by condition, not by sign.
	conditional bool
	// text is the index of the section applied to text cells, or -1 when
	// text is shown as it is.
	text int
	// general is set for plain General, where a stored number that is short
	// enough is already its displayed text.
	general bool
}

type sectionKind uint8

const (
	kindLiteral sectionKind = iota // only literals, possibly none: "-" or ""
	kindNumber
	kindFraction
	kindDate
	kindText
	kindGeneral
)

type tokKind uint8

const (
	tokLit      tokKind = iota
	tokInt              // integer digit placeholder; pos counts from the right
	tokPoint            // the decimal point
	tokFrac             // decimal digit placeholder; pos counts from the left
	tokExp              // E+ or E-, followed by the exponent's placeholders
	tokExpDigit         // an exponent placeholder (the digits print at tokExp)
	tokNum              // numerator placeholder; pos counts from the right
	tokSlash            // the fraction bar
	tokDen              // denominator placeholder; pos counts from the left
	tokDenFixed         // a fixed denominator such as the 16 of # ?/16
	tokComma            // a comma, resolved while compiling
	tokText             // @
	tokGeneral
	tokYear
	tokMonth
	tokDay
	tokHour
	tokMinute
	tokSecond
	tokSubsec // .0 to .000 after seconds; n is the digit count
	tokAMPM   // lit is the morning text, lit2 the afternoon text
	tokElapsedH
	tokElapsedM
	tokElapsedS
)

type token struct {
	kind tokKind
	ch   byte // the placeholder: '0', '#' or '?'
	n    int  // pos of a placeholder; width of a date part
	lit  string
	lit2 string
}

// fmtSection is one compiled section with the layout numbers the formatter
// needs, so that they are not recounted per cell.
type fmtSection struct {
	tokens []token
	kind   sectionKind

	hasCond bool
	condOp  string
	condVal float64

	intN, fracN int
	thousands   bool
	scaleExp    int // powers of ten: +2 per %, -3 per trailing comma
	exp         bool
	expPlus     bool
	expMin      int // exponent digits always shown
	engineering bool

	hasWhole bool // fraction with a whole-number part: # ?/?
	numN     int
	denN     int
	denFixed int64

	hour12 bool
	subsec int // decimal digits of seconds shown
}

// compileFormat parses an Excel format code. It never fails: what it does
// not understand it shows literally, as a best effort beats no text at all.
func compileFormat(code string) *numFormat {
	f := &numFormat{text: -1}
	if strings.TrimSpace(code) == "" {
		code = "General"
	}
	parts := splitSections(code)
	if len(parts) > 4 {
		parts = parts[:4]
	}
	for _, p := range parts {
		s := compileSection(p)
		f.conditional = f.conditional || s.hasCond
		f.sections = append(f.sections, s)
	}
	f.general = len(f.sections) == 1 && f.sections[0].kind == kindGeneral && len(f.sections[0].tokens) == 1
	// The text section is the fourth, or a last one that holds @ (numbers
	// then use the sections before it).
	switch last := len(f.sections) - 1; {
	case last == 3:
		f.text = 3
	case f.sections[last].hasText():
		f.text = last
	}
	return f
}

// hasText tells whether the section shows the text (@).
func (s *fmtSection) hasText() bool {
	for _, t := range s.tokens {
		if t.kind == tokText {
			return true
		}
	}
	return false
}

// splitSections splits on semicolons outside quotes, brackets and escapes.
func splitSections(code string) []string {
	var parts []string
	start := 0
	for i := 0; i < len(code); i++ {
		switch code[i] {
		case '"':
			if j := strings.IndexByte(code[i+1:], '"'); j >= 0 {
				i += j + 1
			} else {
				i = len(code)
			}
		case '[':
			if j := strings.IndexByte(code[i+1:], ']'); j >= 0 {
				i += j + 1
			}
		case '\\', '_', '*':
			i++
		case ';':
			parts = append(parts, code[start:i])
			start = i + 1
		}
	}
	return append(parts, code[start:])
}

// isDateSection tells whether a section formats dates or times: it has date
// letters outside quotes and escapes ("e" is a year unless it is E+ or E-).
func isDateSection(src string) bool {
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch c {
		case '"':
			if j := strings.IndexByte(src[i+1:], '"'); j >= 0 {
				i += j + 1
			} else {
				return false
			}
			continue
		case '\\', '_', '*':
			i++
			continue
		case '[':
			j := strings.IndexByte(src[i+1:], ']')
			if j < 0 {
				return false
			}
			if inner := strings.ToLower(src[i+1 : i+1+j]); inner != "" && strings.Trim(inner, "hms") == "" {
				return true
			}
			i += j + 1
			continue
		}
		if hasPrefixFold(src[i:], "general") {
			i += len("general") - 1
			continue
		}
		switch c | 0x20 {
		case 'y', 'd', 'h', 's', 'm':
			return true
		case 'e':
			if i+1 >= len(src) || (src[i+1] != '+' && src[i+1] != '-') {
				return true
			}
		case 'a':
			if hasPrefixFold(src[i:], "am/pm") || hasPrefixFold(src[i:], "a/p") {
				return true
			}
		}
	}
	return false
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// runLen counts the repeats of s[i] (case-insensitively) from i.
func runLen(s string, i int) int {
	n := 1
	for i+n < len(s) && s[i+n]|0x20 == s[i]|0x20 {
		n++
	}
	return n
}

func compileSection(src string) fmtSection {
	var s fmtSection
	date := isDateSection(src)
	var toks []token
	lit := func(l string) { toks = append(toks, token{kind: tokLit, lit: l}) }
	seenPoint := false
	for i := 0; i < len(src); {
		c := src[i]
		switch {
		case c == '"':
			j := strings.IndexByte(src[i+1:], '"')
			if j < 0 {
				lit(src[i+1:])
				i = len(src)
			} else {
				lit(src[i+1 : i+1+j])
				i += j + 2
			}
			continue
		case c == '\\' || c == '_' || c == '*':
			// \x shows x; _x leaves the width of x (one space is the closest
			// text); *x fills the column with x, which text cannot show.
			size := 0
			if i+1 < len(src) {
				_, size = utf8.DecodeRuneInString(src[i+1:])
			}
			if c == '\\' {
				lit(src[i+1 : i+1+size])
			} else if c == '_' {
				lit(" ")
			}
			i += 1 + size
			continue
		case c == '[':
			j := strings.IndexByte(src[i+1:], ']')
			if j < 0 {
				lit(src[i:])
				i = len(src)
				continue
			}
			toks = s.bracket(toks, src[i+1:i+1+j])
			i += j + 2
			continue
		case hasPrefixFold(src[i:], "general"):
			toks = append(toks, token{kind: tokGeneral})
			i += len("general")
			continue
		case c == '@':
			toks = append(toks, token{kind: tokText})
			i++
			continue
		}
		if date {
			var n int
			toks, n = dateToken(toks, src, i)
			i += n
			continue
		}
		switch {
		case c == '0' || c == '#' || c == '?':
			kind := tokInt
			if seenPoint {
				kind = tokFrac
			}
			toks = append(toks, token{kind: kind, ch: c})
		case c == '.' && !seenPoint:
			seenPoint = true
			toks = append(toks, token{kind: tokPoint})
		case c == ',':
			toks = append(toks, token{kind: tokComma})
		case c == '%':
			s.scaleExp += 2
			lit("%")
		case (c == 'E' || c == 'e') && i+1 < len(src) && (src[i+1] == '+' || src[i+1] == '-'):
			toks = append(toks, token{kind: tokExp})
			s.exp, s.expPlus = true, src[i+1] == '+'
			i++
		case c == '/':
			toks = append(toks, token{kind: tokSlash})
		default:
			_, size := utf8.DecodeRuneInString(src[i:])
			lit(src[i : i+size])
			i += size
			continue
		}
		i++
	}
	if date {
		s.tokens = s.finishDate(toks)
	} else {
		s.tokens = s.finishNumber(toks)
	}
	s.tokens = mergeLiterals(s.tokens)
	s.kind = s.classify(date)
	return s
}

func (s *fmtSection) classify(date bool) sectionKind {
	var general, text, digits bool
	for _, t := range s.tokens {
		switch t.kind {
		case tokGeneral:
			general = true
		case tokText:
			text = true
		case tokInt, tokFrac, tokNum, tokDen, tokExp:
			digits = true
		}
	}
	switch {
	case general:
		return kindGeneral
	case date:
		return kindDate
	case s.denN > 0 || s.denFixed > 0:
		return kindFraction
	case digits:
		return kindNumber
	case text:
		return kindText
	}
	return kindLiteral
}
