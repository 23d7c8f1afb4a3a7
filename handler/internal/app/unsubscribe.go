package app

import (
	"context"
	"io"
	"net/http"
	"strings"

	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/tracking"
)

// unsubscribePage shows what the unsubscribe link does and a button that
// does it: a link scanner that follows the link unsubscribes no one. The
// page carries no tracking. It names the sender and, masked, the
// recipient from the token alone, without reading storage; a link of
// mail sent before tokens carried them says the same without the names.
func (a *App) unsubscribePage(w http.ResponseWriter, r *http.Request) error {
	t, err := a.TrackingKeys.Verify(r.PathValue("token"), tracking.Unsubscribe)
	if err != nil {
		page(w, http.StatusNotFound, "Link not found", "This unsubscribe link is not valid. If you copied it from an email, check that it was copied whole.")
		return nil
	}
	writePage(w, http.StatusOK, pageData{Title: "Unsubscribe",
		Text:   "Stop receiving these emails" + fromWhom(t.Names) + toWhom(t.Names) + "? The sender will not send you further emails through this service.",
		Button: "Unsubscribe", Action: true})
	return nil
}

// fromWhom names the sender of a message: " from alice@contoso.com", or
// " from this sender" when the token does not say.
func fromWhom(n tracking.Names) string {
	if n.Sender == "" {
		return " from this sender"
	}
	return " from " + n.Sender
}

// toWhom names where a message went, masked: " at j•••@contoso.com", and the
// message's other visible addresses, which the unsubscribe covers too.
func toWhom(n tracking.Names) string {
	switch {
	case n.Recipient == "":
		return ""
	case n.Others:
		return " at " + n.Recipient + " and the other addresses this email was sent to"
	}
	return " at " + n.Recipient
}

// unsubscribe takes the address of the token's row off the sender's
// list: the confirm button of the page, and RFC 8058's one-click POST
// (body "List-Unsubscribe=One-Click", from the mail program; no
// redirect). The request is queued before it is answered, so an
// unsubscribe that was confirmed is never lost; if the queue cannot take
// it, the page says to try again.
func (a *App) unsubscribe(w http.ResponseWriter, r *http.Request) error {
	t, err := a.TrackingKeys.Verify(r.PathValue("token"), tracking.Unsubscribe)
	if err != nil {
		page(w, http.StatusNotFound, "Link not found", "This unsubscribe link is not valid. If you copied it from an email, check that it was copied whole.")
		return nil
	}
	body, _ := io.ReadAll(http.MaxBytesReader(w, r.Body, 4096))
	e := a.event(r, t)
	e.Account = t.Account
	e.OneClick = strings.Contains(string(body), "List-Unsubscribe=One-Click")
	if err := a.tasks.Events(r.Context(), []tracking.Event{e}); err != nil {
		a.Logger.ErrorContext(r.Context(), "unsubscribe not queued", "campaign", t.CampaignID, "error", err.Error())
		w.Header().Set("Retry-After", "30")
		page(w, http.StatusServiceUnavailable, "Please try again", "We could not take your request just now. Please try again in a minute.")
		return nil
	}
	page(w, http.StatusOK, "You are unsubscribed", "You will not receive further emails"+fromWhom(t.Names)+toWhom(t.Names)+" through this service.")
	return nil
}

// unsubscribeByEmail takes an email to a message's unsubscribe address
// (List-Unsubscribe's mailto) as the one-click POST: whoever sends it,
// since the address is the proof, as the link is. It answers once the
// unsubscribe is queued; an address no message was sent with is refused.
func (a *App) unsubscribeByEmail(ctx context.Context, id string) (string, error) {
	l, err := a.Store.UnsubscribeLinkOf(ctx, id)
	if apperr.Is(err, apperr.NotFound) {
		return "", refusal{code: "unknown_address", text: "no message was sent with this unsubscribe address"}
	}
	if err != nil {
		return "", err
	}
	e := tracking.Event{Kind: tracking.Unsubscribe, Account: l.Account, CampaignID: l.CampaignID, Row: l.Row,
		At: a.Now().UTC(), Method: "EMAIL", ByEmail: true}
	if err := a.tasks.Events(ctx, []tracking.Event{e}); err != nil {
		return "", apperr.Wrap(err, apperr.Transient, "queue_unavailable", "the unsubscribe could not be queued")
	}
	return "unsubscribed", nil
}
