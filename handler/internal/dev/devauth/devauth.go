// Package devauth is a development stand-in for Microsoft Entra ID: it
// publishes a JWKS like Entra's (RSA keys with kid, x5t, n, e, issuer; no
// alg), mints v2 access tokens in Entra's format for test users of two
// tenants, and answers Entra's v2 token endpoint for the grants the product
// uses: on-behalf-of, refresh token and client credentials (token.go), the
// browser's sign-in with PKCE (authorize.go), and the device code sign-in
// of a command without a browser, with its page for the user at /dev/device
// and its automatic approval for unattended runs (device.go). It keeps
// users' consent to Graph's delegated permissions and asks for it in the
// browser, as Entra does (consent.go). Our production verifier and MSAL
// cannot tell it from Entra except by URL.
package devauth

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// User is a test user.
type User struct {
	Login    string `json:"login"`
	TenantID string `json:"tid"`
	Tenant   string `json:"tenant"`
	ObjectID string `json:"oid"`
	Name     string `json:"name"`
	Email    string `json:"email"`
}

// The test tenants.
const (
	ContosoTenant  = "3b1f0d2e-7c4a-4e59-9a1b-2f6c8d4e5a01"
	FabrikamTenant = "8e2d4c6b-1a3f-4b7e-8c9d-0f1e2d3c4b02"
)

// Users are the test users: two in Contoso, one in Fabrikam.
var Users = []User{
	{Login: "alice", TenantID: ContosoTenant, Tenant: "Contoso", ObjectID: "a11ce000-0000-4000-8000-00000000a001", Name: "Alice Contoso", Email: "alice@contoso.example"},
	{Login: "bob", TenantID: ContosoTenant, Tenant: "Contoso", ObjectID: "b0b00000-0000-4000-8000-00000000b002", Name: "Bob Contoso", Email: "bob@contoso.example"},
	{Login: "carol", TenantID: FabrikamTenant, Tenant: "Fabrikam", ObjectID: "ca201000-0000-4000-8000-00000000c003", Name: "Carol Fabrikam", Email: "carol@fabrikam.example"},
}

// FindUser returns the test user with the given login.
func FindUser(login string) (User, bool) {
	for _, u := range Users {
		if u.Login == login {
			return u, true
		}
	}
	return User{}, false
}

// ResolveUser finds the test user of a tenant by object id or address, as
// Graph resolves /users/{id}; it returns the user's address.
func ResolveUser(tenantID, id string) (string, bool) {
	for _, u := range Users {
		if u.TenantID == tenantID && (strings.EqualFold(u.ObjectID, id) || strings.EqualFold(u.Email, id)) {
			return u.Email, true
		}
	}
	return "", false
}

// Issuer signs tokens with one RSA key and publishes it.
type Issuer struct {
	// Authority is the base URL the issuer is reached at; token issuers are
	// <Authority>/<tid>/v2.0, as Entra's are under login.microsoftonline.com.
	Authority string
	// ClientID is the audience of minted tokens: our API's client id.
	ClientID string
	// ClientSecret is the secret the token endpoint expects with ClientID.
	// Empty: every confidential-client request fails with invalid_client.
	ClientSecret string
	// GraphTokenLifetime is how long Graph access tokens from the token
	// endpoint last; zero means an hour. MSAL treats a token with less than
	// five minutes left as expired, so a shorter lifetime makes the next
	// request redeem the refresh token.
	GraphTokenLifetime time.Duration

	// AllowRedirect says whether a browser may be sent back to a redirect
	// URI (the app registration's SPA redirect URIs); nil allows none.
	AllowRedirect func(uri string) bool
	// AllowOrigin says whether a page of that origin (scheme://host[:port])
	// may read the issuer's answers across origins (CORS): the app's own
	// pages; nil allows none.
	AllowOrigin func(origin string) bool
	// DeviceUsers are the test users (logins) who approve device code
	// sign-ins as they are asked for, in order: the first code as
	// DeviceUsers[0], the second as DeviceUsers[1]; later codes wait for
	// someone at /dev/device. Set it before serving (device.go).
	DeviceUsers []string

	key *rsa.PrivateKey
	kid string

	mu       sync.Mutex
	refresh  map[string]*refreshGrant // refresh token → grant
	revoked  map[string]time.Time     // tid/oid → when the user's grants were revoked
	seen     map[string][]string      // tid/oid → hashes of assertions redeemed since the last revocation
	rejected map[string]bool          // hashes of assertions presented before a revocation
	codes    map[string]*authCode     // authorization codes not yet redeemed
	spa      map[string]*spaGrant     // SPA refresh tokens
	devices  map[string]*deviceCode   // device codes by device_code (device.go)
	public   map[string]*publicGrant  // public clients' refresh tokens (device.go)
	// deviceNext is how many DeviceUsers have approved a code.
	deviceNext int
	// consents are users' consents to Graph permissions (consent.go):
	// tid/oid → permission → consented (false: withdrawn).
	consents map[string]map[string]bool
	// adminConsents are tenant-wide consents: tid → permission.
	adminConsents map[string]map[string]bool
	// adminRequired are tenants whose users may not consent themselves.
	adminRequired map[string]bool
}

