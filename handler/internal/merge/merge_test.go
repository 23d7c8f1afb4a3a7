package merge

import (
	"errors"
	"strings"
	"testing"

	"mailmerge/handler/internal/apperr"
)

var testColumns = []string{"First name", "Company", "Link", "Notes", "Code"}

func mustCompile(t *testing.T, src Source) *Template {
	t.Helper()
	tpl, err := Compile(src, testColumns)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return tpl
}

func renderHTML(t *testing.T, html string, row ...string) (string, []DroppedLink) {
	t.Helper()
	var out Rendered
	mustCompile(t, Source{HTML: html}).Render(row, RenderOptions{}, &out)
	return string(out.HTML), out.DroppedLinks
}

func TestOutlookSplitPlaceholders(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`<p>{{<span lang=EN-US>First</span>&nbsp;Name}}</p>`, `<p>Bob</p>`},
		{`<p>{<span>{First name}</span>}</p>`, `<p>Bob</p>`},
		{`<p>{{First<o:p></o:p> name}}</p>`, `<p>Bob</p>`},
		{`<p>{{First<!-- c --> name}}</p>`, `<p>Bob</p>`},
		{`<p><span>Dear {{First</span><span> name}}</span></p>`, `<p><span>Dear Bob</span><span></span></p>`},
		{`<p><b>{{First</b> name}}</p>`, `<p><b>Bob</b></p>`},
		{`<p>{{{First name}}}</p>`, `<p>{Bob}</p>`},
		{"<p>{{ FIRST \u00a0 NAME }}</p>", `<p>Bob</p>`},
		{`<p>{{Company | “Friend”}}</p>`, `<p>Friend</p>`},
		{`<p>{{Company | &#8220;dear friend&#8221;}}</p>`, `<p>dear friend</p>`},
		{`<p>{{Company | Tom &amp; <i>Jerry</i>}}</p>`, `<p>Tom &amp; Jerry</p>`},
		{`<p>{{Company | " - "}}</p>`, `<p> - </p>`},
		{`<!--[if mso]>{{x}}<![endif]--><![if !supportLists]>·<![endif]>{{First name}}`, `<!--[if mso]>{{x}}<![endif]--><![if !supportLists]>·<![endif]>Bob`},
		{`<style>p {{x}} {color:red}</style>{{First name}}`, `<style>p {{x}} {color:red}</style>Bob`},
		{`a <{{First name}}`, `a &lt;Bob`},
	} {
		got, _ := renderHTML(t, tc.in, "Bob")
		if got != tc.want+"" {
			t.Errorf("%s\n got %s\nwant %s", tc.in, got, tc.want)
		}
	}
}

func TestEscaping(t *testing.T) {
	v := `<script>alert("x")</script> & 'q'`
	tpl := mustCompile(t, Source{
		Subject: "S {{First name}}",
		HTML:    `<p title="{{First name}}" class={{Company}}>{{First name}}</p>`,
		Text:    "T {{First name}}",
	})
	var out Rendered
	tpl.Render([]string{v + "\r\nline2", v + "\r\nline2"}, RenderOptions{}, &out)
	esc := `&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#39;q&#39;`
	wantHTML := `<p title="` + esc + "\r\nline2" + `" class="` + esc + "\r\nline2" + `">` + esc + "<br>line2</p>"
	if string(out.HTML) != wantHTML {
		t.Errorf("html:\n got %s\nwant %s", out.HTML, wantHTML)
	}
	if want := "S " + v + " line2"; string(out.Subject) != want {
		t.Errorf("subject %q, want %q", out.Subject, want)
	}
	if want := "T " + v + "\r\nline2"; string(out.Text) != want {
		t.Errorf("text %q, want %q", out.Text, want)
	}
}

// TestLineBreaksInValues: a postal address in one cell looks like an
// address: lines in the HTML body, as written in the text part, one line
// in the subject.
func TestLineBreaksInValues(t *testing.T) {
	tpl := mustCompile(t, Source{Subject: "For {{Notes}}", HTML: "<p>{{Notes}}</p>", Text: "To: {{Notes}}"})
	for _, v := range []string{"1 Main St\nSpringfield\nIL 62701", "1 Main St\r\nSpringfield\rIL 62701"} {
		var out Rendered
		tpl.Render([]string{"", "", "", v}, RenderOptions{}, &out)
		if got, want := string(out.HTML), "<p>1 Main St<br>Springfield<br>IL 62701</p>"; got != want {
			t.Errorf("%q: html %q, want %q", v, got, want)
		}
		if got, want := string(out.Subject), "For 1 Main St Springfield IL 62701"; got != want {
			t.Errorf("%q: subject %q, want %q", v, got, want)
		}
		if got := string(out.Text); got != "To: "+v {
			t.Errorf("%q: text %q", v, got)
		}
	}
}

