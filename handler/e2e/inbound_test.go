package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"mailmerge/handler/internal/dev/devauth"
	"mailmerge/handler/internal/dev/testenv"
)

// inboundPayload is Postmark's inbound webhook JSON for a template email
// from sender to a campaign's plus-address token.
func inboundPayload(messageID, token, sender string, headers map[string]string) []byte {
	hs := []map[string]string{
		{"Name": "X-Spam-Status", "Value": "No"},
		{"Name": "X-Spam-Tests", "Value": "DKIM_SIGNED,DKIM_VALID,\n\tSPF_PASS"},
		{"Name": "Received-SPF", "Value": `pass (x) receiver=p-pm-inboundg03a-aws-euwest1a; identity=mailfrom; envelope-from="` + sender + `"; helo=x; client-ip=40.107.22.100`},
	}
	for k, v := range headers {
		for _, h := range hs {
			if h["Name"] == k {
				h["Value"] = v
			}
		}
	}
	to := "campaigns+" + token + "@inbound.mailmerge.localhost"
	b, _ := json.Marshal(map[string]any{
		"MessageID": messageID, "MessageStream": "inbound", "From": sender, "FromName": "Sender",
		"FromFull": map[string]string{"Email": sender, "Name": "Sender", "MailboxHash": ""},
		"To":       to, "ToFull": []map[string]string{{"Email": to, "Name": "", "MailboxHash": token}},
		"Cc": "", "CcFull": []any{}, "Bcc": "", "BccFull": []any{}, "OriginalRecipient": to, "ReplyTo": "",
		"Subject": "Hello {{First name}}", "MailboxHash": token, "Date": "Sat, 28 Nov 2026 13:20:01 +0000",
		"TextBody": "Dear {{First name}}", "HtmlBody": "<p class=MsoNormal>Dear {{First&nbsp;name}}<o:p></o:p></p>",
		"StrippedTextReply": "", "Tag": "", "Headers": hs,
		"Attachments": []map[string]any{{"Name": "Offer.pdf", "Content": base64.StdEncoding.EncodeToString([]byte("%PDF-1.4 offer")),
			"ContentType": "application/pdf", "ContentLength": 14, "ContentID": ""}},
	})
	return b
}

// withAttachment replaces the payload's attachment content and announced
// length.
func withAttachment(t testing.TB, payload []byte, content string, length int) []byte {
	t.Helper()
	var p map[string]any
	if err := json.Unmarshal(payload, &p); err != nil {
		t.Fatal(err)
	}
	at := p["Attachments"].([]any)[0].(map[string]any)
	at["Content"], at["ContentLength"] = content, length
	b, _ := json.Marshal(p)
	return b
}

func (h *host) postInbound(t testing.TB, user, pass string, payload []byte) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", h.URL+"/hooks/postmark/inbound", bytes.NewReader(payload))
	req.SetBasicAuth(user, pass)
	req.Header.Set("Content-Type", "application/json")
	return testenv.DoJSON(t, req)
}

