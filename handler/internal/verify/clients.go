package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// run is one run's state: what the checks found, for the checks after.
type run struct {
	Options
	passed map[string]bool
	tag    string

	clientID, authority string
	senderAPI           string // the sender's token for the product's API
	senderGraph         string // the sender's Graph token (Mail.Send)
	recipientGraph      string // the recipient's Graph token (Mail.Read, Mail.Send)
	campaigns           []string
	campaignID          string
	received            []graphMessage // what the recipient received
	reading             bool
	accountDeleted      bool
}

// httpError is an answer that was not 2xx: its status and the start of
// its body (the product's and Graph's errors say what went wrong; they
// hold no secret).
type httpError struct {
	Method, Path string
	Status       int
	Body         string
}

func (e *httpError) Error() string {
	return fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.Status, e.Body)
}

func statusOf(err error) int {
	var he *httpError
	if errors.As(err, &he) {
		return he.Status
	}
	return 0
}

// call sends a request with a bearer token and decodes a JSON answer into
// out (when not nil).
func (r *run) call(ctx context.Context, method, u, token, ctype string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := r.HTTP.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if resp.StatusCode >= 300 {
		p, _ := url.Parse(u)
		return &httpError{Method: method, Path: p.Path, Status: resp.StatusCode, Body: clip(string(bytes.TrimSpace(raw)), 300)}
	}
	if out != nil && len(raw) > 0 {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// api calls the product's API as the sender.
func (r *run) api(ctx context.Context, method, path string, in, out any) error {
	var body []byte
	ctype := ""
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
		ctype = "application/json"
	}
	return r.call(ctx, method, strings.TrimRight(r.BaseURL, "/")+path, r.senderAPI, ctype, body, out)
}

// graph calls Microsoft Graph with token.
func (r *run) graph(ctx context.Context, method, path, token string, in, out any) error {
	var body []byte
	ctype := ""
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return err
		}
		ctype = "application/json"
	}
	return r.call(ctx, method, strings.TrimRight(r.GraphURL, "/")+path, token, ctype, body, out)
}

// graphMessage is what the checks read of a message.
type graphMessage struct {
	ID                string `json:"id"`
	Subject           string `json:"subject"`
	InternetMessageID string `json:"internetMessageId"`
	IsDraft           bool   `json:"isDraft"`
	Body              struct {
		Content string `json:"content"`
	} `json:"body"`
	Headers []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"internetMessageHeaders"`
	CC []struct {
		EmailAddress struct {
			Address string `json:"address"`
		} `json:"emailAddress"`
	} `json:"ccRecipients"`
}

// header is the message's first header of that name ("" when none).
func (m graphMessage) header(name string) string {
	for _, h := range m.Headers {
		if strings.EqualFold(h.Name, name) {
			return h.Value
		}
	}
	return ""
}

// sendMail sends a message from the mailbox token signs in, as a person
// would from Outlook.
func (r *run) sendMail(ctx context.Context, token, to, subject, html string, headers map[string]string) error {
	msg := map[string]any{
		"subject":      subject,
		"body":         map[string]string{"contentType": "HTML", "content": html},
		"toRecipients": []any{map[string]any{"emailAddress": map[string]string{"address": to}}},
	}
	var hs []map[string]string
	for k, v := range headers {
		hs = append(hs, map[string]string{"name": k, "value": v})
	}
	if len(hs) > 0 {
		msg["internetMessageHeaders"] = hs
	}
	return r.graph(ctx, "POST", "/me/sendMail", token, map[string]any{"message": msg, "saveToSentItems": true}, nil)
}

// waitFor polls done every few seconds until it says true, fails, or the
// run's wait passes.
func (r *run) waitFor(ctx context.Context, done func() (bool, error)) error {
	deadline := r.Now().Add(r.Wait)
	for {
		ok, err := done()
		if err != nil || ok {
			return err
		}
		if r.Now().After(deadline) {
			return fmt.Errorf("not within %v", r.Wait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

// runTimer starts a timer function now through the Functions host's admin
// API, where the run may; false when it may not (then the run waits for
// the timer's own schedule).
func (r *run) runTimer(ctx context.Context, name string) bool {
	if !r.Admin && r.FunctionsKey == "" {
		return false
	}
	req, err := http.NewRequestWithContext(ctx, "POST", strings.TrimRight(r.BaseURL, "/")+"/admin/functions/"+name, strings.NewReader("{}"))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	if r.FunctionsKey != "" {
		req.Header.Set("x-functions-key", r.FunctionsKey)
	}
	resp, err := r.HTTP.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode < 300
}

// cleanup deletes what the run made, if the deletion check did not.
func (r *run) cleanup(ctx context.Context) {
	if r.senderAPI == "" || r.accountDeleted {
		return
	}
	for _, id := range r.campaigns {
		_ = r.api(ctx, "DELETE", "/v1/campaigns/"+url.PathEscape(id), nil, nil)
	}
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
