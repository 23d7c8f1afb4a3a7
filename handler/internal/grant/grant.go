// Package grant keeps each account's permission to send mail through
// Microsoft Graph for as long as a campaign runs.
//
// With the delegated permission the add-in's API token (the assertion) is
// exchanged on behalf of the user for Graph's Mail.Send and offline_access
// (reference graph-and-identity.md §8). The access token lasts about an
// hour; the refresh token that comes with it lasts 90 days and is renewed
// each time it is redeemed. Both are kept per account, encrypted with
// AES-256-GCM, in the tokencache blob container, and the refresh token is
// redeemed whenever the access token is within five minutes of expiry. With
// the application permission (§9) no user grant is needed: MSAL gets
// client-credentials tokens for the account's tenant. The same grant gives
// tokens for reading the mailbox (MailReadBasic) once the person allowed it:
// Confirm checks that with Entra when they turn reading on.
package grant

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/store"
)

// Scopes requested from Graph.
const (
	// MailSend is the delegated permission sending needs; MSAL adds openid,
	// offline_access and profile, so a refresh token comes back.
	MailSend = "https://graph.microsoft.com/Mail.Send"
	// AppScope is what a client-credentials token is asked for: every
	// application permission consented to, here Mail.Send.
	AppScope = "https://graph.microsoft.com/.default"
	// MailReadBasic is the delegated permission reading the mailbox needs
	// (the person's opt-in): message metadata, no body, no attachment
	// (docs/mailbox-reading.md §3). A token for it comes from the same
	// grant: Credential(account).GetToken with this scope. Its application
	// counterpart, Mail.ReadBasic.All, is granted by the tenant's
	// administrator and comes with AppScope.
	MailReadBasic = "https://graph.microsoft.com/Mail.ReadBasic"
)

// Error codes of the errors Capture and Credential return.
const (
	// CodeConsentRequired: Capture could not get a lasting grant; the user
	// must consent (or have an administrator consent) and sign in again.
	CodeConsentRequired = "graph_consent_required"
	// CodeExpired: the stored grant is missing, revoked or unreadable; the
	// user must open the add-in again. Expired reports it.
	CodeExpired = "graph_grant_expired"
	// CodeUnavailable: Entra could not be reached or failed; try later.
	CodeUnavailable = "identity_unavailable"
	// CodeScopeConsent: the grant holds, but the person has not allowed
	// the permission asked for beyond sending (Mail.ReadBasic); the app
	// asks them (incremental consent). NotAllowed reports it.
	CodeScopeConsent = "consent_required"
	// CodeAdminConsent: only the organisation's administrator may allow
	// that permission. NotAllowed reports it.
	CodeAdminConsent = "admin_consent_required"
)

// container holds one encrypted blob per account.
const container = store.ContainerTokenCache

// Config configures Grants.
type Config struct {
	// Authority is Entra's base URL without a tenant, e.g.
	// https://login.microsoftonline.com; tokens are requested at
	// <Authority>/<tenant id>.
	Authority string
	// ClientID and ClientSecret are our app registration's.
	ClientID     string
	ClientSecret string
	// Application selects the application permission (client credentials,
	// scope AppScope): no user grant is captured or stored.
	Application bool
	// Key is the 32-byte AES-256-GCM key of the persisted grants; needed in
	// delegated mode. It is never logged.
	Key []byte
	// HTTPClient makes the token requests; nil means MSAL's default.
	HTTPClient *http.Client
}

// Blobs is the blob storage grants are kept in (store.Store).
type Blobs interface {
	PutBlob(ctx context.Context, container, name string, data []byte) error
	GetBlob(ctx context.Context, container, name string) ([]byte, error)
	DeleteBlob(ctx context.Context, container, name string) error
}

// Grants captures, keeps and uses accounts' Graph grants. It is safe for
// concurrent use.
type Grants struct {
	cfg   Config
	cred  confidential.Credential
	aead  cipher.AEAD
	blobs Blobs

	mu       sync.Mutex
	accounts map[string]*sync.Mutex         // delegated: one token request per account at a time
	apps     map[string]confidential.Client // application: MSAL client per tenant
	// recent are access tokens read or redeemed lately, by account and
	// scope (recentKey): a campaign's sends do not each read the stored
	// grant.
	recent map[string]recentToken
}

