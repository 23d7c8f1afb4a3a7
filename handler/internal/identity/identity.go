// Package identity validates Microsoft Entra ID v2 access tokens for our API
// and turns them into a Principal: tenant id plus object id, the account key.
// Every check that fails names itself in the error's code, so a 401 says
// which one it was.
package identity

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/time/rate"

	"mailmerge/handler/internal/apperr"
)

// RequiredScope is the delegated scope the add-in asks for.
const RequiredScope = "access_as_user"

// leeway absorbs clock skew between Entra and us.
const leeway = time.Minute

// Principal is the signed-in caller.
type Principal struct {
	TenantID string
	ObjectID string
	// Email is the sign-in address (preferred_username, else email). It is
	// stored for notifications, never used to authorise.
	Email string
	Name  string
	// ClientApp is the azp claim: which client application asked for the token.
	ClientApp string
	// TokenVersion is the ver claim.
	TokenVersion string
}

// claims are the claims of an Entra v2 access token that we read.
type claims struct {
	jwt.RegisteredClaims
	TenantID          string `json:"tid"`
	ObjectID          string `json:"oid"`
	Scope             string `json:"scp"`
	PreferredUsername string `json:"preferred_username"`
	Email             string `json:"email"`
	Name              string `json:"name"`
	AuthorizedParty   string `json:"azp"`
	Version           string `json:"ver"`
}

// Verifier checks tokens against the authority's signing keys.
type Verifier struct {
	authority string
	clientID  string
	client    *http.Client
	logger    *slog.Logger
	ctx       context.Context

	mu   sync.Mutex
	keys keyfunc.Keyfunc
}

// NewVerifier returns a Verifier for tokens issued by authority
// (https://login.microsoftonline.com in Azure) to clientID. Keys are fetched
// on first use, not here, so start-up does no network I/O; ctx ends the
// background refresh.
func NewVerifier(ctx context.Context, authority, clientID string, client *http.Client, logger *slog.Logger) *Verifier {
	return &Verifier{authority: strings.TrimRight(authority, "/"), clientID: clientID, client: client, logger: logger, ctx: ctx}
}

// JWKSURL is where the authority publishes the signing keys of all tenants.
func JWKSURL(authority string) string {
	return strings.TrimRight(authority, "/") + "/common/discovery/v2.0/keys"
}

// IssuerFor is the exact issuer a v2 token of tenant tid must carry.
func IssuerFor(authority, tid string) string {
	return strings.TrimRight(authority, "/") + "/" + tid + "/v2.0"
}

func (v *Verifier) keyfunc() (keyfunc.Keyfunc, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.keys != nil {
		return v.keys, nil
	}
	url := JWKSURL(v.authority)
	k, err := keyfunc.NewDefaultOverrideCtx(v.ctx, []string{url}, keyfunc.Override{
		Client:           v.client,
		HTTPTimeout:      10 * time.Second,
		RateLimitWaitMax: 5 * time.Second,
		// An unknown kid triggers a refresh (keys rotate), at most once a minute.
		RefreshUnknownKID: rate.NewLimiter(rate.Every(time.Minute), 1),
		RefreshErrorHandlerFunc: func(u string) func(ctx context.Context, err error) {
			return func(ctx context.Context, err error) {
				v.logger.ErrorContext(ctx, "signing keys refresh failed", "url", u, "error", err.Error())
			}
		},
	})
	if err != nil {
		return nil, err
	}
	v.keys = k
	return k, nil
}

var guid = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func unauthorized(code, format string, args ...any) error {
	return apperr.E(apperr.Unauthorized, code, format, args...)
}

