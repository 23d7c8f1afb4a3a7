package e2e

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tealeg/xlsx/v3"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/dev/testenv"
	"mailmerge/handler/internal/store"
)

// upload PUTs a file to a campaign's data through the local host.
func (h *host) upload(t testing.TB, tok, id, name string, data []byte) (int, map[string]any) {
	t.Helper()
	return testenv.Upload(t, h.URL, tok, id, name, data)
}

// processed waits until the campaign-data worker has finished with the data.
func (h *host) processed(t testing.TB, tok, id string) map[string]any {
	t.Helper()
	var data map[string]any
	eventually(t, 60*time.Second, "the upload is processed", func() bool {
		status, body := h.call(t, "GET", "/v1/campaigns/"+id+"/data", tok, "")
		data = body
		return status == 200 && body["status"] != "processing"
	})
	return data
}

// noUploadsLeft checks the promise: the upload blob is gone once processing ended.
// noUploadsLeft waits a little: the worker records the outcome, which the
// test sees, a moment before it deletes the upload.
func noUploadsLeft(t *testing.T, st *store.Store, k account.Key) {
	t.Helper()
	var names []string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var err error
		if names, err = st.ListBlobs(context.Background(), "uploads", k.String()+"/"); err != nil {
			t.Fatal(err)
		}
		if len(names) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(names) != 0 {
		t.Errorf("uploads left behind after processing: %v", names)
	}
}

