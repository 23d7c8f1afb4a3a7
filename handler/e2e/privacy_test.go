package e2e

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"mailmerge/handler/internal/dev/devauth"
	"mailmerge/handler/internal/dev/storagescan"
	"mailmerge/handler/internal/dev/testenv"
	"mailmerge/handler/internal/store"
)

// scan looks through the host's whole storage account, queues included,
// for needles (storagescan.Leftovers).
func scan(t *testing.T, st *store.Store, needles ...string) []string {
	t.Helper()
	svc, err := azqueue.NewServiceClientFromConnectionString(testenv.IsolatedStorageConnectionString(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	found, err := storagescan.Leftovers(context.Background(), st, svc, needles)
	if err != nil {
		t.Fatal(err)
	}
	return found
}

// clean waits until the scan finds none of needles, and says what it
// still found if that does not happen.
func clean(t *testing.T, st *store.Store, within time.Duration, what string, needles ...string) time.Duration {
	t.Helper()
	start := time.Now()
	var found []string
	for {
		if found = scan(t, st, needles...); len(found) == 0 {
			return time.Since(start)
		}
		if time.Since(start) > within {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	for _, f := range found {
		t.Errorf("%s, after %v: %s", what, within, f)
	}
	t.FailNow()
	return 0
}

// TestDeletionLeavesNothing: deleting a campaign while it sends answers
// once the messages in flight have gone, and none leaves after that;
// then a scan of every table, container and queue of the storage account
// finds nothing that holds the campaign's id, addresses or cells. Then
// the account is deleted, the handler killed in the middle of it, and
// the retention timer finishes it: nothing of the account is left.
func TestDeletionLeavesNothing(t *testing.T) {
	t.Parallel()
	h := startHost(t, nil)
	st := openStore(t)
	tok, k := h.signIn(t, "alice")
	alice, _ := devauth.FindUser("alice")
	tag := testenv.Name("gone")
	var rows strings.Builder
	rows.WriteString("Email,First name,Company\n")
	for i := 1; i <= 12; i++ {
		fmt.Fprintf(&rows, "%s.%d@example.com,Cell-%s-%d,Firm %d\n", tag, i, tag, i, i)
	}
	id, token := h.readyCampaign(t, tok, []byte(rows.String()))
	if status, c := h.call(t, "PATCH", "/v1/campaigns/"+id, tok, `{"trackOpens":true,"trackClicks":true}`); status != 200 {
		t.Fatalf("tracking on: %d %v", status, c)
	}
	// Each send takes 3 s, longer than the 2 s between sends: one is
	// always in flight.
	control(t, h.Graph+"/_sandbox/faults", `{"kind":"latency","mailbox":"`+alice.Email+`","count":100,"delayMs":3000}`)
	h.sendTemplate(t, "alice", token, template{Subject: "Hi {{First name}} " + tag,
		HTML: `<html><body><p>Hi {{First name}}, see <a href="https://contoso.example/offer?t=` + tag + `">our offer</a>.</p></body></html>`})
	eventually(t, 60*time.Second, "two rows sent", func() bool { return len(h.sent(t, tag)) >= 2 })
	// An open and a click: tracking events of the campaign.
	noRedirect := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, u := range regexp.MustCompile(`http://127\.0\.0\.1:7071/[oc]/[A-Za-z0-9_-]+`).FindAllString(h.sent(t, tag)[0].Body, -1) {
		req := strings.Replace(u, "http://127.0.0.1:7071", h.URL, 1)
		resp, err := noRedirect.Get(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	// Something the account keeps when the campaign goes.
	keep := testenv.Name("keep") + "@example.com"
	if status, body := h.call(t, "POST", "/v1/suppressions", tok, `{"addresses":["`+keep+`"]}`); status != 200 {
		t.Fatalf("suppress: %d %v", status, body)
	}
	eventually(t, 10*time.Second, "the events stored", func() bool {
		return len(scan(t, st, "offer?t="+tag)) > 0
	})

	ctx := context.Background()
	eventually(t, 10*time.Second, "a message in flight", func() bool {
		m, err := st.Mailbox(ctx, k.String())
		return err == nil && len(m.Leases) > 0
	})
	asked := time.Now()
	if status, body := h.call(t, "DELETE", "/v1/campaigns/"+id, tok, ""); status != 202 {
		t.Fatalf("delete: %d %v", status, body)
	}
	answered := time.Now()
	sentBefore := len(h.sent(t, tag))
	took := clean(t, st, 30*time.Second, "after deleting the campaign", tag)
	// What stays by design: for each sent message, the record its
	// unsubscribe links need (the campaign's id and the hashes of the
	// addresses, never an address or a cell), until the account goes.
	svc, err := azqueue.NewServiceClientFromConnectionString(testenv.IsolatedStorageConnectionString(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	withID, err := storagescan.Find(ctx, st, svc, []string{id})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range withID {
		if f.Where != "table unsubscribelinks" {
			t.Errorf("after deleting the campaign: %s", f)
		}
	}
	if len(withID) < sentBefore {
		t.Errorf("%d unsubscribe records of %d sent messages kept", len(withID), sentBefore)
	}
	t.Logf("DELETE answered in %v with %d sent; the scan was clean %v later", answered.Sub(asked).Round(time.Millisecond), sentBefore, took.Round(time.Millisecond))
	// A send started before DELETE would have ended by now.
	time.Sleep(max(0, 4*time.Second-time.Since(answered)))
	for _, m := range h.sent(t, tag) {
		if m.Time.After(answered) {
			t.Errorf("a message left %v after DELETE answered", m.Time.Sub(answered))
		}
	}
	if found := scan(t, st, keep); len(found) == 0 {
		t.Fatal("the account's suppression went with the campaign")
	}

	// The account, with a campaign large enough that deleting it takes a
	// moment, and the handler killed in the middle of it.
	const big = 3000
	tag2 := testenv.Name("acct")
	id2, _ := h.readyCampaign(t, tok, people(tag2, big))
	if status, body := h.call(t, "DELETE", "/v1/me", tok, ""); status != 202 {
		t.Fatalf("delete account: %d %v", status, body)
	}
	eventually(t, 60*time.Second, "the deletion under way", func() bool {
		counts, err := st.RecipientCounts(ctx, id2)
		n := 0
		for _, c := range counts {
			n += c
		}
		return err == nil && n < big
	})
	pids := handlerPIDs(t, h.AppDir)
	if len(pids) != 1 {
		t.Fatalf("handler processes: %v", pids)
	}
	if err := syscall.Kill(pids[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Account(ctx, k); err != nil {
		t.Fatalf("the account was gone before the kill (%v): the kill did not interrupt the deletion", err)
	}
	// The killed run's message comes back only after the function
	// timeout; the retention timer hands a deletion that stalled for 15
	// minutes to its worker again. Those 15 minutes pass here at once.
	stalled, err := st.PendingDeletions(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range stalled {
		if d.Account == k && d.CampaignID == "" {
			d.RequestedAt = d.RequestedAt.Add(-20 * time.Minute)
			if err := st.RecordDeletion(ctx, d); err != nil {
				t.Fatal(err)
			}
		}
	}
	eventually(t, 30*time.Second, "the handler restarted", func() bool { return len(handlerPIDs(t, h.AppDir)) == 1 })
	h.runFunction(t, "retention", "")
	took = clean(t, st, 60*time.Second, "after deleting the account", k.ObjectID, tag2, id2, keep, id)
	t.Logf("account deletion killed mid-way and finished by the timer: clean %v after the timer ran", took.Round(time.Millisecond))
}
