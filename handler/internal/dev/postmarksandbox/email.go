package postmarksandbox

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Postmark's limits (reference §6).
const (
	maxEmailBytes  = 10 << 20 // one message after base64
	maxBatchBytes  = 50 << 20 // one batch request
	maxBodyBytes   = 5 << 20  // each of TextBody and HtmlBody
	maxRecipients  = 50       // To, Cc and Bcc together
	maxTagChars    = 1000
	maxBatchEmails = 500
	defaultStream  = "outbound"
)

// Postmark's API error codes (API overview) the sandbox answers.
const (
	codeBadToken          = 10
	codeMaintenance       = 100
	codeInvalidRequest    = 300
	codeInvalidJSON       = 402
	codeIncompatibleJSON  = 403
	codeInactiveRecipient = 406
	codeTooManyBatch      = 410
	codeRateLimit         = 429
	codeNoSuchStream      = 1235
)

// apiError is Postmark's error body.
type apiError struct {
	ErrorCode int    `json:"ErrorCode"`
	Message   string `json:"Message"`
}

// sendResult is Postmark's answer for one email, alone or in a batch.
type sendResult struct {
	To          string `json:"To,omitempty"`
	SubmittedAt string `json:"SubmittedAt,omitempty"`
	MessageID   string `json:"MessageID,omitempty"`
	ErrorCode   int    `json:"ErrorCode"`
	Message     string `json:"Message"`
}

func (s *Sandbox) serveEmail(w http.ResponseWriter, r *http.Request) {
	test, ok := s.admit(w, r)
	if !ok {
		return
	}
	body, ok := readBody(w, r, maxEmailBytes)
	if !ok {
		return
	}
	var m Message
	if e := decode(body, &m); e != nil {
		writeJSON(w, http.StatusUnprocessableEntity, e)
		return
	}
	res, err := s.accept(m, test)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	status := http.StatusOK
	if res.ErrorCode != 0 {
		status = http.StatusUnprocessableEntity
	}
	writeJSON(w, status, res)
}

// serveBatch answers 200 with one result per email, failures included, as
// Postmark does; only a request that is wrong as a whole gets a 4xx.
func (s *Sandbox) serveBatch(w http.ResponseWriter, r *http.Request) {
	test, ok := s.admit(w, r)
	if !ok {
		return
	}
	body, ok := readBody(w, r, maxBatchBytes)
	if !ok {
		return
	}
	var ms []Message
	if e := decode(body, &ms); e != nil {
		writeJSON(w, http.StatusUnprocessableEntity, e)
		return
	}
	if len(ms) > maxBatchEmails {
		writeJSON(w, http.StatusUnprocessableEntity, apiError{codeTooManyBatch,
			fmt.Sprintf("Too many batch messages: you may send up to %d messages in a batch call, not %d.", maxBatchEmails, len(ms))})
		return
	}
	out := make([]sendResult, 0, len(ms))
	for _, m := range ms {
		res, err := s.accept(m, test)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		out = append(out, res)
	}
	writeJSON(w, http.StatusOK, out)
}

// admit answers an injected failure, a bad token or the wrong media types,
// in that order, and reports whether the request may go on and whether it
// came with TestToken.
func (s *Sandbox) admit(w http.ResponseWriter, r *http.Request) (test, ok bool) {
	if f, ok := s.nextFailure(); ok {
		writeFailure(w, f)
		return false, false
	}
	token := r.Header.Get("X-Postmark-Server-Token")
	switch {
	case token == "":
		writeJSON(w, http.StatusUnauthorized, apiError{codeBadToken,
			"No Account or Server API tokens were supplied in the HTTP headers. Please add a header for either X-Postmark-Server-Token or X-Postmark-Account-Token."})
		return false, false
	case token == TestToken:
		test = true
	case s.token == "" || subtle.ConstantTimeCompare([]byte(token), []byte(s.token)) != 1:
		writeJSON(w, http.StatusUnauthorized, apiError{codeBadToken, "Request does not contain a valid Server token."})
		return false, false
	}
	// Since November 2023 Postmark answers 415 when either header is not
	// application/json ("Changes to Email API validation").
	if !isJSON(r.Header.Get("Content-Type")) || !acceptsJSON(r.Header.Values("Accept")) {
		http.Error(w, "Unsupported Media Type: send Accept: application/json and Content-Type: application/json.", http.StatusUnsupportedMediaType)
		return false, false
	}
	return test, true
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && mt == "application/json"
}

func acceptsJSON(values []string) bool {
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			if isJSON(strings.TrimSpace(part)) {
				return true
			}
		}
	}
	return false
}

func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		http.Error(w, fmt.Sprintf("Payload Too Large: the limit is %d MB.", limit>>20), http.StatusRequestEntityTooLarge)
		return nil, false
	case err != nil:
		http.Error(w, "cannot read the request body", http.StatusBadRequest)
		return nil, false
	}
	return body, true
}

// decode tells a body that is not JSON (402) from JSON of the wrong shape
// (403), as Postmark does.
func decode(body []byte, v any) *apiError {
	err := json.Unmarshal(body, v)
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "(root)"
		}
		return &apiError{codeIncompatibleJSON, "Invalid request field(s) - " + field + "."}
	default:
		return &apiError{codeInvalidJSON, "Received invalid JSON input."}
	}
}

