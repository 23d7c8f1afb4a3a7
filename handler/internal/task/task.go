// Package task declares the work the queue functions are asked to do: one
// payload per queue, each embedding the account key of the data it
// touches, and Queue, which puts them on the transport. The HTTP API, the
// campaign lifecycle and the workers all speak these and nothing else.
package task

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/notify"
	"mailmerge/handler/internal/queue"
	"mailmerge/handler/internal/tracking"
)

// Campaign names one campaign of an account.
type Campaign struct {
	account.Key
	CampaignID string `json:"campaignId"`
}

func (c Campaign) check() error {
	if !c.Valid() || c.CampaignID == "" {
		return apperr.E(apperr.Invalid, "message_invalid", "the message needs tenantId, objectId and campaignId")
	}
	return nil
}

// Start asks the start worker to start a queued campaign (campaign-start).
type Start struct {
	Campaign
	// At is the start time of a scheduled campaign this start is for: a
	// start of an earlier schedule (rescheduled since) does nothing.
	At time.Time `json:"at,omitzero"`
}

// Queue is campaign-start.
func (Start) Queue() string { return queue.CampaignStart }

// Step asks the send worker to run one send step (campaign-send). Step is
// the step's token: a step whose token is no longer the campaign's ends at
// once, so duplicated steps die out instead of multiplying.
type Step struct {
	Campaign
	Step string `json:"step,omitempty"`
	// Row is where the step starts looking for pending rows: where the
	// step before it stopped, so a step late in a long campaign does not
	// pass over every row already sent (a last pass from the top finds
	// rows put back behind it).
	Row int `json:"row,omitempty"`
}

// Queue is campaign-send.
func (Step) Queue() string { return queue.CampaignSend }

// Data asks the data worker to read an upload, or to copy the rows of
// campaign From of the same account (campaign-data).
type Data struct {
	Campaign
	UploadID string `json:"uploadId"`
	From     string `json:"from,omitempty"`
}

func (d Data) check() error {
	if err := d.Campaign.check(); err != nil || d.UploadID == "" {
		return apperr.E(apperr.Invalid, "message_invalid", "a data message needs tenantId, objectId, campaignId and uploadId")
	}
	return nil
}

// Queue is campaign-data.
func (Data) Queue() string { return queue.CampaignData }

// Notice asks the notify worker to tell the account's owner something
// (notify). The address is looked up when it is sent, so a corrected one
// is used.
type Notice struct {
	account.Key
	Notice notify.Notice `json:"notice"`
}

func (n Notice) check() error {
	if !n.Valid() {
		return apperr.E(apperr.Invalid, "message_invalid", "a notice needs tenantId, objectId and notice")
	}
	return nil
}

// Queue is notify.
func (Notice) Queue() string { return queue.Notify }

// DeleteAccount asks for everything of an account to be deleted
// (account-delete).
type DeleteAccount struct {
	account.Key
}

func (d DeleteAccount) check() error {
	if !d.Valid() {
		return apperr.E(apperr.Invalid, "message_invalid", "an account deletion needs tenantId and objectId")
	}
	return nil
}

// Queue is account-delete.
func (DeleteAccount) Queue() string { return queue.AccountDelete }

// DeleteCampaign asks for one campaign to be deleted (campaign-delete).
type DeleteCampaign struct {
	Campaign
}

// Queue is campaign-delete.
func (DeleteCampaign) Queue() string { return queue.CampaignDelete }

// Events asks the events worker to judge and store tracking events
// (tracking-events). They name campaigns, not accounts: the row each
// names must still exist for it to be kept.
type Events struct {
	Events []tracking.Event `json:"events"`
}

func (e Events) check() error {
	if len(e.Events) == 0 {
		return apperr.E(apperr.Invalid, "message_invalid", "a tracking message needs events")
	}
	return nil
}

// Queue is tracking-events.
func (Events) Queue() string { return queue.TrackingEvents }

// MailboxRead asks the mailbox reader to read an account's inbox for
// replies to and bounces of its messages (mailbox-read).
type MailboxRead struct {
	account.Key
}

func (m MailboxRead) check() error {
	if !m.Valid() {
		return apperr.E(apperr.Invalid, "message_invalid", "a mailbox read needs tenantId and objectId")
	}
	return nil
}

// Queue is mailbox-read.
func (MailboxRead) Queue() string { return queue.MailboxRead }

// Payload is any of the payloads above.
type Payload interface {
	Start | Step | Data | Notice | DeleteAccount | DeleteCampaign | Events | MailboxRead
	// Queue names the payload's queue, drained by the function of the
	// same name (functions.Table).
	Queue() string
	check() error
}

