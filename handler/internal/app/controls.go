package app

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/identity"
	"mailmerge/handler/internal/store"
)

// pauseCampaignRoute stops sending after the messages in flight; resume
// continues where it stopped.
func (a *App) pauseCampaignRoute(w http.ResponseWriter, r *http.Request, p identity.Principal) {
	c, err := a.updateCampaign(r, p, func(c *store.Campaign) error {
		if c.Status == campaign.Paused {
			return nil
		}
		if c.Status != campaign.Queued && c.Status != campaign.Sending {
			return apperr.E(apperr.Conflict, "campaign_not_running", "only a queued or sending campaign can be paused (it is %s)", c.Status)
		}
		c.Status, c.StatusCode, c.StatusText = campaign.Paused, "paused_by_user", "you paused the campaign"
		return nil
	})
	if err != nil {
		writeError(w, r, a.Logger, err)
		return
	}
	a.Logger.InfoContext(r.Context(), "campaign paused", "campaign", c.ID, "code", "paused_by_user")
	a.writeCampaign(w, r, c)
}

// resumeCampaignRoute continues a paused campaign. The caller's token is
// exchanged for Graph access first: reopening the add-in after an expired
// grant and pressing Resume is all the owner has to do.
func (a *App) resumeCampaignRoute(w http.ResponseWriter, r *http.Request, p identity.Principal) {
	ctx := r.Context()
	cur, err := a.ownCampaign(r, p)
	if err != nil {
		writeError(w, r, a.Logger, err)
		return
	}
	if cur.Status != campaign.Paused {
		writeError(w, r, a.Logger, apperr.E(apperr.Conflict, "campaign_not_paused", "only a paused campaign can be resumed (it is %s)", cur.Status))
		return
	}
	if err := a.captureGrant(r, p); err != nil {
		writeError(w, r, a.Logger, err)
		return
	}
	step := newStepToken()
	c, err := a.updateCampaign(r, p, func(c *store.Campaign) error {
		if c.Status != campaign.Paused {
			return apperr.E(apperr.Conflict, "campaign_not_paused", "only a paused campaign can be resumed (it is %s)", c.Status)
		}
		c.StatusCode, c.StatusText = "", ""
		if c.StartedAt.IsZero() {
			c.Status = campaign.Queued
			return nil
		}
		c.Status = campaign.Sending
		return nil
	})
	if err != nil {
		writeError(w, r, a.Logger, err)
		return
	}
	if c.Status == campaign.Queued {
		err = a.enqueueStart(ctx, c, "resume-"+c.ID+"-"+step)
	} else {
		err = a.setStep(ctx, c, step, a.Now().UTC())
	}
	if err != nil {
		// The sweep finds the campaign without a live step or start.
		a.Logger.WarnContext(ctx, "resume not enqueued", "campaign", c.ID, "error", err.Error())
	}
	a.Logger.InfoContext(ctx, "campaign resumed", "campaign", c.ID)
	a.writeCampaign(w, r, c)
}

// cancelCampaignRoute ends a campaign for good: rows not yet sent are
// marked skipped by the next step.
func (a *App) cancelCampaignRoute(w http.ResponseWriter, r *http.Request, p identity.Principal) {
	c, err := a.updateCampaign(r, p, func(c *store.Campaign) error {
		switch c.Status {
		case campaign.Queued, campaign.Sending, campaign.Paused:
			c.Status, c.StatusCode, c.StatusText = campaign.Cancelled, "cancelled_by_user", "you cancelled the campaign"
			return nil
		}
		return apperr.E(apperr.Conflict, "campaign_not_running", "only a queued, sending or paused campaign can be cancelled (it is %s)", c.Status)
	})
	if err != nil {
		writeError(w, r, a.Logger, err)
		return
	}
	if err := a.setStep(r.Context(), c, newStepToken(), a.Now().UTC()); err != nil {
		a.Logger.WarnContext(r.Context(), "cancel not enqueued", "campaign", c.ID, "error", err.Error())
	}
	a.Logger.InfoContext(r.Context(), "campaign cancelled", "campaign", c.ID)
	a.writeCampaign(w, r, c)
}

