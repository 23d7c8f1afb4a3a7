package app

import (
	"net/http"
	"sort"
	"strings"

	"mailmerge/handler/internal/identity"
)

// handlerFunc is a route's handler: parse, call, encode. An error it
// returns is answered by serve, the one place handlers' errors become
// answers. A handler that has started its answer (a streamed export or
// CSV report) can no longer return one: it logs what went wrong and
// returns nil.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// authedFunc is a handler for a signed-in caller.
type authedFunc func(w http.ResponseWriter, r *http.Request, p identity.Principal) error

// route is one API route. Deny by default: a route runs authed after a valid
// token, and only a route that sets public instead is reachable without one.
type route struct {
	method  string
	pattern string
	authed  authedFunc
	public  handlerFunc
	// beforeAccount lets an authed route run for a caller without an
	// account (install creates it). Every other authed route answers 404
	// account_not_found then, the same everywhere (before the first
	// install, and once the account is deleted).
	beforeAccount bool
}

// routes is every API route, in the order of DESIGN §3. The OpenAPI document
// lists exactly these (a test checks it).
func (a *App) routes() []route {
	return []route{
		{method: "GET", pattern: "/v1/openapi.json", public: serveOpenAPI},
		// Postmark cannot send a bearer token: the webhook checks basic auth itself.
		{method: "POST", pattern: "/hooks/postmark/inbound", public: a.postmarkInbound},
		// Recipients' routes: the signed token is the credential.
		{method: "GET", pattern: "/o/{token}", public: a.openPixel},
		{method: "GET", pattern: "/c/{token}", public: a.click},
		{method: "GET", pattern: "/u/{token}", public: a.unsubscribePage},
		{method: "POST", pattern: "/u/{token}", public: a.unsubscribe},
		{method: "POST", pattern: "/v1/install", authed: a.install, beforeAccount: true},
		{method: "GET", pattern: "/v1/me", authed: a.getMe},
		{method: "PATCH", pattern: "/v1/me", authed: a.patchMe},
		{method: "DELETE", pattern: "/v1/me", authed: a.deleteMe},
		{method: "GET", pattern: "/v1/me/export", authed: a.exportMe},
		{method: "GET", pattern: "/v1/me/data", authed: a.inventory},
		{method: "GET", pattern: "/v1/campaigns", authed: a.listCampaigns},
		{method: "POST", pattern: "/v1/campaigns", authed: a.createCampaign},
		{method: "GET", pattern: "/v1/campaigns/{id}", authed: a.getCampaign},
		{method: "PATCH", pattern: "/v1/campaigns/{id}", authed: a.patchCampaign},
		{method: "DELETE", pattern: "/v1/campaigns/{id}", authed: a.deleteCampaign},
		{method: "POST", pattern: "/v1/campaigns/{id}/copy", authed: a.copyCampaign},
		{method: "POST", pattern: "/v1/campaigns/{id}/address", authed: a.newAddress},
		{method: "PUT", pattern: "/v1/campaigns/{id}/data", authed: a.putData},
		{method: "GET", pattern: "/v1/campaigns/{id}/data", authed: a.getData},
		{method: "POST", pattern: "/v1/campaigns/{id}/data/reuse", authed: a.reuseData},
		{method: "POST", pattern: "/v1/campaigns/{id}/preview", authed: a.preview},
		{method: "GET", pattern: "/v1/campaigns/{id}/recipients", authed: a.listRecipients},
		{method: "PATCH", pattern: "/v1/campaigns/{id}/recipients/{row}", authed: a.correctRow},
		{method: "GET", pattern: "/v1/campaigns/{id}/report", authed: a.getReport},
		{method: "POST", pattern: "/v1/campaigns/{id}/start", authed: a.startCampaignRoute},
		{method: "POST", pattern: "/v1/campaigns/{id}/test", authed: a.sendTest},
		{method: "POST", pattern: "/v1/campaigns/{id}/pause", authed: a.pauseCampaignRoute},
		{method: "POST", pattern: "/v1/campaigns/{id}/resume", authed: a.resumeCampaignRoute},
		{method: "POST", pattern: "/v1/campaigns/{id}/cancel", authed: a.cancelCampaignRoute},
		{method: "GET", pattern: "/v1/suppressions", authed: a.listSuppressions},
		{method: "POST", pattern: "/v1/suppressions", authed: a.addSuppressions},
		{method: "DELETE", pattern: "/v1/suppressions/{address}", authed: a.deleteSuppression},
		// The deployment's health holds nothing of anyone's: any signed-in
		// caller, with an account or not (the first-deployment check asks
		// after deleting its test account).
		{method: "GET", pattern: "/v1/health", authed: a.health, beforeAccount: true},
	}
}

// guard wraps a route with authentication unless it is public.
func (a *App) guard(rt route) http.Handler {
	if rt.public != nil {
		return a.serve(rt.public)
	}
	authed := rt.authed
	return a.serve(func(w http.ResponseWriter, r *http.Request) error {
		p, err := a.Auth.FromRequest(r)
		if err != nil {
			a.Logger.InfoContext(r.Context(), "sign-in refused", "route", rt.pattern, "error", err.Error())
			return err
		}
		if !rt.beforeAccount {
			if _, err := a.Store.Account(r.Context(), keyOf(p)); err != nil {
				return err
			}
		}
		return authed(w, r, p)
	})
}

// serve answers the error h returns with the JSON error body (writeError).
func (a *App) serve(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			writeError(w, r, a.Logger, err)
		}
	})
}

// allowedMethods groups the routes' methods by path, for 405 answers.
func allowedMethods(routes []route) map[string]string {
	byPath := map[string][]string{}
	for _, rt := range routes {
		byPath[rt.pattern] = append(byPath[rt.pattern], rt.method)
	}
	out := map[string]string{}
	for p, ms := range byPath {
		sort.Strings(ms)
		out[p] = strings.Join(ms, ", ")
	}
	return out
}

func methodNotAllowed(allow string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		encode(w, http.StatusMethodNotAllowed, errorBody{Error: errorDetail{
			Code: "method_not_allowed", Message: r.Method + " is not allowed here; use " + allow,
		}})
	})
}
