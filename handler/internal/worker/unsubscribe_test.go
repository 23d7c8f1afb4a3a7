package worker

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/mail"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/delivery"
	"mailmerge/handler/internal/dev/testenv"
	"mailmerge/handler/internal/dev/testqueue"
	"mailmerge/handler/internal/invoke"
	"mailmerge/handler/internal/postmark"
	"mailmerge/handler/internal/store"
	"mailmerge/handler/internal/task"
	"mailmerge/handler/internal/tracking"
)

func testTrackingKeys(t testing.TB) tracking.Keys {
	t.Helper()
	keys, err := tracking.ParseKeys("1:" + base64.StdEncoding.EncodeToString([]byte("unit-test-tracking-key-0123456789ab")))
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

// trackingWorker is newWorker whose messages carry unsubscribe links.
func trackingWorker(t *testing.T) (*Worker, *store.Store, *fakeMailer) {
	t.Helper()
	st, err := store.Open(testenv.Storage(t))
	if err != nil {
		t.Fatal(err)
	}
	mailer := &fakeMailer{result: delivery.Result{Outcome: delivery.Sent}}
	w := newWorker(t, st, &testqueue.Queue{}, mailer)
	w.Links = tracking.Links{Base: "https://mailmerge.example", Keys: testTrackingKeys(t), Inbound: "campaigns@inbound.example"}
	return w, st, mailer
}

func unsubscribeEvent(t *testing.T, w *Worker, c store.Campaign, row int) {
	t.Helper()
	body, _ := json.Marshal(task.Events{Events: []tracking.Event{{Kind: tracking.Unsubscribe, Account: c.Account, CampaignID: c.ID, Row: row,
		At: time.Now(), Method: "POST", OneClick: true}}})
	if err := handleDelivery(w.trackingEvents)(context.Background(), invokeMessage(body)); err != nil {
		t.Fatal(err)
	}
}

// TestSuppressionCoversCCAndBCC: a suppressed To address skips its row; a
// suppressed CC or BCC address is dropped from its message, which goes to
// the rest.
func TestSuppressionCoversCCAndBCC(t *testing.T) {
	w, st, mailer := trackingWorker(t)
	c, msg := sendingCampaignOf(t, w, []string{"Email", "CC", "BCC", "First name"}, [][]string{
		{"ann@example.com", "gone@example.com; cat@example.com", "", "Ann"},
		{"bob@example.com", "", "Gone@Example.com", "Ann"},
		{"gone@example.com", "dan@example.com", "", "Ann"},
	})
	ctx := context.Background()
	if _, err := st.Suppress(ctx, c.Account, []store.Suppression{{Address: "gone@example.com", At: time.Now(), Source: "added"}}); err != nil {
		t.Fatal(err)
	}
	if err := w.send(ctx, msg); err != nil {
		t.Fatal(err)
	}
	if mailer.sent != 2 {
		t.Fatalf("%d sent, want 2 (rows 2 and 3; row 4's To is suppressed)", mailer.sent)
	}
	for _, m := range mailer.msgs {
		for _, list := range [][]string{addresses(m.To), addresses(m.CC), addresses(m.BCC)} {
			if slices.Contains(list, "gone@example.com") {
				t.Errorf("a message to %v went to the suppressed address", addresses(m.To))
			}
		}
		if addresses(m.To)[0] == "ann@example.com" && !slices.Equal(addresses(m.CC), []string{"cat@example.com"}) {
			t.Errorf("row 2's CC %v, want cat@ alone", addresses(m.CC))
		}
	}
	if r, _ := st.Recipient(ctx, c.ID, 4); r.Status != campaign.RowSkipped || r.Reason.Code != "unsubscribed" {
		t.Errorf("row 4: %s %q, want skipped (unsubscribed)", r.Status, r.Reason.Code)
	}
}

// TestUnsubscribeCoversEveryRecipient: an unsubscribe from a message to To
// and CC suppresses both; the headers carry the https and mailto links.
func TestUnsubscribeCoversEveryRecipient(t *testing.T) {
	w, st, mailer := trackingWorker(t)
	c, msg := sendingCampaignOf(t, w, []string{"Email", "CC", "BCC", "First name"}, [][]string{
		{"ann@example.com", "cat@example.com", "boss@example.com", "Ann"},
	})
	ctx := context.Background()
	if err := w.send(ctx, msg); err != nil {
		t.Fatal(err)
	}
	if mailer.sent != 1 {
		t.Fatalf("%d sent", mailer.sent)
	}
	unsubscribeEvent(t, w, c, 2)
	for _, a := range []string{"ann@example.com", "cat@example.com", "boss@example.com"} {
		if ok, err := st.Suppressed(ctx, c.Account, a); !ok || err != nil {
			t.Errorf("%s not suppressed (%v)", a, err)
		}
	}
	page, _ := st.Suppressions(ctx, c.Account, 10, "")
	for _, s := range page.Suppressions {
		if s.Address == "" || s.Source != "one-click" {
			t.Errorf("while the campaign is kept, the list names the address: %+v", s)
		}
	}
}

// TestUnsubscribeAfterCampaignDeleted: recipients unsubscribe after the
// owner deleted the campaign, by the link and by mail; every address of
// their messages is suppressed (by key: the addresses are gone; the send
// checks keys, TestSuppressionCoversCCAndBCC).
func TestUnsubscribeAfterCampaignDeleted(t *testing.T) {
	w, st, mailer := trackingWorker(t)
	c, msg := sendingCampaignOf(t, w, []string{"Email", "CC", "First name"}, [][]string{
		{"u-0@example.com", "u-0-cc@example.com", "Ann"},
		{"u-1@example.com", "", "Ann"},
	})
	ctx := context.Background()
	if err := w.send(ctx, msg); err != nil {
		t.Fatal(err)
	}
	if mailer.sent != 2 {
		t.Fatalf("%d sent", mailer.sent)
	}
	list := mailer.headers[0]["List-Unsubscribe"]
	if !strings.Contains(list, "<https://mailmerge.example/u/") || !strings.Contains(list, "<mailto:campaigns+u-") {
		t.Errorf("List-Unsubscribe %q lacks the https or the mailto link", list)
	}
	if err := st.RecordDeletion(ctx, store.Deletion{Account: c.Account, CampaignID: c.ID, RequestedAt: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(task.DeleteCampaign{Campaign: task.Campaign{Key: c.Account, CampaignID: c.ID}})
	if err := handleDelivery(w.deleteCampaign)(ctx, invoke.Message{Body: body}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Campaign(ctx, c.Account, c.ID); err == nil {
		t.Fatal("the campaign is still there")
	}
	unsubscribeEvent(t, w, c, 2) // the link of row 2's message
	for _, a := range []string{"u-0@example.com", "U-0-CC@example.com"} {
		if ok, err := st.Suppressed(ctx, c.Account, a); !ok || err != nil {
			t.Errorf("%s not suppressed after the deletion (%v)", a, err)
		}
	}
	if ok, _ := st.Suppressed(ctx, c.Account, "u-1@example.com"); ok {
		t.Error("u-1 suppressed, who did not unsubscribe")
	}
	page, _ := st.Suppressions(ctx, c.Account, 10, "")
	for _, s := range page.Suppressions {
		if s.Address != "" || len(s.Key) != 32 {
			t.Errorf("after the deletion the list keeps no address: %+v", s)
		}
	}
}

func addresses(list []*mail.Address) []string {
	out := make([]string, len(list))
	for i, a := range list {
		out[i] = a.Address
	}
	return out
}

// TestUnsubscribeLinkNames: a sent message's unsubscribe link, in its
// body and in its headers alike, names for its page the template email's
// sender and, masked, the row's first To address, and whether it went to
// other visible addresses (To or CC, not BCC).
func TestUnsubscribeLinkNames(t *testing.T) {
	w, st, mailer := trackingWorker(t)
	c, msg := sendingCampaignOf(t, w, []string{"Email", "CC", "BCC", "First name"}, [][]string{
		{"ann@example.com", "", "boss@example.com", "Ann"},
		{"bob@example.com; cy@example.com", "", "", "Bob"},
	})
	ctx := context.Background()
	// The template email as the owner sent it: from their address, with
	// an unsubscribe link in the body.
	in := postmark.Inbound{MessageID: c.InboundMessageID, Subject: "Hi {{First name}}", FromFull: postmark.Address{Email: "Owner@Contoso.example"},
		HtmlBody: `<p>Hi {{First name}}, <a href="{{@unsubscribe}}">unsubscribe</a></p>`}
	if err := st.PutOriginal(ctx, c.Account, c.ID, c.OriginalID, store.Original{Inbound: in}, nil); err != nil {
		t.Fatal(err)
	}
	if err := w.send(ctx, msg); err != nil {
		t.Fatal(err)
	}
	if mailer.sent != 2 {
		t.Fatalf("%d sent", mailer.sent)
	}
	link := regexp.MustCompile(`https://mailmerge\.example/u/([A-Za-z0-9_-]+)`)
	for i, m := range mailer.msgs {
		body := link.FindStringSubmatch(string(m.HTML))
		header := link.FindStringSubmatch(mailer.headers[i]["List-Unsubscribe"])
		if body == nil || header == nil || body[1] != header[1] {
			t.Fatalf("message to %v: the body's link %v and the header's %v differ", addresses(m.To), body, header)
		}
		got, err := w.Links.Keys.Verify(body[1], tracking.Unsubscribe)
		if err != nil {
			t.Fatal(err)
		}
		want := tracking.Names{Sender: "owner@contoso.example", Recipient: "a•••@example.com"}
		if addresses(m.To)[0] == "bob@example.com" {
			want = tracking.Names{Sender: "owner@contoso.example", Recipient: "b•••@example.com", Others: true}
		}
		if got.Names != want {
			t.Errorf("message to %v: names %+v, want %+v", addresses(m.To), got.Names, want)
		}
	}
}
