package funchost

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue/queueerror"

	"mailmerge/handler/internal/config"
)

// queueService returns the queue client for a binding's connection setting.
func (h *Host) queueService(connection string) (*azqueue.ServiceClient, error) {
	if connection == "" {
		connection = "AzureWebJobsStorage"
	}
	cs := h.setting(connection)
	if cs == "" {
		return nil, fmt.Errorf("queue connection %s is not set (environment or local.settings.json)", connection)
	}
	if strings.EqualFold(strings.TrimSuffix(strings.TrimSpace(cs), ";"), "UseDevelopmentStorage=true") {
		cs = config.DevelopmentStorage
	}
	return azqueue.NewServiceClientFromConnectionString(cs, nil)
}

func (h *Host) startQueues(ctx context.Context, wg *sync.WaitGroup) error {
	for _, f := range h.app.Functions {
		t, _ := f.trigger()
		switch t.Type {
		case "queueTrigger":
		case "serviceBusTrigger":
			return fmt.Errorf("function %s uses serviceBusTrigger: stage the app with Storage queue triggers for local runs", f.Name)
		default:
			continue
		}
		svc, err := h.queueService(t.Connection)
		if err != nil {
			return err
		}
		q := svc.NewQueueClient(t.QueueName)
		poison := svc.NewQueueClient(t.QueueName + "-poison")
		for _, c := range []*azqueue.QueueClient{q, poison} {
			if _, err := c.Create(ctx, nil); err != nil && !queueerror.HasCode(err, queueerror.QueueAlreadyExists) {
				return fmt.Errorf("create queue for %s: %w", f.Name, err)
			}
		}
		wg.Go(func() { h.pollQueue(ctx, f, t, q, poison) })
	}
	return nil
}

// pollQueue fetches batches while there are messages and backs off to
// maxPollingInterval when the queue is empty, as the host's queue listener does.
func (h *Host) pollQueue(ctx context.Context, f function, t binding, q, poison *azqueue.QueueClient) {
	batch := int32(h.app.batchSize)
	// The host keeps a message invisible while its function runs.
	vis := int32(max(h.app.functionTimeout/time.Second, 30))
	wait := 100 * time.Millisecond
	inflight := make(chan struct{}, h.app.batchSize+h.app.newBatchThreshold)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		resp, err := q.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{NumberOfMessages: &batch, VisibilityTimeout: &vis})
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			h.logger.Warn("queue poll failed", "function", f.Name, "error", err.Error())
		}
		if err != nil || len(resp.Messages) == 0 {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			wait = min(wait*2, h.app.maxPollingInterval)
			continue
		}
		wait = 100 * time.Millisecond
		for _, m := range resp.Messages {
			select {
			case inflight <- struct{}{}:
			case <-ctx.Done():
				return
			}
			wg.Go(func() {
				defer func() { <-inflight }()
				h.process(ctx, f, t, q, poison, m)
			})
		}
	}
}

// process runs one message and settles it: delete on success; on failure
// make it visible again after visibilityTimeout, or move it to the poison
// queue once it has been dequeued maxDequeueCount times.
func (h *Host) process(ctx context.Context, f function, t binding, q, poison *azqueue.QueueClient, m *azqueue.DequeuedMessage) {
	text := deref(m.MessageText)
	count := 0
	if m.DequeueCount != nil {
		count = int(*m.DequeueCount)
	}
	content := text
	if h.app.base64Messages {
		b, err := base64.StdEncoding.DecodeString(text)
		if err != nil {
			// The host moves a message it cannot decode straight to poison.
			h.logger.Warn("message is not base64; moving to poison", "function", f.Name, "messageId", deref(m.MessageID))
			h.toPoison(ctx, f, q, poison, m, text)
			return
		}
		content = string(b)
	}
	ok, _ := h.invokeDefault(ctx, f.Name, "queue", map[string]any{t.Name: content}, queueMetadata(f.Name, m, count, content))
	if ctx.Err() != nil {
		return // shutting down: the message becomes visible again by itself
	}
	switch {
	case ok:
		if _, err := q.DeleteMessage(ctx, deref(m.MessageID), deref(m.PopReceipt), nil); err != nil {
			h.logger.Warn("delete message failed", "function", f.Name, "error", err.Error())
		}
	case count >= h.app.maxDequeueCount:
		h.logger.Warn("message failed too often; moving to poison", "function", f.Name, "messageId", deref(m.MessageID), "dequeueCount", count)
		h.toPoison(ctx, f, q, poison, m, text)
	default:
		vis := int32(h.app.visibilityTimeout / time.Second)
		if _, err := q.UpdateMessage(ctx, deref(m.MessageID), deref(m.PopReceipt), text, &azqueue.UpdateMessageOptions{VisibilityTimeout: &vis}); err != nil {
			h.logger.Warn("release message failed", "function", f.Name, "error", err.Error())
		}
	}
}

func (h *Host) toPoison(ctx context.Context, f function, q, poison *azqueue.QueueClient, m *azqueue.DequeuedMessage, text string) {
	ttl := int32(-1)
	if _, err := poison.EnqueueMessage(ctx, text, &azqueue.EnqueueMessageOptions{TimeToLive: &ttl}); err != nil {
		h.logger.Error("poison enqueue failed", "function", f.Name, "error", err.Error())
		return
	}
	if _, err := q.DeleteMessage(ctx, deref(m.MessageID), deref(m.PopReceipt), nil); err != nil {
		h.logger.Warn("delete message failed", "function", f.Name, "error", err.Error())
	}
}

// queueMetadata is the queueTrigger metadata, scalars JSON-encoded inside
// strings as the host serialises them; top-level properties of a JSON
// message body become metadata keys too.
func queueMetadata(function string, m *azqueue.DequeuedMessage, count int, content string) map[string]any {
	md := map[string]any{}
	var props map[string]json.RawMessage
	if json.Unmarshal([]byte(content), &props) == nil {
		for k, v := range props {
			md[k] = jsonString(v)
		}
	}
	md["DequeueCount"] = strconv.Itoa(count)
	md["Id"] = quote(deref(m.MessageID))
	md["PopReceipt"] = quote(deref(m.PopReceipt))
	md["InsertionTime"] = formatTime(m.InsertionTime)
	md["ExpirationTime"] = formatTime(m.ExpirationTime)
	md["NextVisibleTime"] = formatTime(m.TimeNextVisible)
	md["sys"] = sysMetadata(function)
	return md
}

// jsonString renders a raw JSON value the way the host passes metadata: as
// the text of its JSON serialisation.
func jsonString(v json.RawMessage) string { return string(v) }

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func formatTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format("2006-01-02T15:04:05+00:00")
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// invokeAdminQueue runs a queue function with the given input, as the admin
// API does: no message exists, so nothing is settled afterwards.
func (h *Host) invokeAdminQueue(ctx context.Context, f function, t binding, input string) {
	md := map[string]any{"DequeueCount": "1", "Id": quote("admin"), "sys": sysMetadata(f.Name)}
	h.invokeDefault(ctx, f.Name, "queue", map[string]any{t.Name: input}, md)
}
