package app

import (
	"archive/zip"
	"cmp"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/backup"
	"mailmerge/handler/internal/identity"
	"mailmerge/handler/internal/postmark"
	"mailmerge/handler/internal/store"
)

// exportReadme opens README.txt of an export.
const exportReadme = `Everything Mail Merge keeps about your account, as it was stored.

What is where
- account/: your account, your mailbox's sending budget, your suppression list,
  diagnostics of the install check, and any upload or email not yet tied to a
  campaign. Each *.jsonl file holds one stored record per line, as stored.
- campaigns/<date> <name>/: one folder per campaign, named by the day it was
  created (UTC) and its name, " (2)" added when two share both; characters
  that some computers do not allow in file names are written as _:
  - campaigns.jsonl: the campaign (name, options, state, counts, the uploaded
    file's name, columns and validation report, the template's subject);
  - recipients.jsonl and rows.csv: the rows of your spreadsheet with each
    row's sending state (rows.csv: one line per row, cells as uploaded; a cell
    that starts with = + - @ is prefixed with ' so no spreadsheet runs it);
  - events.jsonl: opens and clicks of its messages (time, row, link, browser,
    person or machine), when tracking was on;
  - campaignaddresses.jsonl: a one-way fingerprint of the campaign's address
    (the address cannot be read back from it);
  - files/: the template email as received (template.json, with
    message.eml beside it when the message came whole, to open in a mail
    program) and its attachments under their own names (attachments/),
    and any upload not yet read.
Not exported: the permission to send from your mailbox (Microsoft tokens,
encrypted): it is a credential, not information about you. It is deleted with
your account.

How long we keep it
`

// exportMe streams a zip of everything stored for the caller's account,
// read from the one list of what an account owns (store.AccountHoldings
// and store.CampaignHoldings, the same that deletion removes). It is
// written as it is read: memory stays flat however many rows.
func (a *App) exportMe(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	ctx := r.Context()
	owned, err := a.Store.OwnedBy(ctx, keyOf(p))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/zip")
	w.Header().Set("Content-Disposition", `attachment; filename="mailmerge-export-`+a.Now().UTC().Format("2006-01-02")+`.zip"`)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	zw := zip.NewWriter(w)
	if err := a.writeExport(ctx, zw, keyOf(p), owned); err != nil {
		// The status is sent: an export cut short is an invalid zip, which
		// every unzip program says.
		a.Logger.ErrorContext(ctx, "export cut short", "error", err.Error())
		return nil
	}
	if err := zw.Close(); err != nil {
		a.Logger.ErrorContext(ctx, "export not finished", "error", err.Error())
		return nil
	}
	a.Logger.InfoContext(ctx, "account exported", "campaigns", len(owned)-1)
	return nil
}

func (a *App) writeExport(ctx context.Context, zw *zip.Writer, k account.Key, owned []store.Owned) error {
	readme, err := zw.Create("README.txt")
	if err != nil {
		return err
	}
	fmt.Fprint(readme, exportReadme)
	keeps := map[string]bool{}
	for _, o := range owned {
		for _, h := range o.Holdings {
			if line := "- " + h.What + ": " + h.Keep + "\n"; !keeps[line] && h.Container != store.ContainerTokenCache {
				keeps[line] = true
				fmt.Fprint(readme, line)
			}
		}
	}
	for _, e := range backup.Elsewhere() {
		fmt.Fprint(readme, "- "+e.What+": "+e.Kept+"\n")
	}
	campaigns := map[string]store.Campaign{}
	var list []store.Campaign
	for _, o := range owned {
		if o.CampaignID == "" {
			continue
		}
		c, err := a.Store.CampaignForDeletion(ctx, k, o.CampaignID)
		if err != nil {
			return err
		}
		campaigns[c.ID] = c
		list = append(list, c)
	}
	folders := campaignFolders(list)
	exported := map[string]bool{} // blobs already in a campaign's folder
	for _, o := range owned {
		dir := "account/"
		if o.CampaignID != "" {
			dir = "campaigns/" + folders[o.CampaignID] + "/"
		}
		for _, h := range o.Holdings {
			if h.Container == store.ContainerTokenCache {
				continue // a credential (see README.txt)
			}
			if err := a.exportHolding(ctx, zw, dir, o.CampaignID, h, exported); err != nil {
				return err
			}
		}
		if o.CampaignID != "" {
			if err := a.exportRows(ctx, zw, dir+"rows.csv", campaigns[o.CampaignID]); err != nil {
				return err
			}
		}
	}
	return nil
}

