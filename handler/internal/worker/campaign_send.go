package worker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/delivery"
	"mailmerge/handler/internal/invoke"
	"mailmerge/handler/internal/merge"
	"mailmerge/handler/internal/pacing"
	"mailmerge/handler/internal/store"
	"mailmerge/handler/internal/task"
)

// send runs campaign-send, one send step of a campaign: it sends pending
// rows while the mailbox's budget allows and the step's time lasts, then
// schedules the next step. It never sleeps to wait.
func (w *Worker) send(ctx context.Context, msg invoke.Message) error {
	m, err := task.Decode[task.Step](msg.Body)
	if err != nil {
		return err
	}
	c, err := w.Store.Campaign(ctx, m.Key, m.CampaignID)
	if apperr.Is(err, apperr.NotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if m.Step != c.StepToken {
		w.Logger.InfoContext(ctx, "stale send step", "campaign", c.ID)
		return nil
	}
	switch c.Status {
	case campaign.Cancelled:
		return w.cancelled(ctx, c, m.Step)
	case campaign.Sending:
		return w.sendStep(ctx, c, m.Step, m.Row)
	}
	return nil
}

// rowResult is what sending one row asks of the step.
type rowResult struct {
	// status is the row's new state when its outcome is final ("" when
	// it went back to pending or was not claimed).
	status campaign.RowStatus
	// wait: Graph throttled the mailbox until then.
	wait time.Time
	// pause: the campaign cannot go on until the owner acts, for why.
	pause bool
	why   campaign.Reason
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

func (w *Worker) sendStep(ctx context.Context, c store.Campaign, step string, from int) error {
	j, err := w.compile(ctx, c)
	var ce *merge.CompileError
	if errors.As(err, &ce) {
		return w.Lifecycle.Fail(ctx, c, templateInvalid, nil)
	}
	if err != nil {
		return err
	}
	start := w.Now()
	deadline := start.Add(w.Sending.StepBudget)
	sent := 0
	// Pending rows are read a window at a time, going down the sheet from
	// where the last step stopped; the claim of each row settles any race
	// with another worker. Rows put back to pending behind the window are
	// found by the last pass, from the top. A paced step sends one or two
	// rows, so the first window is small and each next one larger.
	var window []store.Recipient
	next, fromTop := max(from, 0), false
	size := 2 * w.Sending.Limits.Concurrent
	for {
		if len(window) == 0 {
			window, err = w.Store.RecipientsInStatusFrom(ctx, c.ID, campaign.RowPending, next, size)
			if err != nil {
				return err
			}
			size = min(2*size, pendingWindow)
			if len(window) == 0 && next > 0 && !fromTop {
				next, fromTop = 0, true
				continue
			}
			if len(window) == 0 {
				w.Logger.InfoContext(ctx, "send step done", "campaign", c.ID, "sent", sent, "ms", w.Now().Sub(start).Milliseconds())
				return w.completeIfDone(ctx, c, step)
			}
			next = window[len(window)-1].Row + 1
		}
		rows := window[:min(len(window), w.Sending.Limits.Concurrent)]
		window = window[len(rows):]
		batch, final := w.prepare(ctx, c, j, rows)
		results, wait, err := w.sendBatch(ctx, c, j, batch)
		if err != nil {
			return err
		}
		for _, res := range results {
			if res.status != "" {
				final = append(final, res.status)
			}
			if res.status == campaign.RowSent {
				sent++
			}
		}
		w.count(ctx, c, final)
		for _, res := range results {
			if res.pause {
				return w.Lifecycle.Pause(ctx, c, campaign.Sending, res.why)
			}
		}
		now := w.Now()
		if !wait.IsZero() || now.After(deadline) {
			if wait.Before(now) {
				wait = now
			}
			w.Logger.InfoContext(ctx, "send step paced", "campaign", c.ID, "sent", sent, "ms", now.Sub(start).Milliseconds(), "nextInMs", wait.Sub(now).Milliseconds())
			// The next step starts at this batch: its rows not granted are
			// still pending, and those before it are sent or claimed.
			return w.Lifecycle.AdvanceStep(ctx, c, step, wait.UTC(), rows[0].Row)
		}
		// Pause, cancel or a newer step take effect between batches.
		if c, err = w.Store.Campaign(ctx, c.Account, c.ID); err != nil {
			return err
		}
		if c.Status != campaign.Sending || c.StepToken != step {
			return nil
		}
	}
}

// prepare renders rows; a row that cannot become a message fails here
// (failed lists one state per such row, for the counts).
func (w *Worker) prepare(ctx context.Context, c store.Campaign, j *job, rows []store.Recipient) (out []prepared, failed []campaign.RowStatus) {
	out = make([]prepared, 0, len(rows))
	fail := func(r store.Recipient, why campaign.Reason) {
		if w.finishRow(ctx, c, r, campaign.RowFailed, why) {
			failed = append(failed, campaign.RowFailed)
		}
	}
	for _, r := range rows {
		var rendered merge.Rendered
		msg, err := j.tpl.Build(r.Cells, j.fields, j.atts, merge.RenderOptions{}, &rendered)
		if err != nil {
			fail(r, campaign.Reason{Code: "row_invalid", Text: err.Error()})
			continue
		}
		n := len(msg.To) + len(msg.CC) + len(msg.BCC)
		if n > w.Sending.Limits.PerDay {
			fail(r, campaign.Reason{Code: "too_many_recipients",
				Text: fmt.Sprintf("one message to %d recipients is over the mailbox's %d a day", n, w.Sending.Limits.PerDay)})
			continue
		}
		out = append(out, prepared{row: r, msg: msg, n: n})
	}
	return out, failed
}

// sendBatch asks the mailbox's budget for the batch at once, sends what it
// grants in parallel and gives the leases back at once. wait is when the
// mailbox has budget again, when it had not enough or Graph throttled.
func (w *Worker) sendBatch(ctx context.Context, c store.Campaign, j *job, batch []prepared) ([]rowResult, time.Time, error) {
	if len(batch) == 0 {
		return nil, time.Time{}, nil
	}
	ns := make([]int, len(batch))
	for i, p := range batch {
		ns[i] = p.n
	}
	mailbox := c.Account.String()
	grants, denied, err := w.Pacer.AcquireN(ctx, mailbox, ns)
	if err != nil {
		w.Logger.WarnContext(ctx, "pacing unavailable", "campaign", c.ID, "error", err.Error())
		return nil, w.Now().Add(5 * time.Second), nil
	}
	var wait time.Time
	if len(grants) < len(batch) {
		wait = denied.NotBefore
	}
	results := make([]rowResult, len(grants))
	var wg sync.WaitGroup
	for i, g := range grants {
		wg.Go(func() { results[i] = w.sendRow(ctx, c, j, batch[i], g) })
	}
	stopRenewing := w.renewLeases(ctx, c, grants)
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
	if err := w.Pacer.ReleaseN(rctx, mailbox, done, blockFor); err != nil {
		// The leases then end by themselves (LeaseTTL).
		w.Logger.WarnContext(ctx, "pacing release failed", "campaign", c.ID, "error", err.Error())
	}
	return results, wait, nil
}

// renewLeases renews a batch's pacing leases every third of their TTL
// until the returned stop is called: a live worker's sends keep their
// request slots however long Graph takes, while a crashed worker's lapse
// within the TTL, and the next step sends again within seconds.
func (w *Worker) renewLeases(ctx context.Context, c store.Campaign, grants []pacing.Grant) (stop func()) {
	if len(grants) == 0 {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(max(w.Sending.Limits.LeaseTTL/3, 10*time.Millisecond))
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				if err := w.Pacer.Renew(ctx, c.Account.String(), grants); err != nil && ctx.Err() == nil {
					w.Logger.WarnContext(ctx, "pacing lease not renewed", "campaign", c.ID, "error", err.Error())
				}
			}
		}
	}()
	return func() { cancel(); <-done }
}

