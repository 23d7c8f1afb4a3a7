package app

import (
	"net/http"
	"strconv"

	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/identity"
	"mailmerge/handler/internal/store"
)

// correctRow corrects cells of a row not yet sent, by column name: the
// row is checked as an upload would check it (its addresses, no other row
// with the same recipients), and written only if it is still pending. A
// row sending or final answers 409.
func (a *App) correctRow(w http.ResponseWriter, r *http.Request, p identity.Principal) {
	c, err := a.ownCampaign(r, p)
	if err != nil {
		writeError(w, r, a.Logger, err)
		return
	}
	var req struct {
		Cells map[string]string `json:"cells"`
	}
	if err := decode(w, r, &req, false); err != nil {
		writeError(w, r, a.Logger, err)
		return
	}
	row, err := strconv.Atoi(r.PathValue("row"))
	if err != nil || row < 2 {
		writeError(w, r, a.Logger, notFound("no such row"))
		return
	}
	if len(req.Cells) == 0 {
		writeError(w, r, a.Logger, apperr.E(apperr.Invalid, "nothing_to_change", `send {"cells": {"<column>": "<value>"}}`))
		return
	}
	ctx := r.Context()
	rec, err := a.Store.Recipient(ctx, c.ID, row)
	if apperr.Is(err, apperr.NotFound) {
		writeError(w, r, a.Logger, apperr.Wrap(err, apperr.NotFound, "row_not_found", "the campaign has no row "+strconv.Itoa(row)))
		return
	}
	if err != nil {
		writeError(w, r, a.Logger, err)
		return
	}
	switch rec.Status {
	case campaign.RowPending:
	case campaign.RowSending:
		writeError(w, r, a.Logger, apperr.E(apperr.Conflict, "row_sending", "row %d is being sent right now; it can no longer change", row))
		return
	default:
		writeError(w, r, a.Logger, apperr.E(apperr.Conflict, "row_final", "row %d is %s; only a row not yet sent can be corrected", row, rec.Status))
		return
	}
	cols := campaign.Locate(c.Data.Columns)
	cells := make([]string, len(cols.Names))
	copy(cells, rec.Cells)
	byKey := map[string]int{}
	for i, n := range cols.Names {
		byKey[campaign.ColumnKey(n)] = i
	}
	for name, v := range req.Cells {
		i, ok := byKey[campaign.ColumnKey(name)]
		if !ok {
			writeError(w, r, a.Logger, apperr.E(apperr.Invalid, "column_unknown", "the campaign has no column %q", name))
			return
		}
		cells[i] = v
	}
	key, err := campaign.CheckRow(cells, cols)
	if err != nil {
		writeError(w, r, a.Logger, err)
		return
	}
	dup := 0
	err = a.Store.ForEachRecipient(ctx, c.ID, func(o store.Recipient) error {
		if o.Row != row && o.Status != campaign.RowSkipped && dup == 0 && campaign.RecipientKey(o.Cells, cols) == key {
			dup = o.Row
		}
		return nil
	})
	if err != nil {
		writeError(w, r, a.Logger, err)
		return
	}
	if dup != 0 {
		writeError(w, r, a.Logger, apperr.E(apperr.Conflict, "duplicate_recipient", "row %d already has the same recipients", dup))
		return
	}
	if _, err := a.Store.CorrectRecipient(ctx, c.ID, rec, cells); apperr.Is(err, apperr.Conflict) {
		writeError(w, r, a.Logger, apperr.E(apperr.Conflict, "row_changed", "row %d was claimed for sending meanwhile; it can no longer change", row))
		return
	} else if err != nil {
		writeError(w, r, a.Logger, err)
		return
	}
	a.Logger.InfoContext(ctx, "row corrected", "campaign", c.ID, "row", row)
	v := recipientView{Row: row, Status: rec.Status}
	if cols.To >= 0 {
		v.To = cells[cols.To]
	}
	encode(w, http.StatusOK, v)
}