// campaignFolders names each campaign's folder by the day it was created
// (UTC) and its name, as a file name (fileName), the older first to keep
// the plain name when two share both.
func campaignFolders(cs []store.Campaign) map[string]string {
	cs = slices.Clone(cs)
	slices.SortStableFunc(cs, func(a, b store.Campaign) int {
		return cmp.Or(a.CreatedAt.Compare(b.CreatedAt), strings.Compare(a.ID, b.ID))
	})
	taken := map[string]bool{}
	out := make(map[string]string, len(cs))
	for _, c := range cs {
		name := strings.TrimSpace(c.Name)
		if name == "" {
			name = "Campaign"
		}
		if !c.CreatedAt.IsZero() {
			name = c.CreatedAt.UTC().Format("2006-01-02") + " " + name
		}
		out[c.ID] = unique(fileName(name, "Campaign", 50), false, taken)
	}
	return out
}

// exportHolding writes a table holding as <table>.jsonl and blobs under
// files/ (of campaignID's folder, or the account's), skipping blobs
// already written; a template email's attachments
// under their own names (attachmentName).
func (a *App) exportHolding(ctx context.Context, zw *zip.Writer, dir, campaignID string, h store.Holding, exported map[string]bool) error {
	attachments := map[string][]string{} // a template email's attachments' names, by its folder
	if h.Table != "" {
		f, err := zw.Create(dir + h.Table + ".jsonl")
		if err != nil {
			return err
		}
		return a.Store.ReadHolding(ctx, h, func(raw json.RawMessage) error {
			_, err := f.Write(append(raw, '\n'))
			return err
		}, nil)
	}
	return a.Store.ReadHolding(ctx, h, nil, func(name string, data []byte) error {
		key := h.Container + "/" + name
		if exported[key] {
			return nil
		}
		exported[key] = true
		// Names are <account>/<campaign>/...: the account is the export's,
		// the campaign the folder's (a shorter path: Windows cuts at 260).
		_, rest, _ := strings.Cut(name, "/")
		if campaignID != "" {
			rest = strings.TrimPrefix(rest, campaignID+"/")
		}
		out := dir + "files/" + h.Container + "/" + path.Clean(rest)
		if h.Container == store.ContainerOriginals {
			var err error
			if out, err = a.attachmentName(ctx, out, name, attachments); err != nil {
				return err
			}
		}
		f, err := zw.Create(out)
		if err != nil {
			return err
		}
		if _, err = f.Write(data); err != nil {
			return err
		}
		return exportRawEmail(zw, out, h.Container, data)
	})
}

// attachmentName is where the export puts a stored template email's file
// out: attachment n (stored as attachments/<n>) under its own name and
// extension, from the email's template.json (read once per email, the
// names kept in attachments); anything else where it was.
func (a *App) attachmentName(ctx context.Context, out, blob string, attachments map[string][]string) (string, error) {
	dir, n, ok := strings.Cut(blob, "/attachments/")
	i, err := strconv.Atoi(n)
	if !ok || err != nil || i < 0 || strconv.Itoa(i) != n {
		return out, nil
	}
	names, ok := attachments[dir]
	if !ok {
		raw, err := a.Store.GetBlob(ctx, store.ContainerOriginals, dir+"/template.json")
		if err != nil && !apperr.Is(err, apperr.NotFound) {
			return "", err
		}
		var o store.Original
		_ = json.Unmarshal(raw, &o) // unreadable or gone: numbered names
		names = attachmentNames(o.Attachments)
		attachments[dir] = names
	}
	name := "attachment " + strconv.Itoa(i+1)
	if i < len(names) {
		name = names[i]
	}
	return strings.TrimSuffix(out, "/"+n) + "/" + name, nil
}

// attachmentNames are a template email's attachments' file names in the
// export: their own, made safe (fileName) and unique, with an extension
// from their type when they have none.
func attachmentNames(atts []postmark.Attachment) []string {
	taken := map[string]bool{}
	out := make([]string, len(atts))
	for i, at := range atts {
		name := strings.TrimSpace(at.Name)
		if name != "" && path.Ext(name) == "" {
			name += extensionOf(at.ContentType)
		}
		out[i] = unique(fileName(name, "attachment "+strconv.Itoa(i+1)+extensionOf(at.ContentType), 64), true, taken)
	}
	return out
}