// pendingWindow is how many pending rows a step reads at once.
const pendingWindow = 200

// sendRow sends one row under its pacing grant. The row is claimed
// ("sending", under its ETag) first, and the claim is what makes a row go
// out at most once: a second worker's claim fails.
func (w *Worker) sendRow(ctx context.Context, c store.Campaign, j *job, p prepared, g pacing.Grant) rowResult {
	res := rowResult{done: pacing.Done{Grant: g, N: p.n}}
	now := w.Now().UTC()
	claimed, err := w.Store.ClaimRecipient(ctx, c.ID, p.row, w.Pacer.Owner(), now.Add(w.Sending.Limits.MaxSend), now)
	if err != nil {
		// Another worker has the row, or storage failed: nothing was sent.
		if !apperr.Is(err, apperr.Conflict) {
			w.Logger.WarnContext(ctx, "row claim failed", "campaign", c.ID, "row", p.row.Row, "error", err.Error())
		}
		return res
	}
	files := make([]delivery.File, 0, len(p.msg.Attachments))
	for _, i := range p.msg.Attachments {
		files = append(files, j.files[i])
	}
	out := w.Mailer.Send(ctx, c.Account, p.msg, files, nil)
	res.done.At = w.Now()
	// From here on the outcome is recorded even if the invocation ends.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	final := func(status campaign.RowStatus, why campaign.Reason) {
		if w.finishRow(ctx, c, claimed, status, why) {
			res.status = status
		}
	}
	switch out.Outcome {
	case delivery.Sent:
		res.done.Sent = true
		final(campaign.RowSent, campaign.Reason{})
	case delivery.Retry:
		w.Logger.InfoContext(ctx, "send throttled", "campaign", c.ID, "row", p.row.Row, "code", out.Reason.Code, "retryAfterMs", out.RetryAfter.Milliseconds())
		w.unclaim(ctx, c, claimed, out.Reason.Code)
		res.blockFor, res.wait = out.RetryAfter, w.Now().Add(max(out.RetryAfter, time.Second))
	case delivery.Unauthorized:
		w.unclaim(ctx, c, claimed, out.Reason.Code)
		res.pause, res.why = true, campaign.Reason{Code: "grant_expired", Text: "the permission to send from your mailbox has expired"}
		if out.Reason.Code == delivery.CodeAppCredentials {
			w.Logger.ErrorContext(ctx, "the app's own credentials were refused", "campaign", c.ID, "reason", out.Reason.Text)
			res.why = campaign.Reason{Code: "service_sign_in_failed", Text: "the service could not sign in to Microsoft 365; we are on it, and you can resume later"}
		}
	case delivery.Blocked:
		w.unclaim(ctx, c, claimed, out.Reason.Code)
		res.pause, res.why = true, campaign.Reason{Code: "mailbox_refused",
			Text: "Microsoft 365 refused to send from your mailbox (" + out.Reason.Code + "); your administrator may need to allow it"}
	case delivery.Unknown:
		// It may have gone out: it counts against the budget and is never resent.
		res.done.Sent = true
		final(campaign.RowUnknown, campaign.Reason{Code: out.Reason.Code, Text: "no clear answer from Microsoft Graph; the message may have been sent"})
	default:
		final(campaign.RowFailed, campaign.Reason{Code: out.Reason.Code, Text: out.Reason.Text})
	}
	return res
}

