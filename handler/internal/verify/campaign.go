package verify

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

const (
	scopeSend     = "https://graph.microsoft.com/Mail.Send"
	scopeRead     = "https://graph.microsoft.com/Mail.Read"
	scopeReadBase = "https://graph.microsoft.com/Mail.ReadBasic"
)

type campaignView struct {
	ID             string         `json:"id"`
	Status         string         `json:"status"`
	InboundAddress string         `json:"inboundAddress"`
	Counts         map[string]int `json:"counts"`
	Reason         *struct {
		Message string `json:"message"`
	} `json:"reason"`
}

// newCampaign makes a campaign with tracking on and uploads rows (a CSV),
// waiting until they are read; it returns the campaign.
func (r *run) newCampaign(ctx context.Context, name, csv string) (campaignView, error) {
	var c campaignView
	if err := r.api(ctx, "POST", "/v1/campaigns", map[string]any{"name": name, "trackOpens": true, "trackClicks": true}, &c); err != nil {
		return c, err
	}
	r.campaigns = append(r.campaigns, c.ID)
	req, err := http.NewRequestWithContext(ctx, "PUT", strings.TrimRight(r.BaseURL, "/")+"/v1/campaigns/"+url.PathEscape(c.ID)+"/data", strings.NewReader(csv))
	if err != nil {
		return c, err
	}
	req.Header.Set("Authorization", "Bearer "+r.senderAPI)
	req.Header.Set("Content-Type", "text/csv")
	req.Header.Set("X-File-Name", "verify.csv")
	resp, err := r.HTTP.Do(req)
	if err != nil {
		return c, err
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		return c, fmt.Errorf("upload: %d", resp.StatusCode)
	}
	var data struct {
		Status string `json:"status"`
	}
	err = r.waitFor(ctx, func() (bool, error) {
		err := r.api(ctx, "GET", "/v1/campaigns/"+url.PathEscape(c.ID)+"/data", nil, &data)
		return data.Status != "processing", err
	})
	if err == nil && data.Status != "ready" {
		err = fmt.Errorf("the rows were not accepted (%s)", data.Status)
	}
	return c, err
}

// sendTemplate mails the template to the campaign's address from the
// sender's mailbox, as a person does from Outlook, and waits until the
// campaign ends.
func (r *run) sendTemplate(ctx context.Context, c campaignView, subject, body string) (campaignView, error) {
	if err := r.sendMail(ctx, r.senderGraph, c.InboundAddress, subject, body, nil); err != nil {
		return c, fmt.Errorf("sending the template email: %w", err)
	}
	var v campaignView
	err := r.waitFor(ctx, func() (bool, error) {
		err := r.api(ctx, "GET", "/v1/campaigns/"+url.PathEscape(c.ID), nil, &v)
		return v.Status == "completed" || v.Status == "failed" || v.Status == "cancelled" || v.Status == "paused", err
	})
	return v, err
}

// checkCampaign: with mailbox reading turned on where the sender allows
// it, a campaign of two rows to the recipient (the second with a CC to it
// as well), tracking on, started by mailing its template to the
// campaign's address.
func checkCampaign(ctx context.Context, r *run) Result {
	var ev []string
	tok, err := r.Signer.Token(ctx, "sender", []string{scopeSend})
	if err != nil {
		return fail("the sender must allow Mail.Send to send the template email as a person would", err.Error())
	}
	r.senderGraph = tok
	r.reading = r.turnReadingOn(ctx)
	if r.reading {
		ev = append(ev, "mailbox reading turned on (Mail.ReadBasic allowed)")
	} else {
		ev = append(ev, "mailbox reading not allowed: its checks are skipped")
	}
	csv := "Email,CC,First name\n" + r.Recipient + ",,One\n" + r.Recipient + "," + r.Recipient + ",Two\n"
	c, err := r.newCampaign(ctx, "First-deployment check "+r.tag, csv)
	if err != nil {
		return fail("look at the function app's logs for the upload", err.Error())
	}
	r.campaignID = c.ID
	start := r.Now()
	v, err := r.sendTemplate(ctx, c, "Check {{First name}} "+r.tag,
		`<p>Hello {{First name}}, this is the first-deployment check of Mail Merge. <a href="https://example.com/verify">A link to click</a>.</p>`)
	if err != nil {
		return fail("check the Postmark inbound webhook (its URL and basic auth) and INBOUND_ADDRESS", err.Error())
	}
	ev = append(ev, fmt.Sprintf("campaign %s: %s %.0f s after the template email was sent; counts %v", c.ID, v.Status, r.Now().Sub(start).Seconds(), v.Counts))
	if v.Status != "completed" || v.Counts["sent"] != 2 {
		why := ""
		if v.Reason != nil {
			why = v.Reason.Message
		}
		return fail("read the campaign's reason in the dashboard: "+why, ev...)
	}
	return pass(ev...)
}