// NewIssuer makes a fresh signing key.
func NewIssuer(authority, clientID string) (*Issuer, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	return &Issuer{
		Authority:     strings.TrimRight(authority, "/"),
		ClientID:      clientID,
		key:           key,
		kid:           keyID(&key.PublicKey),
		refresh:       map[string]*refreshGrant{},
		revoked:       map[string]time.Time{},
		seen:          map[string][]string{},
		rejected:      map[string]bool{},
		codes:         map[string]*authCode{},
		spa:           map[string]*spaGrant{},
		devices:       map[string]*deviceCode{},
		public:        map[string]*publicGrant{},
		consents:      map[string]map[string]bool{},
		adminConsents: map[string]map[string]bool{},
		adminRequired: map[string]bool{},
	}, nil
}

// Key returns the signing key, for tests that forge tokens.
func (i *Issuer) Key() *rsa.PrivateKey { return i.key }

// KeyID returns the kid of the signing key.
func (i *Issuer) KeyID() string { return i.kid }

func keyID(pub *rsa.PublicKey) string {
	sum := sha256.Sum256(pub.N.Bytes())
	return base64.RawURLEncoding.EncodeToString(sum[:16])
}

// Claims returns the claims Entra puts in a v2 access token for u, valid for
// an hour from now.
func (i *Issuer) Claims(u User, now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"aud":                i.ClientID,
		"iss":                i.Authority + "/" + u.TenantID + "/v2.0",
		"iat":                now.Unix(),
		"nbf":                now.Unix(),
		"exp":                now.Add(time.Hour).Unix(),
		"aio":                "dev",
		"azp":                "00000000-0000-4000-8000-0000000add1a",
		"azpacr":             "0",
		"name":               u.Name,
		"oid":                u.ObjectID,
		"preferred_username": u.Email,
		"rh":                 "dev",
		"scp":                "access_as_user",
		"sid":                uuid.NewString(),
		"sub":                subject(u),
		"tid":                u.TenantID,
		"uti":                uuid.NewString()[:22],
		"ver":                "2.0",
	}
}

// Sign signs claims with the issuer's key, RS256, with kid set.
func (i *Issuer) Sign(c jwt.Claims) (string, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	t.Header["kid"] = i.kid
	return t.SignedString(i.key)
}

// Mint returns a valid access token for u.
func (i *Issuer) Mint(u User) (string, error) {
	return i.Sign(i.Claims(u, time.Now()))
}

// jwk is one key as Entra publishes it: no alg member.
type jwk struct {
	Kty    string   `json:"kty"`
	Use    string   `json:"use"`
	Kid    string   `json:"kid"`
	X5t    string   `json:"x5t"`
	N      string   `json:"n"`
	E      string   `json:"e"`
	Issuer string   `json:"issuer"`
	X5c    []string `json:"x5c,omitempty"`
}