// finishRow records a row's outcome, whatever was written meanwhile (the
// outcome is the truth), and reports whether it did. If the write keeps
// failing, the row stays "sending" and becomes unknown once its claim's
// deadline passes: never pending, so it is never sent twice.
func (w *Worker) finishRow(ctx context.Context, c store.Campaign, r store.Recipient, status campaign.RowStatus, why campaign.Reason) bool {
	r.ETag = ""
	why.Text = campaign.Clip(why.Text, 500)
	var err error
	for attempt := range 3 {
		if _, err = w.Store.SetRecipientStatus(ctx, c.ID, r, status, why, w.Now().UTC()); err == nil {
			return true
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Duration(attempt+1) * 200 * time.Millisecond):
		}
	}
	w.Logger.ErrorContext(ctx, "row outcome not recorded", "campaign", c.ID, "row", r.Row, "status", status, "error", err.Error())
	return false
}

// unclaim puts a row nothing was sent for back to pending, only if it is
// still this worker's claim: a row the sweep meanwhile called unknown
// stays unknown rather than go out after its campaign was settled.
func (w *Worker) unclaim(ctx context.Context, c store.Campaign, claimed store.Recipient, code string) {
	_, err := w.Store.SetRecipientStatus(ctx, c.ID, claimed, campaign.RowPending, campaign.Reason{Code: code}, w.Now().UTC())
	if err != nil && !apperr.Is(err, apperr.Conflict) {
		w.Logger.ErrorContext(ctx, "row not put back", "campaign", c.ID, "row", claimed.Row, "error", err.Error())
	}
}

// count adds a batch's outcomes to the campaign's counts, in one write:
// each state in final is a row that went from pending to it. Counts of a
// campaign started before they were kept are left to its settling.
func (w *Worker) count(ctx context.Context, c store.Campaign, final []campaign.RowStatus) {
	if len(final) == 0 {
		return
	}
	_, err := w.Store.ModifyCampaign(ctx, c.Account, c.ID, func(c *store.Campaign) error {
		if c.CountedAt.IsZero() {
			return store.ErrUnchanged
		}
		for _, s := range final {
			c.Counts.Move(campaign.RowPending, s, 1)
		}
		c.CountedAt = w.Now().UTC()
		return nil
	})
	if err != nil {
		// The counts are made exact again when the campaign settles.
		w.Logger.WarnContext(ctx, "counts not updated", "campaign", c.ID, "error", err.Error())
	}
}

