package app

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"encoding/hex"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/identity"
	"mailmerge/handler/internal/lifecycle"
	"mailmerge/handler/internal/store"
	"mailmerge/handler/internal/task"
	"mailmerge/handler/internal/words"
)

// campaignView is a campaign as the API shows it.
type campaignView struct {
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	Status      campaign.Status `json:"status"`
	TrackOpens  bool            `json:"trackOpens"`
	TrackClicks bool            `json:"trackClicks"`
	Counts      counts          `json:"counts"`
	Data        dataBrief       `json:"data"`
	CreatedAt   time.Time       `json:"createdAt"`
	UpdatedAt   time.Time       `json:"updatedAt"`
	QueuedAt    *time.Time      `json:"queuedAt,omitempty"`
	StartedAt   *time.Time      `json:"startedAt,omitempty"`
	CompletedAt *time.Time      `json:"completedAt,omitempty"`
	// Start is the start mode: "onEmail" or "review".
	Start campaign.StartMode `json:"start"`
	// StartAt is when the campaign starts, when the owner chose a time.
	StartAt *time.Time `json:"startAt,omitempty"`
	// Window is when the campaign may send; NextWindowAt, while it is
	// closed, when it opens.
	Window       *campaign.Window `json:"window,omitempty"`
	NextWindowAt *time.Time       `json:"nextWindowAt,omitempty"`
	// Reason says why the campaign is paused, failed or cancelled.
	Reason *errorDetail `json:"reason,omitempty"`
	// Refused says why the owner's last template email did not start the
	// campaign, when they can fix it.
	Refused *errorDetail `json:"refused,omitempty"`
	// InboundAddress is the address the template email goes to: shown
	// to its owner until the campaign starts (kept encrypted beside its
	// hash).
	InboundAddress string `json:"inboundAddress,omitempty"`
}

// counts are the campaign's rows: from the upload, and once it started,
// per sending state.
type counts struct {
	Rows    int `json:"rows"`
	Valid   int `json:"valid"`
	Skipped int `json:"skipped"`
	Pending int `json:"pending"`
	Sending int `json:"sending"`
	Sent    int `json:"sent"`
	Failed  int `json:"failed"`
	Unknown int `json:"unknown"`
	// Replied and Bounced: rows whose message got a reply, or a report
	// that it was not delivered or was delayed (read from the owner's
	// inbox, when they let us).
	Replied int `json:"replied"`
	Bounced int `json:"bounced"`
}

// add sets the per-state counts of a campaign that started.
func (n *counts) add(c campaign.Counts) {
	n.Pending, n.Sending, n.Sent, n.Failed, n.Unknown, n.Skipped = c.Pending, c.Sending, c.Sent, c.Failed, c.Unknown, c.Skipped
}

type dataBrief struct {
	Status   campaign.DataStatus `json:"status"`
	FileName string              `json:"fileName,omitempty"`
}

func viewCampaign(c store.Campaign, now time.Time) campaignView {
	status := c.Data.Status
	if status == "" {
		status = campaign.DataNone
	}
	v := campaignView{
		ID: c.ID, Name: c.Name, Status: c.Status, TrackOpens: c.TrackOpens, TrackClicks: c.TrackClicks,
		Counts:    counts{Rows: c.Data.Rows, Valid: c.Data.ValidRows, Skipped: c.Data.Rows - c.Data.ValidRows, Replied: c.Replied, Bounced: c.Bounced},
		Data:      dataBrief{Status: status, FileName: c.Data.FileName},
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}
	if !campaign.Editable(c.Status) && !c.CountedAt.IsZero() {
		v.Counts.add(c.Counts)
	}
	if !c.QueuedAt.IsZero() {
		v.QueuedAt = &c.QueuedAt
	}
	if !c.StartedAt.IsZero() {
		v.StartedAt = &c.StartedAt
	}
	if !c.CompletedAt.IsZero() {
		v.CompletedAt = &c.CompletedAt
	}
	v.Start = c.StartMode
	if v.Start == "" {
		v.Start = campaign.OnEmail
	}
	if !c.StartAt.IsZero() {
		v.StartAt = &c.StartAt
	}
	if !c.Window.IsZero() {
		v.Window = &c.Window
		if open, until := c.Window.At(now); !open && !c.Status.Final() {
			v.NextWindowAt = &until
		}
	}
	if c.Status == campaign.Paused || c.Status == campaign.Failed || c.Status == campaign.Cancelled {
		v.Reason = reasonView(c.Reason)
	}
	v.Refused = reasonView(c.Refused)
	return v
}

