package app

import (
	"net/http"
	"strconv"
	"time"

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

// keptElsewhere are the keeping rules of what is not the account's own
// data but holds copies or ids of it: the privacy notice must say them.
var keptElsewhere = []map[string]string{
	{"what": "backups of the tables (every 5 minutes; whole each hour)",
		"kept": days(backup.KeepExports) + "; the first of each month " + strconv.Itoa(backup.KeepMonths) + " months. A restore never brings back what was deleted."},
	{"what": "ids of what was deleted (tombstones), so a restore leaves it out", "kept": days(backup.KeepTombstones)},
	{"what": "table, keys and time of each deleted row (never content), for restores", "kept": days(backup.KeepRemovals)},
	{"what": "deleted files, recoverable by the operator (soft delete)", "kept": "36 days (infra/modules/storage.bicep softDeleteDays)"},
}

func days(d time.Duration) string { return strconv.Itoa(int(d.Hours()/24)) + " days" }

// inventory lists each kind of data held for the caller's account, with
// how much of it there is, where it lives and until when it is kept: read
// from storage through the one list of what an account owns.
func (a *App) inventory(w http.ResponseWriter, r *http.Request, p identity.Principal) {
	ctx := r.Context()
	k := keyOf(p)
	ids, err := a.Store.AllCampaignIDs(ctx, k)
	if err != nil {
		writeError(w, r, a.Logger, err)
		return
	}
	out := struct {
		Kinds     []kindView          `json:"kinds"`
		Elsewhere []map[string]string `json:"elsewhere"`
	}{Kinds: []kindView{}, Elsewhere: keptElsewhere}
	measure := func(h store.Holding, campaignID string) error {
		n, size, err := a.Store.Measure(ctx, h)
		if err != nil || n == 0 {
			return err
		}
		where := "table " + h.Table
		if h.Container != "" {
			where = "blob container " + h.Container
		}
		out.Kinds = append(out.Kinds, kindView{What: h.What, Where: where, Count: n, Bytes: size, Kept: h.Keep, Campaign: campaignID})
		return nil
	}
	for _, id := range ids {
		c, err := a.Store.CampaignForDeletion(ctx, k, id)
		if err != nil {
			writeError(w, r, a.Logger, err)
			return
		}
		for _, h := range store.CampaignHoldings(c) {
			if err := measure(h, id); err != nil {
				writeError(w, r, a.Logger, err)
				return
			}
		}
	}
	for _, h := range store.AccountHoldings(k) {
		if h.Container == store.ContainerUploads || h.Container == store.ContainerOriginals {
			continue // counted with their campaigns
		}
		if err := measure(h, ""); err != nil {
			writeError(w, r, a.Logger, err)
			return
		}
	}
	encode(w, http.StatusOK, out)
}
