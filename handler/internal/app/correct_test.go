package app

import (
	"context"
	"testing"
	"time"

	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/dev/devauth"
	"mailmerge/handler/internal/dev/testenv"
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
