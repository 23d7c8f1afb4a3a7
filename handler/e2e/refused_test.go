package e2e

import (
	"strings"

	"github.com/chromedp/chromedp"
	"testing"
	"time"

	"mailmerge/handler/internal/dev/testenv"
)

// TestTypoRefusedThenFixed: a template email with a misspelt placeholder
// is refused, not the campaign: it stays ready with the reason naming the
// placeholder and the column meant, no row changes, the owner's notice
// says the same; the corrected email sent to the same address is accepted
// and every row is sent. An email before the spreadsheet is refused, the
// reason kept on the campaign.
func TestTypoRefusedThenFixed(t *testing.T) {
	t.Parallel()
	h := startHost(t, nil)
	tok, _ := h.signIn(t, "alice")
	tag := testenv.Name("typo")

	// Before the spreadsheet.
	early, c := h.newCampaign(t, tok, `{"name":"Early `+tag+`"}`)
	earlyToken := strings.TrimPrefix(strings.Split(c["inboundAddress"].(string), "@")[0], "campaigns+")
	if status, body := h.postInbound(t, "postmark", "e2e-webhook-password", templatePayload(testenv.Name("msg-"), earlyToken, "alice@contoso.example",
		template{Subject: "Hi {{First name}} " + tag, HTML: "<p>Hi</p>"})); status != 403 || body["error"].(map[string]any)["code"] != "campaign_not_ready" {
		t.Fatalf("email before the data: %d %v", status, body)
	}
	if got := h.campaign(t, tok, early); got["status"] != "draft" || !strings.Contains(got["refused"].(map[string]any)["message"].(string), "before the campaign's recipients were ready") {
		t.Errorf("the early email's refusal on the campaign: %v %v", got["status"], got["refused"])
	}

	id, token := h.readyCampaign(t, tok, people(tag, 3))
	h.sendTemplate(t, "alice", token, template{Subject: "Hi {{Frist name}} " + tag, HTML: "<p>Dear {{First name}} of {{Compnay}}</p>"})
	got := h.waitStatus(t, tok, id, 30*time.Second, "ready", "failed", "completed")
	if got["status"] != "ready" {
		t.Fatalf("after the typo: %v %v", got["status"], got["reason"])
	}
	refused, _ := got["refused"].(map[string]any)
	message, _ := refused["message"].(string)
	for _, want := range []string{
		"`{{Frist name}}` in the subject is not a column: did you mean `{{First name}}`?",
		"`{{Compnay}}` in the email is not a column: did you mean `{{Company}}`?",
		"send it to this campaign's address again",
	} {
		if !strings.Contains(message, want) {
			t.Errorf("the refusal %q does not say %q", message, want)
		}
	}
	for row, r := range h.rowStates(t, tok, id) {
		if r["status"] != "pending" {
			t.Errorf("row %d is %v after the refusal", row, r["status"])
		}
	}
	if len(h.sent(t, tag)) != 0 {
		t.Fatal("a message went out")
	}
	eventually(t, 10*time.Second, "the notice says the same", func() bool {
		for _, n := range h.notices(t) {
			if strings.Contains(n.TextBody, "`{{Frist name}}` in the subject is not a column: did you mean `{{First name}}`?") {
				return true
			}
		}
		return false
	})

	// The corrected email, to the same address.
	accepted := time.Now()
	h.sendTemplate(t, "alice", token, template{Subject: "Hi {{First name}} " + tag, HTML: "<p>Dear {{First name}} of {{Company}}</p>"})
	got = h.waitStatus(t, tok, id, 60*time.Second, "completed")
	t.Logf("from the accepted template email to the first message: %v", firstSent(h.sent(t, tag)).Sub(accepted).Round(time.Millisecond))
	if counts := got["counts"].(map[string]any); counts["sent"] != float64(3) || got["refused"] != nil {
		t.Errorf("after the fix: counts %v, refused %v", counts, got["refused"])
	}
}

// TestWebAppRefusedEmail: the dashboard shows a refused template email
// on its campaign, still ready: each misspelt placeholder with the column
// meant, and how to fix it; at 1280 and 320 px, checked by axe.
func TestWebAppRefusedEmail(t *testing.T) {
	t.Parallel()
	h := startHost(t, nil)
	tok, _ := h.signIn(t, "alice")
	tag := testenv.Name("banner")
	id, token := h.readyCampaign(t, tok, people(tag, 2))
	h.sendTemplate(t, "alice", token, template{Subject: "Hi {{Frist name}} " + tag, HTML: "<p>Dear {{First name}} of {{Compnay}}</p>"})
	if got := h.waitStatus(t, tok, id, 30*time.Second, "ready", "failed"); got["refused"] == nil {
		t.Fatalf("not refused: %v", got)
	}
	ctx := headless(t)
	run := stepper(t, ctx)
	signInBrowser(run, h, "alice")
	run("open the campaign", chromedp.Navigate(h.URL+"/#/campaigns/"+id), chromedp.WaitVisible(chromedp.CSS(`.refused`)))
	banner, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`.refused`)))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Your email was not used", "{{Frist name}}", "did you mean", "{{First name}}", "{{Compnay}}", "{{Company}}", "address again", "still ready"} {
		if !strings.Contains(banner, want) {
			t.Errorf("the banner %q does not say %q", banner, want)
		}
	}
	codes, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(".refused code").length`))
	if err != nil {
		t.Fatal(err)
	}
	if codes != 4 {
		t.Errorf("%d placeholders shown as code, want 4", codes)
	}
	page(t, ctx, "campaign-refused")
}
