package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"mailmerge/handler/internal/dev/testenv"
	"mailmerge/handler/internal/tracking"
)

// TestWebUnsubscribePage: the page of a sent message's unsubscribe link
// names the sender and, masked, the recipient, in a real browser at 1280
// and 320 px; its button unsubscribes.
func TestWebUnsubscribePage(t *testing.T) {
	t.Parallel()
	h := startHost(t, nil)
	ctx := headless(t)
	run := stepper(t, ctx)
	tag := testenv.Name("unsub")
	tok, _ := h.signIn(t, "alice")
	id, token := h.readyCampaign(t, tok, people(tag, 1))
	h.sendTemplate(t, "alice", token, template{Subject: "Hi {{First name}} " + tag,
		HTML: `<html><body><p>Hi {{First name}}.</p><p><a href="{{@unsubscribe}}">Unsubscribe</a></p></body></html>`})
	h.waitStatus(t, tok, id, 90*time.Second, "completed")
	msgs := h.sent(t, tag)
	if len(msgs) != 1 {
		t.Fatalf("%d messages sent", len(msgs))
	}
	link := regexp.MustCompile(`http://127\.0\.0\.1:7071/u/[A-Za-z0-9_-]+`).FindString(msgs[0].Body)
	if link == "" {
		t.Fatalf("no unsubscribe link in %s", msgs[0].Body)
	}
	to := tag + ".1@example.com"
	want := "Stop receiving these emails from alice@contoso.example at " + tracking.Mask(to) + "?"
	run("open the unsubscribe link", chromedp.Navigate(strings.Replace(link, "http://127.0.0.1:7071", h.URL, 1)),
		chromedp.WaitVisible(`//button[text()="Unsubscribe"]`))
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`main`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, want) || strings.Contains(text, to) {
		t.Errorf("the page says %q, want %q and not the whole address", text, want)
	}
	pageAt(t, ctx, "unsubscribe", 1280, 320)
	run("unsubscribe", chromedp.Click(`//button[text()="Unsubscribe"]`), chromedp.WaitVisible(`//h1[text()="You are unsubscribed"]`))
	pageAt(t, ctx, "unsubscribe-done", 1280, 320)
	eventually(t, 30*time.Second, "the address on alice's list", func() bool {
		_, list := h.call(t, "GET", "/v1/suppressions", tok, "")
		return strings.Contains(fmt.Sprint(list), to)
	})
}

// TestWebAccountDeleted: alice deletes her account from the privacy page
// and lands on a page that says it was deleted, what remains for how
// long, and that signing in again starts a new, empty account; the page
// stays on reload (no silent sign-in); its one button starts the new
// account, which is empty.
func TestWebAccountDeleted(t *testing.T) {
	t.Parallel()
	h := startHost(t, nil)
	ctx := headless(t)
	run := stepper(t, ctx)
	tag := testenv.Name("acct")
	run("sign in", chromedp.Navigate(h.URL+"/"), chromedp.WaitVisible(`//button[contains(., "Sign in with Microsoft")]`),
		chromedp.Click(`//button[contains(., "Sign in with Microsoft")]`),
		chromedp.WaitVisible(chromedp.CSS(`button[value="alice"]`)), chromedp.Click(chromedp.CSS(`button[value="alice"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#campaigns-title`)))
	tok := h.token(t, "alice")
	if status, body := h.call(t, "POST", "/v1/campaigns", tok, `{"name":"Before `+tag+`"}`); status != 201 {
		t.Fatalf("a campaign: %d %v", status, body)
	}
	_, before := h.call(t, "GET", "/v1/me", tok, "")
	run("delete the account", chromedp.Navigate(h.URL+"/#/privacy"), chromedp.WaitVisible(`//p[contains(., "Measured in storage")]`),
		chromedp.Click(`//button[text()="Delete my account…"]`), chromedp.WaitVisible(chromedp.CSS(`dialog[open]`)),
		chromedp.SendKeys(`//dialog//input`, "delete my account"), chromedp.Click(`//dialog//button[text()="Delete everything"]`),
		chromedp.WaitVisible(chromedp.CSS(`#deleted-title`)))
	text := func() string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`main`)))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	page := text()
	for _, want := range []string{"Your account was deleted", "your campaigns", "your unsubscribe list", "What remains for a while",
		"Copies of our records", "days", "Sent Items", "Signing in again starts a new, empty account", "Start a new account"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q: %s", want, page)
		}
	}
	if strings.Contains(page, "Sign in with Microsoft") {
		t.Error("the sign-in page shows after the deletion")
	}
	pageAt(t, ctx, "account-deleted", 1280, 320)

	// The deletion finishes in the background.
	eventually(t, 30*time.Second, "the account gone", func() bool {
		status, _ := h.call(t, "GET", "/v1/me", tok, "")
		return status == 404
	})
	// Coming back says it again: nothing is created by opening the app.
	run("open the app again", chromedp.Navigate(h.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`#deleted-title`)))
	if status, body := h.call(t, "GET", "/v1/me", tok, ""); status != 404 {
		t.Fatalf("opening the app made an account: %d %v", status, body)
	}

	run("start a new account", chromedp.Click(`//button[text()="Start a new account"]`),
		chromedp.WaitVisible(chromedp.CSS(`button[value="alice"]`)), chromedp.Click(chromedp.CSS(`button[value="alice"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#campaigns-title`)), chromedp.WaitVisible(chromedp.CSS(`.empty`)))
	status, after := h.call(t, "GET", "/v1/me", tok, "")
	if status != 200 || after["createdAt"] == before["createdAt"] {
		t.Errorf("the new account: %d %v (the old one was made at %v)", status, after, before["createdAt"])
	}
	if _, list := h.call(t, "GET", "/v1/campaigns", tok, ""); strings.Contains(fmt.Sprint(list), tag) {
		t.Errorf("the new account holds the old one's campaign: %v", list)
	}
	// Signed in again, the deletion is forgotten: a reload opens the app.
	run("reload", chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#campaigns-title`)))
}
