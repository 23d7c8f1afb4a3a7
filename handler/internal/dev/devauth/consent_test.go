package devauth

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

const (
	readScope = "https://graph.microsoft.com/Mail.ReadBasic"
	sendScope = "https://graph.microsoft.com/Mail.Send"
)

// freshUser is a user no other test touches (consent is per user).
func freshUser(tenant string) User {
	id := uuid.NewString()
	return User{Login: "u" + id[:8], TenantID: tenant, ObjectID: id, Name: "User " + id[:8], Email: "u" + id[:8] + "@contoso.example"}
}

// wantConsentRequired checks Entra's answer to a token request for a
// permission not consented.
func wantConsentRequired(t *testing.T, what string, status int, body map[string]any) {
	t.Helper()
	codes, _ := body["error_codes"].([]any)
	desc, _ := body["error_description"].(string)
	if status != 400 || body["error"] != "invalid_grant" || body["suberror"] != "consent_required" || len(codes) != 1 || codes[0] != float64(65001) || !strings.HasPrefix(desc, "AADSTS65001: ") {
		t.Errorf("%s: %d %v, want 400 invalid_grant, suberror consent_required, [65001]", what, status, body)
	}
}

func scpOf(t *testing.T, body map[string]any) string {
	t.Helper()
	tok, _ := body["access_token"].(string)
	c := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(tok, c); err != nil {
		t.Fatalf("access token: %v (%v)", err, body)
	}
	if c["aud"] != GraphResource {
		t.Errorf("aud = %v, want Graph", c["aud"])
	}
	s, _ := c["scp"].(string)
	return s
}

// TestConsentOnBehalfOfAndRefresh: Mail.Send is consented from the
// start; Mail.ReadBasic only once the user consented, whether asked on
// behalf of the user or with a refresh token issued before the consent;
// tokens carry every permission consented; a withdrawal stops the next
// request for it, and only it.
func TestConsentOnBehalfOfAndRefresh(t *testing.T) {
	iss, srv := newTestIssuer(t)
	u := freshUser(ContosoTenant)
	a, _ := iss.Mint(u)
	refresh := func(rt, scope string) url.Values {
		return url.Values{"grant_type": {"refresh_token"}, "client_id": {testClient}, "client_secret": {testSecret}, "refresh_token": {rt}, "scope": {scope + " offline_access"}}
	}

	status, body := post(t, srv, ContosoTenant, oboForm(a))
	if status != 200 {
		t.Fatalf("OBO for Mail.Send: %d %v", status, body)
	}
	if scp := scpOf(t, body); scp != "Mail.Send" {
		t.Errorf("scp = %q before any other consent, want Mail.Send", scp)
	}
	rt := body["refresh_token"].(string)

	status, body = post(t, srv, ContosoTenant, with(oboForm(a), "scope", readScope+" offline_access"))
	wantConsentRequired(t, "OBO for Mail.ReadBasic without consent", status, body)
	status, body = post(t, srv, ContosoTenant, refresh(rt, readScope))
	wantConsentRequired(t, "refresh for Mail.ReadBasic without consent", status, body)
	status, body = post(t, srv, ContosoTenant, with(oboForm(a), "scope", sendScope+" "+readScope))
	wantConsentRequired(t, "OBO for both without consent to one", status, body)

	iss.Consent(u.TenantID, u.ObjectID, PermissionMailReadBasic)
	status, body = post(t, srv, ContosoTenant, with(oboForm(a), "scope", readScope+" offline_access"))
	if status != 200 {
		t.Fatalf("OBO for Mail.ReadBasic after consent: %d %v", status, body)
	}
	if scp := scpOf(t, body); scp != "Mail.ReadBasic Mail.Send" {
		t.Errorf("scp = %q, want every permission consented", scp)
	}
	if body["scope"] != readScope+" "+sendScope {
		t.Errorf("scope = %v", body["scope"])
	}
	// The refresh token from before the consent redeems for it now.
	if status, body := post(t, srv, ContosoTenant, refresh(rt, readScope)); status != 200 || scpOf(t, body) != "Mail.ReadBasic Mail.Send" {
		t.Errorf("refresh for Mail.ReadBasic after consent: %d %v", status, body)
	}

	iss.Withdraw(u.TenantID, u.ObjectID, PermissionMailReadBasic)
	status, body = post(t, srv, ContosoTenant, refresh(rt, readScope))
	wantConsentRequired(t, "refresh for Mail.ReadBasic after withdrawal", status, body)
	if status, body := post(t, srv, ContosoTenant, refresh(rt, sendScope)); status != 200 || scpOf(t, body) != "Mail.Send" {
		t.Errorf("refresh for Mail.Send after withdrawing Mail.ReadBasic: %d %v", status, body)
	}
	if got := iss.Consented(u.TenantID, u.ObjectID); !slices.Equal(got, []string{PermissionMailSend}) {
		t.Errorf("consented %v", got)
	}
	// Another user's consent is theirs alone.
	other := freshUser(ContosoTenant)
	b, _ := iss.Mint(other)
	iss.Consent(u.TenantID, u.ObjectID, PermissionMailReadBasic)
	status, body = post(t, srv, ContosoTenant, with(oboForm(b), "scope", readScope))
	wantConsentRequired(t, "another user of the tenant", status, body)
	// An administrator's consent is everyone's in the tenant.
	iss.AdminConsent(ContosoTenant, PermissionMailReadBasic)
	if status, body := post(t, srv, ContosoTenant, with(oboForm(b), "scope", readScope)); status != 200 {
		t.Errorf("OBO after the administrator consented: %d %v", status, body)
	}
}

