package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"mailmerge/handler/internal/dev/devauth"
)

// TestWebReadingMailbox: carol turns on reading her mailbox on the
// account page. Microsoft's permission is asked for there and then
// (incremental consent): MSAL.js, refused silently by the dev sign-in
// (the permission not consented), goes to its consent page. Cancelled, the
// page says reading stays off and nothing is stored; accepted, the
// browser comes back, the service checks the permission with the dev
// sign-in and stores the choice, and the page says it is on. Turned off,
// the page says what was forgotten and how to withdraw the permission.
// Each screen at 1280 and 320 px, with axe and no sideways scrolling.
func TestWebReadingMailbox(t *testing.T) {
	t.Parallel()
	h := startHost(t, nil)
	ctx := headless(t)
	run := stepper(t, ctx)
	// carol: the user the other browser tests do not sign in with; the
	// setting is hers, kept in the storage the tests share.
	run("sign in", chromedp.Navigate(h.URL+"/"), chromedp.WaitVisible(`//button[contains(., "Sign in with Microsoft")]`),
		chromedp.Click(`//button[contains(., "Sign in with Microsoft")]`),
		chromedp.WaitVisible(chromedp.CSS(`button[value="carol"]`)), chromedp.Click(chromedp.CSS(`button[value="carol"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#campaigns-title`)))
	tok := h.token(t, "carol")
	readMailbox := func(want bool) {
		t.Helper()
		status, me := h.call(t, "GET", "/v1/me", tok, "")
		if status != 200 || me["readMailbox"] != want {
			t.Errorf("GET /v1/me: %d, readMailbox %v, want %v", status, me["readMailbox"], want)
		}
	}
	readMailbox(false)
	// shot saves the screen (pageAt) and, to read it at the pane's width,
	// the card alone at 320 px.
	shot := func(name string) {
		t.Helper()
		pageAt(t, ctx, name, 1280, 320)
		err := chromedp.Do(ctx, chromedp.EmulateViewport(320, 900), chromedp.Sleep(200*time.Millisecond))
		var png []byte
		if err == nil {
			png, err = chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS(`section.reading`)))
		}
		if err == nil {
			err = os.WriteFile(filepath.Join(screenshots, name+"-card-320.png"), png, 0o644)
		}
		if err == nil {
			err = chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900))
		}
		if err != nil {
			t.Fatalf("%s: the card at 320 px: %v", name, err)
		}
	}
	card := func() string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`section.reading`)))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}

	run("open the account page", chromedp.Navigate(h.URL+"/#/privacy"), chromedp.WaitVisible(`//h2[text()="Replies and bounces"]`),
		chromedp.WaitVisible(`//section[contains(@class, "reading")]//strong[text()="Off."]`))
	if c := card(); !strings.Contains(c, "never reads what a message says") || !strings.Contains(c, "myapps.microsoft.com") {
		t.Errorf("the card does not say what is read and how to withdraw the permission: %q", c)
	}
	shot("reading-off")

	run("turn it on: Microsoft asks", chromedp.Click(`//section[contains(@class, "reading")]//button[text()="Turn on"]`),
		chromedp.WaitVisible(chromedp.CSS(`button[value="accept"]`)))
	consentPage, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`main`)))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(consentPage, "Read user basic mail") || strings.Contains(consentPage, "Send mail as you") {
		t.Errorf("the consent page asks for the wrong permissions: %q", consentPage)
	}
	pageAt(t, ctx, "reading-consent", 1280, 320)

	run("cancel on Microsoft's page", chromedp.Click(chromedp.CSS(`button[value="decline"]`)),
		chromedp.WaitVisible(`//section[contains(@class, "reading")]//p[contains(., "You did not allow")]`))
	if c := card(); !strings.Contains(c, "Off.") {
		t.Errorf("after cancelling, the card says %q", c)
	}
	readMailbox(false)
	shot("reading-declined")

	run("turn it on and accept", chromedp.Click(`//section[contains(@class, "reading")]//button[text()="Turn on"]`),
		chromedp.WaitVisible(chromedp.CSS(`button[value="accept"]`)), chromedp.Click(chromedp.CSS(`button[value="accept"]`)),
		chromedp.WaitVisible(`//section[contains(@class, "reading")]//strong[text()="On"]`))
	if c := card(); !strings.Contains(c, "has not been read yet") || strings.Contains(c, "You did not allow") {
		t.Errorf("once on, the card says %q", c)
	}
	readMailbox(true)
	shot("reading-on")

	run("turn it off", chromedp.Click(`//section[contains(@class, "reading")]//button[text()="Turn off"]`),
		chromedp.WaitVisible(`//section[contains(@class, "reading")]//p[contains(., "forgot where we had stopped")]`))
	readMailbox(false)
	shot("reading-turned-off")

	// Turned on again: the permission is remembered, nothing is asked.
	run("turn it on again", chromedp.Click(`//section[contains(@class, "reading")]//button[text()="Turn on"]`),
		chromedp.WaitVisible(`//section[contains(@class, "reading")]//strong[text()="On"]`))
	readMailbox(true)
	run("and off", chromedp.Click(`//section[contains(@class, "reading")]//button[text()="Turn off"]`),
		chromedp.WaitVisible(`//section[contains(@class, "reading")]//strong[text()="Off."]`))
	readMailbox(false)

	// Carol removes the permission at Microsoft, and her organisation now
	// lets only its administrator allow it. The browser still holds a
	// token with it, so the service is the one to find it missing; the
	// page asks Microsoft again, which shows "Need admin approval"; back
	// from it, the card says to ask the administrator.
	for path, body := range map[string]string{
		"/dev/consent": `{"user":"carol","permission":"Mail.ReadBasic","withdraw":true}`,
		"/dev/policy":  `{"tenant":"` + devauth.FabrikamTenant + `","userConsent":false}`,
	} {
		resp, err := h.entraClient.Post(h.Entra+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
	}
	run("turn it on: only the administrator may allow it", chromedp.Click(`//section[contains(@class, "reading")]//button[text()="Turn on"]`),
		chromedp.WaitVisible(chromedp.CSS(`button[value="return"]`)), chromedp.Click(chromedp.CSS(`button[value="return"]`)),
		chromedp.WaitVisible(`//section[contains(@class, "reading")]//p[contains(., "Ask your administrator")]`))
	readMailbox(false)
	shot("reading-admin")
}