// turnReadingOn turns mailbox reading on for the sender, asking their
// consent to Mail.ReadBasic when the app needs it.
func (r *run) turnReadingOn(ctx context.Context) bool {
	err := r.api(ctx, "PATCH", "/v1/me", map[string]any{"readMailbox": true}, nil)
	if statusOf(err) == 403 {
		if _, terr := r.Signer.Token(ctx, "sender", []string{scopeReadBase}); terr == nil {
			err = r.api(ctx, "PATCH", "/v1/me", map[string]any{"readMailbox": true}, nil)
		}
	}
	return err == nil
}

// checkReceived: both messages are in the recipient's inbox.
func checkReceived(ctx context.Context, r *run) Result {
	tok, err := r.Signer.Token(ctx, "recipient", []string{scopeRead, scopeSend})
	if err != nil {
		return fail("the recipient must sign in and allow Mail.Read and Mail.Send (to read what arrived, and to reply and unsubscribe by mail)", err.Error())
	}
	r.recipientGraph = tok
	want := []string{"Check One " + r.tag, "Check Two " + r.tag}
	err = r.waitFor(ctx, func() (bool, error) {
		var page struct {
			Value []graphMessage `json:"value"`
		}
		err := r.graph(ctx, "GET", "/me/mailFolders/inbox/messages?$top=50&$select=id,subject,internetMessageId,internetMessageHeaders,body,ccRecipients", r.recipientGraph, nil, &page)
		if err != nil {
			return false, err
		}
		r.received = r.received[:0]
		for _, m := range page.Value {
			for _, s := range want {
				if m.Subject == s {
					r.received = append(r.received, m)
				}
			}
		}
		return len(r.received) >= len(want), nil
	})
	if err != nil {
		return fail("look in the recipient's Junk folder and the message trace of the Exchange admin centre", err.Error())
	}
	return pass(fmt.Sprintf("%d messages in the recipient's inbox: %q and %q", len(r.received), want[0], want[1]))
}

var dkimTags = regexp.MustCompile(`(?i)\bh=([^;]*)`)

// checkHeaders: List-Unsubscribe (https and mailto) and
// List-Unsubscribe-Post on every message.
func checkHeaders(ctx context.Context, r *run) Result {
	var ev []string
	for _, m := range r.received {
		lu, post := m.header("List-Unsubscribe"), m.header("List-Unsubscribe-Post")
		ev = append(ev, fmt.Sprintf("%s: List-Unsubscribe: %s; List-Unsubscribe-Post: %s", m.Subject, clip(lu, 200), post))
		if !strings.Contains(lu, "<https://") || !strings.Contains(lu, "<mailto:") || !strings.EqualFold(strings.TrimSpace(post), "List-Unsubscribe=One-Click") {
			return fail("Exchange did not write both headers from the message's properties: send the message as MIME instead (README, Unsubscribe headers), and say so in an issue", ev...)
		}
	}
	return pass(ev...)
}

// checkDKIM: the sender's DKIM signature covers both unsubscribe headers,
// and the recipient's side found it valid.
func checkDKIM(ctx context.Context, r *run) Result {
	var ev []string
	for _, m := range r.received {
		sig, auth := m.header("DKIM-Signature"), m.header("Authentication-Results")
		h := ""
		if mm := dkimTags.FindStringSubmatch(sig); mm != nil {
			h = strings.Join(strings.Fields(mm[1]), "")
		}
		ev = append(ev, fmt.Sprintf("%s: DKIM h=%s; Authentication-Results: %s", m.Subject, h, clip(auth, 200)))
		signed := strings.Split(strings.ToLower(h), ":")
		if sig == "" || !contains(signed, "list-unsubscribe") || !contains(signed, "list-unsubscribe-post") || !strings.Contains(strings.ToLower(auth), "dkim=pass") {
			return fail("turn on DKIM signing for the sender's domain in Microsoft Defender (Email authentication settings); Gmail shows its unsubscribe button only for signed headers", ev...)
		}
	}
	return pass(ev...)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.TrimSpace(x) == s {
			return true
		}
	}
	return false
}

