// Package delivery names what happened to one sent message, and the
// content of its attachments. It sits between the send worker and the
// Graph client, so the worker and its tests never compile the Graph SDK.
package delivery

import (
	"context"
	"errors"
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

// Found is what a look in the sender's mailbox found of one message sent
// with our Message-ID (docs/mailbox-reading.md).
type Found struct {
	// Sent: it is sent (not a draft); SentAt is Exchange's time.
	Sent   bool
	SentAt time.Time
	// Waiting: it is there as a draft, accepted but not yet sent. It must
	// not be sent again.
	Waiting bool
}

// Arrived is one message that arrived in the sender's inbox, as much as
// telling a reply or a bounce of ours needs. It is read and dropped: its
// subject, body and sender are never stored.
type Arrived struct {
	ID       string
	Received time.Time
	From     string
	// Refers is every Message-ID the message answers (In-Reply-To and
	// References).
	Refers []string
	// Report: a non-delivery report (Exchange's X-MS-Exchange-Message-Is-Ndr,
	// or a multipart/report of report-type delivery-status). Delayed: a
	// notice that delivery is delayed, not failed.
	Report, Delayed bool
	// Auto: sent by a program, not a person (an out-of-office or other
	// automatic reply, RFC 3834's Auto-Submitted): not a reply.
	Auto bool
	// Failed is, for a report, the addresses it says failed (Exchange
	// lists them as its recipients); empty when it does not say.
	Failed []string
}

// ErrUnreadable is a mailbox that may not be read (no consent, or it was
// taken back): reading stops, and an in-doubt send stays in doubt.
var ErrUnreadable = errors.New("the mailbox may not be read")

// ErrCursorLost is a saved place in the inbox that Graph no longer knows:
// start again from a time.
var ErrCursorLost = errors.New("the inbox cursor expired")

// Reader reads the sender's own mailbox with the owner's consent
// (Mail.ReadBasic: no bodies, no attachments).
type Reader interface {
	// FindSent looks for the message sent with messageID.
	FindSent(ctx context.Context, account account.Key, messageID string) (Found, error)
	// Inbox returns what arrived after cursor ("" with since: from since)
	// and the cursor to give next time. At most limit messages are read
	// in one call; more is left for the next.
	Inbox(ctx context.Context, account account.Key, cursor string, since time.Time, limit int) ([]Arrived, string, error)
}
