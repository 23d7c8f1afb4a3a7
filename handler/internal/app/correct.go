package app

import (
	"net/http"
	"strconv"

	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/identity"
)

// correctRow corrects cells of a row not yet sent, by column name
// (lifecycle.Correct): a row sending or final answers 409.
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
	v := recipientView{Row: row, Status: rec.Status}
	if to := campaign.Locate(c.Data.Columns).To; to >= 0 {
		v.To = rec.Cells[to]
	}
	encode(w, http.StatusOK, v)
	return nil
}
