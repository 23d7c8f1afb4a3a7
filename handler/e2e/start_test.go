package e2e

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"mailmerge/handler/internal/dev/graphsandbox"
	"mailmerge/handler/internal/dev/testenv"
)

// TestReviewThenStart: a campaign in review mode holds its accepted
// template email (state review, nothing sent, the owner told), takes a
// newer email in its place, and sends every row once its owner starts it.
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
	started := time.Now()
	if status, body := h.call(t, "POST", "/v1/campaigns/"+id+"/start", tok, ""); status != 200 {
		t.Fatalf("start: %d %v", status, body)
	}
	got := h.waitStatus(t, tok, id, 60*time.Second, "completed")
	msgs := h.sent(t, tag)
	if counts := got["counts"].(map[string]any); counts["sent"] != float64(3) || len(msgs) != 3 {
		t.Fatalf("counts %v, %d messages", counts, len(msgs))
	}
	for _, m := range msgs {
		if !strings.HasPrefix(m.Subject, "Hi ") || !strings.Contains(m.Body, "New Firm") {
			t.Errorf("a message of the replaced email: %q", m.Subject)
		}
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
	h.waitStatus(t, tok, id, 15*time.Second, "scheduled")
	// The handler dies while the campaign waits.
	pids := handlerPIDs(t, h.AppDir)
	if len(pids) != 1 {
		t.Fatalf("handler processes: %v", pids)
	}
	if err := syscall.Kill(pids[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for time.Now().Before(at.Add(-time.Second)) {
		if n := len(h.sent(t, tag)); n != 0 {
			t.Fatalf("%d messages sent %v before the start time", n, time.Until(at))
		}
		time.Sleep(500 * time.Millisecond)
	}
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
