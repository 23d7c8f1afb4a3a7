package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"mailmerge/handler/internal/dev/devauth"
	"mailmerge/handler/internal/dev/graphsandbox"
	"mailmerge/handler/internal/dev/postmarksandbox"
	"mailmerge/handler/internal/dev/testenv"
)

// template is the email a test sends to a campaign's address.
type template struct {
	Subject, HTML, Text string
	// Attachments by name → content.
	Attachments map[string]string
}

// templatePayload is Postmark's inbound JSON for t, from sender.
func templatePayload(messageID, token, sender string, t template) []byte {
	var p map[string]any
	_ = json.Unmarshal(inboundPayload(messageID, token, sender, nil), &p)
	p["Subject"], p["HtmlBody"], p["TextBody"] = t.Subject, t.HTML, t.Text
	atts := []map[string]any{}
	for name, content := range t.Attachments {
		atts = append(atts, map[string]any{"Name": name, "Content": base64.StdEncoding.EncodeToString([]byte(content)),
			"ContentType": "application/pdf", "ContentLength": len(content), "ContentID": ""})
	}
	p["Attachments"] = atts
	b, _ := json.Marshal(p)
	return b
}

// people makes n recipient rows: Email, First name, Company.
func people(tag string, n int) []byte {
	var b strings.Builder
	b.WriteString("Email,First name,Company\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "%s.%d@example.com,Person%d,Firm %d\n", tag, i, i, i)
	}
	return []byte(b.String())
}

// startCampaign creates a campaign, uploads rows and sends the template
// email to its address (twice, as Postmark may); it returns the campaign id.
func (h *host) startCampaign(t *testing.T, tok, login string, rows []byte, tpl template) string {
	t.Helper()
	id, token := h.readyCampaign(t, tok, rows)
	payload := h.sendTemplate(t, login, token, tpl)
	// Postmark delivers again after a timeout: still one campaign run.
	if status, body := h.postInbound(t, "postmark", "e2e-webhook-password", payload); status != 200 || body["status"] != "duplicate" {
		t.Fatalf("template email again: %d %v", status, body)
	}
	return id
}

// readyCampaign creates a campaign named after the test with rows; it
// returns the id and the token of its inbound address.
func (h *host) readyCampaign(t testing.TB, tok string, rows []byte) (id, token string) {
	t.Helper()
	id, c := h.newCampaign(t, tok, `{"name":"`+t.Name()+`"}`)
	token = strings.TrimPrefix(strings.Split(c["inboundAddress"].(string), "@")[0], "campaigns+")
	h.upload(t, tok, id, "list.csv", rows)
	if data := h.processed(t, tok, id); data["status"] != "ready" {
		t.Fatalf("data %v", data)
	}
	return id, token
}

// sendTemplate posts the template email from login to the campaign
// address token, as Postmark's inbound webhook; it returns the payload.
func (h *host) sendTemplate(t testing.TB, login, token string, tpl template) []byte {
	t.Helper()
	u, _ := devauth.FindUser(login)
	payload := templatePayload(testenv.Name("msg-"), token, u.Email, tpl)
	if status, body := h.postInbound(t, "postmark", "e2e-webhook-password", payload); status != 200 || body["status"] != "queued" {
		t.Fatalf("template email: %d %v", status, body)
	}
	return payload
}

// campaign reads a campaign through the API.
func (h *host) campaign(t testing.TB, tok, id string) map[string]any {
	t.Helper()
	status, c := h.call(t, "GET", "/v1/campaigns/"+id, tok, "")
	if status != 200 {
		t.Fatalf("campaign %s: %d %v", id, status, c)
	}
	return c
}

func (h *host) waitStatus(t testing.TB, tok, id string, within time.Duration, statuses ...string) map[string]any {
	t.Helper()
	var c map[string]any
	eventually(t, within, "campaign "+strings.Join(statuses, " or "), func() bool {
		c = h.campaign(t, tok, id)
		for _, s := range statuses {
			if c["status"] == s {
				return true
			}
		}
		return false
	})
	return c
}

// sent returns the messages the Graph sandbox accepted whose subject ends
// with tag: this test's messages.
func (h *host) sent(t testing.TB, tag string) []graphsandbox.Accepted {
	t.Helper()
	var all []graphsandbox.Accepted
	getJSON(t, h.Graph+"/_sandbox/messages", &all)
	var out []graphsandbox.Accepted
	for _, m := range all {
		if strings.HasSuffix(m.Subject, tag) {
			out = append(out, m)
		}
	}
	return out
}

