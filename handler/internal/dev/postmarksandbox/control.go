package postmarksandbox

import (
	"encoding/json"
	"net/http"
	"net/mail"
)

// controlRoutes adds the control endpoints, under a path Postmark does not
// have. They need no token: the sandbox is for local runs and tests.
//
//	GET    /_sandbox/messages        accepted emails, oldest first (JSON array of Message)
//	GET    /_sandbox/messages/{id}   one accepted email by MessageID
//	DELETE /_sandbox/messages        forget them (files in Dir stay)
//	POST   /_sandbox/inactive        {"address":"a@example.com"}: mark inactive (406 from then on)
//	GET    /_sandbox/inactive        the inactive addresses
//	DELETE /_sandbox/inactive        reactivate them all
//	POST   /_sandbox/fail            {"status":500,"count":2[,"errorCode":100,"message":"..."]}: the next
//	                                 count Email API requests answer status (see Sandbox.Fail)
//	GET    /_sandbox/fail            the failures still to be answered
//	DELETE /_sandbox/fail            drop them
//	GET    /_sandbox/inbound         the messages received for the inbound domain and what the
//	                                 webhook answered (JSON array of InboundPost; 404 without Options.Inbound)
func (s *Sandbox) controlRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /_sandbox/inbound", func(w http.ResponseWriter, r *http.Request) {
		if s.inbound == nil {
			controlError(w, http.StatusNotFound, "no inbound side: the local host starts one when INBOUND_ADDRESS and the inbound webhook's user and password are set")
			return
		}
		writeJSON(w, http.StatusOK, s.inbound.Posts())
	})
	mux.HandleFunc("GET /_sandbox/messages", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, nonNil(s.Messages()))
	})
	mux.HandleFunc("GET /_sandbox/messages/{id}", func(w http.ResponseWriter, r *http.Request) {
		for _, m := range s.Messages() {
			if m.MessageID == r.PathValue("id") {
				writeJSON(w, http.StatusOK, m)
				return
			}
		}
		controlError(w, http.StatusNotFound, "no message with that MessageID")
	})
	mux.HandleFunc("DELETE /_sandbox/messages", func(w http.ResponseWriter, r *http.Request) {
		s.ClearMessages()
		w.WriteHeader(http.StatusNoContent)
	})

	mux.HandleFunc("POST /_sandbox/inactive", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Address string `json:"address"`
		}
		if !decodeControl(w, r, &in) {
			return
		}
		a, err := mail.ParseAddress(in.Address)
		if err != nil {
			controlError(w, http.StatusBadRequest, `"address" must be an email address`)
			return
		}
		s.MarkInactive(a.Address)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /_sandbox/inactive", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, s.Inactive())
	})
	mux.HandleFunc("DELETE /_sandbox/inactive", func(w http.ResponseWriter, r *http.Request) {
		s.ClearInactive()
		w.WriteHeader(http.StatusNoContent)
	})

	mux.HandleFunc("POST /_sandbox/fail", func(w http.ResponseWriter, r *http.Request) {
		var f Failure
		if !decodeControl(w, r, &f) {
			return
		}
		if f.Status < 400 || f.Status > 599 || f.Count < 0 {
			controlError(w, http.StatusBadRequest, `"status" must be 400-599 and "count" not negative`)
			return
		}
		s.Fail(f)
		w.WriteHeader(http.StatusNoContent)
	})
	mux.HandleFunc("GET /_sandbox/fail", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, nonNil(s.Failures()))
	})
	mux.HandleFunc("DELETE /_sandbox/fail", func(w http.ResponseWriter, r *http.Request) {
		s.ClearFailures()
		w.WriteHeader(http.StatusNoContent)
	})
}

// nonNil makes an empty list encode as [] rather than null.
func nonNil[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}

func decodeControl(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		controlError(w, http.StatusBadRequest, "bad JSON: "+err.Error())
		return false
	}
	return true
}

func controlError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
