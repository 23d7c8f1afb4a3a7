package app

import (
	"context"
	"errors"
	"net/http"
	"net/mail"
	"slices"
	"strconv"
	"time"

	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/delivery"
	"mailmerge/handler/internal/identity"
	"mailmerge/handler/internal/merge"
	"mailmerge/handler/internal/pacing"
	"mailmerge/handler/internal/store"
	"mailmerge/handler/internal/tracking"
)

// pacer is the mailboxes' shared sending budget (pacing.Pacer).
type pacer interface {
	AcquireN(ctx context.Context, mailbox string, ns []int) ([]pacing.Grant, pacing.Grant, error)
	ReleaseN(ctx context.Context, mailbox string, done []pacing.Done, blockFor time.Duration) error
}

// Tests a campaign may send in an hour.
const (
	testsPerHour = 20
	testPrefix   = "[Test] "
)

// testRequest names the row whose message to send; in ready, before the
// template email came, it may carry the draft (the add-in's).
type testRequest struct {
	Row     int    `json:"row"`
	Subject string `json:"subject,omitempty"`
	HTML    string `json:"html,omitempty"`
	Text    string `json:"text,omitempty"`
}

type testResponse struct {
	Row     int       `json:"row"`
	To      string    `json:"to"`
	Subject string    `json:"subject"`
	SentAt  time.Time `json:"sentAt"`
}

// sendTest sends row N's message, exactly as it would go (tracking
// included), to the owner's own address from their own mailbox, its
// subject marked "[Test] ". Its links are those of no row: opening it or
// unsubscribing from it counts for no one and suppresses no one. The row
// does not change and the test is not counted as sent; it counts against
// the mailbox's budget, and a campaign sends at most 20 an hour.
func (a *App) sendTest(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	// Another account's campaign is not found, whatever the body.
	c, err := a.ownCampaign(r, p)
	if err != nil {
		return err
	}
	var req testRequest
	if err := decodeLimited(w, r, &req, true, maxPreviewBody); err != nil {
		return err
	}
	res, err := a.test(r.Context(), r, p, c, req)
	if err != nil {
		var limited *retryAfter
		if errors.As(err, &limited) {
			w.Header().Set("Retry-After", strconv.Itoa(int(max(time.Second, limited.wait).Seconds()+0.5)))
		}
		return err
	}
	a.Logger.InfoContext(r.Context(), "test sent", "row", res.Row)
	encode(w, http.StatusOK, res)
	return nil
}

// retryAfter is an error whose answer says when to try again.
type retryAfter struct {
	error
	wait time.Duration
}

func (e *retryAfter) Unwrap() error { return e.error }

func (a *App) test(ctx context.Context, r *http.Request, p identity.Principal, c store.Campaign, req testRequest) (testResponse, error) {
	if a.Tester == nil || a.Pacer == nil {
		return testResponse{}, apperr.E(apperr.Transient, "tests_unavailable", "test messages cannot be sent from here")
	}
	acct, err := a.activeAccount(ctx, p)
	if err != nil {
		return testResponse{}, err
	}
	src, files, err := a.testTemplate(ctx, c, req)
	if err != nil {
		return testResponse{}, err
	}
	tpl, err := merge.Compile(src, c.Data.Columns)
	if err != nil {
		return testResponse{}, err // the problems, as the preview names them
	}
	row, err := a.previewRow(r, c, req.Row)
	if err != nil {
		return testResponse{}, err
	}
	atts := make([]merge.Attachment, len(files))
	for i, f := range files {
		atts[i] = merge.Attachment{Name: f.Name, ContentType: f.ContentType, Size: int64(len(f.Data)), ContentID: f.ContentID}
	}
	var rendered merge.Rendered
	msg, err := tpl.Build(row.Cells, merge.FieldsOf(campaign.Locate(c.Data.Columns)), atts, a.testLinks(c, tpl), &rendered)
	if err != nil {
		return testResponse{}, apperr.E(apperr.Invalid, "row_invalid", "row %d cannot be sent: %v", row.Row, err)
	}
	to, err := mail.ParseAddress(acct.Email)
	if err != nil {
		return testResponse{}, apperr.E(apperr.Conflict, "no_address", "your account has no address to send the test to")
	}
	msg.To, msg.CC, msg.BCC = []*mail.Address{to}, nil, nil
	msg.Subject = testPrefix + msg.Subject
	if err := a.countTest(ctx, c); err != nil {
		return testResponse{}, err
	}
	send := make([]delivery.File, 0, len(msg.Attachments))
	for _, i := range msg.Attachments {
		send = append(send, files[i])
	}
	mailbox := c.Account.String()
	grants, denied, err := a.Pacer.AcquireN(ctx, mailbox, []int{1})
	if err != nil {
		return testResponse{}, err
	}
	if len(grants) == 0 {
		return testResponse{}, &retryAfter{wait: time.Until(denied.NotBefore),
			error: apperr.E(apperr.TooMany, "mailbox_busy", "your mailbox is at its sending limit right now; try the test again in a moment")}
	}
	links := tracking.Links{Base: a.PublicBaseURL, Keys: a.TrackingKeys, Inbound: a.InboundAddress}
	out := a.Tester.Send(ctx, c.Account, msg, send, links.UnsubscribeHeaders(c.Account, c.ID, 0))
	done := pacing.Done{Grant: grants[0], N: 1, At: a.Now(), Sent: out.Outcome == delivery.Sent || out.Outcome == delivery.Unknown}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := a.Pacer.ReleaseN(rctx, mailbox, []pacing.Done{done}, out.RetryAfter); err != nil {
		a.Logger.WarnContext(ctx, "pacing release failed", "campaign", c.ID, "error", err.Error())
	}
	switch out.Outcome {
	case delivery.Sent:
		return testResponse{Row: row.Row, To: to.Address, Subject: msg.Subject, SentAt: done.At.UTC()}, nil
	case delivery.Retry:
		return testResponse{}, &retryAfter{wait: out.RetryAfter,
			error: apperr.E(apperr.TooMany, "mailbox_busy", "Microsoft 365 asked us to slow down; try the test again in a moment")}
	case delivery.Unauthorized:
		return testResponse{}, apperr.E(apperr.Conflict, "grant_expired", "we may not send from your mailbox: open the Mail Merge add-in in Outlook once, then try again")
	case delivery.Unknown:
		return testResponse{}, apperr.E(apperr.Transient, "test_unknown", "Microsoft 365 gave no clear answer: the test may have been sent; look in your Sent Items before trying again")
	}
	return testResponse{}, apperr.E(apperr.Invalid, "test_refused", "Microsoft 365 refused the test: %s", out.Reason.Text)
}

