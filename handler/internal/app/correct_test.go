package app

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/dev/devauth"
	"mailmerge/handler/internal/dev/testenv"
	"mailmerge/handler/internal/sheet"
	"mailmerge/handler/internal/store"
)

// TestCorrectRow: a pending row's cells change, checked as an upload would
// be; a row sent (or being sent) answers 409; another account gets 404.
func TestCorrectRow(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.installed(t, devauth.ContosoTenant)
	id := e.sendingWithRows(t, tok, 3) // rows 2, 3, 4: r0@, r1@, r2@contoso.example
	ctx := context.Background()
	sent, _ := e.store.Recipient(ctx, id, 4)
	claimed, err := e.store.ClaimRecipient(ctx, id, sent, "test", time.Now().Add(time.Minute), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.SetRecipientStatus(ctx, id, claimed, campaign.RowSent, campaign.Reason{}, time.Now()); err != nil {
		t.Fatal(err)
	}
	path := "/v1/campaigns/" + id + "/recipients/"
	status, got := e.do(t, "PATCH", path+"2", tok, `{"cells":{"email":" Zoe@Contoso.example ","First name":"Zoë"}}`)
	if status != 200 || got["to"] != " Zoe@Contoso.example " {
		t.Fatalf("correct: %d %v", status, got)
	}
	if r, _ := e.store.Recipient(ctx, id, 2); r.Cells[0] != " Zoe@Contoso.example " || r.Cells[1] != "Zoë" || r.Status != campaign.RowPending {
		t.Errorf("stored %+v", r)
	}
	for _, c := range []struct {
		row, body string
		status    int
		code      string
	}{
		{"3", `{"cells":{"Email":"not an address"}}`, 400, "invalid_address"},
		{"3", `{"cells":{"Email":""}}`, 400, "no_recipient"},
		{"3", `{"cells":{"Email":"zoe@contoso.example"}}`, 409, "duplicate_recipient"},
		{"3", `{"cells":{"Phone":"1"}}`, 400, "column_unknown"},
		{"3", `{"cells":{}}`, 400, "nothing_to_change"},
		{"4", `{"cells":{"First name":"X"}}`, 409, "row_final"},
		{"99", `{"cells":{"First name":"X"}}`, 404, "row_not_found"},
	} {
		if status, got := e.do(t, "PATCH", path+c.row, tok, c.body); status != c.status || testenv.ErrorCode(got) != c.code {
			t.Errorf("row %s %s: %d %v, want %d %s", c.row, c.body, status, got, c.status, c.code)
		}
	}
	other, _ := e.installed(t, devauth.FabrikamTenant)
	if status, _ := e.do(t, "PATCH", path+"3", other, `{"cells":{"First name":"X"}}`); status != 404 {
		t.Errorf("another account: %d", status)
	}
}

// readyWithRows makes a campaign of the caller's whose rows (header
// first) came in as the data worker takes them in: validated, checked
// against the unsubscribe list, stored, recorded.
func (e *env) readyWithRows(t *testing.T, tok string, table [][]string) string {
	t.Helper()
	ctx := context.Background()
	id := e.createCampaign(t, tok, `{"name":"Rows"}`)["id"].(string)
	c, err := e.life.Upload(ctx, keyOfToken(t, e, tok), id, func(store.Campaign) store.DataSummary {
		return store.DataSummary{Status: campaign.DataProcessing, UploadID: "u1"}
	})
	if err != nil {
		t.Fatal(err)
	}
	var read []sheet.Row
	for i, cells := range table[1:] {
		read = append(read, sheet.Row{Row: i + 2, Cells: cells})
	}
	cols, rows, rep, err := campaign.Validate(table[0], read)
	if err != nil {
		t.Fatal(err)
	}
	checked, err := e.life.SkipUnsubscribed(ctx, c.Account, &cols, rows, &rep)
	if err != nil {
		t.Fatal(err)
	}
	var recipients []store.Recipient
	for _, r := range rows {
		recipients = append(recipients, store.Recipient{Row: r.Row, Cells: r.Cells, Status: r.Status, Reason: r.Reason})
	}
	if err := e.store.ReplaceRecipients(ctx, id, recipients); err != nil {
		t.Fatal(err)
	}
	status := campaign.DataReady
	if rep.ValidRows == 0 {
		status = campaign.DataInvalid
	}
	data := store.DataSummary{Status: status, Columns: cols.Names, Empty: cols.Empty, Rows: rep.Rows, ValidRows: rep.ValidRows,
		Report: string(rep.JSON()), Checked: checked}
	if _, err := e.life.DataRead(ctx, c.Account, id, "u1", data); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestCorrectSkippedRowsBeforeTheStart: a row skipped for a bad address,
// a duplicate, or an address on the unsubscribe list can be corrected
// until the campaign starts, and is then to be sent: counted as such, its
// line gone from the report. An address on the list is refused; after
// the start a skipped row is refused in plain words.
func TestCorrectSkippedRowsBeforeTheStart(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.installed(t, devauth.ContosoTenant)
	if status, got := e.do(t, "POST", "/v1/suppressions", tok, `{"addresses":["gone@contoso.example"]}`); status != 200 && status != 201 {
		t.Fatalf("suppress: %d %v", status, got)
	}
	id := e.readyWithRows(t, tok, [][]string{
		{"Email", "First name", "City"},
		{"ann@contoso.example", "Ann", "Oslo"},
		{"not an address", "Bob", "Rome"},
		{"Gone@Contoso.example", "Cy", ""},
		{"ann@contoso.example", "Dee", "Lima"},
	})
	path := "/v1/campaigns/" + id
	_, data := e.do(t, "GET", path+"/data", tok, "")
	if data["validRows"] != 1.0 || data["skippedRows"] != 3.0 || data["unsubscribedRows"] != 1.0 {
		t.Fatalf("data before: %v", data)
	}
	_, list := e.do(t, "GET", path+"/recipients", tok, "")
	if cols := fmt.Sprint(list["columns"]); cols != "[Email First name City]" {
		t.Errorf("columns in the sheet's order: %s", cols)
	}
	row4 := list["recipients"].([]any)[2].(map[string]any)
	if row4["status"] != "skipped" || row4["reason"].(map[string]any)["code"] != "unsubscribed" ||
		row4["reason"].(map[string]any)["message"] != "the address gone@contoso.example is on your unsubscribe list" {
		t.Errorf("row 4: %v", row4)
	}
	for _, c := range []struct {
		row, body string
		status    int
		code      string
	}{
		{"3", `{"cells":{"Email":"still not"}}`, 400, "invalid_address"},
		{"4", `{"cells":{"City":"Nice"}}`, 409, "address_unsubscribed"},
		{"3", `{"cells":{"Email":"GONE@contoso.example"}}`, 409, "address_unsubscribed"},
		{"5", `{"cells":{"Email":"ann@contoso.example"}}`, 409, "duplicate_recipient"},
	} {
		if status, got := e.do(t, "PATCH", path+"/recipients/"+c.row, tok, c.body); status != c.status || testenv.ErrorCode(got) != c.code {
			t.Errorf("row %s %s: %d %v, want %d %s", c.row, c.body, status, got, c.status, c.code)
		}
	}
	status, got := e.do(t, "PATCH", path+"/recipients/3", tok, `{"cells":{"Email":"bob@contoso.example"}}`)
	if status != 200 || got["status"] != "pending" || got["reason"] != nil || got["cells"].(map[string]any)["First name"] != "Bob" {
		t.Fatalf("correct row 3: %d %v", status, got)
	}
	if status, got := e.do(t, "PATCH", path+"/recipients/5", tok, `{"cells":{"Email":"dee@contoso.example"}}`); status != 200 || got["status"] != "pending" {
		t.Fatalf("correct row 5: %d %v", status, got)
	}
	_, data = e.do(t, "GET", path+"/data", tok, "")
	report := data["report"].(map[string]any)
	if data["validRows"] != 3.0 || data["skippedRows"] != 1.0 || report["validRows"] != 3.0 || len(report["issues"].([]any)) != 1 {
		t.Errorf("data after: %v", data)
	}
	if _, v := e.do(t, "GET", path, tok, ""); v["counts"].(map[string]any)["valid"] != 3.0 {
		t.Errorf("campaign after: %v", v["counts"])
	}
	// Once it started, a skipped row stays as it is.
	ctx := context.Background()
	c, err := e.store.Campaign(ctx, keyOfToken(t, e, tok), id)
	if err != nil {
		t.Fatal(err)
	}
	if c, err = e.life.Accept(ctx, c.Account, id, "m1", "o1", func(store.Campaign) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := e.life.Start(ctx, c, "Hello"); err != nil {
		t.Fatal(err)
	}
	_, v := e.do(t, "GET", path, tok, "")
	if counts := v["counts"].(map[string]any); counts["pending"] != 3.0 || counts["skipped"] != 1.0 {
		t.Errorf("started with %v", counts)
	}
	status, got = e.do(t, "PATCH", path+"/recipients/4", tok, `{"cells":{"Email":"cy@contoso.example"}}`)
	if status != 409 || testenv.ErrorCode(got) != "row_final" || !strings.Contains(fmt.Sprint(got), "only before the campaign starts") {
		t.Errorf("a skipped row after the start: %d %v", status, got)
	}
}

// TestCorrectMakesInvalidDataReady: data without a valid row keeps the
// campaign a draft; correcting a row makes both ready.
func TestCorrectMakesInvalidDataReady(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.installed(t, devauth.ContosoTenant)
	id := e.readyWithRows(t, tok, [][]string{{"To", "Name"}, {"ann.contoso.example", "Ann"}})
	path := "/v1/campaigns/" + id
	if _, v := e.do(t, "GET", path, tok, ""); v["status"] != "draft" || v["data"].(map[string]any)["status"] != "invalid" {
		t.Fatalf("before: %v %v", v["status"], v["data"])
	}
	if status, got := e.do(t, "PATCH", path+"/recipients/2", tok, `{"cells":{"To":"ann@contoso.example"}}`); status != 200 {
		t.Fatalf("correct: %d %v", status, got)
	}
	if _, v := e.do(t, "GET", path, tok, ""); v["status"] != "ready" || v["data"].(map[string]any)["status"] != "ready" || v["counts"].(map[string]any)["valid"] != 1.0 {
		t.Errorf("after: %v %v %v", v["status"], v["data"], v["counts"])
	}
}
