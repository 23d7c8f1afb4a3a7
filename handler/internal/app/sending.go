package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/delivery"
	"mailmerge/handler/internal/invoke"
	"mailmerge/handler/internal/merge"
	"mailmerge/handler/internal/notify"
	"mailmerge/handler/internal/pacing"
	"mailmerge/handler/internal/queue"
	"mailmerge/handler/internal/store"
)

// Sending tunes the send worker.
type Sending struct {
	// Limits are each mailbox's; Limits.MaxSend is also how long a row's
	// claim lasts.
	Limits pacing.Limits
	// StepBudget bounds one send step; the step then schedules the next,
	// so no invocation runs long and pause or cancel take effect soon.
	StepBudget time.Duration
}

// DefaultSending is the production tuning for a Mailer whose sends time
// out after sendTimeout. A send's claim and lease last that long, plus the
// time to record its answer and a margin.
func DefaultSending(sendTimeout time.Duration) Sending {
	return Sending{Limits: pacing.DefaultLimits(sendTimeout + settleTimeout + 5*time.Second), StepBudget: 30 * time.Second}
}

// stepGrace is how late a step may be before the sweep enqueues another.
const stepGrace = 2 * time.Minute

// campaignMessage names a campaign on the start and send queues. Step is
// the send step's token: a step whose token is no longer the campaign's
// ends at once, so duplicated steps die out instead of multiplying.
type campaignMessage struct {
	TenantID   string `json:"tenantId"`
	ObjectID   string `json:"objectId"`
	CampaignID string `json:"campaignId"`
	Step       string `json:"step,omitempty"`
	// Row is where the step starts looking for pending rows: where the
	// step before it stopped, so a step late in a long campaign does not
	// pass over every row already sent (a last pass from the top finds
	// rows put back behind it).
	Row int `json:"row,omitempty"`
}

func (m campaignMessage) account() account.Key {
	return account.Key{TenantID: m.TenantID, ObjectID: m.ObjectID}
}

func decodeCampaignMessage(raw []byte) (campaignMessage, error) {
	var m campaignMessage
	if err := json.Unmarshal(raw, &m); err != nil || m.TenantID == "" || m.ObjectID == "" || m.CampaignID == "" {
		return m, apperr.E(apperr.Invalid, "message_invalid", "a campaign message needs tenantId, objectId and campaignId")
	}
	return m, nil
}

// job is a campaign compiled for sending: the template, where the special
// columns are, and the template email's attachments with their content.
type job struct {
	tpl    *merge.Template
	fields merge.Fields
	atts   []merge.Attachment
	files  []delivery.File
	// subject is the template's subject as written, for notices.
	subject string
}

// jobs caches compiled campaigns per process, by campaign and template.
type jobs struct {
	mu sync.Mutex
	m  map[string]*job
}

const maxCachedJobs = 16

func (j *jobs) get(key string) *job {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.m[key]
}

func (j *jobs) put(key string, v *job) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.m == nil || len(j.m) >= maxCachedJobs {
		j.m = map[string]*job{}
	}
	j.m[key] = v
}

// loadTemplate reads the stored template email of a campaign.
func (a *App) loadTemplate(ctx context.Context, c store.Campaign) (storedOriginal, error) {
	var o storedOriginal
	raw, err := a.Store.GetBlob(ctx, containerOriginals, originalDir(c.Account, c.ID, c.OriginalID)+"template.json")
	if err != nil {
		return o, err
	}
	if err := json.Unmarshal(raw, &o); err != nil {
		return o, fmt.Errorf("stored template of campaign %s: %w", c.ID, err)
	}
	return o, nil
}

// compile loads and compiles a campaign's template with its attachments.
// A template that does not compile is a *merge.CompileError.
func (a *App) compile(ctx context.Context, c store.Campaign) (*job, error) {
	key := c.ID + "/" + c.OriginalID + "/" + c.InboundMessageID
	if j := a.jobs.get(key); j != nil {
		return j, nil
	}
	o, err := a.loadTemplate(ctx, c)
	if err != nil {
		return nil, err
	}
	tpl, err := merge.Compile(merge.Source{Subject: o.Subject, HTML: o.HtmlBody, Text: o.TextBody}, c.Data.Columns)
	if err != nil {
		return nil, err
	}
	cols := campaign.Locate(c.Data.Columns)
	j := &job{tpl: tpl, fields: merge.FieldsOf(cols), subject: o.Subject}
	for i, at := range o.Attachments {
		data, err := a.Store.GetBlob(ctx, containerOriginals, originalDir(c.Account, c.ID, c.OriginalID)+"attachments/"+strconv.Itoa(i))
		if err != nil {
			return nil, err
		}
		j.atts = append(j.atts, merge.Attachment{Name: at.Name, ContentType: at.ContentType, Size: int64(len(data)), ContentID: at.ContentID})
		j.files = append(j.files, delivery.File{Name: at.Name, ContentType: at.ContentType, ContentID: at.ContentID, Data: data})
	}
	a.jobs.put(key, j)
	return j, nil
}