// notices returns what the Postmark sandbox recorded.
func (h *host) notices(t testing.TB) []postmarksandbox.Message {
	t.Helper()
	var out []postmarksandbox.Message
	getJSON(t, h.Postmark+"/_sandbox/messages", &out)
	return out
}

// getJSON decodes a sandbox's answer.
func getJSON(t testing.TB, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// control posts to a sandbox's control API.
func control(t testing.TB, url, body string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("POST %s: %d", url, resp.StatusCode)
	}
}

// rowStates reads every row's state through the API, page by page.
func (h *host) rowStates(t testing.TB, tok, id string) map[int]map[string]any {
	t.Helper()
	out := map[int]map[string]any{}
	cursor := ""
	for {
		status, page := h.call(t, "GET", "/v1/campaigns/"+id+"/recipients?limit=7&cursor="+cursor, tok, "")
		if status != 200 {
			t.Fatalf("recipients: %d %v", status, page)
		}
		for _, r := range page["recipients"].([]any) {
			row := r.(map[string]any)
			out[int(row["row"].(float64))] = row
		}
		next, _ := page["next"].(string)
		if next == "" {
			return out
		}
		cursor = next
	}
}

// onceEach checks that every row's address got exactly one message.
func onceEach(t *testing.T, msgs []graphsandbox.Accepted, tag string, rows int) map[string]graphsandbox.Accepted {
	t.Helper()
	byTo := map[string]graphsandbox.Accepted{}
	for _, m := range msgs {
		if len(m.To) != 1 {
			t.Errorf("message with %d To addresses", len(m.To))
			continue
		}
		to := m.To[0].Address
		if _, dup := byTo[to]; dup {
			t.Errorf("%s received the message twice", to)
		}
		byTo[to] = m
	}
	for i := 1; i <= rows; i++ {
		if _, ok := byTo[fmt.Sprintf("%s.%d@example.com", tag, i)]; !ok {
			t.Errorf("row for %s.%d never sent", tag, i)
		}
	}
	return byTo
}

