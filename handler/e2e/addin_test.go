package e2e

import (
	"context"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/chromedp"

	"mailmerge/handler/internal/dev/devauth"
	"mailmerge/handler/internal/dev/testenv"
	"mailmerge/handler/internal/web"
)

//go:embed testdata/office-double.js
var officeDouble string

// outlookPaddedDraft is a message as Outlook's editor writes it: Word's styles,
// and a placeholder split by a <span> where the person changed the
// colour of one word, padded with Outlook's markup to about size bytes.
func outlookPaddedDraft(size int) string {
	var b strings.Builder
	b.WriteString(`<html xmlns:o="urn:schemas-microsoft-com:office:office" xmlns:w="urn:schemas-microsoft-com:office:word"><head>` +
		`<meta http-equiv="Content-Type" content="text/html; charset=utf-8"><style><!--` + "\n")
	for i := 0; b.Len() < size-1500; i++ {
		fmt.Fprintf(&b, "p.MsoStyle%d, li.MsoStyle%d, div.MsoStyle%d {mso-style-name:\"Style %d\"; margin:0cm; font-size:11.0pt; font-family:\"Calibri\",sans-serif; mso-fareast-language:EN-US;}\n", i, i, i, i)
	}
	b.WriteString(`--></style></head><body lang="EN-GB" link="#0563C1" vlink="#954F72" style="word-wrap:break-word"><div class="WordSection1">` +
		`<p class="MsoNormal">Hi {{<span style="color:#1F4E79">First</span> name}},<o:p></o:p></p>` +
		`<p class="MsoNormal"><o:p>&nbsp;</o:p></p>` +
		`<p class="MsoNormal">Your seat at {{Company}} is booked. See <a href="https://contoso.example/agenda">the agenda</a>.<o:p></o:p></p>` +
		`<p class="MsoNormal">Kind regards,<br>Alice<o:p></o:p></p></div></body></html>`)
	return b.String()
}

// unsignedJWT is an id token as the broker hands it over: MSAL.js reads
// its claims to know the account and checks no signature.
func unsignedJWT(claims map[string]any) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]string{"alg": "none", "typ": "JWT"}) + "." + enc(claims) + "."
}

// withOfficeDouble answers the page's requests for Microsoft's hosted
// Office.js with the test double, and the draft, the requirement sets
// and the broker's answer as state.
func withOfficeDouble(t *testing.T, ctx context.Context, state map[string]any) {
	t.Helper()
	js, _ := json.Marshal(state)
	body := []byte("const officeDouble = " + string(js) + ";\n" + officeDouble)
	paused := chromedp.Events(ctx, fetch.RequestPaused)
	if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "https://appsforoffice.microsoft.com/*"}}}); err != nil {
		t.Fatal(err)
	}
	go func() {
		for ev, err := range paused {
			if err != nil {
				return
			}
			status, out := int64(200), body
			if ev.Request.URL != web.OfficeJS {
				status, out = 404, []byte("not in the test double")
			}
			_, _ = chromedp.Call(ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{RequestID: ev.RequestID, ResponseCode: status, Body: out,
				ResponseHeaders: []*fetch.HeaderEntry{{Name: "Content-Type", Value: "text/javascript; charset=utf-8"}}})
		}
	}()
}