// accept validates one email and, unless test is set, records it. The error
// is the sandbox's own failure to write the file.
func (s *Sandbox) accept(m Message, test bool) (sendResult, error) {
	if m.MessageStream == "" {
		m.MessageStream = defaultStream
	}
	if e := s.validate(m); e != nil {
		return sendResult{ErrorCode: e.ErrorCode, Message: e.Message}, nil
	}
	m.MessageID = uuid.NewString()
	m.ReceivedAt = time.Now()
	res := sendResult{To: m.To, SubmittedAt: m.ReceivedAt.Format(time.RFC3339Nano), MessageID: m.MessageID, Message: "OK"}
	if test {
		res.Message = "Test job accepted"
		return res, nil
	}
	if err := s.write(m); err != nil {
		return sendResult{}, err
	}
	s.mu.Lock()
	s.messages = append(s.messages, m)
	s.mu.Unlock()
	return res, nil
}

// validate applies Postmark's checks of one email; nil means it is accepted.
func (s *Sandbox) validate(m Message) *apiError {
	invalid := func(format string, args ...any) *apiError {
		return &apiError{codeInvalidRequest, fmt.Sprintf(format, args...)}
	}
	if strings.TrimSpace(m.From) == "" {
		return invalid("Invalid 'From' value.")
	}
	if _, err := mail.ParseAddress(m.From); err != nil {
		return invalid("Invalid 'From' address: '%s'.", m.From)
	}
	var recipients []string
	for _, f := range []struct{ name, value string }{{"To", m.To}, {"Cc", m.Cc}, {"Bcc", m.Bcc}} {
		if strings.TrimSpace(f.value) == "" {
			continue
		}
		list, err := mail.ParseAddressList(f.value)
		if err != nil {
			return invalid("Invalid '%s' address: '%s'.", f.name, f.value)
		}
		for _, a := range list {
			recipients = append(recipients, a.Address)
		}
	}
	switch {
	case len(recipients) == 0:
		return invalid("Zero recipients specified")
	case strings.TrimSpace(m.To) == "":
		return invalid("Invalid 'To' address: ''.")
	case len(recipients) > maxRecipients:
		return invalid("Too many recipients: %d; at most %d are allowed in To, Cc and Bcc together.", len(recipients), maxRecipients)
	case m.TextBody == "" && m.HtmlBody == "":
		return invalid("Provide either email TextBody or HtmlBody or both.")
	case len(m.TextBody) > maxBodyBytes || len(m.HtmlBody) > maxBodyBytes:
		return invalid("The message body is too large: TextBody and HtmlBody may each be at most %d MB.", maxBodyBytes>>20)
	case utf8.RuneCountInString(m.Tag) > maxTagChars:
		return invalid("The Tag may be at most %d characters.", maxTagChars)
	case m.MessageStream != defaultStream:
		return &apiError{codeNoSuchStream, fmt.Sprintf("The 'MessageStream' provided does not exist on this server: '%s'.", m.MessageStream)}
	}
	var inactive []string
	s.mu.Lock()
	for _, a := range recipients {
		if s.inactive[strings.ToLower(a)] {
			inactive = append(inactive, a)
		}
	}
	s.mu.Unlock()
	if len(inactive) > 0 {
		return &apiError{codeInactiveRecipient, "You tried to send to recipient(s) that have been marked as inactive. Found inactive addresses: " +
			strings.Join(inactive, ", ") + ". Inactive recipients are ones that have generated a hard bounce, a spam complaint, or a manual suppression."}
	}
	return nil
}

// write saves an accepted email as <Dir>/<MessageID>.json.
func (s *Sandbox) write(m Message) error {
	if s.dir == "" {
		return nil
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("postmarksandbox: %w", err)
	}
	if err := os.MkdirAll(s.dir, 0o700); err != nil {
		return fmt.Errorf("postmarksandbox: %w", err)
	}
	if err := os.WriteFile(filepath.Join(s.dir, m.MessageID+".json"), append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("postmarksandbox: %w", err)
	}
	return nil
}

// writeFailure answers an injected failure.
func writeFailure(w http.ResponseWriter, f Failure) {
	code := 0
	switch {
	case f.ErrorCode != nil:
		code = *f.ErrorCode
	case f.Status == http.StatusUnauthorized:
		code = codeBadToken
	case f.Status == http.StatusUnprocessableEntity:
		code = codeInvalidRequest
	case f.Status == http.StatusTooManyRequests:
		code = codeRateLimit
	default:
		msg := f.Message
		if msg == "" {
			msg = http.StatusText(f.Status)
		}
		http.Error(w, msg, f.Status)
		return
	}
	msg := f.Message
	if msg == "" {
		msg = map[int]string{
			codeBadToken:       "Request does not contain a valid Server token.",
			codeInvalidRequest: "Invalid email request (injected by the sandbox).",
			codeRateLimit:      "Rate limit exceeded.",
			codeMaintenance:    "The service is down for maintenance.",
		}[code]
	}
	if msg == "" {
		msg = http.StatusText(f.Status)
	}
	writeJSON(w, f.Status, apiError{code, msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
