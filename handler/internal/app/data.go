package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"
	"unicode/utf8"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/identity"
	"mailmerge/handler/internal/invoke"
	"mailmerge/handler/internal/queue"
	"mailmerge/handler/internal/sheet"
	"mailmerge/handler/internal/store"
)

// dataView is GET /v1/campaigns/{id}/data.
type dataView struct {
	Status      string           `json:"status"`
	FileName    string           `json:"fileName,omitempty"`
	Format      string           `json:"format,omitempty"`
	Columns     []string         `json:"columns"`
	Rows        int              `json:"rows"`
	ValidRows   int              `json:"validRows"`
	SkippedRows int              `json:"skippedRows"`
	Error       *errorDetail     `json:"error,omitempty"`
	Report      *campaign.Report `json:"report,omitempty"`
	// Sheet is the worksheet read (or asked for, while processing), and
	// Sheets every worksheet of the workbook, for choosing another.
	Sheet       string        `json:"sheet,omitempty"`
	Sheets      []sheet.Sheet `json:"sheets,omitempty"`
	UploadedAt  *time.Time    `json:"uploadedAt,omitempty"`
	ProcessedAt *time.Time    `json:"processedAt,omitempty"`
}

func viewData(d store.DataSummary) dataView {
	v := dataView{Status: d.Status, FileName: d.FileName, Format: d.Format, Columns: d.Columns,
		Rows: d.Rows, ValidRows: d.ValidRows, SkippedRows: d.Rows - d.ValidRows}
	if v.Status == "" {
		v.Status = campaign.DataNone
	}
	if v.Columns == nil {
		v.Columns = []string{}
	}
	if d.ErrorCode != "" {
		v.Error = &errorDetail{Code: d.ErrorCode, Message: d.ErrorText}
	}
	if d.Report != "" {
		var rep campaign.Report
		if json.Unmarshal([]byte(d.Report), &rep) == nil {
			v.Report = &rep
		}
	}
	v.Sheet = d.Sheet
	if d.Sheets != "" {
		_ = json.Unmarshal([]byte(d.Sheets), &v.Sheets)
	}
	if !d.UploadedAt.IsZero() {
		v.UploadedAt = &d.UploadedAt
	}
	if !d.ProcessedAt.IsZero() {
		v.ProcessedAt = &d.ProcessedAt
	}
	return v
}

func (a *App) getData(w http.ResponseWriter, r *http.Request, p identity.Principal) {
	c, err := a.ownCampaign(r, p)
	if err != nil {
		writeError(w, r, a.Logger, err)
		return
	}
	encode(w, http.StatusOK, viewData(c.Data))
}

// dataMessage asks the campaign-data worker to extract an upload's rows,
// or to copy another campaign's rows when From is set.
type dataMessage struct {
	TenantID   string `json:"tenantId"`
	ObjectID   string `json:"objectId"`
	CampaignID string `json:"campaignId"`
	UploadID   string `json:"uploadId"`
	From       string `json:"from,omitempty"`
}

// uploadName reads the file name from X-File-Name (URL-encoded) or
// Content-Disposition; it only words messages and the data view.
func uploadName(r *http.Request) string {
	name := r.Header.Get("X-File-Name")
	if n, err := url.PathUnescape(name); err == nil {
		name = n
	}
	if name == "" {
		if _, params, err := mime.ParseMediaType(r.Header.Get("Content-Disposition")); err == nil {
			name = params["filename"]
		}
	}
	name = path.Base(strings.ReplaceAll(name, "\\", "/"))
	if name == "." || name == "/" || !utf8.ValidString(name) {
		return ""
	}
	return truncate(name, 200)
}

