package queue

import (
	"context"
	"encoding/base64"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"mailmerge/handler/internal/dev/testenv"
)

func TestStorageSendIsBase64AndSchedulable(t *testing.T) {
	ctx := context.Background()
	s, err := NewStorage(testenv.Storage(t))
	if err != nil {
		t.Fatal(err)
	}
	name := testenv.Name("q")
	body := []byte(`{"tenantId":"t","objectId":"o"}`)
	if err := s.Send(ctx, Message{Queue: name, Body: body}); err != nil {
		t.Fatal(err)
	}
	if err := s.Send(ctx, Message{Queue: name, Body: []byte(`{"later":true}`), NotBefore: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	svc, err := azqueue.NewServiceClientFromConnectionString(testenv.StorageConnectionString(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	q := svc.NewQueueClient(name)
	n := int32(32)
	resp, err := q.DequeueMessages(ctx, &azqueue.DequeueMessagesOptions{NumberOfMessages: &n})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Messages) != 1 {
		t.Fatalf("visible messages = %d, want 1 (the scheduled one must stay hidden)", len(resp.Messages))
	}
	got, err := base64.StdEncoding.DecodeString(*resp.Messages[0].MessageText)
	if err != nil {
		t.Fatalf("message is not base64 as the host expects: %v", err)
	}
	if string(got) != string(body) {
		t.Errorf("body = %q, want %q", got, body)
	}
	props, err := q.GetProperties(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if props.ApproximateMessagesCount == nil || *props.ApproximateMessagesCount != 2 {
		t.Errorf("queue holds %v messages, want 2", props.ApproximateMessagesCount)
	}
}

func TestStorageDelayIsCappedAtSevenDays(t *testing.T) {
	now := time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC)
	m := Message{NotBefore: now.Add(30 * 24 * time.Hour)}
	if d := min(m.delay(now), maxVisibility); d != maxVisibility {
		t.Errorf("delay = %v", d)
	}
	if d := (Message{NotBefore: now.Add(-time.Hour)}).delay(now); d != 0 {
		t.Errorf("past NotBefore: delay = %v, want 0", d)
	}
	for d, want := range map[time.Duration]int32{0: 0, 499 * time.Millisecond: 0, 500 * time.Millisecond: 1, 1499 * time.Millisecond: 1, 2 * time.Second: 2, 30 * 24 * time.Hour: int32(7*24*3600 - 1)} {
		if got := visibilitySeconds(d); got != want {
			t.Errorf("visibility for %v = %d s, want %d s", d, got, want)
		}
	}
}
