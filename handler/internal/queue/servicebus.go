package queue

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"

	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/config"
)

// sbSender is the part of *azservicebus.Sender the adapter uses.
type sbSender interface {
	SendMessage(ctx context.Context, m *azservicebus.Message, opts *azservicebus.SendMessageOptions) error
	ScheduleMessages(ctx context.Context, ms []*azservicebus.Message, at time.Time, opts *azservicebus.ScheduleMessagesOptions) ([]int64, error)
}

// scheduleThreshold is the delay under which a message is sent at once
// rather than scheduled: scheduling costs a round trip and a sequence number.
const scheduleThreshold = time.Second

// ServiceBus sends messages to Azure Service Bus queues: scheduled messages
// for future steps, dead-lettering by the entity's MaxDeliveryCount.
type ServiceBus struct {
	newSender func(queue string) (sbSender, error)
	now       func() time.Time

	mu      sync.Mutex
	senders map[string]sbSender
}

// NewServiceBus connects to the namespace of conn: a connection string, or
// __fullyQualifiedNamespace with a managed or developer identity. It does no I/O.
func NewServiceBus(conn config.Connection) (*ServiceBus, error) {
	var client *azservicebus.Client
	var err error
	switch {
	case conn.ConnectionString != "":
		client, err = azservicebus.NewClientFromConnectionString(conn.ConnectionString, nil)
	case conn.FullyQualifiedNamespace != "":
		cred, cerr := conn.TokenCredential()
		if cerr != nil {
			return nil, cerr
		}
		client, err = azservicebus.NewClient(conn.FullyQualifiedNamespace, cred, nil)
	default:
		return nil, fmt.Errorf("%s: give a connection string or __fullyQualifiedNamespace", conn.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: service bus client: %w", conn.Name, err)
	}
	return newServiceBus(func(q string) (sbSender, error) { return client.NewSender(q, nil) }), nil
}

func newServiceBus(newSender func(string) (sbSender, error)) *ServiceBus {
	return &ServiceBus{newSender: newSender, now: time.Now, senders: map[string]sbSender{}}
}

func (b *ServiceBus) sender(queue string) (sbSender, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if s, ok := b.senders[queue]; ok {
		return s, nil
	}
	s, err := b.newSender(queue)
	if err != nil {
		return nil, err
	}
	b.senders[queue] = s
	return s, nil
}

// Send sends m now, or schedules it for m.NotBefore.
func (b *ServiceBus) Send(ctx context.Context, m Message) error {
	s, err := b.sender(m.Queue)
	if err != nil {
		return translateServiceBus(fmt.Errorf("sender for %s: %w", m.Queue, err))
	}
	msg := &azservicebus.Message{Body: m.Body, ContentType: ptr("application/json")}
	if m.ID != "" {
		msg.MessageID = ptr(m.ID)
	}
	if m.delay(b.now()) < scheduleThreshold {
		err = s.SendMessage(ctx, msg, nil)
	} else {
		_, err = s.ScheduleMessages(ctx, []*azservicebus.Message{msg}, m.NotBefore, nil)
	}
	if err != nil {
		return translateServiceBus(fmt.Errorf("send to %s: %w", m.Queue, err))
	}
	return nil
}

// translateServiceBus keeps lost connections and timeouts retryable; a
// missing queue or missing rights is a deployment fault, not a blip.
func translateServiceBus(err error) error {
	var sbErr *azservicebus.Error
	if errors.As(err, &sbErr) {
		switch sbErr.Code {
		case azservicebus.CodeNotFound, azservicebus.CodeUnauthorizedAccess:
			return apperr.Wrap(err, apperr.Internal, "queue_refused", "the queue refused the message")
		}
	}
	return apperr.Wrap(err, apperr.Transient, "queue_unavailable", "the queue is unavailable")
}

func ptr[T any](v T) *T { return &v }
