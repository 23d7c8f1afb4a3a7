// Package graphmail sends personalised messages from the user's own mailbox
// through Microsoft Graph's sendMail, with msgraph-sdk-go. It is the only
// package that imports the SDK (a heavy build): the rest of the app never
// compiles it.
//
// sendMail is not idempotent: a timeout or a 5xx after the request went
// out may hide a sent message. So the SDK's own retry is switched off for
// sends, and every answer is classified for the caller, who decides:
// Sent, Retry (nothing was sent: 429, 503, a refused connection),
// Unknown (it may have been sent: never send it again automatically),
// Failed (a permanent refusal of this message) or Unauthorized (the grant
// is gone: pause the campaign).
package graphmail

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	abs "github.com/microsoft/kiota-abstractions-go"
	kauth "github.com/microsoft/kiota-authentication-azure-go"
	nethttplibrary "github.com/microsoft/kiota-http-go"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"
	msgraphgocore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"mailmerge/handler/internal/merge"
)

// DefaultBaseURL is Microsoft Graph v1.0.
const DefaultBaseURL = "https://graph.microsoft.com/v1.0"

// Scope is the delegated permission sending needs.
const Scope = "https://graph.microsoft.com/Mail.Send"

// Outcome classifies a send.
type Outcome int

// The outcomes of a send.
const (
	Sent Outcome = iota
	Retry
	Unknown
	Failed
	Unauthorized
)

func (o Outcome) String() string {
	return [...]string{"sent", "retry", "unknown", "failed", "unauthorized"}[o]
}

// Result is what happened to one message.
type Result struct {
	Outcome Outcome
	// RetryAfter is Graph's Retry-After for Retry (a default when absent).
	RetryAfter time.Duration
	// Code and Reason are Graph's error code and message, or ours; they
	// never hold the message's content.
	Code   string
	Reason string
}

// File is an attachment's content.
type File struct {
	Name        string
	ContentType string
	ContentID   string
	Data        []byte
}

// Client reaches one Graph endpoint.
type Client struct {
	base       string
	host       string
	httpClient *http.Client
}

// New returns a client for baseURL (DefaultBaseURL in Azure; the Graph
// sandbox locally); timeout bounds one send. The HTTP client keeps the
// SDK's middleware (it rewrites /users/me-token-to-replace to /me and
// compresses bodies); only its retry is switched off, per request.
func New(baseURL string, timeout time.Duration) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("graph base URL %q: %v", baseURL, err)
	}
	opts := msgraphsdk.GetDefaultClientOptions()
	hc := nethttplibrary.GetDefaultClient(msgraphgocore.GetDefaultMiddlewaresWithOptions(&opts)...)
	hc.Timeout = timeout
	return &Client{base: strings.TrimRight(baseURL, "/"), host: u.Hostname(), httpClient: hc}, nil
}

// Mailbox sends as one signed-in user.
type Mailbox struct {
	graph *msgraphsdk.GraphServiceClient
}

// For returns the mailbox of the user whose delegated token cred gives.
// Tokens go only to the configured Graph host.
func (c *Client) For(cred azcore.TokenCredential) (*Mailbox, error) {
	auth, err := kauth.NewAzureIdentityAuthenticationProviderWithScopesAndValidHosts(cred, []string{Scope}, []string{c.host})
	if err != nil {
		return nil, fmt.Errorf("graph auth: %w", err)
	}
	adapter, err := msgraphsdk.NewGraphRequestAdapterWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(auth, nil, nil, c.httpClient)
	if err != nil {
		return nil, fmt.Errorf("graph adapter: %w", err)
	}
	adapter.SetBaseUrl(c.base)
	return &Mailbox{graph: msgraphsdk.NewGraphServiceClient(adapter)}, nil
}

// noRetry switches the SDK's retry handler off for a send: it would resend
// on 504, and 429/503 are the caller's to schedule.
func noRetry() []abs.RequestOption {
	return []abs.RequestOption{&nethttplibrary.RetryHandlerOptions{
		MaxRetries:  0,
		ShouldRetry: func(time.Duration, int, *http.Request, *http.Response) bool { return false },
	}}
}

// Send sends m with the given attachment files (in m.Attachments order,
// resolved by the caller) and headers (names must start with "X-"), saving
// a copy in Sent Items.
func (mb *Mailbox) Send(ctx context.Context, m merge.Message, files []File, headers map[string]string) Result {
	body := users.NewItemSendMailPostRequestBody()
	body.SetMessage(message(m, files, headers))
	save := true
	body.SetSaveToSentItems(&save)
	err := mb.graph.Me().SendMail().Post(ctx, body, &users.ItemSendMailRequestBuilderPostRequestConfiguration{Options: noRetry()})
	return classify(err)
}