// testTemplate is what a test sends: the held template email with its
// attachments, or, before it came (draft or ready), the draft of req.
func (a *App) testTemplate(ctx context.Context, c store.Campaign, req testRequest) (merge.Source, []delivery.File, error) {
	if len(c.Data.Columns) == 0 || c.Data.Status != campaign.DataReady {
		return merge.Source{}, nil, apperr.E(apperr.Conflict, "no_data", "upload the recipients first: a test is one row's message")
	}
	if req.Subject != "" || req.HTML != "" || req.Text != "" {
		if !campaign.Editable(c.Status) {
			return merge.Source{}, nil, apperr.E(apperr.Conflict, "template_held", "the campaign has its email: send the test without a draft")
		}
		return merge.Source{Subject: req.Subject, HTML: req.HTML, Text: req.Text}, nil, nil
	}
	if c.OriginalID == "" || !slices.Contains([]campaign.Status{campaign.Review, campaign.Scheduled, campaign.Paused}, c.Status) {
		return merge.Source{}, nil, apperr.E(apperr.Conflict, "no_template",
			"a test sends the email held for review or scheduled; before it comes, send the draft's subject and body")
	}
	o, err := a.Store.Original(ctx, c)
	if err != nil {
		return merge.Source{}, nil, err
	}
	files := make([]delivery.File, len(o.Attachments))
	for i, at := range o.Attachments {
		data, err := a.Store.OriginalFile(ctx, c, i)
		if err != nil {
			return merge.Source{}, nil, err
		}
		files[i] = delivery.File{Name: at.Name, ContentType: at.ContentType, ContentID: at.ContentID, Data: data}
	}
	return merge.Source{Subject: o.Subject, HTML: o.HtmlBody, Text: o.TextBody}, files, nil
}

// testLinks render a test as the campaign's messages are, tracking
// included, but with the links of no row (row 0): its opens and clicks
// are nobody's, and its unsubscribe link suppresses no one.
func (a *App) testLinks(c store.Campaign, tpl *merge.Template) merge.RenderOptions {
	l := tracking.Links{Base: a.PublicBaseURL, Keys: a.TrackingKeys, Inbound: a.InboundAddress}
	o := tpl.Tracked(l, c.Account, c.ID, 0, c.TrackOpens, c.TrackClicks)
	if o.Unsubscribe == "" {
		o.Unsubscribe = previewUnsubscribe
	}
	return o
}

// countTest records a test on the campaign, at most testsPerHour an hour.
func (a *App) countTest(ctx context.Context, c store.Campaign) error {
	now := a.Now().UTC()
	var wait time.Duration
	_, err := a.Store.ModifyCampaign(ctx, c.Account, c.ID, func(c *store.Campaign) error {
		c.TestsAt = slices.DeleteFunc(c.TestsAt, func(t time.Time) bool { return now.Sub(t) >= time.Hour })
		if len(c.TestsAt) >= testsPerHour {
			wait = c.TestsAt[0].Add(time.Hour).Sub(now)
			return apperr.E(apperr.TooMany, "too_many_tests", "a campaign sends at most %d tests an hour; try again in %d minutes",
				testsPerHour, int(wait.Minutes())+1)
		}
		c.TestsAt = append(c.TestsAt, now)
		return nil
	})
	if wait > 0 {
		return &retryAfter{error: err, wait: wait}
	}
	return err
}