// recentToken is an access token kept in memory for a short while.
type recentToken struct {
	scope  string
	token  azcore.AccessToken
	readAt time.Time
}

// recentFor is how long a token is used from memory before the stored
// grant is read again, so a grant deleted or replaced elsewhere takes
// effect within it.
const recentFor = time.Minute

// New checks cfg and returns Grants. It does no I/O.
func New(cfg Config, blobs Blobs) (*Grants, error) {
	cfg.Authority = strings.TrimRight(cfg.Authority, "/")
	var missing []string
	if u, err := url.Parse(cfg.Authority); err != nil || u.Scheme != "https" || u.Host == "" {
		// Entra is https only, and so is MSAL.
		missing = append(missing, "an https authority")
	}
	if cfg.ClientID == "" {
		missing = append(missing, "a client id")
	}
	if cfg.ClientSecret == "" {
		missing = append(missing, "a client secret")
	}
	if !cfg.Application && len(cfg.Key) != 32 {
		missing = append(missing, "a 32-byte key")
	}
	if !cfg.Application && blobs == nil {
		missing = append(missing, "blob storage")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("grant: need %s", strings.Join(missing, ", "))
	}
	cred, err := confidential.NewCredFromSecret(cfg.ClientSecret)
	if err != nil {
		return nil, fmt.Errorf("grant: %w", err)
	}
	g := &Grants{cfg: cfg, cred: cred, blobs: blobs, accounts: map[string]*sync.Mutex{}, apps: map[string]confidential.Client{}}
	if !cfg.Application {
		block, err := aes.NewCipher(cfg.Key)
		if err != nil {
			return nil, fmt.Errorf("grant: %w", err)
		}
		if g.aead, err = cipher.NewGCM(block); err != nil {
			return nil, fmt.Errorf("grant: %w", err)
		}
	}
	return g, nil
}

