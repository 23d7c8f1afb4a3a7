package app

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/logging"
)

// maxJSONBody bounds JSON request bodies of the API.
const maxJSONBody = 64 << 10

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// reasonView shows a reason as the API does: like an error's detail, and
// not at all when there is none.
func reasonView(r campaign.Reason) *errorDetail {
	if r.IsZero() {
		return nil
	}
	return &errorDetail{Code: r.Code, Message: r.Text}
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

func encode(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// decode reads a JSON body into v, refusing unknown fields, trailing data and
// bodies over maxJSONBody. An empty body leaves v as it is when allowEmpty.
func decode(w http.ResponseWriter, r *http.Request, v any, allowEmpty bool) error {
	return decodeLimited(w, r, v, allowEmpty, maxJSONBody)
}

// decodeLimited is decode with another size limit.
func decodeLimited(w http.ResponseWriter, r *http.Request, v any, allowEmpty bool, limit int64) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return apperr.E(apperr.Unsupported, "unsupported_media_type", "send the body as application/json")
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	var tooBig *http.MaxBytesError
	switch {
	case errors.Is(err, io.EOF) && allowEmpty:
		return nil
	case errors.Is(err, io.EOF):
		return apperr.E(apperr.Invalid, "body_missing", "send a JSON body")
	case errors.As(err, &tooBig):
		return apperr.E(apperr.TooLarge, "body_too_large", "the body is over %d bytes", limit)
	case err != nil:
		return apperr.Wrap(err, apperr.Invalid, "body_invalid", "the body is not valid JSON for this route: "+err.Error())
	}
	if dec.More() {
		return apperr.E(apperr.Invalid, "body_invalid", "the body has data after the JSON value")
	}
	return nil
}

// statusOf is the one mapping from error kinds to HTTP statuses.
func statusOf(k apperr.Kind) int {
	switch k {
	case apperr.Invalid:
		return http.StatusBadRequest
	case apperr.NotFound:
		return http.StatusNotFound
	case apperr.Conflict:
		return http.StatusConflict
	case apperr.Unauthorized:
		return http.StatusUnauthorized
	case apperr.TooLarge:
		return http.StatusRequestEntityTooLarge
	case apperr.Unsupported:
		return http.StatusUnsupportedMediaType
	case apperr.TooMany:
		return http.StatusTooManyRequests
	case apperr.Transient:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// writeError answers with the JSON error body. Internal errors are logged
// with their cause and shown to the caller without it.
func writeError(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	kind := apperr.KindOf(err)
	detail := errorDetail{Code: "internal", Message: "something went wrong on our side; try again later"}
	var e *apperr.Error
	if errors.As(err, &e) && kind != apperr.Internal {
		detail = errorDetail{Code: e.Code, Message: e.Message}
	}
	if kind == apperr.Internal || kind == apperr.Transient {
		logger.ErrorContext(r.Context(), "request failed", "path", r.URL.Path, "kind", kind, "error", err.Error())
	}
	if kind == apperr.Unauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	}
	if kind == apperr.Transient {
		w.Header().Set("Retry-After", "5")
	}
	encode(w, statusOf(kind), errorBody{Error: detail})
}

func notFound(msg string) error { return apperr.E(apperr.NotFound, "not_found", "%s", msg) }

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// securityHeaders are set on every answer: the API answers JSON that no
// browser should sniff into something else, run, frame or refer onwards.
func securityHeaders(h http.Header) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	// As the web app's pages say it (package web): a browser keeps the
	// last it saw, so the host speaks with one voice.
	h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
}

// middleware sets the security headers, attaches the host's invocation id
// to the context, logs each request by path and status (never query
// strings or bodies), and turns a panic into a 500 instead of a dead
// process.
func (a *App) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		securityHeaders(w.Header())
		ctx := logging.WithInvocation(r.Context(), r.Header.Get("X-Azure-Functions-InvocationId"))
		r = r.WithContext(ctx)
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				a.Logger.ErrorContext(ctx, "panic", "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				if rec.status == 0 {
					writeError(rec, r, a.Logger, apperr.E(apperr.Internal, "internal", "panic"))
				}
			}
			if r.URL.Path != "/" {
				a.Logger.InfoContext(ctx, "request", "method", r.Method, "path", r.Pattern, "status", rec.status, "ms", time.Since(start).Milliseconds())
			}
		}()
		next.ServeHTTP(rec, r)
	})
}