// putData stores an upload and hands it to the campaign-data worker. What
// cannot be a spreadsheet is refused here, before anything is stored.
func (a *App) putData(w http.ResponseWriter, r *http.Request, p identity.Principal) {
	ctx := r.Context()
	c, err := a.ownCampaign(r, p)
	if err != nil {
		writeError(w, r, a.Logger, err)
		return
	}
	if err := dataLocked(c); err != nil {
		writeError(w, r, a.Logger, err)
		return
	}
	limits := a.SheetLimits
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limits.MaxFileBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		writeError(w, r, a.Logger, apperr.E(apperr.TooLarge, "file_too_large", "the file is over %d MB; split it or remove unused columns", limits.MaxFileBytes>>20))
		return
	}
	if err != nil {
		writeError(w, r, a.Logger, apperr.Wrap(err, apperr.Invalid, "upload_incomplete", "the upload did not arrive whole; try again"))
		return
	}
	name := uploadName(r)
	format, err := sheet.Check(body, name, limits)
	if err != nil {
		writeError(w, r, a.Logger, err)
		return
	}
	// ?sheet= names the worksheet of a workbook to read (Excel allows 31
	// characters); without it, the first visible one is.
	want := strings.TrimSpace(r.URL.Query().Get("sheet"))
	if utf8.RuneCountInString(want) > 31 || !utf8.ValidString(want) {
		writeError(w, r, a.Logger, apperr.E(apperr.Invalid, "sheet_invalid", "sheet is the name of a worksheet: at most 31 characters"))
		return
	}
	uploadID := randomID()
	blob := uploadPrefix(c.Account, c.ID) + uploadID
	if err := a.Store.PutBlob(ctx, containerUploads, blob, body); err != nil {
		writeError(w, r, a.Logger, err)
		return
	}
	now := a.Now().UTC()
	c, err = a.updateCampaign(r, p, func(c *store.Campaign) error {
		if err := dataLocked(*c); err != nil {
			return err
		}
		// Until the new rows are in, the campaign cannot be sent.
		c.Status = campaign.Draft
		c.Data = store.DataSummary{Status: campaign.DataProcessing, UploadID: uploadID, FileName: name, Format: format, Sheet: want,
			UploadedAt: now, Columns: c.Data.Columns, Rows: c.Data.Rows, ValidRows: c.Data.ValidRows}
		return nil
	})
	if err == nil {
		err = a.enqueueData(ctx, dataMessage{TenantID: p.TenantID, ObjectID: p.ObjectID, CampaignID: c.ID, UploadID: uploadID})
	}
	if err != nil {
		// Nothing will process it: the upload must not stay behind.
		if derr := a.Store.DeleteBlob(context.WithoutCancel(ctx), containerUploads, blob); derr != nil {
			a.Logger.ErrorContext(ctx, "upload not removed after a failed start", "campaign", c.ID, "error", derr.Error())
		}
		writeError(w, r, a.Logger, err)
		return
	}
	a.Logger.InfoContext(ctx, "upload received", "campaign", c.ID, "bytes", len(body), "format", format)
	encode(w, http.StatusAccepted, viewData(c.Data))
}

