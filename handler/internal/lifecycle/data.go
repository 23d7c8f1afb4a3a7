package lifecycle

import (
	"context"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/store"
)

// Upload records a new upload (data, in the state processing) and puts
// the campaign back to draft until its rows are in. A campaign that has
// started is refused.
func (l *Lifecycle) Upload(ctx context.Context, k account.Key, id string, data func(store.Campaign) store.DataSummary) (store.Campaign, error) {
	c, err := l.Store.ModifyCampaign(ctx, k, id, func(c *store.Campaign) error {
		if err := Editable(*c, "its data can no longer change"); err != nil {
			return err
		}
		if err := moveData(c, data(*c)); err != nil {
			return err
		}
		return Move(c, campaign.Draft, campaign.Reason{}, l.now())
	})
	return c, err
}

// DataRead records what the data worker made of upload uploadID, if the
// campaign still waits for it; the campaign becomes ready only with at
// least one valid row. It reports whether it recorded it.
func (l *Lifecycle) DataRead(ctx context.Context, k account.Key, id, uploadID string, result store.DataSummary) (bool, error) {
	recorded := false
	_, err := l.Store.ModifyCampaign(ctx, k, id, func(c *store.Campaign) error {
		recorded = false
		if c.Data.UploadID != uploadID || c.Data.Status != campaign.DataProcessing {
			return store.ErrUnchanged
		}
		before := c.Data
		result.UploadID, result.FileName, result.UploadedAt = uploadID, before.FileName, before.UploadedAt
		if result.Format == "" {
			result.Format = before.Format
		}
		if result.Sheet == "" {
			result.Sheet = before.Sheet
		}
		result.ProcessedAt = l.now()
		if err := moveData(c, result); err != nil {
			return err
		}
		c.UpdatedAt = result.ProcessedAt
		if result.Status == campaign.DataReady && c.Status == campaign.Draft {
			if err := Move(c, campaign.Ready, campaign.Reason{}, l.now()); err != nil {
				return err
			}
		}
		recorded = true
		return nil
	})
	if apperr.Is(err, apperr.NotFound) {
		return false, nil
	}
	return recorded, err
}