// FromRequest validates the request's bearer token.
// Two Authorization headers (or two credentials folded into one by a
// proxy, comma-separated) are refused: which one would count is the kind
// of ambiguity a request smuggled past a front end relies on.
func (v *Verifier) FromRequest(r *http.Request) (Principal, error) {
	values := r.Header.Values("Authorization")
	if len(values) > 1 || (len(values) == 1 && strings.Contains(values[0], ",")) {
		return Principal{}, apperr.E(apperr.Invalid, "authorization_ambiguous", "send exactly one Authorization header with one bearer token")
	}
	h := r.Header.Get("Authorization")
	if h == "" {
		return Principal{}, unauthorized("token_missing", "sign in: send Authorization: Bearer <access token>")
	}
	scheme, raw, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(raw) == "" {
		return Principal{}, unauthorized("token_malformed", "the Authorization header must be \"Bearer <access token>\"")
	}
	return v.Verify(r.Context(), strings.TrimSpace(raw))
}

// Verify validates a raw access token: RS256 only, a known signing key,
// exp and nbf present and current, our audience, the issuer that belongs to
// the token's own tenant, and the access_as_user scope.
func (v *Verifier) Verify(ctx context.Context, raw string) (Principal, error) {
	// Look at the header before anything else: the algorithm is ours to
	// choose, never the token's (no "none", no HS256 keyed with a public key).
	unverified, _, err := jwt.NewParser().ParseUnverified(raw, &claims{})
	if err != nil {
		return Principal{}, unauthorized("token_malformed", "the access token is not a well-formed JWT")
	}
	if alg, _ := unverified.Header["alg"].(string); alg != "RS256" {
		return Principal{}, unauthorized("token_algorithm", "the access token must be signed with RS256, not %q", alg)
	}
	if kid, _ := unverified.Header["kid"].(string); kid == "" {
		return Principal{}, unauthorized("token_key_unknown", "the access token names no signing key (kid)")
	}

	keys, err := v.keyfunc()
	if err != nil {
		return Principal{}, apperr.Wrap(err, apperr.Transient, "keys_unavailable", "the sign-in keys could not be loaded; try again")
	}
	var c claims
	_, err = jwt.ParseWithClaims(raw, &c, keys.KeyfuncCtx(ctx),
		jwt.WithValidMethods([]string{"RS256"}),
		jwt.WithAudience(v.clientID),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(leeway),
	)
	if err != nil {
		return Principal{}, classify(err)
	}
	if c.NotBefore == nil {
		return Principal{}, unauthorized("token_not_before_missing", "the access token has no nbf claim")
	}
	if !guid.MatchString(c.TenantID) {
		return Principal{}, unauthorized("token_tenant", "the access token has no valid tenant id (tid)")
	}
	if want := IssuerFor(v.authority, c.TenantID); c.Issuer != want {
		return Principal{}, unauthorized("token_issuer", "the access token's issuer does not match its tenant")
	}
	if !guid.MatchString(c.ObjectID) {
		return Principal{}, unauthorized("token_subject", "the access token has no valid object id (oid)")
	}
	if !slices.Contains(strings.Fields(c.Scope), RequiredScope) {
		return Principal{}, unauthorized("token_scope", "the access token lacks the %s scope", RequiredScope)
	}
	email := c.PreferredUsername
	if !strings.Contains(email, "@") {
		email = c.Email
	}
	return Principal{
		TenantID:     strings.ToLower(c.TenantID),
		ObjectID:     strings.ToLower(c.ObjectID),
		Email:        email,
		Name:         c.Name,
		ClientApp:    c.AuthorizedParty,
		TokenVersion: c.Version,
	}, nil
}

// classify maps the JWT library's errors to one failed check each.
func classify(err error) error {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return unauthorized("token_malformed", "the access token is not a well-formed JWT")
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		return unauthorized("token_key_unknown", "the access token was signed with a key the authority does not publish")
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return unauthorized("token_signature", "the access token's signature is invalid")
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return unauthorized("token_expiry_missing", "the access token has no exp claim")
	case errors.Is(err, jwt.ErrTokenExpired):
		return unauthorized("token_expired", "the access token has expired; sign in again")
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return unauthorized("token_not_yet_valid", "the access token is not valid yet (nbf in the future)")
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return unauthorized("token_not_yet_valid", "the access token was issued in the future (iat)")
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return unauthorized("token_audience", "the access token is for another application (aud)")
	}
	return unauthorized("token_invalid", "the access token is invalid")
}
