package worker

import (
	"context"

	"mailmerge/handler/internal/invoke"
	"mailmerge/handler/internal/store"
	"mailmerge/handler/internal/task"
)

// deleteCampaign runs campaign-delete: it deletes one campaign and
// everything stored for it.
func (w *Worker) deleteCampaign(ctx context.Context, msg task.DeleteCampaign, m invoke.Message) error {
	if err := w.removeCampaign(ctx, msg.Key, msg.CampaignID); err != nil {
		return err
	}
	if err := w.Store.FinishDeletion(ctx, store.Deletion{Account: msg.Key, CampaignID: msg.CampaignID}, w.Now()); err != nil {
		return err
	}
	w.Logger.InfoContext(ctx, "campaign deleted", "campaign", msg.CampaignID, "delivery", m.DeliveryCount)
	return nil
}
