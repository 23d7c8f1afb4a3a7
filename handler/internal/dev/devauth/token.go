package devauth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// Graph's resource as Entra names it in scopes and audiences.
const (
	GraphResource = "https://graph.microsoft.com"
	GraphAppID    = "00000003-0000-0000-c000-000000000000"
)

// The grant types of the token endpoint.
const (
	grantJWTBearer         = "urn:ietf:params:oauth:grant-type:jwt-bearer"
	grantRefreshToken      = "refresh_token"
	grantClientCredentials = "client_credentials"
)

// refreshGrant is what a refresh token stands for: a user's delegated
// grant to our client. Which permissions it redeems for is decided at each
// redemption by what the user has consented to then (consent.go).
type refreshGrant struct {
	tenantID string
	objectID string
	upn      string
	name     string
	revoked  bool
	// session is when the user's sign-in behind the grant happened (the
	// on-behalf-of exchange); refresh tokens redeemed from it keep it. A
	// revocation ends every session that began before it, as Entra's
	// TokensValidFrom does, including a refresh token issued by a
	// redemption that was under way when the revocation came.
	session time.Time
}

// tokenError is an error answered in Entra's JSON shape.
type tokenError struct {
	status   int
	code     string // error: invalid_request, invalid_grant, …
	subError string
	aadsts   int // the AADSTS number, also the only member of error_codes
	text     string
}

func (e *tokenError) Error() string { return fmt.Sprintf("%s: AADSTS%d: %s", e.code, e.aadsts, e.text) }

func terr(status int, code string, aadsts int, format string, args ...any) *tokenError {
	return &tokenError{status: status, code: code, aadsts: aadsts, text: fmt.Sprintf(format, args...)}
}

// write answers e as Entra does: error_description starts with the AADSTS
// code and ends with the trace and correlation ids and a timestamp.
func (e *tokenError) write(w http.ResponseWriter, correlationID string) {
	now := time.Now().UTC()
	trace := uuid.NewString()
	desc := fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s",
		e.aadsts, e.text, trace, correlationID, now.Format("2006-01-02 15:04:05Z"))
	body := map[string]any{
		"error":             e.code,
		"error_description": desc,
		"error_codes":       []int{e.aadsts},
		"timestamp":         now.Format("2006-01-02 15:04:05Z"),
		"trace_id":          trace,
		"correlation_id":    correlationID,
		"error_uri":         "",
	}
	if e.subError != "" {
		body["suberror"] = e.subError
	}
	w.Header().Set("Cache-Control", "no-store, no-cache")
	writeJSON(w, e.status, body)
}

// serveToken is POST /{tenant}/oauth2/v2.0/token.
func (i *Issuer) serveToken(w http.ResponseWriter, r *http.Request) {
	correlationID := r.Header.Get("client-request-id")
	if correlationID == "" {
		correlationID = uuid.NewString()
	}
	resp, e := i.token(r)
	if e != nil {
		e.write(w, correlationID)
		return
	}
	w.Header().Set("Cache-Control", "no-store, no-cache")
	w.Header().Set("client-request-id", correlationID)
	writeJSON(w, http.StatusOK, resp)
}

