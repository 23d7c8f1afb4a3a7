package lifecycle

import (
	"context"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/store"
)

// RequestCampaignDeletion records the deletion of campaign id, hides it
// (its sending stops: the worker checks the mark before each batch), and
// hands the work to the campaign-delete worker. The record comes first:
// if anything after it fails, the retention timer finds and finishes the
// deletion.
func (l *Lifecycle) RequestCampaignDeletion(ctx context.Context, k account.Key, id string) error {
	now := l.now()
	d := store.Deletion{Account: k, CampaignID: id, RequestedAt: now}
	if err := l.Store.RecordDeletion(ctx, d); err != nil {
		return err
	}
	if _, err := l.Store.ModifyCampaign(ctx, k, id, func(c *store.Campaign) error {
		c.DeletionRequestedAt, c.UpdatedAt = now, now
		return nil
	}); err != nil {
		return err
	}
	return l.Tasks.Deletion(ctx, k, id)
}

// RequestAccountDeletion records the deletion of account acct, marks it
// (which stops all its sending), and hands the work to the
// account-delete worker; the record comes first, as for a campaign. A
// correction or an install that wrote the account since it was read wins
// the ETag race: it is read again and marked, since a deletion answered
// without the mark would let the campaigns send on.
func (l *Lifecycle) RequestAccountDeletion(ctx context.Context, acct store.Account) error {
	now := l.now()
	if !acct.Deleting() {
		if err := l.Store.RecordDeletion(ctx, store.Deletion{Account: acct.Key, RequestedAt: now}); err != nil {
			return err
		}
		if err := l.markDeleting(ctx, acct); err != nil {
			return err
		}
	}
	return l.Tasks.Deletion(ctx, acct.Key, "")
}

func (l *Lifecycle) markDeleting(ctx context.Context, acct store.Account) error {
	now := l.now()
	for range 3 {
		acct.DeletionRequestedAt, acct.UpdatedAt = now, now
		err := l.Store.UpdateAccount(ctx, acct)
		if !apperr.Is(err, apperr.Conflict) {
			return err
		}
		if acct, err = l.Store.Account(ctx, acct.Key); err != nil {
			return err
		}
		if acct.Deleting() {
			return nil // marked concurrently
		}
	}
	return apperr.E(apperr.Conflict, "busy", "the account kept changing; try again")
}
