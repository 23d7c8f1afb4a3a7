package e2e

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"mailmerge/handler/internal/dev/testenv"
	"mailmerge/handler/internal/store"
)

// screenshots is where the browser tests save each screen.
var screenshots = filepath.Join("..", "..", "build", "screenshots")

// headless starts headless Chromium (Debian's chromium package, which
// .ci/run installs). The dev issuer's certificate comes from the local
// host's own CA, which this browser is told to accept.
func headless(t *testing.T) context.Context {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		t.Fatal("no Chromium: install Debian's chromium package (.ci/run does)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.NoSandbox,
		chromedp.Flag("ignore-certificate-errors", true), chromedp.WindowSize(1280, 900))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf))
	ctx, cancelTime := context.WithTimeout(ctx, 5*time.Minute)
	t.Cleanup(func() { cancelTime(); cancel(); cancelAlloc() })
	// Start the browser now, on this context: one started by a step's
	// shorter-lived context would end with the step.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(screenshots, 0o755); err != nil {
		t.Fatal(err)
	}
	return ctx
}

// page checks a screen as a person would meet it: axe-core finds no
// serious or critical accessibility violation, and it is saved at 1280 px
// and at 320 px (the Outlook task pane).
func page(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	pageAt(t, ctx, name, 1280, 320)
}