// browser is a browser's session with the issuer: cookies kept,
// redirects not followed.
type browser struct {
	t   *testing.T
	c   *http.Client
	srv string
}

func newBrowser(t *testing.T, iss *Issuer, srvURL string, client *http.Client) *browser {
	iss.AllowRedirect = func(uri string) bool { return uri == "https://app.example/app/redirect" }
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Transport: client.Transport, Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &browser{t: t, c: c, srv: srvURL}
}

const verifier = "a-long-enough-code-verifier-for-the-test-0123456789"

func authorizeQuery(tenant, scope, prompt string) url.Values {
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"client_id": {testClient}, "redirect_uri": {"https://app.example/app/redirect"}, "response_type": {"code"},
		"scope": {scope + " openid profile offline_access"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"}, "state": {"s1"}, "nonce": {"n1"}}
	if prompt != "" {
		q.Set("prompt", prompt)
	}
	return q
}

// do sends an authorize request and returns the page, or the answer
// carried by the redirect back to the app.
func (b *browser) do(method, tenant string, q url.Values) (page string, back url.Values) {
	b.t.Helper()
	endpoint := b.srv + "/" + tenant + "/oauth2/v2.0/authorize"
	var resp *http.Response
	var err error
	if method == "GET" {
		resp, err = b.c.Get(endpoint + "?" + q.Encode())
	} else {
		resp, err = b.c.PostForm(endpoint, q)
	}
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusFound {
		loc, _ := url.Parse(resp.Header.Get("Location"))
		back, _ = url.ParseQuery(loc.Fragment)
		return "", back
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		b.t.Fatalf("authorize: %d %s", resp.StatusCode, body)
	}
	return string(body), nil
}

// redeem exchanges a code (or a SPA refresh token) as MSAL.js does.
func (b *browser) redeem(tenant string, form url.Values) (int, map[string]any) {
	b.t.Helper()
	form.Set("client_id", testClient)
	req, _ := http.NewRequest("POST", b.srv+"/"+tenant+"/oauth2/v2.0/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://app.example")
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		b.t.Fatal(err)
	}
	return resp.StatusCode, body
}

