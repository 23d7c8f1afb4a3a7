package worker

import (
	"context"
	"net/mail"
	"sync"
	"time"

	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/delivery"
	"mailmerge/handler/internal/pacing"
	"mailmerge/handler/internal/store"
)

// sendBatch asks the mailbox's budget for the batch at once, claims the
// rows it grants, checks that the campaign still sends, sends them in
// parallel and gives the leases back at once. wait is when the mailbox
// has budget again, when it had not enough or Graph throttled.
//
// The check comes after the leases and the claims, and pause, cancel and
// deletion wait for the leases held when they answer (pacing.Settled):
// either the check sees the change, or the change waits for these sends.
// So no message leaves once they have answered.
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
	claims := make([]*store.Recipient, len(grants))
	var wg sync.WaitGroup
	for i, g := range grants {
		results[i].done = pacing.Done{Grant: g, N: batch[i].n}
		wg.Go(func() { claims[i] = w.claim(ctx, c, batch[i]) })
	}
	wg.Wait()
	live, err := w.stillSending(ctx, c)
	if !live {
		for i, claimed := range claims {
			if claimed != nil {
				w.unclaim(ctx, c, *claimed, "stopped")
			}
			results[i] = rowResult{done: results[i].done}
		}
	} else {
		stopRenewing := w.renewLeases(ctx, c, grants)
		for i, claimed := range claims {
			if claimed != nil {
				wg.Go(func() { results[i] = w.sendRow(ctx, c, j, batch[i], *claimed, results[i].done) })
			}
		}
		wg.Wait()
		stopRenewing()
	}
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
	return results, wait, err
}

// stillSending reports whether the campaign is still sending in this step,
// its account not being deleted: read after the batch's claims, so that a
// pause, a cancellation or a deletion that answered stops the batch.
func (w *Worker) stillSending(ctx context.Context, c store.Campaign) (bool, error) {
	fresh, err := w.Store.Campaign(ctx, c.Account, c.ID)
	if apperr.Is(err, apperr.NotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if fresh.Status != campaign.Sending || fresh.StepToken != c.StepToken {
		return false, nil
	}
	gone, err := w.accountGone(ctx, c.Account)
	return err == nil && !gone, err
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

// claim takes a row for this worker ("sending", under its ETag): the
// claim is what makes a row go out at most once, as a second worker's
// claim fails. nil: another worker has it, or storage failed; nothing is
// sent.
func (w *Worker) claim(ctx context.Context, c store.Campaign, p prepared) *store.Recipient {
	now := w.Now().UTC()
	if p.row.MessageID == "" {
		p.row.MessageID = p.messageID
	}
	claimed, err := w.Store.ClaimRecipient(ctx, c.ID, p.row, w.Pacer.Owner(), now.Add(w.Sending.Limits.MaxSend), now)
	if err != nil {
		if !apperr.Is(err, apperr.Conflict) {
			w.Logger.WarnContext(ctx, "row claim failed", "campaign", c.ID, "row", p.row.Row, "error", err.Error())
		}
		return nil
	}
	return &claimed
}

// sendRow sends one claimed row under its pacing grant and records the
// outcome.
func (w *Worker) sendRow(ctx context.Context, c store.Campaign, j *job, p prepared, claimed store.Recipient, lease pacing.Done) rowResult {
	res := rowResult{done: lease}
	files := make([]delivery.File, 0, len(p.msg.Attachments))
	for _, i := range p.msg.Attachments {
		files = append(files, j.files[i])
	}
	// What an unsubscribe from this message applies to is stored before
	// it leaves: its links then work for as long as the account exists,
	// also after the campaign is deleted. Without it, nothing is sent.
	// (Without tracking keys a message has no unsubscribe link at all.)
	if l := w.unsubscribeLink(c, p); l.ID != "" {
		if err := w.Store.PutUnsubscribeLink(ctx, l); err != nil {
			w.Logger.WarnContext(ctx, "unsubscribe link not stored", "campaign", c.ID, "row", p.row.Row, "error", err.Error())
			w.unclaim(ctx, c, claimed, "storage")
			res.wait = w.Now().Add(5 * time.Second)
			return res
		}
	}
	p.msg.MessageID = claimed.MessageID
	out := w.Mailer.Send(ctx, c.Account, p.msg, files, w.unsubscribeHeaders(c, p))
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
		// It may have gone out: it counts against the budget, and it is
		// never sent again unless the mailbox shows it was not (doubt).
		res.done.Sent = true
		if w.doubt(ctx, c, claimed) {
			break
		}
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
	if err != nil && !apperr.Is(err, apperr.Conflict) && !apperr.Is(err, apperr.NotFound) {
		w.Logger.ErrorContext(ctx, "row not put back", "campaign", c.ID, "row", claimed.Row, "error", err.Error())
	}
}

// count adds a batch's outcomes to the campaign's counts, in one write:
// each state in final is a row that went from pending to it. Counts of a
// campaign started before they were kept are left to its settling. It
// returns the campaign as it now is, when it read it.
func (w *Worker) count(ctx context.Context, c store.Campaign, final []campaign.RowStatus) (store.Campaign, bool) {
	if len(final) == 0 {
		return c, false
	}
	fresh, err := w.Store.ModifyCampaign(ctx, c.Account, c.ID, func(c *store.Campaign) error {
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
		return c, false
	}
	return fresh, true
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

// unsubscribeLink is what an unsubscribe from row p's message applies
// to: the suppression keys of every address it goes to (To, CC and BCC:
// one link cannot tell them apart, and suppressing them all is the safe
// side), under the message's unsubscribe ID.
func (w *Worker) unsubscribeLink(c store.Campaign, p prepared) store.UnsubscribeLink {
	l := store.UnsubscribeLink{Account: c.Account, CampaignID: c.ID, Row: p.row.Row, At: w.Now().UTC()}
	if ids := w.Links.Keys.UnsubscribeIDs(c.Account, c.ID, p.row.Row); len(ids) > 0 {
		l.ID = ids[0]
	}
	for _, list := range [][]*mail.Address{p.msg.To, p.msg.CC, p.msg.BCC} {
		for _, a := range list {
			l.Keys = append(l.Keys, store.SuppressionKey(a.Address))
		}
	}
	return l
}

// unsubscribeHeaders are row p's message's unsubscribe headers
// (tracking.Links.UnsubscribeHeaders), with the same link as its body.
func (w *Worker) unsubscribeHeaders(c store.Campaign, p prepared) map[string]string {
	return w.Links.WithNames(p.names).UnsubscribeHeaders(c.Account, c.ID, p.row.Row)
}
