package grant

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The delegated grant speaks to Entra's v2 token endpoint itself rather
// than through MSAL Go. MSAL Go keeps on-behalf-of tokens in a partitioned
// cache that cannot be persisted: it cannot unmarshal that cache
// (AzureAD/microsoft-authentication-library-for-go#455, open; v1.10.1
// answers "Unmarshal(*storage.InMemoryContract) only supports structs that
// have the field AdditionalFields"), and it hands the other, unpartitioned
// cache to ExportReplace.Export. Its public API offers no other way to
// redeem a refresh token. Two requests are all the grant needs: the
// on-behalf-of exchange and the refresh-token grant, both documented in
// reference/graph-and-identity.md §8.

// tokenResponse is Entra's answer to a token request.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int    `json:"expires_in"`
	Scope        string `json:"scope"`
}

// entraError is Entra's error answer, as far as we need it.
type entraError struct {
	Code       string `json:"error"`
	SubError   string `json:"suberror"`
	ErrorCodes []int  `json:"error_codes"`
}

// httpError is a token request Entra answered with an error status.
type httpError struct {
	status int
	entra  entraError
}

func (e *httpError) Error() string {
	if e.entra.Code == "" {
		return fmt.Sprintf("entra: status %d", e.status)
	}
	return fmt.Sprintf("entra: %d %s %s %v", e.status, e.entra.Code, e.entra.SubError, e.entra.ErrorCodes)
}

// requestToken posts form, with our client's id and secret, to the token
// endpoint of tenantID.
func (g *Grants) requestToken(ctx context.Context, tenantID string, form url.Values) (tokenResponse, time.Time, error) {
	form.Set("client_id", g.cfg.ClientID)
	form.Set("client_secret", g.cfg.ClientSecret)
	endpoint := g.cfg.Authority + "/" + url.PathEscape(tenantID) + "/oauth2/v2.0/token"
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return tokenResponse{}, time.Time{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	client := g.cfg.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	sent := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		// The error names the endpoint, never the form.
		return tokenResponse{}, time.Time{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return tokenResponse{}, time.Time{}, err
	}
	if resp.StatusCode != http.StatusOK {
		e := &httpError{status: resp.StatusCode}
		_ = json.Unmarshal(body, &e.entra)
		return tokenResponse{}, time.Time{}, e
	}
	var tr tokenResponse
	if err := json.Unmarshal(body, &tr); err != nil || tr.AccessToken == "" || tr.ExpiresIn <= 0 {
		return tokenResponse{}, time.Time{}, &httpError{status: resp.StatusCode, entra: entraError{Code: "malformed_response"}}
	}
	// Expiry counts from when the request was sent, so clock skew in the
	// answer's processing never lengthens a token's life.
	return tr, sent.Add(time.Duration(tr.ExpiresIn) * time.Second), nil
}
