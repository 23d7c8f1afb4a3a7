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
	"maps"
	"net"
	"net/http"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	abs "github.com/microsoft/kiota-abstractions-go"
	kauth "github.com/microsoft/kiota-authentication-azure-go"
	nethttplibrary "github.com/microsoft/kiota-http-go"
	msgraphsdk "github.com/microsoftgraph/msgraph-sdk-go"
	msgraphgocore "github.com/microsoftgraph/msgraph-sdk-go-core"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/delivery"
	"mailmerge/handler/internal/merge"
)

// DefaultBaseURL is Microsoft Graph v1.0.
const DefaultBaseURL = "https://graph.microsoft.com/v1.0"

// Scope is the delegated permission sending needs.
const Scope = "https://graph.microsoft.com/Mail.Send"

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

// AppScope is what an application-permission token is asked for.
const AppScope = "https://graph.microsoft.com/.default"

// Mailbox sends as one user.
type Mailbox struct {
	graph *msgraphsdk.GraphServiceClient
	// user is "" for a delegated token (/me), else the user's object id
	// (/users/{id}, application permission).
	user string
}

// For returns the mailbox cred's tokens act for: with user "" the signed-in
// user of a delegated token (/me/sendMail); otherwise user's, by object id,
// with an application token (/users/{id}/sendMail). Tokens go only to the
// configured Graph host.
func (c *Client) For(cred azcore.TokenCredential, user string) (*Mailbox, error) {
	scope := Scope
	if user != "" {
		scope = AppScope
	}
	return c.forScope(cred, user, scope)
}

// forScope is For with the scope its tokens are asked for.
func (c *Client) forScope(cred azcore.TokenCredential, user, scope string) (*Mailbox, error) {
	auth, err := kauth.NewAzureIdentityAuthenticationProviderWithScopesAndValidHosts(tokenErrors{cred}, []string{scope}, []string{c.host})
	if err != nil {
		return nil, fmt.Errorf("graph auth: %w", err)
	}
	adapter, err := msgraphsdk.NewGraphRequestAdapterWithParseNodeFactoryAndSerializationWriterFactoryAndHttpClient(auth, nil, nil, c.httpClient)
	if err != nil {
		return nil, fmt.Errorf("graph adapter: %w", err)
	}
	adapter.SetBaseUrl(c.base)
	return &Mailbox{graph: msgraphsdk.NewGraphServiceClient(adapter), user: user}, nil
}

// tokenErrors marks the credential's errors, so a send that failed before
// any request went out is told apart from one that may have been sent.
type tokenErrors struct{ azcore.TokenCredential }

// TokenError is a failure to get a token: nothing was sent.
type TokenError struct{ Err error }

func (e *TokenError) Error() string { return "graph token: " + e.Err.Error() }
func (e *TokenError) Unwrap() error { return e.Err }

func (t tokenErrors) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	tok, err := t.TokenCredential.GetToken(ctx, opts)
	if err != nil {
		return tok, &TokenError{Err: err}
	}
	return tok, nil
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
// resolved by the caller) and headers (X- headers, List-Unsubscribe and
// List-Unsubscribe-Post; see headerProperty), saving
// a copy in Sent Items.
func (mb *Mailbox) Send(ctx context.Context, m merge.Message, files []delivery.File, headers map[string]string) delivery.Result {
	return classify(mb.post(ctx, m, files, headers))
}

func (mb *Mailbox) post(ctx context.Context, m merge.Message, files []delivery.File, headers map[string]string) error {
	body := users.NewItemSendMailPostRequestBody()
	body.SetMessage(message(m, files, headers))
	save := true
	body.SetSaveToSentItems(&save)
	cfg := &users.ItemSendMailRequestBuilderPostRequestConfiguration{Options: noRetry()}
	var err error
	if mb.user == "" {
		err = mb.graph.Me().SendMail().Post(ctx, body, cfg)
	} else {
		err = mb.graph.Users().ByUserId(mb.user).SendMail().Post(ctx, body, cfg)
	}
	return err
}

func message(m merge.Message, files []delivery.File, headers map[string]string) models.Messageable {
	msg := models.NewMessage()
	subject := m.Subject
	msg.SetSubject(&subject)
	if m.MessageID != "" {
		// Kept as the message's Message-ID, in Sent Items and for its
		// recipients (docs/mailbox-reading.md §1).
		id := m.MessageID
		msg.SetInternetMessageId(&id)
	}
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
	var hs []models.InternetMessageHeaderable
	var props []models.SingleValueLegacyExtendedPropertyable
	for _, k := range slices.Sorted(maps.Keys(headers)) {
		name, value := k, headers[k]
		if id := headerProperty(name); id != "" {
			p := models.NewSingleValueLegacyExtendedProperty()
			p.SetId(&id)
			p.SetValue(&value)
			props = append(props, p)
			continue
		}
		h := models.NewInternetMessageHeader()
		h.SetName(&name)
		h.SetValue(&value)
		hs = append(hs, h)
	}
	if len(hs) > 0 {
		msg.SetInternetMessageHeaders(hs)
	}
	if len(props) > 0 {
		msg.SetSingleValueExtendedProperties(props)
	}
	return msg
}