// checkIdentity: with reading on, each message carries our Message-ID to
// the recipient, and the sender's Sent Items holds it under that id.
func checkIdentity(ctx context.Context, r *run) Result {
	if !r.reading {
		return skip("mailbox reading is off for the sender: messages carry Exchange's own Message-ID")
	}
	u, _ := url.Parse(r.BaseURL)
	var ev []string
	for _, m := range r.received {
		id := m.InternetMessageID
		ev = append(ev, fmt.Sprintf("%s: Message-ID %s", m.Subject, id))
		if !strings.HasSuffix(id, "@"+u.Hostname()+">") {
			return fail("Exchange replaced the Message-ID set on the message: in-doubt sends cannot be found again; keep mailbox reading off and say so in an issue", ev...)
		}
		var page struct {
			Value []graphMessage `json:"value"`
		}
		tok, err := r.Signer.Token(ctx, "sender", []string{scopeReadBase})
		if err == nil {
			err = r.graph(ctx, "GET", "/me/messages?$filter="+url.QueryEscape("internetMessageId eq '"+id+"'")+"&$select=id,isDraft,internetMessageId", tok, nil, &page)
		}
		if err != nil || len(page.Value) == 0 || page.Value[0].IsDraft {
			msg := "not found"
			if err != nil {
				msg = err.Error()
			}
			return fail("the sender's Sent Items must hold the copy under the same id: check that saveToSentItems is honoured in the tenant", append(ev, "Sent Items: "+msg)...)
		}
		ev = append(ev, "  Sent Items holds it, sent")
	}
	return pass(ev...)
}

var (
	pixelURL = regexp.MustCompile(`https?://[^"'\s<>]+/o/[A-Za-z0-9_-]+`)
	clickURL = regexp.MustCompile(`https?://[^"'\s<>]+/c/[A-Za-z0-9_-]+`)
)

// browserUA is a person's mail program fetching an image or following a
// link.
const browserUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36 Edg/124.0"

// checkTracking: the recipient's open (the pixel) and click (a tracked
// link) are recorded as a person's; what mail scanners did is shown.
func checkTracking(ctx context.Context, r *run) Result {
	m := r.received[0]
	body := strings.ReplaceAll(m.Body.Content, "&amp;", "&")
	pixel, click := pixelURL.FindString(body), clickURL.FindString(body)
	if pixel == "" || click == "" {
		return fail("the message lost its open pixel or tracked link on the way: look at the recipient's mail flow rules", "pixel found: "+fmt.Sprint(pixel != "")+", tracked link found: "+fmt.Sprint(click != ""))
	}
	// Opens sooner than the verdict's TooSoon after the send count as a
	// machine's: a person reads a little later.
	time.Sleep(11 * time.Second)
	for _, u := range []string{pixel, click} {
		req, err := http.NewRequestWithContext(ctx, "GET", u, nil)
		if err != nil {
			return fail("", err.Error())
		}
		req.Header.Set("User-Agent", browserUA)
		resp, err := (&http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			return fail("the tracking address did not answer: check PUBLIC_BASE_URL", err.Error())
		}
		resp.Body.Close()
	}
	var rep struct {
		Opens, Clicks struct {
			Human, Automated struct {
				Total int `json:"total"`
			}
		}
	}
	err := r.waitFor(ctx, func() (bool, error) {
		err := r.api(ctx, "GET", "/v1/campaigns/"+url.PathEscape(r.campaignID)+"/report", nil, &rep)
		return rep.Opens.Human.Total >= 1 && rep.Clicks.Human.Total >= 1, err
	})
	ev := []string{fmt.Sprintf("opens: %d by people, %d by machines; clicks: %d by people, %d by machines (mail scanners such as Exchange Online Protection's open and click on their own)",
		rep.Opens.Human.Total, rep.Opens.Automated.Total, rep.Clicks.Human.Total, rep.Clicks.Automated.Total)}
	if err != nil {
		return fail("the events queue may not be drained: check the tracking-events function in the Functions logs", append(ev, err.Error())...)
	}
	return pass(ev...)
}

