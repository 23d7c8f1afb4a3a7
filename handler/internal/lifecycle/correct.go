package lifecycle

import (
	"context"
	"strconv"

	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/store"
)

// Correct changes cells of row of campaign c, by column name, while the
// row is not yet sent: the row is checked as an upload would check it (its
// addresses, no other row with the same recipients) and written only if it
// is still pending, so a row claimed for sending meanwhile keeps what it
// was sent with. A row sending or final is a Conflict. It returns the row
// as corrected.
func (l *Lifecycle) Correct(ctx context.Context, c store.Campaign, row int, change map[string]string) (store.Recipient, error) {
	rec, err := l.Store.Recipient(ctx, c.ID, row)
	if apperr.Is(err, apperr.NotFound) {
		return store.Recipient{}, apperr.Wrap(err, apperr.NotFound, "row_not_found", "the campaign has no row "+strconv.Itoa(row))
	}
	if err != nil {
		return store.Recipient{}, err
	}
	switch rec.Status {
	case campaign.RowPending:
	case campaign.RowSending:
		return store.Recipient{}, apperr.E(apperr.Conflict, "row_sending", "row %d is being sent right now; it can no longer change", row)
	default:
		return store.Recipient{}, apperr.E(apperr.Conflict, "row_final", "row %d is %s; only a row not yet sent can be corrected", row, rec.Status)
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
	rec, err = l.Store.CorrectRecipient(ctx, c.ID, rec, cells)
	if apperr.Is(err, apperr.Conflict) {
		return store.Recipient{}, apperr.E(apperr.Conflict, "row_changed", "row %d was claimed for sending meanwhile; it can no longer change", row)
	}
	if err != nil {
		return store.Recipient{}, err
	}
	l.Logger.InfoContext(ctx, "row corrected", "campaign", c.ID, "row", row)
	return rec, nil
}
