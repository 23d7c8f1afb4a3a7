package graphsandbox

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
)

// Control endpoints, under a path Graph does not have. No authentication:
// the sandbox is for local development and tests.
//
//	POST   /_sandbox/faults              inject: a fault object or an array of them
//	                                     {"kind":"throttle"|"unavailable"|"timeout-after-accept"|
//	                                      "timeout-before-accept"|"latency"|"late"|"drop-list-unsubscribe"|
//	                                      "dkim-without-list-unsubscribe"|"no-dkim" (or "429","503","504"),
//	                                      "op":"send"|"read", "mailbox":"", "count":1,
//	                                      "retryAfterSeconds":2, "delayMs":500, "code":"", "message":""}
//	GET    /_sandbox/faults              the pending faults
//	DELETE /_sandbox/faults              clear them
//	GET    /_sandbox/messages?mailbox=   accepted messages (JSON array of Accepted), all when no mailbox
//	DELETE /_sandbox/messages            forget messages and rate windows (files stay)
//	GET    /_sandbox/messages/{seq}.eml  the .eml of one accepted message
//	GET    /_sandbox/duplicates?header=X-Name[&mailbox=]   values sent more than once: {"value": count}
//	POST   /_sandbox/inbox               {"inReplyTo":"<message id>","kind":"reply"|"ndr"|"delay",
//	                                      "from":"", "recipient":"", "status":"5.1.1", "newConversation":false}
//	                                     puts a reply, NDR or delay notice into the sender's Inbox (inbox.go):
//	                                     201 with the Inbound (its "id" is the Graph id); 404 when no sent
//	                                     message has that Message-ID; 400 for a bad request
//	GET    /_sandbox/inbox?mailbox=      the Inbox messages made so far (JSON array of Inbound)
//	DELETE /_sandbox/delta?mailbox=      forget the delta tokens: their next use answers 410
func (s *Sandbox) serveControl(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimSuffix(r.URL.Path, "/")
	switch {
	case p == "/_sandbox/faults":
		switch r.Method {
		case http.MethodPost:
			s.postFaults(w, r)
		case http.MethodGet:
			out := []map[string]any{}
			for _, f := range s.Faults() {
				out = append(out, toFaultJSON(f))
			}
			writeJSON(w, http.StatusOK, out)
		case http.MethodDelete:
			s.ClearFaults()
			w.WriteHeader(http.StatusNoContent)
		default:
			controlError(w, http.StatusMethodNotAllowed, "use GET, POST or DELETE")
		}
	case p == "/_sandbox/messages":
		switch r.Method {
		case http.MethodGet:
			writeJSON(w, http.StatusOK, s.Messages(r.URL.Query().Get("mailbox")))
		case http.MethodDelete:
			s.Reset()
			w.WriteHeader(http.StatusNoContent)
		default:
			controlError(w, http.StatusMethodNotAllowed, "use GET or DELETE")
		}
	case strings.HasPrefix(p, "/_sandbox/messages/") && strings.HasSuffix(p, ".eml") && r.Method == http.MethodGet:
		seq, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(p, "/_sandbox/messages/"), ".eml"), 10, 64)
		if err != nil {
			controlError(w, http.StatusNotFound, "no such message")
			return
		}
		for _, a := range s.Messages("") {
			if a.Seq == seq {
				b, err := os.ReadFile(a.EMLPath)
				if err != nil {
					controlError(w, http.StatusNotFound, err.Error())
					return
				}
				w.Header().Set("Content-Type", "message/rfc822")
				_, _ = w.Write(b)
				return
			}
		}
		controlError(w, http.StatusNotFound, "no such message")
	case p == "/_sandbox/inbox":
		switch r.Method {
		case http.MethodPost:
			s.postInbox(w, r)
		case http.MethodGet:
			writeJSON(w, http.StatusOK, s.InboxMessages(r.URL.Query().Get("mailbox")))
		default:
			controlError(w, http.StatusMethodNotAllowed, "use GET or POST")
		}
	case p == "/_sandbox/delta" && r.Method == http.MethodDelete:
		s.ExpireDeltaTokens(r.URL.Query().Get("mailbox"))
		w.WriteHeader(http.StatusNoContent)
	case p == "/_sandbox/duplicates" && r.Method == http.MethodGet:
		q := r.URL.Query()
		if q.Get("header") == "" {
			controlError(w, http.StatusBadRequest, "the header parameter is required")
			return
		}
		writeJSON(w, http.StatusOK, s.Duplicates(q.Get("mailbox"), q.Get("header")))
	default:
		controlError(w, http.StatusNotFound, "unknown sandbox endpoint")
	}
}

func (s *Sandbox) postFaults(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		controlError(w, http.StatusBadRequest, err.Error())
		return
	}
	var list []faultJSON
	if t := bytes.TrimSpace(b); len(t) > 0 && t[0] == '[' {
		err = json.Unmarshal(t, &list)
	} else {
		var one faultJSON
		err = json.Unmarshal(t, &one)
		list = []faultJSON{one}
	}
	if err != nil {
		controlError(w, http.StatusBadRequest, "invalid JSON: "+err.Error())
		return
	}
	faults := make([]Fault, 0, len(list))
	for _, j := range list {
		f := j.fault()
		// Validate all before injecting any.
		if err := validateFault(f); err != nil {
			controlError(w, http.StatusBadRequest, err.Error())
			return
		}
		faults = append(faults, f)
	}
	for _, f := range faults {
		_ = s.Inject(f)
	}
	out := []map[string]any{}
	for _, f := range s.Faults() {
		out = append(out, toFaultJSON(f))
	}
	writeJSON(w, http.StatusCreated, out)
}

func (s *Sandbox) postInbox(w http.ResponseWriter, r *http.Request) {
	var req InboxRequest
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		controlError(w, http.StatusBadRequest, "invalid JSON: "+err.Error())
		return
	}
	in, err := s.Deliver(req)
	switch {
	case errors.Is(err, ErrNoSentMessage):
		controlError(w, http.StatusNotFound, fmt.Sprintf("%v: %q", err, req.InReplyTo))
	case err != nil:
		controlError(w, http.StatusBadRequest, err.Error())
	default:
		writeJSON(w, http.StatusCreated, in)
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		controlError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

func controlError(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(map[string]any{"error": map[string]string{"code": "SandboxControl", "message": msg}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