// Decode reads a payload from a queue message's body; a body that is not
// one is Invalid (the message is dropped, not retried).
func Decode[P Payload](body []byte) (P, error) {
	var p P
	if err := json.Unmarshal(body, &p); err != nil {
		return p, apperr.Wrap(err, apperr.Invalid, "message_invalid", "the message is not JSON of the expected shape")
	}
	return p, p.check()
}

// Sender puts a message on a queue (the transport: Storage queues or
// Service Bus).
type Sender interface {
	Send(ctx context.Context, m queue.Message) error
}

// Queue enqueues payloads.
type Queue struct {
	Sender Sender
	Now    func() time.Time
	// Logger notes the tracking events dropped for their size (nil: not
	// noted).
	Logger *slog.Logger
}

// send puts p on its queue; id, when set, lets Service Bus drop a
// duplicate, and at, when later than now, delays it.
func send[P Payload](ctx context.Context, q Queue, p P, id string, at time.Time) error {
	body, err := json.Marshal(p)
	if err != nil {
		return err
	}
	m := queue.Message{Queue: p.Queue(), Body: body, ID: id}
	if at.After(q.Now()) {
		m.NotBefore = at
	}
	return q.Sender.Send(ctx, m)
}

// Start enqueues a start; id, when set, lets Service Bus drop a duplicate.
func (q Queue) Start(ctx context.Context, s Start, id string) error {
	return send(ctx, q, s, id, time.Time{})
}

// StartAt enqueues a start due at (a scheduled campaign's).
func (q Queue) StartAt(ctx context.Context, s Start, id string, at time.Time) error {
	return send(ctx, q, s, id, at)
}

// Step enqueues a send step, due at.
func (q Queue) Step(ctx context.Context, s Step, at time.Time) error {
	return send(ctx, q, s, "send-"+s.CampaignID+"-"+s.Step, at)
}

// Data enqueues the reading of an upload.
func (q Queue) Data(ctx context.Context, d Data) error {
	return send(ctx, q, d, "", time.Time{})
}

// Notice enqueues a notice; id tells it from the campaign's other notices
// (Service Bus drops a second one with the same).
func (q Queue) Notice(ctx context.Context, n Notice, id string) error {
	return send(ctx, q, n, id, time.Time{})
}

// DeleteAccount enqueues an account's deletion.
func (q Queue) DeleteAccount(ctx context.Context, d DeleteAccount) error {
	return send(ctx, q, d, "", time.Time{})
}

// DeleteCampaign enqueues a campaign's deletion.
func (q Queue) DeleteCampaign(ctx context.Context, d DeleteCampaign) error {
	return send(ctx, q, d, "", time.Time{})
}

// MailboxRead enqueues the reading of an account's inbox; id, when set,
// lets Service Bus drop a duplicate (the same timer run's).
func (q Queue) MailboxRead(ctx context.Context, m MailboxRead, id string) error {
	return send(ctx, q, m, id, time.Time{})
}

// maxEventsMessage bounds the JSON of one tracking-events message: a
// Storage queue message holds 64 KB once base64-encoded (48 KB of JSON),
// a Service Bus Standard one 256 KB.
const maxEventsMessage = 40 << 10

// Events enqueues tracking events, as many messages as their size needs.
// If one fails, the ones before it were sent: sending all again stores
// nothing twice (the worker names each event by what it is). An event
// that alone does not fit a message is dropped and logged, not sent: no
// queue would take it, and failing for it would keep the events around it
// from ever being sent.
func (q Queue) Events(ctx context.Context, events []tracking.Event) error {
	var chunk []tracking.Event
	size := 0
	for _, e := range events {
		raw, err := json.Marshal(e)
		if err != nil {
			return err
		}
		if len(raw)+1 > maxEventsMessage-32 {
			if q.Logger != nil {
				q.Logger.ErrorContext(ctx, "tracking event dropped: too large for a queue message", "campaign", e.CampaignID, "row", e.Row,
					"kind", string(e.Kind), "bytes", len(raw))
			}
			continue
		}
		if len(chunk) > 0 && size+len(raw)+1 > maxEventsMessage-32 {
			if err := send(ctx, q, Events{Events: chunk}, "", time.Time{}); err != nil {
				return err
			}
			chunk, size = nil, 0
		}
		chunk, size = append(chunk, e), size+len(raw)+1
	}
	if len(chunk) == 0 {
		return nil
	}
	return send(ctx, q, Events{Events: chunk}, "", time.Time{})
}

// Deletion enqueues the deletion of campaign campaignID of account k, or
// of the whole account when campaignID is empty.
func (q Queue) Deletion(ctx context.Context, k account.Key, campaignID string) error {
	if campaignID == "" {
		return q.DeleteAccount(ctx, DeleteAccount{Key: k})
	}
	return q.DeleteCampaign(ctx, DeleteCampaign{Campaign{Key: k, CampaignID: campaignID}})
}