// newCampaignID is sortable newest first (inverted milliseconds) and
// unguessable (80 random bits), in base32hex so that order survives encoding.
func newCampaignID(now time.Time) string {
	b := make([]byte, 16)
	// 48 bits of inverted milliseconds, then 80 random bits.
	binary.BigEndian.PutUint64(b[:8], (1<<48-1-uint64(now.UnixMilli()))<<16)
	_, _ = rand.Read(b[6:])
	return strings.ToLower(base32.HexEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
}

// newAddressToken is the campaign's secret plus-address part: 128 random bits.
func newAddressToken() (token, hash string) {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	token = strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))
	return token, HashAddressToken(token)
}

// HashAddressToken is how a token is stored and looked up (Postmark's
// MailboxHash is the token).
func HashAddressToken(token string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(token)))
	return hex.EncodeToString(sum[:])
}

func (a *App) inboundAddress(token string) string {
	local, domain, _ := strings.Cut(a.InboundAddress, "@")
	return local + "+" + token + "@" + domain
}

type campaignRequest struct {
	Name        *string             `json:"name"`
	TrackOpens  *bool               `json:"trackOpens"`
	TrackClicks *bool               `json:"trackClicks"`
	Start       *campaign.StartMode `json:"start"`
	// StartAt is an RFC 3339 time; "" takes the start time away.
	StartAt *string `json:"startAt"`
	// Window is when the campaign may send; {} takes it away.
	Window *campaign.Window `json:"window"`
}

// startOptions checks the start mode and time of req and sets them on c.
func (req campaignRequest) startOptions(c *store.Campaign, now time.Time) error {
	if req.Start != nil {
		if !slices.Contains(campaign.StartModes, *req.Start) {
			return apperr.E(apperr.Invalid, "start_invalid", "choose when the campaign starts: when its email arrives, or after you review the email")
		}
		c.StartMode = *req.Start
	}
	if req.StartAt != nil {
		at, err := startTime(*req.StartAt, now)
		if err != nil {
			return err
		}
		c.StartAt = at
	}
	return nil
}

// window checks the sending window of req and sets it on c: any time but
// once the campaign is over, a running one's next step keeping to it.
func (req campaignRequest) window(c *store.Campaign) error {
	if req.Window == nil {
		return nil
	}
	if c.Status != "" && c.Status.Final() { // "": being created
		return apperr.E(apperr.Conflict, "campaign_over", "the campaign is over (it is %s)", words.CampaignIs(c.Status))
	}
	if err := req.Window.Check(); err != nil {
		return err
	}
	c.Window = *req.Window
	return nil
}

// maxStartAhead bounds how far ahead a campaign may be scheduled.
const maxStartAhead = 366 * 24 * time.Hour

// startTime reads a start time: RFC 3339, not past, at most a year
// ahead; "" is none.
func startTime(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	at, err := time.Parse(time.RFC3339, s)
	switch {
	case err != nil:
		return at, apperr.E(apperr.Invalid, "start_at_invalid", "the start time must be a date and time with its zone, such as 2026-12-07T09:00:00+01:00")
	case at.Before(now.Add(-time.Minute)):
		return at, apperr.E(apperr.Invalid, "start_at_invalid", "the start time is in the past: choose a time to come")
	case at.After(now.Add(maxStartAhead)):
		return at, apperr.E(apperr.Invalid, "start_at_invalid", "the start time can be at most a year ahead")
	}
	return at.UTC(), nil
}

func validName(s string) (string, error) {
	n := strings.TrimSpace(s)
	switch {
	case n == "":
		return "", apperr.E(apperr.Invalid, "name_invalid", "name must not be empty")
	case utf8.RuneCountInString(n) > 200:
		return "", apperr.E(apperr.Invalid, "name_invalid", "name is at most 200 characters")
	case strings.IndexFunc(n, unicode.IsControl) >= 0:
		return "", apperr.E(apperr.Invalid, "name_invalid", "name must not contain control characters")
	}
	return n, nil
}

