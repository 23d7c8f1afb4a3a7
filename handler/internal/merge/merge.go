// Package merge is the template engine of the mail merge: it compiles the
// subject, HTML body and text body of the email the user wrote in Outlook,
// with {{placeholders}} in them, once per campaign, and renders them for
// each row of the spreadsheet.
//
// The language:
//
//	{{ Column }}                       the row's cell of that column
//	{{ Column | fallback text }}       the fallback when the cell is empty
//	{{#if Column}} … {{else}} … {{/if}}  by whether the cell is non-empty
//	{{@unsubscribe}}                   the row's unsubscribe link
//
// Column names match as campaign.ColumnKey says (case, spaces and
// non-breaking spaces do not matter); keywords are case-insensitive. A cell
// that is only white space is empty, and values are trimmed. A fallback
// wholly in one pair of quotes, straight or smart, loses them.
//
// Outlook splits what the user typed with tags, comments and entities, so
// the HTML is read with x/net/html's tokenizer and a placeholder is found
// across text tokens: {{<span lang=EN-GB>First</span>&nbsp;name}} is
// {{First name}}. Markup outside placeholders is copied byte for byte
// (Outlook's conditional comments included, which html/template would
// destroy). Markup inside a placeholder, and inside a conditional branch
// that is not taken, is dropped except the tags that do not pair up inside
// it, which are kept in order: a placeholder or a conditional may cut
// through tags (a conditional across Outlook paragraphs always does) and
// the rest of the document keeps its structure. So {{#if A}}<b>{{/if}}x</b>
// gives <b>x</b> whether A is empty or not.
//
// Values are escaped in HTML text and attributes; subject and text body are
// plain text, and the subject never gets a line break. A URL attribute with
// a placeholder (href="{{Link}}", href="https://x.example/{{Code}}") keeps
// its URL only when the scheme is http, https or mailto (for src and other
// URL attributes: http, https or cid); otherwise it becomes "#" (or empty)
// and Render reports a DroppedLink. Placeholders are not searched in
// comments, in script or style, in event handler attributes (an error) or in
// attribute names; conditionals are not allowed inside an attribute value.
// A placeholder in an unquoted attribute value gets the value quoted.
package merge

import (
	"mailmerge/handler/internal/campaign"
)

// Source is the template as the user wrote it.
type Source struct {
	Subject string
	HTML    string
	Text    string
}

// Link is an <a href> or <area href> of the HTML body, in document order;
// its index is the one RenderOptions.LinkRewriter is given.
type Link struct {
	URL         string   // the href as written, entities decoded, placeholders as written
	Columns     []string // columns merged into it
	Unsubscribe bool     // it contains {{@unsubscribe}}
	// TextIsURL: the link's visible text is itself a URL (or the same
	// placeholder as its href). Click tracking leaves such a link alone:
	// a shown URL that differs from the href is what phishing filters
	// look for (SpamAssassin HTTPS_HTTP_MISMATCH, rspamd phishing).
	TextIsURL bool
}

// Template is a compiled template: each part is a list of literal
// segments and slots, so rendering is appends. It is safe for concurrent
// use.
type Template struct {
	columns   []string
	index     map[string]int // ColumnKey → index in columns
	used      []int          // column indexes, first use first
	isUsed    []bool
	unguarded []bool // used without fallback outside an {{#if}} of itself
	subject   []op
	html      []op
	text      []op
	links     []Link
}

// Compile compiles a template for a spreadsheet with the given columns. Its
// error is a *CompileError listing every problem found in the three parts.
func Compile(src Source, columns []string) (*Template, error) {
	t := &Template{
		columns:   columns,
		index:     make(map[string]int, len(columns)),
		isUsed:    make([]bool, len(columns)),
		unguarded: make([]bool, len(columns)),
	}
	for i, c := range columns {
		if k := campaign.ColumnKey(c); k != "" {
			if _, dup := t.index[k]; !dup {
				t.index[k] = i
			}
		}
	}
	var probs []Problem
	t.subject = compilePart(t, "subject", src.Subject, ctxSubject, &probs)
	t.html = compilePart(t, "html", src.HTML, ctxText, &probs)
	t.text = compilePart(t, "text", src.Text, ctxPlain, &probs)
	if len(probs) > 0 {
		return nil, &CompileError{Problems: probs}
	}
	return t, nil
}

// Columns returns the columns the template uses, as passed to Compile, in
// order of first use (subject, then HTML, then text).
func (t *Template) Columns() []string {
	out := make([]string, len(t.used))
	for i, c := range t.used {
		out[i] = t.columns[c]
	}
	return out
}

// Links returns the links of the HTML body in document order, including
// those in conditional branches. Links inside a placeholder's braces are
// not links: that markup is dropped.
func (t *Template) Links() []Link { return t.links }

// EmptyWithoutFallback says, for a preview, in how many rows each column
// used without a fallback is empty, leaving out uses inside an {{#if}} of
// the same column. empty[i] is the number of rows whose column i is empty
// (counted once, when the rows are extracted, so a preview need not read
// them all). Columns never empty are absent.
func (t *Template) EmptyWithoutFallback(empty []int) map[string]int {
	out := map[string]int{}
	for _, c := range t.used {
		if t.unguarded[c] && c < len(empty) && empty[c] > 0 {
			out[t.columns[c]] = empty[c]
		}
	}
	return out
}

// use records that column c is used.
func (t *Template) use(c int) {
	if !t.isUsed[c] {
		t.isUsed[c] = true
		t.used = append(t.used, c)
	}
}
