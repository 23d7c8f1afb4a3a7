package merge

import (
	"bytes"
	htmltemplate "html/template"
	"strings"
	"testing"
)

// benchHTML builds an Outlook desktop style body of about n paragraphs with
// 10 placeholders and one conditional across paragraphs.
func benchHTML(n int) string {
	var b strings.Builder
	b.WriteString(`<html xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:office:office"><head><meta http-equiv=Content-Type content="text/html; charset=utf-8"><style><!-- p.MsoNormal {margin:0cm;font-size:11.0pt;font-family:"Calibri",sans-serif;} --></style></head><body lang=EN-US link="#0563C1" vlink="#954F72" style='word-wrap:break-word'><div class=WordSection1>`)
	b.WriteString(`<p class=MsoNormal>Dear {{<span lang=EN-GB>First</span>&nbsp;name}},<o:p></o:p></p>`)
	for i := 0; i < n; i++ {
		switch i {
		case n / 4:
			b.WriteString(`<p class=MsoNormal>Your company {{Company}} and code {{Code}}.<o:p></o:p></p>`)
		case n / 3:
			b.WriteString(`<p class=MsoNormal>{{#if Notes}}<o:p></o:p></p><p class=MsoNormal>Notes: {{Notes}}<o:p></o:p></p><p class=MsoNormal>{{/if}}<o:p></o:p></p>`)
		case n / 2:
			b.WriteString(`<p class=MsoNormal>See <a href="{{Link}}">your page</a>, {{First name}} {{Company | your firm}}.<o:p></o:p></p>`)
		case 2 * n / 3:
			b.WriteString(`<p class=MsoNormal>Reference {{Code}} for {{Company}}, {{First name}}.<o:p></o:p></p>`)
		default:
			b.WriteString(`<p class=MsoNormal><span style='font-size:10.0pt;color:#1F3864'>Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor.</span><o:p></o:p></p>`)
		}
	}
	b.WriteString(`</div></body></html>`)
	return b.String()
}

var benchRow = []string{"Ana María", "ACME & Co <Ltd>", "https://example.com/p?id=1", "Ship fast", "C-42"}

func BenchmarkRender(b *testing.B) {
	src := benchHTML(200)
	tpl, err := Compile(Source{Subject: "Hi {{First name}}", HTML: src, Text: "Dear {{First name}}"}, testColumns)
	if err != nil {
		b.Fatal(err)
	}
	var out Rendered
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		tpl.Render(benchRow, RenderOptions{}, &out)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "renders/s")
}

// BenchmarkHTMLTemplate executes the same body with html/template, for the
// ratio (html/template would also destroy Outlook's conditional comments).
func BenchmarkHTMLTemplate(b *testing.B) {
	src := benchHTML(200)
	r := strings.NewReplacer(
		"{{<span lang=EN-GB>First</span>&nbsp;name}}", "{{.First}}", "{{First name}}", "{{.First}}",
		"{{Company | your firm}}", "{{or .Company \"your firm\"}}", "{{Company}}", "{{.Company}}", "{{Code}}", "{{.Code}}",
		"{{#if Notes}}", "{{if .Notes}}", "{{/if}}", "{{end}}", "{{Notes}}", "{{.Notes}}", "{{Link}}", "{{.Link}}")
	tpl := htmltemplate.Must(htmltemplate.New("b").Parse(r.Replace(src)))
	data := map[string]string{"First": benchRow[0], "Company": benchRow[1], "Link": benchRow[2], "Notes": benchRow[3], "Code": benchRow[4]}
	var buf bytes.Buffer
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := tpl.Execute(&buf, data); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "renders/s")
}
