package e2e

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"mailmerge/handler/internal/dev/graphsandbox"
	"mailmerge/handler/internal/dev/testenv"
)

// TestReviewThenStart: a campaign in review mode holds its accepted
// template email (state review, nothing sent, the owner told), takes a
// newer email in its place, sends the owner a test of row 3 ("[Test] ",
// to them alone, no row changed), and sends every row once its owner
// starts it.
func TestReviewThenStart(t *testing.T) {
	t.Parallel()
	h := startHost(t, nil)
	tok, _ := h.signIn(t, "alice")
	tag := testenv.Name("review")
	id, c := h.newCampaign(t, tok, `{"name":"Review `+tag+`","start":"review"}`)
	if c["start"] != "review" {
		t.Fatalf("start mode %v", c["start"])
	}
	token := strings.TrimPrefix(strings.Split(c["inboundAddress"].(string), "@")[0], "campaigns+")
	h.upload(t, tok, id, "list.csv", people(tag, 3))
	if data := h.processed(t, tok, id); data["status"] != "ready" {
		t.Fatalf("data %v", data)
	}
	if status, body := h.call(t, "POST", "/v1/campaigns/"+id+"/start", tok, ""); status != 409 || body["error"].(map[string]any)["code"] != "no_template" {
		t.Errorf("start before the email: %d %v", status, body)
	}
	h.sendTemplate(t, "alice", token, template{Subject: "First draft {{First name}} " + tag, HTML: "<p>Old</p>"})
	h.waitStatus(t, tok, id, 30*time.Second, "review")
	eventually(t, 10*time.Second, "the owner told it is held", func() bool {
		for _, n := range h.notices(t) {
			if strings.Contains(n.Subject, "ready for your review") && strings.Contains(n.Subject, "Review "+tag) {
				return true
			}
		}
		return false
	})
	// A newer email replaces the held one.
	h.sendTemplate(t, "alice", token, template{Subject: "Hi {{First name}} " + tag, HTML: "<p>New {{Company}}</p>"})
	h.waitStatus(t, tok, id, 30*time.Second, "review")
	time.Sleep(2 * time.Second)
	if n := len(h.sent(t, tag)); n != 0 {
		t.Fatalf("%d messages sent while in review", n)
	}
	// A test of row 3, to the owner, from the owner's mailbox.
	asked := time.Now()
	status, res := h.call(t, "POST", "/v1/campaigns/"+id+"/test", tok, `{"row":3}`)
	roundTrip := time.Since(asked)
	if status != 200 || res["to"] != "alice@contoso.example" || res["subject"] != "[Test] Hi Person2 "+tag {
		t.Fatalf("test: %d %v", status, res)
	}
	t.Logf("the test's round trip: %v", roundTrip.Round(time.Millisecond))
	tests := h.sent(t, tag)
	if len(tests) != 1 || len(tests[0].To) != 1 || tests[0].To[0].Address != "alice@contoso.example" || len(tests[0].Cc)+len(tests[0].Bcc) != 0 ||
		!strings.Contains(tests[0].Body, "New Firm 2") || tests[0].Mailbox != "alice@contoso.example" {
		t.Fatalf("the test message: %+v", tests)
	}
	if got := h.campaign(t, tok, id); got["status"] != "review" {
		t.Errorf("after the test the campaign is %v", got["status"])
	}
	for row, r := range h.rowStates(t, tok, id) {
		if r["status"] != "pending" {
			t.Errorf("row %d is %v after the test", row, r["status"])
		}
	}
	started := time.Now()
	if status, body := h.call(t, "POST", "/v1/campaigns/"+id+"/start", tok, ""); status != 200 {
		t.Fatalf("start: %d %v", status, body)
	}
	got := h.waitStatus(t, tok, id, 60*time.Second, "completed")
	msgs := h.sent(t, tag)[1:] // after the test
	if counts := got["counts"].(map[string]any); counts["sent"] != float64(3) || len(msgs) != 3 {
		t.Fatalf("counts %v, %d messages", counts, len(msgs))
	}
	for _, m := range msgs {
		if !strings.HasPrefix(m.Subject, "Hi ") || !strings.Contains(m.Body, "New Firm") {
			t.Errorf("a message of the replaced email: %q", m.Subject)
		}
	}
	if status, _ := h.call(t, "POST", "/v1/campaigns/"+id+"/test", tok, `{"row":3}`); status != 409 {
		t.Errorf("a test after the campaign completed: %d", status)
	}
	t.Logf("from start to the first message: %v", firstSent(msgs).Sub(started).Round(time.Millisecond))
}

