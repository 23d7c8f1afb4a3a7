package app

import (
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"sort"

	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/identity"
	"mailmerge/handler/internal/merge"
	"mailmerge/handler/internal/store"
)

// maxPreviewBody bounds a preview request: Outlook HTML with styles is large.
const maxPreviewBody = 4 << 20

// previewUnsubscribe stands in for a row's unsubscribe link in a preview;
// the .invalid name says plainly that it leads nowhere.
const previewUnsubscribe = "https://unsubscribe.preview.invalid/"

type previewAttachment struct {
	Name        string `json:"name"`
	ContentType string `json:"contentType,omitempty"`
	Size        int64  `json:"size,omitempty"`
	ContentID   string `json:"contentId,omitempty"`
}

// previewRequest is the draft as the add-in has it, and which row to show
// (the row number as Excel shows it; the first valid row when absent).
type previewRequest struct {
	Subject     string              `json:"subject"`
	HTML        string              `json:"html"`
	Text        string              `json:"text,omitempty"`
	Row         int                 `json:"row,omitempty"`
	Attachments []previewAttachment `json:"attachments,omitempty"`
}

type previewWarning struct {
	Code    string `json:"code"`
	Column  string `json:"column,omitempty"`
	Rows    int    `json:"rows,omitempty"`
	Message string `json:"message"`
}

type previewResponse struct {
	Row          int              `json:"row"`
	Subject      string           `json:"subject"`
	HTML         string           `json:"html"`
	Text         string           `json:"text"`
	To           []string         `json:"to"`
	CC           []string         `json:"cc"`
	BCC          []string         `json:"bcc"`
	Attachments  []string         `json:"attachments"`
	Placeholders []string         `json:"placeholders"`
	Problems     []merge.Problem  `json:"problems"`
	Warnings     []previewWarning `json:"warnings"`
}

// preview renders the draft for one row. Nothing of it is stored or logged:
// the request and the render live in this function only.
func (a *App) preview(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	var req previewRequest
	if err := decodeLimited(w, r, &req, false, maxPreviewBody); err != nil {
		return err
	}
	c, err := a.ownCampaign(r, p)
	if err != nil {
		return err
	}
	if len(c.Data.Columns) == 0 || (c.Data.Status != campaign.DataReady && c.Data.Status != campaign.DataInvalid) {
		return apperr.E(apperr.Conflict, "no_data", "upload the recipients first; the preview needs their columns")
	}
	if req.Subject == "" && req.HTML == "" && req.Text == "" {
		// No draft: the template email the campaign received, as the
		// dashboard shows it.
		if err := a.storedTemplate(r, c, &req); err != nil {
			return err
		}
	}
	out := previewResponse{To: []string{}, CC: []string{}, BCC: []string{}, Attachments: []string{}, Placeholders: []string{},
		Problems: []merge.Problem{}, Warnings: []previewWarning{}}
	tpl, err := merge.Compile(merge.Source{Subject: req.Subject, HTML: req.HTML, Text: req.Text}, c.Data.Columns)
	var ce *merge.CompileError
	if errors.As(err, &ce) {
		// Problems are the answer of a preview, not a failure of it.
		out.Problems = ce.Problems
		encode(w, http.StatusOK, out)
		return nil
	}
	if err != nil {
		return err
	}
	out.Placeholders = append(out.Placeholders, tpl.Columns()...)
	row, err := a.previewRow(r, c, req.Row)
	if err != nil {
		return err
	}
	out.Row = row.Row
	if w := rowState(row); w != nil {
		out.Warnings = append(out.Warnings, *w)
	}
	attachments := make([]merge.Attachment, len(req.Attachments))
	for i, at := range req.Attachments {
		attachments[i] = merge.Attachment{Name: at.Name, ContentType: at.ContentType, Size: at.Size, ContentID: at.ContentID}
	}
	var rendered merge.Rendered
	msg, err := tpl.Build(row.Cells, merge.FieldsOf(campaign.Locate(c.Data.Columns)), attachments,
		merge.RenderOptions{Unsubscribe: previewUnsubscribe}, &rendered)
	if err != nil {
		// Show the body anyway; say why this row could not be sent as it is.
		tpl.Render(row.Cells, merge.RenderOptions{Unsubscribe: previewUnsubscribe}, &rendered)
		msg = merge.Message{Subject: string(rendered.Subject), HTML: rendered.HTML, Text: rendered.Text, DroppedLinks: rendered.DroppedLinks}
		out.Warnings = append(out.Warnings, previewWarning{Code: "row_not_sendable", Message: fmt.Sprintf("row %d: %v", row.Row, err)})
	}
	out.Subject, out.HTML, out.Text = msg.Subject, string(msg.HTML), string(msg.Text)
	out.To, out.CC, out.BCC = addressList(msg.To), addressList(msg.CC), addressList(msg.BCC)
	for _, i := range msg.Attachments {
		out.Attachments = append(out.Attachments, attachments[i].Name)
	}
	for _, d := range msg.DroppedLinks {
		out.Warnings = append(out.Warnings, previewWarning{Code: "link_dropped", Message: fmt.Sprintf(
			"a link built from %v starts with %q, which is not http, https or mailto; it was removed", d.Columns, d.Scheme)})
	}
	empty := tpl.EmptyWithoutFallback(c.Data.Empty)
	names := make([]string, 0, len(empty))
	for n := range empty {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		out.Warnings = append(out.Warnings, previewWarning{Code: "empty_without_fallback", Column: n, Rows: empty[n], Message: fmt.Sprintf(
			"{{%s}} is empty in %d of %d rows and has no fallback; write {{%s | something}} or wrap it in {{#if %s}}", n, empty[n], c.Data.ValidRows, n, n)})
	}
	encode(w, http.StatusOK, out)
	return nil
}

