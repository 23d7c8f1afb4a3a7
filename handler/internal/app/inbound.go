package app

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/notify"
	"mailmerge/handler/internal/postmark"
	"mailmerge/handler/internal/store"
	"mailmerge/handler/internal/tracking"
)

// maxInboundBody is above Postmark's 35 MB of attachments once base64
// adds a third, plus the bodies.
const maxInboundBody = 60 << 20

// Graph takes attachments of up to 3 MB inside a sendMail request of at
// most 4 MB; larger ones need an upload session, which we do not do yet.
const (
	maxAttachmentBytes = 3 << 20
	maxTemplateBytes   = 3 << 20
)

// errDuplicate: the email was received before.
var errDuplicate = errors.New("duplicate")

// codeAlreadyStarted refuses an email sent to a campaign that another
// email started.
const codeAlreadyStarted = "campaign_started"

// refusal is a reason to refuse an inbound email with 403, which makes
// Postmark stop retrying. owner says the owner should be told (they can fix it).
type refusal struct {
	code, text string
	owner      bool
}

func (r refusal) Error() string { return r.code + ": " + r.text }

// sameSecret compares in constant time, lengths included.
func sameSecret(got, want string) bool {
	g, w := sha256.Sum256([]byte(got)), sha256.Sum256([]byte(want))
	return subtle.ConstantTimeCompare(g[:], w[:]) == 1
}

// postmarkInbound receives the template email sent to a campaign's address.
// It answers 200 only once the email is stored and the campaign queued, 403
// (Postmark stops retrying) for anything that must not start a campaign,
// and 5xx (Postmark retries) when storage fails.
func (a *App) postmarkInbound(w http.ResponseWriter, r *http.Request) error {
	user, pass, ok := r.BasicAuth()
	if !ok || !sameSecret(user, a.PostmarkInbound.User) || !sameSecret(pass, a.PostmarkInbound.Password) {
		a.Logger.WarnContext(r.Context(), "inbound webhook: bad credentials")
		encode(w, http.StatusForbidden, errorBody{Error: errorDetail{Code: "forbidden", Message: "bad credentials"}})
		return nil
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxInboundBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return apperr.E(apperr.TooLarge, "payload_too_large", "the inbound email is over %d MB", maxInboundBody>>20)
	}
	if err != nil {
		return apperr.Wrap(err, apperr.Transient, "read_failed", "the body did not arrive whole")
	}
	in, err := postmark.ParseInbound(body)
	if err != nil {
		return err
	}
	status, err := a.acceptInbound(r.Context(), in)
	var ref refusal
	switch {
	case errors.As(err, &ref):
		a.Logger.InfoContext(r.Context(), "inbound email refused", "reason", ref.code)
		encode(w, http.StatusForbidden, errorBody{Error: errorDetail{Code: ref.code, Message: ref.text}})
	case err != nil:
		return err
	default:
		a.Logger.InfoContext(r.Context(), "inbound email", "outcome", status, "attachments", len(in.Attachments))
		encode(w, http.StatusOK, map[string]string{"status": status})
	}
	return nil
}

// acceptInbound checks the email and queues its campaign. It returns
// "queued", or "duplicate" for a message already received.
func (a *App) acceptInbound(ctx context.Context, in postmark.Inbound) (string, error) {
	hash := strings.ToLower(strings.TrimSpace(in.MailboxHash))
	if hash == "" {
		return "", refusal{code: "unknown_address", text: "the email was not sent to a campaign address"}
	}
	if id, ok := strings.CutPrefix(hash, tracking.UnsubscribePrefix); ok {
		return a.unsubscribeByEmail(ctx, id)
	}
	addr, err := a.Store.LookupAddress(ctx, HashAddressToken(hash))
	if apperr.Is(err, apperr.NotFound) {
		return "", refusal{code: "unknown_address", text: "no campaign has this address"}
	}
	if err != nil {
		return "", err
	}
	acct, err := a.Store.Account(ctx, addr.Account)
	if apperr.Is(err, apperr.NotFound) {
		return "", refusal{code: "unknown_address", text: "no campaign has this address"}
	}
	if err != nil {
		return "", err
	}
	if in.Sender() == "" || !strings.EqualFold(in.Sender(), acct.Email) {
		return "", refusal{code: "not_owner", text: "only the campaign's owner can start it"}
	}
	if v := postmark.CheckSender(in); !v.OK {
		return "", refusal{code: "sender_not_verified", text: v.Reason}
	}
	c, err := a.Store.Campaign(ctx, addr.Account, addr.CampaignID)
	if apperr.Is(err, apperr.NotFound) {
		return "", refusal{code: "unknown_address", text: "no campaign has this address"}
	}
	if err != nil {
		return "", err
	}
	if c.InboundMessageID == in.MessageID {
		return "duplicate", nil
	}
	files, ref := decodeAttachments(in)
	if ref == nil {
		ref = checkTemplate(c, in, files)
	}
	if ref != nil {
		a.refuse(ctx, c, in, *ref)
		return "", *ref
	}
	// Each inbound email is stored under a name of its own, and the campaign
	// points at it only in the update that queues it: an email refused by
	// a concurrent winner never overwrites the one that is sent.
	id := randomID() // names this email among the campaign's
	if err := a.storeOriginal(ctx, c, id, in, files); err != nil {
		a.dropOriginal(ctx, addr, id)
		return "", err
	}
	var status string
	_, err = a.Lifecycle.Accept(ctx, addr.Account, addr.CampaignID, in.MessageID, id, func(c store.Campaign) error {
		// Read again after a lost race (a concurrent delivery of this or
		// another email, or the owner): decide again on the fresh row.
		if c.InboundMessageID == in.MessageID {
			status = "duplicate"
			return errDuplicate
		}
		if ref := checkTemplate(c, in, files); ref != nil {
			a.refuse(ctx, c, in, *ref)
			return *ref
		}
		return nil
	})
	switch {
	case errors.Is(err, errDuplicate):
		a.dropOriginal(ctx, addr, id)
		return status, nil
	case errors.As(err, new(refusal)), apperr.Is(err, apperr.Conflict), apperr.Is(err, apperr.NotFound), apperr.CodeOf(err) == "campaign_busy":
		// Nothing points at the email.
		a.dropOriginal(ctx, addr, id)
		return "", err
	case err != nil:
		// The write may have happened all the same (a timeout after the
		// service took it), or only the start was not queued: the email
		// stays, as the campaign may point at it. Postmark retries after
		// the 5xx and finds it a duplicate, or queues it again (the sweep
		// starts a queued campaign whose start was lost); a copy left
		// over goes with the campaign.
		return "", err
	}
	return "queued", nil
}