// startWorker turns a queued campaign into a sending one: the template must
// compile against the columns and every row's attachments must resolve;
// otherwise the campaign fails and the owner is told what to fix.
func (a *App) startWorker(ctx context.Context, msg invoke.Message) error {
	m, err := decodeCampaignMessage(msg.Body)
	if err != nil {
		return err
	}
	c, err := a.Store.Campaign(ctx, m.account(), m.CampaignID)
	if apperr.Is(err, apperr.NotFound) {
		return nil // deleted meanwhile
	}
	if err != nil {
		return err
	}
	if c.Status != campaign.Queued {
		a.Logger.InfoContext(ctx, "start skipped", "campaign", c.ID, "status", c.Status)
		return nil
	}
	j, err := a.compile(ctx, c)
	var ce *merge.CompileError
	if errors.As(err, &ce) {
		problems := make([]string, 0, len(ce.Problems))
		for _, p := range ce.Problems {
			problems = append(problems, p.String())
		}
		return a.failCampaign(ctx, c, "template_invalid", "the email's placeholders do not match the spreadsheet's columns", problems)
	}
	if err != nil {
		return err
	}
	if problems, err := a.checkAttachments(ctx, c, j); err != nil {
		return err
	} else if len(problems) > 0 {
		return a.failCampaign(ctx, c, "attachments_invalid", "some rows name attachments the email does not have", problems)
	}
	if a.Grants != nil {
		ok, err := a.Grants.Has(ctx, c.Account)
		if err != nil {
			return err
		}
		if !ok {
			return a.pauseCampaign(ctx, c, campaign.Queued, "grant_missing", "we have no permission to send from your mailbox yet")
		}
	}
	now := a.Now().UTC()
	step := newStepToken()
	c.Status, c.StartedAt, c.UpdatedAt, c.NextStepAt = campaign.Sending, now, now, now
	c.Subject = truncate(j.subject, 200)
	c.StatusCode, c.StatusText = "", ""
	if err := a.Store.UpdateCampaign(ctx, c); err != nil {
		if apperr.Is(err, apperr.Conflict) {
			// Started by a second delivery of this message, paused or
			// cancelled meanwhile: the retry decides on the fresh row.
			return apperr.Wrap(err, apperr.Transient, "campaign_changed", "the campaign changed while starting; try again")
		}
		return err
	}
	if err := a.setStep(ctx, c, step, now); err != nil {
		return err
	}
	a.Logger.InfoContext(ctx, "campaign started", "campaign", c.ID, "rows", c.Data.ValidRows)
	return a.enqueueNotice(ctx, c, notify.Notice{Kind: notify.Started, Counts: notify.Counts{Total: c.Data.ValidRows, Pending: c.Data.ValidRows}})
}

// checkAttachments resolves every sendable row's Attachments cell against
// the template's attachments; it lists the rows that name unknown ones.
func (a *App) checkAttachments(ctx context.Context, c store.Campaign, j *job) ([]string, error) {
	if j.fields.Attachments < 0 {
		return nil, nil
	}
	var problems []string
	err := a.Store.ForEachRecipient(ctx, c.ID, func(r store.Recipient) error {
		if r.Status != campaign.RowPending {
			return nil
		}
		// The row's cell is not quoted: notices carry no spreadsheet data.
		if _, err := merge.ResolveAttachments(r.Cells, j.fields, j.atts); err != nil && len(problems) < 20 {
			problems = append(problems, fmt.Sprintf("row %d names an attachment the email does not have (it has: %s)", r.Row, attachmentList(j.atts)))
		}
		return nil
	})
	return problems, err
}

