package queue

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azservicebus"

	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/config"
)

type fakeSender struct {
	sent      []*azservicebus.Message
	scheduled []*azservicebus.Message
	at        time.Time
	err       error
}

func (f *fakeSender) SendMessage(ctx context.Context, m *azservicebus.Message, _ *azservicebus.SendMessageOptions) error {
	f.sent = append(f.sent, m)
	return f.err
}

func (f *fakeSender) ScheduleMessages(ctx context.Context, ms []*azservicebus.Message, at time.Time, _ *azservicebus.ScheduleMessagesOptions) ([]int64, error) {
	f.scheduled = append(f.scheduled, ms...)
	f.at = at
	return []int64{1}, f.err
}

func TestServiceBusSendsNowOrSchedules(t *testing.T) {
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	senders := map[string]*fakeSender{}
	b := newServiceBus(func(q string) (sbSender, error) {
		f := &fakeSender{}
		senders[q] = f
		return f, nil
	})
	b.now = func() time.Time { return now }
	ctx := context.Background()
	if err := b.Send(ctx, Message{Queue: "account-delete", Body: []byte(`{"a":1}`), ID: "m1"}); err != nil {
		t.Fatal(err)
	}
	later := now.Add(90 * time.Second)
	if err := b.Send(ctx, Message{Queue: "account-delete", Body: []byte(`{"a":2}`), NotBefore: later}); err != nil {
		t.Fatal(err)
	}
	f := senders["account-delete"]
	if len(senders) != 1 {
		t.Errorf("one sender per queue, got %d", len(senders))
	}
	if len(f.sent) != 1 || string(f.sent[0].Body) != `{"a":1}` || *f.sent[0].MessageID != "m1" || *f.sent[0].ContentType != "application/json" {
		t.Errorf("sent %+v", f.sent)
	}
	if len(f.scheduled) != 1 || string(f.scheduled[0].Body) != `{"a":2}` || !f.at.Equal(later) {
		t.Errorf("scheduled %+v at %v", f.scheduled, f.at)
	}
}

func TestServiceBusErrorKinds(t *testing.T) {
	tests := []struct {
		err  error
		kind apperr.Kind
	}{
		{&azservicebus.Error{Code: azservicebus.CodeConnectionLost}, apperr.Transient},
		{&azservicebus.Error{Code: azservicebus.CodeTimeout}, apperr.Transient},
		{&azservicebus.Error{Code: azservicebus.CodeNotFound}, apperr.Internal},
		{&azservicebus.Error{Code: azservicebus.CodeUnauthorizedAccess}, apperr.Internal},
		{errors.New("dial tcp: i/o timeout"), apperr.Transient},
	}
	for _, tt := range tests {
		b := newServiceBus(func(string) (sbSender, error) { return &fakeSender{err: tt.err}, nil })
		err := b.Send(context.Background(), Message{Queue: "q", Body: []byte("{}")})
		if got := apperr.KindOf(err); got != tt.kind {
			t.Errorf("%v: kind %s, want %s", tt.err, got, tt.kind)
		}
	}
}

// TestServiceBusNamespace runs only when MAILMERGE_TEST_SERVICEBUS names a
// real namespace (a connection string, or a host name for identity-based
// access) with a queue "account-delete"; nothing can stand in for it here.
func TestServiceBusNamespace(t *testing.T) {
	v := os.Getenv("MAILMERGE_TEST_SERVICEBUS")
	if v == "" {
		t.Skip("MAILMERGE_TEST_SERVICEBUS is not set")
	}
	conn := config.Connection{Name: "MAILMERGE_TEST_SERVICEBUS", ConnectionString: v}
	if !strings.Contains(v, ";") {
		conn = config.Connection{Name: "MAILMERGE_TEST_SERVICEBUS", FullyQualifiedNamespace: v}
	}
	b, err := NewServiceBus(conn)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := b.Send(ctx, Message{Queue: AccountDelete, Body: []byte(`{"test":true}`)}); err != nil {
		t.Fatal(err)
	}
	if err := b.Send(ctx, Message{Queue: AccountDelete, Body: []byte(`{"test":true}`), NotBefore: time.Now().Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
}
