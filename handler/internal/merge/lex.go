package merge

import (
	"html"
	"strings"
	"unicode"
)

// segment is a piece of a template source as the placeholder finder sees
// it: text, in which braces are looked for, or markup, which is transparent.
// Outlook splits what the user typed across tags, comments and entities
// ({{<span lang=EN-GB>First</span>&nbsp;name}}), so a placeholder is a run
// of text segments from "{{" to "}}" with any markup in between.
type segment struct {
	start, end int
	markup     bool
}

// rawPlaceholder is a placeholder found in a source: the span from its first
// brace to after its last, and its content with markup removed and entities
// decoded.
type rawPlaceholder struct {
	start, end int
	content    string
}

// finder finds placeholders in segments of src. entities says whether text
// is HTML (entities are decoded in the content); percent says whether "%7B"
// and "%7D" count as braces, as Outlook writes a "{{Link}}" typed into its
// hyperlink dialog percent-encoded in the href.
type finder struct {
	src      string
	segs     []segment
	entities bool
	percent  bool
}

// brace reports whether src[i:] starts with an open or close brace, and how
// many bytes it takes.
func (f *finder) brace(i int) (open, close bool, width int) {
	switch c := f.src[i]; c {
	case '{':
		return true, false, 1
	case '}':
		return false, true, 1
	case '%':
		if f.percent && i+2 < len(f.src) && f.src[i+1] == '7' {
			switch f.src[i+2] {
			case 'b', 'B':
				return true, false, 3
			case 'd', 'D':
				return false, true, 3
			}
		}
	}
	return false, false, 1
}

// find returns the placeholders in order and the offsets of "{{" that are
// never closed (or are followed by another "{{" before their "}}").
func (f *finder) find() (phs []rawPlaceholder, unclosed []int) {
	const none = -1
	inside := false
	start, contentStart := none, none
	prevOpen, prevClose := none, none // offset of the previous logical char if it was a brace
	empty := true                     // no logical char since the opening "{{"
	openSeg := 0                      // segment of contentStart, where content() starts looking
	for si, s := range f.segs {
		if s.markup {
			continue
		}
		for i := s.start; i < s.end; {
			open, close, w := f.brace(i)
			switch {
			case open && !inside && prevOpen != none:
				inside, start, contentStart, empty = true, prevOpen, i+w, true
				prevOpen, openSeg = none, si
				i += w
				continue
			case open && inside && empty:
				// "{{{": the placeholder opens at the last two braces.
				start, contentStart, openSeg = start+f.widthAt(start), i+w, si
				i += w
				continue
			case open && inside && prevOpen != none:
				unclosed = append(unclosed, start)
				start, contentStart, empty = prevOpen, i+w, true
				prevOpen, openSeg = none, si
				i += w
				continue
			case close && inside && prevClose != none:
				phs = append(phs, rawPlaceholder{start: start, end: i + w, content: f.content(openSeg, contentStart, prevClose)})
				inside, prevClose, prevOpen = false, none, none
				i += w
				continue
			}
			prevOpen, prevClose = none, none
			if open {
				prevOpen = i
			} else if close {
				prevClose = i
			}
			empty = false
			i += w
		}
	}
	if inside {
		unclosed = append(unclosed, start)
	}
	return phs, unclosed
}

func (f *finder) widthAt(i int) int { _, _, w := f.brace(i); return w }

// content joins the text of [a, b), which starts in segment from, without markup, decoding entities (and
// percent escapes where braces were percent-encoded).
func (f *finder) content(from, a, b int) string {
	var sb strings.Builder
	for _, s := range f.segs[from:] {
		if s.start >= b {
			break
		}
		if s.markup || s.end <= a {
			continue
		}
		piece := f.src[max(a, s.start):min(b, s.end)]
		if f.entities {
			// Entities never contain braces or tags, so each text piece
			// holds whole entities and decodes on its own.
			piece = html.UnescapeString(piece)
		}
		sb.WriteString(piece)
	}
	out := sb.String()
	if f.percent && strings.Contains(out, "%") {
		out = percentDecode(out)
	}
	return out
}

// percentDecode decodes %XX escapes, leaving malformed ones as they are.
func percentDecode(s string) string {
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		b = append(b, s[i])
	}
	return string(b)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// phKind is what a placeholder does.
type phKind uint8

const (
	phValue phKind = iota // {{Column}} or {{Column | fallback}}
	phIf                  // {{#if Column}}
	phElse                // {{else}}
	phEndIf               // {{/if}}
	phUnsub               // {{@unsubscribe}}
	phBad                 // a syntax error, described by msg
)

// parsed is the meaning of a placeholder's content.
type parsed struct {
	kind        phKind
	name        string // column name as written, for value and if
	fallback    string
	hasFallback bool
	msg         string // for phBad
}

// trimSpace trims white space including the non-breaking spaces Outlook
// puts next to what the user typed.
func trimSpace(s string) string { return strings.TrimFunc(s, unicode.IsSpace) }

// parseContent reads a placeholder's content. Keywords are case-insensitive
// because Outlook capitalises the first word of a paragraph ("{{Else}}").
func parseContent(content string) parsed {
	s := trimSpace(content)
	low := strings.ToLower(s)
	switch {
	case low == "else":
		return parsed{kind: phElse}
	case low == "/if":
		return parsed{kind: phEndIf}
	case low == "@unsubscribe":
		return parsed{kind: phUnsub}
	case low == "#if":
		return parsed{kind: phBad, msg: "{{#if}} needs a column name, as in {{#if Company}}"}
	case strings.HasPrefix(low, "#if") && unicode.IsSpace(rune(s[3])) || strings.HasPrefix(low, "#if\u00a0"):
		name := trimSpace(s[3:])
		if strings.Contains(name, "|") {
			return parsed{kind: phBad, msg: "{{#if}} takes no fallback"}
		}
		return parsed{kind: phIf, name: name}
	case strings.HasPrefix(s, "@"):
		return parsed{kind: phBad, msg: "unknown special placeholder; the only one is {{@unsubscribe}}"}
	case strings.HasPrefix(s, "#") || strings.HasPrefix(s, "/"):
		return parsed{kind: phBad, msg: "unknown keyword; use {{#if Column}}, {{else}} and {{/if}}"}
	}
	p := parsed{kind: phValue, name: s}
	if i := strings.IndexByte(s, '|'); i >= 0 {
		p.name, p.hasFallback = trimSpace(s[:i]), true
		p.fallback = unquote(trimSpace(s[i+1:]))
	}
	if p.name == "" {
		return parsed{kind: phBad, msg: "empty placeholder; write a column name between {{ and }}"}
	}
	return p
}

// unquote removes one pair of quotes around a whole fallback, straight or
// the smart ones Outlook's AutoCorrect types, so {{Name | “there”}} falls
// back to: there. Quotes keep leading and trailing spaces: {{X | " - "}}.
func unquote(s string) string {
	pairs := [][2]string{{`"`, `"`}, {"'", "'"}, {"“", "”"}, {"‘", "’"}, {"„", "“"}, {"«", "»"}, {"”", "”"}}
	for _, p := range pairs {
		if len(s) >= len(p[0])+len(p[1]) && strings.HasPrefix(s, p[0]) && strings.HasSuffix(s, p[1]) {
			return s[len(p[0]) : len(s)-len(p[1])]
		}
	}
	return s
}
