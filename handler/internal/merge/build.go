package merge

import (
	"fmt"
	"html"
	"sort"
	"strings"

	"mailmerge/handler/internal/campaign"
)

// frame is an open {{#if}} while compiling.
type frame struct {
	col         int // -1 when the column is unknown
	at          int // offset of the {{#if}}, for errors
	ifOp        int // index of the opIf
	jumpOp      int // index of the opJump at {{else}}, or -1
	branchStart int // offset where the current branch starts
	inElse      bool
}

// builder compiles one part of a template into ops.
type builder struct {
	t       *Template
	part    string
	src     string
	ctx     escCtx // ctxText for the HTML body
	toks    []token
	ops     []op
	pending strings.Builder
	probs   *[]Problem
	frames  []frame
	bodyEnd int // index of the opBodyEnd before the last top-level </body>, or -1
	nprobs  int
}

// compilePart compiles one part, appending its problems to probs.
func compilePart(t *Template, part, src string, ctx escCtx, probs *[]Problem) []op {
	b := &builder{t: t, part: part, src: src, ctx: ctx, probs: probs, bodyEnd: -1}
	f := &finder{src: src}
	if ctx == ctxText {
		b.toks = tokenize(src)
		f.entities = true
		for _, tk := range b.toks {
			f.segs = append(f.segs, segment{start: tk.start, end: tk.end, markup: tk.kind != tkText})
		}
	} else if src != "" {
		b.toks = []token{{kind: tkText, start: 0, end: len(src)}}
		f.segs = []segment{{start: 0, end: len(src)}}
	}
	phs, unclosed := f.find()
	for _, at := range unclosed {
		b.problem(at, "unclosed_placeholder", "", "“{{” is not closed by “}}” before the next “{{” or the end", nil)
	}
	pos, ti := 0, 0
	for _, ph := range phs {
		ti = b.emitRange(ti, pos, ph.start)
		b.placeholder(ph, b.kept(ph.start, ph.end))
		pos = ph.end
	}
	b.emitRange(ti, pos, len(src))
	for _, fr := range b.frames {
		b.problem(fr.at, "unclosed_if", "", "{{#if}} is not closed by {{/if}}", nil)
	}
	b.flush()
	if ctx == ctxText && b.bodyEnd < 0 {
		b.ops = append(b.ops, op{kind: opBodyEnd})
	}
	return b.ops
}

// Limits that keep compiling linear on hostile input.
const (
	maxProblems = 50 // per part; enough to fix a template
	maxDepth    = 16 // nested {{#if}}
)

// problem records a problem at offset at of the part.
func (b *builder) problem(at int, code, placeholder, msg string, sugg []string) {
	b.nprobs++
	if b.nprobs > maxProblems {
		return
	}
	if b.nprobs == maxProblems {
		code, placeholder, msg, sugg = "too_many_problems", "", "too many problems; fix these first", nil
	}
	line, col := position(b.src, at)
	*b.probs = append(*b.probs, Problem{Part: b.part, Offset: at, Line: line, Column: col, Code: code,
		Message: msg, Placeholder: placeholder, Suggestions: sugg})
}

// lit appends literal output.
func (b *builder) lit(s string) {
	if b.ctx == ctxSubject {
		s = oneLine(s)
	}
	b.pending.WriteString(s)
}

// flush turns pending literal output into an op.
func (b *builder) flush() {
	if b.pending.Len() > 0 {
		b.ops = append(b.ops, op{kind: opLit, lit: b.pending.String()})
		b.pending.Reset()
	}
}

// emitRange copies [a, end) of the source, starting the search at token ti,
// and returns the token index to continue from.
func (b *builder) emitRange(ti, a, end int) int {
	for ; ti < len(b.toks) && b.toks[ti].start < end; ti++ {
		tk := b.toks[ti]
		if tk.end <= a {
			continue
		}
		if tk.kind != tkText && tk.kind != tkRawText {
			b.markup(tk)
			continue
		}
		piece := b.src[max(a, tk.start):min(end, tk.end)]
		if b.ctx == ctxText && min(end, tk.end) == end && end < len(b.src) {
			// Text "<" or "&" right before a slot would join whatever the
			// slot gives ("<" + "b>" is a tag); in text they mean
			// themselves, so write them as references.
			switch {
			case strings.HasSuffix(piece, "<"):
				b.lit(piece[:len(piece)-1])
				piece = "&lt;"
			case strings.HasSuffix(piece, "&"):
				b.lit(piece[:len(piece)-1])
				piece = "&amp;"
			}
		}
		b.lit(piece)
		if tk.end > end {
			break
		}
	}
	return ti
}