func TestLinks(t *testing.T) {
	for _, tc := range []struct {
		value, want, scheme string
	}{
		{"javascript:alert(1)", "#", "javascript"},
		{"JaVaScRiPt:alert(1)", "#", "javascript"},
		{" javascript:alert(1)", "#", "javascript"},
		{"java\tscript:alert(1)", "#", "javascript"},
		{"\x01javascript:alert(1)", "#", "javascript"},
		{"data:text/html,<b>", "#", "data"},
		{"vbscript:x", "#", "vbscript"},
		{"example.com", "#", ""},
		{"https://example.com/a?b=1&c=\"2\"", "https://example.com/a?b=1&amp;c=&#34;2&#34;", ""},
		{" HTTP://example.com ", "HTTP://example.com", ""},
		{"mailto:ana@example.com", "mailto:ana@example.com", ""},
	} {
		got, dropped := renderHTML(t, `<a href="{{Link}}">x</a>`, "", "", tc.value)
		want := `<a href="` + tc.want + `">x</a>`
		if got != want {
			t.Errorf("%q: got %s, want %s", tc.value, got, want)
		}
		if (tc.want == "#") != (len(dropped) == 1) {
			t.Fatalf("%q: dropped %v", tc.value, dropped)
		}
		if len(dropped) == 1 && (dropped[0].Scheme != tc.scheme || dropped[0].Link != 0 || dropped[0].Attr != "href" || dropped[0].Columns[0] != "Link") {
			t.Errorf("%q: dropped %+v", tc.value, dropped[0])
		}
	}
	got, dropped := renderHTML(t, `<img src="{{Link}}"><img src=cid:{{Code}}>`, "", "", "javascript:x", "", "img1@01D")
	if got != `<img src=""><img src="cid:img1@01D">` || len(dropped) != 1 || dropped[0].Link != -1 {
		t.Errorf("src: %s %v", got, dropped)
	}
	got, _ = renderHTML(t, `<a href="https://x.example/p/{{Code}}?q={{Code}}">x</a>`, "", "", "", "", "a/b c&d")
	if want := `<a href="https://x.example/p/a/b%20c%26d?q=a%2Fb%20c%26d">x</a>`; got != want {
		t.Errorf("encoded: got %s, want %s", got, want)
	}
}

func TestLinkRewriterAndPixel(t *testing.T) {
	tpl := mustCompile(t, Source{HTML: `<body><a href=https://a.example/?x=1&amp;y=2>a</a>{{#if Notes}}<a href="{{Link}}">b</a>{{/if}}<a href="{{@unsubscribe}}">u</a></body></html>`})
	links := tpl.Links()
	if len(links) != 3 || links[0].URL != "https://a.example/?x=1&y=2" || links[1].Columns[0] != "Link" || !links[2].Unsubscribe {
		t.Fatalf("links %+v", links)
	}
	var seen []string
	opts := RenderOptions{Unsubscribe: "https://u.example/1", BeforeBodyEnd: "<img src=p>",
		LinkRewriter: func(i int, u string) string {
			seen = append(seen, u)
			if i == 2 {
				return u
			}
			return "https://t.example/?u=" + u
		}}
	var out Rendered
	tpl.Render([]string{"", "", "https://b.example/", "n"}, opts, &out)
	want := `<body><a href="https://t.example/?u=https://a.example/?x=1&amp;y=2">a</a><a href="https://t.example/?u=https://b.example/">b</a><a href="https://u.example/1">u</a><img src=p></body></html>`
	if string(out.HTML) != want || len(seen) != 3 {
		t.Errorf("got %s\nwant %s\nseen %v", out.HTML, want, seen)
	}
	// Without a rewriter literal links are untouched, byte for byte.
	tpl.Render(nil, RenderOptions{}, &out)
	if !strings.HasPrefix(string(out.HTML), `<body><a href=https://a.example/?x=1&amp;y=2>a</a><a href="#">u</a>`) {
		t.Errorf("got %s", out.HTML)
	}
	// No </body>: the pixel goes at the end.
	tpl = mustCompile(t, Source{HTML: `<p>x</p>`})
	tpl.Render(nil, RenderOptions{BeforeBodyEnd: "<img>"}, &out)
	if string(out.HTML) != `<p>x</p><img>` {
		t.Errorf("got %s", out.HTML)
	}
}

func TestEmptyAndFallback(t *testing.T) {
	tpl := mustCompile(t, Source{Subject: "{{First name|there}}|{{Company}}", Text: "{{#if Notes}}{{Notes}}{{/if}}"})
	for _, tc := range []struct{ cell, want string }{{"", "there|"}, {" \t\u00a0\n", "there|"}, {" Bob ", "Bob|"}} {
		var out Rendered
		tpl.Render([]string{tc.cell}, RenderOptions{}, &out)
		if string(out.Subject) != tc.want {
			t.Errorf("%q: got %q, want %q", tc.cell, out.Subject, tc.want)
		}
	}
	// Columns: First name, Company, Notes, plus one unused; Company is used
	// without a fallback, the others with one or inside their own {{#if}}.
	got := tpl.EmptyWithoutFallback([]int{1, 2, 3, 3})
	if len(got) != 1 || got["Company"] != 2 {
		t.Errorf("EmptyWithoutFallback = %v", got)
	}
	if cols := tpl.Columns(); strings.Join(cols, ",") != "First name,Company,Notes" {
		t.Errorf("Columns = %v", cols)
	}
}

