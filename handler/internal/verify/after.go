package verify

import (
	"context"
	"fmt"
	"net/url"
	"strings"
)

// checkReplies: with mailbox reading on, a reply from the recipient and a
// bounce (a message to a made-up address at the recipient's domain) are
// read from the sender's inbox into the reports.
func checkReplies(ctx context.Context, r *run) Result {
	if !r.reading {
		return skip("mailbox reading is off for the sender")
	}
	m := r.received[0]
	if err := r.graph(ctx, "POST", "/me/messages/"+url.PathEscape(m.ID)+"/reply", r.recipientGraph,
		map[string]string{"comment": "A reply for the first-deployment check."}, nil); err != nil {
		return fail("the recipient could not reply", err.Error())
	}
	bounceTo := r.BounceTo
	if bounceTo == "" {
		_, domain, _ := strings.Cut(r.Recipient, "@")
		bounceTo = "nobody-" + r.tag + "@" + domain
	}
	c, err := r.newCampaign(ctx, "First-deployment check, a bounce "+r.tag, "Email,First name\n"+bounceTo+",Nobody\n")
	if err != nil {
		return fail("", err.Error())
	}
	if _, err := r.sendTemplate(ctx, c, "Check a bounce {{First name}} "+r.tag, "<p>This address does not exist.</p>"); err != nil {
		return fail("", err.Error())
	}
	type counts struct {
		Counts struct {
			Replied int `json:"replied"`
			Bounced int `json:"bounced"`
		} `json:"counts"`
	}
	var first, bounced counts
	started := r.Now()
	err = r.waitFor(ctx, func() (bool, error) {
		r.runTimer(ctx, "mailbox-scan")
		if err := r.api(ctx, "GET", "/v1/campaigns/"+url.PathEscape(r.campaignID)+"/report", nil, &first); err != nil {
			return false, err
		}
		if err := r.api(ctx, "GET", "/v1/campaigns/"+url.PathEscape(c.ID)+"/report", nil, &bounced); err != nil {
			return false, err
		}
		return first.Counts.Replied >= 1 && bounced.Counts.Bounced >= 1, nil
	})
	ev := []string{fmt.Sprintf("after %.0f s: %d replied in the first campaign, %d bounced in the bounce's", r.Now().Sub(started).Seconds(), first.Counts.Replied, bounced.Counts.Bounced)}
	if err != nil {
		return fail("the mailbox-scan timer reads the inbox every 5 minutes: check it ran (Functions logs), and that replies keep In-Reply-To (README, Verify on first deployment)", append(ev, err.Error())...)
	}
	return pass(ev...)
}

// checkDeletion: the run's campaigns and the sender's test account are
// deleted, and nothing of the account remains to list.
func checkDeletion(ctx context.Context, r *run) Result {
	for _, id := range r.campaigns {
		if err := r.api(ctx, "DELETE", "/v1/campaigns/"+url.PathEscape(id), nil, nil); err != nil && statusOf(err) != 404 {
			return fail("look at the function app's logs for the deletion", err.Error())
		}
	}
	if err := r.api(ctx, "DELETE", "/v1/me", nil, nil); err != nil {
		return fail("look at the function app's logs for the deletion", err.Error())
	}
	r.accountDeleted = true
	err := r.waitFor(ctx, func() (bool, error) {
		err := r.api(ctx, "GET", "/v1/me/data", nil, nil)
		if statusOf(err) == 404 {
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		return fail("the account-deletion worker may not run: check the account-delete function in the Functions logs", "GET /v1/me/data still answers: "+err.Error())
	}
	return pass(fmt.Sprintf("%d campaigns deleted; the account deleted: GET /v1/me/data answers 404", len(r.campaigns)))
}
