package devauth

import (
	"encoding/json"
	"html/template"
	"net/http"
	"slices"
	"strings"
)

// Consent to Graph's delegated permissions, as Entra keeps it: per user
// and app, not per token. A user has consented to a permission, or their
// tenant's administrator has for everyone; a token request for one that
// neither did fails with AADSTS65001, whether it comes from the browser
// (a SPA refresh token), on behalf of the user or with a refresh token
// issued before (Entra checks consent at every redemption). The browser
// asks for a permission through the authorize endpoint, which then shows
// the consent page (authorize.go) and records what the user accepted:
// incremental consent (learn.microsoft.com/entra/identity-platform/
// permissions-consent-overview; MSAL.js: scenario-spa-acquire-token).
//
// A token carries in scp every permission of Graph that the user has
// consented to for our app, not only those asked for: Entra's scopes are
// additive (a Microsoft answer confirmed with the product team:
// learn.microsoft.com/answers/questions/78683).
//
// Mail.Send is consented for every user from the start: the product's
// sign-in has always included it (the app registration lists it, and the
// add-in's first sign-in consents to it with our API's own scope, or an
// administrator did for the tenant). It can be withdrawn like any other.

// The delegated permissions of Graph the dev issuer knows: those our app
// registration lists.
const (
	PermissionMailSend      = "Mail.Send"
	PermissionMailReadBasic = "Mail.ReadBasic"
	PermissionMailRead      = "Mail.Read"
)

// permissions are the known permissions with what the consent page says
// of each: Microsoft's own display names and descriptions
// (learn.microsoft.com/graph/permissions-reference).
var permissions = []struct{ name, title, text string }{
	{PermissionMailSend, "Send mail as you", "Allows the app to send mail as users in the organization."},
	{PermissionMailReadBasic, "Read user basic mail",
		"Allows the app to read email in the signed-in user's mailbox, except for body, bodyPreview, uniqueBody, attachments, extensions, and any extended properties."},
	{PermissionMailRead, "Read user mail", "Allows the app to read email in user mailboxes."},
}

// preconsented are the permissions every user has from the start.
var preconsented = []string{PermissionMailSend}

// permissionOf reads one scope as a Graph permission the issuer knows,
// in any of the forms Entra accepts: the resource's URI or app id before
// it, or the bare name (meaning Graph). ok is false for anything else.
func permissionOf(scope string) (name string, ok bool) {
	s := scope
	for _, prefix := range []string{GraphResource + "/", GraphAppID + "/"} {
		if len(s) > len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
			s = s[len(prefix):]
			break
		}
	}
	for _, p := range permissions {
		if strings.EqualFold(s, p.name) {
			return p.name, true
		}
	}
	return "", false
}

// isDefaultScope reports whether scope is Graph's .default: every
// permission consented.
func isDefaultScope(scope string) bool {
	return strings.EqualFold(scope, GraphResource+"/.default") || strings.EqualFold(scope, GraphAppID+"/.default")
}

// graphPermissions reads the Graph permissions a delegated token request
// asks for, ignoring the OpenID scopes MSAL adds (openid offline_access
// profile); all is true for .default.
func graphPermissions(scopes []string) (perms []string, all bool, e *tokenError) {
	graph := slices.DeleteFunc(slices.Clone(scopes), isOpenIDScope)
	if len(graph) == 0 {
		return nil, false, terr(http.StatusBadRequest, "invalid_request", 90014, "The required field 'scope' is missing from the credential. Ensure that you have all the necessary parameters for the login request.")
	}
	for _, s := range graph {
		if isDefaultScope(s) {
			all = true
			continue
		}
		p, ok := permissionOf(s)
		if !ok {
			return nil, false, terr(http.StatusBadRequest, "invalid_scope", 70011, "The provided value for the input parameter 'scope' is not valid. The scope %s is not valid.", s)
		}
		if !slices.Contains(perms, p) {
			perms = append(perms, p)
		}
	}
	return perms, all, nil
}

// userKey names a user in the consent records.
func userKey(tenantID, objectID string) string { return tenantID + "/" + objectID }