// TestIncrementalConsentInTheBrowser: signed in, the app asks for
// Mail.ReadBasic; silently it is refused (consent_required); in the
// browser the consent page lists it; declining sends the app
// access_denied (AADSTS65004) and records nothing; accepting records it,
// and the code redeems for a Graph token that carries it. The SPA's
// refresh token is refused for a permission not consented and stays
// valid for what is.
func TestIncrementalConsentInTheBrowser(t *testing.T) {
	iss, srv := newTestIssuer(t)
	b := newBrowser(t, iss, srv.URL, srv.Client())
	api := "api://" + testClient + "/access_as_user"
	alice, _ := FindUser("alice")

	// Sign in: pick alice; the API's scope needs no consent page.
	_, back := b.do("POST", ContosoTenant, with(authorizeQuery(ContosoTenant, api, "select_account"), "user", "alice"))
	if back.Get("code") == "" {
		t.Fatalf("sign-in: %v", back)
	}
	status, signedIn := b.redeem(ContosoTenant, url.Values{"grant_type": {"authorization_code"}, "code": {back.Get("code")},
		"redirect_uri": {"https://app.example/app/redirect"}, "code_verifier": {verifier}, "scope": {api}})
	if status != 200 {
		t.Fatalf("code: %d %v", status, signedIn)
	}
	spaRT := signedIn["refresh_token"].(string)

	// MSAL's acquireTokenSilent: the refresh token first, then the hidden frame.
	status, body := b.redeem(ContosoTenant, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {spaRT}, "scope": {readScope + " openid profile offline_access"}})
	wantConsentRequired(t, "SPA refresh token for Mail.ReadBasic", status, body)
	if _, back := b.do("GET", ContosoTenant, authorizeQuery(ContosoTenant, readScope, "none")); back.Get("error") != "consent_required" || !strings.HasPrefix(back.Get("error_description"), "AADSTS65001") {
		t.Errorf("silent authorize without consent: %v", back)
	}
	// The refresh token refused stays good for what is consented.
	status, body = b.redeem(ContosoTenant, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {spaRT}, "scope": {api + " openid profile offline_access"}})
	if status != 200 {
		t.Fatalf("SPA refresh token for our API after a refusal: %d %v", status, body)
	}

	// acquireTokenRedirect: the consent page.
	page, _ := b.do("GET", ContosoTenant, authorizeQuery(ContosoTenant, readScope, ""))
	if !strings.Contains(page, "Permissions requested") || !strings.Contains(page, "Read user basic mail") || strings.Contains(page, "Send mail as you") {
		t.Errorf("consent page lists the wrong permissions:\n%s", page)
	}
	answer := with(authorizeQuery(ContosoTenant, readScope, ""), "user", "alice")
	if _, back := b.do("POST", ContosoTenant, with(answer, "consent", "decline")); back.Get("error") != "access_denied" || !strings.HasPrefix(back.Get("error_description"), "AADSTS65004") {
		t.Errorf("declined: %v", back)
	}
	if got := iss.Consented(alice.TenantID, alice.ObjectID); slices.Contains(got, PermissionMailReadBasic) {
		t.Errorf("a declined consent was recorded: %v", got)
	}
	_, back = b.do("POST", ContosoTenant, with(answer, "consent", "accept"))
	if back.Get("code") == "" || back.Get("state") != "s1" {
		t.Fatalf("accepted: %v", back)
	}
	if got := iss.Consented(alice.TenantID, alice.ObjectID); !slices.Contains(got, PermissionMailReadBasic) {
		t.Errorf("consent not recorded: %v", got)
	}
	status, body = b.redeem(ContosoTenant, url.Values{"grant_type": {"authorization_code"}, "code": {back.Get("code")},
		"redirect_uri": {"https://app.example/app/redirect"}, "code_verifier": {verifier}, "scope": {readScope + " openid profile offline_access"}})
	if status != 200 || scpOf(t, body) != "Mail.ReadBasic Mail.Send" || !strings.Contains(body["scope"].(string), readScope) {
		t.Fatalf("Graph token after consent: %d %v", status, body)
	}
	// Now silent works, and no page asks again.
	if _, back := b.do("GET", ContosoTenant, authorizeQuery(ContosoTenant, readScope, "none")); back.Get("code") == "" {
		t.Errorf("silent authorize after consent: %v", back)
	}
	// prompt=consent asks again, whatever was consented.
	if page, _ := b.do("GET", ContosoTenant, authorizeQuery(ContosoTenant, readScope, "consent")); !strings.Contains(page, "Read user basic mail") {
		t.Errorf("prompt=consent did not show the consent page")
	}
	// One resource per token request.
	status, body = b.redeem(ContosoTenant, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {body["refresh_token"].(string)}, "scope": {api + " " + readScope}})
	if codes, _ := body["error_codes"].([]any); status != 400 || len(codes) != 1 || codes[0] != float64(28000) {
		t.Errorf("two resources in one request: %d %v", status, body)
	}
}

