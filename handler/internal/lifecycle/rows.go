package lifecycle

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"sort"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/store"
)

// The rows of a campaign are checked against its account's unsubscribe
// list when they come in (an upload, a copy of another campaign's rows)
// and again at the start, if the list changed since: a row to an address
// on the list is skipped with its own reason (campaign.Unsubscribed), so
// the counts say how many messages will really go. The send step still
// checks each message, as the list may change while a campaign sends.

// unsubscribeList reads account k's unsubscribe list as keys, and names it
// as it is (DataSummary.Checked): its size and a digest of its keys, so
// that a list changed in any way is named differently.
func (l *Lifecycle) unsubscribeList(ctx context.Context, k account.Key) (map[string]bool, string, error) {
	keys, err := l.Store.SuppressionKeys(ctx, k)
	if err != nil {
		return nil, "", fmt.Errorf("read the unsubscribe list: %w", err)
	}
	sorted := make([]string, 0, len(keys))
	for key := range keys {
		sorted = append(sorted, key)
	}
	sort.Strings(sorted)
	h := sha256.New()
	for _, key := range sorted {
		h.Write([]byte(key + "\n"))
	}
	return keys, fmt.Sprintf("%d:%x", len(keys), h.Sum(nil)[:12]), nil
}

// SkipUnsubscribed skips the validated rows that go to an address on
// account k's unsubscribe list (campaign.SkipUnsubscribed), before they
// are stored. It returns the list's name for DataSummary.Checked.
func (l *Lifecycle) SkipUnsubscribed(ctx context.Context, k account.Key, cols *campaign.Columns, rows []campaign.Row, rep *campaign.Report) (string, error) {
	keys, checked, err := l.unsubscribeList(ctx, k)
	if err != nil {
		return "", err
	}
	if len(keys) > 0 {
		n := campaign.SkipUnsubscribed(rows, cols, rep, func(a string) bool { return keys[store.SuppressionKey(a)] })
		l.Logger.InfoContext(ctx, "rows checked against the unsubscribe list", "rows", len(rows), "skipped", n)
	}
	return checked, nil
}

// recheckUnsubscribes checks the rows of campaign c, about to start,
// against the unsubscribe list again if it changed since they were
// checked (reading the rows only then): a row to an address put on the
// list since is skipped; one skipped for an address taken off the list is
// to be sent after all, unless another row to be sent now has the same
// recipients. The counts the campaign starts with follow.
func (l *Lifecycle) recheckUnsubscribes(ctx context.Context, c store.Campaign) error {
	keys, checked, err := l.unsubscribeList(ctx, c.Account)
	if err != nil || checked == c.Data.Checked {
		return err
	}
	cols := campaign.Locate(c.Data.Columns)
	if cols.To < 0 {
		return nil
	}
	listed := func(a string) bool { return keys[store.SuppressionKey(a)] }
	now := l.now()
	var changes []rowChange
	var back []store.Recipient
	toSend := map[string]bool{}
	move := func(r store.Recipient, to campaign.RowStatus, why campaign.Reason) error {
		_, err := l.Store.SetRecipientStatus(ctx, c.ID, r, to, why, now)
		if apperr.Is(err, apperr.Conflict) || apperr.Is(err, apperr.NotFound) {
			return nil // changed meanwhile: that change counted itself
		}
		if err == nil {
			old := r.Reason
			if to == campaign.RowSkipped {
				old = why
			}
			changes = append(changes, rowChange{Row: r.Row, From: r.Status, To: to, Why: old, Old: r.Cells, New: r.Cells})
		}
		return err
	}
	err = l.Store.ForEachRecipient(ctx, c.ID, func(r store.Recipient) error {
		switch {
		case r.Status == campaign.RowPending:
			if a := campaign.ListedTo(r.Cells, cols, listed); a != "" {
				return move(r, campaign.RowSkipped, campaign.Unsubscribed(a))
			}
			toSend[campaign.RecipientKey(r.Cells, cols)] = true
		case r.Status == campaign.RowSkipped && r.Reason.Code == campaign.CodeUnsubscribed && campaign.ListedTo(r.Cells, cols, listed) == "":
			back = append(back, r)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, r := range back {
		key := campaign.RecipientKey(r.Cells, cols)
		if key == "" || toSend[key] {
			continue
		}
		toSend[key] = true
		if err := move(r, campaign.RowPending, campaign.Reason{}); err != nil {
			return err
		}
	}
	if _, err := l.recordRows(ctx, c, changes, checked); err != nil {
		return err
	}
	l.Logger.InfoContext(ctx, "rows checked again against the unsubscribe list", "campaign", c.ID, "changed", len(changes))
	return nil
}

// rowChange is a row whose cells or state changed before sending: Why is
// the reason it was skipped for (From skipped) or is skipped for now (To
// skipped); Old and New are its cells before and after.
type rowChange struct {
	Row      int
	From, To campaign.RowStatus
	Why      campaign.Reason
	Old, New []string
}

// recordRows brings the campaign's counts of its rows up to date with
// changes: the valid rows, the empty cells per column, the report's lines,
// the counts per state once they are kept, and, when checked is set, the
// unsubscribe list they were checked against. Data that had no valid row
// and now has one is ready, and so is its campaign, if still a draft.
func (l *Lifecycle) recordRows(ctx context.Context, c store.Campaign, changes []rowChange, checked string) (store.Campaign, error) {
	if len(changes) == 0 && (checked == "" || checked == c.Data.Checked) {
		return c, nil
	}
	return l.Store.ModifyCampaign(ctx, c.Account, c.ID, func(c *store.Campaign) error {
		cols := campaign.Locate(c.Data.Columns)
		var rep campaign.Report
		hasReport := c.Data.Report != "" && json.Unmarshal([]byte(c.Data.Report), &rep) == nil
		empty := slices.Clone(c.Data.Empty)
		for _, ch := range changes {
			if ch.From == campaign.RowPending {
				campaign.AddEmpty(empty, ch.Old, -1)
				c.Data.ValidRows--
			}
			if ch.To == campaign.RowPending {
				campaign.AddEmpty(empty, ch.New, 1)
				c.Data.ValidRows++
			}
			switch {
			case !hasReport || ch.From == ch.To:
			case ch.To == campaign.RowPending:
				rep.Unskip(ch.Row, ch.Why.Code)
			case cols.To >= 0:
				rep.Skip(ch.Row, cols.Names[cols.To], ch.Why)
			}
			if !c.CountedAt.IsZero() && ch.From != ch.To {
				c.Counts.Move(ch.From, ch.To, 1)
			}
		}
		c.Data.Empty = empty
		if hasReport {
			c.Data.Report = string(rep.JSON())
		}
		if checked != "" {
			c.Data.Checked = checked
		}
		if campaign.Editable(c.Status) && c.Data.Status == campaign.DataInvalid && c.Data.ValidRows > 0 {
			d := c.Data
			d.Status, d.Reason = campaign.DataReady, campaign.Reason{}
			if err := moveData(c, d); err != nil {
				return err
			}
			if c.Status == campaign.Draft {
				return Move(c, campaign.Ready, campaign.Reason{}, l.now())
			}
		}
		c.UpdatedAt = l.now()
		return nil
	})
}
