package app

import (
	"net/http"

	"mailmerge/handler/internal/backup"
	"mailmerge/handler/internal/identity"
	"mailmerge/handler/internal/store"
)

// kindView is one kind of data kept for the account, measured in storage.
type kindView struct {
	What  string `json:"what"`
	Where string `json:"where"`
	Count int    `json:"count"`
	Bytes int64  `json:"bytes"`
	Kept  string `json:"kept"`
	// Campaign names the campaign the data belongs to, if one.
	Campaign string `json:"campaign,omitempty"`
}

// inventory lists each kind of data held for the caller's account, with
// how much of it there is, where it lives and until when it is kept: read
// from storage through the one list of what an account owns.
func (a *App) inventory(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	ctx := r.Context()
	owned, err := a.Store.OwnedBy(ctx, keyOf(p))
	if err != nil {
		return err
	}
	out := struct {
		Kinds     []kindView    `json:"kinds"`
		Elsewhere []backup.Kept `json:"elsewhere"`
	}{Kinds: []kindView{}, Elsewhere: backup.Elsewhere()}
	for _, o := range owned {
		for _, h := range o.Holdings {
			if o.CampaignID == "" && (h.Container == store.ContainerUploads || h.Container == store.ContainerOriginals) {
				continue // counted with their campaigns
			}
			n, size, err := a.Store.Measure(ctx, h)
			if err != nil {
				return err
			}
			if n == 0 {
				continue
			}
			where := "table " + h.Table
			if h.Container != "" {
				where = "blob container " + h.Container
			}
			out.Kinds = append(out.Kinds, kindView{What: h.What, Where: where, Count: n, Bytes: size, Kept: h.Keep, Campaign: o.CampaignID})
		}
	}
	encode(w, http.StatusOK, out)
	return nil
}
