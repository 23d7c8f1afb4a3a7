package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"mailmerge/handler/internal/dev/devauth"
	"mailmerge/handler/internal/dev/testenv"
)

// TestConcurrentTemplateEmails: several different template emails reach one
// ready campaign at the same moment. Exactly one is accepted, and it is the
// one every recipient gets (subject, body, attachment); the refused ones
// leave nothing stored, and their sender hears that they were not used,
// never that the campaign did not start.
func TestConcurrentTemplateEmails(t *testing.T) {
	t.Parallel()
	h := startHost(t, nil)
	tok, key := h.signIn(t, "alice")
	alice, _ := devauth.FindUser("alice")
	st := openStore(t)
	const rounds, emails, rows = 5, 5, 2
	for round := range rounds {
		tag := testenv.Name("race")
		id, token := h.readyCampaign(t, tok, people(tag, rows))
		type answer struct {
			status int
			body   map[string]any
		}
		answers := make([]answer, emails)
		payloads := make([][]byte, emails)
		for i := range emails {
			payloads[i] = templatePayload(testenv.Name("msg-"), token, alice.Email, template{
				Subject:     fmt.Sprintf("Email %d for {{First name}} %s", i, tag),
				HTML:        fmt.Sprintf("<p>Body %d for {{First name}}</p>", i),
				Attachments: map[string]string{fmt.Sprintf("offer-%d.pdf", i): fmt.Sprintf("%%PDF-1.4 offer %d", i)},
			})
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range emails {
			wg.Go(func() {
				<-start
				answers[i].status, answers[i].body = h.postInbound(t, "postmark", "e2e-webhook-password", payloads[i])
			})
		}
		close(start)
		wg.Wait()
		winner := -1
		for i, a := range answers {
			switch {
			case a.status == 200 && a.body["status"] == "queued":
				if winner >= 0 {
					t.Fatalf("round %d: emails %d and %d both queued", round, winner, i)
				}
				winner = i
			case a.status == 403 && a.body["error"].(map[string]any)["code"] == "campaign_started":
			default:
				t.Errorf("round %d: email %d: %d %v", round, i, a.status, a.body)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: no email queued: %v", round, answers)
		}
		c := h.waitStatus(t, tok, id, 2*time.Minute, "completed")
		if c["refused"] != nil {
			t.Errorf("round %d: a started campaign shows a refusal: %v", round, c["refused"])
		}
		msgs := h.sent(t, tag)
		if len(msgs) != rows {
			t.Fatalf("round %d: %d messages, want %d", round, len(msgs), rows)
		}
		for _, m := range msgs {
			want := fmt.Sprintf("Email %d for ", winner)
			if !strings.HasPrefix(m.Subject, want) || len(m.Attachments) != 1 || m.Attachments[0].Name != fmt.Sprintf("offer-%d.pdf", winner) ||
				!strings.Contains(m.Body, fmt.Sprintf("Body %d for", winner)) {
				t.Errorf("round %d: email %d was accepted, but a recipient got %q with %+v", round, winner, m.Subject, m.Attachments)
			}
		}
		// Only the accepted email is stored.
		names, err := st.ListBlobs(context.Background(), "originals", key.String()+"/"+id+"/")
		if err != nil {
			t.Fatal(err)
		}
		templates := 0
		for _, n := range names {
			if strings.HasSuffix(n, "/template.json") {
				templates++
			}
		}
		if templates != 1 || len(names) != 2 {
			t.Errorf("round %d: stored originals %v, want the accepted email and its attachment", round, names)
		}
		// The owner hears of every email not used, and never that a
		// started campaign was not started.
		var notUsed int
		eventually(t, 30*time.Second, "a notice for each email not used", func() bool {
			notUsed = 0
			for _, n := range h.notices(t) {
				if !strings.Contains(n.TextBody, "Campaign id: "+id) {
					continue
				}
				if n.Tag == "campaign-refused" {
					t.Fatalf("round %d: a started campaign got %q", round, n.Subject)
				}
				if n.Tag == "campaign-not_used" {
					notUsed++
				}
			}
			return notUsed >= emails-1
		})
		if notUsed != emails-1 {
			t.Errorf("round %d: %d notices of emails not used, want %d", round, notUsed, emails-1)
		}
	}
}
