package worker

import (
	"context"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/invoke"
	"mailmerge/handler/internal/store"
	"mailmerge/handler/internal/task"
)

// deleteAccount runs account-delete: it deletes everything an account
// has, as store.AccountHoldings and store.CampaignHoldings list it: every
// campaign with its data, then the account's own holdings, the account
// row last. Each step tolerates what an earlier, interrupted run already
// deleted; the deletion record goes last of all.
func (w *Worker) deleteAccount(ctx context.Context, msg task.DeleteAccount, m invoke.Message) error {
	k := msg.Key
	// What export reads and the inventory measures: each campaign's
	// holdings (its row last), then the account's (the account row last).
	owned, err := w.Store.OwnedBy(ctx, k)
	if err != nil {
		return err
	}
	removed := 0
	for _, o := range owned {
		for _, h := range o.Holdings {
			n, err := w.Store.Remove(ctx, h)
			if err != nil {
				return err
			}
			removed += n
		}
	}
	// The grant's copy in this process's memory goes too.
	if w.Grants != nil {
		if err := w.Grants.Delete(ctx, k); err != nil {
			return err
		}
	}
	if err := w.Store.FinishDeletion(ctx, store.Deletion{Account: k}, w.Now()); err != nil {
		return err
	}
	w.Logger.InfoContext(ctx, "account deleted", "campaigns", len(owned)-1, "removed", removed, "delivery", m.DeliveryCount)
	return nil
}

// removeCampaign removes a campaign completely, as store.CampaignHoldings
// lists it, the campaign row last (so a retry finds it again).
func (w *Worker) removeCampaign(ctx context.Context, k account.Key, id string) error {
	c, err := w.Store.CampaignForDeletion(ctx, k, id)
	if apperr.Is(err, apperr.NotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, h := range store.CampaignHoldings(c) {
		if _, err := w.Store.Remove(ctx, h); err != nil {
			return err
		}
	}
	return nil
}
