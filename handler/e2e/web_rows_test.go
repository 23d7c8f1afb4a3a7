package e2e

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"mailmerge/handler/internal/dev/testenv"
)

// TestWebAppRows: in the browser, a person uploads rows, one to an address
// on their unsubscribe list and one with a bad address: the first shows
// as unsubscribed and neither counts among the rows that will be sent.
// The table shows any column, or the whole sheet in its own order; the
// bad row is corrected before the start, in a dialog listing the columns
// in the sheet's order and asking to confirm the change; it is then sent
// with the others, and once the campaign started a skipped row can no
// longer change. Every screen at 1280 and 320 px, checked by axe.
func TestWebAppRows(t *testing.T) {
	t.Parallel()
	h := startHost(t, nil)
	tag := testenv.Name("rows")
	gone := "gone." + tag + "@example.com"
	tok, _ := h.signIn(t, "alice")
	if status, body := h.call(t, "POST", "/v1/suppressions", tok, `{"addresses":["`+gone+`"]}`); status != 200 && status != 201 {
		t.Fatalf("suppress: %d %v", status, body)
	}
	t.Cleanup(func() { h.call(t, "DELETE", "/v1/suppressions/"+url.PathEscape(gone), tok, "") })
	// Not in alphabetical order: the sheet's order is the one to keep.
	sheet := fmt.Sprintf("Email,Last name,First name,Company\n%[1]s.1@example.com,Ash,Ann,Firm 1\nnot-an-address,Birch,Bob,Firm 2\n%[2]s,Cedar,Cy,Firm 3\n%[1]s.4@example.com,Dale,Dee,Firm 4\n", tag, gone)
	csv := filepath.Join(t.TempDir(), "people.csv")
	if err := os.WriteFile(csv, []byte(sheet), 0o644); err != nil {
		t.Fatal(err)
	}
	id, c := h.newCampaign(t, tok, `{"name":"Rows `+tag+`"}`)
	token := strings.TrimPrefix(strings.Split(c["inboundAddress"].(string), "@")[0], "campaigns+")

	ctx := headless(t)
	run := stepper(t, ctx)
	eval := func(what, js string) []string {
		t.Helper()
		out, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](js))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return out
	}
	// choose picks an option of the select labelled label, as a person does.
	choose := func(label, value string) chromedp.Action[chromedp.Void] {
		return chromedp.Evaluate[chromedp.Void](`(() => {
			const l = Array.from(document.querySelectorAll(".rows-view label")).find((l) => l.firstChild.textContent.trim() === ` + jsString(label) + `);
			const s = l.querySelector("select");
			s.value = Array.from(s.options).find((o) => o.textContent === ` + jsString(value) + `).value;
			s.dispatchEvent(new Event("change", { bubbles: true }));
		})()`)
	}
	headers := `Array.from(document.querySelectorAll(".recipients table th")).map((th) => th.textContent.trim())`

	signInBrowser(run, h, "alice")
	run("open the campaign", chromedp.Evaluate[chromedp.Void](`location.hash = "#/campaigns/`+id+`"`), chromedp.WaitVisible(chromedp.CSS(`#campaign-title`)))
	run("upload", chromedp.SetUploadFiles(chromedp.CSS(`#file`), []string{csv}),
		chromedp.WaitVisible(`//p[contains(., "2 will be sent, 2 skipped (1 on your unsubscribe list)")]`),
		chromedp.WaitVisible(`//tr[td[@data-label="Row" and text()="4"]]//span[contains(@class,"badge") and text()="Unsubscribed"]`))
	if got := eval("row 4", `Array.from(document.querySelectorAll(".recipients tbody tr")).filter((tr) => tr.cells[0].firstChild.textContent === "4").map((tr) => tr.innerText)`); len(got) != 1 || !strings.Contains(got[0], "The address "+gone+" is on your unsubscribe list.") {
		t.Errorf("row 4 does not say why it is skipped: %q", got)
	}
	page(t, ctx, "rows-unsubscribed")

	run("another column", choose("Column", "First name"), chromedp.WaitVisible(`//td[@data-label="First name" and text()="Bob"]`))
	if got := eval("headers", headers); !slices.Equal(got, []string{"Row", "First name", "State", "Why"}) {
		t.Errorf("one column: headers %q", got)
	}
	page(t, ctx, "rows-column")
	run("the whole sheet", choose("Column", "All columns"), chromedp.WaitVisible(`//td[@data-label="Company" and text()="Firm 4"]`))
	if got := eval("headers", headers); !slices.Equal(got, []string{"Row", "Email", "Last name", "First name", "Company", "State", "Why"}) {
		t.Errorf("the whole sheet: headers %q, want the sheet's order", got)
	}
	page(t, ctx, "rows-sheet")

	run("correct row 3", chromedp.Click(`//button[@aria-label="Correct row 3"]`), chromedp.WaitVisible(chromedp.CSS(`dialog[open]`)))
	if got := eval("fields", `Array.from(document.querySelectorAll("dialog label")).map((l) => l.firstChild.textContent.trim())`); !slices.Equal(got, []string{"Email", "Last name", "First name", "Company"}) {
		t.Errorf("the dialog's fields: %q, want the sheet's order", got)
	}
	fixed := tag + ".2@example.com"
	run("type the address", chromedp.Evaluate[chromedp.Void](`(() => {
		const i = Array.from(document.querySelectorAll("dialog label")).find((l) => l.firstChild.textContent.trim() === "Email").querySelector("input");
		Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value").set.call(i, `+jsString(fixed)+`);
		i.dispatchEvent(new Event("input", { bubbles: true }));
	})()`))
	page(t, ctx, "rows-correct")
	run("review", chromedp.Click(`//dialog//button[text()="Review the changes"]`), chromedp.WaitVisible(`//dialog//h2[normalize-space(.)="Save these changes to row 3?"]`))
	if got := eval("changes", `Array.from(document.querySelectorAll("dialog ul.changes li")).map((li) => li.textContent.replace(/\s+/g, " ").trim())`); len(got) != 1 ||
		!strings.Contains(got[0], "Email: not-an-address") || !strings.Contains(got[0], fixed) {
		t.Errorf("the changes shown: %q", got)
	}
	if status, list := h.call(t, "GET", "/v1/campaigns/"+id+"/recipients?status=pending", tok, ""); status != 200 || len(list["recipients"].([]any)) != 2 {
		t.Fatalf("before the yes, something changed: %d %v", status, list)
	}
	page(t, ctx, "rows-correct-confirm")
	run("save", chromedp.Click(`//dialog//button[text()="Save the row"]`), chromedp.WaitNotPresent(chromedp.CSS(`dialog[open]`)),
		chromedp.WaitVisible(`//p[@role="status" and contains(., "Row 3 was saved: it will be sent")]`),
		chromedp.WaitVisible(`//p[contains(., "3 will be sent, 1 skipped (1 on your unsubscribe list)")]`),
		chromedp.WaitVisible(`//tr[td[@data-label="Row" and text()="3"]]//span[contains(@class,"badge") and text()="To send"]`))
	page(t, ctx, "rows-corrected")

	h.sendTemplate(t, "alice", token, template{Subject: "Hi {{First name}} " + tag, HTML: "<p>Dear {{First name}} of {{Company}}</p>"})
	run("completed", chromedp.WaitVisible(`//span[contains(@class,"badge") and text()="Completed"]`),
		chromedp.WaitVisible(`//tr[td[@data-label="Row" and text()="4"]]//span[text()="Unsubscribed"]`),
		chromedp.WaitVisible(`//tr[td[@data-label="Row" and text()="5"]]//span[text()="Sent"]`))
	var to []string
	for _, m := range h.sent(t, tag) {
		to = append(to, m.Recipients()...)
	}
	slices.Sort(to)
	if want := []string{tag + ".1@example.com", tag + ".2@example.com", tag + ".4@example.com"}; !slices.Equal(to, want) {
		t.Errorf("sent to %q, want %q", to, want)
	}
	if n := eval("correct links", `Array.from(document.querySelectorAll(".recipients button")).filter((b) => b.textContent === "Correct").map((b) => b.getAttribute("aria-label"))`); len(n) != 0 {
		t.Errorf("after the start, rows still offered for correction: %q", n)
	}
	page(t, ctx, "rows-started")
	if status, body := h.call(t, "PATCH", "/v1/campaigns/"+id+"/recipients/4", tok, `{"cells":{"Email":"cy@example.com"}}`); status != 409 || testenv.ErrorCode(body) != "row_final" {
		t.Errorf("a skipped row after the start: %d %v", status, body)
	}
}

