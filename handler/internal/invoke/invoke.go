// Package invoke speaks the Azure Functions custom handler protocol for
// queue and timer functions: the host POSTs {Data, Metadata} to
// /<FunctionName> and reads back {Outputs, Logs, ReturnValue}. Worker code is
// a plain func(ctx, msg) error; this package turns its error kind into
// "retry" (a non-2xx reply) or "done" (a 2xx reply).
package invoke

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/logging"
)

// MaxPayload bounds an invocation body. Queue messages are at most 64 KB
// (Storage) or 256 KB (Service Bus standard) before the host's wrapping.
const MaxPayload = 4 << 20

// request is the host's default-mode request body.
type request struct {
	Data     map[string]json.RawMessage `json:"Data"`
	Metadata map[string]json.RawMessage `json:"Metadata"`
}

// reply is the host's expected answer. It must always be a JSON object: an
// empty 200 body leaves the invocation hanging in the real host.
type reply struct {
	Outputs     map[string]any `json:"Outputs"`
	Logs        []string       `json:"Logs"`
	ReturnValue any            `json:"ReturnValue"`
}

// Message is a queue delivery, decoded from either a serviceBusTrigger or a
// queueTrigger invocation.
type Message struct {
	// Body is the message content as it was sent.
	Body []byte
	// ID is the transport's message id.
	ID string
	// DeliveryCount is the Service Bus DeliveryCount or the Storage DequeueCount.
	DeliveryCount int
	// EnqueuedAt is when the message was first enqueued, when the host says.
	EnqueuedAt time.Time
}

// Timer is a timer trigger's schedule status.
type Timer struct {
	IsPastDue bool
	Last      time.Time
	Next      time.Time
}

// QueueFunc handles one queue message.
type QueueFunc func(ctx context.Context, m Message) error

// TimerFunc handles one timer tick.
type TimerFunc func(ctx context.Context, t Timer) error

// Queue returns the handler for a queue-triggered function whose trigger
// binding is named binding.
func Queue(logger *slog.Logger, function, binding string, fn QueueFunc) http.Handler {
	return handle(logger, function, func(ctx context.Context, req request) error {
		m, err := decodeMessage(req, binding)
		if err != nil {
			return err
		}
		return fn(ctx, m)
	})
}

// TimerHandler returns the handler for a timer-triggered function.
func TimerHandler(logger *slog.Logger, function, binding string, fn TimerFunc) http.Handler {
	return handle(logger, function, func(ctx context.Context, req request) error {
		t, err := decodeTimer(req, binding)
		if err != nil {
			return err
		}
		return fn(ctx, t)
	})
}

func handle(logger *slog.Logger, function string, run func(context.Context, request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := logging.WithInvocation(r.Context(), r.Header.Get("X-Azure-Functions-InvocationId"))
		start := time.Now()
		err := decodeRequest(w, r, func(req request) (err error) {
			// A panic fails this invocation (the host retries it), not the
			// process with every other invocation in it.
			defer func() {
				if v := recover(); v != nil {
					logger.ErrorContext(ctx, "panic", "function", function, "panic", v, "stack", string(debug.Stack()))
					err = apperr.E(apperr.Internal, "panic", "the function panicked")
				}
			}()
			return run(ctx, req)
		})
		out := reply{Outputs: map[string]any{}, Logs: []string{}}
		status := http.StatusOK
		switch {
		case err == nil:
			logger.InfoContext(ctx, "invocation done", "function", function, "ms", time.Since(start).Milliseconds())
		case apperr.Retryable(err):
			status = http.StatusInternalServerError
			out.Logs = append(out.Logs, function+": will retry: "+err.Error())
			logger.WarnContext(ctx, "invocation failed, will retry", "function", function, "kind", apperr.KindOf(err), "error", err.Error())
		default:
			out.Logs = append(out.Logs, function+": dropped: "+err.Error())
			logger.ErrorContext(ctx, "invocation dropped", "function", function, "kind", apperr.KindOf(err), "error", err.Error())
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(out)
	})
}

func decodeRequest(w http.ResponseWriter, r *http.Request, fn func(request) error) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxPayload))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return apperr.E(apperr.TooLarge, "payload_too_large", "invocation payload is over %d bytes", MaxPayload)
	}
	if err != nil {
		return apperr.Wrap(err, apperr.Transient, "read_failed", "reading the invocation payload failed")
	}
	var req request
	if err := json.Unmarshal(body, &req); err != nil {
		return apperr.Wrap(err, apperr.Invalid, "bad_payload", "invocation payload is not the host's {Data, Metadata} JSON")
	}
	return fn(req)
}

