package e2e

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"mailmerge/handler/internal/dev/graphsandbox"
	"mailmerge/handler/internal/dev/testenv"
	"mailmerge/handler/internal/store"
)

// TestRecipientPromisesHold: what the service promises the people it
// mails, tried as a recipient, an attacker and a careless owner would,
// through the local host:
//   - an address on the suppression list gets nothing, as To (the row is
//     skipped), CC or BCC (dropped; the rest still goes);
//   - one request with a giant user agent clogs nothing: the opens after
//     it are counted;
//   - a flood of tool hits on one row's pixel is counted, as automated,
//     and only a bounded number of them is stored;
//   - after the owner deleted the campaign, the one-click unsubscribe
//     suppresses every address its message went to (To and CC), and mail
//     to the message's unsubscribe address (List-Unsubscribe's mailto)
//     does the same, whoever sends it.
func TestRecipientPromisesHold(t *testing.T) {
	t.Parallel()
	h := startHost(t, map[string]string{"SEND_PER_MINUTE": "600", "SEND_ABOVE_EXCHANGE_LIMITS": "true"})
	st := openStore(t)
	tok, k := h.signIn(t, "alice")
	tag := testenv.Name("promise")
	gone := tag + ".gone@example.com"
	if status, body := h.call(t, "POST", "/v1/suppressions", tok, `{"addresses":["`+gone+`"]}`); status != 200 {
		t.Fatalf("suppress: %d %v", status, body)
	}
	addr := func(n string) string { return tag + "." + n + "@example.com" }
	var rows strings.Builder
	rows.WriteString("Email,CC,BCC,First name\n")
	fmt.Fprintf(&rows, "%s,%s,,Ann\n", addr("1"), gone)        // row 2: CC suppressed
	fmt.Fprintf(&rows, "%s,,%s,Bob\n", addr("2"), gone)        // row 3: BCC suppressed
	fmt.Fprintf(&rows, "%s,%s,,Cat\n", addr("3"), addr("3cc")) // row 4: To and CC
	fmt.Fprintf(&rows, "%s,%s,,Dan\n", gone, addr("4cc"))      // row 5: To suppressed
	for i := 6; i <= 25; i++ {                                 // rows 6 to 25: the readers
		fmt.Fprintf(&rows, "%s,,,Reader%d\n", addr(fmt.Sprint(i)), i)
	}
	id, token := h.readyCampaign(t, tok, []byte(rows.String()))
	if status, c := h.call(t, "PATCH", "/v1/campaigns/"+id, tok, `{"trackOpens":true}`); status != 200 || c["trackOpens"] != true {
		t.Fatalf("tracking on: %d %v", status, c)
	}
	h.sendTemplate(t, "alice", token, template{Subject: "Hi {{First name}} " + tag,
		HTML: `<html><body><p>Hi {{First name}}</p><p><a href="{{@unsubscribe}}">Unsubscribe</a></p></body></html>`})
	c := h.waitStatus(t, tok, id, 4*time.Minute, "completed") // a loaded machine runs 16 hosts at once
	if counts := c["counts"].(map[string]any); counts["sent"] != float64(23) || counts["skipped"] != float64(1) {
		t.Fatalf("counts %v, want 23 sent and row 5 skipped", counts)
	}

	// Suppressed as CC or BCC: dropped, the message still goes.
	msgs := h.sent(t, tag)
	byTo := map[string]int{}
	for i, m := range msgs {
		for _, list := range [][]string{addrs(m.To), addrs(m.Cc), addrs(m.Bcc)} {
			for _, a := range list {
				if strings.EqualFold(a, gone) {
					t.Errorf("a message to %v went to the suppressed address", addrs(m.To))
				}
			}
		}
		byTo[strings.ToLower(addrs(m.To)[0])] = i
	}
	for _, a := range []string{addr("1"), addr("2"), addr("3")} {
		if _, ok := byTo[a]; !ok {
			t.Errorf("no message to %s", a)
		}
	}
	link := func(m int, kind string) string {
		u := regexp.MustCompile(`http://127\.0\.0\.1:7071/` + kind + `/[A-Za-z0-9_-]+`).FindString(msgs[m].Body)
		if u == "" {
			t.Fatalf("message %d has no /%s/ link", m, kind)
		}
		return h.URL + strings.TrimPrefix(u, "http://127.0.0.1:7071")
	}
	get := func(u, ua string) {
		req, _ := http.NewRequest("GET", u, nil)
		req.Header.Set("User-Agent", ua)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: %d", u, resp.StatusCode)
		}
	}

	// A person reads later than a scanner would.
	time.Sleep(11 * time.Second)
	// One giant request first, then 20 people each open their message.
	get(link(byTo[addr("6")], "o"), "Mozilla/5.0 "+strings.Repeat("x", 16<<10))
	for i := 6; i <= 25; i++ {
		get(link(byTo[addr(fmt.Sprint(i))], "o"), outlookUA)
	}
	opens := func() (human, automated float64) {
		_, rep := h.call(t, "GET", "/v1/campaigns/"+id+"/report", tok, "")
		o, _ := rep["opens"].(map[string]any)
		if o == nil {
			return 0, 0
		}
		return o["human"].(map[string]any)["total"].(float64), o["automated"].(map[string]any)["total"].(float64)
	}
	eventually(t, 30*time.Second, "the 20 opens after the giant request are counted", func() bool {
		human, _ := opens()
		return human >= 20
	})

	// A flood on row 4's pixel, from a benchmarking tool.
	const flood = 3000
	pixel := link(byTo[addr("3")], "o")
	humanBefore, automatedBefore := opens()
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := w; i < flood; i += 16 {
				get(pixel, "ApacheBench/2.3")
			}
		})
	}
	wg.Wait()
	eventually(t, 60*time.Second, "the flood is counted as automated", func() bool {
		_, automated := opens()
		return automated >= automatedBefore+flood
	})
	if human, automated := opens(); human != humanBefore || automated != automatedBefore+flood {
		t.Errorf("after the flood: %v human (was %v), %v automated (was %v, +%d hits)", human, humanBefore, automated, automatedBefore, flood)
	}
	stored, err := st.RowEventsBetween(t.Context(), id, 4, time.Time{}, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) > 120 {
		t.Errorf("%d events of the flooded row stored, want a bounded number", len(stored))
	}

	// The owner deletes the campaign; then its recipients unsubscribe.
	unsubscribe := link(byTo[addr("3")], "u")
	var mailto string
	for _, hd := range msgs[byTo[addr("1")]].MIMEHeaders {
		if hd.Name == "List-Unsubscribe" {
			m := regexp.MustCompile(`^<http://127\.0\.0\.1:7071/u/[A-Za-z0-9_-]+>, <mailto:(campaigns\+u-[a-z2-7]{26}@inbound\.mailmerge\.localhost)\?subject=unsubscribe>$`).FindStringSubmatch(hd.Value)
			if m == nil {
				t.Fatalf("List-Unsubscribe %q: want the https link and a mailto", hd.Value)
			}
			mailto = m[1]
		}
	}
	if len(strings.Split(mailto, "@")[0]) > 64 {
		t.Errorf("the unsubscribe address's local part is over 64 characters: %s", mailto)
	}
	if status, _ := h.call(t, "DELETE", "/v1/campaigns/"+id, tok, ""); status != 202 {
		t.Fatalf("delete: %d", status)
	}
	eventually(t, 60*time.Second, "the campaign is deleted", func() bool {
		status, _ := h.call(t, "GET", "/v1/campaigns/"+id, tok, "")
		_, err := st.Recipient(t.Context(), id, 4)
		return status == 404 && err != nil
	})
	resp, err := http.PostForm(unsubscribe, url.Values{"List-Unsubscribe": {"One-Click"}})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("one-click after the deletion: %v %v", resp, err)
	}
	resp.Body.Close()
	hash := strings.TrimPrefix(strings.Split(mailto, "@")[0], "campaigns+")
	if status, body := h.postInbound(t, "postmark", "e2e-webhook-password", inboundPayload(testenv.Name("msg-"), hash, "someone@elsewhere.example", nil)); status != 200 || body["status"] != "unsubscribed" {
		t.Fatalf("mail to the unsubscribe address: %d %v", status, body)
	}
	want := map[string]string{}
	for _, a := range []string{addr("3"), addr("3cc"), addr("1")} {
		want[store.SuppressionKey(a)] = a
	}
	eventually(t, 30*time.Second, "every address of the two messages is suppressed", func() bool {
		found := 0
		for key := range want {
			if ok, err := st.SuppressedKey(t.Context(), k, key); ok && err == nil {
				found++
			}
		}
		return found == len(want)
	})
	_, list := h.call(t, "GET", "/v1/suppressions", tok, "")
	for _, s := range list["suppressions"].([]any) {
		s := s.(map[string]any)
		if a, ok := want[s["key"].(string)]; ok && s["address"] != nil {
			t.Errorf("%s is listed with an address after its campaign was deleted: %v", a, s)
		}
	}
}

func addrs(list []graphsandbox.Address) []string {
	out := make([]string, len(list))
	for i, a := range list {
		out[i] = a.Address
	}
	return out
}
