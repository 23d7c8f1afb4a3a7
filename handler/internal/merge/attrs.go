package merge

import (
	"sort"
	"strings"
)

// hasBraces reports whether a tag may hold a placeholder in an attribute.
func hasBraces(raw string) bool {
	return strings.Contains(raw, "{{") || strings.Contains(strings.ToLower(raw), "%7b%7b")
}

// attrPlaceholders finds the placeholders in the value of attribute a.
func (b *builder) attrPlaceholders(a attr) ([]rawPlaceholder, []int) {
	f := &finder{src: b.src, segs: []segment{{start: a.valStart, end: a.valEnd}}, entities: true, percent: isURLAttr(a.name)}
	return f.find()
}

// quoteLit returns a literal piece of an attribute value for the quoting it
// gets in the output: an unquoted value with a placeholder gets quotes, so
// an empty or spaced value cannot change the tag's attributes.
func quoteLit(s string, quote byte) string {
	if quote == 0 {
		return strings.ReplaceAll(s, `"`, "&#34;")
	}
	return s
}

// markup compiles a markup token outside placeholders: copied as it is,
// except attribute values with placeholders and the hrefs of links, which
// become slots.
func (b *builder) markup(tk token) {
	raw := b.src[tk.start:tk.end]
	if tk.kind == tkEnd && tk.name == "body" && len(b.frames) == 0 {
		b.flush()
		if b.bodyEnd >= 0 {
			b.ops[b.bodyEnd].kind = opLit // only the last </body> gets it
		}
		b.bodyEnd = len(b.ops)
		b.ops = append(b.ops, op{kind: opBodyEnd})
	}
	isLink := (tk.kind == tkStart || tk.kind == tkSelf) && (tk.name == "a" || tk.name == "area")
	if tk.kind != tkStart && tk.kind != tkSelf || !isLink && !hasBraces(raw) {
		b.lit(raw)
		return
	}
	pos, linkSeen := tk.start, false
	for _, a := range scanAttrs(b.src, tk) {
		if a.valStart < 0 {
			continue
		}
		href := isLink && a.name == "href" && !linkSeen
		linkSeen = linkSeen || href
		var phs []rawPlaceholder
		if hasBraces(b.src[a.valStart:a.valEnd]) {
			var unclosed []int
			phs, unclosed = b.attrPlaceholders(a)
			for _, at := range unclosed {
				b.problem(at, "unclosed_placeholder", "", "“{{” is not closed by “}}” in the "+a.name+" attribute", nil)
			}
		}
		if len(phs) == 0 && !href {
			continue
		}
		// An unquoted value with a placeholder gets quotes, so that an
		// empty or spaced value cannot change the tag's attributes.
		addQuotes := a.quote == 0 && len(phs) > 0
		b.lit(b.src[pos:a.valStart])
		if addQuotes {
			b.lit(`"`)
		}
		if strings.HasPrefix(a.name, "on") {
			b.problem(phs[0].start, "placeholder_in_script", "", "placeholders are not allowed in the "+a.name+" attribute", nil)
		} else if isURLAttr(a.name) {
			b.urlOp(a, phs, href)
		} else {
			b.attrValue(a, phs)
		}
		if addQuotes {
			b.lit(`"`)
		}
		pos = a.valEnd
	}
	b.lit(b.src[pos:tk.end])
}

// attrCheck parses an attribute placeholder, refusing conditionals.
func (b *builder) attrCheck(a attr, ph rawPlaceholder) (parsed, bool) {
	p := parseContent(ph.content)
	switch p.kind {
	case phValue, phUnsub:
		return p, true
	case phBad:
		b.problem(ph.start, "bad_placeholder", shorten(ph.content), p.msg, nil)
	default:
		b.problem(ph.start, "conditional_in_attribute", shorten(ph.content), "{{#if}}, {{else}} and {{/if}} cannot be used inside the "+a.name+" attribute", nil)
	}
	return p, false
}

// attrValue compiles a non-URL attribute value with placeholders.
func (b *builder) attrValue(a attr, phs []rawPlaceholder) {
	pos := a.valStart
	for _, ph := range phs {
		b.lit(quoteLit(b.src[pos:ph.start], a.quote))
		if p, ok := b.attrCheck(a, ph); ok {
			b.valueOp(p, ph.start, ctxAttr)
		}
		pos = ph.end
	}
	b.lit(quoteLit(b.src[pos:a.valEnd], a.quote))
}

