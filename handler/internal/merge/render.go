package merge

import (
	"strings"
)

// escCtx is how a value is written where it goes.
type escCtx uint8

const (
	ctxText    escCtx = iota // HTML text: escaped
	ctxAttr                  // HTML attribute value, always quoted: escaped
	ctxPlain                 // text body: as it is
	ctxSubject               // subject: as it is, line breaks made spaces
)

type opKind uint8

const (
	opLit     opKind = iota // append lit
	opValue                 // append the cell of col, or lit (the escaped fallback) when empty
	opUnsub                 // append the unsubscribe link
	opIf                    // when the cell of col is empty: append lit, go to jump
	opJump                  // append lit, go to jump (the end of a taken {{#if}} branch)
	opURL                   // a URL attribute value
	opBodyEnd               // append RenderOptions.BeforeBodyEnd
)

// op is one step of a compiled part.
type op struct {
	kind opKind
	ctx  escCtx
	col  int
	jump int
	lit  string
	url  *urlSlot
}

// urlSlot is a URL attribute value: literal parts and slots.
type urlSlot struct {
	link     int // index in Template.Links, -1 when not the href of a link
	attr     string
	href     bool
	merged   bool   // has placeholders: the scheme is checked
	unquoted bool   // written without quotes: a rewritten URL gets them
	raw      string // the value as written, for when nothing changes
	parts    []urlPart
	columns  []string
}

// urlPart is a literal piece (entities decoded) or a slot of a URL.
type urlPart struct {
	lit      string
	slot     bool
	unsub    bool
	col      int
	fallback string
	encode   uint8 // encNone, encPath or encQuery
}

// How a value merged into a URL is percent-encoded: not at all when it
// starts the URL (it is the URL), and as a path or query component after a
// literal part, so "?code={{Code}}" stays one parameter whatever the cell.
const (
	encNone uint8 = iota
	encPath
	encQuery
)

// appendURLComponent percent-encodes v, keeping RFC 3986 unreserved
// characters, and "/" in a path.
func appendURLComponent(dst []byte, v string, enc uint8) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(v); i++ {
		c := v[i]
		if 'a' <= c|0x20 && c|0x20 <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' || c == '/' && enc == encPath {
			dst = append(dst, c)
			continue
		}
		dst = append(dst, '%', hex[c>>4], hex[c&15])
	}
	return dst
}

// RenderOptions are what a render needs beyond the row.
type RenderOptions struct {
	// Unsubscribe is the row's unsubscribe URL, for {{@unsubscribe}}.
	Unsubscribe string
	// LinkRewriter, when not nil, is given the URL (entities decoded) of
	// every link of the HTML body after merging, with its index in
	// Template.Links, and returns the URL to use (for click tracking).
	// Dropped links are not given to it.
	LinkRewriter func(link int, url string) string
	// BeforeBodyEnd is HTML inserted before the last </body> that is not in
	// a conditional, or at the end when there is none (an open pixel).
	BeforeBodyEnd string
}

// DroppedLink is a URL with a placeholder that was not kept because of its
// scheme. It says which link and columns, never the value.
type DroppedLink struct {
	Link    int      // index in Template.Links, or -1 for another URL attribute
	Attr    string   // "href", "src", ...
	Columns []string // the columns merged into it (shared: do not modify)
	Scheme  string   // the refused scheme, lower case; "" when there was none
}

// Rendered is the output of Render. Reuse one to render many rows without
// allocating: its buffers are overwritten.
type Rendered struct {
	Subject      []byte
	HTML         []byte
	Text         []byte
	DroppedLinks []DroppedLink
	url          []byte // scratch for URLs
}

// Render renders one row into out. cells are aligned with the columns given
// to Compile; missing cells are empty.
func (t *Template) Render(cells []string, opts RenderOptions, out *Rendered) {
	out.DroppedLinks = out.DroppedLinks[:0]
	out.Subject = t.run(t.subject, out.Subject[:0], cells, &opts, out)
	out.HTML = t.run(t.html, out.HTML[:0], cells, &opts, out)
	out.Text = t.run(t.text, out.Text[:0], cells, &opts, out)
}

// cell returns the trimmed cell c of a row.
func cell(cells []string, c int) string {
	if c < 0 || c >= len(cells) {
		return ""
	}
	return trimSpace(cells[c])
}

func (t *Template) run(ops []op, dst []byte, cells []string, o *RenderOptions, out *Rendered) []byte {
	for pc := 0; pc < len(ops); pc++ {
		op := &ops[pc]
		switch op.kind {
		case opLit:
			dst = append(dst, op.lit...)
		case opValue:
			if v := cell(cells, op.col); v != "" {
				dst = appendEscaped(dst, v, op.ctx)
			} else {
				dst = append(dst, op.lit...)
			}
		case opUnsub:
			dst = appendEscaped(dst, o.Unsubscribe, op.ctx)
		case opIf:
			if cell(cells, op.col) == "" {
				dst = append(dst, op.lit...)
				pc = op.jump - 1
			}
		case opJump:
			dst = append(dst, op.lit...)
			pc = op.jump - 1
		case opURL:
			dst = t.url(op.url, dst, cells, o, out)
		case opBodyEnd:
			dst = append(dst, o.BeforeBodyEnd...)
		}
	}
	return dst
}