func TestConditionals(t *testing.T) {
	const src = `{{#if First name}}A{{#if Company}}B{{else}}C{{/if}}D{{else}}E{{#if Company}}F{{/if}}G{{/if}}`
	tpl := mustCompile(t, Source{Subject: src, HTML: src, Text: src})
	for _, tc := range []struct{ first, company, want string }{
		{"x", "y", "ABD"}, {"x", "", "ACD"}, {"", "y", "EFG"}, {"", "", "EG"},
	} {
		var out Rendered
		tpl.Render([]string{tc.first, tc.company}, RenderOptions{}, &out)
		for _, got := range [][]byte{out.Subject, out.HTML, out.Text} {
			if string(got) != tc.want {
				t.Errorf("%q %q: got %q, want %q", tc.first, tc.company, got, tc.want)
			}
		}
	}
	// Across tags: unpaired tags of an untaken branch stay.
	for _, tc := range []struct{ in, notes, want string }{
		{`{{#if Notes}}<b>{{/if}}x</b>`, "", `<b>x</b>`},
		{`{{#if Notes}}<b>{{/if}}x</b>`, "n", `<b>x</b>`},
		{`<p>{{#if Notes}}a</p><p>b{{/if}}</p>`, "", `<p></p><p></p>`},
		{`<p>{{#if Notes}}a</p><p>b{{/if}}</p>`, "n", `<p>a</p><p>b</p>`},
		{`<p>{{#if Notes}}<i>a</i>{{else}}b</p><p>c{{/if}}</p>`, "n", `<p><i>a</i></p><p></p>`},
	} {
		if got, _ := renderHTML(t, tc.in, "", "", "", tc.notes); got != tc.want {
			t.Errorf("%s notes=%q: got %s, want %s", tc.in, tc.notes, got, tc.want)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	_, err := Compile(Source{
		Subject: "Hi {{Frist name}}",
		HTML:    "<p>{{#if Company}}x</p>\n<p>{{else}}y{{else}}</p>\n<p>{{/if}}{{/if}} {{Compnay}} {{First name</p>",
		Text:    "{{#if Notes}}\n  {{ @foo }}",
	}, testColumns)
	var ce *CompileError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v", err)
	}
	if !apperr.Is(err, apperr.Invalid) {
		t.Errorf("not Invalid: %v", err)
	}
	type key struct {
		part, code string
		line, col  int
	}
	want := []key{
		{"subject", "unknown_column", 1, 4},
		{"html", "unclosed_placeholder", 3, 31},
		{"html", "unexpected_else", 2, 13},
		{"html", "unexpected_endif", 3, 11},
		{"html", "unknown_column", 3, 19},
		{"text", "bad_placeholder", 2, 3},
		{"text", "unclosed_if", 1, 1},
	}
	var got []key
	for _, p := range ce.Problems {
		got = append(got, key{p.Part, p.Code, p.Line, p.Column})
	}
	if len(got) != len(want) {
		t.Fatalf("problems:\n%v\nwant\n%v", err, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("problem %d = %+v, want %+v (%s)", i, got[i], want[i], ce.Problems[i])
		}
	}
	p := ce.Problems[0]
	if p.Suggestions[0] != "First name" || len(p.Suggestions) != 3 || !strings.Contains(p.Message, "First name") || p.Offset != 3 {
		t.Errorf("suggestions: %+v", p)
	}
	if ce.Problems[4].Suggestions[0] != "Company" {
		t.Errorf("suggestions: %+v", ce.Problems[4])
	}
	for _, bad := range []string{`<a href="{{#if Link}}x{{/if}}">`, `<a onclick="{{Link}}">`, `{{}}`, `{{#if}}{{/if}}`, `{{#each x}}`} {
		if _, err := Compile(Source{HTML: bad}, testColumns); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestUnicodePreserved(t *testing.T) {
	const tmpl = `<p dir="rtl">مرحبا {{First name}} שלום 👋🏽 {{Company | 🎉 عائلة}}</p>`
	got, _ := renderHTML(t, tmpl, "אבי 🚀\u200f", "")
	if want := `<p dir="rtl">مرحبا אבי 🚀` + "\u200f" + ` שלום 👋🏽 🎉 عائلة</p>`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestRenderDoesNotAllocate(t *testing.T) {
	tpl := mustCompile(t, Source{Subject: "{{First name}}", HTML: benchHTML(2000), Text: "{{Company}}"})
	row := []string{"Ana", "ACME & Co", "https://example.com/x", "note", "C1"}
	var out Rendered
	tpl.Render(row, RenderOptions{}, &out)
	if n := testing.AllocsPerRun(100, func() { tpl.Render(row, RenderOptions{}, &out) }); n != 0 {
		t.Errorf("Render allocates %v times", n)
	}
}