// TestAdminConsentOnly: in a tenant whose users may not consent, the
// user gets the "Need admin approval" page, and the app an access_denied
// naming AADSTS90094; once the administrator consented, no page.
func TestAdminConsentOnly(t *testing.T) {
	iss, srv := newTestIssuer(t)
	b := newBrowser(t, iss, srv.URL, srv.Client())
	iss.RequireAdminConsent(FabrikamTenant)
	q := with(authorizeQuery(FabrikamTenant, readScope, ""), "user", "carol")
	page, _ := b.do("POST", FabrikamTenant, q)
	if !strings.Contains(page, "Need admin approval") || strings.Contains(page, `value="accept"`) {
		t.Fatalf("admin-only tenant:\n%s", page)
	}
	if _, back := b.do("POST", FabrikamTenant, with(q, "consent", "accept")); back.Get("code") != "" {
		t.Errorf("a user consented where only the administrator may")
	}
	if _, back := b.do("POST", FabrikamTenant, with(q, "consent", "return")); back.Get("error") != "access_denied" || !strings.HasPrefix(back.Get("error_description"), "AADSTS90094") {
		t.Errorf("back from the admin page: %v", back)
	}
	iss.AdminConsent(FabrikamTenant, PermissionMailReadBasic)
	if _, back := b.do("POST", FabrikamTenant, q); back.Get("code") == "" {
		t.Errorf("after the administrator's consent: %v", back)
	}
}

// TestDevConsentEndpoint: tests and people outside the browser consent
// for a test user, or withdraw it.
func TestDevConsentEndpoint(t *testing.T) {
	iss, srv := newTestIssuer(t)
	bob, _ := FindUser("bob")
	for _, c := range []struct {
		body string
		want []string
	}{
		{`{"user":"bob","permission":"Mail.ReadBasic"}`, []string{PermissionMailSend, PermissionMailReadBasic}},
		{`{"user":"bob","permission":"https://graph.microsoft.com/Mail.Send","withdraw":true}`, []string{PermissionMailReadBasic}},
	} {
		resp, err := srv.Client().Post(srv.URL+"/dev/consent", "application/json", strings.NewReader(c.body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := iss.Consented(bob.TenantID, bob.ObjectID); resp.StatusCode != 200 || !slices.Equal(got, c.want) {
			t.Errorf("%s: %d, consented %v, want %v", c.body, resp.StatusCode, got, c.want)
		}
	}
	resp, err := srv.Client().Post(srv.URL+"/dev/consent", "application/json", strings.NewReader(`{"user":"bob","permission":"Mail.ReadWrite"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("an unknown permission: %d", resp.StatusCode)
	}
	for _, want := range []bool{true, false} {
		body := `{"tenant":"` + FabrikamTenant + `","userConsent":` + map[bool]string{true: "false", false: "true"}[want] + `}`
		resp, err := srv.Client().Post(srv.URL+"/dev/policy", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := iss.adminOnly(FabrikamTenant); resp.StatusCode != 200 || got != want {
			t.Errorf("%s: %d, administrator only %v, want %v", body, resp.StatusCode, got, want)
		}
	}
}