// consentedLocked reports whether the user, or their tenant's
// administrator, consented to permission p. i.mu is held.
func (i *Issuer) consentedLocked(tenantID, objectID, p string) bool {
	if v, ok := i.consents[userKey(tenantID, objectID)][p]; ok {
		return v
	}
	return slices.Contains(preconsented, p) || i.adminConsents[tenantID][p]
}

// grantedScopes checks that the user consented to every permission asked
// for and returns what their tokens carry: every permission consented, in
// Entra's order (sorted). A permission not consented is AADSTS65001, as
// Entra answers an on-behalf-of or refresh request for it.
func (i *Issuer) grantedScopes(tenantID, objectID string, asked []string) ([]string, *tokenError) {
	i.mu.Lock()
	defer i.mu.Unlock()
	for _, p := range asked {
		if !i.consentedLocked(tenantID, objectID, p) {
			return nil, consentRequired(i.ClientID)
		}
	}
	var granted []string
	for _, p := range permissions {
		if i.consentedLocked(tenantID, objectID, p.name) {
			granted = append(granted, p.name)
		}
	}
	if len(granted) == 0 {
		return nil, consentRequired(i.ClientID) // .default with nothing consented
	}
	slices.Sort(granted)
	return granted, nil
}

// consentRequired is Entra's answer to a token request for a permission
// the user has not consented to: the suberror tells MSAL (and our grant)
// that the user must be asked.
func consentRequired(clientID string) *tokenError {
	e := terr(http.StatusBadRequest, "invalid_grant", 65001,
		"The user or administrator has not consented to use the application with ID '%s' named 'Mail merge (dev)'. Send an interactive authorization request for this user and resource.", clientID)
	e.subError = "consent_required"
	return e
}

// unconsented returns which of the authorize request's scopes the user
// has not consented to (scopes of other resources are left alone).
func (i *Issuer) unconsented(u User, scopes []string) []string {
	i.mu.Lock()
	defer i.mu.Unlock()
	var need []string
	for _, s := range scopes {
		if p, ok := permissionOf(s); ok && !i.consentedLocked(u.TenantID, u.ObjectID, p) && !slices.Contains(need, p) {
			need = append(need, p)
		}
	}
	return need
}

// adminOnly reports whether the user's tenant lets only its administrator
// consent.
func (i *Issuer) adminOnly(tenantID string) bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.adminRequired[tenantID]
}

// Consent records that a user consented to the permissions, as accepting
// the consent page does.
func (i *Issuer) Consent(tenantID, objectID string, perms ...string) {
	i.setConsent(tenantID, objectID, true, perms)
}

// Withdraw removes a user's consent to the permissions, as removing the
// app's permission in My Apps (myapps.microsoft.com) does: the next token
// request for them fails with AADSTS65001. Tokens already issued stay
// valid until they expire, as Entra's do.
func (i *Issuer) Withdraw(tenantID, objectID string, perms ...string) {
	i.setConsent(tenantID, objectID, false, perms)
}

func (i *Issuer) setConsent(tenantID, objectID string, v bool, perms []string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	k := userKey(tenantID, objectID)
	if i.consents[k] == nil {
		i.consents[k] = map[string]bool{}
	}
	for _, p := range perms {
		if name, ok := permissionOf(p); ok {
			i.consents[k][name] = v
		}
	}
}

// Consented lists the permissions a user's tokens would carry now.
func (i *Issuer) Consented(tenantID, objectID string) []string {
	i.mu.Lock()
	defer i.mu.Unlock()
	var out []string
	for _, p := range permissions {
		if i.consentedLocked(tenantID, objectID, p.name) {
			out = append(out, p.name)
		}
	}
	return out
}

// RequireAdminConsent sets a tenant's policy to Entra's "do not allow
// user consent": a user asked for a permission not yet consented gets the
// "Need admin approval" page (AADSTS90094) instead of the consent page.
func (i *Issuer) RequireAdminConsent(tenantID string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.adminRequired[tenantID] = true
}