// urlOp compiles a URL attribute value: a slot whose URL is checked and
// offered to the link rewriter at render time.
func (b *builder) urlOp(a attr, phs []rawPlaceholder, href bool) {
	u := &urlSlot{link: -1, attr: a.name, href: a.name == "href", merged: len(phs) > 0,
		raw: b.src[a.valStart:a.valEnd], unquoted: a.quote == 0 && len(phs) == 0}
	var written strings.Builder
	pos := a.valStart
	for _, ph := range phs {
		lit := unescapeAttr(b.src[pos:ph.start])
		u.parts = append(u.parts, urlPart{lit: lit, col: -1})
		written.WriteString(lit)
		written.WriteString("{{" + trimSpace(ph.content) + "}}")
		pos = ph.end
		p, ok := b.attrCheck(a, ph)
		if !ok {
			continue
		}
		part := urlPart{col: -1, slot: true, unsub: p.kind == phUnsub, fallback: p.fallback}
		if prefix := trimSpace(written.String()); strings.ContainsAny(prefix, "?#") {
			part.encode = encQuery
		} else if strings.Contains(prefix, "/") {
			part.encode = encPath
		}
		if p.kind == phValue {
			part.col = b.resolve(p.name, ph.start)
			if !p.hasFallback && part.col >= 0 && !b.guarded(part.col) {
				b.t.unguarded[part.col] = true
			}
			if part.col >= 0 {
				u.columns = append(u.columns, b.t.columns[part.col])
			}
		}
		u.parts = append(u.parts, part)
	}
	lit := unescapeAttr(b.src[pos:a.valEnd])
	u.parts = append(u.parts, urlPart{lit: lit, col: -1})
	written.WriteString(lit)
	if href {
		u.link = len(b.t.links)
		l := Link{URL: written.String(), Columns: u.columns, TextIsURL: b.textIsURL(a, written.String())}
		for _, p := range u.parts {
			l.Unsubscribe = l.Unsubscribe || p.unsub
		}
		b.t.links = append(b.t.links, l)
	}
	b.flush()
	b.ops = append(b.ops, op{kind: opURL, ctx: ctxAttr, url: u})
}

// stripTag returns a markup token as it is kept when its region is dropped:
// as written, but without the placeholders of its attribute values.
func (b *builder) stripTag(tk token) string {
	raw := b.src[tk.start:tk.end]
	if tk.kind != tkStart && tk.kind != tkSelf || !hasBraces(raw) {
		return raw
	}
	var sb strings.Builder
	pos := tk.start
	for _, a := range scanAttrs(b.src, tk) {
		if a.valStart < 0 || !hasBraces(b.src[a.valStart:a.valEnd]) {
			continue
		}
		phs, _ := b.attrPlaceholders(a)
		sb.WriteString(b.src[pos:a.valStart])
		if a.quote == 0 {
			sb.WriteByte('"')
		}
		p := a.valStart
		for _, ph := range phs {
			sb.WriteString(quoteLit(b.src[p:ph.start], a.quote))
			p = ph.end
		}
		sb.WriteString(quoteLit(b.src[p:a.valEnd], a.quote))
		if a.quote == 0 {
			sb.WriteByte('"')
		}
		pos = a.valEnd
	}
	sb.WriteString(b.src[pos:tk.end])
	return sb.String()
}

// textIsURL reports whether the visible text of the link whose href is a
// (written as href) looks like a URL: starts with a scheme or "www.", or
// is only the placeholder the href is.
func (b *builder) textIsURL(a attr, href string) bool {
	// The tokens after the <a> start tag that holds a, up to its </a>.
	i := sort.Search(len(b.toks), func(i int) bool { return b.toks[i].end > a.valStart })
	var text strings.Builder
	for i++; i < len(b.toks); i++ {
		tk := b.toks[i]
		if tk.kind == tkEnd && tk.name == "a" || (tk.kind == tkStart && tk.name == "a") {
			break
		}
		if tk.kind == tkText {
			text.WriteString(b.src[tk.start:tk.end])
		}
	}
	t := strings.ToLower(trimSpace(strings.ReplaceAll(unescapeAttr(text.String()), "\u00a0", " ")))
	if strings.HasPrefix(t, "http://") || strings.HasPrefix(t, "https://") || strings.HasPrefix(t, "www.") {
		return true
	}
	h := strings.ToLower(trimSpace(href))
	return strings.HasPrefix(t, "{{") && strings.HasSuffix(t, "}}") && strings.Count(t, "{{") == 1 &&
		strings.Join(strings.Fields(t), "") == strings.Join(strings.Fields(h), "")
}
