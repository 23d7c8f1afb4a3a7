package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"mailmerge/handler/internal/dev/testenv"
)

// TestRepliesAndBounces: with reading on, a campaign is sent; then a reply
// to one row's message and a non-delivery report for another's arrive in
// the sender's inbox (the Graph sandbox, as Exchange would put them
// there). One run of the mailbox-scan timer (and the mailbox-read it
// queues) puts them in the report: 1 replied, 1 bounced, per row and in
// the CSV; the bounced address is on the suppression list (source
// bounce), and the next campaign to the same rows skips it.
func TestRepliesAndBounces(t *testing.T) {
	t.Parallel()
	h := startHost(t, nil)
	tok, _ := h.signIn(t, "alice")
	h.readingOn(t, tok, "alice")
	tag := testenv.Name("mbox")
	const rows = 3
	tpl := template{Subject: "Hi {{First name}} " + tag, HTML: "<p>Hi {{First name}}</p>"}
	id := h.startCampaign(t, tok, "alice", people(tag, rows), tpl)
	h.waitStatus(t, tok, id, 2*time.Minute, "completed")
	byTo := onceEach(t, h.sent(t, tag), tag, rows)
	replier, bounced := tag+".1@example.com", tag+".2@example.com"
	for _, addr := range []string{replier, bounced} {
		if m := byTo[addr]; !strings.HasPrefix(m.MessageID, "<") || !strings.HasSuffix(m.MessageID, "@127.0.0.1>") {
			t.Fatalf("the message to %s went with Message-ID %q, not one of ours", addr, m.MessageID)
		}
	}

	arrived := time.Now()
	control(t, h.Graph+"/_sandbox/inbox", `{"inReplyTo":"`+byTo[replier].MessageID+`","kind":"reply"}`)
	control(t, h.Graph+"/_sandbox/inbox", `{"inReplyTo":"`+byTo[bounced].MessageID+`","kind":"ndr"}`)
	h.runFunction(t, "mailbox-scan", "")
	var rep map[string]any
	eventually(t, 60*time.Second, "a reply and a bounce in the report", func() bool {
		var status int
		status, rep = h.call(t, "GET", "/v1/campaigns/"+id+"/report", tok, "")
		return status == http.StatusOK && reportValue(rep, "counts.replied") == 1.0 && reportValue(rep, "counts.bounced") == 1.0
	})
	took := time.Since(arrived)
	if took > 5*time.Minute {
		t.Errorf("in the report %v after they arrived, more than the timer's period", took)
	}
	if r := rep["rates"].(map[string]any); rep["mailboxRead"] != true || r["replies"] != 1.0/rows || r["bounces"] != 1.0/rows {
		t.Errorf("mailboxRead %v, rates %v", rep["mailboxRead"], r)
	}
	marked := map[string]map[string]any{}
	for _, r := range reportValue(rep, "people.rows").([]any) {
		row := r.(map[string]any)
		marked[row["to"].(string)] = row
	}
	if len(marked) != 2 || marked[replier]["repliedAt"] == nil || marked[replier]["bounce"] != nil ||
		marked[bounced]["bounce"] != "hard" || marked[bounced]["bouncedAt"] == nil || marked[bounced]["repliedAt"] != nil {
		t.Errorf("the rows listed: %v", marked)
	}
	req, err := http.NewRequest("GET", h.URL+"/v1/campaigns/"+id+"/report?format=csv", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	csvText := string(raw)
	if !strings.Contains(csvText, ",Replied,Bounced,Bounce") || !strings.Contains(csvText, ",not delivered") {
		t.Errorf("the CSV lacks the replies and bounces: %q", csvText)
	}

	status, list := h.call(t, "GET", "/v1/suppressions?source=bounce", tok, "")
	if status != http.StatusOK {
		t.Fatalf("suppressions: %d %v", status, list)
	}
	found := false
	for _, s := range list["suppressions"].([]any) {
		s := s.(map[string]any)
		found = found || s["address"] == bounced && s["source"] == "bounce"
		if s["address"] == replier {
			t.Errorf("the address that replied is on the list: %v", s)
		}
	}
	if !found {
		t.Errorf("%s is not on the list as a bounce: %v", bounced, list)
	}
	// The handler's log says what it read in counts, and names no one.
	if out := h.Output.String(); !strings.Contains(out, `"msg":"inbox read"`) || !strings.Contains(out, `"replies":1`) || strings.Contains(out, tag+".") {
		t.Errorf("the log lacks the read's counts or names a recipient:\n%s", out)
	}
	t.Logf("a reply and a bounce in the report %.1f s after they arrived (one timer run)", took.Seconds())
	// The campaign and its rows say it too (the dashboard's and the pane's
	// campaign page).
	if counts := h.campaign(t, tok, id)["counts"].(map[string]any); counts["replied"] != 1.0 || counts["bounced"] != 1.0 {
		t.Errorf("the campaign's counts %v, want 1 replied and 1 bounced", counts)
	}
	replied, bouncedRows := 0, 0
	for _, r := range h.rowStates(t, tok, id) {
		if r["repliedAt"] != nil {
			replied++
		}
		if r["bouncedAt"] != nil && r["bounce"] == "hard" {
			bouncedRows++
		}
	}
	if replied != 1 || bouncedRows != 1 {
		t.Errorf("rows: %d replied, %d bounced hard; want 1 each", replied, bouncedRows)
	}

	// In the browser: the report's tiles and who-list, and the bounce
	// apart on the unsubscribe list; at 1280 and 320 px, with axe.
	ctx := headless(t)
	run := stepper(t, ctx)
	signInBrowser(run, h, "alice")
	run("the report", chromedp.Navigate(h.URL+"/#/campaigns/"+id+"/report"), chromedp.WaitVisible(chromedp.CSS(`#report-title`)),
		chromedp.WaitVisible(`//li[contains(@class, "tile")][contains(., "Replied")]`))
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("%s: %v", sel, err)
		}
		return s
	}
	rates := text(`.rates`)
	for _, want := range []string{"Replied", "Bounced", "1 of 3", "33.3%", "on your unsubscribe list"} {
		if !strings.Contains(rates, want) {
			t.Errorf("the rates %q lack %q", rates, want)
		}
	}
	who := text(`.people`)
	if !strings.Contains(who, "Who replied, and messages that bounced") || !strings.Contains(who, "Not delivered") || !strings.Contains(who, bounced) || !strings.Contains(who, replier) {
		t.Errorf("who-list %q: want both rows, the bounce said as not delivered", who)
	}
	pageAt(t, ctx, "report-replies", 1280, 320)
	run("the unsubscribe list, bounces apart", chromedp.Navigate(h.URL+"/#/suppressions"), chromedp.WaitVisible(chromedp.CSS(`#supp-title`)),
		chromedp.WaitVisible(`//td[contains(., "`+bounced+`")]`))
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => { const s = document.querySelector("form.search select");
		s.value = "bounce"; s.dispatchEvent(new Event("change", { bubbles: true })); return s.value; })()`)); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the bounces alone", func() bool {
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`table.stack tbody`)))
		return err == nil && strings.Contains(s, "bounced: a message could not be delivered") && !strings.Contains(s, "unsubscribed")
	})
	pageAt(t, ctx, "suppressions-bounced", 1280, 320)

	// The next campaign to the same rows: the bounced address is skipped.
	again := h.startCampaign(t, tok, "alice", people(tag, rows), tpl)
	c := h.waitStatus(t, tok, again, 2*time.Minute, "completed")
	if counts := c["counts"].(map[string]any); counts["sent"] != float64(rows-1) || counts["skipped"] != 1.0 {
		t.Errorf("the next campaign's counts %v, want %d sent and 1 skipped", counts, rows-1)
	}
	per := map[string]int{}
	for _, m := range h.sent(t, tag) {
		per[m.To[0].Address]++
	}
	if per[bounced] != 1 || per[replier] != 2 {
		t.Errorf("messages per address %v: want the bounced address mailed once, the others twice", per)
	}
}

// reportValue reads the value at a dotted path of a decoded JSON object;
// nil when there is none.
func reportValue(v any, path string) any {
	for _, p := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}