// Capture exchanges assertion, the caller's token for our API, on behalf
// of the user for Mail.Send and offline_access, and stores the tokens for
// the account, replacing any earlier grant. In application mode it does
// nothing.
//
// A grant Entra refuses (consent missing, invalid_grant,
// interaction_required) or one without a refresh token is Unauthorized with
// CodeConsentRequired; Entra unreachable or failing is Transient.
func (g *Grants) Capture(ctx context.Context, account account.Key, assertion string) error {
	if g.cfg.Application {
		return nil
	}
	g.forget(account)
	unlock := g.lock(account)
	defer unlock()
	scopes := []string{MailSend, "offline_access"}
	tr, exp, err := g.requestToken(ctx, account.TenantID, url.Values{
		"grant_type":          {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
		"requested_token_use": {"on_behalf_of"},
		"assertion":           {assertion},
		"scope":               {strings.Join(scopes, " ")},
	})
	if err != nil {
		return captureError(err)
	}
	if tr.RefreshToken == "" {
		// Without offline_access the grant would end with the access token.
		return apperr.E(apperr.Unauthorized, CodeConsentRequired, "%s", consentMessage)
	}
	return g.save(ctx, store.TokenCacheBlob(account), stored{RefreshToken: tr.RefreshToken, AccessToken: tr.AccessToken, ExpiresOn: exp, Scope: MailSend})
}

// Credential returns the account's Graph credential. In delegated mode it
// uses the stored grant; an error for which Expired is true means the user
// must open the add-in again. Its tokens are for the scope asked (MailSend
// when none): reading the mailbox asks for MailReadBasic from the same
// grant, and an error for which NotAllowed is true means the person has
// not allowed that (or withdrew it), while the grant to send holds. In
// application mode it gets client-credentials tokens for the account's
// tenant (ask for AppScope: every application permission granted).
func (g *Grants) Credential(account account.Key) azcore.TokenCredential {
	return credential{g: g, account: account}
}

// Confirm asks Entra whether the person behind assertion (their token for
// our API) has allowed our app the delegated permission scope (e.g.
// MailReadBasic): it exchanges the assertion on their behalf for a token
// with that scope alone, and keeps nothing. nil means allowed. Not yet:
// Unauthorized with CodeScopeConsent (AADSTS65001), or CodeAdminConsent
// when Entra says only an administrator may (AADSTS90094, 90095). Entra
// unreachable is Transient. In application mode it asks nothing and
// returns nil: the tenant's administrator grants the application
// permission (Mail.ReadBasic.All) to the whole organisation, and Graph
// refuses to read until they have.
func (g *Grants) Confirm(ctx context.Context, account account.Key, assertion, scope string) error {
	if g.cfg.Application {
		return nil
	}
	_, _, err := g.requestToken(ctx, account.TenantID, url.Values{
		"grant_type":          {"urn:ietf:params:oauth:grant-type:jwt-bearer"},
		"requested_token_use": {"on_behalf_of"},
		"assertion":           {assertion},
		"scope":               {scope},
	})
	if err == nil {
		return nil
	}
	if apperr.KindOf(err) != apperr.Internal {
		return err
	}
	c, e := classify(err)
	switch {
	case c == classGrant && e.consent():
		return notAllowed(cause(err, e), e)
	case c == classGrant:
		// The assertion itself is refused (expired, revoked sign-in).
		return apperr.Wrap(cause(err, e), apperr.Unauthorized, CodeExpired, "Microsoft did not accept your sign-in; sign out, sign in again, then try once more")
	case c == classTransient:
		return unavailable(cause(err, e))
	}
	return fmt.Errorf("grant: confirm %s: %w", scope, cause(err, e))
}

// Application reports whether the application permission is used: the
// organisation's administrator, not each person, allows what the app
// does in mailboxes.
func (g *Grants) Application() bool { return g.cfg.Application }

// NotAllowed reports whether err means a permission beyond sending was
// not allowed: by the person (CodeScopeConsent) or, where only they may,
// by the organisation's administrator (CodeAdminConsent).
func NotAllowed(err error) bool {
	var e *apperr.Error
	return errors.As(err, &e) && (e.Code == CodeScopeConsent || e.Code == CodeAdminConsent)
}

// Expired reports whether err means the account's grant is gone: missing,
// revoked, expired or unreadable.
func Expired(err error) bool {
	var e *apperr.Error
	return errors.As(err, &e) && e.Code == CodeExpired
}

// Has reports whether a grant is stored for the account; always true in
// application mode. A stored grant may still have been revoked in Entra.
func (g *Grants) Has(ctx context.Context, account account.Key) (bool, error) {
	if g.cfg.Application {
		return true, nil
	}
	_, err := g.load(ctx, account)
	switch {
	case err == nil:
		return true, nil
	case Expired(err):
		return false, nil
	}
	return false, err
}

// Delete removes the account's stored grant. Deleting a missing grant is
// not an error.
func (g *Grants) Delete(ctx context.Context, account account.Key) error {
	if g.cfg.Application {
		return nil
	}
	g.forget(account)
	return g.blobs.DeleteBlob(ctx, container, store.TokenCacheBlob(account))
}

// credential is an account's azcore.TokenCredential.
type credential struct {
	g       *Grants
	account account.Key
}

// GetToken returns a Graph access token for the account.
func (c credential) GetToken(ctx context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	if c.g.cfg.Application {
		return c.g.appToken(ctx, c.account.TenantID, opts)
	}
	return c.g.userToken(ctx, c.account, opts)
}

// renewBefore is how long before expiry a stored access token is renewed,
// as MSAL and azidentity do: a token must outlive the request it is for.
const renewBefore = 5 * time.Minute

func (g *Grants) userToken(ctx context.Context, account account.Key, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	scope := strings.Join(opts.Scopes, " ")
	if scope == "" {
		scope = MailSend
	}
	if t, ok := g.recentToken(account, scope); ok && opts.Claims == "" {
		return t, nil
	}
	// One request per account at a time in this process. Another instance
	// may redeem the refresh token at the same time: the last grant written
	// wins, and both are valid.
	unlock := g.lock(account)
	defer unlock()
	// The grant is read on every request, so one deleted or replaced
	// elsewhere takes effect here at once.
	s, err := g.load(ctx, account)
	if err != nil {
		return azcore.AccessToken{}, err
	}
	// A claims challenge needs a new token, whatever the cached one's age.
	if s.Scope == scope && time.Until(s.ExpiresOn) > renewBefore && opts.Claims == "" {
		t := azcore.AccessToken{Token: s.AccessToken, ExpiresOn: s.ExpiresOn}
		g.remember(account, scope, t)
		return t, nil
	}
	form := url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {s.RefreshToken},
		"scope":         {scope + " offline_access"},
	}
	if opts.Claims != "" {
		// A claims challenge from Graph (Conditional Access, CAE) goes
		// back to Entra with the request.
		form.Set("claims", opts.Claims)
	}
	tr, exp, err := g.requestToken(ctx, account.TenantID, form)
	if err != nil {
		return azcore.AccessToken{}, scopeTokenError(scope, err)
	}
	if tr.RefreshToken != "" {
		s.RefreshToken = tr.RefreshToken
	}
	s.AccessToken, s.ExpiresOn, s.Scope = tr.AccessToken, exp, scope
	if err := g.save(ctx, store.TokenCacheBlob(account), s); err != nil {
		return azcore.AccessToken{}, err
	}
	t := azcore.AccessToken{Token: s.AccessToken, ExpiresOn: s.ExpiresOn}
	g.remember(account, scope, t)
	return t, nil
}

