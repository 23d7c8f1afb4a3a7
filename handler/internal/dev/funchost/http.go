package funchost

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
)

// maxRequestBody is the Functions HTTP trigger's request limit (100 MB).
const maxRequestBody = 104857600

// hopHeader reports whether a header belongs to one connection and so is
// not forwarded.
func hopHeader(k string) bool {
	switch http.CanonicalHeaderKey(k) {
	case "Connection", "Keep-Alive", "Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade":
		return true
	}
	return false
}

type httpFunction struct {
	function
	route   routeTemplate
	methods []string
}

func (h *Host) httpFunctions() []httpFunction {
	var out []httpFunction
	for _, f := range h.app.Functions {
		t, _ := f.trigger()
		if t.Type != "httpTrigger" {
			continue
		}
		route := t.Route
		if route == "" {
			route = f.Name
		}
		var methods []string
		for _, m := range t.Methods {
			methods = append(methods, strings.ToUpper(m))
		}
		out = append(out, httpFunction{function: f, route: parseRoute(h.app.routePrefix, route), methods: methods})
	}
	// As the real host's routing does, the more specific template wins
	// whatever the order of the functions: literal segments before
	// parameters, parameters before a catch-all.
	sort.SliceStable(out, func(i, j int) bool { return out[i].route.precedence() > out[j].route.precedence() })
	return out
}

// httpHandler routes requests to HTTP functions and serves the admin API.
func (h *Host) httpHandler(ctx context.Context) http.Handler {
	funcs := h.httpFunctions()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /admin/host/status", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"state": "Running", "version": Version})
	})
	// POST /admin/functions/{name} {"input": "..."} runs a non-HTTP function
	// now, as the real host's admin API does (202, asynchronously). The real
	// one asks for the master key; here, with no key, it refuses what a
	// browser sends for another site's page (which could delete an account)
	// and any body but JSON, which no page can send across sites without
	// the browser asking first.
	mux.HandleFunc("POST /admin/functions/{name}", func(w http.ResponseWriter, r *http.Request) {
		if o := r.Header.Get("Origin"); (o != "" && !h.appOrigin(o)) || !sameOrigin(r.Header.Get("Sec-Fetch-Site")) {
			writeJSON(w, http.StatusForbidden, map[string]any{"error": "the admin API runs functions for tools (curl), not for web pages"})
			return
		}
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
			writeJSON(w, http.StatusUnsupportedMediaType, map[string]any{"error": "send Content-Type: application/json"})
			return
		}
		var body struct {
			Input string `json:"input"`
		}
		_ = json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&body)
		name := r.PathValue("name")
		f, ok := h.findFunction(name)
		if !ok {
			writeJSON(w, http.StatusNotFound, map[string]any{"error": "no function " + name})
			return
		}
		t, _ := f.trigger()
		switch t.Type {
		case "timerTrigger":
			go h.fireTimer(context.WithoutCancel(ctx), f, t, time.Time{}, time.Time{})
		case "queueTrigger":
			go h.invokeAdminQueue(context.WithoutCancel(ctx), f, t, body.Input)
		default:
			writeJSON(w, http.StatusBadRequest, map[string]any{"error": "use the function's own trigger for " + t.Type})
			return
		}
		w.WriteHeader(http.StatusAccepted)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		for _, f := range funcs {
			if !f.route.match(r.URL.Path) {
				continue
			}
			if len(f.methods) > 0 && !slices.Contains(f.methods, r.Method) {
				continue
			}
			h.forward(w, r, f)
			return
		}
		w.WriteHeader(http.StatusNotFound)
	})
	return mux
}

// sameOrigin reports whether a Sec-Fetch-Site header allows the admin
// API: absent (not a browser), same-origin, or none (the developer's own
// doing, not a page's).
func sameOrigin(site string) bool {
	return site == "" || site == "same-origin" || site == "none"
}

func (h *Host) findFunction(name string) (function, bool) {
	for _, f := range h.app.Functions {
		if strings.EqualFold(f.Name, name) {
			return f, true
		}
	}
	return function{}, false
}

// forward sends a copy of the original request to the handler at the
// original path, as enableForwardingHttpRequest does, and buffers the answer.
func (h *Host) forward(w http.ResponseWriter, r *http.Request, f httpFunction) {
	start := time.Now()
	id := uuid.NewString()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRequestBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		w.WriteHeader(http.StatusRequestEntityTooLarge)
		h.logInvocation(f.Name, "http", id, "failed", start, "request body over 100 MB")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.app.functionTimeout+time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, r.Method, h.handlerURL(r.URL.RequestURI()), bytes.NewReader(body))
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	for k, vs := range r.Header {
		if !hopHeader(k) {
			req.Header[k] = vs
		}
	}
	req.Host = r.Host
	req.Header.Set("X-Azure-Functions-InvocationId", id)
	req.Header.Set("X-Azure-Functions-HostVersion", Version)
	req.Header.Set("X-Forwarded-For", clientIP(r))
	resp, err := h.client.Do(req)
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		h.logInvocation(f.Name, "http", id, "failed", start, err.Error())
		return
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		h.logInvocation(f.Name, "http", id, "failed", start, err.Error())
		return
	}
	for k, vs := range resp.Header {
		if !hopHeader(k) {
			w.Header()[k] = vs
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(out)
	outcome := "succeeded"
	if resp.StatusCode >= 500 {
		outcome = "failed"
	}
	h.logInvocation(f.Name, "http", id, outcome, start, http.StatusText(resp.StatusCode))
}

func clientIP(r *http.Request) string {
	host := r.RemoteAddr
	if i := strings.LastIndex(host, ":"); i >= 0 {
		host = host[:i]
	}
	return strings.Trim(host, "[]")
}

func (h *Host) logInvocation(function, trigger, id, outcome string, start time.Time, detail string) {
	h.logger.Info("invocation", "function", function, "trigger", trigger, "invocationId", id,
		"outcome", outcome, "ms", time.Since(start).Milliseconds(), "detail", detail)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