// extensionOf is the usual extension of a content type ("" when unknown).
func extensionOf(contentType string) string {
	t, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return ""
	}
	if e, ok := usualExtensions[t]; ok {
		return e
	}
	if es, _ := mime.ExtensionsByType(t); len(es) > 0 {
		return es[0]
	}
	return ""
}

// usualExtensions pick one extension where a type has several, and know
// the common ones whatever the system's own list holds.
var usualExtensions = map[string]string{
	"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif",
	"text/plain": ".txt", "text/html": ".html", "text/csv": ".csv", "text/calendar": ".ics",
	"application/zip": ".zip",
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document":   ".docx",
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet":         ".xlsx",
	"application/vnd.openxmlformats-officedocument.presentationml.presentation": ".pptx",
}

// fileName makes s a file name that Windows, macOS and Linux all take:
// the characters one of them refuses (< > : " / \ | ? * and control
// characters) and invisible formatting ones become _, runs of spaces one
// space; no dot or space at either end; no name Windows keeps for
// devices (CON, NUL, COM1…, whatever the extension); at most max bytes,
// the extension kept. What is left empty becomes fallback.
func fileName(s, fallback string, max int) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			space = true
			continue
		case r == utf8.RuneError, unicode.IsControl(r), unicode.Is(unicode.Cf, r), strings.ContainsRune(`<>:"/\|?*`, r):
			r = '_'
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	name := strings.Trim(b.String(), ". ")
	if name == "" {
		if fallback == "" {
			return "_"
		}
		return fileName(fallback, "", max)
	}
	if stem, _, _ := strings.Cut(name, "."); windowsDevices.MatchString(stem) {
		name = stem + "_" + name[len(stem):]
	}
	if len(name) > max {
		ext := path.Ext(name)
		if len(ext) > 16 || ext == name {
			ext = ""
		}
		name = strings.TrimRight(clipBytes(strings.TrimSuffix(name, ext), max-len(ext)), ". ") + ext
	}
	return name
}

// windowsDevices are the names Windows keeps for devices, in any case.
var windowsDevices = regexp.MustCompile(`(?i)^(con|prn|aux|nul|conin\$|conout\$|com[0-9¹²³]|lpt[0-9¹²³])\s*$`)

// clipBytes cuts s to at most n bytes, between characters.
func clipBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// unique is name, or name with " (2)", " (3)"… (before a file's
// extension) when an earlier one took it, ignoring case as Windows and
// macOS do.
func unique(name string, file bool, taken map[string]bool) string {
	ext := ""
	if file && path.Ext(name) != name {
		ext = path.Ext(name)
	}
	out := name
	for i := 2; taken[strings.ToLower(out)]; i++ {
		out = strings.TrimSuffix(name, ext) + " (" + strconv.Itoa(i) + ")" + ext
	}
	taken[strings.ToLower(out)] = true
	return out
}

// exportRawEmail writes a template email's message.eml beside its
// template.json when Postmark passed the message as received (RawEmail,
// with the inbound server's raw email setting on): the email opens in any
// mail program as it was sent.
func exportRawEmail(zw *zip.Writer, name, container string, data []byte) error {
	if container != store.ContainerOriginals || path.Base(name) != "template.json" {
		return nil
	}
	var o store.Original
	if err := json.Unmarshal(data, &o); err != nil || o.RawEmail == "" {
		return nil // exported as stored: template.json says what there is
	}
	f, err := zw.Create(path.Join(path.Dir(name), "message.eml"))
	if err != nil {
		return err
	}
	_, err = f.Write([]byte(o.RawEmail))
	return err
}

// exportRows writes the campaign's rows as CSV: the row number, its
// sending state and reason, then the cells under the upload's columns.
func (a *App) exportRows(ctx context.Context, zw *zip.Writer, name string, c store.Campaign) error {
	f, err := zw.Create(name)
	if err != nil {
		return err
	}
	_, _ = f.Write([]byte("\ufeff"))
	cw := csv.NewWriter(f)
	head := []string{"Row", "Status", "Reason", "Updated at"}
	for _, col := range c.Data.Columns {
		head = append(head, safeCell(col))
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	err = a.Store.ForEachRecipient(ctx, c.ID, func(r store.Recipient) error {
		line := []string{strconv.Itoa(r.Row), string(r.Status), safeCell(r.Reason.Text), ""}
		if !r.UpdatedAt.IsZero() {
			line[3] = r.UpdatedAt.UTC().Format(time.RFC3339)
		}
		for _, cell := range r.Cells {
			line = append(line, safeCell(cell))
		}
		return cw.Write(line)
	})
	if err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}
