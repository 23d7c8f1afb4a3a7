package devauth

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"
)

// The device authorization grant (RFC 8628) as Entra answers it
// (learn.microsoft.com/entra/identity-platform/v2-oauth2-device-code),
// for a command without a browser such as handler/cmd/verify:
//
//   - POST /{tenant}/oauth2/v2.0/devicecode (client_id, scope) answers
//     device_code, user_code, verification_uri, expires_in (15 minutes),
//     interval (5 seconds) and message. The tenant is a tenant id,
//     organizations or common; consumers is refused, as for an app of
//     work accounts only. The openid configuration names the endpoint
//     (device_authorization_endpoint); MSAL derives it from the token
//     endpoint.
//   - POST /{tenant}/oauth2/v2.0/token with grant_type
//     urn:ietf:params:oauth:grant-type:device_code (or device_code, as
//     MSAL Go sends it), the same tenant and
//     client_id, no secret (a public client): 400 authorization_pending
//     (AADSTS70016) until the user answers, then authorization_declined,
//     or the tokens; bad_verification_code (AADSTS70018) for a device
//     code not known there or already redeemed; expired_token
//     (AADSTS70019) after 15 minutes. The tokens are those of the
//     browser's sign-in for the scopes asked at the devicecode endpoint:
//     our API's (api://<client id>/access_as_user, which the API accepts)
//     or Graph's permissions (one resource per request), an ID token for
//     openid, a refresh token for offline_access, client_info.
//   - The refresh token is a public client's: redeemed without a secret
//     for our API or Graph, consent checked at each redemption, ended by a
//     revocation (POST /dev/revoke), 90 days.
//
// The user's side is GET /dev/device, the verification_uri (Entra's is
// microsoft.com/devicelogin): a page to type the code, pick a test user and
// accept or cancel; a permission of Graph the user has not consented to is
// asked for on the consent page next (consent.go), so approving a code
// consents to what it asked for. Tests and scripts answer with
// POST /dev/device {"user_code":"…","user":"alice"} (add "decline":true to
// cancel). Issuer.DeviceUsers approves codes as they are asked for, with
// no one at a page: the local host's -device-users flag or DEV_DEVICE_USERS.

const (
	grantDeviceCode = "urn:ietf:params:oauth:grant-type:device_code"
	// grantDeviceCodeShort is the name MSAL Go sends (its grant.DeviceCode),
	// which Entra accepts as well as the URN the documentation gives.
	grantDeviceCodeShort  = "device_code"
	deviceCodeLifetime    = 15 * time.Minute
	devicePollInterval    = 5 // seconds, as Entra answers
	publicRefreshLifetime = 90 * 24 * time.Hour
	// userCodeAlphabet leaves out letters and digits people confuse
	// (0/O, 1/I/L).
	userCodeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
	userCodeLength   = 9
)

// deviceCode is a sign-in asked for at the devicecode endpoint.
type deviceCode struct {
	deviceCode string
	userCode   string
	// tenant is the tenant the device asked for, as it named it: a tenant
	// id, organizations or common. Only that path redeems the code.
	tenant  string
	scopes  []string
	expires time.Time
	// user approved the code; nil while no one has answered.
	user *User
	// declined is why the code was declined; nil unless it was.
	declined *tokenError
}

// publicGrant is what a public client's refresh token stands for.
type publicGrant struct {
	user    User
	scopes  []string
	session time.Time // when the user approved the sign-in
	expires time.Time
}

// tenantAlias reports whether tenant names no one tenant: any work
// account may sign in there.
func tenantAlias(tenant string) bool {
	return tenant == "organizations" || tenant == "common"
}

// serveDeviceCode is POST /{tenant}/oauth2/v2.0/devicecode.
func (i *Issuer) serveDeviceCode(w http.ResponseWriter, r *http.Request) {
	correlationID := r.Header.Get("client-request-id")
	if correlationID == "" {
		correlationID = uuid.NewString()
	}
	resp, e := i.deviceAuthorization(r)
	if e != nil {
		e.write(w, correlationID)
		return
	}
	w.Header().Set("Cache-Control", "no-store, no-cache")
	w.Header().Set("client-request-id", correlationID)
	writeJSON(w, http.StatusOK, resp)
}