// rowState is the warning of a preview of a row that will not be sent by
// this campaign any more: it was sent, failed, or is skipped.
func rowState(row store.Recipient) *previewWarning {
	why := ""
	if row.Reason.Text != "" {
		why = ": " + row.Reason.Text
	}
	var msg string
	switch row.Status {
	case campaign.RowPending:
		return nil
	case campaign.RowSent:
		msg = fmt.Sprintf("row %d was sent", row.Row)
	case campaign.RowSending:
		msg = fmt.Sprintf("row %d is being sent", row.Row)
	case campaign.RowUnknown:
		msg = fmt.Sprintf("row %d may have been sent (Microsoft 365 gave no clear answer)", row.Row)
	case campaign.RowFailed:
		msg = fmt.Sprintf("row %d failed%s", row.Row, why)
	default:
		msg = fmt.Sprintf("row %d will not be sent%s", row.Row, why)
	}
	return &previewWarning{Code: "row_" + string(row.Status), Message: msg}
}

// storedTemplate puts the template email the campaign received into req.
func (a *App) storedTemplate(r *http.Request, c store.Campaign, req *previewRequest) error {
	if c.OriginalID == "" {
		return apperr.E(apperr.Conflict, "no_template", "send your email to the campaign's address first, or give the subject and body to preview")
	}
	o, err := a.Store.Original(r.Context(), c)
	if err != nil {
		return err
	}
	req.Subject, req.HTML, req.Text = o.Subject, o.HtmlBody, o.TextBody
	req.Attachments = req.Attachments[:0]
	for _, at := range o.Attachments {
		req.Attachments = append(req.Attachments, previewAttachment{Name: at.Name, ContentType: at.ContentType, Size: at.ContentLength, ContentID: at.ContentID})
	}
	return nil
}

// previewRow returns the asked row, or the first row that will be sent.
func (a *App) previewRow(r *http.Request, c store.Campaign, row int) (store.Recipient, error) {
	if row == 0 {
		rec, err := a.Store.FirstRecipient(r.Context(), c.ID, campaign.RowPending)
		if apperr.Is(err, apperr.NotFound) {
			return rec, apperr.E(apperr.Conflict, "no_valid_rows", "no row of the spreadsheet can be sent; fix the data first")
		}
		return rec, err
	}
	rec, err := a.Store.Recipient(r.Context(), c.ID, row)
	if apperr.Is(err, apperr.NotFound) {
		return rec, apperr.E(apperr.NotFound, "row_not_found", "row %d is not a data row of the spreadsheet (the header is row 1)", row)
	}
	return rec, err
}

func addressList(as []*mail.Address) []string {
	out := make([]string, 0, len(as))
	for _, a := range as {
		out = append(out, a.String())
	}
	return out
}