// TestScheduledStart: a campaign given a start time 20 s ahead holds its
// accepted email in scheduled, sends nothing before, survives a kill -9
// of the handler while it waits, and starts within 10 s of the time,
// every row once.
func TestScheduledStart(t *testing.T) {
	t.Parallel()
	h := startHost(t, nil)
	tok, _ := h.signIn(t, "alice")
	tag := testenv.Name("sched")
	at := time.Now().Add(20 * time.Second).UTC().Truncate(time.Second)
	id, c := h.newCampaign(t, tok, fmt.Sprintf(`{"name":"Scheduled %s","startAt":%q}`, tag, at.Format(time.RFC3339)))
	if c["startAt"] != at.Format(time.RFC3339) {
		t.Fatalf("startAt %v, want %s", c["startAt"], at.Format(time.RFC3339))
	}
	token := strings.TrimPrefix(strings.Split(c["inboundAddress"].(string), "@")[0], "campaigns+")
	h.upload(t, tok, id, "list.csv", people(tag, 3))
	if data := h.processed(t, tok, id); data["status"] != "ready" {
		t.Fatalf("data %v", data)
	}
	h.sendTemplate(t, "alice", token, template{Subject: "Hi {{First name}} " + tag, HTML: "<p>Hello</p>"})
	h.waitStatus(t, tok, id, time.Minute, "scheduled")
	// The handler dies while the campaign waits.
	h.killHandler(t)
	h.nothingSentBefore(t, tag, at)
	got := h.waitStatus(t, tok, id, 60*time.Second, "completed")
	msgs := h.sent(t, tag)
	if counts := got["counts"].(map[string]any); counts["sent"] != float64(3) || len(msgs) != 3 {
		t.Fatalf("counts %v, %d messages (each row once)", counts, len(msgs))
	}
	first := firstSent(msgs)
	if first.Before(at) || first.After(at.Add(10*time.Second)) {
		t.Errorf("the first message left at %v, %v after the start time; want within 10 s", first, first.Sub(at))
	}
	t.Logf("the first message left %v after the start time", first.Sub(at).Round(time.Millisecond))
}

// firstSent is when the Graph sandbox took the first of msgs.
func firstSent(msgs []graphsandbox.Accepted) time.Time {
	var first time.Time
	for _, m := range msgs {
		if first.IsZero() || m.Time.Before(first) {
			first = m.Time
		}
	}
	return first
}

