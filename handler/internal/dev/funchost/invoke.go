package funchost

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/google/uuid"
)

// hostReply is the custom handler's answer to a default-mode invocation.
type hostReply struct {
	Outputs     map[string]json.RawMessage `json:"Outputs"`
	Logs        []string                   `json:"Logs"`
	ReturnValue json.RawMessage            `json:"ReturnValue"`
}

// sysMetadata is the "sys" object the host adds to every invocation.
func sysMetadata(function string) map[string]any {
	return map[string]any{
		"MethodName": function,
		"UtcNow":     time.Now().UTC().Format(time.RFC3339Nano),
		"RandGuid":   uuid.NewString(),
	}
}

// invokeDefault POSTs {Data, Metadata} to /<function> and reports whether the
// invocation succeeded: a 2xx answer with a JSON body. The real host treats
// any non-2xx as failure and hangs on an empty 200 body, so that is a failure
// here too, with a message saying why.
func (h *Host) invokeDefault(ctx context.Context, function, trigger string, data, metadata map[string]any) (bool, string) {
	start := time.Now()
	id := uuid.NewString()
	payload, err := json.Marshal(map[string]any{"Data": data, "Metadata": metadata})
	if err != nil {
		return false, err.Error()
	}
	ctx, cancel := context.WithTimeout(ctx, h.app.functionTimeout+time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.handlerURL("/"+function), bytes.NewReader(payload))
	if err != nil {
		return false, err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Azure-Functions-InvocationId", id)
	req.Header.Set("X-Azure-Functions-HostVersion", Version)
	req.Header.Set("User-Agent", "Azure-Functions-Host/"+Version)
	ok, detail := h.post(req)
	outcome := "succeeded"
	if !ok {
		outcome = "failed"
	}
	h.logInvocation(function, trigger, id, outcome, start, detail)
	return ok, detail
}

func (h *Host) post(req *http.Request) (bool, string) {
	resp, err := h.client.Do(req)
	if err != nil {
		return false, err.Error()
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return false, err.Error()
	}
	var reply hostReply
	if len(bytes.TrimSpace(body)) == 0 {
		return false, fmt.Sprintf("status %d with an empty body (the Azure host would hang on this)", resp.StatusCode)
	}
	if err := json.Unmarshal(body, &reply); err != nil {
		return false, fmt.Sprintf("status %d with a body that is not the {Outputs, Logs, ReturnValue} JSON", resp.StatusCode)
	}
	for _, line := range reply.Logs {
		h.logger.Info("handler log", "function", req.URL.Path[1:], "line", line)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return false, fmt.Sprintf("status %d", resp.StatusCode)
	}
	return true, fmt.Sprintf("status %d", resp.StatusCode)
}