// captureGrant exchanges the request's bearer token for lasting Graph
// access of the caller's account.
func (a *App) captureGrant(r *http.Request, p identity.Principal) error {
	if a.Grants == nil {
		return nil
	}
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		return apperr.E(apperr.Unauthorized, "token_missing", "send the add-in's token")
	}
	return a.Grants.Capture(r.Context(), keyOf(p), strings.TrimSpace(token))
}

// writeCampaign answers with the campaign and its row counts.
func (a *App) writeCampaign(w http.ResponseWriter, r *http.Request, c store.Campaign) {
	v := viewCampaign(c)
	if err := a.addRowCounts(r, c, &v); err != nil {
		writeError(w, r, a.Logger, err)
		return
	}
	encode(w, http.StatusOK, v)
}

// addRowCounts adds the per-state row counts of a campaign that started.
func (a *App) addRowCounts(r *http.Request, c store.Campaign, v *campaignView) error {
	if campaign.Editable(c.Status) {
		return nil
	}
	counts, err := a.Store.RecipientCounts(r.Context(), c.ID)
	if err != nil {
		return err
	}
	v.Counts.Pending, v.Counts.Sending, v.Counts.Sent = counts[campaign.RowPending], counts[campaign.RowSending], counts[campaign.RowSent]
	v.Counts.Failed, v.Counts.Unknown, v.Counts.Skipped = counts[campaign.RowFailed], counts[campaign.RowUnknown], counts[campaign.RowSkipped]
	return nil
}

// recipientView is one row's sending state. Cells are not shown: the
// owner has their spreadsheet; the row number and address identify it.
type recipientView struct {
	Row       int          `json:"row"`
	To        string       `json:"to,omitempty"`
	Status    string       `json:"status"`
	UpdatedAt *time.Time   `json:"updatedAt,omitempty"`
	Reason    *errorDetail `json:"reason,omitempty"`
}

type recipientList struct {
	Recipients []recipientView `json:"recipients"`
	Next       string          `json:"next,omitempty"`
}

var rowStates = map[string]bool{campaign.RowPending: true, campaign.RowSending: true, campaign.RowSent: true,
	campaign.RowFailed: true, campaign.RowSkipped: true, campaign.RowUnknown: true}

// listRecipients pages through a campaign's rows with their states.
func (a *App) listRecipients(w http.ResponseWriter, r *http.Request, p identity.Principal) {
	c, err := a.ownCampaign(r, p)
	if err != nil {
		writeError(w, r, a.Logger, err)
		return
	}
	q := r.URL.Query()
	limit := 100
	if s := q.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 || limit > 1000 {
			writeError(w, r, a.Logger, apperr.E(apperr.Invalid, "limit_invalid", "limit is a number from 1 to 1000"))
			return
		}
	}
	status := q.Get("status")
	if status != "" && !rowStates[status] {
		writeError(w, r, a.Logger, apperr.E(apperr.Invalid, "status_invalid", "status is one of pending, sending, sent, failed, skipped, unknown"))
		return
	}
	page, err := a.Store.Recipients(r.Context(), c.ID, status, limit, q.Get("cursor"))
	if err != nil {
		writeError(w, r, a.Logger, err)
		return
	}
	to := campaign.Locate(c.Data.Columns).To
	out := recipientList{Recipients: make([]recipientView, 0, len(page.Recipients)), Next: page.Next}
	for _, rec := range page.Recipients {
		v := recipientView{Row: rec.Row, Status: rec.Status}
		if to >= 0 && to < len(rec.Cells) {
			v.To = rec.Cells[to]
		}
		if !rec.UpdatedAt.IsZero() {
			t := rec.UpdatedAt
			v.UpdatedAt = &t
		}
		if rec.Problem != "" || rec.Detail != "" {
			v.Reason = &errorDetail{Code: rec.Problem, Message: rec.Detail}
		}
		out.Recipients = append(out.Recipients, v)
	}
	encode(w, http.StatusOK, out)
}
