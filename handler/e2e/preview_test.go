package e2e

import (
	"encoding/json"
	"strings"
	"testing"
)

// outlookDraft is how Outlook desktop sends a draft typed as
// "Dear {{First name}}," with a link and a conditional: Word's markup cuts
// through the placeholders.
const outlookDraft = `<html xmlns:o="urn:schemas-microsoft-com:office:office"><head><style><!-- p.MsoNormal {margin:0cm;} --></style></head>` +
	`<body lang=EN-US><div class=WordSection1>` +
	`<p class=MsoNormal>Dear {{<span lang=EN-GB>First</span>&nbsp;name}},<o:p></o:p></p>` +
	`<p class=MsoNormal>{{#if Company}}Greetings to everyone at {{Company}}.{{else}}Hello!{{/if}}<o:p></o:p></p>` +
	`<p class=MsoNormal><a href="{{Link}}">Your page</a> <!--[if mso]><span>mso only</span><![endif]--></p>` +
	`<p class=MsoNormal><a href="{{@unsubscribe}}">Unsubscribe</a></p></div></body></html>`

func TestPreview(t *testing.T) {
	t.Parallel()
	h := startHost(t, nil)
	tok, _ := h.signIn(t, "alice")
	id, _ := h.newCampaign(t, tok, `{"name":"Preview"}`)
	csv := "Email,First name,Company,Link,Attachments\n" +
		"ann@example.com,Ann <b>&amp;</b> Co,\"Smith & \"\"Sons\"\"\",https://example.com/ann,Offer.pdf\n" +
		"bob@example.com,Bob,,javascript:alert(1),\n" +
		"cy@example.com,,,https://example.com/cy,\n"
	h.upload(t, tok, id, "list.csv", []byte(csv))
	if data := h.processed(t, tok, id); data["status"] != "ready" {
		t.Fatalf("data: %v", data)
	}
	preview := func(row int, subject, html string) map[string]any {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"subject": subject, "html": html, "row": row,
			"attachments": []map[string]string{{"name": "Offer.pdf"}, {"name": "Terms.pdf"}}})
		status, out := h.call(t, "POST", "/v1/campaigns/"+id+"/preview", tok, string(body))
		if status != 200 {
			t.Fatalf("preview: %d %v", status, out)
		}
		return out
	}

	out := preview(2, "Hello {{First name}} from {{Company | us}}", outlookDraft)
	if out["subject"] != `Hello Ann <b>&amp;</b> Co from Smith & "Sons"` {
		t.Errorf("subject (plain text, not escaped): %q", out["subject"])
	}
	html := out["html"].(string)
	for _, want := range []string{
		"Dear Ann &lt;b&gt;&amp;amp;&lt;/b&gt; Co,<o:p></o:p>",
		"Greetings to everyone at Smith &amp; &#34;Sons&#34;.",
		`<a href="https://example.com/ann">`,
		"<!--[if mso]><span>mso only</span><![endif]-->",
		`<a href="https://unsubscribe.preview.invalid/">`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("html lacks %q:\n%s", want, html)
		}
	}
	if to := out["to"].([]any); len(to) != 1 || to[0] != "<ann@example.com>" {
		t.Errorf("to %v", out["to"])
	}
	if att := out["attachments"].([]any); len(att) != 1 || att[0] != "Offer.pdf" {
		t.Errorf("attachments %v", out["attachments"])
	}
	if got := out["placeholders"].([]any); len(got) != 3 {
		t.Errorf("placeholders %v", got)
	}
	warnings, _ := json.Marshal(out["warnings"])
	if !strings.Contains(string(warnings), `"code":"empty_without_fallback","column":"First name"`) || !strings.Contains(string(warnings), `"rows":1`) {
		t.Errorf("want a warning for First name, empty in one row without fallback: %s", warnings)
	}

	// Bob's link is javascript: it is dropped and reported.
	out = preview(3, "Hi", outlookDraft)
	if html := out["html"].(string); strings.Contains(html, "javascript") || !strings.Contains(html, "Hello!") {
		t.Errorf("row 3 html:\n%s", html)
	}
	warnings, _ = json.Marshal(out["warnings"])
	if !strings.Contains(string(warnings), "link_dropped") {
		t.Errorf("no link_dropped warning: %s", warnings)
	}

	// Unknown placeholders are reported with suggestions, nothing rendered.
	out = preview(2, "Hi {{Frist name}}", "<p>{{Compny}} {{#if Company}}x</p>")
	problems, _ := json.Marshal(out["problems"])
	for _, want := range []string{`"code":"unknown_column"`, `"placeholder":"Frist name"`, `"First name"`, `"Company"`, `"code":"unclosed_if"`} {
		if !strings.Contains(string(problems), want) {
			t.Errorf("problems lack %s: %s", want, problems)
		}
	}
	if out["html"] != "" {
		t.Errorf("a template with problems must not render: %q", out["html"])
	}

	// Row numbers are the spreadsheet's; the header is not a row.
	if status, body := h.call(t, "POST", "/v1/campaigns/"+id+"/preview", tok, `{"subject":"x","html":"y","row":1}`); status != 404 {
		t.Errorf("row 1: %d %v", status, body)
	}
	// Nothing of the preview was logged.
	if out := h.Output.String(); strings.Contains(out, "Greetings") || strings.Contains(out, "ann@example.com") {
		t.Error("the handler logged preview content")
	}
}