// createCampaign makes a draft and its inbound address.
func (a *App) createCampaign(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	var req campaignRequest
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	if req.Name == nil {
		return apperr.E(apperr.Invalid, "name_invalid", "send a name for the campaign")
	}
	name, err := validName(*req.Name)
	if err != nil {
		return err
	}
	ctx := r.Context()
	if _, err := a.activeAccount(ctx, p); err != nil {
		return err
	}
	token, hash := newAddressToken()
	nc := store.Campaign{
		Account: keyOf(p), ID: newCampaignID(a.Now()), Name: name, AddressHash: hash,
		TrackOpens: req.TrackOpens != nil && *req.TrackOpens, TrackClicks: req.TrackClicks != nil && *req.TrackClicks,
	}
	if err := req.startOptions(&nc, a.Now()); err != nil {
		return err
	}
	nc.AddressSealed = a.sealAddress(nc.ID, token)
	if err := req.window(&nc); err != nil {
		return err
	}
	c, err := a.Lifecycle.Create(ctx, nc)
	if err != nil {
		return err
	}
	a.Logger.InfoContext(ctx, "campaign created", "campaign", c.ID)
	v := viewCampaign(c, a.Now())
	v.InboundAddress = a.inboundAddress(token)
	encode(w, http.StatusCreated, v)
	return nil
}

// copyCampaign makes a new draft from one of the caller's campaigns, in
// any state: its options (tracking, start mode, sending hours, a start
// time still ahead), a name of its own, an address of its own (shown now,
// as at creation), and its rows, copied by the data worker as a reuse of
// them is. The copy is ready once they are in, a few seconds later; it
// takes no email from the campaign it copies: its owner sends the email
// to its own address.
func (a *App) copyCampaign(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	var req struct {
		Name *string `json:"name"`
	}
	if err := decode(w, r, &req, true); err != nil {
		return err
	}
	src, err := a.ownCampaign(r, p)
	if err != nil {
		return err
	}
	name := copyName(src.Name)
	if req.Name != nil {
		if name, err = validName(*req.Name); err != nil {
			return err
		}
	}
	ctx := r.Context()
	if _, err := a.activeAccount(ctx, p); err != nil {
		return err
	}
	now := a.Now()
	token, hash := newAddressToken()
	nc := store.Campaign{
		Account: src.Account, ID: newCampaignID(now), Name: name, AddressHash: hash,
		TrackOpens: src.TrackOpens, TrackClicks: src.TrackClicks, StartMode: src.StartMode, Window: src.Window,
	}
	if src.StartAt.After(now.Add(time.Minute)) {
		nc.StartAt = src.StartAt
	}
	nc.AddressSealed = a.sealAddress(nc.ID, token)
	c, err := a.Lifecycle.Create(ctx, nc)
	if err != nil {
		return err
	}
	if src.Data.Status == campaign.DataReady {
		c = a.copyRows(ctx, c, src)
	}
	a.Logger.InfoContext(ctx, "campaign copied", "campaign", c.ID, "from", src.ID)
	v := viewCampaign(c, now)
	v.InboundAddress = a.inboundAddress(token)
	encode(w, http.StatusCreated, v)
	return nil
}

// copyRows hands the copy of src's rows into c to the data worker. The
// copy exists by now: when the hand-over fails, its data says so (and
// what to do) rather than wait for rows that will not come.
func (a *App) copyRows(ctx context.Context, c, src store.Campaign) store.Campaign {
	uploadID := randomID()
	copied, err := a.Lifecycle.Upload(ctx, c.Account, c.ID, func(store.Campaign) store.DataSummary {
		return store.DataSummary{Status: campaign.DataProcessing, UploadID: uploadID, FileName: src.Data.FileName,
			Format: src.Data.Format, UploadedAt: a.Now().UTC()}
	})
	if err == nil {
		c = copied
		err = a.tasks.Data(ctx, task.Data{Campaign: task.Campaign{Key: c.Account, CampaignID: c.ID}, UploadID: uploadID, From: src.ID})
	}
	if err == nil {
		return c
	}
	a.Logger.WarnContext(ctx, "rows of a copy not handed over", "campaign", c.ID, "from", src.ID, "error", err.Error())
	failed := store.DataSummary{Status: campaign.DataFailed, Reason: campaign.Reason{Code: "copy_failed",
		Text: "the rows could not be copied: upload your spreadsheet, or delete this copy and copy the campaign again"}}
	if c.Data.UploadID == uploadID {
		if _, err := a.Lifecycle.DataRead(context.WithoutCancel(ctx), c.Account, c.ID, uploadID, failed); err != nil {
			a.Logger.ErrorContext(ctx, "copy's rows not marked as failed", "campaign", c.ID, "error", err.Error())
		}
	}
	if fresh, err := a.Store.Campaign(ctx, c.Account, c.ID); err == nil {
		return fresh
	}
	return c
}