func (i *Issuer) deviceAuthorization(r *http.Request) (map[string]any, *tokenError) {
	r.Body = http.MaxBytesReader(nil, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return nil, terr(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
	}
	f := r.PostForm
	tenant := r.PathValue("tenant")
	clientID := f.Get("client_id")
	switch {
	case clientID == "":
		return nil, terr(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
	case tenant == "consumers":
		return nil, terr(http.StatusBadRequest, "invalid_request", 9002332, "Application '%s'(Mail merge (dev)) is configured for use by Azure Active Directory users only. Please do not use the /consumers endpoint to serve this request.", clientID)
	case !tenantAlias(tenant) && !knownTenant(tenant):
		return nil, terr(http.StatusBadRequest, "invalid_request", 90002, "Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant)
	case clientID != i.ClientID:
		return nil, terr(http.StatusBadRequest, "unauthorized_client", 700016,
			"Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", clientID, tenant)
	}
	scopes := strings.Fields(f.Get("scope"))
	if len(scopes) == 0 {
		return nil, terr(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'scope'.")
	}
	if e := i.checkScopes(scopes); e != nil {
		return nil, e
	}

	now := time.Now()
	c := &deviceCode{deviceCode: newRefreshToken()[4:], userCode: newUserCode(), tenant: tenant, scopes: scopes, expires: now.Add(deviceCodeLifetime)}
	i.mu.Lock()
	for k, old := range i.devices {
		if now.After(old.expires.Add(time.Hour)) {
			delete(i.devices, k) // long past answering expired_token
		}
	}
	i.devices[c.deviceCode] = c
	auto := ""
	if i.deviceNext < len(i.DeviceUsers) {
		auto = i.DeviceUsers[i.deviceNext]
		i.deviceNext++
	}
	i.mu.Unlock()
	if auto != "" {
		i.autoApprove(c.userCode, auto)
	}

	verify := i.Authority + "/dev/device"
	return map[string]any{
		"user_code":        c.userCode,
		"device_code":      c.deviceCode,
		"verification_uri": verify,
		"expires_in":       int(deviceCodeLifetime.Seconds()),
		"interval":         devicePollInterval,
		"message":          fmt.Sprintf("To sign in, use a web browser to open the page %s and enter the code %s to authenticate.", verify, c.userCode),
	}, nil
}

// checkScopes refuses a scope the app registration does not know: ours
// is our API's one scope, Graph's permissions are those of consent.go.
func (i *Issuer) checkScopes(scopes []string) *tokenError {
	resource := false
	for _, s := range scopes {
		_, api := i.apiScope([]string{s})
		_, graph := permissionOf(s)
		switch {
		case isOpenIDScope(s):
		case api || graph || isDefaultScope(s):
			resource = true
		default:
			return terr(http.StatusBadRequest, "invalid_scope", 70011, "The provided value for the input parameter 'scope' is not valid. The scope %s is not valid.", s)
		}
	}
	if !resource {
		return terr(http.StatusBadRequest, "invalid_scope", 70011,
			"The provided value for the input parameter 'scope' is not valid. The scope %s is not valid: ask for api://%s/access_as_user or a permission of Microsoft Graph.", strings.Join(scopes, " "), i.ClientID)
	}
	return nil
}

func newUserCode() string {
	b := make([]byte, userCodeLength)
	_, _ = rand.Read(b)
	for n := range b {
		b[n] = userCodeAlphabet[int(b[n])%len(userCodeAlphabet)]
	}
	return string(b)
}

// normalUserCode reads a code as a person types it: any case, spaces
// and dashes ignored.
func normalUserCode(s string) string {
	return strings.ToUpper(strings.NewReplacer(" ", "", "-", "", "\t", "").Replace(s))
}

// redeemDevice answers the device_code grant.
func (i *Issuer) redeemDevice(tenant string, f url.Values) (map[string]any, *tokenError) {
	switch {
	case f.Get("client_id") == "":
		return nil, terr(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
	case f.Get("device_code") == "":
		return nil, terr(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'device_code'.")
	case f.Get("client_id") != i.ClientID:
		return nil, terr(http.StatusBadRequest, "unauthorized_client", 700016, "Application with identifier '%s' was not found in the directory '%s'.", f.Get("client_id"), tenant)
	}
	// A public client sends no secret; the registration's own secret
	// may still come, and must then be right.
	if f.Get("client_secret") != "" {
		if e := i.authenticateClient(f.Get("client_id"), f.Get("client_secret"), tenant); e != nil {
			return nil, e
		}
	}
	i.mu.Lock()
	c, ok := i.devices[f.Get("device_code")]
	var user User
	var declined *tokenError
	expired := false
	if ok && c.tenant == tenant {
		expired = time.Now().After(c.expires)
		declined = c.declined
		if c.user != nil {
			user = *c.user
		}
		if !expired && (declined != nil || c.user != nil) {
			delete(i.devices, c.deviceCode) // answered once
		}
	}
	i.mu.Unlock()
	switch {
	case !ok || c.tenant != tenant:
		return nil, terr(http.StatusBadRequest, "bad_verification_code", 70018, "Invalid verification code due to User typing in wrong user code for device code flow. Authorization is not approved.")
	case expired:
		return nil, terr(http.StatusBadRequest, "expired_token", 70019, "Verification code expired. Have the user retry the sign-in.")
	case declined != nil:
		return nil, declined
	case user.Login == "":
		return nil, terr(http.StatusBadRequest, "authorization_pending", 70016, "The provided request has not yet been authorized by the user. The user must input their code.")
	}
	return i.publicTokens(user, c.scopes, time.Now(), false)
}

// redeemPublic answers a refresh token of a public client (the device
// code flow's); ok is false when rt is not one.
func (i *Issuer) redeemPublic(tenant string, f url.Values) (map[string]any, *tokenError, bool) {
	i.mu.Lock()
	g, ok := i.public[f.Get("refresh_token")]
	var revokedAt time.Time
	if ok {
		revokedAt = i.revoked[userKey(g.user.TenantID, g.user.ObjectID)]
	}
	i.mu.Unlock()
	if !ok {
		return nil, nil, false
	}
	switch {
	case !revokedAt.IsZero() && !g.session.After(revokedAt):
		return nil, revokedError(), true
	case time.Now().After(g.expires):
		return nil, terr(http.StatusBadRequest, "invalid_grant", 700082, "The refresh token has expired due to inactivity. The token was issued on %s and was inactive for 90.00:00:00.",
			g.session.UTC().Format(time.RFC3339)), true
	case tenant != g.user.TenantID && !tenantAlias(tenant):
		return nil, terr(http.StatusBadRequest, "invalid_grant", 700003, "Device object was not found in the tenant '%s' directory.", tenant), true
	}
	scopes := strings.Fields(f.Get("scope"))
	if len(scopes) == 0 {
		scopes = g.scopes
	}
	resp, e := i.publicTokens(g.user, scopes, g.session, true)
	return resp, e, true
}

// publicTokens are the tokens of a public client's sign-in: an access
// token for our API or Graph (accessToken), an ID token for openid, a
// refresh token for offline_access (and on every refresh, as Entra
// gives), client_info.
func (i *Issuer) publicTokens(u User, scopes []string, session time.Time, refreshing bool) (map[string]any, *tokenError) {
	now := time.Now()
	resp, granted, e := i.accessToken(u, scopes, i.ClientID, now)
	if e != nil {
		return nil, e
	}
	for _, s := range []string{"openid", "profile", "offline_access"} {
		if slices.Contains(scopes, s) {
			granted = append(granted, s)
		}
	}
	resp["scope"] = strings.Join(granted, " ")
	if slices.Contains(scopes, "openid") {
		id, e := i.idToken(u, "", now)
		if e != nil {
			return nil, e
		}
		resp["id_token"] = id
	}
	if refreshing || slices.Contains(scopes, "offline_access") {
		rt := newRefreshToken()
		i.mu.Lock()
		i.public[rt] = &publicGrant{user: u, scopes: scopes, session: session, expires: now.Add(publicRefreshLifetime)}
		i.mu.Unlock()
		resp["refresh_token"] = rt
	}
	ci, _ := json.Marshal(map[string]string{"uid": u.ObjectID, "utid": u.TenantID})
	resp["client_info"] = base64.RawURLEncoding.EncodeToString(ci)
	return resp, nil
}

// deviceProblem is why a code cannot be answered, in words for the
// person at the page or the script that posted.
type deviceProblem struct {
	status int
	text   string
}

// pendingDevice finds the code a person typed, waiting for an answer.
func (i *Issuer) pendingDevice(userCode string) (deviceCode, *deviceProblem) {
	code := normalUserCode(userCode)
	if code == "" {
		return deviceCode{}, &deviceProblem{http.StatusBadRequest, "Type the code your device shows."}
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	for _, c := range i.devices {
		if c.userCode != code {
			continue
		}
		switch {
		case time.Now().After(c.expires):
			return deviceCode{}, &deviceProblem{http.StatusGone, "That code has expired. Start the sign-in again on your device to get a new code."}
		case c.user != nil || c.declined != nil:
			return deviceCode{}, &deviceProblem{http.StatusConflict, "That code has already been used. Start the sign-in again on your device to get a new code."}
		}
		return *c, nil
	}
	return deviceCode{}, &deviceProblem{http.StatusNotFound, "No sign-in is waiting for that code. Check the code your device shows and type it again."}
}

// deviceNeeds checks that u may sign in where the device asked, and
// returns the permissions of Graph the code asks for that u has not
// consented to yet.
func (i *Issuer) deviceNeeds(c deviceCode, u User) ([]string, *deviceProblem) {
	if !tenantAlias(c.tenant) && c.tenant != u.TenantID {
		return nil, &deviceProblem{http.StatusForbidden, fmt.Sprintf(
			"%s cannot sign in here: the device asked for a sign-in to %s, and %s is not one of its users. Pick a user of %s.",
			u.Email, tenantName(c.tenant), u.Name, tenantName(c.tenant))}
	}
	return i.unconsented(u, c.scopes), nil
}

// approveDevice approves a code as u, consenting to need.
func (i *Issuer) approveDevice(c deviceCode, u User, need []string) {
	if len(need) > 0 {
		i.Consent(u.TenantID, u.ObjectID, need...)
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	if d, ok := i.devices[c.deviceCode]; ok && d.user == nil && d.declined == nil {
		d.user = &u
	}
}

// declineDevice declines a code; the device is told why.
func (i *Issuer) declineDevice(c deviceCode, why *tokenError) {
	i.mu.Lock()
	defer i.mu.Unlock()
	if d, ok := i.devices[c.deviceCode]; ok && d.user == nil && d.declined == nil {
		d.declined = why
	}
}

func declinedByUser() *tokenError {
	return terr(http.StatusBadRequest, "authorization_declined", 65004, "User declined to consent to access the app.")
}

func needsAdmin() *tokenError {
	return terr(http.StatusBadRequest, "authorization_declined", 90094, "The grant requires admin permission.")
}

// autoApprove answers a code for Issuer.DeviceUsers as the person at
// the page would: approve and consent, or, where the user may not sign
// in or consent, decline with the reason.
func (i *Issuer) autoApprove(userCode, login string) {
	c, p := i.pendingDevice(userCode)
	if p != nil {
		return
	}
	u, ok := FindUser(login)
	if !ok {
		i.declineDevice(c, terr(http.StatusBadRequest, "authorization_declined", 50034, "The user account %s does not exist in the directory.", login))
		return
	}
	need, p := i.deviceNeeds(c, u)
	switch {
	case p != nil:
		i.declineDevice(c, terr(http.StatusBadRequest, "authorization_declined", 50020, "%s", p.text))
	case len(need) > 0 && i.adminOnly(u.TenantID):
		i.declineDevice(c, needsAdmin())
	default:
		i.approveDevice(c, u, need)
	}
}

// serveDeviceAnswer is POST /dev/device: the page's form, or JSON from a
// test or script.
func (i *Issuer) serveDeviceAnswer(w http.ResponseWriter, r *http.Request) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "application/json" {
		i.serveDeviceJSON(w, r)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		devicePage(w, http.StatusBadRequest, "", "", "The form could not be read; try again.")
		return
	}
	f := r.PostForm
	code, login := f.Get("user_code"), f.Get("user")
	c, p := i.pendingDevice(code)
	if p != nil {
		devicePage(w, p.status, code, login, p.text)
		return
	}
	if f.Get("step") == "cancel" || f.Get("consent") == "decline" || f.Get("consent") == "return" {
		why := declinedByUser()
		if f.Get("consent") == "return" {
			why = needsAdmin()
		}
		i.declineDevice(c, why)
		deviceDone(w, "Sign-in cancelled", "You cancelled the sign-in: your device is told so. You can close this window.")
		return
	}
	u, ok := FindUser(login)
	if !ok {
		devicePage(w, http.StatusBadRequest, code, "", "Pick the user to sign in as.")
		return
	}
	need, p := i.deviceNeeds(c, u)
	if p != nil {
		devicePage(w, p.status, code, login, p.text)
		return
	}
	if len(need) > 0 && (i.adminOnly(u.TenantID) || f.Get("consent") != "accept") {
		consentPage(w, u, need, map[string]string{"user_code": c.userCode}, i.adminOnly(u.TenantID))
		return
	}
	i.approveDevice(c, u, need)
	deviceDone(w, "You are signed in", fmt.Sprintf("You have signed in to Mail merge (dev) on your device as %s. You can close this window.", u.Email))
}

// serveDeviceJSON is POST /dev/device {"user_code":"…","user":"alice"},
// with "decline":true to cancel.
func (i *Issuer) serveDeviceJSON(w http.ResponseWriter, r *http.Request) {
	var req struct {
		UserCode string `json:"user_code"`
		User     string `json:"user"`
		Decline  bool   `json:"decline"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": `send {"user_code":"<the code the device shows>","user":"alice"}, with "decline":true to cancel`})
		return
	}
	c, p := i.pendingDevice(req.UserCode)
	if p != nil {
		writeJSON(w, p.status, map[string]any{"error": p.text})
		return
	}
	if req.Decline {
		i.declineDevice(c, declinedByUser())
		writeJSON(w, http.StatusOK, map[string]any{"user_code": c.userCode, "declined": true})
		return
	}
	u, ok := FindUser(req.User)
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": "unknown user; GET /dev/users lists them"})
		return
	}
	need, p := i.deviceNeeds(c, u)
	if p != nil {
		writeJSON(w, p.status, map[string]any{"error": p.text})
		return
	}
	if len(need) > 0 && i.adminOnly(u.TenantID) {
		writeJSON(w, http.StatusForbidden, map[string]any{"error": fmt.Sprintf(
			"only the administrator of %s may consent to %s; consent for the user with POST /dev/consent, or allow user consent with POST /dev/policy",
			u.Tenant, strings.Join(need, ", "))})
		return
	}
	i.approveDevice(c, u, need)
	writeJSON(w, http.StatusOK, map[string]any{"user_code": c.userCode, "user": u.Login, "consented": i.Consented(u.TenantID, u.ObjectID)})
}

// ParseDeviceUsers reads a comma-separated list of test users' logins
// (alice,bob) for Issuer.DeviceUsers, refusing one not known.
func ParseDeviceUsers(list string) ([]string, error) {
	var out []string
	for _, login := range strings.Split(list, ",") {
		login = strings.TrimSpace(login)
		if login == "" {
			continue
		}
		if _, ok := FindUser(login); !ok {
			var known []string
			for _, u := range Users {
				known = append(known, u.Login)
			}
			return nil, fmt.Errorf("device users: %q is not a test user; the test users are %s", login, strings.Join(known, ", "))
		}
		out = append(out, login)
	}
	return out, nil
}

func tenantName(tid string) string {
	for _, u := range Users {
		if u.TenantID == tid {
			return u.Tenant
		}
	}
	return tid
}

// devicePage shows the page where a person types the code and picks the
// user, with a problem to fix when there is one.
func devicePage(w http.ResponseWriter, status int, code, login, problem string) {
	if login == "" {
		login = Users[0].Login
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = deviceTemplate.Execute(w, map[string]any{"Code": code, "User": login, "Users": Users, "Problem": problem})
}

// serveDevicePage is GET /dev/device.
func (i *Issuer) serveDevicePage(w http.ResponseWriter, r *http.Request) {
	devicePage(w, http.StatusOK, "", "", "")
}

func deviceDone(w http.ResponseWriter, title, text string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = deviceDoneTemplate.Execute(w, map[string]any{"Title": title, "Text": text})
}

const deviceStyle = `body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;line-height:1.4}h1{line-height:1.2}
label{display:block}input[type=text]{box-sizing:border-box;width:100%;margin:.25rem 0 1rem;padding:.6rem;font:inherit;font-size:1.25rem;letter-spacing:.1em;text-transform:uppercase;border:1px solid #666;border-radius:6px}
fieldset{border:1px solid #888;border-radius:6px;margin:0 0 1rem;padding:.5rem .75rem}legend{padding:0 .25rem}
.user{display:flex;gap:.5rem;align-items:baseline;margin:.5rem 0}.user small{display:block;color:#444}
.problem{border-left:4px solid #a4262c;background:#fde7e9;padding:.5rem .75rem;color:#6b0f14}
.buttons{display:flex;gap:.75rem;flex-wrap:wrap}button{padding:.6rem 1.2rem;font:inherit;border:1px solid #888;border-radius:6px;background:#fff;color:#000;cursor:pointer}
button.accept{background:#0b5cad;border-color:#0b5cad;color:#fff}button:focus,input:focus{outline:3px solid #5b9bd5;outline-offset:2px}`

// deviceTemplate is the page at the verification_uri (Entra's "Enter
// code", then its sign-in, here one page).
var deviceTemplate = template.Must(template.New("device").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Enter code (development)</title>
<style>` + deviceStyle + `</style>
</head><body>
<main>
<h1>Enter code</h1>
<p>A command or device without a browser asked you to sign in: type the code it shows, pick the test user to sign in as, and accept. In Azure this is Microsoft's device sign-in page.</p>
{{if .Problem}}<p class="problem" role="alert">{{.Problem}}</p>
{{end}}<form method="post" action="/dev/device">
<label for="user_code">Code</label>
<input type="text" id="user_code" name="user_code" value="{{.Code}}" autocomplete="off" autocapitalize="characters" spellcheck="false">
<fieldset><legend>Sign in as</legend>
{{range .Users}}<label class="user"><input type="radio" name="user" value="{{.Login}}"{{if eq .Login $.User}} checked{{end}}><span>{{.Name}}<small>{{.Email}} ({{.Tenant}})</small></span></label>
{{end}}</fieldset>
<div class="buttons"><button type="submit" class="accept" name="step" value="accept">Accept</button>
<button type="submit" name="step" value="cancel">Cancel</button></div>
</form>
</main>
</body></html>`))

var deviceDoneTemplate = template.Must(template.New("device-done").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} (development)</title>
<style>` + deviceStyle + `</style>
</head><body>
<main>
<h1>{{.Title}}</h1>
<p>{{.Text}}</p>
</main>
</body></html>`))