// reuseData copies the rows of another campaign of the same account.
func (a *App) reuseData(w http.ResponseWriter, r *http.Request, p identity.Principal) {
	var req struct {
		From string `json:"from"`
	}
	if err := decode(w, r, &req, false); err != nil {
		writeError(w, r, a.Logger, err)
		return
	}
	ctx := r.Context()
	if _, err := a.ownCampaign(r, p); err != nil {
		writeError(w, r, a.Logger, err)
		return
	}
	if req.From == "" || strings.ContainsAny(req.From, "/\\#?'") {
		writeError(w, r, a.Logger, apperr.E(apperr.Invalid, "from_invalid", "send {\"from\": \"<id of the earlier campaign>\"}"))
		return
	}
	src, err := a.Store.Campaign(ctx, keyOf(p), req.From)
	if err != nil {
		writeError(w, r, a.Logger, err)
		return
	}
	if src.Data.Status != campaign.DataReady {
		writeError(w, r, a.Logger, apperr.E(apperr.Conflict, "source_has_no_data", "campaign %q has no usable data to copy", src.Name))
		return
	}
	if src.ID == r.PathValue("id") {
		writeError(w, r, a.Logger, apperr.E(apperr.Invalid, "from_invalid", "a campaign cannot copy its own data"))
		return
	}
	uploadID := randomID()
	c, err := a.updateCampaign(r, p, func(c *store.Campaign) error {
		if err := dataLocked(*c); err != nil {
			return err
		}
		c.Status = campaign.Draft
		c.Data = store.DataSummary{Status: campaign.DataProcessing, UploadID: uploadID, FileName: src.Data.FileName,
			Format: src.Data.Format, UploadedAt: a.Now().UTC()}
		return nil
	})
	if err == nil {
		err = a.enqueueData(ctx, dataMessage{TenantID: p.TenantID, ObjectID: p.ObjectID, CampaignID: c.ID, UploadID: uploadID, From: src.ID})
	}
	if err != nil {
		writeError(w, r, a.Logger, err)
		return
	}
	encode(w, http.StatusAccepted, viewData(c.Data))
}

// dataLocked refuses new data once the template email started the campaign.
func dataLocked(c store.Campaign) error {
	if campaign.Editable(c.Status) {
		return nil
	}
	return apperr.E(apperr.Conflict, "campaign_started", "the campaign has started (it is %s); its data can no longer change", c.Status)
}

func (a *App) enqueueData(ctx context.Context, m dataMessage) error {
	body, _ := json.Marshal(m)
	return a.Queue.Send(ctx, queue.Message{Queue: queue.CampaignData, Body: body})
}

func randomID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// dataWorker extracts an upload's rows into the recipients table, or copies
// another campaign's, and records the result on the campaign. The upload
// blob is deleted as soon as processing ends, successfully or not; only a
// transient failure keeps it, for the retry.
func (a *App) dataWorker(ctx context.Context, m invoke.Message) error {
	var msg dataMessage
	if err := json.Unmarshal(m.Body, &msg); err != nil || msg.TenantID == "" || msg.ObjectID == "" || msg.CampaignID == "" || msg.UploadID == "" {
		return apperr.E(apperr.Invalid, "bad_message", "campaign-data message must name tenantId, objectId, campaignId and uploadId")
	}
	k := account.Key{TenantID: msg.TenantID, ObjectID: msg.ObjectID}
	blob := uploadPrefix(k, msg.CampaignID) + msg.UploadID
	done := func() error { return a.Store.DeleteBlob(ctx, containerUploads, blob) }

	c, err := a.Store.Campaign(ctx, k, msg.CampaignID)
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
		result, err = a.copyData(ctx, k, msg)
	} else {
		result, err = a.extractData(ctx, k, msg.CampaignID, blob, c.Data)
	}
	if err != nil && apperr.Retryable(err) {
		return err
	}
	if err != nil {
		var e *apperr.Error
		errors.As(err, &e)
		result = store.DataSummary{Status: campaign.DataFailed, ErrorCode: e.Code, ErrorText: e.Message}
		// The summary no longer describes any earlier rows: they go too.
		if _, err := a.Store.DeleteRecipients(ctx, msg.CampaignID); err != nil {
			return err
		}
	}
	if err := a.finishData(ctx, k, msg, c.Data, result); err != nil {
		return err
	}
	a.Logger.InfoContext(ctx, "data processed", "campaign", msg.CampaignID, "status", result.Status,
		"rows", result.Rows, "validRows", result.ValidRows, "ms", time.Since(start).Milliseconds())
	return done()
}