// copyName names a copy: the name, cut to leave room, then " (copy)".
func copyName(name string) string {
	const suffix = " (copy)"
	if n := utf8.RuneCountInString(name) + utf8.RuneCountInString(suffix) - 200; n > 0 {
		runes := []rune(name)
		name = strings.TrimSpace(string(runes[:len(runes)-n]))
	}
	return name + suffix
}

// activeAccount returns the caller's account unless it does not exist or is
// being deleted: nothing new may be created for it then.
func (a *App) activeAccount(ctx context.Context, p identity.Principal) (store.Account, error) {
	acct, err := a.Store.Account(ctx, keyOf(p))
	if err != nil {
		return acct, err
	}
	if acct.Deleting() {
		return acct, apperr.E(apperr.Conflict, "account_deleting", "this account is being deleted")
	}
	return acct, nil
}

// listCampaigns lists the caller's campaigns, a page at a time: all of
// them, or those whose name holds q and those in the states named, newest
// first or in the order sort names.
func (a *App) listCampaigns(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	query := r.URL.Query()
	q := store.CampaignQuery{Limit: 50, Cursor: query.Get("cursor")}
	if v := query.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return apperr.E(apperr.Invalid, "limit_invalid", "limit is a number from 1 to 100")
		}
		q.Limit = n
	}
	q.Name = strings.TrimSpace(query.Get("q"))
	if utf8.RuneCountInString(q.Name) > 200 {
		return apperr.E(apperr.Invalid, "q_invalid", "search for at most 200 characters of a name")
	}
	var err error
	if q.Statuses, err = statusFilter(query["status"]); err != nil {
		return err
	}
	if v := query.Get("sort"); v != "" {
		q.Order = store.CampaignOrder(v)
		if !slices.Contains(store.CampaignOrders, q.Order) {
			return apperr.E(apperr.Invalid, "sort_invalid", "sort is created (oldest first), -created (newest first, the default), name (A to Z) or -name (Z to A)")
		}
	}
	page, err := a.Store.ListCampaigns(r.Context(), keyOf(p), q)
	if err != nil {
		return err
	}
	out := struct {
		Campaigns []campaignView `json:"campaigns"`
		Next      string         `json:"next,omitempty"`
	}{Campaigns: []campaignView{}, Next: page.Next}
	for _, c := range page.Campaigns {
		out.Campaigns = append(out.Campaigns, viewCampaign(c, a.Now()))
	}
	encode(w, http.StatusOK, out)
	return nil
}

// statusFilter reads the states asked for: each status parameter holds
// one or several, comma-separated.
func statusFilter(values []string) ([]campaign.Status, error) {
	var out []campaign.Status
	for _, v := range values {
		for _, s := range strings.Split(v, ",") {
			st := campaign.Status(strings.TrimSpace(s))
			if st == "" || slices.Contains(out, st) {
				continue
			}
			if !slices.Contains(campaign.Statuses, st) {
				var known []string
				for _, k := range campaign.Statuses {
					known = append(known, string(k))
				}
				return nil, apperr.E(apperr.Invalid, "status_invalid", "%q is not a campaign state; ask for one or more of %s, separated by commas",
					campaign.Clip(string(st), 40), strings.Join(known, ", "))
			}
			out = append(out, st)
		}
	}
	return out, nil
}

// ownCampaign loads the caller's campaign named in the path. Another
// account's id is simply not found in the caller's partition: 404.
func (a *App) ownCampaign(r *http.Request, p identity.Principal) (store.Campaign, error) {
	id := r.PathValue("id")
	if id == "" || len(id) > 64 || strings.ContainsAny(id, "/\\#?'") {
		return store.Campaign{}, apperr.E(apperr.NotFound, "campaign_not_found", "no such campaign")
	}
	return a.Store.Campaign(r.Context(), keyOf(p), id)
}

func (a *App) getCampaign(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	c, err := a.ownCampaign(r, p)
	if err != nil {
		return err
	}
	return a.writeCampaign(w, r, c)
}