// url renders a URL attribute value.
func (t *Template) url(u *urlSlot, dst []byte, cells []string, o *RenderOptions, out *Rendered) []byte {
	rewrite := o.LinkRewriter != nil && u.link >= 0
	if !u.merged {
		if rewrite {
			in := u.parts[0].lit
			if s := o.LinkRewriter(u.link, in); s != in {
				if u.unquoted {
					dst = append(dst, '"')
					return append(appendEscaped(dst, s, ctxAttr), '"')
				}
				return appendEscaped(dst, s, ctxAttr)
			}
		}
		return append(dst, u.raw...)
	}
	buf := out.url[:0]
	for _, p := range u.parts {
		switch {
		case !p.slot:
			buf = append(buf, p.lit...)
		case p.unsub:
			buf = append(buf, o.Unsubscribe...)
		default:
			v := cell(cells, p.col)
			if v == "" {
				v = p.fallback
			}
			if p.encode == encNone {
				buf = append(buf, v...)
			} else {
				buf = appendURLComponent(buf, v, p.encode)
			}
		}
	}
	buf = cleanURL(buf)
	out.url = buf
	if scheme, ok := schemeAllowed(buf, u.href); !ok {
		out.DroppedLinks = append(out.DroppedLinks, DroppedLink{Link: u.link, Attr: u.attr, Columns: u.columns, Scheme: scheme})
		if u.href {
			dst = append(dst, '#')
		}
		return dst
	}
	if rewrite {
		return appendEscaped(dst, o.LinkRewriter(u.link, string(buf)), ctxAttr)
	}
	return appendEscaped(dst, buf, ctxAttr)
}

// cleanURL removes what browsers ignore in a URL: leading and trailing C0
// controls and spaces, and tabs and line breaks anywhere ("java\tscript:"
// is javascript:).
func cleanURL(b []byte) []byte {
	start, end := 0, len(b)
	for start < end && b[start] <= ' ' {
		start++
	}
	for end > start && b[end-1] <= ' ' {
		end--
	}
	n := 0 // compact in place, keeping the buffer's start for reuse
	for _, c := range b[start:end] {
		if c != '\t' && c != '\n' && c != '\r' {
			b[n] = c
			n++
		}
	}
	return b[:n]
}

// schemeAllowed reports whether a merged URL may be kept: http, https or
// mailto for href, http, https or cid (Outlook's inline images) for other
// URL attributes. A URL without a scheme is refused too: in an email it
// cannot work. When refused, it returns the scheme in lower case.
func schemeAllowed(u []byte, href bool) (string, bool) {
	end := -1
	for i, c := range u {
		if c == ':' {
			end = i
			break
		}
		alpha := 'a' <= c|0x20 && c|0x20 <= 'z'
		if !alpha && (i == 0 || !('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return "", false
		}
	}
	if end <= 0 {
		return "", false
	}
	s := u[:end]
	switch {
	case equalFold(s, "http"), equalFold(s, "https"):
		return "", true
	case href && equalFold(s, "mailto"), !href && equalFold(s, "cid"):
		return "", true
	}
	if len(s) > 32 {
		s = s[:32]
	}
	return strings.ToLower(string(s)), false
}

// equalFold compares ASCII bytes with a lower-case word, without allocating.
func equalFold(b []byte, word string) bool {
	if len(b) != len(word) {
		return false
	}
	for i := range b {
		if b[i]|0x20 != word[i] {
			return false
		}
	}
	return true
}

// appendEscaped appends s written for ctx. In HTML, & < > " ' become
// references, so a value never makes a tag or leaves its attribute, NUL
// becomes U+FFFD as browsers would, and in text a line break becomes <br>.
func appendEscaped[S string | []byte](dst []byte, s S, ctx escCtx) []byte {
	switch ctx {
	case ctxPlain:
		return append(dst, s...)
	case ctxSubject:
		last := 0
		for i := 0; i < len(s); i++ {
			if c := s[i]; c == '\r' || c == '\n' {
				dst = append(dst, s[last:i]...)
				if !(c == '\n' && i > 0 && s[i-1] == '\r') {
					dst = append(dst, ' ')
				}
				last = i + 1
			}
		}
		return append(dst, s[last:]...)
	}
	last := 0
	for i := 0; i < len(s); i++ {
		var esc string
		switch s[i] {
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '"':
			esc = "&#34;"
		case '\'':
			esc = "&#39;"
		case 0:
			esc = "\uFFFD"
		case '\n', '\r':
			// A line break in a cell (a postal address) shows as one.
			if ctx != ctxText {
				continue
			}
			esc = "<br>"
			if s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
				esc = ""
			}
		default:
			continue
		}
		dst = append(dst, s[last:i]...)
		dst = append(dst, esc...)
		last = i + 1
	}
	return append(dst, s[last:]...)
}
