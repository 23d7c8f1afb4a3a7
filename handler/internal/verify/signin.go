package verify

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"
)

// DeviceCode signs the sender and the recipient in with the device code
// flow of MSAL Go's public client: the run prints Microsoft's message
// (a code to enter at microsoft.com/devicelogin), the person signs in
// on any device. Each person has their own client and token cache, in
// memory only: nothing is written.
type DeviceCode struct {
	ClientID string
	// Authority is the deployment's (ENTRA_AUTHORITY), without a tenant:
	// the people may be of any organisation.
	Authority string
	HTTP      *http.Client
	// Prompt receives the sign-in instructions.
	Prompt io.Writer

	mu       sync.Mutex
	clients  map[string]*public.Client
	accounts map[string]public.Account
}

// Configure takes the deployment's sign-in settings, read from its page.
func (d *DeviceCode) Configure(clientID, authority string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ClientID == "" {
		d.ClientID = clientID
	}
	if d.Authority == "" {
		d.Authority = authority
	}
}

// Token gets a token for scopes as who: silently when the person signed in
// already and allowed them, otherwise by a new device code sign-in.
func (d *DeviceCode) Token(ctx context.Context, who string, scopes []string) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.clients == nil {
		d.clients, d.accounts = map[string]*public.Client{}, map[string]public.Account{}
	}
	c, ok := d.clients[who]
	if !ok {
		opts := []public.Option{public.WithAuthority(strings.TrimRight(d.Authority, "/") + "/organizations")}
		if d.HTTP != nil {
			opts = append(opts, public.WithHTTPClient(d.HTTP))
		}
		if !isMicrosoft(d.Authority) {
			// A stand-in issuer (the local dev sign-in) is not in
			// Microsoft's instance list.
			opts = append(opts, public.WithInstanceDiscovery(false))
		}
		pc, err := public.New(d.ClientID, opts...)
		if err != nil {
			return "", err
		}
		c = &pc
		d.clients[who] = c
	}
	if acct, ok := d.accounts[who]; ok {
		if res, err := c.AcquireTokenSilent(ctx, scopes, public.WithSilentAccount(acct)); err == nil {
			return res.AccessToken, nil
		}
	}
	dc, err := c.AcquireTokenByDeviceCode(ctx, scopes)
	if err != nil {
		return "", fmt.Errorf("device code: %w", err)
	}
	if d.Prompt != nil {
		fmt.Fprintf(d.Prompt, "Sign in as the %s (%s): %s\n", who, strings.Join(scopes, ", "), dc.Result.Message)
	}
	res, err := dc.AuthenticationResult(ctx)
	if err != nil {
		return "", fmt.Errorf("sign-in as the %s: %w", who, err)
	}
	d.accounts[who] = res.Account
	return res.AccessToken, nil
}

func isMicrosoft(authority string) bool {
	return strings.Contains(authority, "login.microsoftonline.com") || strings.Contains(authority, "login.microsoftonline.us") ||
		strings.Contains(authority, "login.partner.microsoftonline.cn")
}