// jsString is s as a script's string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestReuseChecksRowsAgain: the rows of a campaign that was sent, reused
// by another, are to be sent again there, but for one to an address put
// on the unsubscribe list since, which is skipped and not counted.
func TestReuseChecksRowsAgain(t *testing.T) {
	t.Parallel()
	h := startHost(t, nil)
	tag := testenv.Name("reuse")
	tok, _ := h.signIn(t, "bob")
	id := h.startCampaign(t, tok, "bob", people(tag, 3), template{Subject: "Hi {{First name}} " + tag, HTML: "<p>Hi {{First name}}</p>"})
	h.waitStatus(t, tok, id, 90*time.Second, "completed")
	gone := tag + ".2@example.com"
	if status, body := h.call(t, "POST", "/v1/suppressions", tok, `{"addresses":["`+gone+`"]}`); status != 200 && status != 201 {
		t.Fatalf("suppress: %d %v", status, body)
	}
	t.Cleanup(func() { h.call(t, "DELETE", "/v1/suppressions/"+url.PathEscape(gone), tok, "") })
	again, _ := h.newCampaign(t, tok, `{"name":"Again `+tag+`"}`)
	if status, body := h.call(t, "POST", "/v1/campaigns/"+again+"/data/reuse", tok, `{"from":"`+id+`"}`); status != 202 {
		t.Fatalf("reuse: %d %v", status, body)
	}
	if data := h.processed(t, tok, again); data["status"] != "ready" || data["validRows"] != 2.0 || data["unsubscribedRows"] != 1.0 {
		t.Errorf("reused data: %v", data)
	}
	var got []string
	for _, r := range recipientsOf(t, openStore(t), again) {
		got = append(got, fmt.Sprintf("%d %s %s", r.Row, r.Status, r.Reason.Code))
	}
	if want := []string{"2 pending ", "3 skipped unsubscribed", "4 pending "}; !slices.Equal(got, want) {
		t.Errorf("reused rows %q, want %q", got, want)
	}
}
