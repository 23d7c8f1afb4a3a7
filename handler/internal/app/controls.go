package app

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/identity"
	"mailmerge/handler/internal/pacing"
	"mailmerge/handler/internal/store"
	"mailmerge/handler/internal/words"
)

// pauseCampaignRoute stops sending: it answers once the messages in
// flight have gone, and none leaves after that. Resume continues where it
// stopped.
func (a *App) pauseCampaignRoute(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	c, err := a.ownCampaign(r, p)
	if err == nil {
		c, err = a.Lifecycle.PauseByOwner(r.Context(), c.Account, c.ID)
	}
	if err == nil {
		err = a.settled(r.Context(), c.Account)
	}
	if err != nil {
		return err
	}
	return a.writeCampaign(w, r, c)
}

// startCampaignRoute starts a campaign held for review or scheduled: now,
// or at the time {"at": RFC 3339} names (scheduled; again to reschedule).
// The caller's token is exchanged for Graph access first, as on resume:
// the owner starting the campaign is the moment we learn we may send.
func (a *App) startCampaignRoute(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	var req struct {
		At string `json:"at"`
	}
	if err := decode(w, r, &req, true); err != nil {
		return err
	}
	at, err := startTime(req.At, a.Now())
	if err != nil {
		return err
	}
	cur, err := a.ownCampaign(r, p)
	if err != nil {
		return err
	}
	if cur.Status == campaign.Review || cur.Status == campaign.Scheduled {
		if err := a.captureGrant(r, p); err != nil {
			return err
		}
	}
	c, err := a.Lifecycle.StartByOwner(r.Context(), cur.Account, cur.ID, at)
	if err != nil {
		return err
	}
	return a.writeCampaign(w, r, c)
}

// resumeCampaignRoute continues a paused campaign. The caller's token is
// exchanged for Graph access first: reopening the add-in after an expired
// grant and pressing Resume is all the owner has to do.
func (a *App) resumeCampaignRoute(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	cur, err := a.ownCampaign(r, p)
	if err != nil {
		return err
	}
	if cur.Status != campaign.Paused {
		return apperr.E(apperr.Conflict, "campaign_not_paused", "only a paused campaign can be resumed (it is %s)", words.CampaignIs(cur.Status))
	}
	if err := a.captureGrant(r, p); err != nil {
		return err
	}
	c, err := a.Lifecycle.Resume(r.Context(), cur.Account, cur.ID)
	if err != nil {
		return err
	}
	return a.writeCampaign(w, r, c)
}

// cancelCampaignRoute ends a campaign for good: rows not yet sent are
// marked skipped by the next step. Like pause, it answers once the
// messages in flight have gone.
func (a *App) cancelCampaignRoute(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	c, err := a.ownCampaign(r, p)
	if err == nil {
		c, err = a.Lifecycle.Cancel(r.Context(), c.Account, c.ID)
	}
	if err == nil {
		err = a.settled(r.Context(), c.Account)
	}
	if err != nil {
		return err
	}
	return a.writeCampaign(w, r, c)
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
func (a *App) writeCampaign(w http.ResponseWriter, r *http.Request, c store.Campaign) error {
	v := viewCampaign(c, a.Now())
	if !campaign.Editable(c.Status) && c.CountedAt.IsZero() {
		// A campaign started before counts were kept on it: count its rows.
		counts, err := a.Store.RecipientCounts(r.Context(), c.ID)
		if err != nil {
			return err
		}
		v.Counts.add(campaign.CountsOf(counts))
	}
	v.InboundAddress = a.addressOf(c)
	encode(w, http.StatusOK, v)
	return nil
}

// recipientView is one row's sending state, with its cells (viewRow).
type recipientView struct {
	Row       int                `json:"row"`
	To        string             `json:"to,omitempty"`
	Status    campaign.RowStatus `json:"status"`
	UpdatedAt *time.Time         `json:"updatedAt,omitempty"`
	Reason    *errorDetail       `json:"reason,omitempty"`
	// Cells are the row's cells by column, as uploaded or corrected.
	Cells map[string]string `json:"cells"`
	// RepliedAt and BouncedAt: when a reply to the row's message, or a
	// report that it bounced (Bounce: hard, not delivered; soft,
	// delayed), arrived in the owner's inbox.
	RepliedAt *time.Time `json:"repliedAt,omitempty"`
	BouncedAt *time.Time `json:"bouncedAt,omitempty"`
	Bounce    string     `json:"bounce,omitempty"`
}

type recipientList struct {
	// Columns are the campaign's columns in the spreadsheet's order (a
	// row's cells, keyed by name, have none).
	Columns    []string        `json:"columns"`
	Recipients []recipientView `json:"recipients"`
	Next       string          `json:"next,omitempty"`
}

// listRecipients pages through a campaign's rows with their states.
func (a *App) listRecipients(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	c, err := a.ownCampaign(r, p)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	limit := 100
	if s := q.Get("limit"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < 1 || limit > 1000 {
			return apperr.E(apperr.Invalid, "limit_invalid", "limit is a number from 1 to 1000")
		}
	}
	status := campaign.RowStatus(q.Get("status"))
	if status != "" && !slices.Contains(campaign.RowStatuses, status) {
		return apperr.E(apperr.Invalid, "status_invalid", "status is one of pending, sending, sent, failed, skipped, unknown")
	}
	page, err := a.Store.Recipients(r.Context(), c.ID, status, limit, q.Get("cursor"))
	if err != nil {
		return err
	}
	out := recipientList{Columns: c.Data.Columns, Recipients: make([]recipientView, 0, len(page.Recipients)), Next: page.Next}
	if out.Columns == nil {
		out.Columns = []string{}
	}
	for _, rec := range page.Recipients {
		out.Recipients = append(out.Recipients, viewRow(c.Data.Columns, rec))
	}
	encode(w, http.StatusOK, out)
	return nil
}

// settled waits until the messages the account's mailbox had in flight
// have gone (pacing.Settled). Called after a pause, a cancellation or a
// deletion took effect, it makes the answer mean what it says: no message
// of what was stopped leaves after it.
func (a *App) settled(ctx context.Context, k account.Key) error {
	if err := pacing.Settled(ctx, a.Store, k.String(), a.Now); err != nil {
		return fmt.Errorf("wait for the messages in flight: %w", err)
	}
	return nil
}
