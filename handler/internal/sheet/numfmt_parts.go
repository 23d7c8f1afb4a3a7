package sheet

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// bracket handles [..]: elapsed time, currency and locale, a condition, or a
// color (ignored: text has no color).
func (s *fmtSection) bracket(toks []token, inner string) []token {
	lower := strings.ToLower(inner)
	switch {
	case lower == "":
	case strings.Trim(lower, "h") == "":
		toks = append(toks, token{kind: tokElapsedH, n: len(lower)})
	case strings.Trim(lower, "m") == "":
		toks = append(toks, token{kind: tokElapsedM, n: len(lower)})
	case strings.Trim(lower, "s") == "":
		toks = append(toks, token{kind: tokElapsedS, n: len(lower)})
	case inner[0] == '$':
		// [$€-407]: the symbol before the locale id is shown.
		sym := inner[1:]
		if k := strings.IndexByte(sym, '-'); k >= 0 {
			sym = sym[:k]
		}
		if sym != "" {
			toks = append(toks, token{kind: tokLit, lit: sym})
		}
	case inner[0] == '<' || inner[0] == '>' || inner[0] == '=':
		op := inner[:1]
		if len(inner) > 1 && (inner[1] == '=' || inner[1] == '>') {
			op = inner[:2]
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(inner[len(op):]), 64); err == nil {
			s.hasCond, s.condOp, s.condVal = true, op, v
		}
	}
	return toks
}

// dateToken reads one date or time part at src[i:] and says how many bytes
// it used. Minutes and months are told apart later.
func dateToken(toks []token, src string, i int) ([]token, int) {
	c := src[i] | 0x20
	switch c {
	case 'y', 'e':
		n := runLen(src, i)
		w := 2
		if n > 2 || c == 'e' {
			w = 4
		}
		return append(toks, token{kind: tokYear, n: w}), n
	case 'm':
		n := runLen(src, i)
		return append(toks, token{kind: tokMonth, n: min(n, 5)}), n
	case 'd':
		n := runLen(src, i)
		return append(toks, token{kind: tokDay, n: min(n, 4)}), n
	case 'h':
		n := runLen(src, i)
		return append(toks, token{kind: tokHour, n: min(n, 2)}), n
	case 's':
		n := runLen(src, i)
		return append(toks, token{kind: tokSecond, n: min(n, 2)}), n
	case 'a':
		if hasPrefixFold(src[i:], "am/pm") {
			// Excel writes AM and PM in capitals however the code spells
			// them; A/P keeps the code's letters.
			return append(toks, token{kind: tokAMPM, lit: "AM", lit2: "PM"}), 5
		}
		if hasPrefixFold(src[i:], "a/p") {
			return append(toks, token{kind: tokAMPM, lit: src[i : i+1], lit2: src[i+2 : i+3]}), 3
		}
	case '.':
		if i+1 < len(src) && src[i+1] == '0' {
			n := 0
			for i+1+n < len(src) && src[i+1+n] == '0' {
				n++
			}
			return append(toks, token{kind: tokSubsec, n: min(n, 3)}), 1 + n
		}
	}
	_, size := utf8.DecodeRuneInString(src[i:])
	return append(toks, token{kind: tokLit, lit: src[i : i+size]}), size
}

func isDatePart(k tokKind) bool { return k >= tokYear }

// finishDate resolves m as minutes after an hour or before a second, and
// notes the 12-hour clock and the shown precision of seconds.
func (s *fmtSection) finishDate(toks []token) []token {
	for i := range toks {
		t := &toks[i]
		switch t.kind {
		case tokAMPM:
			s.hour12 = true
		case tokSubsec:
			s.subsec = max(s.subsec, t.n)
		case tokMonth:
			if t.n > 2 {
				continue
			}
			prev, next := tokLit, tokLit
			for j := i - 1; j >= 0; j-- {
				if isDatePart(toks[j].kind) {
					prev = toks[j].kind
					break
				}
			}
			for j := i + 1; j < len(toks); j++ {
				if isDatePart(toks[j].kind) {
					next = toks[j].kind
					break
				}
			}
			// Minutes, not a month: right after an hour or right before a
			// second. After a second it stays a month, as Excel shows it
			// (hh:mm:ss AM/P shows 12:00:00 A1/P).
			if prev == tokHour || prev == tokElapsedH || next == tokSecond || next == tokElapsedS {
				t.kind = tokMinute
			}
		}
	}
	return toks
}

func isPlaceholder(k tokKind) bool { return k == tokInt || k == tokFrac }