// TestCampaignSendsEveryRow: upload, template email, and every row goes
// out once, personalised, as an .eml in the owner's mailbox folder; the
// owner is told it started and how it ended; other accounts see nothing.
func TestCampaignSendsEveryRow(t *testing.T) {
	t.Parallel()
	h := startHost(t, nil)
	tok, _ := h.signIn(t, "alice")
	tag := testenv.Name("every")
	const rows = 12
	id := h.startCampaign(t, tok, "alice", people(tag, rows), template{
		Subject:     "Offer for {{First name}} " + tag,
		HTML:        "<p class=MsoNormal>Dear {{First&nbsp;name}}, a plan for {{Company | your firm}}.<o:p></o:p></p>",
		Text:        "Dear {{First name}}",
		Attachments: map[string]string{"Offer.pdf": "%PDF-1.4 offer"},
	})

	// Another account cannot read or steer it: 404 everywhere.
	bobTok, _ := h.signIn(t, "bob")
	for _, p := range []string{"pause", "resume", "cancel"} {
		if status, body := h.call(t, "POST", "/v1/campaigns/"+id+"/"+p, bobTok, ""); status != 404 {
			t.Errorf("bob %s: %d %v", p, status, body)
		}
	}
	if status, body := h.call(t, "GET", "/v1/campaigns/"+id+"/recipients", bobTok, ""); status != 404 {
		t.Errorf("bob reads recipients: %d %v", status, body)
	}

	c := h.waitStatus(t, tok, id, 90*time.Second, "completed")
	counts := c["counts"].(map[string]any)
	if counts["sent"] != float64(rows) || counts["pending"] != float64(0) || counts["unknown"] != float64(0) || counts["failed"] != float64(0) {
		t.Errorf("counts %v", counts)
	}
	// The list shows the same counts as the campaign's own view.
	_, list := h.call(t, "GET", "/v1/campaigns", tok, "")
	listed := false
	for _, v := range list["campaigns"].([]any) {
		if lc := v.(map[string]any); lc["id"] == id {
			listed = true
			if !reflect.DeepEqual(lc["counts"], c["counts"]) {
				t.Errorf("the list shows counts %v, the view %v", lc["counts"], c["counts"])
			}
		}
	}
	if !listed {
		t.Errorf("campaign %s not in the list %v", id, list)
	}
	byTo := onceEach(t, h.sent(t, tag), tag, rows)
	alice, _ := devauth.FindUser("alice")
	for i := 1; i <= rows; i++ {
		m, ok := byTo[fmt.Sprintf("%s.%d@example.com", tag, i)]
		if !ok {
			continue
		}
		if m.Mailbox != strings.ToLower(alice.Email) || !m.SaveToSentItems || len(m.Attachments) != 1 {
			t.Errorf("row %d: mailbox %s, saveToSentItems %v, %d attachments", i, m.Mailbox, m.SaveToSentItems, len(m.Attachments))
		}
		eml, err := os.ReadFile(m.EMLPath)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(m.EMLPath, filepath.Join(h.MailDir, "graph")) {
			t.Errorf(".eml written to %s, not under the mail folder %s", m.EMLPath, h.MailDir)
		}
		want := fmt.Sprintf("Dear Person%d, a plan for Firm %d.", i, i)
		if m.Subject != fmt.Sprintf("Offer for Person%d %s", i, tag) || !strings.Contains(m.Body, want) || !bytes.Contains(eml, []byte("Offer.pdf")) {
			t.Errorf("row %d: subject %q, body %q", i, m.Subject, m.Body)
		}
	}
	states := h.rowStates(t, tok, id)
	if len(states) != rows {
		t.Errorf("%d rows listed, want %d", len(states), rows)
	}
	for row, s := range states {
		if s["status"] != "sent" || s["updatedAt"] == nil || s["to"] == "" {
			t.Errorf("row %d: %v", row, s)
		}
	}
	// Notices: started and completed, to the owner only, with counts and
	// without any recipient's data.
	deadline := time.Now().Add(30 * time.Second)
	for found := false; !found; time.Sleep(100 * time.Millisecond) {
		for _, n := range h.notices(t) {
			found = found || (n.To == alice.Email && strings.Contains(n.Subject, t.Name()) && n.Tag == "campaign-completed")
		}
		if !found && time.Now().After(deadline) {
			t.Fatalf("no completed notice within 30 s; notices: %+v", h.notices(t))
		}
	}
	kinds := map[string]int{}
	for _, n := range h.notices(t) {
		if !strings.Contains(n.Subject, t.Name()) {
			continue
		}
		kinds[n.Tag]++
		if n.To != alice.Email || strings.Contains(n.TextBody+n.HtmlBody, "@example.com") || strings.Contains(n.TextBody+n.HtmlBody, "Person1") {
			t.Errorf("notice %s to %s carries recipient data:\n%s", n.Tag, n.To, n.TextBody)
		}
	}
	if kinds["campaign-started"] != 1 || kinds["campaign-completed"] != 1 {
		t.Errorf("notices %v, want one started and one completed", kinds)
	}
	if strings.Contains(h.Output.String(), tag+".1@example.com") || strings.Contains(h.Output.String(), "Person1") {
		t.Errorf("the handler logged recipient data")
	}
}