// suppressed reports whether the recipient is on the sender's list.
func (r *run) suppressed(ctx context.Context) (bool, error) {
	var list struct {
		Suppressions []struct {
			Address string `json:"address"`
		} `json:"suppressions"`
	}
	if err := r.api(ctx, "GET", "/v1/suppressions?limit=500", nil, &list); err != nil {
		return false, err
	}
	for _, s := range list.Suppressions {
		if strings.EqualFold(s.Address, r.Recipient) {
			return true, nil
		}
	}
	return false, nil
}

func (r *run) unsuppress(ctx context.Context) {
	_ = r.api(ctx, "DELETE", "/v1/suppressions/"+url.PathEscape(r.Recipient), nil, nil)
}

var angle = regexp.MustCompile(`<([^>]+)>`)

// unsubscribeLinks are the https and mailto links of a message's
// List-Unsubscribe.
func unsubscribeLinks(m graphMessage) (https, mailto string) {
	for _, l := range angle.FindAllStringSubmatch(m.header("List-Unsubscribe"), -1) {
		switch {
		case strings.HasPrefix(l[1], "https://") || strings.HasPrefix(l[1], "http://"):
			https = l[1]
		case strings.HasPrefix(l[1], "mailto:"):
			mailto = l[1]
		}
	}
	return https, mailto
}

// checkOneClick: a POST to the https link, as Gmail sends it.
func checkOneClick(ctx context.Context, r *run) Result {
	link, _ := unsubscribeLinks(r.received[0])
	req, err := http.NewRequestWithContext(ctx, "POST", link, strings.NewReader("List-Unsubscribe=One-Click"))
	if err != nil {
		return fail("", err.Error())
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := r.HTTP.Do(req)
	if err != nil {
		return fail("the unsubscribe address did not answer: check PUBLIC_BASE_URL", err.Error())
	}
	resp.Body.Close()
	ev := []string{fmt.Sprintf("POST List-Unsubscribe=One-Click answered %d", resp.StatusCode)}
	if resp.StatusCode != 200 {
		return fail("look at the function app's logs for the unsubscribe", ev...)
	}
	if err := r.waitFor(ctx, func() (bool, error) { return r.suppressed(ctx) }); err != nil {
		return fail("the events queue may not be drained: check the tracking-events function", append(ev, "the address is not on the list: "+err.Error())...)
	}
	r.unsuppress(ctx)
	return pass(append(ev, "the address was on the sender's unsubscribe list (taken off again for the next check)")...)
}

// checkMailto: mail to the mailto link, from the recipient's mailbox.
func checkMailto(ctx context.Context, r *run) Result {
	_, link := unsubscribeLinks(r.received[len(r.received)-1])
	addr := strings.TrimPrefix(link, "mailto:")
	addr, _, _ = strings.Cut(addr, "?")
	if err := r.sendMail(ctx, r.recipientGraph, addr, "unsubscribe", "<p>unsubscribe</p>", nil); err != nil {
		return fail("the recipient could not send the unsubscribe email", err.Error())
	}
	if err := r.waitFor(ctx, func() (bool, error) { return r.suppressed(ctx) }); err != nil {
		return fail("check the Postmark inbound webhook and INBOUND_ADDRESS: plus-addressed mail must reach it", "the address is not on the list: "+err.Error())
	}
	return pass("an email to the mailto address put the recipient on the sender's unsubscribe list")
}

// checkSkipped: with the recipient on the list, the next campaign to it
// sends nothing.
func checkSkipped(ctx context.Context, r *run) Result {
	if ok, err := r.suppressed(ctx); err != nil || !ok {
		if err := r.api(ctx, "POST", "/v1/suppressions", map[string]any{"addresses": []string{r.Recipient}}, nil); err != nil {
			return fail("", err.Error())
		}
	}
	c, err := r.newCampaign(ctx, "First-deployment check, after unsubscribing "+r.tag, "Email,First name\n"+r.Recipient+",Again\n")
	if err != nil {
		return fail("", err.Error())
	}
	v, err := r.sendTemplate(ctx, c, "Check again {{First name}} "+r.tag, "<p>This one must not arrive.</p>")
	r.unsuppress(ctx)
	if err != nil {
		return fail("", err.Error())
	}
	ev := []string{fmt.Sprintf("campaign %s: %s, counts %v", c.ID, v.Status, v.Counts)}
	if v.Counts["sent"] != 0 || v.Counts["skipped"] != 1 {
		return fail("an unsubscribed address was mailed: this is a bug; say so in an issue with this report", ev...)
	}
	return pass(ev...)
}
