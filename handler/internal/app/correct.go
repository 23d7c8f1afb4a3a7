package app

import (
	"net/http"
	"strconv"

	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/identity"
	"mailmerge/handler/internal/store"
)

// correctRow corrects cells of a row not yet sent, by column name
// (lifecycle.Correct): a row to be sent, or one skipped while the campaign
// has not started, which is then to be sent. A row sending or settled, or
// skipped once the campaign started, answers 409.
func (a *App) correctRow(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	c, err := a.ownCampaign(r, p)
	if err != nil {
		return err
	}
	var req struct {
		Cells map[string]string `json:"cells"`
	}
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	row, err := strconv.Atoi(r.PathValue("row"))
	if err != nil || row < 2 {
		return notFound("no such row")
	}
	if len(req.Cells) == 0 {
		return apperr.E(apperr.Invalid, "nothing_to_change", `send {"cells": {"<column>": "<value>"}}`)
	}
	rec, err := a.Lifecycle.Correct(r.Context(), c, row, req.Cells)
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, viewRow(c.Data.Columns, rec))
	return nil
}

// viewRow is a row as the API shows it: its state, and its cells by column.
func viewRow(columns []string, rec store.Recipient) recipientView {
	v := recipientView{Row: rec.Row, Status: rec.Status, Cells: make(map[string]string, len(columns)), Reason: reasonView(rec.Reason)}
	for i, col := range columns {
		if i < len(rec.Cells) {
			v.Cells[col] = rec.Cells[i]
		}
	}
	if to := campaign.Locate(columns).To; to >= 0 && to < len(rec.Cells) {
		v.To = rec.Cells[to]
	}
	if !rec.UpdatedAt.IsZero() {
		t := rec.UpdatedAt
		v.UpdatedAt = &t
	}
	if !rec.RepliedAt.IsZero() {
		t := rec.RepliedAt
		v.RepliedAt = &t
	}
	if !rec.BouncedAt.IsZero() {
		t := rec.BouncedAt
		v.BouncedAt, v.Bounce = &t, string(rec.Bounce)
	}
	return v
}
