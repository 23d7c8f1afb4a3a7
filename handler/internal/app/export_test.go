package app

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/dev/devauth"
	"mailmerge/handler/internal/dev/storagescan"
	"mailmerge/handler/internal/postmark"
	"mailmerge/handler/internal/store"
	"mailmerge/handler/internal/tracking"
)

func (e *env) export(t *testing.T, tok string) map[string]string {
	t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+"/v1/me/export", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/zip" {
		t.Fatalf("export: %d %s", resp.StatusCode, raw)
	}
	zr, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
	if err != nil {
		t.Fatalf("the export is no zip: %v", err)
	}
	files := map[string]string{}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		files[f.Name] = string(b)
	}
	return files
}

// TestExport: the export holds the account, each campaign with its rows
// (as stored and as CSV), events, the template email and attachments, the
// suppression list; another account's export holds none of it.
func TestExport(t *testing.T) {
	e := newEnv(t)
	tok, u := e.installed(t, devauth.ContosoTenant)
	k := keyOfToken(t, e, tok)
	id := e.sendingWithRows(t, tok, 3)
	ctx := context.Background()
	rows := []store.Recipient{{Row: 2, Cells: []string{"ann@contoso.example", "=Ann"}, Status: campaign.RowPending}}
	if err := e.store.ReplaceRecipients(ctx, id, rows); err != nil {
		t.Fatal(err)
	}
	if err := e.store.AddEvents(ctx, []store.Event{{CampaignID: id, Row: 2, Kind: tracking.Open, At: time.Now(), Verdict: tracking.Human, UserAgent: "Outlook"}}); err != nil {
		t.Fatal(err)
	}
	in := postmark.Inbound{MessageID: "m-export", Subject: "Hello {{First name}}",
		RawEmail: "From: Alice <alice@contoso.example>\r\nSubject: Hello {{First name}}\r\n\r\nHello\r\n"}
	in.Attachments = []postmark.Attachment{{Name: "Offer.pdf", ContentType: "application/pdf"}, {Name: "offer.PDF", ContentType: "application/pdf"},
		{Name: "Price list", ContentType: "application/pdf"}, {Name: "", ContentType: "image/png", ContentID: "image001"}, {Name: "a:b?.txt", ContentType: "text/plain"}}
	if err := e.store.PutOriginal(ctx, k, id, "orig1", store.Original{Inbound: in}, [][]byte{[]byte("%PDF-1.4 offer"), []byte("%PDF-1.4 second"),
		[]byte("%PDF-1.4 prices"), []byte("PNG image"), []byte("text")}); err != nil {
		t.Fatal(err)
	}
	// A second campaign of the same name, the same day: a folder of its own.
	twin := e.createCampaign(t, tok, `{"name":"Bench"}`)["id"].(string)
	if _, err := e.store.Suppress(ctx, k, []store.Suppression{{Address: "gone@contoso.example", At: time.Now(), Source: "added"}}); err != nil {
		t.Fatal(err)
	}
	files := e.export(t, tok)
	day := time.Now().UTC().Format("2006-01-02")
	dir := "campaigns/" + day + " Bench/"
	if _, ok := files["campaigns/"+day+" Bench (2)/campaigns.jsonl"]; !ok || !strings.Contains(files["campaigns/"+day+" Bench (2)/campaigns.jsonl"], twin) {
		t.Errorf("the second campaign named Bench has no folder of its own: %v", keys(files))
	}
	original := dir + "files/originals/orig1/"
	for name, want := range map[string]string{
		"README.txt":                              "How long we keep it",
		"account/accounts.jsonl":                  u.Email,
		"account/suppressions.jsonl":              "gone@contoso.example",
		dir + "campaigns.jsonl":                   `"Name":"Bench"`,
		dir + "recipients.jsonl":                  "ann@contoso.example",
		dir + "rows.csv":                          "'=Ann",
		dir + "events.jsonl":                      "Outlook",
		original + "template.json":                "Hello {{First name}}",
		original + "attachments/Offer.pdf":        "%PDF-1.4 offer",
		original + "attachments/offer (2).PDF":    "%PDF-1.4 second",
		original + "attachments/Price list.pdf":   "%PDF-1.4 prices",
		original + "attachments/attachment 4.png": "PNG image",
		original + "attachments/a_b_.txt":         "text",
		original + "message.eml":                  "Subject: Hello {{First name}}\r\n\r\nHello",
	} {
		if got, ok := files[name]; !ok || !strings.Contains(got, want) {
			t.Errorf("%s: %q, want it to hold %q (files: %v)", name, got, want, keys(files))
		}
	}
	// Complete: every entity the holdings hold in storage is in the export.
	c, _ := e.store.CampaignForDeletion(ctx, k, id)
	for _, hs := range []struct {
		dir  string
		list []store.Holding
	}{{dir, store.CampaignHoldings(c)}, {"account/", store.AccountHoldings(k)}} {
		for _, h := range hs.list {
			if h.Table == "" {
				continue
			}
			n, _, err := e.store.Measure(ctx, h)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Count(files[hs.dir+h.Table+".jsonl"], "\n"); got != n {
				t.Errorf("%s%s.jsonl has %d entities; storage holds %d", hs.dir, h.Table, got, n)
			}
		}
	}
	// Complete, seen from storage: every entity and blob anywhere that
	// holds the account's or the campaign's id is in the export (the
	// stored Graph access excepted: a credential, README.txt says so).
	items, err := storagescan.Find(ctx, e.store, nil, []string{k.ObjectID, id})
	if err != nil {
		t.Fatal(err)
	}
	exported := map[[2]string]bool{}
	for name, content := range files {
		if !strings.HasSuffix(name, ".jsonl") {
			continue
		}
		for _, line := range strings.Split(content, "\n") {
			if line == "" {
				continue
			}
			var keys struct{ PartitionKey, RowKey string }
			if err := json.Unmarshal([]byte(line), &keys); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			exported[[2]string{keys.PartitionKey, keys.RowKey}] = true
		}
	}
	tables, blobs := 0, 0
	for _, it := range items {
		switch {
		case it.Table != "":
			tables++
			if !exported[[2]string{it.PartitionKey, it.RowKey}] {
				t.Errorf("%s %s/%s is not in the export", it.Where, it.PartitionKey, it.RowKey)
			}
		case it.Container == store.ContainerTokenCache:
		case it.Container != "":
			blobs++
			_, rest, _ := strings.Cut(it.Blob, "/")
			// In a campaign's folder, without the campaign's id.
			if r, ok := strings.CutPrefix(rest, id+"/"); ok {
				rest = dir + "files/" + it.Container + "/" + r
			} else {
				rest = "files/" + it.Container + "/" + rest
			}
			// An attachment is under its own name, beside its email.
			folder, _, isAttachment := strings.Cut(rest, "/attachments/")
			data, err := e.store.GetBlob(ctx, it.Container, it.Blob)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for name, content := range files {
				found = found || strings.HasSuffix(name, rest) || isAttachment && strings.Contains(name, folder+"/attachments/") && content == string(data)
			}
			if !found {
				t.Errorf("%s is not in the export", it.Where)
			}
		}
	}
	if tables < 6 || blobs < 2 {
		t.Errorf("the scan found %d entities and %d blobs: too few to tell", tables, blobs)
	}
	t.Logf("the scan found %d entities and %d blobs of the account, all in the export", tables, blobs)
	if _, ok := files["account/tokencache.jsonl"]; ok {
		t.Error("the token cache was exported")
	}
	other, _ := e.installed(t, devauth.FabrikamTenant)
	for name, content := range e.export(t, other) {
		if strings.Contains(name, id) || strings.Contains(content, "ann@contoso.example") || strings.Contains(content, u.Email) {
			t.Errorf("another account's export holds %s", name)
		}
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestInventory: what is kept is measured in storage, each with where it
// is and until when; the keeping rules of backups come along.
func TestInventory(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.installed(t, devauth.ContosoTenant)
	id := e.sendingWithRows(t, tok, 4)
	status, inv := e.do(t, "GET", "/v1/me/data", tok, "")
	if status != 200 {
		t.Fatalf("inventory: %d %v", status, inv)
	}
	found := map[string]map[string]any{}
	for _, k := range inv["kinds"].([]any) {
		kind := k.(map[string]any)
		if kind["kept"] == "" || kind["bytes"].(float64) <= 0 {
			t.Errorf("kind %v", kind)
		}
		found[kind["where"].(string)+"|"+fmtAny(kind["campaign"])] = kind
	}
	if rows := found["table recipients|"+id]; rows == nil || rows["count"] != float64(4) {
		t.Errorf("rows: %v (kinds %v)", rows, found)
	}
	if acct := found["table accounts|"]; acct == nil || acct["count"] != float64(1) {
		t.Errorf("account: %v", acct)
	}
	if len(inv["elsewhere"].([]any)) != 4 {
		t.Errorf("elsewhere %v", inv["elsewhere"])
	}
}

func fmtAny(v any) string {
	if v == nil {
		return ""
	}
	return v.(string)
}

// TestExportFileNames: names that Windows, macOS and Linux all take,
// readable, and unique ignoring case; campaigns by day and name, the
// older keeping the plain name.
func TestExportFileNames(t *testing.T) {
	for in, want := range map[string]string{
		"Offer.pdf":                       "Offer.pdf",
		`Q1/Q2: "best" <deals>?|*\x`:      "Q1_Q2_ _best_ _deals_____x",
		"  spaced \t out  .pdf ":          "spaced out .pdf",
		"ends with dots...":               "ends with dots",
		".hidden":                         "hidden",
		"CON":                             "CON_",
		"nul.txt":                         "nul_.txt",
		"com1.tar.gz":                     "com1_.tar.gz",
		"Console.txt":                     "Console.txt",
		"line\nbreak\x00.txt":             "line break_.txt",
		"evil\u202egpj.exe":               "evil_gpj.exe",
		"":                                "fallback",
		" . ":                             "fallback",
		strings.Repeat("é", 60) + ".docx": strings.Repeat("é", 37) + ".docx",
	} {
		got := fileName(in, "fallback", 80)
		if got != want {
			t.Errorf("fileName(%q) = %q, want %q", in, got, want)
		}
		if len(got) > 80 || !utf8.ValidString(got) || strings.ContainsAny(got, `<>:"/\|?*`) || strings.HasSuffix(got, ".") || strings.HasSuffix(got, " ") {
			t.Errorf("fileName(%q) = %q: not a name every system takes", in, got)
		}
	}
	taken := map[string]bool{}
	var got []string
	for _, n := range []string{"Offer.pdf", "offer.PDF", "Offer.pdf", "Offer (2).pdf"} {
		got = append(got, unique(n, true, taken))
	}
	if want := []string{"Offer.pdf", "offer (2).PDF", "Offer (3).pdf", "Offer (2) (2).pdf"}; !slices.Equal(got, want) {
		t.Errorf("unique files: %q, want %q", got, want)
	}

	day := time.Date(2026, 12, 4, 9, 0, 0, 0, time.UTC)
	folders := campaignFolders([]store.Campaign{
		{ID: "b", Name: "Spring launch", CreatedAt: day.Add(time.Hour)},
		{ID: "a", Name: "Spring launch", CreatedAt: day},
		{ID: "c", Name: "SPRING LAUNCH", CreatedAt: day.Add(2 * time.Hour)},
		{ID: "d", Name: "Spring launch", CreatedAt: day.AddDate(0, 0, 1)},
		{ID: "e", Name: "v1.5 / final", CreatedAt: day},
		{ID: "f", Name: "  ", CreatedAt: day},
	})
	for id, want := range map[string]string{
		"a": "2026-12-04 Spring launch", "b": "2026-12-04 Spring launch (2)", "c": "2026-12-04 SPRING LAUNCH (3)",
		"d": "2026-12-05 Spring launch", "e": "2026-12-04 v1.5 _ final", "f": "2026-12-04 Campaign",
	} {
		if folders[id] != want {
			t.Errorf("campaign %s: folder %q, want %q", id, folders[id], want)
		}
	}
}
