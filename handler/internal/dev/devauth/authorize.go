package devauth

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// The browser sign-in of a single-page app, as Entra does it for an app
// registration with the SPA platform: the authorize endpoint (a page to
// pick a test user, where Entra asks for a password; the consent page for
// Graph permissions not consented yet, consent.go), the authorization
// code grant with PKCE (S256 only, the code redeemed once, within 10
// minutes, from a browser: an Origin header), SPA refresh tokens (24
// hours) and the end-session endpoint. The token endpoint answers the
// app's pages with CORS, as Entra does for SPA redirect URIs.

const (
	grantAuthorizationCode = "authorization_code"
	codeLifetime           = 10 * time.Minute
	spaRefreshLifetime     = 24 * time.Hour
	sessionCookie          = "devauth_session"
)

// authCode is what an authorization code stands for.
type authCode struct {
	user        User
	redirectURI string
	challenge   string
	nonce       string
	scopes      []string
	expires     time.Time
}

// spaGrant is what a SPA refresh token stands for.
type spaGrant struct {
	user    User
	scopes  []string
	expires time.Time
}

// apiScope is our API's delegated scope as the browser asks for it.
func (i *Issuer) apiScope(scopes []string) (string, bool) {
	for _, s := range scopes {
		if strings.EqualFold(s, "api://"+i.ClientID+"/access_as_user") {
			return s, true
		}
	}
	return "", false
}

