package sheet

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"unicode/utf8"
)

// xmlScanner is a small pull scanner for the large parts of a workbook
// (the sheet and the shared strings). encoding/xml allocates per token and
// tops out near 33k rows/s on a sheet; these parts use a tiny, regular
// subset of XML, so finding '<' and '>' in a buffer refilled from the zip
// entry is enough, and streams the part without holding it in memory.
type xmlScanner struct {
	r        io.Reader
	buf      []byte
	pos, end int
	err      error // the reader's error, returned once the buffer is used up
	// tag is the current tag between < and >, valid until the next call:
	// usually a slice of buf, so most tags cost no copy.
	tag []byte
	// text is the raw character data before the current tag, kept only
	// when next was asked to keep it.
	text []byte
	long []byte // a tag that spans a refill is assembled here
}

func newXMLScanner(r io.Reader) *xmlScanner {
	return &xmlScanner{r: r, buf: make([]byte, 64<<10)}
}

// fill moves the unread bytes to the front and reads more, reporting false
// at the end of the input.
func (x *xmlScanner) fill() bool {
	if x.err != nil {
		return false
	}
	n := copy(x.buf, x.buf[x.pos:x.end])
	x.pos, x.end = 0, n
	for x.end < len(x.buf) && x.err == nil {
		m, err := x.r.Read(x.buf[x.end:])
		x.end += m
		x.err = err
		if m > 0 {
			break
		}
	}
	return x.end > n || x.err == nil
}

// next moves to the next tag, returning io.EOF at the end. Comments and
// processing instructions are skipped; CDATA is added to the text.
func (x *xmlScanner) next(keepText bool) error {
	x.text = x.text[:0]
	for {
		i := bytes.IndexByte(x.buf[x.pos:x.end], '<')
		if i < 0 {
			if keepText {
				x.text = append(x.text, x.buf[x.pos:x.end]...)
			}
			x.pos = x.end
			if !x.fill() {
				return x.readErr(io.EOF)
			}
			continue
		}
		if keepText {
			x.text = append(x.text, x.buf[x.pos:x.pos+i]...)
		}
		x.pos += i + 1
		if err := x.readTag(); err != nil {
			return err
		}
		if len(x.tag) == 0 || (x.tag[0] != '!' && x.tag[0] != '?') {
			return nil
		}
		switch {
		case bytes.HasPrefix(x.tag, []byte("![CDATA[")):
			if keepText {
				// The text is decoded later, so the one character that
				// decoding would change is escaped.
				for _, c := range x.tag[8 : len(x.tag)-2] {
					if c == '&' {
						x.text = append(x.text, "&amp;"...)
					} else {
						x.text = append(x.text, c)
					}
				}
			}
		case bytes.HasPrefix(x.tag, []byte("!DOCTYPE")):
			// Excel never writes one; a DTD could only be an attack.
			return errors.New("xml: DOCTYPE is not allowed")
		}
	}
}

func (x *xmlScanner) readErr(atEnd error) error {
	if x.err != nil && x.err != io.EOF {
		return x.err
	}
	return atEnd
}

// readTag reads up to the '>' that closes the tag, which may be later than
// the first '>' inside a quoted attribute, a comment or CDATA.
func (x *xmlScanner) readTag() error {
	if j := bytes.IndexByte(x.buf[x.pos:x.end], '>'); j >= 0 {
		if t := x.buf[x.pos : x.pos+j]; tagComplete(t) {
			x.tag = t
			x.pos += j + 1
			return nil
		}
	}
	// The tag spans a refill, or holds a '>': assemble it.
	x.long = x.long[:0]
	for {
		j := bytes.IndexByte(x.buf[x.pos:x.end], '>')
		if j < 0 {
			x.long = append(x.long, x.buf[x.pos:x.end]...)
			x.pos = x.end
			if !x.fill() {
				return x.readErr(io.ErrUnexpectedEOF)
			}
			continue
		}
		x.long = append(x.long, x.buf[x.pos:x.pos+j]...)
		x.pos += j + 1
		if tagComplete(x.long) {
			x.tag = x.long
			return nil
		}
		x.long = append(x.long, '>')
	}
}

func tagComplete(t []byte) bool {
	if len(t) > 0 && t[0] == '!' {
		switch {
		case bytes.HasPrefix(t, []byte("!--")):
			return len(t) >= 5 && bytes.HasSuffix(t, []byte("--"))
		case bytes.HasPrefix(t, []byte("![CDATA[")):
			return bytes.HasSuffix(t, []byte("]]"))
		}
	}
	if bytes.IndexByte(t, '\'') < 0 {
		return bytes.Count(t, []byte{'"'})%2 == 0
	}
	var q byte
	for _, c := range t {
		switch {
		case q == 0 && (c == '"' || c == '\''):
			q = c
		case c == q:
			q = 0
		}
	}
	return q == 0
}