// patchCampaign renames a campaign (any time: a name is only the
// owner's) or changes its tracking options (only until its email
// arrives: the messages are made with them from then on).
func (a *App) patchCampaign(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	var req campaignRequest
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	if req.Name == nil && req.TrackOpens == nil && req.TrackClicks == nil && req.Start == nil && req.StartAt == nil && req.Window == nil {
		return apperr.E(apperr.Invalid, "nothing_to_change", "there is nothing to change: give a new name, tracking choices, a start or a sending window")
	}
	var name string
	if req.Name != nil {
		var err error
		if name, err = validName(*req.Name); err != nil {
			return err
		}
	}
	c, err := a.updateCampaign(r, p, func(c *store.Campaign) error {
		if (req.TrackOpens != nil || req.TrackClicks != nil) && !campaign.Editable(c.Status) {
			return apperr.E(apperr.Conflict, "campaign_started",
				"tracking can change only until the campaign's email arrives, and it has; copy the campaign to send it again with other tracking")
		}
		if req.Start != nil || req.StartAt != nil {
			// Once its email is in, the campaign is started (or
			// rescheduled) with POST .../start.
			if err := lifecycle.Editable(*c, "start it or change its start time with POST /v1/campaigns/{id}/start"); err != nil {
				return err
			}
			if err := req.startOptions(c, a.Now()); err != nil {
				return err
			}
		}
		if err := req.window(c); err != nil {
			return err
		}
		if req.Name != nil {
			c.Name = name
		}
		if req.TrackOpens != nil {
			c.TrackOpens = *req.TrackOpens
		}
		if req.TrackClicks != nil {
			c.TrackClicks = *req.TrackClicks
		}
		return nil
	})
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, viewCampaign(c, a.Now()))
	return nil
}

// updateCampaign applies change (which sets no status: that is the
// lifecycle's) to the caller's campaign named in the path.
func (a *App) updateCampaign(r *http.Request, p identity.Principal, change func(*store.Campaign) error) (store.Campaign, error) {
	c, err := a.ownCampaign(r, p)
	if err != nil {
		return c, err
	}
	return a.Store.ModifyCampaign(r.Context(), c.Account, c.ID, func(c *store.Campaign) error {
		if err := change(c); err != nil {
			return err
		}
		c.UpdatedAt = a.Now().UTC()
		return nil
	})
}

// newAddress replaces the campaign's inbound address; the old one stops
// working at once.
func (a *App) newAddress(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	token, hash := newAddressToken()
	var old string
	c, err := a.updateCampaign(r, p, func(c *store.Campaign) error {
		// A campaign held for review or scheduled takes a newer email.
		if c.Status != campaign.Review && c.Status != campaign.Scheduled {
			if err := lifecycle.Editable(*c, "its address no longer matters"); err != nil {
				return err
			}
		}
		old, c.AddressHash, c.AddressSealed = c.AddressHash, hash, a.sealAddress(c.ID, token)
		return a.Store.PutAddress(r.Context(), hash, c.Account, c.ID)
	})
	if err != nil {
		return err
	}
	if err := a.Store.DeleteAddress(r.Context(), old); err != nil {
		a.Logger.WarnContext(r.Context(), "old address not removed", "campaign", c.ID, "error", err.Error())
	}
	v := viewCampaign(c, a.Now())
	v.InboundAddress = a.inboundAddress(token)
	encode(w, http.StatusOK, v)
	return nil
}

// deleteCampaign records the deletion, hides the campaign, and hands the
// work to the campaign-delete worker.
func (a *App) deleteCampaign(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	ctx := r.Context()
	c, err := a.ownCampaign(r, p)
	if err != nil {
		return err
	}
	if err := a.Lifecycle.RequestCampaignDeletion(ctx, c.Account, c.ID); err != nil {
		return err
	}
	if err := a.settled(ctx, c.Account); err != nil {
		return err
	}
	a.Logger.InfoContext(ctx, "campaign deletion requested", "campaign", c.ID)
	encode(w, http.StatusAccepted, map[string]string{"status": "deleting", "message": "the campaign and everything stored for it are being deleted"})
	return nil
}

// sealAddress is token sealed for campaignID, "" when addresses are not
// kept.
func (a *App) sealAddress(campaignID, token string) string {
	if a.addresses == nil {
		return ""
	}
	return a.addresses.seal(campaignID, token)
}

// addressOf is the campaign's address while it may take a template email
// (until the campaign starts), if it is kept.
func (a *App) addressOf(c store.Campaign) string {
	awaits := campaign.Editable(c.Status) || c.Status == campaign.Review || c.Status == campaign.Scheduled
	if a.addresses == nil || c.AddressSealed == "" || !awaits {
		return ""
	}
	token, err := a.addresses.open(c.ID, c.AddressSealed)
	if err != nil {
		a.Logger.Warn("campaign address not readable", "campaign", c.ID, "error", err.Error())
		return ""
	}
	return a.inboundAddress(token)
}
