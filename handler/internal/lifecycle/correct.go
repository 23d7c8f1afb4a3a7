package lifecycle

import (
	"context"
	"strconv"

	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/store"
)

// Correct changes cells of row of campaign c, by column name, while the
// row is not yet sent: a row to be sent, or one skipped (for a bad
// address, a duplicate, an address on the unsubscribe list…) while the
// campaign has not started, which then is to be sent. The row is checked
// as an upload would check it (its addresses, no other row to be sent
// with the same recipients, no To address on the unsubscribe list) and
// written only if it is still as read, so a row claimed for sending
// meanwhile keeps what it was sent with. A row sending or settled is a
// Conflict. It returns the row as corrected, and keeps the campaign's
// counts of its rows right.
func (l *Lifecycle) Correct(ctx context.Context, c store.Campaign, row int, change map[string]string) (store.Recipient, error) {
	rec, err := l.Store.Recipient(ctx, c.ID, row)
	if apperr.Is(err, apperr.NotFound) {
		return store.Recipient{}, apperr.Wrap(err, apperr.NotFound, "row_not_found", "the campaign has no row "+strconv.Itoa(row))
	}
	if err != nil {
		return store.Recipient{}, err
	}
	if err := correctable(c, rec); err != nil {
		return store.Recipient{}, err
	}
	cols := campaign.Locate(c.Data.Columns)
	cells := make([]string, len(cols.Names))
	copy(cells, rec.Cells)
	byKey := map[string]int{}
	for i, n := range cols.Names {
		byKey[campaign.ColumnKey(n)] = i
	}
	for name, v := range change {
		i, ok := byKey[campaign.ColumnKey(name)]
		if !ok {
			return store.Recipient{}, apperr.E(apperr.Invalid, "column_unknown", "the campaign has no column %q", name)
		}
		cells[i] = v
	}
	key, err := campaign.CheckRow(cells, cols)
	if err != nil {
		return store.Recipient{}, err
	}
	if err := l.notUnsubscribed(ctx, c, cells, cols); err != nil {
		return store.Recipient{}, err
	}
	dup := 0
	err = l.Store.ForEachRecipient(ctx, c.ID, func(o store.Recipient) error {
		if o.Row != row && o.Status != campaign.RowSkipped && dup == 0 && campaign.RecipientKey(o.Cells, cols) == key {
			dup = o.Row
		}
		return nil
	})
	if err != nil {
		return store.Recipient{}, err
	}
	if dup != 0 {
		return store.Recipient{}, apperr.E(apperr.Conflict, "duplicate_recipient", "row %d already has the same recipients", dup)
	}
	before := rec
	rec, err = l.Store.CorrectRecipient(ctx, c.ID, rec, cells, l.now())
	if apperr.Is(err, apperr.Conflict) {
		return store.Recipient{}, apperr.E(apperr.Conflict, "row_changed", "row %d changed meanwhile (it may be being sent); look at it again", row)
	}
	if err != nil {
		return store.Recipient{}, err
	}
	ch := rowChange{Row: row, From: before.Status, To: rec.Status, Why: before.Reason, Old: before.Cells, New: cells}
	if _, err := l.recordRows(ctx, c, []rowChange{ch}, ""); err != nil {
		return store.Recipient{}, err
	}
	l.Logger.InfoContext(ctx, "row corrected", "campaign", c.ID, "row", row, "from", before.Status)
	return rec, nil
}

// correctable refuses a row that can no longer change, saying why in the
// person's words.
func correctable(c store.Campaign, rec store.Recipient) error {
	row := rec.Row
	switch rec.Status {
	case campaign.RowPending:
		return nil
	case campaign.RowSkipped:
		if c.StartedAt.IsZero() && !c.Status.Final() {
			return nil
		}
		return apperr.E(apperr.Conflict, "row_final", "row %d was skipped and the campaign has started: a skipped row can be corrected only before the campaign starts", row)
	case campaign.RowSending:
		return apperr.E(apperr.Conflict, "row_sending", "row %d is being sent right now; it can no longer change", row)
	case campaign.RowSent:
		return apperr.E(apperr.Conflict, "row_final", "row %d was sent already; it can no longer change", row)
	case campaign.RowUnknown:
		return apperr.E(apperr.Conflict, "row_final", "row %d may have been sent already; it can no longer change", row)
	default:
		return apperr.E(apperr.Conflict, "row_final", "row %d was tried and could not be sent; it can no longer change", row)
	}
}

// notUnsubscribed refuses a corrected row that would go to an address on
// the account's unsubscribe list.
func (l *Lifecycle) notUnsubscribed(ctx context.Context, c store.Campaign, cells []string, cols campaign.Columns) error {
	var failed error
	a := campaign.ListedTo(cells, cols, func(a string) bool {
		ok, err := l.Store.Suppressed(ctx, c.Account, a)
		if err != nil && failed == nil {
			failed = err
		}
		return ok
	})
	if failed != nil {
		return failed
	}
	if a != "" {
		return apperr.E(apperr.Conflict, "address_unsubscribed",
			"the address %s is on your unsubscribe list, so nothing is sent to it; take it off the list first if this person asked to get your emails again", a)
	}
	return nil
}