func message(m merge.Message, files []File, headers map[string]string) models.Messageable {
	msg := models.NewMessage()
	subject := m.Subject
	msg.SetSubject(&subject)
	b := models.NewItemBody()
	kind, content := models.HTML_BODYTYPE, string(m.HTML)
	if len(m.HTML) == 0 {
		kind, content = models.TEXT_BODYTYPE, string(m.Text)
	}
	b.SetContentType(&kind)
	b.SetContent(&content)
	msg.SetBody(b)
	msg.SetToRecipients(recipients(m.To))
	if len(m.CC) > 0 {
		msg.SetCcRecipients(recipients(m.CC))
	}
	if len(m.BCC) > 0 {
		msg.SetBccRecipients(recipients(m.BCC))
	}
	if len(files) > 0 {
		var atts []models.Attachmentable
		for _, f := range files {
			a := models.NewFileAttachment()
			name, ctype := f.Name, f.ContentType
			a.SetName(&name)
			if ctype != "" {
				a.SetContentType(&ctype)
			}
			// Raw bytes: the SDK writes the base64 itself.
			a.SetContentBytes(f.Data)
			if f.ContentID != "" {
				id, inline := f.ContentID, true
				a.SetContentId(&id)
				a.SetIsInline(&inline)
			}
			atts = append(atts, a)
		}
		msg.SetAttachments(atts)
	}
	if len(headers) > 0 {
		var hs []models.InternetMessageHeaderable
		for k, v := range headers {
			h := models.NewInternetMessageHeader()
			name, value := k, v
			h.SetName(&name)
			h.SetValue(&value)
			hs = append(hs, h)
		}
		msg.SetInternetMessageHeaders(hs)
	}
	return msg
}

func recipients(as []*mail.Address) []models.Recipientable {
	out := make([]models.Recipientable, 0, len(as))
	for _, a := range as {
		r := models.NewRecipient()
		e := models.NewEmailAddress()
		addr, name := a.Address, a.Name
		e.SetAddress(&addr)
		if name != "" {
			e.SetName(&name)
		}
		r.SetEmailAddress(e)
		out = append(out, r)
	}
	return out
}

// defaultRetryAfter is used when a 429 or 503 says nothing.
const defaultRetryAfter = 30 * time.Second

// classify turns the SDK's answer into an outcome.
func classify(err error) Result {
	if err == nil {
		return Result{Outcome: Sent}
	}
	status, code, msg, retryAfter := 0, "", "", ""
	var oe *odataerrors.ODataError
	var ae *abs.ApiError
	switch {
	case errors.As(err, &oe):
		status = oe.ResponseStatusCode
		if main := oe.GetErrorEscaped(); main != nil {
			code, msg = deref(main.GetCode()), deref(main.GetMessage())
		}
		retryAfter = header(oe.ResponseHeaders, "Retry-After")
	case errors.As(err, &ae):
		status, msg = ae.ResponseStatusCode, ae.Message
		retryAfter = header(ae.ResponseHeaders, "Retry-After")
	default:
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			// The connection was never made: nothing was sent.
			return Result{Outcome: Retry, RetryAfter: 5 * time.Second, Code: "connection_refused", Reason: "Graph could not be reached"}
		}
		// A timeout or a broken connection after the request went out.
		return Result{Outcome: Unknown, Code: "no_answer", Reason: "no answer from Graph; the message may have been sent"}
	}
	if code == "" {
		code = http.StatusText(status)
	}
	switch {
	case status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable:
		return Result{Outcome: Retry, RetryAfter: parseRetryAfter(retryAfter), Code: code, Reason: msg}
	case status == http.StatusUnauthorized:
		return Result{Outcome: Unauthorized, Code: code, Reason: msg}
	case status >= 500:
		return Result{Outcome: Unknown, Code: code, Reason: msg}
	}
	return Result{Outcome: Failed, Code: code, Reason: msg}
}

func header(h *abs.ResponseHeaders, name string) string {
	if h == nil {
		return ""
	}
	for _, k := range []string{name, strings.ToLower(name)} {
		if v := h.Get(k); len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

// parseRetryAfter reads seconds (possibly fractional, as Graph sends them)
// or an HTTP date.
func parseRetryAfter(v string) time.Duration {
	if s, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return defaultRetryAfter
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