// recentToken returns the account's token from memory while it is recent
// and far from expiry.
func (g *Grants) recentToken(account account.Key, scope string) (azcore.AccessToken, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	r, ok := g.recent[recentKey(account, scope)]
	if !ok || time.Since(r.readAt) > recentFor || time.Until(r.token.ExpiresOn) <= renewBefore {
		return azcore.AccessToken{}, false
	}
	return r.token, true
}

func (g *Grants) remember(account account.Key, scope string, t azcore.AccessToken) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.recent == nil {
		g.recent = map[string]recentToken{}
	}
	g.recent[recentKey(account, scope)] = recentToken{scope: scope, token: t, readAt: time.Now()}
}

// recentKey names an account's token for one scope in memory: sending
// and reading the mailbox each keep theirs.
func recentKey(account account.Key, scope string) string { return account.String() + " " + scope }

// forget drops the account's tokens from memory, of every scope.
func (g *Grants) forget(account account.Key) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for k := range g.recent {
		if strings.HasPrefix(k, account.String()+" ") {
			delete(g.recent, k)
		}
	}
}

// lock takes the account's request lock and returns its release.
func (g *Grants) lock(account account.Key) func() {
	g.mu.Lock()
	m, ok := g.accounts[account.String()]
	if !ok {
		m = &sync.Mutex{}
		g.accounts[account.String()] = m
	}
	g.mu.Unlock()
	m.Lock()
	return m.Unlock
}

func (g *Grants) appToken(ctx context.Context, tenantID string, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	client, err := g.app(tenantID)
	if err != nil {
		return azcore.AccessToken{}, err
	}
	scopes := opts.Scopes
	if len(scopes) == 0 {
		scopes = []string{AppScope}
	}
	var o []confidential.AcquireByCredentialOption
	if opts.Claims != "" {
		o = append(o, confidential.WithClaims(opts.Claims))
	}
	// MSAL keeps app tokens in memory and returns the cached one until it
	// is near expiry.
	res, err := client.AcquireTokenByCredential(ctx, scopes, o...)
	if err != nil {
		return azcore.AccessToken{}, tokenError(err)
	}
	return azcore.AccessToken{Token: res.AccessToken, ExpiresOn: res.ExpiresOn, RefreshOn: res.Metadata.RefreshOn}, nil
}

// app returns the MSAL client of a tenant, making it on first use.
func (g *Grants) app(tenantID string) (confidential.Client, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c, ok := g.apps[tenantID]; ok {
		return c, nil
	}
	opts := []confidential.Option{
		// Instance discovery asks login.microsoftonline.com which hosts
		// alias the authority, and sends hosts it does not know there for
		// validation. The authority is our own configuration, not input,
		// and every token is requested and cached through that one host,
		// so aliases add nothing: Entra works the same with discovery off,
		// and a non-Microsoft host (the local Entra stand-in) is used as
		// configured instead of being checked with Microsoft.
		confidential.WithInstanceDiscovery(false),
	}
	if g.cfg.HTTPClient != nil {
		opts = append(opts, confidential.WithHTTPClient(g.cfg.HTTPClient))
	}
	c, err := confidential.New(g.cfg.Authority+"/"+url.PathEscape(tenantID), g.cfg.ClientID, g.cred, opts...)
	if err != nil {
		return confidential.Client{}, fmt.Errorf("grant: msal client: %w", err)
	}
	g.apps[tenantID] = c
	return c, nil
}
