package worker

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"time"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/merge"
	"mailmerge/handler/internal/pacing"
	"mailmerge/handler/internal/store"
	"mailmerge/handler/internal/task"
	"mailmerge/handler/internal/tracking"
)

// send runs campaign-send, one send step of a campaign: it sends pending
// rows while the mailbox's budget allows and the step's time lasts, then
// schedules the next step. It never sleeps to wait.
func (w *Worker) send(ctx context.Context, m task.Step) error {
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
	if gone, err := w.accountGone(ctx, c.Account); gone || err != nil {
		return err // its deletion removes the campaign
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
	// names are what the message's unsubscribe page shows: its link
	// and its headers carry the same token.
	names tracking.Names
	// messageID is the Message-ID it goes with when the owner lets us
	// read the mailbox, "" otherwise (a row sent again keeps its own).
	messageID string
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
	// Outside its sending window the campaign waits: the next step comes
	// when the window opens (a queue that delivers it early meets a
	// closed window again, and waits again). Inside, the step ends when
	// the window closes.
	if open, until := c.Window.At(start); !open {
		w.Logger.InfoContext(ctx, "outside the sending window", "campaign", c.ID, "opensInMin", int(until.Sub(start).Minutes()))
		return w.Lifecycle.AdvanceStep(ctx, c, step, until.UTC(), max(from, 0))
	} else if !until.IsZero() && until.Before(deadline) {
		deadline = until
	}
	sent := 0
	reading := w.reads(ctx, c)
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
		// No batch starts once the window has closed.
		if open, until := c.Window.At(w.Now()); !open {
			return w.Lifecycle.AdvanceStep(ctx, c, step, until.UTC(), window[0].Row)
		}
		rows := window[:min(len(window), w.Sending.Limits.Concurrent)]
		window = window[len(rows):]
		batch, final := w.prepare(ctx, c, j, rows, reading)
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
		fresh, read := w.count(ctx, c, final)
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
		// Pause, cancel, a newer step or a deletion take effect between
		// batches.
		if read {
			c = fresh
		} else if c, err = w.Store.Campaign(ctx, c.Account, c.ID); apperr.Is(err, apperr.NotFound) {
			return nil
		} else if err != nil {
			return err
		}
		if gone, err := w.accountGone(ctx, c.Account); gone || err != nil {
			return err
		}
		if c.Status != campaign.Sending || c.StepToken != step {
			return nil
		}
	}
}

// renderOptions are a row's tracking (merge.Template.Tracked), its
// unsubscribe page showing names.
func (w *Worker) renderOptions(c store.Campaign, j *job, row int, names tracking.Names) merge.RenderOptions {
	return j.tpl.Tracked(w.Links.WithNames(names), c.Account, c.ID, row, c.TrackOpens, c.TrackClicks)
}

// prepare renders rows; a row that cannot become a message fails here,
// and one to an address on the suppression list is skipped (done lists
// the state of each such row, for the counts).
func (w *Worker) prepare(ctx context.Context, c store.Campaign, j *job, rows []store.Recipient, reading bool) (out []prepared, done []campaign.RowStatus) {
	out = make([]prepared, 0, len(rows))
	fail := func(r store.Recipient, why campaign.Reason) {
		if w.finishRow(ctx, c, r, campaign.RowFailed, why) {
			done = append(done, campaign.RowFailed)
		}
	}
	for _, r := range rows {
		var rendered merge.Rendered
		names := j.names(r.Cells)
		msg, err := j.tpl.Build(r.Cells, j.fields, j.atts, w.renderOptions(c, j, r.Row, names), &rendered)
		if err != nil {
			fail(r, campaign.Reason{Code: "row_invalid", Text: err.Error()})
			continue
		}
		skip, err := w.applySuppressions(ctx, c, &msg)
		if err != nil {
			// The list cannot be read: the row waits for the next step.
			w.Logger.WarnContext(ctx, "suppression list unavailable", "campaign", c.ID, "error", err.Error())
			continue
		}
		if skip {
			// Conditional: a row claimed meanwhile is that worker's.
			if _, err := w.Store.SetRecipientStatus(ctx, c.ID, r, campaign.RowSkipped, unsubscribed, w.Now().UTC()); err == nil {
				done = append(done, campaign.RowSkipped)
			}
			continue
		}
		n := len(msg.To) + len(msg.CC) + len(msg.BCC)
		if n > w.Sending.Limits.PerDay {
			fail(r, campaign.Reason{Code: "too_many_recipients",
				Text: fmt.Sprintf("one message to %d recipients is over the mailbox's %d a day", n, w.Sending.Limits.PerDay)})
			continue
		}
		p := prepared{row: r, msg: msg, n: n, names: names}
		if reading {
			p.messageID = w.messageID(c, r.Row)
		}
		out = append(out, p)
	}
	return out, done
}

// applySuppressions checks every recipient of msg against the account's
// suppression list: a suppressed To address skips the row (skip); a
// suppressed CC or BCC address is dropped from the message, which still
// goes to the rest. The same holds in a campaign that was running when
// the person unsubscribed.
func (w *Worker) applySuppressions(ctx context.Context, c store.Campaign, msg *merge.Message) (skip bool, err error) {
	for _, a := range msg.To {
		if ok, err := w.Store.Suppressed(ctx, c.Account, a.Address); ok || err != nil {
			return ok, err
		}
	}
	for _, list := range []*[]*mail.Address{&msg.CC, &msg.BCC} {
		kept := (*list)[:0:0]
		for _, a := range *list {
			ok, err := w.Store.Suppressed(ctx, c.Account, a.Address)
			if err != nil {
				return false, err
			}
			if !ok {
				kept = append(kept, a)
			}
		}
		*list = kept
	}
	return false, nil
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
	reading, readingKnown := false, false
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
		if r.MessageID != "" && w.Reader != nil {
			// Its message can be looked for in the mailbox.
			if !readingKnown {
				reading, readingKnown = w.reads(ctx, c), true
			}
			status, err := w.resolve(ctx, c, r, reading, now)
			if err != nil {
				return inFlight, err
			}
			if status != "" {
				settled = append(settled, status)
			} else if next := now.Add(w.Sending.Doubt.After); inFlight.IsZero() || next.Before(inFlight) {
				// Looked for again then (or sent again: pending).
				inFlight = next
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
		w.Logger.InfoContext(ctx, "rows in flight settled", "campaign", c.ID, "rows", len(settled))
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

// accountGone reports whether the account is deleted or being deleted:
// nothing more is sent for it once DELETE /v1/me has answered.
func (w *Worker) accountGone(ctx context.Context, k account.Key) (bool, error) {
	a, err := w.Store.Account(ctx, k)
	if apperr.Is(err, apperr.NotFound) {
		return true, nil
	}
	return err == nil && a.Deleting(), err
}
