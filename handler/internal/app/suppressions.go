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

// suppressionView is one address of the suppression list. An unsubscribe
// from a message of a deleted campaign knows the address only by its key:
// the entry has no address, and is removed by its key (or its address).
type suppressionView struct {
	Address string    `json:"address,omitempty"`
	Key     string    `json:"key"`
	At      time.Time `json:"at"`
	Source  string    `json:"source"`
}

// suppressionSources are the ways onto the list that ?source= picks:
// unsubscribes by any of their ways (the page, the mail program's
// one-click, mail to the unsubscribe address), bounces (a report that a
// message could not be delivered), or the owner's own additions.
var suppressionSources = map[string][]string{
	"":            nil,
	"unsubscribe": {"unsubscribe", "one-click", "email"},
	"bounce":      {store.SourceBounce},
	"added":       {"added"},
}

// listSuppressions pages through the account's suppression list, or the
// part of it that came one way (?source=).
func (a *App) listSuppressions(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	limit := 100
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return apperr.E(apperr.Invalid, "limit_invalid", "limit is a number from 1 to 1000")
		}
		limit = n
	}
	sources, ok := suppressionSources[r.URL.Query().Get("source")]
	if !ok {
		return apperr.E(apperr.Invalid, "source_invalid", "source is unsubscribe, bounce or added, or left out for the whole list")
	}
	page, err := a.Store.Suppressions(r.Context(), keyOf(p), limit, r.URL.Query().Get("cursor"), sources...)
	if err != nil {
		return err
	}
	out := struct {
		Suppressions []suppressionView `json:"suppressions"`
		Next         string            `json:"next,omitempty"`
	}{Suppressions: []suppressionView{}, Next: page.Next}
	for _, s := range page.Suppressions {
		out.Suppressions = append(out.Suppressions, suppressionView{Address: s.Address, Key: s.Key, At: s.At, Source: s.Source})
	}
	encode(w, http.StatusOK, out)
	return nil
}

// maxImport bounds one import.
const maxImport = 10_000

// addSuppressions adds addresses to the list (an import): every valid one
// is added, and the invalid ones are named with their place in the list.
func (a *App) addSuppressions(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	var req struct {
		Addresses []string `json:"addresses"`
	}
	if err := decodeLimited(w, r, &req, false, 2<<20); err != nil {
		return err
	}
	if len(req.Addresses) == 0 || len(req.Addresses) > maxImport {
		return apperr.E(apperr.Invalid, "addresses_invalid", "send {\"addresses\": [...]} with 1 to %d addresses", maxImport)
	}
	now := a.Now().UTC()
	var list []store.Suppression
	type invalid struct {
		Index   int    `json:"index"`
		Message string `json:"message"`
	}
	bad := []invalid{}
	for i, s := range req.Addresses {
		addrs, err := campaign.ParseAddresses(s)
		if err == nil && len(addrs) != 1 {
			err = apperr.E(apperr.Invalid, "address_invalid", "one address per entry")
		}
		if err != nil {
			bad = append(bad, invalid{Index: i, Message: apperr.MessageOf(err)})
			continue
		}
		list = append(list, store.Suppression{Address: addrs[0].Address, At: now, Source: "added"})
	}
	added, err := a.Store.Suppress(r.Context(), keyOf(p), list)
	if err != nil {
		return err
	}
	a.Logger.InfoContext(r.Context(), "suppressions added", "added", added, "already", len(list)-added, "invalid", len(bad))
	encode(w, http.StatusOK, map[string]any{"added": added, "already": len(list) - added, "invalid": bad})
	return nil
}

// deleteSuppression takes one address off the list, named by the address
// or by its key: later campaigns send to it again.
func (a *App) deleteSuppression(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	addr := strings.TrimSpace(r.PathValue("address"))
	if addr == "" || len(addr) > 320 {
		return apperr.E(apperr.Invalid, "address_invalid", "name the address to remove")
	}
	if ok, err := a.Store.SuppressedKey(r.Context(), keyOf(p), suppressionKeyOf(addr)); err != nil {
		return err
	} else if !ok {
		return notFound("that address is not on your suppression list")
	}
	if err := a.Store.UnsuppressKey(r.Context(), keyOf(p), suppressionKeyOf(addr)); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// suppressionKeyOf is the key of an entry named by its address or, for an
// entry that has none, by its key (32 hex digits, as the list gives it).
func suppressionKeyOf(s string) string {
	if len(s) == 32 && strings.Trim(s, "0123456789abcdef") == "" {
		return s
	}
	return store.SuppressionKey(s)
}