// queueSend puts a raw message on a Storage queue the way the app does.
func queueSend(t *testing.T, name string, body []byte) {
	t.Helper()
	svc, err := azqueue.NewServiceClientFromConnectionString(testenv.IsolatedStorageConnectionString(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	q := svc.NewQueueClient(name)
	_, _ = q.Create(context.Background(), nil)
	if _, err := q.EnqueueMessage(context.Background(), base64.StdEncoding.EncodeToString(body), nil); err != nil {
		t.Fatal(err)
	}
}

// TestThrottlingAndUnknownOutcomes: a storm of 429s only delays rows; a
// 504 after Graph accepted makes that row unknown, never sent again; the
// same queue messages delivered twice send nothing twice.
func TestThrottlingAndUnknownOutcomes(t *testing.T) {
	t.Parallel()
	h := startHost(t, nil)
	tok, k := h.signIn(t, "alice")
	alice, _ := devauth.FindUser("alice")
	tag := testenv.Name("storm")
	const rows = 10
	// The first request gets a 504 after acceptance, the next six a 429.
	control(t, h.Graph+"/_sandbox/faults", `[{"kind":"504","mailbox":"`+alice.Email+`","count":1},
		{"kind":"429","mailbox":"`+alice.Email+`","count":6,"retryAfterSeconds":1}]`)
	id := h.startCampaign(t, tok, "alice", people(tag, rows), template{Subject: "Hi {{First name}} " + tag, HTML: "<p>Hi {{First name}}</p>"})
	// Duplicate deliveries of the start and of a send step.
	msg := fmt.Sprintf(`{"tenantId":%q,"objectId":%q,"campaignId":%q}`, k.TenantID, k.ObjectID, id)
	queueSend(t, "campaign-start", []byte(msg))
	eventually(t, 30*time.Second, "sending", func() bool { s := h.campaign(t, tok, id)["status"]; return s == "sending" || s == "completed" })
	st := openStore(t)
	c, err := st.Campaign(context.Background(), k, id)
	if err != nil {
		t.Fatal(err)
	}
	step := fmt.Sprintf(`{"tenantId":%q,"objectId":%q,"campaignId":%q,"step":%q}`, k.TenantID, k.ObjectID, id, c.StepToken)
	queueSend(t, "campaign-send", []byte(step))
	queueSend(t, "campaign-send", []byte(step))

	c2 := h.waitStatus(t, tok, id, 120*time.Second, "completed")
	counts := c2["counts"].(map[string]any)
	if counts["sent"] != float64(rows-1) || counts["unknown"] != float64(1) {
		t.Errorf("counts %v, want %d sent and 1 unknown", counts, rows-1)
	}
	// The unknown row was accepted by Graph once and never resent.
	onceEach(t, h.sent(t, tag), tag, rows)
	unknown := 0
	for row, s := range h.rowStates(t, tok, id) {
		if s["status"] == "unknown" {
			unknown++
			if s["reason"] == nil {
				t.Errorf("unknown row %d has no reason", row)
			}
		}
	}
	if unknown != 1 {
		t.Errorf("%d unknown rows, want 1", unknown)
	}
}

// handlerPIDs finds the handler processes of a staged app.
func handlerPIDs(t testing.TB, appDir string) []int {
	t.Helper()
	bin := filepath.Join(appDir, "handler")
	entries, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil && exe == bin {
			out = append(out, pid)
		}
	}
	return out
}

// TestHandlerKilledMidCampaign: the handler process dies while sending,
// with production timings. The local host restarts it; sending resumes
// within 30 s (the dead worker's pacing lease lapses, as nobody renews it)
// and the campaign completes within 2 minutes (the row it had in flight
// becomes unknown at its claim's deadline); nobody is mailed twice.
func TestHandlerKilledMidCampaign(t *testing.T) {
	t.Parallel()
	// One request in flight at a time: the dead worker's lease holds every
	// slot the mailbox has until it lapses.
	h := startHost(t, map[string]string{"SEND_CONCURRENT": "1"})
	tok, _ := h.signIn(t, "alice")
	alice, _ := devauth.FindUser("alice")
	tag := testenv.Name("crash")
	const rows = 20
	// Slow Graph answers, so the kill lands with a request in flight.
	control(t, h.Graph+"/_sandbox/faults", `{"kind":"latency","mailbox":"`+alice.Email+`","count":100,"delayMs":1700}`)
	id := h.startCampaign(t, tok, "alice", people(tag, rows), template{Subject: "Hi {{First name}} " + tag, HTML: "<p>Hi {{First name}}</p>"})
	eventually(t, 60*time.Second, "some rows sent", func() bool { return len(h.sent(t, tag)) >= 3 })
	// Half way through the next request.
	time.Sleep(time.Second)
	pids := handlerPIDs(t, h.AppDir)
	if len(pids) != 1 {
		t.Fatalf("handler processes: %v", pids)
	}
	before := len(h.sent(t, tag))
	killed := time.Now()
	if err := syscall.Kill(pids[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	eventually(t, 3*time.Minute, "the campaign completed", func() bool {
		status, got := h.call(t, "GET", "/v1/campaigns/"+id, tok, "")
		c = got
		return status == 200 && c["status"] == "completed"
	})
	completed, err := time.Parse(time.RFC3339Nano, c["completedAt"].(string))
	if err != nil {
		t.Fatal(err)
	}
	// Resumed: the first message after the kill that the dead worker did
	// not have in flight (that one may still reach Graph, and is unknown).
	inFlight := map[string]bool{}
	for row, r := range h.rowStates(t, tok, id) {
		if r["status"] == "unknown" {
			inFlight[fmt.Sprintf("%s.%d@example.com", tag, row-1)] = true
		}
	}
	resumed := time.Hour
	for _, m := range h.sent(t, tag) {
		if m.Time.After(killed) && !inFlight[m.To[0].Address] {
			resumed = min(resumed, m.Time.Sub(killed))
		}
	}
	t.Logf("kill -9 with %d of %d sent: next message %.1f s later, completed %.1f s later", before, rows, resumed.Seconds(), completed.Sub(killed).Seconds())
	if resumed > 30*time.Second {
		t.Errorf("sending resumed %v after the crash, want within 30 s", resumed)
	}
	if d := completed.Sub(killed); d > 2*time.Minute {
		t.Errorf("the campaign completed %v after the crash, want within 2 minutes", d)
	}
	counts := c["counts"].(map[string]any)
	sent, unknown := counts["sent"].(float64), counts["unknown"].(float64)
	if sent+unknown != rows || counts["pending"] != float64(0) || counts["sending"] != float64(0) {
		t.Errorf("counts %v: every row must be sent or unknown", counts)
	}
	msgs := h.sent(t, tag)
	byTo := map[string]int{}
	for _, m := range msgs {
		byTo[m.To[0].Address]++
	}
	for to, n := range byTo {
		if n > 1 {
			t.Errorf("%s received %d messages", to, n)
		}
	}
	// Every row Graph accepted is sent or unknown; none accepted is failed.
	if float64(len(msgs)) < sent || float64(len(msgs)) > sent+unknown {
		t.Errorf("the sandbox accepted %d messages; rows: %v sent, %v unknown", len(msgs), sent, unknown)
	}
	t.Logf("after the kill: %v sent, %v unknown (may have been sent)", sent, unknown)
}

// TestExpiredGrantPausesAndResumes: the user's grant is revoked while a
// campaign sends; it pauses, the owner is told to reopen the add-in, and
// after they do (install renews the grant) resume finishes every row.
func TestExpiredGrantPausesAndResumes(t *testing.T) {
	t.Parallel()
	// Short-lived Graph tokens, and sends 5 s apart: the campaign outlives
	// the token it started with, and the next one needs the revoked grant.
	h := startHost(t, map[string]string{"SEND_PER_MINUTE": "12"}, "-graph-token-lifetime", "30s")
	tok, _ := h.signIn(t, "alice")
	alice, _ := devauth.FindUser("alice")
	tag := testenv.Name("grant")
	const rows = 10
	id := h.startCampaign(t, tok, "alice", people(tag, rows), template{Subject: "Hi {{First name}} " + tag, HTML: "<p>Hi {{First name}}</p>"})
	eventually(t, 60*time.Second, "the first rows sent", func() bool { return len(h.sent(t, tag)) >= 1 })
	resp, err := h.entraClient.Post(h.Entra+"/dev/revoke", "application/json", strings.NewReader(`{"user":"alice"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()

	c := h.waitStatus(t, tok, id, 120*time.Second, "paused")
	if r, _ := c["reason"].(map[string]any); r == nil || r["code"] != "grant_expired" {
		t.Errorf("paused campaign: %v", c)
	}
	eventually(t, 30*time.Second, "the paused notice", func() bool {
		for _, n := range h.notices(t) {
			if n.To == alice.Email && n.Tag == "campaign-paused" && strings.Contains(n.Subject, t.Name()) && strings.Contains(n.TextBody, "add-in") {
				return true
			}
		}
		return false
	})
	sentBefore := len(h.sent(t, tag))
	// Resume with the old session fails until the add-in is reopened.
	tok = h.token(t, "alice")
	if status, body := h.call(t, "POST", "/v1/install", tok, ""); status != 200 || body["graph"].(map[string]any)["consent"] != "granted" {
		t.Fatalf("install after reopening: %d %v", status, body)
	}
	if status, body := h.call(t, "POST", "/v1/campaigns/"+id+"/resume", tok, ""); status != 200 || body["status"] != "sending" {
		t.Fatalf("resume: %d %v", status, body)
	}
	c = h.waitStatus(t, tok, id, 180*time.Second, "completed")
	if counts := c["counts"].(map[string]any); counts["sent"] != float64(rows) {
		t.Errorf("counts %v", counts)
	}
	onceEach(t, h.sent(t, tag), tag, rows)
	t.Logf("%d rows sent before the grant expired", sentBefore)
}

// TestPauseResumeCancel: pause stops sending (no message leaves once it
// has answered), resume goes on, cancel skips every row not sent; every
// row ends final.
func TestPauseResumeCancel(t *testing.T) {
	t.Parallel()
	h := startHost(t, map[string]string{"SEND_PER_MINUTE": "6"})
	tok, _ := h.signIn(t, "alice")
	tag := testenv.Name("ctl")
	const rows = 30
	id := h.startCampaign(t, tok, "alice", people(tag, rows), template{Subject: "Hi {{First name}} " + tag, HTML: "<p>Hi {{First name}}</p>"})
	eventually(t, 60*time.Second, "the first rows sent", func() bool { return len(h.sent(t, tag)) >= 2 })
	if status, body := h.call(t, "POST", "/v1/campaigns/"+id+"/pause", tok, ""); status != 200 || body["status"] != "paused" {
		t.Fatalf("pause: %d %v", status, body)
	}
	// Pause answers once the messages in flight have gone: none after.
	paused := len(h.sent(t, tag))
	time.Sleep(4 * time.Second)
	if n := len(h.sent(t, tag)); n != paused {
		t.Errorf("%d messages sent while paused", n-paused)
	}
	if status, body := h.call(t, "POST", "/v1/campaigns/"+id+"/cancel", bobOr(t, h), ""); status != 404 {
		t.Errorf("another account cancels: %d %v", status, body)
	}
	if status, body := h.call(t, "POST", "/v1/campaigns/"+id+"/resume", tok, ""); status != 200 || body["status"] != "sending" {
		t.Fatalf("resume: %d %v", status, body)
	}
	eventually(t, 60*time.Second, "sending again", func() bool { return len(h.sent(t, tag)) > paused })
	if status, body := h.call(t, "POST", "/v1/campaigns/"+id+"/cancel", tok, ""); status != 200 || body["status"] != "cancelled" {
		t.Fatalf("cancel: %d %v", status, body)
	}
	var counts map[string]any
	eventually(t, 60*time.Second, "the cancellation settled", func() bool {
		c := h.campaign(t, tok, id)
		counts = c["counts"].(map[string]any)
		return c["completedAt"] != nil && counts["pending"] == float64(0) && counts["sending"] == float64(0)
	})
	sent := len(h.sent(t, tag))
	if counts["sent"].(float64)+counts["unknown"].(float64) != float64(sent) || counts["skipped"].(float64) != float64(rows-sent) {
		t.Errorf("counts %v with %d messages sent", counts, sent)
	}
	if status, body := h.call(t, "POST", "/v1/campaigns/"+id+"/resume", tok, ""); status != 409 {
		t.Errorf("resume after cancel: %d %v", status, body)
	}
}

// bobOr signs bob in: another account of the same tenant.
func bobOr(t *testing.T, h *host) string {
	t.Helper()
	tok, _ := h.signIn(t, "bob")
	return tok
}

// TestApplicationPermission: with GRAPH_PERMISSION=application the app's
// own Mail.Send sends from the owner's mailbox as /users/{id}, with no
// user grant stored.
func TestApplicationPermission(t *testing.T) {
	t.Parallel()
	h := startHost(t, map[string]string{"GRAPH_PERMISSION": "application"})
	tok, _ := h.signIn(t, "carol")
	carol, _ := devauth.FindUser("carol")
	tag := testenv.Name("app")
	const rows = 3
	id := h.startCampaign(t, tok, "carol", people(tag, rows), template{Subject: "Hi {{First name}} " + tag, HTML: "<p>Hi {{First name}}</p>"})
	h.waitStatus(t, tok, id, 60*time.Second, "completed")
	for _, m := range onceEach(t, h.sent(t, tag), tag, rows) {
		if m.Mailbox != strings.ToLower(carol.Email) {
			t.Errorf("sent from %s, want %s", m.Mailbox, carol.Email)
		}
	}
}
