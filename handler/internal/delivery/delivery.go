// Package delivery names what happened to one sent message, and the
// content of its attachments. It sits between the send worker and the
// Graph client, so the worker and its tests never compile the Graph SDK.
package delivery

import (
	"context"
	"time"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/merge"
)

// Outcome classifies a send.
type Outcome int

// The outcomes of a send.
const (
	// Sent: Graph accepted the message (202).
	Sent Outcome = iota
	// Retry: nothing was sent (429, 503, no connection); try again later.
	Retry
	// Unknown: it may have been sent (a timeout or a 5xx after the request
	// went out); never send it again automatically.
	Unknown
	// Failed: a permanent refusal of this message.
	Failed
	// Unauthorized: the grant is gone; pause the campaign.
	Unauthorized
	// Blocked: the mailbox may not send at all (403: consent revoked,
	// no licence, access denied); nothing was sent; pause the campaign.
	Blocked
)

func (o Outcome) String() string {
	return [...]string{"sent", "retry", "unknown", "failed", "unauthorized", "blocked"}[o]
}

// CodeAppCredentials is the code of an Unauthorized result caused by the
// app's own credentials (an expired client secret), not the user's grant.
const CodeAppCredentials = "app_credentials_refused"

// Result is what happened to one message.
type Result struct {
	Outcome Outcome
	// RetryAfter is the service's Retry-After for Retry (a default when absent).
	RetryAfter time.Duration
	// Reason is the service's error code and message, or ours; it never
	// holds the message's content.
	Reason campaign.Reason
}

// File is an attachment's content.
type File struct {
	Name        string
	ContentType string
	ContentID   string
	Data        []byte
}

// Mailer sends one message from an account's own mailbox.
type Mailer interface {
	Send(ctx context.Context, account account.Key, m merge.Message, files []File, headers map[string]string) Result
}
