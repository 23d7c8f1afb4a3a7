package queue

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue/queueerror"

	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/config"
)

// maxVisibility is the longest a Storage queue message can stay invisible
// (7 days). A later NotBefore is delivered at this bound; the worker then
// sees it is early and schedules itself again.
const maxVisibility = 7*24*time.Hour - time.Second

// Storage sends messages to Azure Storage queues, base64-encoded as the
// Functions host expects by default (messageEncoding "base64").
type Storage struct {
	svc *azqueue.ServiceClient
	now func() time.Time

	mu      sync.Mutex
	clients map[string]*azqueue.QueueClient
}

// NewStorage connects to the queue service of conn. It does no I/O.
func NewStorage(conn config.Connection) (*Storage, error) {
	var svc *azqueue.ServiceClient
	var err error
	switch {
	case conn.ConnectionString != "":
		svc, err = azqueue.NewServiceClientFromConnectionString(conn.ConnectionString, nil)
	case conn.QueueServiceURI != "":
		cred, cerr := conn.TokenCredential()
		if cerr != nil {
			return nil, cerr
		}
		svc, err = azqueue.NewServiceClient(conn.QueueServiceURI, cred, nil)
	default:
		return nil, fmt.Errorf("%s: no queue endpoint: give a connection string or __accountName", conn.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: queue client: %w", conn.Name, err)
	}
	return &Storage{svc: svc, now: time.Now, clients: map[string]*azqueue.QueueClient{}}, nil
}

func (s *Storage) client(name string) *azqueue.QueueClient {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[name]
	if !ok {
		c = s.svc.NewQueueClient(name)
		s.clients[name] = c
	}
	return c
}

// visibilitySeconds is a delay in the whole seconds Storage queues take,
// rounded to the nearest: a scheduled send step comes at most half a
// second early (pacing lets a send start a little before its slot, and a
// step earlier than that schedules itself again) rather than up to a whole
// second late, which at one send every 2 s would cost rate.
func visibilitySeconds(d time.Duration) int32 {
	return int32(min(d, maxVisibility).Round(time.Second) / time.Second)
}

// Send enqueues m. A future NotBefore becomes the message's visibility
// timeout; messages never expire on their own (time-to-live -1), so a
// scheduled step cannot silently vanish.
func (s *Storage) Send(ctx context.Context, m Message) error {
	vis := visibilitySeconds(m.delay(s.now()))
	ttl := int32(-1)
	opts := &azqueue.EnqueueMessageOptions{VisibilityTimeout: &vis, TimeToLive: &ttl}
	body := base64.StdEncoding.EncodeToString(m.Body)
	c := s.client(m.Queue)
	_, err := c.EnqueueMessage(ctx, body, opts)
	if queueerror.HasCode(err, queueerror.QueueNotFound) {
		if _, cerr := c.Create(ctx, nil); cerr != nil && !queueerror.HasCode(cerr, queueerror.QueueAlreadyExists) {
			return translateStorage(fmt.Errorf("create queue %s: %w", m.Queue, cerr))
		}
		_, err = c.EnqueueMessage(ctx, body, opts)
	}
	if err != nil {
		return translateStorage(fmt.Errorf("enqueue to %s: %w", m.Queue, err))
	}
	return nil
}

func translateStorage(err error) error {
	var re *azcore.ResponseError
	if errors.As(err, &re) && re.StatusCode < 500 && re.StatusCode != http.StatusTooManyRequests && re.StatusCode != http.StatusRequestTimeout {
		return apperr.Wrap(err, apperr.Internal, "queue_refused", "the queue refused the message")
	}
	return apperr.Wrap(err, apperr.Transient, "queue_unavailable", "the queue is unavailable")
}