// TestOutlookAddin walks the task pane in a real browser at 350 px, with a
// test double of the Office.js surface it uses in place of Microsoft's
// file: open (nested app authentication through the double's broker, then
// the install call) → create a campaign → upload → preview row 2 of a
// draft whose {{First name}} Outlook split with a <span>, and of one with
// a misspelt placeholder → set the recipients (CC cleared after asking) →
// the double "sends" the draft, posting it to the inbound webhook as
// Postmark would → progress reaches completed → the report.
func TestOutlookAddin(t *testing.T) {
	t.Parallel()
	h := startHost(t, nil)
	ctx := headless(t)
	tag := testenv.Name("pane")
	alice, _ := devauth.FindUser("alice")
	entra, _ := url.Parse(h.Entra)
	draft := outlookPaddedDraft(30 << 10)
	state := map[string]any{
		"subject":     "Your seat, {{First name}} " + tag,
		"html":        draft,
		"attachments": []map[string]any{{"name": "agenda.pdf", "size": 18}},
		"to":          []string{"colleague@contoso.example"},
		"cc":          []string{"boss@contoso.example"},
		"bcc":         []string{},
		"sets":        map[string]string{"Mailbox": "1.8", "NestedAppAuth": "1.1"},
		"naa": map[string]any{
			"accessToken": h.token(t, "alice"),
			"idToken": unsignedJWT(map[string]any{"aud": "e2e-client", "iss": h.Entra + "/" + alice.TenantID + "/v2.0", "oid": alice.ObjectID, "tid": alice.TenantID,
				"preferred_username": alice.Email, "name": alice.Name, "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix()}),
			"account": map[string]any{"homeAccountId": alice.ObjectID + "." + alice.TenantID, "environment": entra.Host, "tenantId": alice.TenantID,
				"username": alice.Email, "localAccountId": alice.ObjectID, "name": alice.Name},
		},
	}
	withOfficeDouble(t, ctx, state)
	csv := filepath.Join(t.TempDir(), "guests.csv")
	if err := os.WriteFile(csv, []byte("Email,First name,Company\n"+tag+".1@example.com,Ann,Contoso\n"+tag+".2@example.com,Ben,Fabrikam\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := stepper(t, ctx)
	eval := func(what, js string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
	}
	const pane = 350

	// Open: signed in through Outlook's broker, no sign-in page; the
	// install call creates alice's account.
	run("open the task pane", chromedp.EmulateViewport(pane, 900), chromedp.Navigate(h.URL+"/addin/taskpane"),
		chromedp.WaitVisible(chromedp.CSS(`#pane-title`)))
	first := loadFigures(t, ctx)
	double, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`performance.getEntriesByType("resource").filter((e) => e.name.startsWith("https://appsforoffice.")).reduce((s, e) => s + e.transferSize, 0)`))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("task pane first load: %.0f bytes transferred of ours (%.0f unpacked, %.0f files; Office.js, here the test double, apart), signed in through the broker and installed, ready after %.0f ms",
		first["bytes"]-double, first["unpacked"], first["files"]-1, first["ms"])
	if asked := eval("the broker's requests", `String(officeDoubleState.scopesAsked)`); !strings.Contains(asked, "access_as_user") {
		t.Errorf("the broker was asked for %q", asked)
	}
	tok := h.token(t, "alice")
	if status, me := h.call(t, "GET", "/v1/me", tok, ""); status != 200 || me["email"] != alice.Email {
		t.Fatalf("after the pane opened, /v1/me: %d %v", status, me)
	}
	pageAt(t, ctx, "addin-open", pane)

	run("create a campaign", chromedp.Click(`//button[text()="Create campaign"]`), chromedp.WaitVisible(`//h2[text()="1. Spreadsheet"]`))
	if title := eval("title", `document.querySelector("#pane-title").textContent`); !strings.Contains(title, tag) {
		t.Errorf("campaign named %q, not after the message's subject", title)
	}
	run("upload", chromedp.SetUploadFiles(chromedp.CSS(`#file`), []string{csv}), chromedp.WaitVisible(`//p[contains(., "will be sent")]`))
	pageAt(t, ctx, "addin-data", pane)

	// Preview row 2 from the draft as Outlook has it now.
	run("preview row 2", chromedp.SendKeys(chromedp.CSS(`.preview input`), "2"), chromedp.Click(`//button[text()="Preview"]`),
		chromedp.WaitVisible(chromedp.CSS(`.preview iframe`)))
	msg := eval("the preview", `document.querySelector(".preview .message").textContent`)
	for _, want := range []string{tag + ".1@example.com", "Your seat, Ann " + tag, "agenda.pdf"} {
		if !strings.Contains(msg, want) {
			t.Errorf("preview of row 2 lacks %q: %q", want, msg)
		}
	}
	if doc := eval("the rendered body", `document.querySelector(".preview iframe").srcdoc`); !strings.Contains(doc, "Hi Ann,") || !strings.Contains(doc, "Contoso") {
		t.Errorf("row 2's body is not filled in: %.300q", doc[strings.Index(doc, "<body")+0:])
	}
	round := eval("the preview's round trip", `(() => { const e = performance.getEntriesByType("resource").filter((e) => e.name.endsWith("/preview")).pop();
		return e.duration.toFixed(1) + " ms, " + e.encodedBodySize + " bytes back"; })()`)
	t.Logf("preview round trip for a %d-byte Outlook body: %s", len(draft), round)
	// The frame's page is painted once it is on the screen.
	eval("scroll to the preview", `(document.querySelector(".preview iframe").scrollIntoView(), "ok")`)
	pageAt(t, ctx, "addin-preview", pane)

	// A misspelt placeholder: named, with the column it may mean.
	eval("misspell", `(officeDoubleState.html = officeDoubleState.html.replace("{{Company}}", "{{Compnay}}"), "ok")`)
	run("preview the misspelt draft", chromedp.Click(`//button[text()="Preview"]`), chromedp.WaitVisible(`//div[@role="alert"]//li[contains(., "Compnay") and contains(., "did you mean “Company”")]`))
	pageAt(t, ctx, "addin-problem", pane)
	run("try to send it", chromedp.Click(`//button[text()="Set up the message to send"]`), chromedp.WaitVisible(`//p[contains(., "match no column")]`))
	if to := eval("recipients", `officeDoubleState.to.join(",")`); to != "colleague@contoso.example" {
		t.Errorf("recipients changed for a message with problems: %s", to)
	}
	eval("fix it", `(officeDoubleState.html = officeDoubleState.html.replace("{{Compnay}}", "{{Company}}"), "ok")`)
	run("preview the fixed draft", chromedp.Click(`//button[text()="Preview"]`), chromedp.WaitNotPresent(`//div[@role="alert"]//li[contains(., "Compnay")]`),
		chromedp.WaitVisible(chromedp.CSS(`.preview iframe`)))

	// A test of the draft as it is now, to the person, before they send it.
	run("send me a test", chromedp.Click(`//button[text()="Send me a test"]`),
		chromedp.WaitVisible(`//p[@role="status" and contains(., "marked “[Test]”")]`))
	pageAt(t, ctx, "addin-test", pane)
	if tests := h.sent(t, tag); len(tests) != 1 || !strings.HasPrefix(tests[0].Subject, "[Test] Your seat, Ann") || tests[0].To[0].Address != "alice@contoso.example" {
		t.Errorf("the draft's test: %+v", tests)
	}

	// Send: the campaign's address replaces To, CC is cleared, after asking.
	run("set up the message", chromedp.Click(`//button[text()="Set up the message to send"]`), chromedp.WaitVisible(chromedp.CSS(`dialog[open]`)))
	asked := eval("the question", `document.querySelector("dialog[open]").textContent`)
	if !strings.Contains(asked, "colleague@contoso.example") || !strings.Contains(asked, "CC: 1 address removed") {
		t.Errorf("the question: %q", asked)
	}
	pageAt(t, ctx, "addin-replace", pane)
	run("replace them", chromedp.Click(`//dialog//button[text()="Replace them"]`), chromedp.WaitVisible(`//p[contains(., "Now press Send")]`))
	var recipients struct{ To, CC, BCC []string }
	if err := json.Unmarshal([]byte(eval("recipients", `JSON.stringify({to: officeDoubleState.to, cc: officeDoubleState.cc, bcc: officeDoubleState.bcc})`)), &recipients); err != nil {
		t.Fatal(err)
	}
	if len(recipients.To) != 1 || !strings.HasPrefix(recipients.To[0], "campaigns+") || len(recipients.CC) != 0 || len(recipients.BCC) != 0 {
		t.Fatalf("recipients after setting up: %+v", recipients)
	}
	pageAt(t, ctx, "addin-send", pane)

	// The person presses Send: Outlook sends the draft as it is, and
	// Postmark posts it to the inbound webhook.
	token := strings.TrimPrefix(strings.Split(recipients.To[0], "@")[0], "campaigns+")
	h.sendTemplate(t, "alice", token, template{Subject: eval("subject", `officeDoubleState.subject`), HTML: eval("body", `officeDoubleState.html`),
		Attachments: map[string]string{"agenda.pdf": "%PDF-1.4 agenda\n"}})
	run("the pane follows the campaign", chromedp.WaitVisible(chromedp.CSS(`#campaign-title`)),
		chromedp.WaitVisible(`//div[@class="title"]//span[contains(., "Completed")]`))
	pageAt(t, ctx, "addin-progress", pane)
	msgs := h.sent(t, tag)[1:] // after the test
	if len(msgs) != 2 {
		t.Fatalf("%d messages sent after the test", len(msgs))
	}
	for _, m := range msgs {
		if m.To[0].Address == tag+".2@example.com" && (!strings.Contains(m.Body, "Hi Ben,") || !strings.Contains(m.Subject, "Your seat, Ben")) {
			t.Errorf("row 3's message: %q %.200q", m.Subject, m.Body)
		}
	}
	run("the report", chromedp.Click(`//a[text()="See the report"]`), chromedp.WaitVisible(chromedp.CSS(`#report-title`)),
		chromedp.WaitVisible(chromedp.CSS(`canvas`)))
	if rep := eval("report", `document.querySelector("main").textContent`); !strings.Contains(rep, "2Sent") {
		t.Errorf("report: %q", rep)
	}
	pageAt(t, ctx, "addin-report", pane)
}

// TestOutlookAddinDialogSignIn: where Outlook has no nested app
// authentication, the pane signs in through the Office dialog. The dialog's
// page runs as Outlook would open it (in a tab here, the double standing
// in for Office.js): MSAL.js signs in through the dev issuer's page and
// hands the token to Office.js. The pane, given that answer by the double's
// dialog, comes back signed in and installs the account; a message from a
// page of another origin in the dialog, which comes first, is ignored.
func TestOutlookAddinDialogSignIn(t *testing.T) {
	t.Parallel()
	h := startHost(t, nil)
	ctx := headless(t)
	withOfficeDouble(t, ctx, map[string]any{"subject": "Hello", "html": "<p>Hello</p>", "attachments": []any{}, "to": []string{}, "cc": []string{}, "bcc": []string{},
		"sets": map[string]string{"Mailbox": "1.8", "DialogOrigin": "1.1"}})
	step := stepper(t, ctx)
	step("the dialog's page signs in", chromedp.EmulateViewport(350, 900), chromedp.Navigate(h.URL+"/addin/dialog"),
		chromedp.WaitVisible(chromedp.CSS(`button[value="alice"]`)), chromedp.Click(chromedp.CSS(`button[value="alice"]`)))
	var answer string
	eventually(t, 30*time.Second, "the dialog's answer", func() bool {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.officeDoubleState && officeDoubleState.parentMessages ? officeDoubleState.parentMessages[0] : ""`))
		answer = v
		return err == nil && v != ""
	})
	var handed struct{ AccessToken, ExpiresOn, Error string }
	if err := json.Unmarshal([]byte(answer), &handed); err != nil || handed.AccessToken == "" {
		t.Fatalf("the dialog answered %q", answer)
	}
	if status, body := h.call(t, "POST", "/v1/install", handed.AccessToken, `{"host":"check"}`); status != 200 && status != 201 {
		t.Fatalf("the dialog's token: %d %v", status, body)
	}
	// The pane: no broker, so a sign-in button; the dialog answers. (The
	// dialog's MSAL.js cache is on the pane's origin too, and the pane would
	// use it: it is cleared, as where Outlook keeps the two apart.)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(localStorage.clear(), sessionStorage.clear(), "ok")`)); err != nil {
		t.Fatal(err)
	}
	step("the pane asks to sign in", chromedp.Navigate(h.URL+"/addin/taskpane"), chromedp.WaitVisible(`//button[contains(., "Sign in with Microsoft")]`))
	pageAt(t, ctx, "addin-signin", 350)
	answerJS, _ := json.Marshal(answer)
	forged, _ := json.Marshal(`{"accessToken":"forged-by-another-origin","expiresOn":"` + time.Now().Add(time.Hour).UTC().Format(time.RFC3339) + `"}`)
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(officeDoubleState.dialogAnswer = `+string(answerJS)+`, officeDoubleState.foreignAnswer = `+string(forged)+`, "ok")`)); err != nil {
		t.Fatal(err)
	}
	step("sign in through the dialog", chromedp.Click(`//button[contains(., "Sign in with Microsoft")]`), chromedp.WaitVisible(chromedp.CSS(`#pane-title`)))
	if who, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`.who .email`))); who != "alice@contoso.example" {
		t.Errorf("signed in as %q", who)
	}
	if kept, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`sessionStorage.getItem("mm-dialog-token") || ""`)); strings.Contains(kept, "forged") {
		t.Errorf("the pane kept the token another origin sent: %s", kept)
	}
}