// kept returns the markup of [a, end) that does not pair up inside it (see
// reduce), to keep when that region is dropped.
func (b *builder) kept(a, end int) string {
	if b.nprobs > 0 {
		return "" // the template will not be used; stay linear
	}
	i := sort.Search(len(b.toks), func(i int) bool { return b.toks[i].start >= a })
	j := sort.Search(len(b.toks), func(i int) bool { return b.toks[i].start >= end })
	var sb strings.Builder
	for _, tk := range reduce(b.toks[i:j]) {
		sb.WriteString(b.stripTag(tk))
	}
	return sb.String()
}

// resolve finds the column of a placeholder, or records an unknown_column
// problem and returns -1.
func (b *builder) resolve(name string, at int) int {
	if c, ok := b.t.index[campaign.ColumnKey(name)]; ok {
		b.t.use(c)
		return c
	}
	sugg := suggest(name, b.t.columns)
	msg := fmt.Sprintf("no column is named “%s”", shorten(name))
	if len(sugg) > 0 {
		msg += "; did you mean “" + strings.Join(sugg, "”, “") + "”?"
	}
	b.problem(at, "unknown_column", shorten(name), msg, sugg)
	return -1
}

// guarded reports whether a use of column c is inside an {{#if c}} branch.
func (b *builder) guarded(c int) bool {
	for _, f := range b.frames {
		if f.col == c && !f.inElse {
			return true
		}
	}
	return false
}

// placeholder compiles a placeholder found in text; kept is the markup
// inside its braces that must stay.
func (b *builder) placeholder(ph rawPlaceholder, kept string) {
	p := parseContent(ph.content)
	switch p.kind {
	case phBad:
		b.lit(kept)
		b.problem(ph.start, "bad_placeholder", shorten(ph.content), p.msg, nil)
	case phValue, phUnsub:
		// Unpaired markup inside the braces goes after the value, so that in
		// <b>{{First</b> name}} the value is bold as the user made it.
		b.valueOp(p, ph.start, b.ctx)
		b.lit(kept)
	case phIf:
		b.lit(kept)
		b.flush()
		c := b.resolve(p.name, ph.start)
		if len(b.frames) == maxDepth {
			b.problem(ph.start, "if_too_deep", shorten(ph.content), fmt.Sprintf("{{#if}} may be nested at most %d deep", maxDepth), nil)
		}
		b.frames = append(b.frames, frame{col: c, at: ph.start, ifOp: len(b.ops), jumpOp: -1, branchStart: ph.end})
		b.ops = append(b.ops, op{kind: opIf, col: c})
	case phElse:
		b.lit(kept)
		if len(b.frames) == 0 || b.frames[len(b.frames)-1].inElse {
			b.problem(ph.start, "unexpected_else", "else", "{{else}} is not inside an {{#if}} … {{/if}}", nil)
			return
		}
		f := &b.frames[len(b.frames)-1]
		b.flush()
		f.jumpOp = len(b.ops)
		b.ops = append(b.ops, op{kind: opJump})
		b.ops[f.ifOp].jump = len(b.ops)
		b.ops[f.ifOp].lit = b.kept(f.branchStart, ph.start) + kept
		f.branchStart, f.inElse = ph.end, true
	case phEndIf:
		if len(b.frames) == 0 {
			b.lit(kept)
			b.problem(ph.start, "unexpected_endif", "/if", "{{/if}} has no {{#if}} before it", nil)
			return
		}
		f := b.frames[len(b.frames)-1]
		b.frames = b.frames[:len(b.frames)-1]
		b.flush()
		skip := f.ifOp
		if f.jumpOp >= 0 {
			skip = f.jumpOp
		}
		b.ops[skip].jump = len(b.ops)
		b.ops[skip].lit = b.kept(f.branchStart, ph.start)
		b.lit(kept)
	}
}

// valueOp appends the op of a value or unsubscribe placeholder in escaping
// context ctx.
func (b *builder) valueOp(p parsed, at int, ctx escCtx) {
	if p.kind == phUnsub {
		b.flush()
		b.ops = append(b.ops, op{kind: opUnsub, ctx: ctx})
		return
	}
	c := b.resolve(p.name, at)
	if !p.hasFallback && c >= 0 && !b.guarded(c) {
		b.t.unguarded[c] = true
	}
	b.flush()
	b.ops = append(b.ops, op{kind: opValue, ctx: ctx, col: c, lit: string(appendEscaped(nil, p.fallback, ctx))})
}

// oneLine replaces line breaks, which a subject must not have, by spaces.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ").Replace(s)
}

// unescapeAttr decodes the entities of a literal piece of an attribute.
func unescapeAttr(s string) string { return html.UnescapeString(s) }
