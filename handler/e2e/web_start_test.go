package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"mailmerge/handler/internal/dev/testenv"
)

// TestWebAppReviewAndSchedule: in the browser, a person creates a campaign
// held for review, uploads the rows, sends the email (through the
// webhook), sees it waiting for them, sends themselves a test of row 3,
// schedules it, then starts it now; every screen at 1280 and 320 px,
// checked by axe.
func TestWebAppReviewAndSchedule(t *testing.T) {
	t.Parallel()
	h := startHost(t, nil)
	tag := testenv.Name("held")
	csv := filepath.Join(t.TempDir(), "people.csv")
	if err := os.WriteFile(csv, people(tag, 3), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := headless(t)
	run := stepper(t, ctx)
	signInBrowser(run, h, "alice")
	run("fill the form", chromedp.SendKeys(chromedp.CSS(`form.create input[placeholder="Spring newsletter"]`), "Held "+tag),
		chromedp.Click(`//label[contains(., "Hold it")]/input`),
		chromedp.Click(`//label[contains(., "Send only on some days and hours")]/input`),
		chromedp.WaitVisible(`//div[@class="window"]//input[@placeholder="Europe/Paris"]`))
	if tz, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('.window input[placeholder="Europe/Paris"]').value`)); err != nil || tz == "" {
		t.Errorf("the time zone is not proposed: %q %v", tz, err)
	}
	page(t, ctx, "campaigns-create-options")
	// Sent at any hour in this test: it must not wait for a window.
	run("no window", chromedp.Click(`//label[contains(., "Send only on some days and hours")]/input`),
		chromedp.WaitNotPresent(`//div[@class="window"]`))
	run("create", chromedp.Click(`//button[contains(., "Create campaign")]`), chromedp.WaitVisible(chromedp.CSS(`#campaign-title`)))
	address, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#inbound`)))
	if err != nil {
		t.Fatal(err)
	}
	run("upload", chromedp.SetUploadFiles(chromedp.CSS(`#file`), []string{csv}), chromedp.WaitVisible(`//p[contains(., "will be sent")]`))
	token := strings.TrimPrefix(strings.Split(address, "@")[0], "campaigns+")
	h.sendTemplate(t, "alice", token, template{Subject: "Hi {{First name}} " + tag, HTML: "<p>Dear {{First name}} of {{Company}}</p>"})
	run("held for review", chromedp.WaitVisible(`//h2[text()="Your email is waiting for you"]`))
	page(t, ctx, "campaign-review")
	run("the sending hours", chromedp.Click(`//button[text()="Change the sending hours"]`), chromedp.WaitVisible(`//button[text()="Save the hours"]`))
	page(t, ctx, "campaign-review-hours")
	run("keep them", chromedp.Click(`//button[text()="Keep as it is"]`), chromedp.WaitNotPresent(`//button[text()="Save the hours"]`))
	run("send a test", chromedp.SendKeys(`//div[contains(@class,"held")]//input[@type="number"]`, "3"),
		chromedp.Click(`//button[text()="Send me a test"]`),
		chromedp.WaitVisible(`//p[@role="status" and contains(., "went to alice@contoso.example")]`))
	page(t, ctx, "campaign-test-sent")
	if msgs := h.sent(t, tag); len(msgs) != 1 || !strings.HasPrefix(msgs[0].Subject, "[Test] Hi Person2") {
		t.Fatalf("after the test: %+v", msgs)
	}
	// A time an hour ahead, as the person types it in their own zone.
	at := time.Now().Add(time.Hour).Format("2006-01-02T15:04")
	setInput := `(() => { const i = document.querySelector('.held input[type="datetime-local"]');
		Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value").set.call(i, "` + at + `");
		i.dispatchEvent(new Event("input", { bubbles: true })); return i.value; })()`
	if v, err := chromedp.Run(ctx, chromedp.Evaluate[string](setInput)); err != nil || v != at {
		t.Fatalf("start time input: %q %v", v, err)
	}
	run("schedule", chromedp.Click(`//button[text()="Schedule"]`), chromedp.WaitVisible(`//h2[text()="Scheduled"]`),
		chromedp.WaitVisible(`//p[contains(., "It starts on its own")]`))
	page(t, ctx, "campaign-scheduled")
	if n := len(h.sent(t, tag)); n != 1 {
		t.Fatalf("%d messages after scheduling, want the test alone", n)
	}
	run("start now", chromedp.Click(`//button[text()="Start now…"]`), chromedp.WaitVisible(chromedp.CSS(`dialog[open]`)),
		chromedp.Click(`//dialog//button[text()="Start now"]`))
	run("completed", chromedp.WaitVisible(`//span[contains(@class,"badge") and text()="Completed"]`))
	if n := len(h.sent(t, tag)); n != 4 {
		t.Errorf("%d messages, want the test and 3 rows", n)
	}
}

// signInBrowser signs the browser in to the dashboard as login, through
// the dev sign-in, and waits for the campaigns page.
func signInBrowser(run func(string, ...chromedp.Action[chromedp.Void]), h *host, login string) {
	run("sign in as "+login, chromedp.Navigate(h.URL+"/"), chromedp.WaitVisible(`//button[contains(., "Sign in with Microsoft")]`),
		chromedp.Click(`//button[contains(., "Sign in with Microsoft")]`),
		chromedp.WaitVisible(chromedp.CSS(`button[value="`+login+`"]`)), chromedp.Click(chromedp.CSS(`button[value="`+login+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#campaigns-title`)))
}