// finishNumber resolves commas (thousands or scaling), a fraction's parts,
// the exponent's digits and each placeholder's position.
func (s *fmtSection) finishNumber(toks []token) []token {
	out := toks[:0:0]
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		if t.kind != tokComma {
			out = append(out, t)
			continue
		}
		j := i
		for j < len(toks) && toks[j].kind == tokComma {
			j++
		}
		prevPH := len(out) > 0 && isPlaceholder(out[len(out)-1].kind)
		nextPH := j < len(toks) && toks[j].kind == tokInt
		switch {
		case prevPH && nextPH && out[len(out)-1].kind == tokInt:
			s.thousands = true
		case prevPH:
			s.scaleExp -= 3 * (j - i)
		default:
			for k := i; k < j; k++ {
				out = append(out, token{kind: tokLit, lit: ","})
			}
		}
		i = j - 1
	}
	toks = out
	inExp := false
	for i := range toks {
		if toks[i].kind == tokExp {
			inExp = true
		} else if inExp && isPlaceholder(toks[i].kind) {
			toks[i].kind = tokExpDigit
			if toks[i].ch == '0' {
				s.expMin++
			}
		}
	}
	s.fraction(toks)
	intN := 0
	for i := range toks {
		if toks[i].kind == tokInt {
			intN++
		}
	}
	s.intN = intN
	seen := 0
	for i := range toks {
		switch toks[i].kind {
		case tokInt:
			seen++
			toks[i].n = intN - seen
			if seen == 1 && toks[i].ch == '#' && s.exp {
				s.engineering = true
			}
		case tokFrac:
			toks[i].n = s.fracN
			s.fracN++
		}
	}
	s.engineering = s.engineering && intN > 1
	return toks
}

// fraction turns "# ??/??" into whole, numerator and denominator tokens when
// the slash has a placeholder before it; otherwise the slash is a literal.
func (s *fmtSection) fraction(toks []token) {
	for k := range toks {
		if toks[k].kind != tokSlash {
			continue
		}
		// Spaces may stand around the bar: ?? / ??.
		before := k - 1
		for before >= 0 && isSpaces(toks[before]) {
			before--
		}
		if s.denN > 0 || s.denFixed > 0 || before < 0 || toks[before].kind != tokInt {
			toks[k] = token{kind: tokLit, lit: "/"}
			continue
		}
		j := k + 1
		for j < len(toks) && isSpaces(toks[j]) {
			j++
		}
		bar := j - 1 // the last token of the bar and its spaces
		for j < len(toks) && isPlaceholder(toks[j].kind) {
			toks[j].kind = tokDen
			toks[j].n = s.denN
			s.denN++
			j++
		}
		if s.denN == 0 || fixedDenominator(toks[bar+1:]) {
			// A denominator with a digit other than 0 is fixed: ?/16, and
			// ?/10, whose 0 would otherwise be a placeholder.
			s.denN = 0
			digits := ""
			for j = bar + 1; j < len(toks) && denominatorDigit(toks[j]) != 0; j++ {
				digits += string(denominatorDigit(toks[j]))
				toks[j] = token{kind: tokLit}
			}
			if digits == "" {
				toks[k] = token{kind: tokLit, lit: "/"}
				continue
			}
			s.denFixed, _ = strconv.ParseInt(digits, 10, 64)
			toks[bar+1] = token{kind: tokDenFixed, lit: digits}
		}
		i := before
		for ; i >= 0 && toks[i].kind == tokInt; i-- {
			toks[i].kind = tokNum
			toks[i].n = s.numN
			s.numN++
		}
		for ; i >= 0; i-- {
			if toks[i].kind == tokInt {
				s.hasWhole = true
			}
		}
	}
}

// isSpaces tells whether t is a literal of spaces only.
func isSpaces(t token) bool {
	return t.kind == tokLit && t.lit != "" && strings.Trim(t.lit, " ") == ""
}

// denominatorDigit is the digit t stands for in a denominator (a literal
// digit, or the placeholder 0), or 0.
func denominatorDigit(t token) byte {
	switch {
	case t.kind == tokLit && len(t.lit) == 1 && t.lit[0] >= '0' && t.lit[0] <= '9':
		return t.lit[0]
	case (t.kind == tokDen || t.kind == tokInt || t.kind == tokFrac) && t.ch == '0':
		return '0'
	}
	return 0
}

// fixedDenominator tells whether the tokens after a fraction bar spell a
// number with a digit other than 0 among them.
func fixedDenominator(toks []token) bool {
	for _, t := range toks {
		d := denominatorDigit(t)
		if d == 0 {
			return false
		}
		if d != '0' {
			return true
		}
	}
	return false
}

func mergeLiterals(toks []token) []token {
	out := toks[:0]
	for _, t := range toks {
		if t.kind == tokLit {
			if t.lit == "" {
				continue
			}
			if n := len(out); n > 0 && out[n-1].kind == tokLit {
				out[n-1].lit += t.lit
				continue
			}
		}
		out = append(out, t)
	}
	return out
}