// headerProperty is the extended property a header that Graph's
// internetMessageHeaders refuses (they must start with "X-") is sent as,
// "" for an X- header. List-Unsubscribe is the MAPI property
// PidTagListUnsubscribe (0x1045), which Exchange's MIME writer turns into
// that header; another header (List-Unsubscribe-Post) a named property of
// PS_INTERNET_HEADERS, the set that holds an item's Internet headers. The
// JSON sendMail keeps everything else as it is (saveToSentItems, the SDK's
// request, attachments), which the MIME route (no SDK support, reports of
// Exchange dropping custom headers there) would not. Neither is verified
// against Exchange Online: README "Unsubscribe headers" says how to check.
func headerProperty(name string) string {
	switch {
	case len(name) >= 2 && strings.EqualFold(name[:2], "x-"):
		return ""
	case strings.EqualFold(name, "List-Unsubscribe"):
		return "String 0x1045"
	}
	return "String {00020386-0000-0000-C000-000000000046} Name " + name
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
func classify(err error) delivery.Result {
	if err == nil {
		return delivery.Result{Outcome: delivery.Sent}
	}
	status, code, msg, retryAfter := 0, "", "", ""
	var oe *odataerrors.ODataError
	var ae *abs.ApiError
	var te *TokenError
	switch {
	case errors.As(err, &te):
		// No request went out. Whether the grant is gone is the
		// credential's to say; the sender checks before calling classify.
		return delivery.Result{Outcome: delivery.Retry, RetryAfter: defaultRetryAfter, Reason: campaign.Reason{Code: "token_unavailable", Text: "no Graph token could be had"}}
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
			return delivery.Result{Outcome: delivery.Retry, RetryAfter: 5 * time.Second, Reason: campaign.Reason{Code: "connection_refused", Text: "Graph could not be reached"}}
		}
		// A timeout or a broken connection after the request went out.
		return delivery.Result{Outcome: delivery.Unknown, Reason: campaign.Reason{Code: "no_answer", Text: "no answer from Graph; the message may have been sent"}}
	}
	if code == "" {
		code = http.StatusText(status)
	}
	switch {
	case status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable:
		return delivery.Result{Outcome: delivery.Retry, RetryAfter: parseRetryAfter(retryAfter), Reason: campaign.Reason{Code: code, Text: msg}}
	case status == http.StatusUnauthorized:
		return delivery.Result{Outcome: delivery.Unauthorized, Reason: campaign.Reason{Code: code, Text: msg}}
	case status == http.StatusForbidden:
		// Refused for the mailbox, not for this message: every row would fail alike.
		return delivery.Result{Outcome: delivery.Blocked, Reason: campaign.Reason{Code: code, Text: msg}}
	case status >= 500:
		return delivery.Result{Outcome: delivery.Unknown, Reason: campaign.Reason{Code: code, Text: msg}}
	}
	return delivery.Result{Outcome: delivery.Failed, Reason: campaign.Reason{Code: code, Text: msg}}
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

// Credentials give an account's Graph credential (handler/internal/grant).
type Credentials interface {
	Credential(account account.Key) azcore.TokenCredential
}

// Sender sends from each account's own mailbox: it implements
// delivery.Mailer over one Client.
type Sender struct {
	client *Client
	creds  Credentials
	// application: send as /users/{oid} with an app token, not /me.
	application bool
	// expired tells a lost grant from a passing token failure.
	expired func(error) bool

	mu      sync.Mutex
	boxes   map[account.Key]*Mailbox
	readers map[account.Key]*Mailbox
}

// NewSender returns a Sender; expired reports whether a credential error
// means the grant is gone (the campaign pauses) rather than a passing
// failure (the row is retried).
func NewSender(c *Client, creds Credentials, application bool, expired func(error) bool) *Sender {
	return &Sender{client: c, creds: creds, application: application, expired: expired, boxes: map[account.Key]*Mailbox{}, readers: map[account.Key]*Mailbox{}}
}

// Send sends m from account's mailbox.
func (s *Sender) Send(ctx context.Context, account account.Key, m merge.Message, files []delivery.File, headers map[string]string) delivery.Result {
	mb, err := s.mailbox(account)
	if err != nil {
		return delivery.Result{Outcome: delivery.Retry, RetryAfter: defaultRetryAfter, Reason: campaign.Reason{Code: "graph_client", Text: err.Error()}}
	}
	err = mb.post(ctx, m, files, headers)
	if te := (*TokenError)(nil); errors.As(err, &te) {
		switch {
		case s.expired(te.Err):
			return delivery.Result{Outcome: delivery.Unauthorized, Reason: campaign.Reason{Code: "grant_expired", Text: "the permission to send from this mailbox has expired"}}
		case apperr.Is(te.Err, apperr.Internal):
			// Our own client credentials were refused (expired secret):
			// retrying cannot help, and every campaign is affected.
			return delivery.Result{Outcome: delivery.Unauthorized, Reason: campaign.Reason{Code: delivery.CodeAppCredentials, Text: apperr.MessageOf(te.Err)}}
		}
	}
	return classify(err)
}

// mailbox returns the account's Graph client, made once.
func (s *Sender) mailbox(account account.Key) (*Mailbox, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if mb, ok := s.boxes[account]; ok {
		return mb, nil
	}
	user := ""
	if s.application {
		user = account.ObjectID
	}
	mb, err := s.client.For(s.creds.Credential(account), user)
	if err != nil {
		return nil, err
	}
	s.boxes[account] = mb
	return mb, nil
}
