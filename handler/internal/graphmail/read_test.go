package graphmail

import (
	"context"
	"errors"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/delivery"
	"mailmerge/handler/internal/dev/devauth"
	"mailmerge/handler/internal/dev/graphsandbox"
)

// reading returns a sender whose tokens carry scp, on a fresh sandbox.
func reading(t *testing.T, scp string) (*Sender, *graphsandbox.Sandbox) {
	t.Helper()
	sb, err := graphsandbox.New(graphsandbox.Options{Dir: t.TempDir(), SentItemsDelay: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sb.Handler())
	t.Cleanup(srv.Close)
	c, err := New(srv.URL+"/v1.0", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	iss, err := devauth.NewIssuer("http://127.0.0.1", "client")
	if err != nil {
		t.Fatal(err)
	}
	alice, _ := devauth.FindUser("alice")
	claims := iss.Claims(alice, time.Now())
	claims["scp"] = scp
	tok, err := iss.Sign(claims)
	if err != nil {
		t.Fatal(err)
	}
	return NewSender(c, credsFunc(func(account.Key) azcore.TokenCredential { return staticToken(tok) }), false, func(error) bool { return false }), sb
}

var reader = account.Key{TenantID: "t", ObjectID: "o"}

// TestFindSent: a message sent with our Message-ID is found as waiting
// (a draft) at first, then as sent with Exchange's time; an id never sent
// is not found; without Mail.ReadBasic the mailbox is unreadable.
func TestFindSent(t *testing.T) {
	ctx := context.Background()
	s, _ := reading(t, "Mail.Send Mail.ReadBasic")
	m := testMessage()
	m.MessageID = "<mm.c1.1@mailmerge.test>"
	if r := s.Send(ctx, reader, m, nil, nil); r.Outcome != delivery.Sent {
		t.Fatalf("send: %+v", r)
	}
	f, err := s.FindSent(ctx, reader, m.MessageID)
	if err != nil || f.Sent || !f.Waiting {
		t.Fatalf("just after the send: %+v, %v; want waiting (a draft)", f, err)
	}
	time.Sleep(500 * time.Millisecond)
	if f, err = s.FindSent(ctx, reader, m.MessageID); err != nil || !f.Sent || f.SentAt.IsZero() {
		t.Fatalf("once in Sent Items: %+v, %v", f, err)
	}
	if f, err = s.FindSent(ctx, reader, "<never@mailmerge.test>"); err != nil || f.Sent || f.Waiting {
		t.Fatalf("an id never sent: %+v, %v", f, err)
	}
	s2, _ := reading(t, "Mail.Send")
	if _, err := s2.FindSent(ctx, reader, m.MessageID); !errors.Is(err, delivery.ErrUnreadable) {
		t.Fatalf("without Mail.ReadBasic: %v, want unreadable", err)
	}
}

// TestInbox: a reply, an NDR and a delay notice are read with the Message-ID
// they answer; the cursor then returns only what is new; a lost cursor says
// so.
func TestInbox(t *testing.T) {
	ctx := context.Background()
	s, sb := reading(t, "Mail.Send Mail.ReadBasic")
	since := time.Now().Add(-time.Minute)
	m := testMessage()
	m.MessageID = "<mm.c1.2@mailmerge.test>"
	if r := s.Send(ctx, reader, m, nil, nil); r.Outcome != delivery.Sent {
		t.Fatalf("send: %+v", r)
	}
	for _, kind := range []string{"reply", "ndr", "delay"} {
		if _, err := sb.Deliver(graphsandbox.InboxRequest{InReplyTo: m.MessageID, Kind: kind}); err != nil {
			t.Fatal(err)
		}
	}
	got, cursor, err := s.Inbox(ctx, reader, "", since, 100)
	if err != nil || len(got) != 3 || cursor == "" {
		t.Fatalf("inbox: %d items, cursor %q, %v", len(got), cursor, err)
	}
	var reply, ndr, delay int
	for _, a := range got {
		if !slices.Contains(a.Refers, m.MessageID) {
			t.Errorf("%+v does not refer to the message", a)
		}
		switch {
		case a.Report:
			ndr++
			if !slices.Contains(a.Failed, "ann@example.com") {
				t.Errorf("the NDR names %v, want ann@example.com", a.Failed)
			}
		case a.Delayed:
			delay++
		default:
			reply++
			if a.From != "ann@example.com" {
				t.Errorf("reply from %q", a.From)
			}
		}
	}
	if reply != 1 || ndr != 1 || delay != 1 {
		t.Fatalf("reply %d, ndr %d, delay %d; want one each", reply, ndr, delay)
	}
	if got, next, err := s.Inbox(ctx, reader, cursor, since, 100); err != nil || len(got) != 0 || next == "" {
		t.Fatalf("nothing new: %d items, %q, %v", len(got), next, err)
	} else {
		cursor = next
	}
	if _, err := sb.Deliver(graphsandbox.InboxRequest{InReplyTo: m.MessageID, Kind: "reply"}); err != nil {
		t.Fatal(err)
	}
	if got, _, err := s.Inbox(ctx, reader, cursor, since, 100); err != nil || len(got) != 1 {
		t.Fatalf("one new reply: %d items, %v", len(got), err)
	}
	sb.ExpireDeltaTokens("alice@contoso.example")
	if _, _, err := s.Inbox(ctx, reader, cursor, since, 100); !errors.Is(err, delivery.ErrCursorLost) {
		t.Fatalf("an expired cursor: %v, want lost", err)
	}
}

// TestAutomaticReplies: an out-of-office or other automatic answer is
// told from a person's reply by its headers; a reply through the sandbox
// is a person's, an NDR automatic.
func TestAutomaticReplies(t *testing.T) {
	for _, tt := range []struct {
		name    string
		headers map[string]string
		want    bool
	}{
		{"a person's reply", map[string]string{"in-reply-to": "<a@b>", "content-type": "text/plain"}, false},
		{"Auto-Submitted: no", map[string]string{"auto-submitted": "no"}, false},
		{"Auto-Submitted: auto-replied", map[string]string{"auto-submitted": "auto-replied"}, true},
		{"Auto-Submitted with parameters", map[string]string{"auto-submitted": "auto-replied; owner-email=\"x@y\""}, true},
		{"Auto-Submitted: auto-generated", map[string]string{"auto-submitted": "Auto-Generated"}, true},
		{"Precedence: bulk", map[string]string{"precedence": "bulk"}, true},
		{"Precedence: list", map[string]string{"precedence": "list"}, false},
		{"X-Autoreply", map[string]string{"x-autoreply": "yes"}, true},
		{"X-Autorespond", map[string]string{"x-autorespond": ""}, true},
		{"Exchange's out of office", map[string]string{"x-auto-response-suppress": "All", "x-ms-exchange-inbox-rules-loop": "ann@example.com"}, true},
		{"suppression alone", map[string]string{"x-auto-response-suppress": "All"}, false},
	} {
		if got := automatic(tt.headers); got != tt.want {
			t.Errorf("%s: automatic %v, want %v", tt.name, got, tt.want)
		}
	}
	ctx := context.Background()
	s, sb := reading(t, "Mail.Send Mail.ReadBasic")
	since := time.Now().Add(-time.Minute)
	m := testMessage()
	m.MessageID = "<mm.c1.3@mailmerge.test>"
	if r := s.Send(ctx, reader, m, nil, nil); r.Outcome != delivery.Sent {
		t.Fatalf("send: %+v", r)
	}
	for _, kind := range []string{"reply", "ndr"} {
		if _, err := sb.Deliver(graphsandbox.InboxRequest{InReplyTo: m.MessageID, Kind: kind}); err != nil {
			t.Fatal(err)
		}
	}
	got, _, err := s.Inbox(ctx, reader, "", since, 100)
	if err != nil || len(got) != 2 {
		t.Fatalf("inbox: %d items, %v", len(got), err)
	}
	for _, a := range got {
		if a.Auto != a.Report {
			t.Errorf("report %v, automatic %v: want a person's reply and an automatic report", a.Report, a.Auto)
		}
	}
}
