package invoke

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailmerge/handler/internal/apperr"
)

func post(t *testing.T, h http.Handler, body []byte) (*httptest.ResponseRecorder, reply) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/fn", bytes.NewReader(body)))
	var r reply
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
		t.Fatalf("reply is not JSON: %q", rec.Body.String())
	}
	if r.Outputs == nil || r.Logs == nil {
		t.Errorf("reply must carry Outputs and Logs: %s", rec.Body.String())
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type = %q", ct)
	}
	return rec, r
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestQueuePayloadsAsTheHostSendsThem(t *testing.T) {
	tests := []struct {
		file     string
		body     string
		id       string
		count    int
		enqueued time.Time
	}{
		{"servicebus.json", `{"tenantId":"t1","objectId":"o1"}`, "4e77b2c9-0a9e-4c43-9b63-1e1d3e5b7f22", 3, time.Date(2026, 11, 28, 10, 13, 49, 318e6, time.UTC)},
		{"storagequeue.json", `{"tenantId":"t1","objectId":"o1"}`, "5d1c0f4e-2a8b-4c7d-9e6f-0a1b2c3d4e5f", 2, time.Date(2026, 11, 28, 10, 13, 49, 0, time.UTC)},
		{"plaintext.json", `hello`, "abc", 1, time.Time{}},
		{"binary.json", `{"tenantId":"t1","objectId":"o1"}`, "b1", 1, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			var got Message
			h := Queue(quiet(), "fn", "msg", func(ctx context.Context, m Message) error { got = m; return nil })
			rec, _ := post(t, h, fixture(t, tt.file))
			if rec.Code != http.StatusOK {
				t.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
			if string(got.Body) != tt.body || got.ID != tt.id || got.DeliveryCount != tt.count || !got.EnqueuedAt.Equal(tt.enqueued) {
				t.Errorf("got body %q id %q count %d enqueued %v\nwant body %q id %q count %d enqueued %v",
					got.Body, got.ID, got.DeliveryCount, got.EnqueuedAt, tt.body, tt.id, tt.count, tt.enqueued)
			}
		})
	}
}

func TestTimerPayloads(t *testing.T) {
	var got Timer
	h := TimerHandler(quiet(), "retention", "timer", func(ctx context.Context, tm Timer) error { got = tm; return nil })
	rec, _ := post(t, h, fixture(t, "timer.json"))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}
	if want := time.Date(2026, 11, 28, 11, 5, 0, 0, time.UTC); !got.Next.Equal(want) || got.IsPastDue {
		t.Errorf("got %+v", got)
	}
	rec, _ = post(t, h, fixture(t, "timer-first.json"))
	if rec.Code != http.StatusOK || !got.IsPastDue || !got.Last.IsZero() {
		t.Errorf("first run: status %d, %+v", rec.Code, got)
	}
}

// TestErrorKindsDecideRetry: transient and internal failures answer non-2xx
// (the host retries, then poisons or dead-letters); the caller's faults and
// malformed payloads answer 2xx with the reason logged (retrying cannot help).
func TestErrorKindsDecideRetry(t *testing.T) {
	tests := []struct {
		name   string
		body   []byte
		err    error
		status int
	}{
		{"success", nil, nil, 200},
		{"transient", nil, apperr.E(apperr.Transient, "busy", "storage busy"), 500},
		{"unclassified", nil, io.ErrUnexpectedEOF, 500},
		{"invalid message", nil, apperr.E(apperr.Invalid, "bad_message", "bad"), 200},
		{"not JSON", []byte(`{"Data":`), nil, 200},
		{"no Data", []byte(`{"Metadata":{}}`), nil, 200},
		{"wrong binding", []byte(`{"Data":{"other":"x"},"Metadata":{}}`), nil, 200},
		{"null body", []byte(`{"Data":{"msg":null},"Metadata":{}}`), nil, 200},
		{"bad count", []byte(`{"Data":{"msg":"{}"},"Metadata":{"DequeueCount":"\"x\""}}`), nil, 200},
		{"too large", append(append([]byte(`{"Data":{"msg":"`), bytes.Repeat([]byte("a"), MaxPayload)...), `"}}`...), nil, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			h := Queue(quiet(), "fn", "msg", func(ctx context.Context, m Message) error { called = true; return tt.err })
			body := tt.body
			if body == nil {
				body = fixture(t, "storagequeue.json")
			}
			rec, r := post(t, h, body)
			if rec.Code != tt.status {
				t.Errorf("status = %d, want %d", rec.Code, tt.status)
			}
			if tt.err != nil && !called {
				t.Error("worker not called")
			}
			if tt.status != 200 || tt.err != nil || tt.body != nil {
				if len(r.Logs) == 0 {
					t.Error("a failure must be reported in Logs")
				}
			}
		})
	}
}

func TestInvalidTimerPayload(t *testing.T) {
	h := TimerHandler(quiet(), "retention", "timer", func(ctx context.Context, tm Timer) error { return nil })
	rec, r := post(t, h, []byte(`{"Data":{"timer":42},"Metadata":{}}`))
	if rec.Code != 200 || len(r.Logs) == 0 {
		t.Errorf("status %d logs %v", rec.Code, r.Logs)
	}
}
