package app

import (
	"archive/zip"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/backup"
	"mailmerge/handler/internal/identity"
	"mailmerge/handler/internal/store"
)

// exportReadme opens README.txt of an export.
const exportReadme = `Everything Mail Merge keeps about your account, as it was stored.

What is where
- account/: your account, your mailbox's sending budget, your suppression list,
  diagnostics of the install check, and any upload or email not yet tied to a
  campaign. Each *.jsonl file holds one stored record per line, as stored.
- campaigns/<id>/: one folder per campaign:
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
    program) and its attachments, and any upload not yet read.
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
	exported := map[string]bool{} // blobs already in a campaign's folder
	for _, o := range owned {
		dir := "account/"
		if o.CampaignID != "" {
			dir = "campaigns/" + o.CampaignID + "/"
		}
		for _, h := range o.Holdings {
			if h.Container == store.ContainerTokenCache {
				continue // a credential (see README.txt)
			}
			if err := a.exportHolding(ctx, zw, dir, h, exported); err != nil {
				return err
			}
		}
		if o.CampaignID != "" {
			c, err := a.Store.CampaignForDeletion(ctx, k, o.CampaignID)
			if err != nil {
				return err
			}
			if err := a.exportRows(ctx, zw, dir+"rows.csv", c); err != nil {
				return err
			}
		}
	}
	return nil
}

// exportHolding writes a table holding as <table>.jsonl and blobs under
// files/, skipping blobs already written.
func (a *App) exportHolding(ctx context.Context, zw *zip.Writer, dir string, h store.Holding, exported map[string]bool) error {
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
		// Names are <account>/<campaign>/...: the account is the export's.
		_, rest, _ := strings.Cut(name, "/")
		f, err := zw.Create(dir + "files/" + h.Container + "/" + path.Clean(rest))
		if err != nil {
			return err
		}
		if _, err = f.Write(data); err != nil {
			return err
		}
		return exportRawEmail(zw, dir+"files/"+h.Container+"/"+path.Clean(rest), h.Container, data)
	})
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