// cellValue reads "<v>TEXT</v></c>" just after a cell's start tag (the
// shape of almost every cell) in one step instead of four tags. It reports
// false, consuming nothing, for any other shape or when the bytes are not
// all buffered; the caller then goes tag by tag. The value is valid until
// the next call.
func (x *xmlScanner) cellValue() ([]byte, bool) {
	b := x.buf[x.pos:x.end]
	if len(b) < 11 || b[0] != '<' || b[1] != 'v' || b[2] != '>' {
		return nil, false
	}
	i := bytes.IndexByte(b[3:], '<')
	if i < 0 || !bytes.HasPrefix(b[3+i:], []byte("</v></c>")) {
		return nil, false
	}
	x.pos += 3 + i + len("</v></c>")
	return b[3 : 3+i], true
}

// name returns the tag's local name (no namespace prefix) and whether it is
// an end tag or self-closing.
func (x *xmlScanner) name() (local []byte, end, selfClose bool) {
	t := x.tag
	if len(t) > 0 && t[0] == '/' {
		end = true
		t = t[1:]
	}
	selfClose = len(t) > 0 && t[len(t)-1] == '/'
	i := 0
	for i < len(t) && t[i] != ' ' && t[i] != '\t' && t[i] != '\n' && t[i] != '\r' && t[i] != '/' {
		i++
	}
	local = t[:i]
	if k := bytes.IndexByte(local, ':'); k >= 0 {
		local = local[k+1:]
	}
	return local, end, selfClose
}

// attrs calls fn for each attribute of the current tag with its raw value.
func (x *xmlScanner) attrs(fn func(name, value []byte)) {
	t := x.tag
	i := 0
	for i < len(t) && !isSpace(t[i]) { // skip the name
		i++
	}
	for {
		for i < len(t) && isSpace(t[i]) {
			i++
		}
		start := i
		for i < len(t) && t[i] != '=' && !isSpace(t[i]) {
			i++
		}
		name := t[start:i]
		for i < len(t) && (isSpace(t[i]) || t[i] == '=') {
			i++
		}
		if i >= len(t) || (t[i] != '"' && t[i] != '\'') {
			return
		}
		end := bytes.IndexByte(t[i+1:], t[i])
		if end < 0 {
			return
		}
		fn(name, t[i+1:i+1+end])
		i += end + 2
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// appendDecoded appends raw XML character data as text: entities and
// character references decoded, line ends normalised as an XML parser does,
// and Excel's _xHHHH_ escapes (such as _x000D_ for a carriage return)
// decoded.
func appendDecoded(dst, raw []byte) (out []byte) {
	if bytes.IndexByte(raw, '&') < 0 && bytes.IndexByte(raw, '\r') < 0 && bytes.IndexByte(raw, '_') < 0 {
		return append(dst, raw...)
	}
	start := len(dst)
	defer func() { out = newlines(out, start) }()
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch c {
		case '\r':
			dst = append(dst, '\n')
			if i+1 < len(raw) && raw[i+1] == '\n' {
				i++
			}
		case '&':
			end := bytes.IndexByte(raw[i:min(len(raw), i+12)], ';')
			if end < 0 {
				dst = append(dst, c)
				continue
			}
			if r, ok := entity(raw[i+1 : i+end]); ok {
				dst = utf8.AppendRune(dst, r)
				i += end
			} else {
				dst = append(dst, c)
			}
		case '_':
			r, n := excelEscape(raw[i:])
			if n == 0 {
				dst = append(dst, c)
				continue
			}
			if r >= 0xD800 && r < 0xDC00 {
				// A surrogate pair is written as two escapes.
				if lo, m := excelEscape(raw[i+n:]); m > 0 && lo >= 0xDC00 && lo < 0xE000 {
					r = 0x10000 + (r-0xD800)<<10 + (lo - 0xDC00)
					n += m
				}
			}
			dst = utf8.AppendRune(dst, r)
			i += n - 1
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// newlines turns the line breaks a cell holds as CR LF or CR (written as
// _x000D_ or &#13;) into LF from start on, as a CSV value's are: a line
// break is one thing, whatever the file.
func newlines(b []byte, start int) []byte {
	if bytes.IndexByte(b[start:], '\r') < 0 {
		return b
	}
	w := start
	for i := start; i < len(b); i++ {
		if b[i] == '\r' {
			b[w] = '\n'
			w++
			if i+1 < len(b) && b[i+1] == '\n' {
				i++
			}
			continue
		}
		b[w] = b[i]
		w++
	}
	return b[:w]
}

func entity(name []byte) (rune, bool) {
	switch string(name) {
	case "lt":
		return '<', true
	case "gt":
		return '>', true
	case "amp":
		return '&', true
	case "quot":
		return '"', true
	case "apos":
		return '\'', true
	}
	if len(name) > 1 && name[0] == '#' {
		base, digits := 10, name[1:]
		if digits[0] == 'x' || digits[0] == 'X' {
			base, digits = 16, digits[1:]
		}
		if v, err := strconv.ParseUint(string(digits), base, 32); err == nil && utf8.ValidRune(rune(v)) {
			return rune(v), true
		}
	}
	return 0, false
}

// excelEscape decodes _xHHHH_ at the start of b, returning its length or 0.
func excelEscape(b []byte) (rune, int) {
	if len(b) < 7 || b[0] != '_' || b[1] != 'x' || b[6] != '_' {
		return 0, 0
	}
	var r rune
	for _, c := range b[2:6] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, 0
		}
	}
	return r, 7
}