// extractData parses the upload, validates it and stores the rows.
func (a *App) extractData(ctx context.Context, k account.Key, campaignID, blob string, d store.DataSummary) (store.DataSummary, error) {
	raw, err := a.Store.GetBlob(ctx, containerUploads, blob)
	if apperr.Is(err, apperr.NotFound) {
		return store.DataSummary{}, apperr.E(apperr.Invalid, "upload_lost", "the upload was lost before it was read; upload the file again")
	}
	if err != nil {
		return store.DataSummary{}, err
	}
	start := time.Now()
	t, err := sheet.ParseSheet(raw, d.FileName, d.Sheet, a.SheetLimits)
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
	var sheets []byte
	if len(t.Sheets) > 0 {
		sheets, _ = json.Marshal(t.Sheets)
	}
	parsed := time.Now()
	recipients := make([]store.Recipient, len(rows))
	for i, r := range rows {
		recipients[i] = store.Recipient{Row: r.Number, Cells: r.Cells, Status: r.Status, Problem: r.Problem, Detail: r.Detail}
	}
	if err := a.Store.ReplaceRecipients(ctx, campaignID, recipients); err != nil {
		var tooLarge store.ErrRowTooLarge
		if errors.As(err, &tooLarge) {
			return store.DataSummary{}, apperr.E(apperr.Invalid, "row_too_large", "row %d holds more text than one recipient may (about 900 KB); shorten its cells", tooLarge.Row)
		}
		return store.DataSummary{}, err
	}
	a.Logger.InfoContext(ctx, "rows extracted", "campaign", campaignID, "rows", len(rows),
		"parseMs", parsed.Sub(start).Milliseconds(), "writeMs", time.Since(parsed).Milliseconds())
	status := campaign.DataReady
	if rep.ValidRows == 0 {
		status = campaign.DataInvalid
	}
	return store.DataSummary{Status: status, Format: t.Format, Columns: cols.Names, Empty: cols.Empty, Rows: rep.Rows, ValidRows: rep.ValidRows,
		Report: string(rep.JSON()), Sheet: t.Sheet, Sheets: string(sheets)}, nil
}

// copyData copies the rows and the summary of another campaign of the account.
func (a *App) copyData(ctx context.Context, k account.Key, msg dataMessage) (store.DataSummary, error) {
	src, err := a.Store.Campaign(ctx, k, msg.From)
	if apperr.Is(err, apperr.NotFound) {
		return store.DataSummary{}, apperr.E(apperr.Invalid, "source_deleted", "the campaign to copy from was deleted meanwhile")
	}
	if err != nil {
		return store.DataSummary{}, err
	}
	if _, err := a.Store.CopyRecipients(ctx, src.ID, msg.CampaignID); err != nil {
		return store.DataSummary{}, err
	}
	d := src.Data
	return store.DataSummary{Status: d.Status, Format: d.Format, Columns: d.Columns, Empty: d.Empty, Rows: d.Rows, ValidRows: d.ValidRows, Report: d.Report}, nil
}

// finishData records the outcome if the campaign still waits for this
// upload; the campaign becomes ready only with at least one valid row.
func (a *App) finishData(ctx context.Context, k account.Key, msg dataMessage, before, result store.DataSummary) error {
	for range 5 {
		c, err := a.Store.Campaign(ctx, k, msg.CampaignID)
		if apperr.Is(err, apperr.NotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if c.Data.UploadID != msg.UploadID || c.Data.Status != campaign.DataProcessing {
			return nil
		}
		result.UploadID, result.FileName, result.UploadedAt = msg.UploadID, before.FileName, before.UploadedAt
		if result.Format == "" {
			result.Format = before.Format
		}
		if result.Sheet == "" {
			result.Sheet = before.Sheet
		}
		result.ProcessedAt = a.Now().UTC()
		c.Data, c.UpdatedAt = result, result.ProcessedAt
		if result.Status == campaign.DataReady && campaign.Editable(c.Status) {
			c.Status = campaign.Ready
		}
		err = a.Store.UpdateCampaign(ctx, c)
		if apperr.Is(err, apperr.Conflict) {
			continue
		}
		return err
	}
	return apperr.E(apperr.Transient, "busy", "the campaign kept changing")
}
