package merge

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenColumns are the spreadsheet columns of the golden cases, spelled
// differently from the placeholders on purpose.
var goldenColumns = []string{"First Name", "last name", "Company", "Amount", "City", "Order", "Code", "Notes", "Link"}

type goldenCase struct {
	name, input string
	subject     string
	text        string
	row         []string // aligned with goldenColumns
	opts        RenderOptions
}

func goldenCases() []goldenCase {
	const subject = "Your order {{Order}}, {{First name | friend}}"
	const text = "Dear {{First name}},\n{{#if Notes}}Notes: {{Notes}}\n{{/if}}Unsubscribe: {{@unsubscribe}}\n"
	return []goldenCase{
		{
			name: "desktop_full", input: "outlook_desktop.html", subject: subject, text: text,
			row:  []string{"Zoë", "O'Brien & Sons", "ACME <Ltd>", "€1,200", "Zürich", "A-17\r\n", "X 9/1&2", "Ship \"fast\" <please>", "https://example.com/p?id=1&x=2"},
			opts: RenderOptions{Unsubscribe: "https://mail.example/u/abc?r=1&s=2"},
		},
		{
			name: "desktop_empty", input: "outlook_desktop.html", subject: subject, text: text,
			row:  []string{"  ", "Li", "", "", "", "B-2", "", "\u00a0", " javaScript:alert(1)"},
			opts: RenderOptions{Unsubscribe: "https://mail.example/u/def"},
		},
		{
			name: "web_tracking", input: "outlook_web.html", subject: subject, text: text,
			row: []string{"Ana", "Silva", "Initech", "", "Lisbon", "C-3", "c3", "", "mailto:ana@example.com"},
			opts: RenderOptions{Unsubscribe: "https://mail.example/u/ghi", BeforeBodyEnd: `<img src="https://t.example/o/1" width=1 height=1 alt="">`,
				LinkRewriter: func(i int, u string) string { return fmt.Sprintf("https://t.example/c/%d?u=%s", i, u) }},
		},
		{
			name: "web_rtl_emoji", input: "outlook_web.html", subject: "🎉 {{First name}} — عرض خاص", text: "שלום {{First name}} 👋 {{Company}}",
			row:  []string{"مرحبا 👋🏽", "כהן", "שלום בע״מ 🚀", "", "", "D-4", "", "", "HTTPS://example.com/שלום"},
			opts: RenderOptions{Unsubscribe: "https://mail.example/u/jkl"},
		},
	}
}

func renderGolden(t *testing.T, c goldenCase) string {
	t.Helper()
	html, err := os.ReadFile(filepath.Join("testdata", c.input))
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := Compile(Source{Subject: c.subject, HTML: string(html), Text: c.text}, goldenColumns)
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	var out Rendered
	tpl.Render(c.row, c.opts, &out)
	var b strings.Builder
	fmt.Fprintf(&b, "-- subject --\n%s\n-- html --\n%s\n-- text --\n%s\n-- dropped --\n", out.Subject, out.HTML, out.Text)
	for _, d := range out.DroppedLinks {
		fmt.Fprintf(&b, "%+v\n", d)
	}
	return b.String()
}

// TestGolden renders realistic Outlook HTML; run with -update to rewrite
// testdata/*.golden after checking the difference by eye.
func TestGolden(t *testing.T) {
	for _, c := range goldenCases() {
		t.Run(c.name, func(t *testing.T) {
			got := renderGolden(t, c)
			path := filepath.Join("testdata", c.name+".golden")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if got != string(want) {
				t.Errorf("render differs from %s (run go test -update and review the diff)\ngot:\n%s", path, got)
			}
		})
	}
}
