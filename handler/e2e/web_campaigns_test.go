package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"mailmerge/handler/internal/dev/testenv"
)

// TestWebCampaigns walks the campaigns list and a campaign's own page in
// the browser: search by name, filter by state, sort by date and name;
// copy a completed campaign from its menu (the copy has its rows, ready to
// send again, and its options), rename the copy and switch its tracking,
// send it (its rows go out again, its tracking now fixed), copy it from
// its page and delete that copy from its page, and delete a draft from the
// list's menu; every screen at 1280 and 320 px, checked by axe and for
// sideways scrolling.
func TestWebCampaigns(t *testing.T) {
	t.Parallel()
	h := startHost(t, nil)
	tag := testenv.Name("list")
	tok, _ := h.signIn(t, "alice")

	// Made oldest first: a campaign sent, then two drafts.
	done, c := h.newCampaign(t, tok, `{"name":"Done `+tag+`","trackOpens":true}`)
	if status, body := h.upload(t, tok, done, "people.csv", people(tag, 2)); status != 202 {
		t.Fatalf("upload: %d %v", status, body)
	}
	if data := h.processed(t, tok, done); data["status"] != "ready" {
		t.Fatalf("data: %v", data)
	}
	h.sendTemplate(t, "alice", strings.TrimPrefix(strings.Split(c["inboundAddress"].(string), "@")[0], "campaigns+"),
		template{Subject: "Hi {{First name}} " + tag, HTML: "<p>Hi {{First name}}</p>"})
	h.waitStatus(t, tok, done, 90*time.Second, "completed")
	h.newCampaign(t, tok, `{"name":"alpha `+tag+`"}`)
	h.newCampaign(t, tok, `{"name":"Zulu `+tag+`"}`)

	ctx := headless(t)
	run := stepper(t, ctx)
	// names are the campaigns the list shows, in its order.
	names := func() string {
		got, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("ul.campaigns a.name")).map(a => a.textContent)`))
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(got, ", ")
	}
	shows := func(what, want string) {
		t.Helper()
		eventually(t, 30*time.Second, what+": "+want, func() bool { return names() == want })
	}
	// choose picks an option of the search's select labelled label, as a
	// person does (a change event).
	choose := func(label, option string) {
		t.Helper()
		js := `(() => { const l = Array.from(document.querySelectorAll("form.search label")).find(l => l.textContent.trim().startsWith(` + quote(label) + `));
			const s = l.querySelector("select"); const o = Array.from(s.options).find(o => o.textContent === ` + quote(option) + `);
			s.value = o.value; s.dispatchEvent(new Event("change", { bubbles: true })); return s.value; })()`
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[string](js)); err != nil {
			t.Fatalf("choose %s %s: %v", label, option, err)
		}
	}
	done1, alpha, zulu := "Done "+tag, "alpha "+tag, "Zulu "+tag

	signInBrowser(run, h, "alice")
	run("search by name", chromedp.SendKeys(chromedp.CSS(`form.search input[type="search"]`), strings.ToUpper(tag)))
	shows("newest first", zulu+", "+alpha+", "+done1)
	page(t, ctx, "campaigns-search")
	choose("State", "Completed")
	shows("completed only", done1)
	choose("State", "Not started")
	shows("not started", zulu+", "+alpha)
	choose("State", "All campaigns")
	choose("Order", "Name, A to Z")
	shows("by name", alpha+", "+done1+", "+zulu)
	choose("Order", "Name, Z to A")
	shows("by name, Z to A", zulu+", "+done1+", "+alpha)
	choose("Order", "Oldest first")
	shows("oldest first", done1+", "+alpha+", "+zulu)
	// Back from a campaign, the list is as it was left.
	run("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#campaigns-title`)))
	shows("the search kept", done1+", "+alpha+", "+zulu)

	// Copy the campaign sent, from its menu.
	menu := `//li[.//a[@class="name" and text()="` + done1 + `"]]`
	run("open the menu", chromedp.Click(menu+`//button[contains(., "Actions")]`), chromedp.WaitVisible(menu+`//ul[@class="menu-list"]//button[text()="Copy"]`))
	if expanded, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('.menu-button[aria-expanded="true"]').textContent`)); err != nil || !strings.Contains(expanded, done1) {
		t.Errorf("the open menu's button: %q %v", expanded, err)
	}
	page(t, ctx, "campaigns-menu")
	run("copy it", chromedp.Click(menu+`//ul[@class="menu-list"]//button[text()="Copy"]`),
		chromedp.WaitVisible(`//h1[@id="campaign-title" and text()="`+done1+` (copy)"]`),
		chromedp.WaitVisible(`//p[contains(., "2 will be sent")]`), chromedp.WaitVisible(`//div[@class="title"]//span[text()="Ready"]`))
	copyID := strings.TrimPrefix(mustLocation(t, ctx), "#/campaigns/")
	if copyID == done || copyID == "" {
		t.Fatalf("the copy's page is %q", copyID)
	}
	h.cleanupCampaign(t, tok, copyID)
	copied := h.campaign(t, tok, copyID)
	if copied["trackOpens"] != true || copied["trackClicks"] != false || copied["status"] != "ready" {
		t.Errorf("the copy: %v", copied)
	}
	opens, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.evaluate('//label[contains(., "Count opens")]/input', document, null, 9, null).singleNodeValue.checked`))
	if err != nil || !opens {
		t.Errorf("the copy's page does not count opens: %v", err)
	}
	page(t, ctx, "campaigns-copy")

	// Rename the copy, and count clicks too.
	again := "Again " + tag
	run("rename", chromedp.Click(`//button[text()="Rename"]`), chromedp.WaitVisible(chromedp.CSS(`form.rename input`)))
	page(t, ctx, "campaigns-rename")
	run("the new name", chromedp.Evaluate[chromedp.Void](`(() => { const i = document.querySelector("form.rename input");
			Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value").set.call(i, "");
			i.dispatchEvent(new Event("input", { bubbles: true })); })()`),
		chromedp.SendKeys(chromedp.CSS(`form.rename input`), again), chromedp.Click(`//button[text()="Save the name"]`),
		chromedp.WaitVisible(`//h1[@id="campaign-title" and text()="`+again+`"]`), chromedp.WaitNotPresent(chromedp.CSS(`form.rename`)))
	run("count clicks", chromedp.Click(`//label[contains(., "Count clicks")]/input`))
	eventually(t, 10*time.Second, "clicks counted", func() bool { return h.campaign(t, tok, copyID)["trackClicks"] == true })
	if c := h.campaign(t, tok, copyID); c["name"] != again || c["trackOpens"] != true {
		t.Errorf("after renaming: %v", c)
	}

	// Its rows go out again: the copy of a campaign sent sends them anew.
	address, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#inbound`)))
	if err != nil {
		t.Fatal(err)
	}
	h.sendTemplate(t, "alice", strings.TrimPrefix(strings.Split(address, "@")[0], "campaigns+"),
		template{Subject: "Again {{First name}} " + tag, HTML: "<p>Again {{First name}}</p>"})
	run("the copy completes", chromedp.WaitVisible(`//div[@class="title"]//span[text()="Completed"]`),
		chromedp.WaitVisible(`//p[contains(., "Opens and clicks are counted.")]`))
	if n := len(h.sent(t, tag)); n != 4 {
		t.Errorf("%d messages sent, want 2 by the campaign and 2 by its copy", n)
	}
	if status, body := h.call(t, "PATCH", "/v1/campaigns/"+copyID, tok, `{"trackOpens":false}`); status != 409 {
		t.Errorf("tracking changed after the start: %d %v", status, body)
	}
	page(t, ctx, "campaigns-copy-completed")

	// Copy the copy from its page: the next page is the new copy's, with
	// an address of its own.
	run("copy from the page", chromedp.Click(`//button[text()="Copy campaign"]`),
		chromedp.WaitVisible(`//h1[@id="campaign-title" and text()="`+again+` (copy)"]`), chromedp.WaitVisible(`//p[contains(., "2 will be sent")]`))
	second := strings.TrimPrefix(mustLocation(t, ctx), "#/campaigns/")
	h.cleanupCampaign(t, tok, second)
	if second == copyID || second == "" {
		t.Fatalf("the second copy's page is %q", second)
	}
	if a, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#inbound`))); err != nil || a == address || !strings.HasPrefix(a, "campaigns+") {
		t.Errorf("the second copy shows the address %q (the first's %q) %v", a, address, err)
	}

	// Delete it from its page: back to the list, without it.
	run("delete the second copy", chromedp.Click(`//button[text()="Delete campaign…"]`), chromedp.WaitVisible(chromedp.CSS(`dialog[open]`)))
	page(t, ctx, "campaigns-delete-page")
	run("confirm", chromedp.Click(`//dialog//button[text()="Delete campaign"]`), chromedp.WaitVisible(chromedp.CSS(`#campaigns-title`)))
	shows("the second copy gone", done1+", "+alpha+", "+zulu+", "+again)
	if status, _ := h.call(t, "GET", "/v1/campaigns/"+second, tok, ""); status != 404 {
		t.Errorf("the copy deleted from its page answers %d", status)
	}

	// Delete a draft from the list's menu, after confirming.
	menu = `//li[.//a[@class="name" and text()="` + alpha + `"]]`
	run("delete from the menu", chromedp.Click(menu+`//button[contains(., "Actions")]`),
		chromedp.Click(menu+`//ul[@class="menu-list"]//button[text()="Delete…"]`), chromedp.WaitVisible(chromedp.CSS(`dialog[open]`)),
		chromedp.Click(`//dialog//button[text()="Delete campaign"]`), chromedp.WaitNotPresent(chromedp.CSS(`dialog[open]`)))
	shows("the draft gone", done1+", "+zulu+", "+again)
	page(t, ctx, "campaigns-deleted")

	// A search that finds nothing says so, and shows all again.
	run("find nothing", chromedp.SendKeys(chromedp.CSS(`form.search input[type="search"]`), "-nothing-like-it"),
		chromedp.WaitVisible(`//p[contains(., "No campaign matches your search")]`))
	page(t, ctx, "campaigns-nothing")
	run("show all", chromedp.Click(`//button[text()="Show all campaigns"]`), chromedp.WaitVisible(chromedp.CSS(`ul.campaigns`)))
	if q, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('form.search input[type="search"]').value`)); err != nil || q != "" {
		t.Errorf("after showing all, the search holds %q %v", q, err)
	}
}

// cleanupCampaign deletes a campaign the test made through the page, when
// the test ends (tests share one Azurite).
func (h *host) cleanupCampaign(t testing.TB, tok, id string) {
	t.Cleanup(func() { _, _ = h.call(t, "DELETE", "/v1/campaigns/"+id, tok, "") })
}

// quote is s as a script's string literal.
func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