// JWKS returns the key set document.
func (i *Issuer) JWKS() []byte {
	pub := &i.key.PublicKey
	thumb := sha1.Sum(pub.N.Bytes())
	set := struct {
		Keys []jwk `json:"keys"`
	}{Keys: []jwk{{
		Kty:    "RSA",
		Use:    "sig",
		Kid:    i.kid,
		X5t:    base64.RawURLEncoding.EncodeToString(thumb[:]),
		N:      base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		E:      base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
		Issuer: i.Authority + "/{tenantid}/v2.0",
	}}}
	b, _ := json.Marshal(set)
	return b
}

// Handler serves the issuer: the JWKS at Entra's paths, an OpenID
// configuration, the v2 token, authorize and devicecode endpoints per
// tenant, and development endpoints: GET /dev/users, POST /dev/token
// {"user":"alice"}, POST /dev/revoke {"user":"alice"}, POST /dev/consent
// and POST /dev/policy (consent.go), GET and POST /dev/device (device.go).
func (i *Issuer) Handler() http.Handler {
	mux := http.NewServeMux()
	keys := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write(i.JWKS())
	}
	mux.HandleFunc("GET /common/discovery/v2.0/keys", keys)
	mux.HandleFunc("GET /{tenant}/discovery/v2.0/keys", keys)
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		tid := r.PathValue("tenant")
		issuer := i.Authority + "/" + tid + "/v2.0"
		if tid == "organizations" || tid == "common" {
			issuer = i.Authority + "/{tenantid}/v2.0" // as Entra's multi-tenant documents say
		}
		writeJSON(w, http.StatusOK, map[string]any{
			"end_session_endpoint":                  i.Authority + "/" + tid + "/oauth2/v2.0/logout",
			"response_modes_supported":              []string{"query", "fragment", "form_post"},
			"response_types_supported":              []string{"code"},
			"scopes_supported":                      []string{"openid", "profile", "email", "offline_access"},
			"issuer":                                issuer,
			"jwks_uri":                              i.Authority + "/" + tid + "/discovery/v2.0/keys",
			"authorization_endpoint":                i.Authority + "/" + tid + "/oauth2/v2.0/authorize",
			"token_endpoint":                        i.Authority + "/" + tid + "/oauth2/v2.0/token",
			"device_authorization_endpoint":         i.Authority + "/" + tid + "/oauth2/v2.0/devicecode",
			"id_token_signing_alg_values_supported": []string{"RS256"},
		})
	})
	mux.HandleFunc("GET /dev/users", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"users": Users})
	})
	mux.HandleFunc("POST /dev/token", func(w http.ResponseWriter, r *http.Request) {
		u, ok := userOf(w, r)
		if !ok {
			return
		}
		tok, err := i.Mint(u)
		if err != nil {
			writeJSON(w, http.StatusInternalServerError, map[string]any{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3600, "access_token": tok})
	})
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", i.serveToken)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/devicecode", i.serveDeviceCode)
	mux.HandleFunc("GET /dev/device", i.serveDevicePage)
	mux.HandleFunc("POST /dev/device", i.serveDeviceAnswer)
	mux.HandleFunc("GET /{tenant}/oauth2/v2.0/authorize", i.authorize)
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/authorize", i.authorize)
	mux.HandleFunc("GET /{tenant}/oauth2/v2.0/logout", i.logout)
	mux.HandleFunc("POST /dev/consent", i.serveDevConsent)
	mux.HandleFunc("POST /dev/policy", i.serveDevPolicy)
	mux.HandleFunc("POST /dev/revoke", func(w http.ResponseWriter, r *http.Request) {
		u, ok := userOf(w, r)
		if !ok {
			return
		}
		i.Revoke(u.TenantID, u.ObjectID)
		w.WriteHeader(http.StatusNoContent)
	})
	return i.cors(mux)
}

// userOf reads {"user":"alice"} and finds the test user, or answers why not.
func userOf(w http.ResponseWriter, r *http.Request) (User, bool) {
	var req struct {
		User string `json:"user"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "send {\"user\":\"alice\"}"})
		return User{}, false
	}
	u, ok := FindUser(req.User)
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]any{"error": "unknown user; GET /dev/users lists them"})
	}
	return u, ok
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func subject(u User) string {
	sum := sha256.Sum256([]byte(u.TenantID + u.ObjectID))
	return base64.RawURLEncoding.EncodeToString(sum[:])[:43]
}