// TestInboundWebhook: the template email sent to the campaign's address
// queues the campaign once; everything else is refused with 403.
func TestInboundWebhook(t *testing.T) {
	t.Parallel()
	h := startHost(t, nil)
	st := openStore(t)
	alice, _ := devauth.FindUser("alice")
	tok, k := h.signIn(t, "alice")
	id, c := h.newCampaign(t, tok, `{"name":"Inbound"}`)
	token := strings.TrimPrefix(strings.Split(c["inboundAddress"].(string), "@")[0], "campaigns+")
	_, draft := h.newCampaign(t, tok, `{"name":"Still a draft"}`)
	draftToken := strings.TrimPrefix(strings.Split(draft["inboundAddress"].(string), "@")[0], "campaigns+")
	h.upload(t, tok, id, "list.csv", []byte("Email,First name\nann@example.com,Ann\n"))
	if data := h.processed(t, tok, id); data["status"] != "ready" {
		t.Fatalf("data %v", data)
	}
	const user, pass = "postmark", "e2e-webhook-password"
	msgID := testenv.Name("msg-")

	refusals := []struct {
		name     string
		password string
		payload  []byte
		status   int
		code     string
	}{
		{"bad password", "postmark", inboundPayload(msgID, token, alice.Email, nil), 403, "forbidden"},
		{"malformed", pass, []byte(`{"MessageID":`), 400, "payload_invalid"},
		{"unknown address", pass, inboundPayload(msgID, "aaaabbbbccccddddeeeeffff00", alice.Email, nil), 403, "unknown_address"},
		{"not the owner", pass, inboundPayload(msgID, token, "bob@contoso.example", nil), 403, "not_owner"},
		{"spam", pass, inboundPayload(msgID, token, alice.Email, map[string]string{"X-Spam-Status": "Yes, score=9"}), 403, "sender_not_verified"},
		{"SPF for another domain", pass, inboundPayload(msgID, token, alice.Email, map[string]string{"Received-SPF": `pass (x) envelope-from="x@mailer.example"`}), 403, "sender_not_verified"},
		{"campaign not ready", pass, inboundPayload(msgID, draftToken, alice.Email, nil), 403, "campaign_not_ready"},
		// Attachments that did not arrive whole would reach every recipient damaged.
		{"attachment without content", pass, withAttachment(t, inboundPayload(testenv.Name("msg-"), token, alice.Email, nil), "", 1_153_433), 403, "attachment_damaged"},
		{"attachment cut short", pass, withAttachment(t, inboundPayload(testenv.Name("msg-"), token, alice.Email, nil), base64.StdEncoding.EncodeToString([]byte("%PDF")), 14), 403, "attachment_damaged"},
	}
	for _, r := range refusals {
		status, body := h.postInbound(t, user, r.password, r.payload)
		if status != r.status || testenv.ErrorCode(body) != r.code {
			t.Errorf("%s: %d %v, want %d %s", r.name, status, body, r.status, r.code)
		}
	}
	if _, d := h.call(t, "GET", "/v1/campaigns/"+draft["id"].(string), tok, ""); d["refused"] == nil {
		t.Errorf("the owner is not told why the draft did not start: %v", d)
	}
	if _, d := h.call(t, "GET", "/v1/campaigns/"+id, tok, ""); d["status"] != "ready" || d["refused"] == nil || d["refused"].(map[string]any)["code"] != "attachment_damaged" {
		t.Errorf("the owner is not told the attachment was damaged: %v", d)
	}
	if names, _ := st.ListBlobs(context.Background(), "originals", k.String()+"/"+id+"/"); len(names) != 0 {
		t.Errorf("refused emails were stored: %v", names)
	}
	// ...and is emailed the reason.
	eventually(t, 30*time.Second, "the refusal notice", func() bool {
		for _, n := range h.notices(t) {
			if n.To == alice.Email && n.Tag == "campaign-refused" && strings.Contains(n.Subject, "Still a draft") && strings.Contains(n.TextBody, "draft") {
				return true
			}
		}
		return false
	})

	status, body := h.postInbound(t, user, pass, inboundPayload(msgID, token, alice.Email, nil))
	if status != 200 || body["status"] != "queued" {
		t.Fatalf("accepted: %d %v", status, body)
	}
	// Postmark retries after a timeout: the same email again is a no-op.
	status, body = h.postInbound(t, user, pass, inboundPayload(msgID, token, alice.Email, nil))
	if status != 200 || body["status"] != "duplicate" {
		t.Errorf("second delivery: %d %v", status, body)
	}
	// The campaign is queued, then started by exactly one start message
	// (the host runs the start worker at once).
	eventually(t, 10*time.Second, "the campaign started", func() bool {
		_, c = h.call(t, "GET", "/v1/campaigns/"+id, tok, "")
		return c["queuedAt"] != nil && c["startedAt"] != nil
	})
	time.Sleep(time.Second) // a second start message would have run by now
	if n := strings.Count(h.HostLog.String(), "function=campaign-start "); n != 1 {
		t.Errorf("campaign-start ran %d times, want exactly once", n)
	}
	// A second, different email no longer starts it.
	if status, body := h.postInbound(t, user, pass, inboundPayload(testenv.Name("msg-"), token, alice.Email, nil)); status != 403 || testenv.ErrorCode(body) != "campaign_started" {
		t.Errorf("a second template email: %d %v", status, body)
	}
	// The accepted email, stored under a name of its own.
	camp, err := st.Campaign(context.Background(), k, id)
	if err != nil || camp.OriginalID == "" {
		t.Fatalf("campaign %+v %v", camp, err)
	}
	dir := k.String() + "/" + id + "/" + camp.OriginalID + "/"
	names, _ := st.ListBlobs(context.Background(), "originals", k.String()+"/"+id+"/")
	if strings.Join(names, ",") != dir+"attachments/0,"+dir+"template.json" {
		t.Errorf("originals stored: %v", names)
	}
	att, err := st.GetBlob(context.Background(), "originals", dir+"attachments/0")
	if err != nil || string(att) != "%PDF-1.4 offer" {
		t.Errorf("attachment stored as %q, %v", att, err)
	}

	// Deleting the campaign deletes the original email.
	h.call(t, "DELETE", "/v1/campaigns/"+id, tok, "")
	eventually(t, 30*time.Second, "the original email is deleted with the campaign", func() bool {
		names, err := st.ListBlobs(context.Background(), "originals", k.String()+"/"+id+"/")
		return err == nil && len(names) == 0
	})
}
