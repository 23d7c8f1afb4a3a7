package graphmail

import (
	"context"
	"errors"
	"net"
	"net/http/httptest"
	"net/mail"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/delivery"
	"mailmerge/handler/internal/dev/devauth"
	"mailmerge/handler/internal/dev/graphsandbox"
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
	mb, err := c.For(staticToken(tok), "")
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
	files := []delivery.File{{Name: "Offer.pdf", ContentType: "application/pdf", Data: []byte("%PDF-1.4 offer")},
		{Name: "logo.png", ContentType: "image/png", ContentID: "logo@01", Data: []byte("\x89PNG\r\n")}}
	unsub := "<https://mailmerge.example/u/dQH-XchdUCKv_PT7mt7vJDHC>"
	r := mb.Send(context.Background(), testMessage(), files, map[string]string{"X-MailMerge-Row": "c1/2",
		"List-Unsubscribe": unsub, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"})
	if r.Outcome != delivery.Sent {
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
	// RFC 8058's pair, as Exchange's MIME writer renders the properties.
	for _, want := range []string{"To: \"Ann\" <ann@example.com>", "Cc: <boss@example.com>", "Offer.pdf",
		"List-Unsubscribe: " + unsub + "\r\n", "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"} {
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
		outcome delivery.Outcome
		stored  int
	}{
		{"throttled", graphsandbox.Fault{Kind: graphsandbox.FaultThrottle, RetryAfter: 7 * time.Second}, delivery.Retry, 0},
		{"unavailable", graphsandbox.Fault{Kind: graphsandbox.FaultUnavailable, RetryAfter: 3 * time.Second}, delivery.Retry, 0},
		// Accepted, then 504: never resent by the SDK, reported as unknown.
		{"504 after accept", graphsandbox.Fault{Kind: graphsandbox.FaultTimeoutAfterAccept}, delivery.Unknown, 1},
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
	if r := mb.Send(context.Background(), bad, nil, nil); r.Outcome != delivery.Failed || r.Reason.Code == "" {
		t.Errorf("invalid recipient: %+v", r)
	}
	if r := mb.Send(context.Background(), testMessage(), nil, map[string]string{"Bad Header": "x"}); r.Outcome != delivery.Failed || r.Reason.Code != "ErrorInvalidProperty" {
		t.Errorf("bad header: %+v", r)
	}
	sb, _ := graphsandbox.New(graphsandbox.Options{Dir: t.TempDir()})
	srv := httptest.NewServer(sb.Handler())
	defer srv.Close()
	c, _ := New(srv.URL+"/v1.0", 10*time.Second)
	nobody, _ := c.For(staticToken("not-a-jwt"), "")
	if r := nobody.Send(context.Background(), testMessage(), nil, nil); r.Outcome != delivery.Unauthorized {
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
	mb, _ := c.For(staticToken("x"), "")
	if r := mb.Send(context.Background(), testMessage(), nil, nil); r.Outcome != delivery.Retry {
		t.Errorf("refused connection: %+v", r)
	}
}

// failingToken is a credential whose grant is gone or unreachable.
type failingToken struct{ err error }

func (f failingToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{}, f.err
}

type credsFunc func(account.Key) azcore.TokenCredential

func (f credsFunc) Credential(k account.Key) azcore.TokenCredential { return f(k) }

func TestSenderTellsLostGrantFromPassingFailure(t *testing.T) {
	_, sb := setup(t)
	srv := httptest.NewServer(sb.Handler())
	defer srv.Close()
	c, _ := New(srv.URL+"/v1.0", 10*time.Second)
	errGone := errors.New("invalid_grant")
	expired := func(err error) bool { return errors.Is(err, errGone) }
	acct := account.Key{TenantID: "t", ObjectID: "o"}
	for _, tt := range []struct {
		err  error
		want delivery.Outcome
	}{{errGone, delivery.Unauthorized}, {errors.New("connection reset"), delivery.Retry},
		{apperr.E(apperr.Internal, "invalid_client", "the client secret was refused"), delivery.Unauthorized}} {
		s := NewSender(c, credsFunc(func(account.Key) azcore.TokenCredential { return failingToken{tt.err} }), false, expired)
		if r := s.Send(context.Background(), acct, testMessage(), nil, nil); r.Outcome != tt.want {
			t.Errorf("token error %v: %+v, want %v", tt.err, r, tt.want)
		}
	}
	if n := len(sb.Messages("")); n != 0 {
		t.Errorf("the sandbox received %d messages without a token", n)
	}
}

// BenchmarkSend measures one sendMail through the SDK to the Graph sandbox
// (serialisation, gzip, HTTP), the per-message cost of the Graph client.
func BenchmarkSend(b *testing.B) {
	sb, err := graphsandbox.New(graphsandbox.Options{Dir: b.TempDir(), PerMinute: -1, Concurrent: -1, PerDay: -1})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(sb.Handler())
	defer srv.Close()
	c, _ := New(srv.URL+"/v1.0", 10*time.Second)
	iss, _ := devauth.NewIssuer("http://127.0.0.1", "client")
	alice, _ := devauth.FindUser("alice")
	tok, _ := iss.Mint(alice)
	mb, _ := c.For(staticToken(tok), "")
	m := testMessage()
	m.HTML = []byte(strings.Repeat("<p class=MsoNormal>Dear Ann, a long Outlook paragraph.<o:p></o:p></p>\n", 400))
	b.ReportAllocs()
	for b.Loop() {
		if r := mb.Send(context.Background(), m, nil, nil); r.Outcome != delivery.Sent {
			b.Fatal(r)
		}
	}
}

func TestForbiddenBlocksTheMailbox(t *testing.T) {
	e := odataerrors.NewODataError()
	e.ResponseStatusCode = 403
	if r := classify(e); r.Outcome != delivery.Blocked {
		t.Errorf("403: %+v", r)
	}
}