// attachmentList names the template's attachments (not inline images).
func attachmentList(atts []merge.Attachment) string {
	var names []string
	for _, at := range atts {
		if !at.Inline() {
			names = append(names, strconv.Quote(at.Name))
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}

// failCampaign ends a campaign that cannot be sent, and tells the owner.
// Its rows were never sent: they are skipped with the reason.
func (a *App) failCampaign(ctx context.Context, c store.Campaign, code, text string, problems []string) error {
	if err := a.skipPending(ctx, c, code, "the campaign could not start: "+text); err != nil {
		return err
	}
	now := a.Now().UTC()
	c.Status, c.StatusCode, c.StatusText, c.UpdatedAt, c.CompletedAt = campaign.Failed, code, text, now, now
	if err := a.Store.UpdateCampaign(ctx, c); err != nil {
		if apperr.Is(err, apperr.Conflict) {
			return apperr.Wrap(err, apperr.Transient, "campaign_changed", "the campaign changed meanwhile; try again")
		}
		return err
	}
	a.Logger.InfoContext(ctx, "campaign failed", "campaign", c.ID, "code", code, "problems", len(problems))
	return a.enqueueNotice(ctx, c, notify.Notice{Kind: notify.Failed, Reason: text, Problems: problems,
		Action: "Correct the email or the spreadsheet, then start a new campaign; it can reuse this campaign's recipients.",
		Counts: notify.Counts{Total: c.Data.ValidRows}})
}

// pauseCampaign pauses a campaign in state from, for a reason the owner can
// act on, and tells them; a campaign no longer in that state is left alone.
func (a *App) pauseCampaign(ctx context.Context, c store.Campaign, from, code, text string) error {
	for range 5 {
		if c.Status != from {
			return nil
		}
		now := a.Now().UTC()
		c.Status, c.StatusCode, c.StatusText, c.UpdatedAt = campaign.Paused, code, text, now
		err := a.Store.UpdateCampaign(ctx, c)
		if err == nil {
			break
		}
		if !apperr.Is(err, apperr.Conflict) {
			return err
		}
		if c, err = a.Store.Campaign(ctx, c.Account, c.ID); err != nil {
			return err
		}
	}
	if c.Status != campaign.Paused {
		return apperr.E(apperr.Transient, "campaign_busy", "the campaign kept changing while pausing; try again")
	}
	a.Logger.InfoContext(ctx, "campaign paused", "campaign", c.ID, "code", code)
	action := "Open the Mail Merge add-in in Outlook, then press Resume."
	return a.enqueueNotice(ctx, c, notify.Notice{Kind: notify.Paused, Reason: text, Action: action})
}

// enqueueStart asks the start worker to start a queued campaign.
func (a *App) enqueueStart(ctx context.Context, c store.Campaign, id string) error {
	body, _ := json.Marshal(campaignMessage{TenantID: c.Account.TenantID, ObjectID: c.Account.ObjectID, CampaignID: c.ID})
	return a.Queue.Send(ctx, queue.Message{Queue: queue.CampaignStart, Body: body, ID: id})
}

// setStep makes step the campaign's live step, due at, and enqueues it.
// The token is written before the message goes out, so the step finds
// itself live; a lost message is found by the sweep.
func (a *App) setStep(ctx context.Context, c store.Campaign, step string, at time.Time) error {
	if err := a.Store.SetStepToken(ctx, c.Account, c.ID, step, at); err != nil {
		return err
	}
	return a.enqueueStep(ctx, c, step, at, 0)
}

// advanceStep hands the live step from to a new one due at, starting at
// row, and enqueues it, unless a pause, cancel, resume or newer step came
// meanwhile: then the calling step just ends.
func (a *App) advanceStep(ctx context.Context, c store.Campaign, from string, at time.Time, row int) error {
	step := newStepToken()
	ok, err := a.Store.AdvanceStep(ctx, c.Account, c.ID, from, step, at, c.Status)
	if err != nil || !ok {
		return err
	}
	return a.enqueueStep(ctx, c, step, at, row)
}

func (a *App) enqueueStep(ctx context.Context, c store.Campaign, step string, at time.Time, row int) error {
	body, _ := json.Marshal(campaignMessage{TenantID: c.Account.TenantID, ObjectID: c.Account.ObjectID, CampaignID: c.ID, Step: step, Row: row})
	qm := queue.Message{Queue: queue.CampaignSend, Body: body, ID: "send-" + c.ID + "-" + step}
	if at.After(a.Now()) {
		qm.NotBefore = at
	}
	return a.Queue.Send(ctx, qm)
}

func newStepToken() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// sendWorker runs one send step of a campaign: it sends pending rows while
// the mailbox's budget allows and the step's time lasts, then schedules
// the next step. It never sleeps to wait.
func (a *App) sendWorker(ctx context.Context, msg invoke.Message) error {
	m, err := decodeCampaignMessage(msg.Body)
	if err != nil {
		return err
	}
	c, err := a.Store.Campaign(ctx, m.account(), m.CampaignID)
	if apperr.Is(err, apperr.NotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if m.Step != c.StepToken {
		a.Logger.InfoContext(ctx, "stale send step", "campaign", c.ID)
		return nil
	}
	switch c.Status {
	case campaign.Cancelled:
		return a.finishCancelled(ctx, c, m.Step)
	case campaign.Sending:
		return a.sendStep(ctx, c, m.Step, m.Row)
	}
	return nil
}

// rowResult is what sending one row asks of the step.
type rowResult struct {
	sent bool
	// wait: Graph throttled the mailbox until then.
	wait time.Time
	// pause: the campaign cannot go on until the owner acts; code and
	// text say why.
	pause      bool
	code, text string
	// done ends the row's pacing lease.
	done pacing.Done
	// blockFor is Graph's Retry-After for the whole mailbox.
	blockFor time.Duration
}

// prepared is a rendered row, ready to go.
type prepared struct {
	row store.Recipient
	msg merge.Message
	n   int // recipients: To + CC + BCC
}

func (a *App) sendStep(ctx context.Context, c store.Campaign, step string, from int) error {
	j, err := a.compile(ctx, c)
	var ce *merge.CompileError
	if errors.As(err, &ce) {
		return a.failCampaign(ctx, c, "template_invalid", "the email's placeholders do not match the spreadsheet's columns", nil)
	}
	if err != nil {
		return err
	}
	start := a.Now()
	deadline := start.Add(a.Sending.StepBudget)
	sent := 0
	// Pending rows are read a window at a time, going down the sheet from
	// where the last step stopped; the claim of each row settles any race
	// with another worker. Rows put back to pending behind the window are
	// found by the last pass, from the top. A paced step sends one or two
	// rows, so the first window is small and each next one larger.
	var window []store.Recipient
	next, fromTop := max(from, 0), false
	size := 2 * a.Sending.Limits.Concurrent
	for {
		if len(window) == 0 {
			window, err = a.Store.RecipientsInStatusFrom(ctx, c.ID, campaign.RowPending, next, size)
			if err != nil {
				return err
			}
			size = min(2*size, pendingWindow)
			if len(window) == 0 && next > 0 && !fromTop {
				next, fromTop = 0, true
				continue
			}
			if len(window) == 0 {
				a.Logger.InfoContext(ctx, "send step done", "campaign", c.ID, "sent", sent, "ms", a.Now().Sub(start).Milliseconds())
				return a.completeIfDone(ctx, c, step)
			}
			next = window[len(window)-1].Row + 1
		}
		rows := window[:min(len(window), a.Sending.Limits.Concurrent)]
		window = window[len(rows):]
		batch := a.prepare(ctx, c, j, rows)
		results, wait, err := a.sendBatch(ctx, c, j, batch)
		if err != nil {
			return err
		}
		for _, res := range results {
			if res.pause {
				return a.pauseCampaign(ctx, c, campaign.Sending, res.code, res.text)
			}
			if res.sent {
				sent++
			}
		}
		now := a.Now()
		if !wait.IsZero() || now.After(deadline) {
			if wait.Before(now) {
				wait = now
			}
			a.Logger.InfoContext(ctx, "send step paced", "campaign", c.ID, "sent", sent, "ms", now.Sub(start).Milliseconds(), "nextInMs", wait.Sub(now).Milliseconds())
			// The next step starts at this batch: its rows not granted are
			// still pending, and those before it are sent or claimed.
			return a.advanceStep(ctx, c, step, wait.UTC(), rows[0].Row)
		}
		// Pause, cancel or a newer step take effect between batches.
		if c, err = a.Store.Campaign(ctx, c.Account, c.ID); err != nil {
			return err
		}
		if c.Status != campaign.Sending || c.StepToken != step {
			return nil
		}
	}
}

// prepare renders rows; a row that cannot become a message fails here.
func (a *App) prepare(ctx context.Context, c store.Campaign, j *job, rows []store.Recipient) []prepared {
	out := make([]prepared, 0, len(rows))
	for _, r := range rows {
		var rendered merge.Rendered
		msg, err := j.tpl.Build(r.Cells, j.fields, j.atts, merge.RenderOptions{}, &rendered)
		if err != nil {
			a.finishRow(ctx, c, r, campaign.RowFailed, "row_invalid", err.Error())
			continue
		}
		n := len(msg.To) + len(msg.CC) + len(msg.BCC)
		if n > a.Sending.Limits.PerDay {
			a.finishRow(ctx, c, r, campaign.RowFailed, "too_many_recipients",
				fmt.Sprintf("one message to %d recipients is over the mailbox's %d a day", n, a.Sending.Limits.PerDay))
			continue
		}
		out = append(out, prepared{row: r, msg: msg, n: n})
	}
	return out
}

// sendBatch asks the mailbox's budget for the batch at once, sends what it
// grants in parallel and gives the leases back at once. wait is when the
// mailbox has budget again, when it had not enough or Graph throttled.
func (a *App) sendBatch(ctx context.Context, c store.Campaign, j *job, batch []prepared) ([]rowResult, time.Time, error) {
	if len(batch) == 0 {
		return nil, time.Time{}, nil
	}
	ns := make([]int, len(batch))
	for i, p := range batch {
		ns[i] = p.n
	}
	mailbox := c.Account.String()
	grants, denied, err := a.Pacer.AcquireN(ctx, mailbox, ns)
	if err != nil {
		a.Logger.WarnContext(ctx, "pacing unavailable", "campaign", c.ID, "error", err.Error())
		return nil, a.Now().Add(5 * time.Second), nil
	}
	var wait time.Time
	if len(grants) < len(batch) {
		wait = denied.NotBefore
	}
	results := make([]rowResult, len(grants))
	var wg sync.WaitGroup
	for i, g := range grants {
		wg.Go(func() { results[i] = a.sendRow(ctx, c, j, batch[i], g) })
	}
	stopRenewing := a.renewLeases(ctx, c, grants)
	wg.Wait()
	stopRenewing()
	done := make([]pacing.Done, len(results))
	var blockFor time.Duration
	for i, res := range results {
		done[i] = res.done
		blockFor = max(blockFor, res.blockFor)
		if res.wait.After(wait) {
			wait = res.wait
		}
	}
	// The leases end even if the invocation's context did.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	if err := a.Pacer.ReleaseN(rctx, mailbox, done, blockFor); err != nil {
		// The leases then end by themselves (LeaseTTL).
		a.Logger.WarnContext(ctx, "pacing release failed", "campaign", c.ID, "error", err.Error())
	}
	return results, wait, nil
}

// renewLeases renews a batch's pacing leases every third of their TTL
// until the returned stop is called: a live worker's sends keep their
// request slots however long Graph takes, while a crashed worker's lapse
// within the TTL, and the next step sends again within seconds.
func (a *App) renewLeases(ctx context.Context, c store.Campaign, grants []pacing.Grant) (stop func()) {
	if len(grants) == 0 {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(max(a.Sending.Limits.LeaseTTL/3, 10*time.Millisecond))
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if err := a.Pacer.Renew(ctx, c.Account.String(), grants); err != nil && ctx.Err() == nil {
					a.Logger.WarnContext(ctx, "pacing lease not renewed", "campaign", c.ID, "error", err.Error())
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}

// pendingWindow is how many pending rows a step reads at once.
const pendingWindow = 200

// settleTimeout bounds recording an outcome after the invocation's own
// context ended (host shutdown): what Graph answered must not be lost.
const settleTimeout = 10 * time.Second

// sendRow sends one row under its pacing grant. The row is claimed
// ("sending", under its ETag) first, and the claim is what makes a row go
// out at most once: a second worker's claim fails.
func (a *App) sendRow(ctx context.Context, c store.Campaign, j *job, p prepared, g pacing.Grant) rowResult {
	res := rowResult{done: pacing.Done{Grant: g, N: p.n}}
	now := a.Now().UTC()
	claimed, err := a.Store.ClaimRecipient(ctx, c.ID, p.row, campaign.RowSending, a.Pacer.Owner(), now.Add(a.Sending.Limits.MaxSend), now)
	if err != nil {
		// Another worker has the row, or storage failed: nothing was sent.
		if !apperr.Is(err, apperr.Conflict) {
			a.Logger.WarnContext(ctx, "row claim failed", "campaign", c.ID, "row", p.row.Row, "error", err.Error())
		}
		return res
	}
	files := make([]delivery.File, 0, len(p.msg.Attachments))
	for _, i := range p.msg.Attachments {
		files = append(files, j.files[i])
	}
	out := a.Mailer.Send(ctx, c.Account, p.msg, files, nil)
	res.done.At = a.Now()
	// From here on the outcome is recorded even if the invocation ends.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	switch out.Outcome {
	case delivery.Sent:
		res.sent, res.done.Sent = true, true
		a.finishRow(ctx, c, claimed, campaign.RowSent, "", "")
	case delivery.Retry:
		a.Logger.InfoContext(ctx, "send throttled", "campaign", c.ID, "row", p.row.Row, "code", out.Code, "retryAfterMs", out.RetryAfter.Milliseconds())
		a.unclaim(ctx, c, claimed, out.Code)
		res.blockFor, res.wait = out.RetryAfter, a.Now().Add(max(out.RetryAfter, time.Second))
	case delivery.Unauthorized:
		a.unclaim(ctx, c, claimed, out.Code)
		res.pause, res.code, res.text = true, "grant_expired", "the permission to send from your mailbox has expired"
		if out.Code == delivery.CodeAppCredentials {
			a.Logger.ErrorContext(ctx, "the app's own credentials were refused", "campaign", c.ID, "reason", out.Reason)
			res.code, res.text = "service_sign_in_failed", "the service could not sign in to Microsoft 365; we are on it, and you can resume later"
		}
	case delivery.Blocked:
		a.unclaim(ctx, c, claimed, out.Code)
		res.pause, res.code = true, "mailbox_refused"
		res.text = "Microsoft 365 refused to send from your mailbox (" + out.Code + "); your administrator may need to allow it"
	case delivery.Unknown:
		// It may have gone out: it counts against the budget and is never resent.
		res.done.Sent = true
		a.finishRow(ctx, c, claimed, campaign.RowUnknown, out.Code, "no clear answer from Microsoft Graph; the message may have been sent")
	default:
		a.finishRow(ctx, c, claimed, campaign.RowFailed, out.Code, out.Reason)
	}
	return res
}

// finishRow records a row's outcome, whatever was written meanwhile (the
// outcome is the truth). If the write keeps failing, the row stays
// "sending" and becomes unknown once its claim's deadline passes: never
// pending, so it is never sent twice.
func (a *App) finishRow(ctx context.Context, c store.Campaign, r store.Recipient, status, code, detail string) {
	r.ETag = ""
	var err error
	for attempt := range 3 {
		if _, err = a.Store.SetRecipientStatus(ctx, c.ID, r, status, code, truncate(detail, 500), a.Now().UTC()); err == nil {
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(attempt+1) * 200 * time.Millisecond):
		}
	}
	a.Logger.ErrorContext(ctx, "row outcome not recorded", "campaign", c.ID, "row", r.Row, "status", status, "error", err.Error())
}

// unclaim puts a row nothing was sent for back to pending, only if it is
// still this worker's claim: a row the sweep meanwhile called unknown
// stays unknown rather than go out after its campaign was settled.
func (a *App) unclaim(ctx context.Context, c store.Campaign, claimed store.Recipient, code string) {
	_, err := a.Store.SetRecipientStatus(ctx, c.ID, claimed, campaign.RowPending, code, "", a.Now().UTC())
	if err != nil && !apperr.Is(err, apperr.Conflict) {
		a.Logger.ErrorContext(ctx, "row not put back", "campaign", c.ID, "row", claimed.Row, "error", err.Error())
	}
}

// completeIfDone completes a sending campaign without pending rows. Rows
// still "sending" belong to a running step, or to a crashed one whose
// claims become unknown at their deadline: then it looks again at the
// earliest deadline.
func (a *App) completeIfDone(ctx context.Context, c store.Campaign, step string) error {
	for range 5 {
		inFlight, err := a.settleClaims(ctx, c, a.Now().UTC())
		if err != nil {
			return err
		}
		if !inFlight.IsZero() {
			// A send under way records its outcome; a dead worker's claim
			// is settled at its deadline.
			return a.advanceStep(ctx, c, step, a.nextLook(inFlight), 0)
		}
		counts, err := a.Store.RecipientCounts(ctx, c.ID)
		if err != nil {
			return err
		}
		if counts[campaign.RowPending] > 0 {
			return a.advanceStep(ctx, c, step, a.Now().UTC(), 0)
		}
		now := a.Now().UTC()
		c.Status, c.CompletedAt, c.UpdatedAt = campaign.Completed, now, now
		err = a.Store.UpdateCampaign(ctx, c)
		if err == nil {
			nc := noticeCounts(counts)
			a.Logger.InfoContext(ctx, "campaign completed", "campaign", c.ID, "sent", nc.Sent, "failed", nc.Failed, "unknown", nc.Unknown, "skipped", nc.Skipped)
			return a.enqueueNotice(ctx, c, notify.Notice{Kind: notify.Completed, Counts: nc})
		}
		if !apperr.Is(err, apperr.Conflict) {
			return err
		}
		// Renamed, paused, cancelled or completed by another step meanwhile.
		if c, err = a.Store.Campaign(ctx, c.Account, c.ID); err != nil {
			return err
		}
		if c.Status != campaign.Sending || c.StepToken != step {
			return nil
		}
	}
	return apperr.E(apperr.Transient, "campaign_busy", "the campaign kept changing while completing; try again")
}

// skipPending marks every row not yet sent as skipped, with the reason.
func (a *App) skipPending(ctx context.Context, c store.Campaign, code, detail string) error {
	now := a.Now().UTC()
	for {
		rows, err := a.Store.RecipientsInStatus(ctx, c.ID, campaign.RowPending, 100)
		if err != nil || len(rows) == 0 {
			return err
		}
		for _, r := range rows {
			// Conditional: a row claimed meanwhile is that worker's to settle.
			if _, err := a.Store.SetRecipientStatus(ctx, c.ID, r, campaign.RowSkipped, code, detail, now); err != nil && !apperr.Is(err, apperr.Conflict) {
				return err
			}
		}
	}
}

// finishCancelled settles a cancelled campaign: rows never sent are
// skipped, rows whose claim is past its deadline become unknown, and once
// no row is in flight the cancellation is recorded as settled.
func (a *App) finishCancelled(ctx context.Context, c store.Campaign, step string) error {
	if err := a.skipPending(ctx, c, "cancelled", "the campaign was cancelled"); err != nil {
		return err
	}
	inFlight, err := a.settleClaims(ctx, c, a.Now().UTC())
	if err != nil {
		return err
	}
	if !inFlight.IsZero() {
		// A send still running records its outcome; look again later.
		return a.advanceStep(ctx, c, step, a.nextLook(inFlight), 0)
	}
	// A row put back to pending by a send that ended meanwhile is skipped too.
	if err := a.skipPending(ctx, c, "cancelled", "the campaign was cancelled"); err != nil {
		return err
	}
	now := a.Now().UTC()
	c.CompletedAt, c.UpdatedAt = now, now
	if err := a.Store.UpdateCampaign(ctx, c); err != nil && !apperr.Is(err, apperr.Conflict) {
		return err
	}
	a.Logger.InfoContext(ctx, "cancellation settled", "campaign", c.ID)
	return nil
}

// settleClaims records as unknown every row "sending" whose claim is past
// its deadline: its worker is gone (a live one has its answer by then),
// and the message may have been sent. It returns the earliest deadline of
// the claims still running, zero when no row is in flight.
func (a *App) settleClaims(ctx context.Context, c store.Campaign, now time.Time) (inFlight time.Time, err error) {
	rows, err := a.Store.RecipientsInStatus(ctx, c.ID, campaign.RowSending, 1000)
	if err != nil {
		return time.Time{}, err
	}
	settled := 0
	for _, r := range rows {
		deadline := r.ClaimedUntil
		if deadline.IsZero() {
			// Claimed before claims had a deadline.
			deadline = r.UpdatedAt.Add(a.Sending.Limits.MaxSend)
		}
		if now.Before(deadline) {
			if inFlight.IsZero() || deadline.Before(inFlight) {
				inFlight = deadline
			}
			continue
		}
		// Conditional: a worker that records the real outcome meanwhile wins.
		_, err := a.Store.SetRecipientStatus(ctx, c.ID, r, campaign.RowUnknown, "no_outcome",
			"the send was interrupted; the message may have been sent", now)
		if err != nil && !apperr.Is(err, apperr.Conflict) {
			return inFlight, err
		}
		if err != nil {
			// Changed meanwhile: look again soon.
			inFlight = now
			continue
		}
		settled++
	}
	if settled > 0 {
		a.Logger.InfoContext(ctx, "rows settled as unknown", "campaign", c.ID, "rows", settled)
	}
	return inFlight, nil
}

// nextLook is when a step looks again at rows in flight whose earliest
// claim deadline is deadline: just after it, and at least a second on.
func (a *App) nextLook(deadline time.Time) time.Time {
	return maxTime(deadline.Add(time.Second), a.Now().Add(time.Second)).UTC()
}

func maxTime(x, y time.Time) time.Time {
	if x.After(y) {
		return x
	}
	return y
}

// noticeCounts turns row counts into a notice's counts.
func noticeCounts(counts map[string]int) notify.Counts {
	nc := notify.Counts{Sent: counts[campaign.RowSent], Failed: counts[campaign.RowFailed], Skipped: counts[campaign.RowSkipped],
		Unknown: counts[campaign.RowUnknown], Pending: counts[campaign.RowPending] + counts[campaign.RowSending]}
	nc.Total = nc.Sent + nc.Failed + nc.Skipped + nc.Unknown + nc.Pending
	return nc
}

// sweep settles what crashes leave behind: sending campaigns whose next
// step is overdue get a new one (which records rows "sending" past their
// claim's deadline as unknown), queued campaigns whose start was lost are
// started again, and cancelled campaigns not yet settled are settled.
func (a *App) sweep(ctx context.Context) error {
	now := a.Now().UTC()
	cs, err := a.Store.CampaignsToSweep(ctx, now.Add(-settleCancelWithin))
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range cs {
		if err := a.sweepCampaign(ctx, c, now); err != nil {
			errs = append(errs, fmt.Errorf("campaign %s: %w", c.ID, err))
		}
	}
	return errors.Join(errs...)
}

// settleCancelWithin is how long the sweep keeps looking at a cancelled
// campaign after its last step; each look that steps again restarts it.
const settleCancelWithin = 24 * time.Hour

// startGiveUp is how long a queued campaign may fail to start before the
// sweep stops trying and fails it.
const startGiveUp = time.Hour

func (a *App) sweepCampaign(ctx context.Context, c store.Campaign, now time.Time) error {
	switch c.Status {
	case campaign.Queued:
		if now.Sub(c.QueuedAt) < stepGrace {
			return nil
		}
		if now.Sub(c.QueuedAt) > startGiveUp {
			return a.failCampaign(ctx, c, "start_failed", "the campaign could not be started within an hour", nil)
		}
		a.Logger.InfoContext(ctx, "sweep: start again", "campaign", c.ID)
		return a.enqueueStart(ctx, c, "")
	case campaign.Cancelled:
		if !c.CompletedAt.IsZero() || now.Sub(c.NextStepAt) < stepGrace {
			return nil
		}
		return a.setStep(ctx, c, newStepToken(), now)
	}
	// Claims past their deadline are settled by the step that comes next;
	// the sweep only makes sure one comes.
	if now.Sub(c.NextStepAt) >= stepGrace {
		a.Logger.InfoContext(ctx, "sweep: step again", "campaign", c.ID)
		return a.setStep(ctx, c, newStepToken(), now)
	}
	return nil
}

// enqueueNotice queues a notice to the campaign's owner about the change
// the campaign's last update recorded.
func (a *App) enqueueNotice(ctx context.Context, c store.Campaign, n notify.Notice) error {
	return a.enqueueNoticeOnce(ctx, c, n, strings.ReplaceAll(c.UpdatedAt.Format(time.RFC3339Nano), ":", ""))
}

// enqueueNoticeOnce queues a notice; key tells it from the campaign's
// other notices of its kind (Service Bus drops a second one with the same).
func (a *App) enqueueNoticeOnce(ctx context.Context, c store.Campaign, n notify.Notice, key string) error {
	n.CampaignID, n.Campaign, n.Subject = c.ID, c.Name, c.Subject
	body, err := json.Marshal(noticeMessage{TenantID: c.Account.TenantID, ObjectID: c.Account.ObjectID, Notice: n})
	if err != nil {
		return err
	}
	return a.Queue.Send(ctx, queue.Message{Queue: queue.Notify, Body: body, ID: "notice-" + c.ID + "-" + string(n.Kind) + "-" + key})
}

// noticeMessage is a notice on the notify queue; the address it goes to
// is looked up when it is sent, so a corrected address is used.
type noticeMessage struct {
	TenantID string        `json:"tenantId"`
	ObjectID string        `json:"objectId"`
	Notice   notify.Notice `json:"notice"`
}

// notifyWorker sends a notice through Postmark. A refusal Postmark will
// repeat (an inactive address, an invalid request) is logged and dropped;
// an outage is retried by the queue a bounded number of times.
func (a *App) notifyWorker(ctx context.Context, msg invoke.Message) error {
	var m noticeMessage
	if err := json.Unmarshal(msg.Body, &m); err != nil || m.TenantID == "" || m.ObjectID == "" {
		return apperr.E(apperr.Invalid, "message_invalid", "a notice needs tenantId, objectId and notice")
	}
	acct, err := a.Store.Account(ctx, account.Key{TenantID: m.TenantID, ObjectID: m.ObjectID})
	if apperr.Is(err, apperr.NotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	m.Notice.To = acct.NotificationEmail
	if m.Notice.To == "" {
		m.Notice.To = acct.Email
	}
	if m.Notice.To == "" {
		a.Logger.InfoContext(ctx, "notice not sent: no address", "campaign", m.Notice.CampaignID, "kind", string(m.Notice.Kind))
		return nil
	}
	email, err := notify.Compose(m.Notice, a.NotifyFrom)
	if err != nil {
		return err
	}
	id, err := a.Notifier.Send(ctx, email)
	if apperr.Is(err, apperr.Invalid) {
		a.Logger.WarnContext(ctx, "notice refused by Postmark", "campaign", m.Notice.CampaignID, "kind", string(m.Notice.Kind), "code", apperr.CodeOf(err))
		return nil
	}
	if err != nil {
		return err
	}
	a.Logger.InfoContext(ctx, "notice sent", "campaign", m.Notice.CampaignID, "kind", string(m.Notice.Kind), "postmarkId", id)
	return nil
}

func (a *App) sweepTimer(ctx context.Context, _ invoke.Timer) error { return a.sweep(ctx) }