// pageAt checks and saves a screen at the given widths, and leaves the
// browser at the first.
func pageAt(t *testing.T, ctx context.Context, name string, widths ...int64) {
	t.Helper()
	axe, err := os.ReadFile(filepath.Join("..", "internal", "web", "testdata", "vendor", "axe-core.axe.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	for _, width := range widths {
		err := chromedp.Do(ctx, chromedp.EmulateViewport(width, 900), chromedp.Sleep(300*time.Millisecond))
		if err == nil {
			_, err = chromedp.Run(ctx, chromedp.Evaluate[any](string(axe)))
		}
		var violations []string
		if err == nil {
			violations, err = chromedp.Run(ctx, chromedp.Evaluate[[]string](`axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations
				.filter(v => v.impact === "serious" || v.impact === "critical")
				.map(v => v.id + ": " + v.help + " (" + v.nodes.map(n => n.target.join(" ")).join(", ") + ")"))`, chromedp.EvalAwaitPromise))
		}
		// Nothing wider than the screen: a page that scrolls sideways is
		// one the task pane cuts off.
		var wide []string
		if err == nil {
			wide, err = chromedp.Run(ctx, chromedp.Evaluate[[]string](`(() => {
				const w = document.documentElement.clientWidth;
				if (document.documentElement.scrollWidth <= w) return [];
				// What a scrolling region holds may be wider: the region scrolls.
				const inScroller = (e) => { for (let p = e.parentElement; p && p !== document.body; p = p.parentElement) { if (getComputedStyle(p).overflowX !== "visible") return true; } return false; };
				return Array.from(document.querySelectorAll("body *")).filter((e) => e.getBoundingClientRect().right > w + 1 && !inScroller(e))
					.slice(0, 8).map((e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.className ? "." + String(e.className).replace(/ /g, ".") : "") +
						" (right edge " + Math.round(e.getBoundingClientRect().right) + " px)");
			})()`))
		}
		for _, e := range wide {
			t.Errorf("%s at %d px: wider than the screen: %s", name, width, e)
		}
		var shot []byte
		if err == nil {
			shot, err = chromedp.Run(ctx, chromedp.FullScreenshot(100))
		}
		if err != nil {
			t.Fatalf("%s at %d px: %v", name, width, err)
		}
		for _, v := range violations {
			t.Errorf("%s at %d px: %s", name, width, v)
		}
		file := filepath.Join(screenshots, fmt.Sprintf("%s-%d.png", name, width))
		if err := os.WriteFile(file, shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(widths[0], 900)); err != nil {
		t.Fatal(err)
	}
}

// TestWebApp walks the dashboard in a real browser against the local
// host: sign in as alice through MSAL.js and the dev issuer; create a
// campaign with tracking; upload a CSV and read its report; send the
// template email through the inbound webhook (as the sample does); watch
// it complete; preview row 3; open the report with its charts drawn,
// after opens and clicks on the sent messages' tracking URLs; suppress
// an address; download the export; delete the campaign; bob, signed in
// after her, sees none of her campaigns.
func TestWebApp(t *testing.T) {
	t.Parallel()
	h := startHost(t, nil)
	ctx := headless(t)
	tag := testenv.Name("web")
	csv := filepath.Join(t.TempDir(), "people.csv")
	if err := os.WriteFile(csv, []byte("Email,First name\n"+tag+".1@example.com,Ann\n"+tag+".2@example.com,Ben\nnot-an-address,Cy\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := stepper(t, ctx)
	text := func(what string, sel chromedp.CSS) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(sel))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return s
	}
	run("open the dashboard", chromedp.Navigate(h.URL+"/"), chromedp.WaitVisible(`//button[contains(., "Sign in with Microsoft")]`))
	// The first load, with nothing cached: what crossed the wire (gzip),
	// and when the sign-in button was there to press.
	first := loadFigures(t, ctx)
	t.Logf("first load: %.0f bytes transferred (%.0f unpacked) in %.0f files; sign-in button after %.0f ms",
		first["bytes"], first["unpacked"], first["files"], first["ms"])
	if first["bytes"] > 120<<10 {
		t.Errorf("the first load transfers %.0f bytes, over the 120 KB budget", first["bytes"])
	}
	page(t, ctx, "signin")
	run("sign in", chromedp.Click(`//button[contains(., "Sign in with Microsoft")]`),
		chromedp.WaitVisible(chromedp.CSS(`button[value="alice"]`)), chromedp.Click(chromedp.CSS(`button[value="alice"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#campaigns-title`)))
	who := text("signed in as alice", `.who .email`)
	if who != "alice@contoso.example" {
		t.Errorf("signed in as %q", who)
	}
	run("no campaigns yet", chromedp.WaitVisible(chromedp.CSS(`.empty`)))
	// A signed-in person opening the dashboard again: the files cached,
	// the token taken from MSAL's cache, the account and the list fetched.
	run("open it again", chromedp.Navigate(h.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`.empty`)))
	again := loadFigures(t, ctx)
	t.Logf("signed-in load: %.0f bytes transferred; the campaigns list shown after %.0f ms", again["bytes"], again["ms"])
	page(t, ctx, "campaigns-empty")
	run("create a campaign", chromedp.SendKeys(chromedp.CSS(`form.create input:not([type])`), "Spring "+tag),
		chromedp.Click(`//label[contains(., "Count opens")]/input`), chromedp.Click(`//label[contains(., "Count clicks")]/input`),
		chromedp.Click(`//button[contains(., "Create campaign")]`), chromedp.WaitVisible(chromedp.CSS(`#campaign-title`)))
	title := text("the campaign page", `#campaign-title`)
	if title != "Spring "+tag {
		t.Errorf("campaign title %q", title)
	}
	address := text("the campaign's address", `#inbound`)
	if !strings.HasPrefix(address, "campaigns+") || !strings.Contains(address, "@") {
		t.Errorf("inbound address %q", address)
	}
	page(t, ctx, "campaign-new")
	run("upload the CSV", chromedp.SetUploadFiles(chromedp.CSS(`#file`), []string{csv}),
		chromedp.WaitVisible(`//p[contains(., "will be sent")]`))
	data := text("the data report", `.data`)
	for _, want := range []string{"people.csv", "3 rows", "2 will be sent", "1 skipped"} {
		if !strings.Contains(data, want) {
			t.Errorf("data report %q lacks %q", data, want)
		}
	}
	page(t, ctx, "campaign-data")

	// Correct a row not yet sent: the message uses the correction.
	run("correct row 3", chromedp.Click(chromedp.CSS(`button[aria-label="Correct row 3"]`)), chromedp.WaitVisible(chromedp.CSS(`dialog[open]`)),
		// As a person types: three backspaces over "Ben", then the new name.
		chromedp.SendKeys(`//dialog//label[contains(., "First name")]/input`, "\b\b\bBenjamin"))
	page(t, ctx, "campaign-correct")
	run("save the correction", chromedp.Click(`//dialog//button[text()="Review the changes"]`),
		chromedp.WaitVisible(`//dialog//li[contains(., "Benjamin")]`),
		chromedp.Click(`//dialog//button[text()="Save the row"]`), chromedp.WaitNotPresent(chromedp.CSS(`dialog[open]`)))

	// The template email, as Postmark posts it; the page follows along.
	token := strings.TrimPrefix(strings.Split(address, "@")[0], "campaigns+")
	h.sendTemplate(t, "alice", token, template{Subject: "Hi {{First name}} " + tag,
		HTML: `<html><body><p>Hi {{First name}}, see <a href="https://contoso.example/offer">our offer</a>.</p></body></html>`})
	run("the campaign completes", chromedp.WaitVisible(`//div[@class="title"]//span[contains(., "Completed")]`))
	// How long the page took to show it: from the completion the service
	// recorded to the badge (polling every 2 s while it sends). A page
	// that backed off as if nothing moved would take 5 s or more.
	{
		seen := time.Now()
		tok, _ := h.signIn(t, "alice")
		_, c := h.call(t, "GET", "/v1/campaigns/"+strings.TrimPrefix(mustLocation(t, ctx), "#/campaigns/"), tok, "")
		at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(c["completedAt"]))
		if err != nil {
			t.Fatalf("completedAt %v: %v", c["completedAt"], err)
		}
		t.Logf("the page showed the campaign completed %v after it was", seen.Sub(at).Round(time.Millisecond))
		if seen.Sub(at) > 4500*time.Millisecond {
			t.Errorf("the page showed the completion %v late: it did not follow the campaign every 2 s", seen.Sub(at))
		}
	}
	calls, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]int](`(() => {
		const n = {};
		for (const e of performance.getEntriesByType("resource")) {
			const m = new URL(e.name).pathname.match(/^\/v1\/campaigns\/[^/]+(\/[a-z]+)?$/);
			if (m && e.initiatorType === "fetch") n[m[1] || "campaign"] = (n[m[1] || "campaign"] || 0) + 1;
		}
		return n;
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("API calls on the campaign page, from creation to completed: %v", calls)
	progress := text("progress", `.card`)
	if !strings.Contains(progress, "2 sent") {
		t.Errorf("progress card %q", progress)
	}
	page(t, ctx, "campaign-completed")
	run("preview row 3", chromedp.SendKeys(chromedp.CSS(`.preview input`), "3"), chromedp.Click(`//button[text()="Preview"]`),
		chromedp.WaitVisible(chromedp.CSS(`.preview iframe`)))
	if to := text("the preview", `.preview .message`); !strings.Contains(to, tag+".2@example.com") || !strings.Contains(to, "Hi Benjamin "+tag) || !strings.Contains(to, "Row 3 was sent.") {
		t.Errorf("preview of row 3: %q", to)
	}
	page(t, ctx, "campaign-preview")

	// Opens and clicks: a mail gateway's link scanner (automated, by its
	// user agent), and a person reading in Outlook, more than TooSoon
	// after the send.
	msgs := h.sent(t, tag)
	if len(msgs) != 2 {
		t.Fatalf("%d messages sent", len(msgs))
	}
	for _, m := range msgs {
		if m.To[0].Address == tag+".2@example.com" && !strings.Contains(m.Body, "Hi Benjamin") {
			t.Errorf("row 3 was sent without its correction: %s", m.Body)
		}
	}
	track := func(body, ua string) {
		for _, u := range regexp.MustCompile(`http://127\.0\.0\.1:7071/[oc]/[A-Za-z0-9_-]+`).FindAllString(body, -1) {
			req, _ := http.NewRequest("GET", strings.Replace(u, "http://127.0.0.1:7071", h.URL, 1), nil)
			req.Header.Set("User-Agent", ua)
			resp, err := noFollow.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
	}
	track(msgs[0].Body, "Mozilla/5.0 (compatible; Mimecast URL Protect)")
	time.Sleep(11 * time.Second)
	track(msgs[1].Body, outlookUA)
	id := strings.TrimPrefix(mustLocation(t, ctx), "#/campaigns/")
	tok, alice := h.signIn(t, "alice")
	eventually(t, 30*time.Second, "the events counted", func() bool {
		_, rep := h.call(t, "GET", "/v1/campaigns/"+id+"/report", tok, "")
		clicks, _ := rep["clicks"].(map[string]any)
		return clicks != nil && clicks["human"].(map[string]any)["total"] == float64(1) && clicks["automated"].(map[string]any)["total"] == float64(1)
	})
	run("the report", chromedp.Navigate(h.URL+"/#/campaigns/"+id+"/report"), chromedp.WaitVisible(chromedp.CSS(`#report-title`)),
		chromedp.WaitVisible(`//caption[contains(., "Clicks per link")]`))
	drawn := 0
	eventually(t, 10*time.Second, "both charts drawn", func() bool {
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`Array.from(document.querySelectorAll("canvas")).filter(c => window.Chart && Chart.getChart(c) && c.width > 0).length`))
		drawn = n
		return err == nil && n == 2
	})
	if rep := text("the report", `main`); !strings.Contains(rep, "Clicks: 1 person (1 in all), plus 1 by link scanners") {
		t.Errorf("report: %q", rep)
	}
	page(t, ctx, "report")
	t.Logf("report: %d charts drawn", drawn)

	// The list, with a draft to delete from it.
	if status, body := h.call(t, "POST", "/v1/campaigns", tok, `{"name":"Draft `+tag+`"}`); status != 201 {
		t.Fatalf("a draft: %d %v", status, body)
	}
	run("the campaigns list", chromedp.Navigate(h.URL+"/#/"), chromedp.WaitVisible(`//ul[@class="campaigns"]//a[contains(., "Spring `+tag+`")]`),
		chromedp.WaitVisible(`//ul[@class="campaigns"]//a[contains(., "Draft `+tag+`")]`))
	page(t, ctx, "campaigns")
	// By keyboard alone: Tab reaches the skip link first, then the menu,
	// the search, each campaign and its Actions button, and the form to
	// create one; Enter opens the actions, Delete… there opens the
	// deletion's dialog and Escape closes it, nothing deleted.
	run("load the list afresh", chromedp.Reload(), chromedp.WaitVisible(`//ul[@class="campaigns"]//a[contains(., "Draft `+tag+`")]`))
	var stops []string
	for range 29 { // the start time's input has a stop per field
		if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Tab)); err != nil {
			t.Fatal(err)
		}
		focused, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
			const e = document.activeElement;
			return e.tagName.toLowerCase() + " " + (e.getAttribute("aria-label") || e.textContent || e.placeholder || "").trim().slice(0, 40);
		})()`))
		if err != nil {
			t.Fatal(err)
		}
		stops = append(stops, focused)
	}
	joined := strings.Join(stops, " | ")
	for _, want := range []string{"a Skip to content", "a Unsubscribes", "a Account & privacy", "button Sign out", "a Draft " + tag,
		"button Actions for Draft " + tag, "a Spring " + tag, "input Spring newsletter", "button Create campaign"} {
		if !strings.Contains(joined, want) {
			t.Errorf("Tab never reaches %q: %s", want, joined)
		}
	}
	if !strings.HasPrefix(joined, "a Skip to content") {
		t.Errorf("Tab starts at %q, not the skip link", stops[0])
	}
	draftMenu := `//li[.//a[@class="name" and text()="Draft ` + tag + `"]]`
	run("the deletion's dialog by keyboard", chromedp.Focus(draftMenu+`//button[contains(., "Actions")]`), chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(draftMenu+`//button[text()="Delete…"]`), chromedp.Focus(draftMenu+`//button[text()="Delete…"]`), chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(`dialog[open]`)), chromedp.KeyEvent(kb.Escape), chromedp.WaitNotPresent(chromedp.CSS(`dialog[open]`)),
		chromedp.WaitVisible(`//ul[@class="campaigns"]//a[contains(., "Draft `+tag+`")]`))
	run("delete the draft from the list", chromedp.Click(draftMenu+`//button[contains(., "Actions")]`), chromedp.Click(draftMenu+`//button[text()="Delete…"]`),
		chromedp.WaitVisible(chromedp.CSS(`dialog[open]`)), chromedp.Click(`//dialog//button[text()="Delete campaign"]`),
		chromedp.WaitNotPresent(`//ul[@class="campaigns"]//a[contains(., "Draft `+tag+`")]`),
		chromedp.WaitVisible(`//ul[@class="campaigns"]//a[contains(., "Spring `+tag+`")]`))
	if _, list := h.call(t, "GET", "/v1/campaigns", tok, ""); strings.Contains(fmt.Sprint(list), "Draft "+tag) {
		t.Errorf("the draft deleted from the list is still there: %v", list)
	}

	// Unsubscribes: add one.
	gone := tag + ".9@example.com"
	// Two entries, one with a display name holding a comma.
	jane := tag + ".31@example.com"
	run("suppress an address", chromedp.Navigate(h.URL+"/#/suppressions"), chromedp.WaitVisible(chromedp.CSS(`#supp-title`)),
		chromedp.SendKeys(chromedp.CSS(`textarea`), gone+"\n\"Doe, Jane\" <"+jane+">"), chromedp.Click(`//button[text()="Add"]`),
		chromedp.WaitVisible(`//td[text()="`+gone+`"]`), chromedp.WaitVisible(`//td[text()="`+jane+`"]`),
		chromedp.WaitVisible(`//p[contains(., "2 addresses added")]`))
	// Adding one again says so.
	run("add it again", chromedp.SendKeys(chromedp.CSS(`textarea`), gone), chromedp.Click(`//button[text()="Add"]`),
		chromedp.WaitVisible(`//p[contains(., "0 addresses added; 1 was on the list already")]`))
	// Taking one off asks first, and can be undone.
	run("remove one", chromedp.Click(chromedp.CSS(`button[aria-label="Remove `+jane+`"]`)), chromedp.WaitVisible(chromedp.CSS(`dialog[open]`)),
		chromedp.Click(`//dialog//button[text()="Take it off the list"]`), chromedp.WaitNotPresent(`//td[text()="`+jane+`"]`),
		chromedp.Click(`//p[@role="status"]//button[text()="Undo"]`), chromedp.WaitVisible(`//td[text()="`+jane+`"]`))
	// An import from a file, as another service exports it: a BOM, a
	// header, names beside addresses, a quoted name with a comma, an entry
	// that is no address.
	list := filepath.Join(t.TempDir(), "unsubscribed.csv")
	imported := []string{tag + ".20@example.com", tag + ".21@example.com", tag + ".22@example.com"}
	if err := os.WriteFile(list, []byte("\ufeffName,Email\r\nZoe,"+imported[0]+"\r\n\"Doe, Jo\","+imported[1]+
		"\r\nMax,\"Max <"+imported[2]+">\"\r\nNope,nope@@example\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run("import a list", chromedp.SetUploadFiles(chromedp.CSS(`#supp-file`), []string{list}),
		chromedp.WaitVisible(`//p[contains(., "3 addresses added")]`), chromedp.WaitVisible(`//li/code[text()="nope@@example"]`))
	for _, a := range imported {
		run("imported "+a, chromedp.WaitVisible(`//td[text()="`+a+`"]`))
	}
	// An unsubscribe from a message of a campaign deleted since: the list
	// knows that address by its key alone, says so, and can remove it.
	if _, err := openStore(t).Suppress(context.Background(), alice, []store.Suppression{{Key: store.SuppressionKey(tag + ".30@example.com"), At: time.Now(), Source: "one-click"}}); err != nil {
		t.Fatal(err)
	}
	run("an entry without its address", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#supp-title`)),
		chromedp.WaitVisible(`//td/em[text()="an address from a deleted campaign"]`))
	page(t, ctx, "suppressions")

	// Account and privacy: what is kept, and the export as a download.
	dir := t.TempDir()
	run("the privacy page", chromedp.Navigate(h.URL+"/#/privacy"), chromedp.WaitVisible(`//p[contains(., "Measured in storage")]`),
		chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
			_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
				Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir})
			return err
		}))
	page(t, ctx, "privacy")
	run("download my data", chromedp.Click(`//button[text()="Download my data"]`))
	var names map[string]bool
	eventually(t, 30*time.Second, "the export downloaded", func() bool {
		files, _ := os.ReadDir(dir)
		for _, f := range files {
			zipped, err := os.ReadFile(filepath.Join(dir, f.Name()))
			if err != nil {
				continue
			}
			if zr, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped))); err == nil {
				names = map[string]bool{}
				for _, f := range zr.File {
					names[f.Name] = true
				}
				return true
			}
		}
		return false
	})
	// The campaign's folder is named by its day and name.
	if !names["README.txt"] || !names["campaigns/"+time.Now().UTC().Format("2006-01-02")+" Spring "+tag+"/rows.csv"] || !names["account/suppressions.jsonl"] {
		t.Errorf("export holds %v", names)
	}

	// Delete the campaign, after confirming.
	// The recipients' table loads after the page and moves what is below
	// it: wait for it before clicking there.
	run("delete the campaign", chromedp.Navigate(h.URL+"/#/campaigns/"+id), chromedp.WaitVisible(chromedp.CSS(`#campaign-title`)),
		chromedp.WaitVisible(chromedp.CSS(`.recipients tbody tr`)),
		chromedp.Click(`//button[text()="Delete campaign…"]`), chromedp.WaitVisible(chromedp.CSS(`dialog[open]`)))
	page(t, ctx, "campaign-delete")
	run("confirm", chromedp.Click(`//dialog//button[text()="Delete campaign"]`), chromedp.WaitVisible(chromedp.CSS(`#campaigns-title`)),
		chromedp.WaitVisible(chromedp.CSS(`.empty`)))

	// Bob, after alice signs out, sees none of her campaigns.
	tokAlice := tok
	_, body := h.call(t, "POST", "/v1/campaigns", tokAlice, `{"name":"Alice keeps `+tag+`"}`)
	if body["id"] == nil {
		t.Fatalf("another campaign for alice: %v", body)
	}
	run("sign out", chromedp.Click(`//button[text()="Sign out"]`), chromedp.WaitVisible(`//button[contains(., "Sign in with Microsoft")]`))
	run("sign in as bob", chromedp.Click(`//button[contains(., "Sign in with Microsoft")]`),
		chromedp.WaitVisible(chromedp.CSS(`button[value="bob"]`)), chromedp.Click(chromedp.CSS(`button[value="bob"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#campaigns-title`)), chromedp.WaitVisible(chromedp.CSS(`.empty`)))
	if who := text("signed in as bob", `.who .email`); who != "bob@contoso.example" {
		t.Errorf("signed in as %q", who)
	}
	if list := text("bob's campaigns", `main`); strings.Contains(list, tag) {
		t.Errorf("bob sees alice's campaign: %q", list)
	}
}