func recipientsOf(t *testing.T, st *store.Store, id string) []store.Recipient {
	t.Helper()
	var out []store.Recipient
	if err := st.ForEachRecipient(context.Background(), id, func(r store.Recipient) error { out = append(out, r); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCampaignData goes create → upload (CSV and xlsx) → processed rows and
// report → replace → reuse → delete, through the local host and its queues.
func TestCampaignData(t *testing.T) {
	t.Parallel()
	h := startHost(t, nil)
	st := openStore(t)
	tok, k := h.signIn(t, "carol")
	id, c := h.newCampaign(t, tok, `{"name":"Launch"}`)
	if !strings.HasPrefix(c["inboundAddress"].(string), "campaigns+") {
		t.Fatalf("create: %v", c)
	}

	// A semicolon CSV with a BOM, as European Excel saves it, with problems.
	csv := "\ufeffE-mail Address;First name\n" // wrong column name first
	if status, _ := h.upload(t, tok, id, "list.csv", []byte(csv+"ann@example.com;Ann\n")); status != 202 {
		t.Fatalf("upload: %d", status)
	}
	data := h.processed(t, tok, id)
	if data["status"] != "failed" || data["error"].(map[string]any)["code"] != "recipient_column_missing" {
		t.Errorf("no Email column: %v", data)
	}
	noUploadsLeft(t, st, k)

	csv = "\ufeff Email ;First  name;Company\n" +
		"ann@example.com;Ann;Contoso\n" +
		";;\n" +
		"bob@example;Bob;Fabrikam\n" +
		"\"cy@example.com\";\"Cy \"\"the\"\" Third\";\"Multi\nline\"\n" +
		"ANN@example.com;Ann again;\n"
	if status, _ := h.upload(t, tok, id, "list.csv", []byte(csv)); status != 202 {
		t.Fatalf("upload: %d", status)
	}
	data = h.processed(t, tok, id)
	if data["status"] != "ready" || data["rows"] != 5.0 || data["validRows"] != 2.0 || data["format"] != "csv" {
		t.Fatalf("processed: %v", data)
	}
	if cols := fmt.Sprint(data["columns"]); cols != "[Email First name Company]" {
		t.Errorf("columns %s", cols)
	}
	counts := data["report"].(map[string]any)["counts"].(map[string]any)
	if counts["empty_row"] != 1.0 || counts["invalid_address"] != 1.0 || counts["duplicate_recipient"] != 1.0 {
		t.Errorf("report counts %v", counts)
	}
	for _, i := range data["report"].(map[string]any)["issues"].([]any) {
		issue := i.(map[string]any)
		if issue["code"] == "duplicate_recipient" && issue["row"] != 6.0 {
			t.Errorf("the duplicate is on row 6 (the quoted newline is one row): %v", issue)
		}
	}
	noUploadsLeft(t, st, k)
	rows := recipientsOf(t, st, id)
	if len(rows) != 5 || rows[0].Row != 2 || rows[0].Cells[1] != "Ann" || rows[3].Cells[1] != `Cy "the" Third` || rows[3].Cells[2] != "Multi\nline" {
		t.Errorf("stored rows %+v", rows)
	}
	_, c = h.call(t, "GET", "/v1/campaigns/"+id, tok, "")
	if c["status"] != "ready" || c["counts"].(map[string]any)["valid"] != 2.0 {
		t.Errorf("campaign after upload: %v", c)
	}

	// An .xlsx: cells arrive as Excel displays them.
	if status, _ := h.upload(t, tok, id, "list.xlsx", workbook(t)); status != 202 {
		t.Fatal("xlsx upload refused")
	}
	data = h.processed(t, tok, id)
	if data["status"] != "ready" || data["format"] != "xlsx" || data["rows"] != 2.0 {
		t.Fatalf("xlsx processed: %v", data)
	}
	if cols := fmt.Sprint(data["columns"]); cols != "[Email First name Since Zip Discount]" {
		t.Errorf("xlsx columns %s", cols)
	}
	rows = recipientsOf(t, st, id)
	if len(rows) != 2 || strings.Join(rows[0].Cells, "|") != "ann@example.com|Ann|10/5/2021|01234|25%" {
		t.Errorf("xlsx rows %+v", rows)
	}
	noUploadsLeft(t, st, k)

	// A new upload replaces the old rows.
	if status, _ := h.upload(t, tok, id, "short.csv", []byte("To\tName\ndee@example.com\tDee\n")); status != 202 {
		t.Fatal("second upload refused")
	}
	data = h.processed(t, tok, id)
	if data["status"] != "ready" || data["rows"] != 1.0 || data["fileName"] != "short.csv" {
		t.Errorf("replaced: %v", data)
	}
	if rows := recipientsOf(t, st, id); len(rows) != 1 || rows[0].Cells[0] != "dee@example.com" {
		t.Errorf("rows after replacing: %+v", rows)
	}
	noUploadsLeft(t, st, k)

	// Reuse: a second campaign copies the rows of the first.
	id2, _ := h.newCampaign(t, tok, `{"name":"Launch again"}`)
	if status, body := h.call(t, "POST", "/v1/campaigns/"+id2+"/data/reuse", tok, `{"from":"`+id+`"}`); status != 202 {
		t.Fatalf("reuse: %d %v", status, body)
	}
	data = h.processed(t, tok, id2)
	if data["status"] != "ready" || data["rows"] != 1.0 {
		t.Errorf("reused: %v", data)
	}
	if rows := recipientsOf(t, st, id2); len(rows) != 1 || rows[0].Cells[1] != "Dee" {
		t.Errorf("copied rows %+v", rows)
	}

	// Delete the first campaign: rows and address go with it.
	if status, _ := h.call(t, "DELETE", "/v1/campaigns/"+id, tok, ""); status != 202 {
		t.Fatal("delete refused")
	}
	if status, _ := h.call(t, "GET", "/v1/campaigns/"+id, tok, ""); status != 404 {
		t.Errorf("a deleted campaign must be gone at once, got %d", status)
	}
	eventually(t, 30*time.Second, "the campaign-delete worker removed the rows", func() bool {
		_, err := st.CampaignForDeletion(context.Background(), k, id)
		return err != nil && len(recipientsOf(t, st, id)) == 0
	})
	if rows := recipientsOf(t, st, id2); len(rows) != 1 {
		t.Error("deleting one campaign touched another")
	}

	// Deleting the account deletes the remaining campaign with its rows.
	if status, _ := h.call(t, "DELETE", "/v1/me", tok, ""); status != 202 {
		t.Fatal("account delete refused")
	}
	eventually(t, 30*time.Second, "the account and its campaigns are gone", func() bool {
		ids, err := st.AllCampaignIDs(context.Background(), k)
		_, aerr := st.Account(context.Background(), k)
		return err == nil && len(ids) == 0 && aerr != nil && len(recipientsOf(t, st, id2)) == 0
	})
}

// workbook writes a small .xlsx with tealeg/xlsx: a date, a leading-zero
// code and a percentage, each with its number format.
func workbook(t *testing.T) []byte {
	t.Helper()
	f := xlsx.NewFile()
	sh, err := f.AddSheet("Recipients")
	if err != nil {
		t.Fatal(err)
	}
	add := func(cells ...any) {
		row := sh.AddRow()
		for _, c := range cells {
			cell := row.AddCell()
			switch v := c.(type) {
			case string:
				cell.SetString(v)
			case [2]any:
				cell.SetFloatWithFormat(v[0].(float64), v[1].(string))
			}
		}
	}
	add("Email", "First name", "Since", "Zip", "Discount")
	add("ann@example.com", "Ann", [2]any{44474.0, "m/d/yyyy"}, [2]any{1234.0, "00000"}, [2]any{0.25, "0%"})
	add("bob@example.com", "Bob", [2]any{44475.0, "m/d/yyyy"}, [2]any{98765.0, "00000"}, [2]any{0.1, "0%"})
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// zipBomb is an .xlsx-looking zip whose one sheet inflates to 1 GB.
func zipBomb(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range []string{"[Content_Types].xml", "xl/workbook.xml"} {
		w, _ := zw.Create(name)
		_, _ = w.Write([]byte("<x/>"))
	}
	w, err := zw.Create("xl/worksheets/sheet1.xml")
	if err != nil {
		t.Fatal(err)
	}
	zeros := make([]byte, 1<<20)
	for range 1024 {
		if _, err := w.Write(zeros); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestRefusedUploadsLeaveNothing: every upload the worker refuses ends
// with a clear error on the data and no blob left in uploads.
func TestRefusedUploadsLeaveNothing(t *testing.T) {
	t.Parallel()
	h := startHost(t, nil)
	st := openStore(t)
	tok, k := h.signIn(t, "bob")
	id, _ := h.newCampaign(t, tok, `{"name":"Refusals"}`)

	var many strings.Builder
	many.WriteString("Email\n")
	for i := range 101_000 {
		fmt.Fprintf(&many, "r%d@example.com\n", i)
	}
	tests := []struct {
		name string
		data []byte
		code string
	}{
		{"bomb.xlsx", zipBomb(t), "zip_too_large"},
		{"header-only.csv", []byte("Email,First name\r\n"), "no_rows"},
		{"duplicates.csv", []byte("Email,Name,name \r\na@example.com,A,B\r\n"), "duplicate_columns"},
		{"many.csv", []byte(many.String()), "too_many_rows"},
		{"broken.csv", []byte("Email,Name\n\"a@example.com,A\n"), "csv_bad_quote"},
	}
	for _, tt := range tests {
		if status, body := h.upload(t, tok, id, tt.name, tt.data); status != 202 {
			t.Fatalf("%s: %d %v", tt.name, status, body)
		}
		data := h.processed(t, tok, id)
		e, _ := data["error"].(map[string]any)
		if data["status"] != "failed" || e["code"] != tt.code || e["message"] == "" {
			t.Errorf("%s: %v, want failed with %s", tt.name, data, tt.code)
		}
		noUploadsLeft(t, st, k)
	}
	if _, c := h.call(t, "GET", "/v1/campaigns/"+id, tok, ""); c["status"] != "draft" {
		t.Errorf("a campaign without valid data must stay a draft: %v", c["status"])
	}
}

// TestWorkbookSheets: a workbook is read from its first visible worksheet,
// the data view lists its worksheets, ?sheet= picks another, and merged
// cells are reported.
func TestWorkbookSheets(t *testing.T) {
	t.Parallel()
	h := startHost(t, nil)
	tok, _ := h.signIn(t, "carol")
	id, _ := h.newCampaign(t, tok, `{"name":"Sheets"}`)
	f := xlsx.NewFile()
	for i, name := range []string{"Archive", "Customers", "Partners"} {
		sh, err := f.AddSheet(name)
		if err != nil {
			t.Fatal(err)
		}
		sh.Hidden = i == 0
		hdr := sh.AddRow()
		hdr.AddCell().SetString("Email")
		hdr.AddCell().SetString("Team")
		for j := range 2 {
			r := sh.AddRow()
			r.AddCell().SetString(fmt.Sprintf("%s%d@example.com", strings.ToLower(name), j))
			if j == 0 {
				c := r.AddCell()
				c.SetString("Sales")
				c.Merge(0, 1) // down over the next row
			}
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	upload := func(query string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest("PUT", h.URL+"/v1/campaigns/"+id+"/data"+query, bytes.NewReader(buf.Bytes()))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("X-File-Name", "lists.xlsx")
		if status, body := testenv.DoJSON(t, req); status != 202 {
			t.Fatalf("upload%s: %d %v", query, status, body)
		}
		return h.processed(t, tok, id)
	}
	data := upload("")
	if data["status"] != "ready" || data["sheet"] != "Customers" || data["validRows"] != 2.0 {
		t.Fatalf("first visible sheet: %v", data)
	}
	if got := fmt.Sprint(data["sheets"]); got != "[map[hidden:true name:Archive] map[hidden:false name:Customers] map[hidden:false name:Partners]]" {
		t.Errorf("sheets %s", got)
	}
	if counts := data["report"].(map[string]any)["counts"].(map[string]any); counts["merged_cells"] != 1.0 {
		t.Errorf("merged cells not reported: %v", data["report"])
	}
	if data = upload("?sheet=partners"); data["status"] != "ready" || data["sheet"] != "Partners" {
		t.Errorf("?sheet=partners: %v", data)
	}
	data = upload("?sheet=Suppliers")
	if e, _ := data["error"].(map[string]any); data["status"] != "failed" || e["code"] != "sheet_not_found" || !strings.Contains(e["message"].(string), `"Customers"`) {
		t.Errorf("?sheet=Suppliers: %v", data)
	}
}