// refuse tells the owner about a refused email they can act on. For a
// campaign not yet started the reason is kept on the campaign, where the
// add-in shows it; a campaign that started already is not touched, and the
// owner learns that this email was not used.
func (a *App) refuse(ctx context.Context, c store.Campaign, in postmark.Inbound, ref refusal) {
	if !ref.owner {
		return
	}
	if ref.code == codeAlreadyStarted {
		n := notify.Notice{Kind: notify.NotUsed, Reason: ref.text,
			Action: "To send another email to these recipients, create a new campaign; it can reuse this campaign's recipients."}
		if err := a.Lifecycle.NotifyOnce(ctx, c, n, "inbound-"+in.MessageID); err != nil {
			a.Logger.WarnContext(ctx, "refusal notice not queued", "campaign", c.ID, "error", err.Error())
		}
		return
	}
	a.Lifecycle.RecordRefusal(ctx, c, campaign.Reason{Code: ref.code, Text: ref.text})
}

// decodeAttachments decodes the email's attachments. One that did not
// arrive whole (no content, another length than announced, not base64)
// refuses the email: every recipient would get it damaged.
func decodeAttachments(in postmark.Inbound) ([][]byte, *refusal) {
	files := make([][]byte, len(in.Attachments))
	for i, at := range in.Attachments {
		data, err := at.Decode()
		if err != nil {
			return nil, &refusal{code: "attachment_damaged", owner: true,
				text: "attachment " + strconv.Quote(at.Name) + " did not arrive whole, so it cannot be sent; send the email again"}
		}
		files[i] = data
	}
	return files, nil
}

// checkTemplate refuses what the owner can fix: a campaign not ready to
// start, or attachments too large to send.
func checkTemplate(c store.Campaign, in postmark.Inbound, files [][]byte) *refusal {
	switch c.Status {
	case campaign.Ready, campaign.Review, campaign.Scheduled:
		// Held or waiting: a newer email replaces the held one.
	case campaign.Draft:
		return &refusal{code: "campaign_not_ready", owner: true,
			text: "The email arrived before the campaign's recipients were ready, so nothing was sent. Upload the spreadsheet first (its rows must be valid)."}
	default:
		return &refusal{code: codeAlreadyStarted, owner: true,
			text: "the campaign had already started with an earlier email (it is " + string(c.Status) + "); this email was not used"}
	}
	var total int
	for i, data := range files {
		total += len(data)
		if len(data) > maxAttachmentBytes {
			return &refusal{code: "attachment_too_large", owner: true,
				text: "attachment " + strconv.Quote(in.Attachments[i].Name) + " is over 3 MB; share it as a link instead"}
		}
	}
	if total > maxTemplateBytes {
		return &refusal{code: "attachments_too_large", owner: true, text: "the attachments add up to over 3 MB; share some as links instead"}
	}
	return nil
}

// storeOriginal keeps the template email and its attachments (files,
// decoded) under id.
func (a *App) storeOriginal(ctx context.Context, c store.Campaign, id string, in postmark.Inbound, files [][]byte) error {
	o := store.Original{Inbound: in, ReceivedAt: a.Now().UTC()}
	if t, ok := in.SentAt(); ok {
		o.SentAt = t.UTC()
	}
	return a.Store.PutOriginal(ctx, c.Account, c.ID, id, o, files)
}

// dropOriginal deletes an inbound email that did not queue the campaign.
// It runs past the request's end: a refused email must not stay stored.
// One that survives a crash here goes with its campaign.
func (a *App) dropOriginal(ctx context.Context, addr store.Address, id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := a.Store.DeleteOriginal(ctx, addr.Account, addr.CampaignID, id); err != nil {
		a.Logger.WarnContext(ctx, "refused email not deleted", "campaign", addr.CampaignID, "error", err.Error())
	}
}
