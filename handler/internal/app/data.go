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

	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/identity"
	"mailmerge/handler/internal/lifecycle"
	"mailmerge/handler/internal/sheet"
	"mailmerge/handler/internal/store"
	"mailmerge/handler/internal/task"
)

// dataView is GET /v1/campaigns/{id}/data.
type dataView struct {
	Status      campaign.DataStatus `json:"status"`
	FileName    string              `json:"fileName,omitempty"`
	Format      string              `json:"format,omitempty"`
	Columns     []string            `json:"columns"`
	Rows        int                 `json:"rows"`
	ValidRows   int                 `json:"validRows"`
	SkippedRows int                 `json:"skippedRows"`
	// UnsubscribedRows are the skipped rows to an address on the
	// account's unsubscribe list.
	UnsubscribedRows int              `json:"unsubscribedRows"`
	Error            *errorDetail     `json:"error,omitempty"`
	Report           *campaign.Report `json:"report,omitempty"`
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
	if d.Reason.Code != "" {
		v.Error = reasonView(d.Reason)
	}
	if d.Report != "" {
		var rep campaign.Report
		if json.Unmarshal([]byte(d.Report), &rep) == nil {
			v.Report = &rep
			v.UnsubscribedRows = rep.Counts[campaign.CodeUnsubscribed]
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

func (a *App) getData(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	c, err := a.ownCampaign(r, p)
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, viewData(c.Data))
	return nil
}

// dataMessage asks the campaign-data worker to extract an upload's rows,
// or to copy another campaign's rows when From is set.
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
	return campaign.Clip(name, 200)
}

// putData stores an upload and hands it to the campaign-data worker. What
// cannot be a spreadsheet is refused here, before anything is stored.
func (a *App) putData(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	ctx := r.Context()
	c, err := a.ownCampaign(r, p)
	if err != nil {
		return err
	}
	if err := dataLocked(c); err != nil {
		return err
	}
	limits := a.SheetLimits
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limits.MaxFileBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return apperr.E(apperr.TooLarge, "file_too_large", "the file is over %d MB; split it or remove unused columns", limits.MaxFileBytes>>20)
	}
	if err != nil {
		return apperr.Wrap(err, apperr.Invalid, "upload_incomplete", "the upload did not arrive whole; try again")
	}
	name := uploadName(r)
	format, err := sheet.Check(body, name, limits)
	if err != nil {
		return err
	}
	// ?sheet= names the worksheet of a workbook to read (Excel allows 31
	// characters); without it, the first visible one is.
	want := strings.TrimSpace(r.URL.Query().Get("sheet"))
	if utf8.RuneCountInString(want) > 31 || !utf8.ValidString(want) {
		return apperr.E(apperr.Invalid, "sheet_invalid", "sheet is the name of a worksheet: at most 31 characters")
	}
	uploadID := randomID()
	blob := store.UploadBlob(c.Account, c.ID, uploadID)
	if err := a.Store.PutBlob(ctx, store.ContainerUploads, blob, body); err != nil {
		return err
	}
	now := a.Now().UTC()
	// Until the new rows are in, the campaign cannot be sent.
	c, err = a.Lifecycle.Upload(ctx, c.Account, c.ID, func(c store.Campaign) store.DataSummary {
		return store.DataSummary{Status: campaign.DataProcessing, UploadID: uploadID, FileName: name, Format: format, Sheet: want,
			UploadedAt: now, Columns: c.Data.Columns, Rows: c.Data.Rows, ValidRows: c.Data.ValidRows}
	})
	if err == nil {
		err = a.tasks.Data(ctx, task.Data{Campaign: task.Campaign{Key: c.Account, CampaignID: c.ID}, UploadID: uploadID})
	}
	if err != nil {
		// Nothing will process it: the upload must not stay behind.
		if derr := a.Store.DeleteBlob(context.WithoutCancel(ctx), store.ContainerUploads, blob); derr != nil {
			a.Logger.ErrorContext(ctx, "upload not removed after a failed start", "campaign", c.ID, "error", derr.Error())
		}
		return err
	}
	a.Logger.InfoContext(ctx, "upload received", "campaign", c.ID, "bytes", len(body), "format", format)
	encode(w, http.StatusAccepted, viewData(c.Data))
	return nil
}

// reuseData copies the rows of another campaign of the same account.
func (a *App) reuseData(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	var req struct {
		From string `json:"from"`
	}
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	ctx := r.Context()
	if _, err := a.ownCampaign(r, p); err != nil {
		return err
	}
	if req.From == "" || strings.ContainsAny(req.From, "/\\#?'") {
		return apperr.E(apperr.Invalid, "from_invalid", "send {\"from\": \"<id of the earlier campaign>\"}")
	}
	src, err := a.Store.Campaign(ctx, keyOf(p), req.From)
	if err != nil {
		return err
	}
	if src.Data.Status != campaign.DataReady {
		return apperr.E(apperr.Conflict, "source_has_no_data", "campaign %q has no usable data to copy", src.Name)
	}
	if src.ID == r.PathValue("id") {
		return apperr.E(apperr.Invalid, "from_invalid", "a campaign cannot copy its own data")
	}
	uploadID := randomID()
	c, err := a.Lifecycle.Upload(ctx, src.Account, r.PathValue("id"), func(store.Campaign) store.DataSummary {
		return store.DataSummary{Status: campaign.DataProcessing, UploadID: uploadID, FileName: src.Data.FileName,
			Format: src.Data.Format, UploadedAt: a.Now().UTC()}
	})
	if err == nil {
		err = a.tasks.Data(ctx, task.Data{Campaign: task.Campaign{Key: c.Account, CampaignID: c.ID}, UploadID: uploadID, From: src.ID})
	}
	if err != nil {
		return err
	}
	encode(w, http.StatusAccepted, viewData(c.Data))
	return nil
}

// dataLocked refuses new data once the template email started the campaign.
func dataLocked(c store.Campaign) error {
	return lifecycle.Editable(c, "its data can no longer change")
}

// randomID names an upload or a stored email: 96 random bits.
func randomID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
