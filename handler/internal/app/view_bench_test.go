package app

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/dev/devauth"
	"mailmerge/handler/internal/store"
)

// sendingWithRows makes a campaign of the caller's that is sending, with
// rows rows, through the lifecycle as the API and the workers move it.
func (e *env) sendingWithRows(tb testing.TB, tok string, rows int) string {
	tb.Helper()
	ctx := context.Background()
	id := e.createCampaign(tb, tok, `{"name":"Bench"}`)["id"].(string)
	c, err := e.life.Upload(ctx, keyOfToken(tb, e, tok), id, func(store.Campaign) store.DataSummary {
		return store.DataSummary{Status: campaign.DataProcessing, UploadID: "u1"}
	})
	if err != nil {
		tb.Fatal(err)
	}
	recipients := make([]store.Recipient, rows)
	for i := range recipients {
		recipients[i] = store.Recipient{Row: i + 2, Cells: []string{fmt.Sprintf("r%d@contoso.example", i), "Ann"}, Status: campaign.RowPending}
	}
	if err := e.store.ReplaceRecipients(ctx, id, recipients); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _, _ = e.store.DeleteRecipients(context.Background(), id) })
	data := store.DataSummary{Status: campaign.DataReady, Columns: []string{"Email", "First name"}, Rows: rows, ValidRows: rows}
	if _, err := e.life.DataRead(ctx, c.Account, id, "u1", data); err != nil {
		tb.Fatal(err)
	}
	if c, err = e.life.Accept(ctx, c.Account, id, "m1", "o1", func(store.Campaign) error { return nil }); err != nil {
		tb.Fatal(err)
	}
	if err := e.life.Start(ctx, c, "Hello"); err != nil {
		tb.Fatal(err)
	}
	return id
}

// keyOfToken is the account key of a minted token's user.
func keyOfToken(tb testing.TB, e *env, tok string) account.Key {
	tb.Helper()
	status, me := e.do(tb, "GET", "/v1/me", tok, "")
	if status != http.StatusOK {
		tb.Fatalf("me: %d %v", status, me)
	}
	return account.Key{TenantID: me["tenantId"].(string), ObjectID: me["objectId"].(string)}
}

// BenchmarkCampaignView: showing a sending campaign costs the same with
// 100 rows as with 10,000 (the counts are kept on the campaign); the
// "count rows" runs show what counting the rows on each view cost.
func BenchmarkCampaignView(b *testing.B) {
	e := newEnv(b)
	tok, _ := e.installed(b, devauth.ContosoTenant)
	for _, rows := range []int{100, 10_000} {
		id := e.sendingWithRows(b, tok, rows)
		b.Run(fmt.Sprintf("view/rows=%d", rows), func(b *testing.B) {
			for b.Loop() {
				status, v := e.do(b, "GET", "/v1/campaigns/"+id, tok, "")
				if status != http.StatusOK || v["counts"].(map[string]any)["pending"].(float64) != float64(rows) {
					b.Fatalf("view: %d %v", status, v)
				}
			}
		})
		b.Run(fmt.Sprintf("count rows/rows=%d", rows), func(b *testing.B) {
			for b.Loop() {
				if _, err := e.store.RecipientCounts(context.Background(), id); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
