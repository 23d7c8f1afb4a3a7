package merge

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/net/html"
)

// tagNames returns the start and end tags of an HTML document as the
// tokenizer sees them ("<b", "</b"), without void and self-closing ones.
func tagNames(s string) []string {
	z := html.NewTokenizer(strings.NewReader(s))
	var out []string
	for {
		switch tt := z.Next(); tt {
		case html.ErrorToken:
			return out
		case html.StartTagToken, html.EndTagToken:
			name, _ := z.TagName()
			if isVoidTag(string(name)) {
				continue
			}
			prefix := "<"
			if tt == html.EndTagToken {
				prefix = "</"
			}
			out = append(out, prefix+string(name))
		}
	}
}

// cancel removes start/end pairs that meet (written independently of
// reduce): dropping a region that cuts through tags keeps exactly the tags
// that do not cancel inside it, so both documents cancel to the same.
func cancel(tags []string) string {
	var st []string
	for _, t := range tags {
		if n := len(st); n > 0 && strings.HasPrefix(t, "</") && st[n-1] == "<"+t[2:] {
			st = st[:n-1]
			continue
		}
		st = append(st, t)
	}
	return strings.Join(st, " ")
}

func FuzzCompileRender(f *testing.F) {
	for _, name := range []string{"outlook_desktop.html", "outlook_web.html"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b), "Zoë", "https://example.com/")
	}
	f.Add(`<p>{{#if A}}<b>{{/if}}x</b>{{A|<i>}}</p>`, "", "javascript:x")
	f.Add(`<a href={{Link}} title={{A}}>{{B}}</a><{{A}}`, "b onload=x", "")
	f.Fuzz(func(t *testing.T, src, v1, v2 string) {
		cols := append([]string{"A", "B"}, goldenColumns...)
		tpl, err := Compile(Source{Subject: src, HTML: src, Text: src}, cols)
		if err != nil {
			return
		}
		// Values that would inject a tag or an attribute if not escaped.
		inj := `<zzinj x="1" '>` + "\" zzattr='1' "
		rows := [][]string{nil, make([]string, len(cols)), make([]string, len(cols))}
		for i := range cols {
			rows[1][i] = v1 + inj
			rows[2][i] = v2
			if i%2 == 1 {
				rows[2][i] = v1 + inj + v2
			}
		}
		want := cancel(tagNames(src))
		nStart := strings.Count(strings.Join(tagNames(src), " "), "<") - strings.Count(strings.Join(tagNames(src), " "), "</")
		var out Rendered
		for _, row := range rows {
			tpl.Render(row, RenderOptions{Unsubscribe: v2}, &out)
			got := string(out.HTML)
			if c := cancel(tagNames(got)); c != want {
				t.Fatalf("structure changed\nsrc:  %q\nout:  %q\nwant: %s\ngot:  %s", src, got, want, c)
			}
			tags := tagNames(got)
			n := strings.Count(strings.Join(tags, " "), "<") - strings.Count(strings.Join(tags, " "), "</")
			if n > nStart {
				t.Fatalf("more start tags: %q -> %q", src, got)
			}
			if !strings.Contains(strings.ToLower(src), "zz") && attrNamed(got, "zzattr") {
				t.Fatalf("attribute injected: %q -> %q", src, got)
			}
			if utf8.ValidString(src) && utf8.ValidString(v1) && utf8.ValidString(v2) {
				for _, b := range [][]byte{out.Subject, out.HTML, out.Text} {
					if !utf8.Valid(b) {
						t.Fatalf("invalid UTF-8 from %q: %q", src, b)
					}
				}
			}
			if bytes.ContainsAny(out.Subject, "\r\n") && !strings.ContainsAny(src, "\r\n") {
				t.Fatalf("line break in subject %q", out.Subject)
			}
		}
	})
}

// attrNamed reports whether any tag of s has an attribute called name.
func attrNamed(s, name string) bool {
	z := html.NewTokenizer(strings.NewReader(s))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return false
		case html.StartTagToken, html.SelfClosingTagToken:
			for {
				k, _, more := z.TagAttr()
				if string(k) == name {
					return true
				}
				if !more {
					break
				}
			}
		}
	}
}
