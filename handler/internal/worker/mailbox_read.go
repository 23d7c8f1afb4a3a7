package worker

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/delivery"
	"mailmerge/handler/internal/invoke"
	"mailmerge/handler/internal/store"
	"mailmerge/handler/internal/task"
	"mailmerge/handler/internal/tracking"
)

// Reading the owner's inbox for replies and bounces (docs/mailbox-reading.md).
// The mailbox-scan timer queues one mailbox-read per account that lets us
// read its mailbox and sent a campaign in the last readFor; each read goes
// on from where the last one stopped (the account's inbox cursor, Graph's
// delta link). A message that names one of our messages (In-Reply-To or
// References hold a Message-ID of ours, on our host, of this account)
// marks its row: a reply from one of the message's recipients RepliedAt,
// a non-delivery report a hard bounce, a delay notice a soft one; a hard
// bounce puts the failed addresses on the suppression list (source
// "bounce"). Only those times and the kind are stored: no subject, no
// body, no sender.

// readFor is how long after a campaign's last send its owner's inbox is
// still read.
const readFor = 30 * 24 * time.Hour

// readPerRun bounds the messages one read takes from the inbox; the rest
// is read the next time, from the cursor saved.
const readPerRun = 500

// cursorMargin is how far before the last read a read starts again when
// Graph no longer knows the cursor: messages that came just before it are
// read twice rather than missed (marking them again changes nothing).
const cursorMargin = time.Hour

// scanEvery is the mailbox-scan timer's period (functions.Table): the
// reads it queues in one period share a duplicate id.
const scanEvery = 5 * time.Minute

// mailboxScan runs the mailbox-scan timer: it queues a read of the inbox
// of each account that lets us read it and has a campaign that sent
// within readFor (sending now, or completed, started or last stepped
// since). Reading stops readFor after the last send, and begins again
// with the next campaign.
func (w *Worker) mailboxScan(ctx context.Context, _ invoke.Timer) error {
	if w.Reader == nil {
		return nil
	}
	now := w.Now().UTC()
	accounts, err := w.Store.AccountsReading(ctx)
	if err != nil {
		return err
	}
	slot := now.Truncate(scanEvery).Format("200601021504")
	queued := 0
	var errs []error
	for _, a := range accounts {
		recent, err := w.Store.SentSince(ctx, a.Key, now.Add(-readFor))
		if err == nil && recent {
			err = w.Lifecycle.Tasks.MailboxRead(ctx, task.MailboxRead{Key: a.Key}, "mailbox-read-"+a.Key.String()+"-"+slot)
			queued++
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("account %s: %w", tracking.AccountTag(a.Key), err))
		}
	}
	w.Logger.InfoContext(ctx, "mailbox reads queued", "reading", len(accounts), "queued", queued)
	return errors.Join(errs...)
}

// inboxRead counts what one read found, for its log line.
type inboxRead struct {
	messages, ours, automatic, others int
	replies, bounces, hardened        int
	suppressed                        int
}

