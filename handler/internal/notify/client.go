package notify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/mrz1836/postmark"

	"mailmerge/handler/internal/apperr"
)

const (
	codeBadToken    = 10
	codeMaintenance = 100
	codeRateLimit   = 429

	defaultTimeout = 30 * time.Second
	maxReplyBytes  = 1 << 20
)

// Client sends notifications through Postmark's Email API (POST /email).
// It is safe for concurrent use.
type Client struct {
	pm *postmark.Client
}

// New returns a client for the Email API at baseURL
// ("https://api.postmarkapp.com" in Azure, the sandbox's URL locally) with
// the server's API token. hc may be nil (a client with a 30 s timeout); it
// is copied, never changed. Redirects are not followed: Postmark sends none,
// and the token must not travel elsewhere.
func New(baseURL, serverToken string, hc *http.Client) *Client {
	c := http.Client{Timeout: defaultTimeout}
	if hc != nil {
		c = *hc
	}
	next := c.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c.Transport = observer{next: next}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	pm := postmark.NewClient(serverToken, "")
	pm.HTTPClient = &c
	pm.BaseURL = strings.TrimRight(baseURL, "/")
	return &Client{pm: pm}
}

// Send sends e and returns Postmark's MessageID. Errors are classified for
// the queue (apperr):
//   - Invalid, code postmark_<ErrorCode>: Postmark will never take this
//     email (300 invalid request, 400/401 sender signature, 406 inactive
//     recipient, 411 attachment type). Drop it; do not retry.
//   - Internal: our configuration or our bug (401 / ErrorCode 10 bad server
//     token, other 4xx, redirects).
//   - Transient: 429, 5xx, ErrorCode 100 (maintenance), no answer, or an
//     answer that cannot be read. May succeed when retried.
//
// No error carries the recipient's address or the body: Postmark's own
// messages name inactive addresses, so any address in them is blanked.
func (c *Client) Send(ctx context.Context, e Email) (messageID string, err error) {
	if e.MessageStream == "" {
		e.MessageStream = Stream
	}
	rep := &reply{}
	res, err := c.pm.SendEmail(context.WithValue(ctx, replyKey{}, rep), postmark.Email{
		From:          e.From,
		To:            e.To,
		Subject:       e.Subject,
		TextBody:      e.TextBody,
		HTMLBody:      e.HTMLBody,
		Tag:           e.Tag,
		MessageStream: e.MessageStream,
		// Notifications hold no links worth tracking; "None" overrides a
		// server default. (The library cannot send TrackOpens: false, so
		// the server's open-tracking default applies.)
		TrackLinks: "None",
	})
	if err == nil && res.ErrorCode == 0 && res.MessageID != "" {
		return res.MessageID, nil
	}
	return "", classify(rep.status, res, err)
}

// classify turns the library's outcome into an apperr. status is the HTTP
// status seen on the wire (0: no answer).
func classify(status int, res postmark.EmailResponse, err error) error {
	code, msg := res.ErrorCode, res.Message
	var apiErr postmark.APIError
	isAPI := errors.As(err, &apiErr)
	if isAPI {
		code, msg = apiErr.ErrorCode, apiErr.Message
	}
	// The cause names status and code and Postmark's message without
	// addresses; the library's errors would carry the raw message.
	cause := fmt.Errorf("HTTP %d, ErrorCode %d: %s", status, code, redact(clean(msg, 300)))
	if status == 0 {
		// No answer: only a transport error (it names our URL, nothing
		// personal) is kept as the cause.
		var netErr *url.Error
		if errors.As(err, &netErr) {
			cause = netErr
		}
		return apperr.Wrap(cause, apperr.Transient, "postmark_unreachable", "postmark could not be reached")
	}
	if !isAPI && code == 0 && status >= 400 {
		cause = fmt.Errorf("HTTP %d with a body that is not Postmark's error JSON", status)
	}
	wrap := func(kind apperr.Kind, message string) error {
		id := "postmark_" + strconv.FormatInt(code, 10)
		if code == 0 {
			id = "postmark_http_" + strconv.Itoa(status)
		}
		return apperr.Wrap(cause, kind, id, message)
	}
	switch {
	case status == http.StatusUnauthorized || code == codeBadToken:
		return wrap(apperr.Internal, "postmark refused the server token")
	case status == http.StatusTooManyRequests || code == codeRateLimit:
		return wrap(apperr.Transient, "postmark is rate limiting")
	case status >= 500 || code == codeMaintenance:
		return wrap(apperr.Transient, "postmark is unavailable")
	case (status == http.StatusUnprocessableEntity || status/100 == 2) && permanent(code):
		return wrap(apperr.Invalid, "postmark will not send this email")
	case status >= 300:
		return wrap(apperr.Internal, "postmark refused the request")
	case code != 0:
		return wrap(apperr.Internal, "postmark refused the email")
	default:
		// 2xx without a MessageID, or a body that is not JSON: the email may
		// or may not have gone; a duplicate notice is the lesser harm.
		return apperr.Wrap(fmt.Errorf("HTTP %d with an unreadable answer", status), apperr.Transient, "postmark_bad_reply", "postmark's answer could not be read")
	}
}

// permanent reports whether a Postmark API error code means this email can
// never be sent as it is, so the caller logs and drops it.
func permanent(code int64) bool {
	switch code {
	case 300, // invalid email request
		400, // sender signature not found
		401, // sender signature not confirmed
		406, // inactive recipient (hard bounce, spam complaint, suppression)
		411: // forbidden attachment type
		return true
	}
	return false
}

// The library's APIError does not carry the HTTP status, which decides
// between retrying (429, 5xx) and not; observer records it for the one
// request whose context holds a *reply. It also caps the answer's size.
type (
	replyKey struct{}
	reply    struct{ status int }
	observer struct{ next http.RoundTripper }
)

// RoundTrip passes r on and notes the status; it does not interpret the
// response, as the RoundTripper contract asks.
func (o observer) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := o.next.RoundTrip(r)
	if res != nil {
		if rep, ok := r.Context().Value(replyKey{}).(*reply); ok {
			rep.status = res.StatusCode
		}
		res.Body = limitedBody{Reader: io.LimitReader(res.Body, maxReplyBytes), Closer: res.Body}
	}
	return res, err
}

type limitedBody struct {
	io.Reader
	io.Closer
}
