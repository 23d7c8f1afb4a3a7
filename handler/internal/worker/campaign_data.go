package worker

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/sheet"
	"mailmerge/handler/internal/store"
	"mailmerge/handler/internal/task"
)

// readData runs campaign-data: it extracts an upload's rows into the
// recipients table, or copies another campaign's, and records the result
// on the campaign. The upload
// blob is deleted as soon as processing ends, successfully or not; only a
// transient failure keeps it, for the retry.
func (w *Worker) readData(ctx context.Context, msg task.Data) error {
	k := msg.Key
	blob := store.UploadBlob(k, msg.CampaignID, msg.UploadID)
	done := func() error { return w.Store.DeleteBlob(ctx, store.ContainerUploads, blob) }

	c, err := w.Store.Campaign(ctx, k, msg.CampaignID)
	if apperr.Is(err, apperr.NotFound) {
		return done() // deleted meanwhile
	}
	if err != nil {
		return err
	}
	if c.Data.UploadID != msg.UploadID || c.Data.Status != campaign.DataProcessing {
		return done() // superseded by a newer upload, or already processed
	}
	start := time.Now()
	var result store.DataSummary
	if msg.From != "" {
		result, err = w.copyData(ctx, k, msg)
	} else {
		result, err = w.extractData(ctx, k, msg.CampaignID, blob, c.Data)
	}
	if err != nil && apperr.Retryable(err) {
		return err
	}
	if err != nil {
		var e *apperr.Error
		errors.As(err, &e)
		result = store.DataSummary{Status: campaign.DataFailed, Reason: campaign.Reason{Code: e.Code, Text: e.Message}}
		// The summary no longer describes any earlier rows: they go too.
		if _, err := w.Store.DeleteRecipients(ctx, msg.CampaignID); err != nil {
			return err
		}
	}
	if _, err := w.Lifecycle.DataRead(ctx, k, msg.CampaignID, msg.UploadID, result); err != nil {
		return err
	}
	w.Logger.InfoContext(ctx, "data processed", "campaign", msg.CampaignID, "status", result.Status,
		"rows", result.Rows, "validRows", result.ValidRows, "ms", time.Since(start).Milliseconds())
	return done()
}

// extractData parses the upload, validates it and stores the rows.
func (w *Worker) extractData(ctx context.Context, k account.Key, campaignID, blob string, d store.DataSummary) (store.DataSummary, error) {
	raw, err := w.Store.GetBlob(ctx, store.ContainerUploads, blob)
	if apperr.Is(err, apperr.NotFound) {
		return store.DataSummary{}, apperr.E(apperr.Invalid, "upload_lost", "the upload was lost before it was read; upload the file again")
	}
	if err != nil {
		return store.DataSummary{}, err
	}
	start := time.Now()
	t, err := sheet.ParseSheet(raw, d.FileName, d.Sheet, w.SheetLimits)
	if err != nil {
		return store.DataSummary{}, err
	}
	cols, rows, rep, err := campaign.Validate(t.Header, t.Rows)
	if err != nil {
		return store.DataSummary{}, err
	}
	for _, w := range t.Warnings {
		rep.Warn(w.Row, w.Code, w.Message)
	}
	checked, err := w.Lifecycle.SkipUnsubscribed(ctx, k, &cols, rows, &rep)
	if err != nil {
		return store.DataSummary{}, err
	}
	var sheets []byte
	if len(t.Sheets) > 0 {
		sheets, _ = json.Marshal(t.Sheets)
	}
	parsed := time.Now()
	recipients := make([]store.Recipient, len(rows))
	for i, r := range rows {
		recipients[i] = store.Recipient{Row: r.Row, Cells: r.Cells, Status: r.Status, Reason: r.Reason}
	}
	if err := w.Store.ReplaceRecipients(ctx, campaignID, recipients); err != nil {
		var tooLarge store.ErrRowTooLarge
		if errors.As(err, &tooLarge) {
			return store.DataSummary{}, apperr.E(apperr.Invalid, "row_too_large", "row %d holds more text than one recipient may (about 900 KB); shorten its cells", tooLarge.Row)
		}
		return store.DataSummary{}, err
	}
	w.Logger.InfoContext(ctx, "rows extracted", "campaign", campaignID, "rows", len(rows),
		"parseMs", parsed.Sub(start).Milliseconds(), "writeMs", time.Since(parsed).Milliseconds())
	status := campaign.DataReady
	if rep.ValidRows == 0 {
		status = campaign.DataInvalid
	}
	return store.DataSummary{Status: status, Format: t.Format, Columns: cols.Names, Empty: cols.Empty, Rows: rep.Rows, ValidRows: rep.ValidRows,
		Report: string(rep.JSON()), Sheet: t.Sheet, Sheets: string(sheets), Checked: checked}, nil
}

// copyData copies the rows of another campaign of the account, checked
// again as new: whatever became of them there (sent, skipped…), here they
// are to be sent, but for invalid or duplicate rows and those to an
// address now on the unsubscribe list.
func (w *Worker) copyData(ctx context.Context, k account.Key, msg task.Data) (store.DataSummary, error) {
	src, err := w.Store.Campaign(ctx, k, msg.From)
	if apperr.Is(err, apperr.NotFound) {
		return store.DataSummary{}, apperr.E(apperr.Invalid, "source_deleted", "the campaign to copy from was deleted meanwhile")
	}
	if err != nil {
		return store.DataSummary{}, err
	}
	var read []sheet.Row
	if err := w.Store.ForEachRecipient(ctx, src.ID, func(r store.Recipient) error {
		read = append(read, sheet.Row{Row: r.Row, Cells: r.Cells})
		return nil
	}); err != nil {
		return store.DataSummary{}, err
	}
	cols, rows, rep, err := campaign.Validate(src.Data.Columns, read)
	if err != nil {
		return store.DataSummary{}, err
	}
	checked, err := w.Lifecycle.SkipUnsubscribed(ctx, k, &cols, rows, &rep)
	if err != nil {
		return store.DataSummary{}, err
	}
	recipients := make([]store.Recipient, len(rows))
	for i, r := range rows {
		recipients[i] = store.Recipient{Row: r.Row, Cells: r.Cells, Status: r.Status, Reason: r.Reason}
	}
	if err := w.Store.ReplaceRecipients(ctx, msg.CampaignID, recipients); err != nil {
		return store.DataSummary{}, err
	}
	status := campaign.DataReady
	if rep.ValidRows == 0 {
		status = campaign.DataInvalid
	}
	d := src.Data
	return store.DataSummary{Status: status, Format: d.Format, Columns: cols.Names, Empty: cols.Empty, Rows: rep.Rows, ValidRows: rep.ValidRows,
		Report: string(rep.JSON()), Checked: checked}, nil
}