var pickTemplate = template.Must(template.New("pick").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in (development)</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem}button{display:block;width:100%;text-align:left;margin:.5rem 0;padding:.75rem;font:inherit;border:1px solid #888;border-radius:6px;background:#fff;cursor:pointer}button:focus{outline:3px solid #5b9bd5}small{color:#555}</style>
</head><body>
<h1>Sign in</h1>
<p>Development sign-in: pick a test user. In Azure this is Microsoft's sign-in page.</p>
<form method="post">
{{range $k, $v := .Params}}<input type="hidden" name="{{$k}}" value="{{$v}}">
{{end}}{{range .Users}}<button type="submit" name="user" value="{{.Login}}">{{.Name}}<br><small>{{.Email}} ({{.Tenant}})</small></button>
{{end}}</form>
</body></html>`))

// authorize serves GET (the page, or prompt=none with a session) and POST
// (a user picked) of /{tenant}/oauth2/v2.0/authorize.
func (i *Issuer) authorize(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "AADSTS900144: the request could not be read", http.StatusBadRequest)
		return
	}
	q := r.Form
	redirect := q.Get("redirect_uri")
	if q.Get("client_id") != i.ClientID {
		http.Error(w, "AADSTS700016: Application with identifier '"+q.Get("client_id")+"' was not found in the directory.", http.StatusBadRequest)
		return
	}
	if i.AllowRedirect == nil || !i.AllowRedirect(redirect) {
		http.Error(w, "AADSTS50011: The redirect URI '"+redirect+"' specified in the request does not match the redirect URIs configured for the application.", http.StatusBadRequest)
		return
	}
	fail := func(code, desc string) {
		i.answer(w, r, redirect, url.Values{"error": {code}, "error_description": {desc}, "state": {q.Get("state")}})
	}
	switch {
	case q.Get("response_type") != "code":
		fail("unsupported_response_type", "AADSTS700054: response_type 'code' is the only one enabled for this application.")
		return
	case q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256":
		fail("invalid_request", "AADSTS9002325: Proof Key for Code Exchange is required for cross-origin authorization code redemption.")
		return
	}
	var u User
	var ok bool
	if r.Method == http.MethodPost {
		u, ok = FindUser(q.Get("user"))
	} else if c, err := r.Cookie(sessionCookie); err == nil && q.Get("prompt") != "login" && q.Get("prompt") != "select_account" {
		u, ok = FindUser(c.Value)
	}
	if !ok {
		if q.Get("prompt") == "none" {
			fail("login_required", "AADSTS50058: A silent sign-in request was sent but no user is signed in.")
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		_ = pickTemplate.Execute(w, map[string]any{"Params": formParams(q), "Users": Users})
		return
	}
	// Consent to the Graph permissions asked for that the user has not
	// given yet (consent.go): the consent page, or for a tenant that lets
	// only its administrator consent, the "Need admin approval" page.
	// Entra answers these refusals with error=access_denied and the AADSTS
	// code in the description: 65004 when the user declines
	// (reference-error-codes; seen in MicrosoftDocs/azure-docs#114009);
	// 90094 for the administrator's approval is what the page names (what
	// the app receives on "Return to the application" is not documented).
	scopes := strings.Fields(q.Get("scope"))
	need := i.unconsented(u, scopes)
	if q.Get("prompt") == "consent" && q.Get("consent") == "" {
		need = nil
		for _, s := range scopes {
			if p, ok := permissionOf(s); ok && !slices.Contains(need, p) {
				need = append(need, p)
			}
		}
	}
	switch {
	case r.Method == http.MethodPost && q.Get("consent") == "decline":
		fail("access_denied", "AADSTS65004: User declined to consent to access the app.")
		return
	case r.Method == http.MethodPost && q.Get("consent") == "return":
		fail("access_denied", "AADSTS90094: The grant requires admin permission.")
		return
	case len(need) == 0:
	case q.Get("prompt") == "none":
		fail("consent_required", "AADSTS65001: The user or administrator has not consented to use the application with ID '"+i.ClientID+"' named 'Mail merge (dev)'. Send an interactive authorization request for this user and resource.")
		return
	case i.adminOnly(u.TenantID):
		i.setSession(w, r, u)
		consentPage(w, u, need, formParams(q), true)
		return
	case r.Method == http.MethodPost && q.Get("consent") == "accept":
		i.Consent(u.TenantID, u.ObjectID, need...)
	default:
		i.setSession(w, r, u)
		consentPage(w, u, need, formParams(q), false)
		return
	}
	code := newRefreshToken()
	i.mu.Lock()
	i.codes[code] = &authCode{user: u, redirectURI: redirect, challenge: q.Get("code_challenge"), nonce: q.Get("nonce"),
		scopes: strings.Fields(q.Get("scope")), expires: time.Now().Add(codeLifetime)}
	i.mu.Unlock()
	i.setSession(w, r, u)
	ci, _ := json.Marshal(map[string]string{"uid": u.ObjectID, "utid": u.TenantID})
	i.answer(w, r, redirect, url.Values{"code": {code}, "state": {q.Get("state")}, "client_info": {base64.RawURLEncoding.EncodeToString(ci)},
		"session_state": {uuid.NewString()}})
}

// setSession remembers the signed-in user in the browser, as Entra's
// session cookie does.
func (i *Issuer) setSession(w http.ResponseWriter, r *http.Request, u User) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: u.Login, Path: "/", HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteNoneMode})
}

// formParams are the authorize request's parameters a page posts back:
// all but the user's answers (who they are, what they consent to).
func formParams(q url.Values) map[string]string {
	params := map[string]string{}
	for k := range q {
		if k != "user" && k != "consent" {
			params[k] = q.Get(k)
		}
	}
	return params
}

// answer sends the browser back to the app with v, in the fragment unless
// the app asked for the query.
func (i *Issuer) answer(w http.ResponseWriter, r *http.Request, redirect string, v url.Values) {
	sep := "#"
	if r.Form.Get("response_mode") == "query" {
		sep = "?"
	}
	http.Redirect(w, r, redirect+sep+v.Encode(), http.StatusFound)
}

// logout ends the dev session and goes back to the app.
func (i *Issuer) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1})
	back := r.URL.Query().Get("post_logout_redirect_uri")
	if u, err := url.Parse(back); err == nil && i.AllowRedirect != nil && i.AllowRedirect(u.Scheme+"://"+u.Host+"/app/redirect") {
		http.Redirect(w, r, back, http.StatusFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("You are signed out. You can close this window."))
}

// redeemCode answers the authorization code grant of a SPA.
func (i *Issuer) redeemCode(r *http.Request, f url.Values) (map[string]any, *tokenError) {
	if r.Header.Get("Origin") == "" {
		return nil, terr(http.StatusBadRequest, "invalid_request", 9002327, "Tokens issued for the 'Single-Page Application' client-type may only be redeemed via cross-origin requests.")
	}
	i.mu.Lock()
	c, ok := i.codes[f.Get("code")]
	delete(i.codes, f.Get("code"))
	i.mu.Unlock()
	switch {
	case !ok || time.Now().After(c.expires):
		return nil, terr(http.StatusBadRequest, "invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.")
	case f.Get("redirect_uri") != c.redirectURI:
		return nil, terr(http.StatusBadRequest, "invalid_grant", 70002, "The redirect URI does not match the one the authorization code was issued for.")
	}
	sum := sha256.Sum256([]byte(f.Get("code_verifier")))
	if f.Get("code_verifier") == "" || base64.RawURLEncoding.EncodeToString(sum[:]) != c.challenge {
		return nil, terr(http.StatusBadRequest, "invalid_grant", 501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request.")
	}
	return i.spaTokens(c.user, c.scopes, c.nonce)
}

// redeemSPA answers a SPA's refresh token. A refresh token is redeemed
// once: the answer holds the next one. One refused for want of consent
// stays valid, as Entra's does: MSAL asks the user, then goes on with it.
func (i *Issuer) redeemSPA(r *http.Request, f url.Values) (map[string]any, *tokenError, bool) {
	rt := f.Get("refresh_token")
	i.mu.Lock()
	g, ok := i.spa[rt]
	i.mu.Unlock()
	if !ok {
		return nil, nil, false
	}
	if r.Header.Get("Origin") == "" {
		return nil, terr(http.StatusBadRequest, "invalid_request", 9002327, "Tokens issued for the 'Single-Page Application' client-type may only be redeemed via cross-origin requests."), true
	}
	scopes := strings.Fields(f.Get("scope"))
	if len(scopes) == 0 {
		scopes = g.scopes
	}
	if time.Now().After(g.expires) {
		i.mu.Lock()
		delete(i.spa, rt)
		i.mu.Unlock()
		return nil, terr(http.StatusBadRequest, "invalid_grant", 700084, "The refresh token was issued to a single page app (SPA), and therefore has a fixed, limited lifetime of 1.00:00:00, which cannot be extended."), true
	}
	if need := i.unconsented(g.user, scopes); len(need) > 0 {
		return nil, consentRequired(i.ClientID), true
	}
	i.mu.Lock()
	_, unused := i.spa[rt]
	delete(i.spa, rt)
	i.mu.Unlock()
	if !unused {
		// Redeemed meanwhile by another request.
		return nil, terr(http.StatusBadRequest, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid."), true
	}
	resp, e := i.spaTokens(g.user, scopes, "")
	return resp, e, true
}

// spaTokens are the tokens of a signed-in browser: an access token for
// our API or for Graph (accessToken), an ID token, a SPA refresh token,
// client_info.
func (i *Issuer) spaTokens(u User, scopes []string, nonce string) (map[string]any, *tokenError) {
	now := time.Now()
	resp, granted, e := i.accessToken(u, scopes, "", now)
	if e != nil {
		return nil, e
	}
	for _, s := range []string{"openid", "profile", "offline_access"} {
		if slices.Contains(scopes, s) {
			granted = append(granted, s)
		}
	}
	resp["scope"] = strings.Join(granted, " ")
	idt, e := i.idToken(u, nonce, now)
	if e != nil {
		return nil, e
	}
	resp["id_token"] = idt
	rt := newRefreshToken()
	i.mu.Lock()
	i.spa[rt] = &spaGrant{user: u, scopes: scopes, expires: now.Add(spaRefreshLifetime)}
	i.mu.Unlock()
	resp["refresh_token"] = rt
	resp["refresh_token_expires_in"] = int(spaRefreshLifetime.Seconds())
	ci, _ := json.Marshal(map[string]string{"uid": u.ObjectID, "utid": u.TenantID})
	resp["client_info"] = base64.RawURLEncoding.EncodeToString(ci)
	return resp, nil
}

// accessToken answers the access token a user's request asks for: for
// our API or for Graph, whichever the scopes name (one resource per
// request, as Entra requires), with the scopes granted; none when they
// name no resource. A Graph token carries every permission the user
// consented to; one not consented is refused (AADSTS65001). azp is the
// client that asked, when it is not the add-in.
func (i *Issuer) accessToken(u User, scopes []string, azp string, now time.Time) (map[string]any, []string, *tokenError) {
	resp := map[string]any{"token_type": "Bearer", "expires_in": 3600, "ext_expires_in": 3600}
	granted := []string{}
	var asked []string
	graph := false
	for _, s := range scopes {
		if p, ok := permissionOf(s); ok {
			asked, graph = append(asked, p), true
		} else if isDefaultScope(s) {
			graph = true
		}
	}
	api, isAPI := i.apiScope(scopes)
	switch {
	case graph && isAPI:
		return nil, nil, terr(http.StatusBadRequest, "invalid_request", 28000, "Provided value for the input parameter scope is not valid because it contains more than one resource. Scope %s is not valid.", strings.Join(scopes, " "))
	case graph:
		perms, e := i.grantedScopes(u.TenantID, u.ObjectID, asked)
		if e != nil {
			return nil, nil, e
		}
		at, e := i.graphToken(&refreshGrant{tenantID: u.TenantID, objectID: u.ObjectID, upn: u.Email, name: u.Name}, perms, now)
		if e != nil {
			return nil, nil, e
		}
		life := int(i.graphLifetime().Seconds())
		resp["access_token"], resp["expires_in"], resp["ext_expires_in"] = at, life, life
		granted = append(granted, strings.Fields(graphScopes(perms))...)
	case isAPI:
		c := i.Claims(u, now)
		if azp != "" {
			c["azp"] = azp
		}
		at, err := i.Sign(c)
		if err != nil {
			return nil, nil, terr(http.StatusInternalServerError, "server_error", 90000, "%s", err.Error())
		}
		resp["access_token"] = at
		granted = append(granted, api)
	}
	return resp, granted, nil
}

// idToken is a user's v2 ID token for our client.
func (i *Issuer) idToken(u User, nonce string, now time.Time) (string, *tokenError) {
	id := jwt.MapClaims{
		"aud": i.ClientID, "iss": i.Authority + "/" + u.TenantID + "/v2.0", "iat": now.Unix(), "nbf": now.Unix(),
		"exp": now.Add(time.Hour).Unix(), "name": u.Name, "oid": u.ObjectID, "preferred_username": u.Email,
		"sub": subject(u), "tid": u.TenantID, "ver": "2.0", "sid": uuid.NewString(),
	}
	if nonce != "" {
		id["nonce"] = nonce
	}
	idt, err := i.Sign(id)
	if err != nil {
		return "", terr(http.StatusInternalServerError, "server_error", 90000, "%s", err.Error())
	}
	return idt, nil
}

// cors lets the app's own pages (AllowOrigin) read the discovery
// documents and the token endpoint from the browser, as Entra does for a
// SPA's redirect URIs. A page of any other origin gets no CORS header: it
// could otherwise read a token from POST /dev/token, which signs in
// without a password.
func (i *Issuer) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o := r.Header.Get("Origin")
		allowed := o != "" && i.AllowOrigin != nil && i.AllowOrigin(o)
		if o != "" {
			w.Header().Set("Vary", "Origin")
		}
		if allowed {
			w.Header().Set("Access-Control-Allow-Origin", o)
			w.Header().Set("Access-Control-Expose-Headers", "client-request-id, x-ms-request-id")
		}
		if r.Method == http.MethodOptions {
			if allowed {
				w.Header().Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
				w.Header().Set("Access-Control-Allow-Headers", r.Header.Get("Access-Control-Request-Headers"))
				w.Header().Set("Access-Control-Max-Age", "86400")
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}
