package e2e

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"mailmerge/handler/internal/dev/devauth"
	"mailmerge/handler/internal/dev/testenv"
)

// readingOn lets the service read login's mailbox: the consent to
// Mail.ReadBasic given in the dev sign-in, then the account's setting.
func (h *host) readingOn(t *testing.T, tok, login string) {
	t.Helper()
	resp, err := h.entraClient.Post(h.Entra+"/dev/consent", "application/json",
		strings.NewReader(`{"user":"`+login+`","permission":"Mail.ReadBasic"}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("consent: %d %s", resp.StatusCode, body)
	}
	if status, me := h.call(t, "PATCH", "/v1/me", tok, `{"readMailbox":true}`); status != http.StatusOK || me["readMailbox"] != true {
		t.Fatalf("reading on: %d %v", status, me)
	}
}

// TestInDoubtSendsResolved: with reading on, 20 rows of which three get a
// 504 after Graph accepted them and three time out before it did: every
// row ends sent, each recipient is mailed once, none is unknown. The
// accepted ones are found in the mailbox (never sent again); the others
// are not, and go once more with the same Message-ID.
func TestInDoubtSendsResolved(t *testing.T) {
	t.Parallel()
	h := startHost(t, map[string]string{"SEND_LOOK_AFTER": "1s"})
	tok, _ := h.signIn(t, "alice")
	h.readingOn(t, tok, "alice")
	alice, _ := devauth.FindUser("alice")
	tag := testenv.Name("doubt")
	const rows = 20
	control(t, h.Graph+"/_sandbox/faults", `[{"kind":"timeout-after-accept","mailbox":"`+alice.Email+`","count":3},
		{"kind":"timeout-before-accept","mailbox":"`+alice.Email+`","count":3,"delayMs":500}]`)
	start := time.Now()
	id := h.startCampaign(t, tok, "alice", people(tag, rows), template{Subject: "Hi {{First name}} " + tag, HTML: "<p>Hi {{First name}}</p>"})
	c := h.waitStatus(t, tok, id, 3*time.Minute, "completed")
	counts := c["counts"].(map[string]any)
	if counts["sent"] != float64(rows) || counts["unknown"] != float64(0) {
		t.Errorf("counts %v, want all %d sent and none unknown", counts, rows)
	}
	msgs := h.sent(t, tag)
	onceEach(t, msgs, tag, rows)
	// Each went with a Message-ID of ours, one a row: the one it is
	// looked for by.
	ids := map[string]bool{}
	for _, m := range msgs {
		if !strings.HasSuffix(m.MessageID, "@127.0.0.1>") || ids[m.MessageID] {
			t.Errorf("message to %s has Message-ID %q", m.To[0].Address, m.MessageID)
		}
		ids[m.MessageID] = true
	}
	for row, s := range h.rowStates(t, tok, id) {
		if s["status"] != "sent" {
			t.Errorf("row %d is %v", row, s["status"])
		}
	}
	t.Logf("20 rows, 3 answers lost after acceptance and 3 before: completed in %.1f s", time.Since(start).Seconds())
}

// TestInDoubtAfterCrash: with reading on, the handler is killed (kill -9)
// with a request in flight. The row it had claimed is looked for in the
// mailbox once its claim's deadline passes: it ends sent (found, or not
// found and sent once more), never mailed twice, and no row is unknown.
func TestInDoubtAfterCrash(t *testing.T) {
	t.Parallel()
	h := startHost(t, map[string]string{"SEND_CONCURRENT": "1", "SEND_LOOK_AFTER": "1s"})
	tok, _ := h.signIn(t, "alice")
	h.readingOn(t, tok, "alice")
	alice, _ := devauth.FindUser("alice")
	tag := testenv.Name("doubtcrash")
	const rows = 12
	control(t, h.Graph+"/_sandbox/faults", `{"kind":"latency","mailbox":"`+alice.Email+`","count":100,"delayMs":1700}`)
	id := h.startCampaign(t, tok, "alice", people(tag, rows), template{Subject: "Hi {{First name}} " + tag, HTML: "<p>Hi {{First name}}</p>"})
	eventually(t, 60*time.Second, "some rows sent", func() bool { return len(h.sent(t, tag)) >= 3 })
	time.Sleep(time.Second) // half way through the next request
	pids := handlerPIDs(t, h.AppDir)
	if len(pids) != 1 {
		t.Fatalf("handler processes: %v", pids)
	}
	killed := time.Now()
	if err := syscall.Kill(pids[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	// While the local host starts the handler again, the API answers 5xx.
	var c map[string]any
	eventually(t, 4*time.Minute, "the campaign completed", func() bool {
		status, got := h.call(t, "GET", "/v1/campaigns/"+id, tok, "")
		c = got
		return status == 200 && c["status"] == "completed"
	})
	counts := c["counts"].(map[string]any)
	if counts["sent"] != float64(rows) || counts["unknown"] != float64(0) {
		t.Errorf("counts %v, want all %d sent and none unknown", counts, rows)
	}
	onceEach(t, h.sent(t, tag), tag, rows)
	t.Logf("kill -9 with a request in flight: completed %.1f s later, every row sent once (%s)", time.Since(killed).Seconds(), fmt.Sprint(counts))
}
