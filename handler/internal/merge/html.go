package merge

import (
	"strings"

	"golang.org/x/net/html"
)

// tokKind classifies a token of the HTML source.
type tokKind uint8

const (
	tkText    tokKind = iota // text, searched for placeholders
	tkRawText                // script/style contents: never searched
	tkStart                  // start tag
	tkEnd                    // end tag
	tkSelf                   // self-closing tag
	tkComment                // comment, including Outlook's <![if ...]> and <!--[if mso]>
	tkOther                  // doctype, or an unterminated tag at the end
)

// bracket says how a markup token nests: it opens or closes a name, or it
// stands alone (void elements, comments, doctype).
type bracket uint8

const (
	brSelf bracket = iota
	brOpen
	brClose
)

// token is one token of the HTML source, by its raw span.
type token struct {
	kind       tokKind
	start, end int
	name       string // lower-case tag name, or the bracket name of a comment
	br         bracket
}

// rawTextTags are the elements whose contents the tokenizer does not parse
// (textarea and title are RCDATA: entities work, so placeholders do too).
func isRawTextTag(name string) bool {
	switch name {
	case "script", "style", "xmp", "iframe", "noembed", "noframes", "noscript", "plaintext":
		return true
	}
	return false
}

// voidTags never have an end tag, so they never nest.
func isVoidTag(name string) bool {
	switch name {
	case "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr":
		return true
	}
	return false
}

// tokenize splits src into tokens with x/net/html's tokenizer. The tokens'
// raw spans cover src exactly, which is what lets markup outside
// placeholders be copied byte for byte.
func tokenize(src string) []token {
	z := html.NewTokenizer(strings.NewReader(src))
	var toks []token
	off, afterRaw := 0, false
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		raw := z.Raw()
		t := token{start: off, end: off + len(raw)}
		off = t.end
		wasRaw := afterRaw
		afterRaw = false
		switch tt {
		case html.TextToken:
			t.kind = tkText
			if wasRaw {
				t.kind = tkRawText
			}
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			name, _ := z.TagName()
			t.name = string(name)
			t.kind, t.br = tkStart, brOpen
			if tt == html.SelfClosingTagToken {
				t.kind, t.br = tkSelf, brSelf
			} else if tt == html.EndTagToken {
				t.kind, t.br = tkEnd, brClose
			}
			if isVoidTag(t.name) {
				t.br = brSelf
			}
			// The tokenizer reads raw text after <style> and <style/> alike.
			afterRaw = tt != html.EndTagToken && isRawTextTag(t.name)
		case html.CommentToken:
			t.kind = tkComment
			t.name, t.br = commentBracket(raw)
		default:
			t.kind = tkOther
		}
		toks = append(toks, t)
	}
	if off < len(src) {
		// An unterminated tag at the end: the tokenizer drops it, browsers
		// ignore it; keep its bytes as opaque markup.
		toks = append(toks, token{kind: tkOther, start: off, end: len(src)})
	}
	return toks
}

// commentBracket pairs Outlook's conditional comments: the downlevel-revealed
// <![if !supportLists]> ... <![endif]> and <!--[if !mso]><!--> ...
// <!--<![endif]-->, so that a conditional branch that is dropped never
// keeps one half of such a pair. <!--[if mso]>...<![endif]--> is a single
// comment and stands alone.
func commentBracket(raw []byte) (string, bracket) {
	s := string(raw)
	switch {
	case strings.HasPrefix(s, "<![if") || strings.HasPrefix(s, "<![IF"):
		return "![if", brOpen
	case strings.HasPrefix(s, "<![endif]") || strings.HasPrefix(s, "<![ENDIF]"):
		return "![if", brClose
	case strings.HasPrefix(s, "<!--[if") && strings.HasSuffix(s, "<!-->"):
		return "!--[if", brOpen
	case strings.HasPrefix(s, "<!--<![endif]"):
		return "!--[if", brClose
	}
	return "", brSelf
}

// attr is one attribute of a start tag by raw offsets in the source.
type attr struct {
	name             string // lower-case
	valStart, valEnd int    // the value without quotes; -1 when there is none
	quote            byte   // '"', '\'' or 0 when unquoted
}

// scanAttrs finds the attributes of the tag token t, following the same
// steps as x/net/html's tokenizer (readTag, readTagAttrKey, readTagAttrVal),
// which reports attribute values but not where they are.
func scanAttrs(src string, t token) []attr {
	end := t.end
	i := t.start + 1
	isWS := func(c byte) bool { return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\f' }
	skipWS := func() {
		for i < end && isWS(src[i]) {
			i++
		}
	}
	for i < end && !isWS(src[i]) && src[i] != '/' && src[i] != '>' {
		i++
	}
	var attrs []attr
	for skipWS(); i < end; skipWS() {
		if src[i] == '>' {
			break
		}
		ks := i
		for i < end {
			c := src[i]
			if c == '=' && i == ks {
				i++
				continue
			}
			if c == '=' || isWS(c) || c == '/' || c == '>' {
				break
			}
			i++
		}
		a := attr{name: strings.ToLower(src[ks:i]), valStart: -1, valEnd: -1}
		skipWS()
		if i < end && src[i] == '/' {
			i++
		} else if i < end && src[i] == '=' {
			i++
			skipWS()
			switch {
			case i >= end || src[i] == '>':
			case src[i] == '"' || src[i] == '\'':
				a.quote = src[i]
				i++
				a.valStart = i
				for i < end && src[i] != a.quote {
					i++
				}
				a.valEnd = i
				if i < end {
					i++
				}
			default:
				a.valStart = i
				for i < end && !isWS(src[i]) && src[i] != '>' {
					i++
				}
				a.valEnd = i
			}
		}
		if a.name != "" {
			attrs = append(attrs, a)
		}
	}
	return attrs
}

// urlAttrs are attributes holding a URL; Outlook's VML uses src on
// <v:imagedata> and <v:fill>, Word uses background on <body> and <td>.
func isURLAttr(name string) bool {
	switch name {
	case "href", "src", "background", "action", "formaction", "cite", "poster", "data", "longdesc", "usemap", "xlink:href", "srcset", "o:href":
		return true
	}
	return false
}

// reduce returns the markup tokens of toks that do not pair up within them:
// a start tag followed (after anything that itself pairs up) by its end tag
// cancels out, and self-contained tokens vanish. Dropping a region of the
// document (the inside of a placeholder, a conditional branch not taken)
// while keeping what reduce returns leaves the structure of the rest of the
// document unchanged, however the region cuts through tags.
func reduce(toks []token) []token {
	var stack []token
	for _, t := range toks {
		switch {
		case t.kind == tkText || t.kind == tkRawText || t.br == brSelf:
		case t.br == brClose && len(stack) > 0 && stack[len(stack)-1].br == brOpen && stack[len(stack)-1].name == t.name:
			stack = stack[:len(stack)-1]
		default:
			stack = append(stack, t)
		}
	}
	return stack
}