func (i *Issuer) token(r *http.Request) (map[string]any, *tokenError) {
	r.Body = http.MaxBytesReader(nil, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		return nil, terr(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
	}
	f := r.PostForm
	tenant := r.PathValue("tenant")
	grant := f.Get("grant_type")
	if grant == "" {
		return nil, terr(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
	}
	// A device is a public client: its code, not a secret (device.go).
	if grant == grantDeviceCode || grant == grantDeviceCodeShort {
		return i.redeemDevice(tenant, f)
	}
	// A single-page app is a public client: PKCE, not a secret.
	if grant == grantAuthorizationCode {
		if f.Get("client_id") != i.ClientID {
			return nil, terr(http.StatusBadRequest, "unauthorized_client", 700016, "Application with identifier '%s' was not found in the directory.", f.Get("client_id"))
		}
		return i.redeemCode(r, f)
	}
	if grant == grantRefreshToken && f.Get("client_secret") == "" && f.Get("client_id") == i.ClientID {
		if resp, e, ok := i.redeemSPA(r, f); ok {
			return resp, e
		}
		if resp, e, ok := i.redeemPublic(tenant, f); ok {
			return resp, e
		}
	}
	if e := i.authenticateClient(f.Get("client_id"), f.Get("client_secret"), tenant); e != nil {
		return nil, e
	}
	scopes := strings.Fields(f.Get("scope"))
	switch grant {
	case grantJWTBearer:
		if f.Get("requested_token_use") != "on_behalf_of" {
			return nil, terr(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'requested_token_use'.")
		}
		return i.onBehalfOf(tenant, f.Get("assertion"), scopes, f.Get("client_info") == "1")
	case grantRefreshToken:
		return i.redeem(tenant, f.Get("refresh_token"), scopes, f.Get("client_info") == "1")
	case grantClientCredentials:
		return i.clientCredentials(tenant, scopes)
	}
	return nil, terr(http.StatusBadRequest, "unsupported_grant_type", 70003, "The app requested an unsupported grant type '%s'.", grant)
}

// authenticateClient checks client_id and client_secret as Entra does for a
// confidential client with a secret.
func (i *Issuer) authenticateClient(clientID, secret, tenant string) *tokenError {
	if clientID == "" {
		return terr(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'client_id'.")
	}
	if clientID != i.ClientID {
		return terr(http.StatusBadRequest, "unauthorized_client", 700016,
			"Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", clientID, tenant)
	}
	if secret == "" {
		return terr(http.StatusUnauthorized, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
	}
	if i.ClientSecret == "" || subtle.ConstantTimeCompare([]byte(secret), []byte(i.ClientSecret)) != 1 {
		return terr(http.StatusUnauthorized, "invalid_client", 7000215,
			"Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", clientID)
	}
	return nil
}

func isOpenIDScope(s string) bool {
	switch s {
	case "openid", "offline_access", "profile", "email":
		return true
	}
	return false
}

// onBehalfOf exchanges a user's token for our API for a Graph token for the
// same user.
func (i *Issuer) onBehalfOf(tenant, assertion string, scopes []string, clientInfo bool) (map[string]any, *tokenError) {
	if assertion == "" {
		return nil, terr(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'assertion'.")
	}
	// .default asks for nothing by name: every permission consented.
	perms, _, e := graphPermissions(scopes)
	if e != nil {
		return nil, e
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(assertion, claims, func(t *jwt.Token) (any, error) { return &i.key.PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}), jwt.WithIssuedAt(), jwt.WithExpirationRequired())
	switch {
	case errors.Is(err, jwt.ErrTokenExpired) || errors.Is(err, jwt.ErrTokenNotValidYet) || errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return nil, terr(http.StatusBadRequest, "invalid_grant", 500133, "Assertion is not within its valid time range. Ensure that the access token is not expired before using it for user assertion, or request a new token.")
	case err != nil:
		return nil, terr(http.StatusBadRequest, "invalid_grant", 50013, "Assertion failed signature validation.")
	}
	str := func(k string) string { s, _ := claims[k].(string); return s }
	if aud := str("aud"); aud != i.ClientID && aud != "api://"+i.ClientID {
		return nil, terr(http.StatusBadRequest, "invalid_grant", 50013, "Assertion audience does not match the Client app presenting the assertion. The audience in the assertion was '%s' and the expected audience is '%s' or one of the Application Uris of this application with App ID '%s'.", aud, i.ClientID, i.ClientID)
	}
	tid, oid := str("tid"), str("oid")
	if tid != tenant || str("iss") != i.Authority+"/"+tid+"/v2.0" {
		return nil, terr(http.StatusBadRequest, "invalid_grant", 50013, "Assertion contains an invalid issuer or tenant for this authority.")
	}
	if oid == "" || str("scp") == "" {
		return nil, terr(http.StatusBadRequest, "invalid_grant", 50013, "Assertion is not a delegated user token.")
	}
	iat, _ := claims.GetIssuedAt()
	hash := assertionHash(assertion)
	user := tid + "/" + oid

	i.mu.Lock()
	revokedAt, wasRevoked := i.revoked[user]
	if i.rejected[hash] || (wasRevoked && iat != nil && iat.Before(revokedAt.Truncate(time.Second))) {
		i.mu.Unlock()
		return nil, revokedError()
	}
	i.seen[user] = append(i.seen[user], hash)
	g := &refreshGrant{tenantID: tid, objectID: oid, upn: firstNonEmpty(str("preferred_username"), str("upn")), name: str("name"), session: time.Now()}
	i.mu.Unlock()
	granted, e := i.grantedScopes(tid, oid, perms)
	if e != nil {
		return nil, e
	}
	return i.delegated(g, granted, slices.Contains(scopes, "offline_access"), slices.Contains(scopes, "openid"), clientInfo)
}

func revokedError() *tokenError {
	e := terr(http.StatusBadRequest, "invalid_grant", 50173,
		"The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password. The grant was issued on '%s' and the TokensValidFrom date (before which tokens are not valid) for this user is '%s'.",
		time.Now().Add(-time.Hour).UTC().Format(time.RFC3339), time.Now().UTC().Format(time.RFC3339))
	e.subError = "bad_token"
	return e
}

// redeem answers a refresh_token grant: a new access token and a new
// refresh token for the same user; the old refresh token stays valid until
// revoked, as Entra's do for confidential clients.
func (i *Issuer) redeem(tenant, rt string, scopes []string, clientInfo bool) (map[string]any, *tokenError) {
	if rt == "" {
		return nil, terr(http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'refresh_token'.")
	}
	perms, _, e := graphPermissions(scopes)
	if e != nil {
		return nil, e
	}
	i.mu.Lock()
	g, ok := i.refresh[rt]
	var revokedAt time.Time
	if ok {
		revokedAt = i.revoked[g.tenantID+"/"+g.objectID]
	}
	i.mu.Unlock()
	switch {
	case !ok:
		return nil, terr(http.StatusBadRequest, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
	case g.revoked || !revokedAt.IsZero() && !g.session.After(revokedAt):
		return nil, revokedError()
	case g.tenantID != tenant:
		return nil, terr(http.StatusBadRequest, "invalid_grant", 700003, "Device object was not found in the tenant '%s' directory.", tenant)
	}
	// Consent is checked at every redemption: a refresh token is the
	// user's, not a list of scopes, and redeems for any permission they
	// consented to since, and for none they withdrew.
	granted, e := i.grantedScopes(g.tenantID, g.objectID, perms)
	if e != nil {
		return nil, e
	}
	return i.delegated(g, granted, true, slices.Contains(scopes, "openid"), clientInfo)
}

// delegated answers a successful delegated grant for g, with a Graph
// token for the permissions granted.
func (i *Issuer) delegated(g *refreshGrant, granted []string, offline, openid, clientInfo bool) (map[string]any, *tokenError) {
	now := time.Now()
	life := i.graphLifetime()
	at, e := i.graphToken(g, granted, now)
	if e != nil {
		return nil, e
	}
	resp := map[string]any{
		"token_type":     "Bearer",
		"scope":          graphScopes(granted),
		"expires_in":     int(life.Seconds()),
		"ext_expires_in": int(life.Seconds()),
		"access_token":   at,
	}
	if offline {
		rt := newRefreshToken()
		i.mu.Lock()
		i.refresh[rt] = &refreshGrant{tenantID: g.tenantID, objectID: g.objectID, upn: g.upn, name: g.name, session: g.session}
		i.mu.Unlock()
		resp["refresh_token"] = rt
	}
	if openid {
		id, err := i.Sign(jwt.MapClaims{
			"aud":                i.ClientID,
			"iss":                i.Authority + "/" + g.tenantID + "/v2.0",
			"iat":                now.Unix(),
			"nbf":                now.Unix(),
			"exp":                now.Add(time.Hour).Unix(),
			"name":               g.name,
			"oid":                g.objectID,
			"preferred_username": g.upn,
			"sub":                subject(User{TenantID: g.tenantID, ObjectID: g.objectID}),
			"tid":                g.tenantID,
			"ver":                "2.0",
		})
		if err != nil {
			return nil, terr(http.StatusInternalServerError, "server_error", 90000, "%s", err.Error())
		}
		resp["id_token"] = id
	}
	if clientInfo {
		ci, _ := json.Marshal(map[string]string{"uid": g.objectID, "utid": g.tenantID})
		resp["client_info"] = base64.RawURLEncoding.EncodeToString(ci)
	}
	return resp, nil
}

// graphToken signs a Graph access token of g's user carrying the
// permissions granted in scp, as Entra's v1 Graph tokens do.
func (i *Issuer) graphToken(g *refreshGrant, granted []string, now time.Time) (string, *tokenError) {
	at, err := i.Sign(jwt.MapClaims{
		"aud":             GraphResource,
		"iss":             i.Authority + "/" + g.tenantID + "/",
		"iat":             now.Unix(),
		"nbf":             now.Unix(),
		"exp":             now.Add(i.graphLifetime()).Unix(),
		"acr":             "1",
		"app_displayname": "Mail merge (dev)",
		"appid":           i.ClientID,
		"appidacr":        "1",
		"idtyp":           "user",
		"name":            g.name,
		"oid":             g.objectID,
		"scp":             strings.Join(granted, " "),
		"sub":             subject(User{TenantID: g.tenantID, ObjectID: g.objectID}),
		"tid":             g.tenantID,
		"unique_name":     g.upn,
		"upn":             g.upn,
		"uti":             uuid.NewString()[:22],
		"ver":             "1.0",
	})
	if err != nil {
		return "", terr(http.StatusInternalServerError, "server_error", 90000, "%s", err.Error())
	}
	return at, nil
}

// graphScopes is the scope member of a token answer: the permissions
// granted as Graph's scopes.
func graphScopes(granted []string) string {
	out := make([]string, len(granted))
	for n, p := range granted {
		out[n] = GraphResource + "/" + p
	}
	return strings.Join(out, " ")
}

// clientCredentials answers an application token for Graph with the
// Mail.Send application permission: no user claims.
func (i *Issuer) clientCredentials(tenant string, scopes []string) (map[string]any, *tokenError) {
	// MSAL adds openid offline_access profile to every request; Entra
	// ignores them here.
	scopes = slices.DeleteFunc(slices.Clone(scopes), isOpenIDScope)
	if len(scopes) != 1 || (!strings.EqualFold(scopes[0], GraphResource+"/.default") && !strings.EqualFold(scopes[0], GraphAppID+"/.default")) {
		return nil, terr(http.StatusBadRequest, "invalid_scope", 1002012,
			"The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", strings.Join(scopes, " "))
	}
	if !knownTenant(tenant) {
		return nil, terr(http.StatusBadRequest, "invalid_request", 90002, "Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant)
	}
	now := time.Now()
	life := i.graphLifetime()
	sp := servicePrincipal(tenant, i.ClientID)
	at, err := i.Sign(jwt.MapClaims{
		"aud":             GraphResource,
		"iss":             i.Authority + "/" + tenant + "/",
		"iat":             now.Unix(),
		"nbf":             now.Unix(),
		"exp":             now.Add(life).Unix(),
		"app_displayname": "Mail merge (dev)",
		"appid":           i.ClientID,
		"appidacr":        "1",
		"idtyp":           "app",
		"oid":             sp,
		"roles":           []string{"Mail.Send"},
		"sub":             sp,
		"tid":             tenant,
		"uti":             uuid.NewString()[:22],
		"ver":             "1.0",
	})
	if err != nil {
		return nil, terr(http.StatusInternalServerError, "server_error", 90000, "%s", err.Error())
	}
	return map[string]any{
		"token_type":     "Bearer",
		"expires_in":     int(life.Seconds()),
		"ext_expires_in": int(life.Seconds()),
		"access_token":   at,
	}, nil
}

// Revoke revokes a user's grants, as "revoke sessions" or a password reset
// does in Entra: their refresh tokens stop working, and so does on-behalf-of
// with any assertion issued before now.
func (i *Issuer) Revoke(tenantID, objectID string) {
	user := tenantID + "/" + objectID
	i.mu.Lock()
	defer i.mu.Unlock()
	i.revoked[user] = time.Now()
	// Assertions minted in the same second as the revocation cannot be told
	// apart by iat; those already presented are remembered by hash.
	for _, h := range i.seen[user] {
		i.rejected[h] = true
	}
	delete(i.seen, user)
	for _, g := range i.refresh {
		if g.tenantID == tenantID && g.objectID == objectID {
			g.revoked = true
		}
	}
}

func (i *Issuer) graphLifetime() time.Duration {
	if i.GraphTokenLifetime > 0 {
		return i.GraphTokenLifetime
	}
	return time.Hour
}

func knownTenant(tid string) bool {
	for _, u := range Users {
		if u.TenantID == tid {
			return true
		}
	}
	return false
}

// servicePrincipal is the object id of our app's service principal in a
// tenant: stable per tenant and client, as Entra's is.
func servicePrincipal(tenantID, clientID string) string {
	return uuid.NewSHA1(uuid.NameSpaceURL, []byte(tenantID+"/"+clientID)).String()
}

func assertionHash(a string) string {
	sum := sha256.Sum256([]byte(a))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func newRefreshToken() string {
	b := make([]byte, 48)
	_, _ = rand.Read(b)
	return "1.AR" + base64.RawURLEncoding.EncodeToString(b)
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