// stepper returns a function that runs one step of a walk through the
// pages, given 90 seconds (a loaded machine is slow); a step that fails
// ends the test with the page's text.
func stepper(t *testing.T, ctx context.Context) func(what string, actions ...chromedp.Action[chromedp.Void]) {
	return func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		step, cancel := context.WithTimeout(ctx, 90*time.Second)
		defer cancel()
		if err := chromedp.Do(step, actions...); err != nil {
			body, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
			t.Fatalf("%s: %v\npage: %s", what, err, body)
		}
	}
}

// loadFigures reads the Resource Timing of the page's latest load:
// bytes transferred (compressed, headers included) and unpacked, files,
// and the milliseconds from navigation to now.
func loadFigures(t *testing.T, ctx context.Context) map[string]float64 {
	t.Helper()
	f, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]float64](`(() => {
		const n = performance.getEntriesByType("navigation")[0];
		const r = performance.getEntriesByType("resource");
		const sum = (k) => n[k] + r.reduce((s, e) => s + e[k], 0);
		return { bytes: sum("transferSize"), unpacked: sum("decodedBodySize"), files: r.length + 1, ms: performance.now() };
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// mustLocation is the page's hash.
func mustLocation(t *testing.T, ctx context.Context) string {
	t.Helper()
	loc, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.hash`))
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// noFollow reads a redirect instead of following it.
var noFollow = &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
