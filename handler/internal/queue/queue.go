// Package queue carries work between the app's functions. One small port,
// Send, has two adapters: Azure Service Bus in Azure (scheduled messages,
// dead-lettering) and Azure Storage queues for Azurite (visibility timeout for
// scheduling, the host's poison queue). Workers never know which one carried
// their message: both arrive as the same bytes.
package queue

import (
	"time"
)

// The queues the app uses. Each is drained by the function of the same name
// in the function table.
const (
	AccountDelete  = "account-delete"
	CampaignDelete = "campaign-delete"
	CampaignData   = "campaign-data"
	CampaignStart  = "campaign-start"
	CampaignSend   = "campaign-send"
	Notify         = "notify"
	// TrackingEvents carries batches of opens, clicks and unsubscribe
	// page views from the tracking endpoints to the events worker.
	TrackingEvents = "tracking-events"
	// MailboxRead carries one account's turn to have its inbox read for
	// replies to and bounces of its messages.
	MailboxRead = "mailbox-read"
)

// Message is one unit of work.
type Message struct {
	// Queue is the destination queue.
	Queue string
	// Body is the payload, usually JSON; the trigger hands it over unchanged.
	Body []byte
	// NotBefore schedules delivery; zero means now.
	NotBefore time.Time
	// ID identifies the message for duplicate detection where the transport
	// has it (Service Bus); empty lets the transport choose.
	ID string
}

// delay is how long from now the message should stay invisible.
func (m Message) delay(now time.Time) time.Duration {
	if m.NotBefore.IsZero() {
		return 0
	}
	return max(m.NotBefore.Sub(now), 0)
}