// decodeMessage reads the trigger value and its metadata. The host encodes
// scalars as JSON inside JSON strings ("DeliveryCount":"1",
// "MessageId":"\"abc\""), and a string message body as a JSON string that may
// itself hold a JSON string or base64 bytes.
func decodeMessage(req request, binding string) (Message, error) {
	raw, ok := req.Data[binding]
	if !ok {
		return Message{}, apperr.E(apperr.Invalid, "bad_payload", "invocation has no Data.%s", binding)
	}
	body, err := messageBody(raw)
	if err != nil {
		return Message{}, err
	}
	m := Message{Body: body}
	md := req.Metadata
	m.ID = scalarString(md["MessageId"])
	if m.ID == "" {
		m.ID = scalarString(md["Id"])
	}
	count := scalarString(md["DeliveryCount"])
	if count == "" {
		count = scalarString(md["DequeueCount"])
	}
	if count != "" {
		n, err := strconv.Atoi(count)
		if err != nil {
			return Message{}, apperr.E(apperr.Invalid, "bad_payload", "delivery count %q is not a number", count)
		}
		m.DeliveryCount = n
	}
	// EnqueuedTime carries a zone; the *Utc variants do not (host #6997).
	for _, key := range []string{"EnqueuedTime", "InsertionTime"} {
		if t, ok := parseTime(scalarString(md[key])); ok {
			m.EnqueuedAt = t
			break
		}
	}
	return m, nil
}

func messageBody(raw json.RawMessage) ([]byte, error) {
	trimmed := strings.TrimSpace(string(raw))
	if trimmed == "" || trimmed == "null" {
		return nil, apperr.E(apperr.Invalid, "bad_payload", "the message body is empty")
	}
	if trimmed[0] != '"' {
		// An object or array: the host already parsed the JSON body.
		return []byte(trimmed), nil
	}
	var s string
	if err := json.Unmarshal([]byte(trimmed), &s); err != nil {
		return nil, apperr.Wrap(err, apperr.Invalid, "bad_payload", "the message body is not a valid JSON string")
	}
	// A plain-text body arrives serialised twice.
	if strings.HasPrefix(s, `"`) {
		var inner string
		if json.Unmarshal([]byte(s), &inner) == nil {
			s = inner
		}
	}
	if !json.Valid([]byte(s)) {
		// byte[] bodies arrive as base64.
		if b, err := base64.StdEncoding.DecodeString(s); err == nil && json.Valid(b) {
			return b, nil
		}
	}
	return []byte(s), nil
}

// scalarString unwraps a metadata value that is a JSON string holding JSON.
func scalarString(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		// A bare number or bool, as the documentation's idealised samples show.
		return strings.TrimSpace(string(raw))
	}
	var inner string
	if strings.HasPrefix(s, `"`) && json.Unmarshal([]byte(s), &inner) == nil {
		return inner
	}
	return s
}

var timeLayouts = []string{time.RFC3339Nano, "2006-01-02T15:04:05.9999999Z07:00", "2006-01-02T15:04:05.9999999", "01/02/2006 15:04:05 -07:00", "1/2/2006 3:04:05 PM -07:00"}

func parseTime(s string) (time.Time, bool) {
	if s == "" {
		return time.Time{}, false
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

type timerData struct {
	IsPastDue      bool `json:"IsPastDue"`
	ScheduleStatus *struct {
		Last string `json:"Last"`
		Next string `json:"Next"`
	} `json:"ScheduleStatus"`
}

func decodeTimer(req request, binding string) (Timer, error) {
	raw, ok := req.Data[binding]
	if !ok {
		return Timer{}, apperr.E(apperr.Invalid, "bad_payload", "invocation has no Data.%s", binding)
	}
	var td timerData
	if err := json.Unmarshal(raw, &td); err != nil {
		// Some hosts send the timer object as a JSON string.
		var s string
		if json.Unmarshal(raw, &s) != nil || json.Unmarshal([]byte(s), &td) != nil {
			return Timer{}, apperr.Wrap(err, apperr.Invalid, "bad_payload", fmt.Sprintf("Data.%s is not a timer object", binding))
		}
	}
	t := Timer{IsPastDue: td.IsPastDue}
	if td.ScheduleStatus != nil {
		t.Last, _ = parseTime(td.ScheduleStatus.Last)
		t.Next, _ = parseTime(td.ScheduleStatus.Next)
	}
	return t, nil
}
