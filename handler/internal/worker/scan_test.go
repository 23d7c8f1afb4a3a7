package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/delivery"
	"mailmerge/handler/internal/dev/storagescan"
	"mailmerge/handler/internal/dev/testenv"
	"mailmerge/handler/internal/dev/testqueue"
	"mailmerge/handler/internal/invoke"
	"mailmerge/handler/internal/postmark"
	"mailmerge/handler/internal/store"
	"mailmerge/handler/internal/task"
	"mailmerge/handler/internal/tracking"
)

// leftovers scans every table and every blob of the storage account for
// any of needles (storagescan.Leftovers; the queues here are the test's
// own).
func leftovers(t *testing.T, st *store.Store, needles []string) []string {
	t.Helper()
	found, err := storagescan.Leftovers(context.Background(), st, nil, needles)
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// TestDeletionLeavesNothing: after a campaign is deleted, and after its
// account is, a scan of every table and container finds nothing that
// holds their ids, addresses or cell values (the queues here are the
// test's own: nothing is left on them either).
func TestDeletionLeavesNothing(t *testing.T) {
	st, err := store.Open(testenv.Storage(t))
	if err != nil {
		t.Fatal(err)
	}
	q := &testqueue.Queue{}
	w := newWorker(t, st, q, &fakeMailer{result: delivery.Result{Outcome: delivery.Sent}})
	w.Links = tracking.Links{Base: "https://mailmerge.example", Keys: testTrackingKeys(t), Inbound: "campaigns@inbound.example"}
	tag := testenv.Name("scan")
	c, msg := sendingCampaign(t, w, 2)
	ctx := context.Background()
	k := c.Account
	rows := []store.Recipient{
		{Row: 2, Cells: []string{tag + ".1@example.com", "Cell-" + tag + "-a"}, Status: campaign.RowPending},
		{Row: 3, Cells: []string{tag + ".2@example.com", "Cell-" + tag + "-b"}, Status: campaign.RowPending},
	}
	if err := st.ReplaceRecipients(ctx, c.ID, rows); err != nil {
		t.Fatal(err)
	}
	if err := w.send(ctx, msg); err != nil { // sent: the mailbox's budget, the counts
		t.Fatal(err)
	}
	if err := st.AddEvents(ctx, []store.Event{{CampaignID: c.ID, Row: 2, Kind: tracking.Click, URL: "https://contoso.example/?u=" + tag, At: time.Now(), Verdict: tracking.Human}}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Suppress(ctx, k, []store.Suppression{{Address: tag + ".9@example.com", At: time.Now(), Source: "added"}}); err != nil {
		t.Fatal(err)
	}
	in := postmark.Inbound{MessageID: "m-" + tag, Subject: "Hi " + tag}
	if err := st.PutOriginal(ctx, k, c.ID, "orig-"+tag, store.Original{Inbound: in}, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.PutBlob(ctx, store.ContainerUploads, store.UploadBlob(k, c.ID, "up-"+tag), []byte("Email\n"+tag+".3@example.com\n")); err != nil {
		t.Fatal(err)
	}
	if err := st.PutBlob(ctx, store.ContainerTokenCache, store.TokenCacheBlob(k), []byte("encrypted "+tag)); err != nil {
		t.Fatal(err)
	}
	if err := st.AddDebugEntry(ctx, k, store.DebugEntry{Kind: "install", Detail: tag, CreatedAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	campaignData := []string{c.ID, tag + ".1@example.com", tag + ".2@example.com", "Cell-" + tag, "orig-" + tag, "up-" + tag, "Hi " + tag, "u=" + tag}
	if found := leftovers(t, st, campaignData); len(found) == 0 {
		t.Fatal("the scan finds nothing before the deletion: it cannot tell")
	}

	// DELETE /v1/campaigns/{id}: recorded, hidden, then its worker.
	queued := len(q.All())
	now := time.Now().UTC()
	if err := st.RecordDeletion(ctx, store.Deletion{Account: k, CampaignID: c.ID, RequestedAt: now}); err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(task.DeleteCampaign{Campaign: task.Campaign{Key: k, CampaignID: c.ID}})
	if err := handleDelivery(w.deleteCampaign)(ctx, invoke.Message{Body: body}); err != nil {
		t.Fatal(err)
	}
	// Only what the unsubscribe links of the sent messages need is kept
	// (UnsubscribeLink: the campaign's id, never an address or a cell).
	found, err := storagescan.Find(ctx, st, nil, campaignData[:1])
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range found {
		if f.Where != "table unsubscribelinks" {
			t.Errorf("after deleting the campaign: %s holds its id", f.Where)
		}
	}
	if len(found) != 2 {
		t.Errorf("after deleting the campaign, %d records of its 2 sent messages' unsubscribe links", len(found))
	}
	for _, f := range leftovers(t, st, campaignData[1:]) {
		t.Errorf("after deleting the campaign: %s", f)
	}

	// DELETE /v1/me: everything else of the account.
	body, _ = json.Marshal(task.DeleteAccount{Key: k})
	if err := handleDelivery(w.deleteAccount)(ctx, invoke.Message{Body: body}); err != nil {
		t.Fatal(err)
	}
	acct := []string{k.String(), k.ObjectID, tag, c.ID}
	for _, f := range leftovers(t, st, acct) {
		t.Errorf("after deleting the account: %s", f)
	}
	// Nothing was queued for the deleted data after its deletion began.
	for _, m := range q.All()[queued:] {
		if bytes.Contains(m.Body, []byte(c.ID)) || bytes.Contains(m.Body, []byte(k.ObjectID)) {
			t.Errorf("queue %s got work of the deleted data", m.Queue)
		}
	}
}
