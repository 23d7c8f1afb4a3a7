package app

import (
	"context"
	"encoding/json"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/invoke"
	"mailmerge/handler/internal/store"
)

// Blob containers.
const (
	containerUploads = "uploads"
)

// deleteAccountWorker deletes everything an account has: every campaign with
// its data, the debug entries, the account row. Each step tolerates what an
// earlier, interrupted run already deleted; the deletion record goes last.
func (a *App) deleteAccountWorker(ctx context.Context, m invoke.Message) error {
	var msg accountDeleteMessage
	if err := json.Unmarshal(m.Body, &msg); err != nil || msg.TenantID == "" || msg.ObjectID == "" {
		return apperr.E(apperr.Invalid, "bad_message", "account-delete message must be {\"tenantId\",\"objectId\"}")
	}
	k := account.Key{TenantID: msg.TenantID, ObjectID: msg.ObjectID}
	ids, err := a.Store.AllCampaignIDs(ctx, k)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if err := a.deleteCampaignData(ctx, k, id); err != nil {
			return err
		}
	}
	// Blobs whose campaign row was never written, if any.
	for _, c := range []string{containerUploads, containerOriginals} {
		if _, err := a.Store.DeleteBlobs(ctx, c, k.String()+"/"); err != nil {
			return err
		}
	}
	// The mailbox's sending budget is keyed by the account.
	if err := a.Store.DeleteMailbox(ctx, k.String()); err != nil {
		return err
	}
	// The stored Graph access (encrypted token cache) goes too.
	if a.Grants != nil {
		if err := a.Grants.Delete(ctx, k); err != nil {
			return err
		}
	}
	debug, err := a.Store.DeleteDebugEntries(ctx, k)
	if err != nil {
		return err
	}
	if err := a.Store.DeleteAccountRow(ctx, k); err != nil {
		return err
	}
	if err := a.Store.FinishDeletion(ctx, store.Deletion{Account: k}, a.Now()); err != nil {
		return err
	}
	a.Logger.InfoContext(ctx, "account deleted", "campaigns", len(ids), "debugEntries", debug, "delivery", m.DeliveryCount)
	return nil
}

// deleteCampaignWorker deletes one campaign and everything stored for it.
func (a *App) deleteCampaignWorker(ctx context.Context, m invoke.Message) error {
	var msg campaignDeleteMessage
	if err := json.Unmarshal(m.Body, &msg); err != nil || msg.TenantID == "" || msg.ObjectID == "" || msg.CampaignID == "" {
		return apperr.E(apperr.Invalid, "bad_message", "campaign-delete message must be {\"tenantId\",\"objectId\",\"campaignId\"}")
	}
	k := account.Key{TenantID: msg.TenantID, ObjectID: msg.ObjectID}
	if err := a.deleteCampaignData(ctx, k, msg.CampaignID); err != nil {
		return err
	}
	if err := a.Store.FinishDeletion(ctx, store.Deletion{Account: k, CampaignID: msg.CampaignID}, a.Now()); err != nil {
		return err
	}
	a.Logger.InfoContext(ctx, "campaign deleted", "campaign", msg.CampaignID, "delivery", m.DeliveryCount)
	return nil
}

// deleteCampaignData removes a campaign completely: its address, its rows,
// its blobs, then the campaign row itself (last, so a retry finds it).
func (a *App) deleteCampaignData(ctx context.Context, k account.Key, id string) error {
	c, err := a.Store.CampaignForDeletion(ctx, k, id)
	if apperr.Is(err, apperr.NotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := a.Store.DeleteAddress(ctx, c.AddressHash); err != nil {
		return err
	}
	if _, err := a.Store.DeleteRecipients(ctx, id); err != nil {
		return err
	}
	if _, err := a.Store.DeleteBlobs(ctx, containerUploads, uploadPrefix(k, id)); err != nil {
		return err
	}
	if _, err := a.Store.DeleteBlobs(ctx, containerOriginals, originalPrefix(k, id)); err != nil {
		return err
	}
	return a.Store.DeleteCampaignRow(ctx, k, id)
}

// uploadPrefix is where a campaign's uploads are stored.
func uploadPrefix(k account.Key, campaignID string) string {
	return k.String() + "/" + campaignID + "/"
}
