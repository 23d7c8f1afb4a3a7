package graphmail

import (
	"context"
	"net"
	"net/http/httptest"
	"net/mail"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"mailmerge/handler/internal/devauth"
	"mailmerge/handler/internal/graphsandbox"
	"mailmerge/handler/internal/merge"
)

// staticToken is a credential holding one delegated token.
type staticToken string

func (s staticToken) GetToken(ctx context.Context, _ policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: string(s), ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func setup(t *testing.T) (*Mailbox, *graphsandbox.Sandbox) {
	t.Helper()
	sb, err := graphsandbox.New(graphsandbox.Options{Dir: t.TempDir()})
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
	tok, err := iss.Mint(alice)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := c.For(staticToken(tok))
	if err != nil {
		t.Fatal(err)
	}
	return mb, sb
}

func testMessage() merge.Message {
	return merge.Message{
		To:      []*mail.Address{{Name: "Ann", Address: "ann@example.com"}},
		CC:      []*mail.Address{{Address: "boss@example.com"}},
		BCC:     []*mail.Address{{Address: "archive@example.com"}},
		Subject: "Spring offer for Ann 🌷",
		HTML:    []byte(`<p>Dear Ann, <img src="cid:logo@01"> مرحبا</p>`),
	}
}

func TestSendAsGraphExpects(t *testing.T) {
	mb, sb := setup(t)
	files := []File{{Name: "Offer.pdf", ContentType: "application/pdf", Data: []byte("%PDF-1.4 offer")},
		{Name: "logo.png", ContentType: "image/png", ContentID: "logo@01", Data: []byte("\x89PNG\r\n")}}
	r := mb.Send(context.Background(), testMessage(), files, map[string]string{"X-MailMerge-Row": "c1/2"})
	if r.Outcome != Sent {
		t.Fatalf("send: %+v", r)
	}
	got := sb.Messages("")
	if len(got) != 1 {
		t.Fatalf("sandbox received %d messages", len(got))
	}
	m := got[0]
	if m.Subject != "Spring offer for Ann 🌷" || !m.SaveToSentItems || m.Header("X-MailMerge-Row") != "c1/2" || len(m.Attachments) != 2 {
		t.Errorf("received %+v", m)
	}
	eml, err := os.ReadFile(m.EMLPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"To: \"Ann\" <ann@example.com>", "Cc: <boss@example.com>", "Offer.pdf"} {
		if !strings.Contains(string(eml), want) {
			t.Errorf(".eml lacks %q", want)
		}
	}
	if strings.Contains(string(eml), "archive@example.com") {
		t.Error("Bcc leaked into the .eml headers")
	}
}

func TestOutcomes(t *testing.T) {
	tests := []struct {
		name    string
		fault   graphsandbox.Fault
		outcome Outcome
		stored  int
	}{
		{"throttled", graphsandbox.Fault{Kind: graphsandbox.FaultThrottle, RetryAfter: 7 * time.Second}, Retry, 0},
		{"unavailable", graphsandbox.Fault{Kind: graphsandbox.FaultUnavailable, RetryAfter: 3 * time.Second}, Retry, 0},
		// Accepted, then 504: never resent by the SDK, reported as unknown.
		{"504 after accept", graphsandbox.Fault{Kind: graphsandbox.FaultTimeoutAfterAccept}, Unknown, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mb, sb := setup(t)
			if err := sb.Inject(tt.fault); err != nil {
				t.Fatal(err)
			}
			r := mb.Send(context.Background(), testMessage(), nil, nil)
			if r.Outcome != tt.outcome {
				t.Fatalf("outcome %v (%+v), want %v", r.Outcome, r, tt.outcome)
			}
			if tt.fault.RetryAfter > 0 && r.RetryAfter != tt.fault.RetryAfter {
				t.Errorf("retry after %v, want %v", r.RetryAfter, tt.fault.RetryAfter)
			}
			if n := len(sb.Messages("")); n != tt.stored {
				t.Errorf("sandbox holds %d messages, want %d (the SDK must not retry)", n, tt.stored)
			}
		})
	}
}

func TestPermanentAndAuthFailures(t *testing.T) {
	mb, _ := setup(t)
	bad := testMessage()
	bad.To = []*mail.Address{{Address: "not an address"}}
	if r := mb.Send(context.Background(), bad, nil, nil); r.Outcome != Failed || r.Code == "" {
		t.Errorf("invalid recipient: %+v", r)
	}
	if r := mb.Send(context.Background(), testMessage(), nil, map[string]string{"List-Unsubscribe": "<x>"}); r.Outcome != Failed || !strings.Contains(r.Reason, "should start with 'x-'") {
		t.Errorf("bad header: %+v", r)
	}
	sb, _ := graphsandbox.New(graphsandbox.Options{Dir: t.TempDir()})
	srv := httptest.NewServer(sb.Handler())
	defer srv.Close()
	c, _ := New(srv.URL+"/v1.0", 10*time.Second)
	nobody, _ := c.For(staticToken("not-a-jwt"))
	if r := nobody.Send(context.Background(), testMessage(), nil, nil); r.Outcome != Unauthorized {
		t.Errorf("bad token: %+v", r)
	}
}

func TestUnreachableGraphIsRetried(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, _ := New("http://"+addr+"/v1.0", 2*time.Second)
	mb, _ := c.For(staticToken("x"))
	if r := mb.Send(context.Background(), testMessage(), nil, nil); r.Outcome != Retry {
		t.Errorf("refused connection: %+v", r)
	}
}