// serveDevPolicy is POST /dev/policy {"tenant":"<tenant id>",
// "userConsent":false}: the tenant's users may (true) or may not (false)
// consent themselves.
func (i *Issuer) serveDevPolicy(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Tenant      string `json:"tenant"`
		UserConsent bool   `json:"userConsent"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	if !knownTenant(req.Tenant) {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": "unknown tenant; GET /dev/users lists the tenants' ids"})
		return
	}
	i.mu.Lock()
	i.adminRequired[req.Tenant] = !req.UserConsent
	i.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"tenant": req.Tenant, "userConsent": req.UserConsent})
}

// AdminConsent records a tenant-wide consent by the tenant's
// administrator, for every user of the tenant.
func (i *Issuer) AdminConsent(tenantID string, perms ...string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if i.adminConsents[tenantID] == nil {
		i.adminConsents[tenantID] = map[string]bool{}
	}
	for _, p := range perms {
		if name, ok := permissionOf(p); ok {
			i.adminConsents[tenantID][name] = true
		}
	}
}

// serveDevConsent is POST /dev/consent {"user":"alice","permission":
// "Mail.ReadBasic","withdraw":false}: a test user consents to a
// permission (or withdraws it) without the browser.
func (i *Issuer) serveDevConsent(w http.ResponseWriter, r *http.Request) {
	var req struct {
		User       string `json:"user"`
		Permission string `json:"permission"`
		Withdraw   bool   `json:"withdraw"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	u, ok := FindUser(req.User)
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": "unknown user; GET /dev/users lists them"})
		return
	}
	p, ok := permissionOf(req.Permission)
	if !ok {
		var known []string
		for _, p := range permissions {
			known = append(known, p.name)
		}
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "unknown permission; these are known: " + strings.Join(known, ", ")})
		return
	}
	if req.Withdraw {
		i.Withdraw(u.TenantID, u.ObjectID, p)
	} else {
		i.Consent(u.TenantID, u.ObjectID, p)
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": u.Login, "consented": i.Consented(u.TenantID, u.ObjectID)})
}

// consentTemplate is the consent page (Entra's "Permissions requested"),
// and, for a tenant that lets only its administrator consent, the "Need
// admin approval" page.
var consentTemplate = template.Must(template.New("consent").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{if .Admin}}Need admin approval{{else}}Permissions requested{{end}} (development)</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}li{margin:.5rem 0}li small{display:block;color:#444}.buttons{display:flex;gap:.75rem;flex-wrap:wrap}button{padding:.6rem 1.2rem;font:inherit;border:1px solid #888;border-radius:6px;background:#fff;cursor:pointer}button.accept{background:#0b5cad;border-color:#0b5cad;color:#fff}button:focus{outline:3px solid #5b9bd5;outline-offset:2px}</style>
</head><body>
<main>
{{if .Admin}}<h1>Need admin approval</h1>
<p>Mail merge (dev) needs permission to access resources in your organization that only an admin can grant. Please ask an admin to grant permission to this app before you can use it.</p>
<p>Signed in as {{.User.Email}}.</p>
{{else}}<h1>Permissions requested</h1>
<p>Mail merge (dev) wants, for {{.User.Email}}, to:</p>
<ul>{{range .Asked}}<li><strong>{{.Title}}</strong><small>{{.Text}}</small></li>{{end}}</ul>
<p>Accepting lets this app use these permissions as its terms and privacy statement say. You can change them at myapps.microsoft.com.</p>
{{end}}<form method="post">
{{range $k, $v := .Params}}<input type="hidden" name="{{$k}}" value="{{$v}}">
{{end}}<input type="hidden" name="user" value="{{.User.Login}}">
<div class="buttons">{{if .Admin}}<button type="submit" name="consent" value="return">Return to the application without granting consent</button>
{{else}}<button type="submit" class="accept" name="consent" value="accept">Accept</button>
<button type="submit" name="consent" value="decline">Cancel</button>{{end}}</div>
</form>
</main>
</body></html>`))

// consentPage shows the consent page for the permissions asked.
func consentPage(w http.ResponseWriter, u User, asked []string, params map[string]string, admin bool) {
	type item struct{ Title, Text string }
	var items []item
	for _, p := range permissions {
		if slices.Contains(asked, p.name) {
			items = append(items, item{p.title, p.text})
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = consentTemplate.Execute(w, map[string]any{"User": u, "Asked": items, "Params": params, "Admin": admin})
}

// readJSON reads a small JSON request body into v, or answers why not.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(v); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "send {\"user\":\"alice\",\"permission\":\"Mail.ReadBasic\"}"})
		return false
	}
	return true
}