// readMailbox runs mailbox-read: it reads what arrived in the account's
// inbox since the last read, marks the rows it names, and saves where it
// stopped. An account that no longer lets us read is left alone; a
// mailbox that cannot be read (consent taken back at Microsoft) is
// skipped quietly, reading left on: the account page shows the consent's
// state, and the next read tries again. A failure to store a mark saves
// no cursor, so the next delivery reads the same messages again.
func (w *Worker) readMailbox(ctx context.Context, m task.MailboxRead) error {
	if w.Reader == nil {
		return nil
	}
	a, err := w.Store.Account(ctx, m.Key)
	if apperr.Is(err, apperr.NotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if !a.ReadMailbox || a.Deleting() {
		return nil
	}
	tag := tracking.AccountTag(a.Key)
	now := w.Now().UTC()
	arrived, next, err := w.Reader.Inbox(ctx, a.Key, a.InboxCursor, a.ReadMailboxSince, readPerRun)
	restarted := false
	if errors.Is(err, delivery.ErrCursorLost) && a.InboxCursor != "" {
		from := a.ReadMailboxSince
		if t := a.InboxReadAt.Add(-cursorMargin); t.After(from) {
			from = t
		}
		restarted = true
		arrived, next, err = w.Reader.Inbox(ctx, a.Key, "", from, readPerRun)
	}
	switch {
	case errors.Is(err, delivery.ErrUnreadable):
		w.Logger.WarnContext(ctx, "mailbox not readable: read skipped", "account", tag)
		return nil
	case err != nil:
		return apperr.Wrap(err, apperr.Transient, "inbox_unavailable", "the inbox could not be read")
	}
	n := inboxRead{messages: len(arrived)}
	for _, msg := range arrived {
		if err := w.arrived(ctx, a.Key, msg, &n); err != nil {
			return err
		}
	}
	if next == "" && !restarted {
		next = a.InboxCursor
	}
	saved, err := w.Store.SaveInbox(ctx, a.Key, a.ReadMailboxSince, next, now)
	if err != nil {
		return err
	}
	w.Logger.InfoContext(ctx, "inbox read", "account", tag, "messages", n.messages, "ours", n.ours, "automatic", n.automatic,
		"others", n.others, "replies", n.replies, "bounces", n.bounces, "hardened", n.hardened, "suppressed", n.suppressed,
		"restarted", restarted, "saved", saved)
	return nil
}

// arrived applies one message of the inbox to the rows of ours it names.
func (w *Worker) arrived(ctx context.Context, k account.Key, msg delivery.Arrived, n *inboxRead) error {
	for _, id := range w.ourMessageIDs(msg.Refers) {
		l, err := w.Store.UnsubscribeLinkOf(ctx, id)
		if apperr.Is(err, apperr.NotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if l.Account != k {
			continue // another account's message: not this mailbox's to mark
		}
		n.ours++
		if err := w.answered(ctx, l, msg, n); err != nil {
			return fmt.Errorf("campaign %s row %d: %w", l.CampaignID, l.Row, err)
		}
	}
	return nil
}

// ourMessageIDs are the ids of the Message-IDs among refers that we gave
// (messageID): on our host, with an id that names a sent message's
// record. Each once.
func (w *Worker) ourMessageIDs(refers []string) []string {
	u, err := url.Parse(w.Links.Base)
	if err != nil || u.Hostname() == "" {
		return nil
	}
	var out []string
	seen := map[string]bool{}
	for _, r := range refers {
		r = strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(r), "<"), ">")
		i := strings.LastIndexByte(r, '@')
		if i < 0 || !strings.EqualFold(r[i+1:], u.Hostname()) {
			continue
		}
		id := strings.ToLower(r[:i])
		if _, _, ok := tracking.SplitUnsubscribeID(id); ok && !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// answered marks the row of the message l records with what msg is: a
// reply from one of its recipients, a bounce, or nothing (an automatic
// answer, a reply from someone else, a report about another address). A
// hard bounce suppresses the failed addresses first: if the mark then
// fails, the next read does both again, and neither twice.
func (w *Worker) answered(ctx context.Context, l store.UnsubscribeLink, msg delivery.Arrived, n *inboxRead) error {
	at := msg.Received
	if at.IsZero() {
		at = w.Now().UTC()
	}
	keys := map[string]bool{}
	for _, key := range l.Keys {
		keys[key] = true
	}
	var mark store.Mark
	var failed map[string]bool // the keys of the addresses a bounce names
	switch {
	case msg.Report || msg.Delayed:
		failed = map[string]bool{}
		for _, f := range msg.Failed {
			if key := store.SuppressionKey(f); keys[key] {
				failed[key] = true
			}
		}
		if len(msg.Failed) > 0 && len(failed) == 0 {
			n.others++ // about an address the message did not go to
			return nil
		}
		mark = store.Mark{Bounce: store.BounceSoft, BouncedAt: at}
		if msg.Report {
			mark.Bounce = store.BounceHard
		}
	case msg.Auto:
		n.automatic++
		return nil
	case msg.From == "" || !keys[store.SuppressionKey(msg.From)]:
		n.others++ // not from anyone the message went to
		return nil
	default:
		mark = store.Mark{RepliedAt: at}
	}
	c, row, err := w.answeredRow(ctx, l)
	if err != nil {
		return err
	}
	if mark.Bounce == store.BounceHard {
		if err := w.suppressBounced(ctx, l, c, row, failed, len(msg.Failed) == 0, at, n); err != nil {
			return err
		}
	}
	if row == nil {
		return nil // the campaign was deleted: nothing left to mark
	}
	marked, err := w.Store.MarkRecipient(ctx, c.ID, row.Row, mark)
	if apperr.Is(err, apperr.NotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	replied, bounced := 0, 0
	if marked.Replied {
		replied, n.replies = 1, n.replies+1
	}
	if marked.Bounced {
		bounced, n.bounces = 1, n.bounces+1
	}
	if marked.Hardened {
		n.hardened++
	}
	if err := w.Store.CountResponses(ctx, c.Account, c.ID, replied, bounced); err != nil && !apperr.Is(err, apperr.NotFound) {
		return err
	}
	return nil
}

// answeredRow is the row l records and its campaign, while they are
// kept; a nil row once the campaign was deleted.
func (w *Worker) answeredRow(ctx context.Context, l store.UnsubscribeLink) (store.Campaign, *store.Recipient, error) {
	c, err := w.Store.Campaign(ctx, l.Account, l.CampaignID)
	if apperr.Is(err, apperr.NotFound) {
		return c, nil, nil
	}
	if err != nil {
		return c, nil, err
	}
	r, err := w.Store.Recipient(ctx, c.ID, l.Row)
	if apperr.Is(err, apperr.NotFound) {
		return c, nil, nil
	}
	if err != nil {
		return c, nil, err
	}
	return c, &r, nil
}

// suppressBounced puts the addresses a hard bounce names (failed, keys of
// the message's addresses; none named: the row's To addresses) on the
// account's suppression list, source "bounce": by address while the row
// is kept, by key alone once the campaign was deleted. A report that
// names none of a deleted campaign's message can only be told for a
// message to one address.
func (w *Worker) suppressBounced(ctx context.Context, l store.UnsubscribeLink, c store.Campaign, row *store.Recipient, failed map[string]bool, unnamed bool, at time.Time, n *inboxRead) error {
	if unnamed && row == nil && len(l.Keys) == 1 {
		failed[l.Keys[0]] = true
	}
	var list []store.Suppression
	if row != nil {
		fields := campaign.Locate(c.Data.Columns)
		for _, col := range []int{fields.To, fields.CC, fields.BCC} {
			if col < 0 || col >= len(row.Cells) {
				continue
			}
			addrs, _ := campaign.ParseAddresses(row.Cells[col])
			for _, a := range addrs {
				key := store.SuppressionKey(a.Address)
				if failed[key] || unnamed && col == fields.To {
					list = append(list, store.Suppression{Address: a.Address, At: at, Source: store.SourceBounce})
					delete(failed, key)
				}
			}
		}
	}
	for key := range failed {
		list = append(list, store.Suppression{Key: key, At: at, Source: store.SourceBounce})
	}
	added, err := w.Store.Suppress(ctx, l.Account, list)
	n.suppressed += added
	return err
}