// recount sets the campaign's counts from its rows: exact, for a campaign
// that settles.
func (w *Worker) recount(ctx context.Context, c store.Campaign, change func(*store.Campaign)) error {
	counts, err := w.Store.RecipientCounts(ctx, c.ID)
	if err != nil {
		return err
	}
	_, err = w.Store.ModifyCampaign(ctx, c.Account, c.ID, func(c *store.Campaign) error {
		c.Counts, c.CountedAt = campaign.CountsOf(counts), w.Now().UTC()
		if change != nil {
			change(c)
		}
		return nil
	})
	return err
}

// completeIfDone completes a sending campaign without pending rows. Rows
// still "sending" belong to a running step, or to a crashed one whose
// claims become unknown at their deadline: then it looks again at the
// earliest deadline.
func (w *Worker) completeIfDone(ctx context.Context, c store.Campaign, step string) error {
	inFlight, err := w.settleClaims(ctx, c, w.Now().UTC())
	if err != nil {
		return err
	}
	if !inFlight.IsZero() {
		// A send under way records its outcome; a dead worker's claim
		// is settled at its deadline.
		return w.Lifecycle.AdvanceStep(ctx, c, step, w.nextLook(inFlight), 0)
	}
	counts, err := w.Store.RecipientCounts(ctx, c.ID)
	if err != nil {
		return err
	}
	if counts[campaign.RowPending] > 0 {
		return w.Lifecycle.AdvanceStep(ctx, c, step, w.Now().UTC(), 0)
	}
	return w.Lifecycle.Complete(ctx, c, step, campaign.CountsOf(counts))
}

// cancelled settles a cancelled campaign: rows never sent are skipped,
// rows whose claim is past its deadline become unknown, and once no row
// is in flight the cancellation is recorded as settled, with exact counts.
func (w *Worker) cancelled(ctx context.Context, c store.Campaign, step string) error {
	why := campaign.Reason{Code: "cancelled", Text: "the campaign was cancelled"}
	if err := w.Lifecycle.SkipPending(ctx, c, why); err != nil {
		return err
	}
	inFlight, err := w.settleClaims(ctx, c, w.Now().UTC())
	if err != nil {
		return err
	}
	if !inFlight.IsZero() {
		// A send still running records its outcome; look again later.
		return w.Lifecycle.AdvanceStep(ctx, c, step, w.nextLook(inFlight), 0)
	}
	// A row put back to pending by a send that ended meanwhile is skipped too.
	if err := w.Lifecycle.SkipPending(ctx, c, why); err != nil {
		return err
	}
	if err := w.recount(ctx, c, func(c *store.Campaign) { c.CompletedAt = w.Now().UTC() }); err != nil {
		return err
	}
	w.Logger.InfoContext(ctx, "cancellation settled", "campaign", c.ID)
	return nil
}

// settleClaims records as unknown every row "sending" whose claim is past
// its deadline: its worker is gone (a live one has its answer by then),
// and the message may have been sent. It returns the earliest deadline of
// the claims still running, zero when no row is in flight.
func (w *Worker) settleClaims(ctx context.Context, c store.Campaign, now time.Time) (inFlight time.Time, err error) {
	rows, err := w.Store.RecipientsInStatus(ctx, c.ID, campaign.RowSending, 1000)
	if err != nil {
		return time.Time{}, err
	}
	var settled []campaign.RowStatus
	why := campaign.Reason{Code: "no_outcome", Text: "the send was interrupted; the message may have been sent"}
	for _, r := range rows {
		deadline := r.ClaimedUntil
		if deadline.IsZero() {
			// Claimed before claims had a deadline.
			deadline = r.UpdatedAt.Add(w.Sending.Limits.MaxSend)
		}
		if now.Before(deadline) {
			if inFlight.IsZero() || deadline.Before(inFlight) {
				inFlight = deadline
			}
			continue
		}
		// Conditional: a worker that records the real outcome meanwhile wins.
		_, err := w.Store.SetRecipientStatus(ctx, c.ID, r, campaign.RowUnknown, why, now)
		if err != nil && !apperr.Is(err, apperr.Conflict) {
			return inFlight, err
		}
		if err != nil {
			// Changed meanwhile: look again soon.
			inFlight = now
			continue
		}
		settled = append(settled, campaign.RowUnknown)
	}
	if len(settled) > 0 {
		// Their batch never counted them: pending until now.
		w.count(ctx, c, settled)
		w.Logger.InfoContext(ctx, "rows settled as unknown", "campaign", c.ID, "rows", len(settled))
	}
	return inFlight, nil
}

// nextLook is when a step looks again at rows in flight whose earliest
// claim deadline is deadline: just after it, and at least a second on.
func (w *Worker) nextLook(deadline time.Time) time.Time {
	return maxTime(deadline.Add(time.Second), w.Now().Add(time.Second)).UTC()
}

func maxTime(x, y time.Time) time.Time {
	if x.After(y) {
		return x
	}
	return y
}