// TestTestMessages: in ready, before its template email, a campaign sends
// a test of the add-in's draft; a campaign sends at most 20 tests an hour
// (429 and Retry-After beyond); a draft with a misspelt placeholder is
// refused with the problem named; another account's campaign is not
// found.
func TestTestMessages(t *testing.T) {
	t.Parallel()
	h := startHost(t, map[string]string{"SEND_PER_MINUTE": "6000", "SEND_ABOVE_EXCHANGE_LIMITS": "true"})
	tok, _ := h.signIn(t, "alice")
	tag := testenv.Name("tests")
	id, _ := h.readyCampaign(t, tok, people(tag, 2))
	draft := func(subject string) string {
		return fmt.Sprintf(`{"row":2,"subject":%q,"html":"<p>Dear {{First name}}</p>"}`, subject+" "+tag)
	}
	if status, res := h.call(t, "POST", "/v1/campaigns/"+id+"/test", tok, draft("Hi {{Frist name}}")); status != 400 || !strings.Contains(fmt.Sprint(res), "Frist name") {
		t.Errorf("a draft with a typo: %d %v", status, res)
	}
	for i := 1; i <= 20; i++ {
		var status int
		var res map[string]any
		eventually(t, 10*time.Second, "test sent", func() bool {
			status, res = h.call(t, "POST", "/v1/campaigns/"+id+"/test", tok, draft("Hi {{First name}}"))
			return status != 429 || res["error"].(map[string]any)["code"] != "mailbox_busy"
		})
		if status != 200 || res["subject"] != "[Test] Hi Person1 "+tag {
			t.Fatalf("test %d: %d %v", i, status, res)
		}
	}
	req, _ := http.NewRequest("POST", h.URL+"/v1/campaigns/"+id+"/test", strings.NewReader(draft("Hi {{First name}}")))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if wait, _ := strconv.Atoi(resp.Header.Get("Retry-After")); resp.StatusCode != 429 || wait < 3000 || wait > 3600 {
		t.Errorf("the 21st test: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if n := len(h.sent(t, tag)); n != 20 {
		t.Errorf("%d test messages sent, want 20", n)
	}
	bob, _ := h.signIn(t, "bob")
	if status, _ := h.call(t, "POST", "/v1/campaigns/"+id+"/test", bob, draft("Hi {{First name}}")); status != 404 {
		t.Errorf("bob's test of alice's campaign: %d", status)
	}
	if got := h.campaign(t, tok, id); got["status"] != "ready" {
		t.Errorf("after the tests the campaign is %v", got["status"])
	}
}

// TestSendingWindow: a campaign whose sending window is closed when its
// email arrives sends nothing and says when the window opens
// (nextWindowAt); a kill -9 of the handler while it waits loses nothing;
// when the window opens every row goes, once, and none before.
func TestSendingWindow(t *testing.T) {
	t.Parallel()
	h := startHost(t, nil)
	tok, _ := h.signIn(t, "alice")
	tag := testenv.Name("window")
	// A window that opens at the next whole minute at least 20 s away,
	// for two minutes, in a zone where that is not near midnight.
	var zone *time.Location
	for _, name := range []string{"UTC", "Asia/Tokyo", "America/New_York"} {
		loc, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		if hr := time.Now().In(loc).Hour(); hr > 0 && hr < 23 {
			zone = loc
			break
		}
	}
	opens := time.Now().Add(20 * time.Second).In(zone).Truncate(time.Minute).Add(time.Minute)
	window := fmt.Sprintf(`{"days":["mon","tue","wed","thu","fri","sat","sun"],"from":%q,"to":%q,"timeZone":%q}`,
		opens.Format("15:04"), opens.Add(2*time.Minute).Format("15:04"), zone.String())
	id, c := h.newCampaign(t, tok, `{"name":"Window `+tag+`","window":`+window+`}`)
	if c["window"] == nil {
		t.Fatalf("window not kept: %v", c)
	}
	token := strings.TrimPrefix(strings.Split(c["inboundAddress"].(string), "@")[0], "campaigns+")
	h.upload(t, tok, id, "list.csv", people(tag, 3))
	if data := h.processed(t, tok, id); data["status"] != "ready" {
		t.Fatalf("data %v", data)
	}
	h.sendTemplate(t, "alice", token, template{Subject: "Hi {{First name}} " + tag, HTML: "<p>Hello</p>"})
	got := h.waitStatus(t, tok, id, 15*time.Second, "sending")
	if got["nextWindowAt"] != opens.UTC().Format(time.RFC3339) {
		t.Errorf("nextWindowAt %v, want %s", got["nextWindowAt"], opens.UTC().Format(time.RFC3339))
	}
	// The handler dies while the campaign waits for its window.
	time.Sleep(2 * time.Second)
	h.killHandler(t)
	h.nothingSentBefore(t, tag, opens)
	got = h.waitStatus(t, tok, id, 60*time.Second, "completed")
	msgs := h.sent(t, tag)
	if counts := got["counts"].(map[string]any); counts["sent"] != float64(3) || len(msgs) != 3 {
		t.Fatalf("counts %v, %d messages (each row once)", counts, len(msgs))
	}
	if first := firstSent(msgs); first.Before(opens) || first.After(opens.Add(10*time.Second)) {
		t.Errorf("the first message left %v after the window opened", first.Sub(opens))
	}
	if got["nextWindowAt"] != nil {
		t.Errorf("a completed campaign shows nextWindowAt %v", got["nextWindowAt"])
	}
}

// killHandler kills the handler with SIGKILL (kill -9); the local host
// starts it again, as the Functions host does.
func (h *host) killHandler(t *testing.T) {
	t.Helper()
	pids := handlerPIDs(t, h.AppDir)
	if len(pids) != 1 {
		t.Fatalf("handler processes: %v", pids)
	}
	if err := syscall.Kill(pids[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
}

// nothingSentBefore watches that no message of tag leaves until a second
// before at.
func (h *host) nothingSentBefore(t *testing.T, tag string, at time.Time) {
	t.Helper()
	for time.Now().Before(at.Add(-time.Second)) {
		if n := len(h.sent(t, tag)); n != 0 {
			t.Fatalf("%d messages sent %v before %v", n, time.Until(at), at)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// TestAddressShownAgain: a campaign's address is shown to its owner
// whenever asked until the campaign starts (another device, another day),
// a new one replaces it, and the old one then starts nothing.
func TestAddressShownAgain(t *testing.T) {
	t.Parallel()
	h := startHost(t, nil)
	tok, _ := h.signIn(t, "alice")
	tag := testenv.Name("addr")
	id, c := h.newCampaign(t, tok, `{"name":"Address `+tag+`"}`)
	first := c["inboundAddress"].(string)
	if got := h.campaign(t, tok, id); got["inboundAddress"] != first {
		t.Fatalf("the address read again: %v, want %s", got["inboundAddress"], first)
	}
	bob, _ := h.signIn(t, "bob")
	if status, _ := h.call(t, "GET", "/v1/campaigns/"+id, bob, ""); status != 404 {
		t.Errorf("bob reads alice's campaign: %d", status)
	}
	status, renewed := h.call(t, "POST", "/v1/campaigns/"+id+"/address", tok, "")
	second, _ := renewed["inboundAddress"].(string)
	if status != 200 || second == "" || second == first {
		t.Fatalf("new address: %d %v", status, renewed)
	}
	if got := h.campaign(t, tok, id); got["inboundAddress"] != second {
		t.Errorf("after a new address: %v, want %s", got["inboundAddress"], second)
	}
	h.upload(t, tok, id, "list.csv", people(tag, 1))
	if data := h.processed(t, tok, id); data["status"] != "ready" {
		t.Fatalf("data %v", data)
	}
	oldToken := strings.TrimPrefix(strings.Split(first, "@")[0], "campaigns+")
	if status, _ := h.postInbound(t, "postmark", "e2e-webhook-password", templatePayload(testenv.Name("msg-"), oldToken, "alice@contoso.example",
		template{Subject: "Hi {{First name}} " + tag, HTML: "<p>Hi</p>"})); status != 403 {
		t.Errorf("the old address: %d, want 403", status)
	}
	h.sendTemplate(t, "alice", strings.TrimPrefix(strings.Split(second, "@")[0], "campaigns+"), template{Subject: "Hi {{First name}} " + tag, HTML: "<p>Hi</p>"})
	got := h.waitStatus(t, tok, id, 60*time.Second, "completed")
	if got["inboundAddress"] != nil {
		t.Errorf("a completed campaign still shows its address")
	}
}
