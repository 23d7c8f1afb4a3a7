package devauth

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"
	"github.com/golang-jwt/jwt/v5"

	"mailmerge/handler/internal/identity"
)

const (
	apiScope      = "api://" + testClient + "/access_as_user"
	mailReadScope = "https://graph.microsoft.com/Mail.Read"
)

// askDevice asks the devicecode endpoint for a code.
func askDevice(t *testing.T, srv *httptest.Server, tenant string, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := srv.Client().PostForm(srv.URL+"/"+tenant+"/oauth2/v2.0/devicecode", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("devicecode answer is not JSON: %v", err)
	}
	return resp.StatusCode, body
}

// newDevice asks for a code for scope and returns the device and user codes.
func newDevice(t *testing.T, srv *httptest.Server, tenant, scope string) (deviceCode, userCode string) {
	t.Helper()
	status, body := askDevice(t, srv, tenant, url.Values{"client_id": {testClient}, "scope": {scope + " openid profile offline_access"}})
	if status != 200 {
		t.Fatalf("devicecode: %d %v", status, body)
	}
	return body["device_code"].(string), body["user_code"].(string)
}

func pollForm(deviceCode string) url.Values {
	return url.Values{"grant_type": {grantDeviceCode}, "client_id": {testClient}, "device_code": {deviceCode}}
}

// answerDevice posts JSON to /dev/device.
func answerDevice(t *testing.T, srv *httptest.Server, body string) (int, map[string]any) {
	t.Helper()
	resp, err := srv.Client().Post(srv.URL+"/dev/device", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// wantTokenError checks Entra's error shape, its error and AADSTS code.
func wantTokenError(t *testing.T, what string, status int, body map[string]any, wantStatus int, code string, aadsts float64) {
	t.Helper()
	codes, _ := body["error_codes"].([]any)
	desc, _ := body["error_description"].(string)
	if status != wantStatus || body["error"] != code || len(codes) != 1 || codes[0] != aadsts {
		t.Errorf("%s: %d %v %v, want %d %s [%v]", what, status, body["error"], body["error_codes"], wantStatus, code, aadsts)
	}
	if !strings.HasPrefix(desc, "AADSTS") || body["trace_id"] == "" || body["correlation_id"] == "" || body["timestamp"] == "" {
		t.Errorf("%s: not Entra's error shape: %v", what, body)
	}
}

func claimsOf(t *testing.T, tok any) jwt.MapClaims {
	t.Helper()
	s, _ := tok.(string)
	c := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(s, c); err != nil {
		t.Fatalf("token %q: %v", s, err)
	}
	return c
}

// TestDeviceCodeSignInWithMSAL: MSAL Go's public client signs in with
// the device code flow over TLS: it is told to wait until bob approves,
// then gets a token our API accepts as bob's. A Graph permission bob has
// not consented to is refused silently; a device code sign-in that asks
// for it consents when approved, and the refresh token then redeems for
// what bob consents to later.
func TestDeviceCodeSignInWithMSAL(t *testing.T) {
	var h http.Handler
	var polls atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token") {
			polls.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	iss, err := NewIssuer(srv.URL, testClient)
	if err != nil {
		t.Fatal(err)
	}
	h = iss.Handler()
	bob, _ := FindUser("bob")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	// Instance discovery would ask login.microsoftonline.com about this
	// host; the authority is configuration, as in the grant package.
	app, err := public.New(testClient, public.WithAuthority(srv.URL+"/organizations"), public.WithHTTPClient(srv.Client()), public.WithInstanceDiscovery(false))
	if err != nil {
		t.Fatal(err)
	}
	dc, err := app.AcquireTokenByDeviceCode(ctx, []string{apiScope})
	if err != nil {
		t.Fatalf("device code: %v", err)
	}
	r := dc.Result
	if r.VerificationURL != srv.URL+"/dev/device" || len(r.UserCode) != userCodeLength || r.DeviceCode == "" || r.Interval != 5 ||
		!strings.Contains(r.Message, r.UserCode) || !strings.Contains(r.Message, r.VerificationURL) || time.Until(r.ExpiresOn) < 14*time.Minute {
		t.Errorf("device code result %+v", r)
	}
	type outcome struct {
		res public.AuthResult
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		res, err := dc.AuthenticationResult(ctx)
		done <- outcome{res, err}
	}()
	// MSAL polls, told to wait, until someone answers.
	deadline := time.Now().Add(10 * time.Second)
	for polls.Load() < 2 && time.Now().Before(deadline) {
		select {
		case o := <-done:
			t.Fatalf("MSAL stopped waiting before the approval: %v", o.err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	if polls.Load() < 2 {
		t.Fatalf("MSAL polled %d times before the approval", polls.Load())
	}
	if status, body := answerDevice(t, srv, `{"user_code":"`+strings.ToLower(r.UserCode)+`","user":"bob"}`); status != 200 || body["user"] != "bob" {
		t.Fatalf("approve: %d %v", status, body)
	}
	got := <-done
	if got.err != nil {
		t.Fatalf("authentication result: %v", got.err)
	}
	if got.res.Account.PreferredUsername != bob.Email || got.res.IDToken.Oid != bob.ObjectID {
		t.Errorf("account %+v, ID token %+v", got.res.Account, got.res.IDToken)
	}
	v := identity.NewVerifier(ctx, srv.URL, testClient, srv.Client(), slog.New(slog.NewTextHandler(io.Discard, nil)))
	p, err := v.Verify(ctx, got.res.AccessToken)
	if err != nil {
		t.Fatalf("the API refuses the token: %v", err)
	}
	if p.TenantID != bob.TenantID || p.ObjectID != bob.ObjectID || p.ClientApp != testClient {
		t.Errorf("principal %+v", p)
	}

	// Graph's Mail.Read, not consented: refused without a person.
	if _, err := app.AcquireTokenSilent(ctx, []string{mailReadScope}, public.WithSilentAccount(got.res.Account)); err == nil || !strings.Contains(err.Error(), "AADSTS65001") {
		t.Errorf("silent Mail.Read without consent: %v, want AADSTS65001", err)
	}
	// A device code sign-in asking for it: approving consents.
	dc, err = app.AcquireTokenByDeviceCode(ctx, []string{mailReadScope})
	if err != nil {
		t.Fatal(err)
	}
	if status, body := answerDevice(t, srv, `{"user_code":"`+dc.Result.UserCode+`","user":"bob"}`); status != 200 {
		t.Fatalf("approve Mail.Read: %d %v", status, body)
	}
	res, err := dc.AuthenticationResult(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c := claimsOf(t, res.AccessToken); c["aud"] != GraphResource || !slices.Contains(strings.Fields(c["scp"].(string)), PermissionMailRead) {
		t.Errorf("Graph token claims %v", c)
	}
	if !slices.Contains(iss.Consented(bob.TenantID, bob.ObjectID), PermissionMailRead) {
		t.Error("approving did not consent to Mail.Read")
	}
	// The refresh token (no secret: a public client) redeems for a
	// permission consented since.
	iss.Consent(bob.TenantID, bob.ObjectID, PermissionMailReadBasic)
	res, err = app.AcquireTokenSilent(ctx, []string{readScope}, public.WithSilentAccount(res.Account))
	if err != nil {
		t.Fatalf("silent Mail.ReadBasic after consent: %v", err)
	}
	if scp := claimsOf(t, res.AccessToken)["scp"]; scp != "Mail.Read Mail.ReadBasic Mail.Send" {
		t.Errorf("scp = %v", scp)
	}
}

// TestDeviceCodeErrors: each error of the devicecode and token
// endpoints, in Entra's shape.
func TestDeviceCodeErrors(t *testing.T) {
	iss, srv := newTestIssuer(t)
	alice, _ := FindUser("alice")
	ask := url.Values{"client_id": {testClient}, "scope": {apiScope + " openid offline_access"}}
	for _, c := range []struct {
		name, tenant string
		form         url.Values
		code         string
		aadsts       float64
	}{
		{"unknown client", ContosoTenant, with(ask, "client_id", "11111111-0000-4000-8000-000000000000"), "unauthorized_client", 700016},
		{"no client", ContosoTenant, with(ask, "client_id", ""), "invalid_request", 900144},
		{"no scope", ContosoTenant, with(ask, "scope", ""), "invalid_request", 900144},
		{"a scope not ours", ContosoTenant, with(ask, "scope", "https://graph.microsoft.com/User.Read"), "invalid_scope", 70011},
		{"only OpenID scopes", ContosoTenant, with(ask, "scope", "openid profile offline_access"), "invalid_scope", 70011},
		{"personal accounts", "consumers", ask, "invalid_request", 9002332},
		{"unknown tenant", "0c0c0c0c-0000-4000-8000-000000000000", ask, "invalid_request", 90002},
	} {
		status, body := askDevice(t, srv, c.tenant, c.form)
		wantTokenError(t, "devicecode: "+c.name, status, body, 400, c.code, c.aadsts)
	}

	resp, err := srv.Client().Get(srv.URL + "/" + ContosoTenant + "/v2.0/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var conf map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&conf)
	resp.Body.Close()
	if want := srv.URL + "/" + ContosoTenant + "/oauth2/v2.0/devicecode"; conf["device_authorization_endpoint"] != want {
		t.Errorf("device_authorization_endpoint = %v, want %s", conf["device_authorization_endpoint"], want)
	}

	dev, user := newDevice(t, srv, ContosoTenant, apiScope)
	for n := range 2 {
		status, body := post(t, srv, ContosoTenant, pollForm(dev))
		wantTokenError(t, "before an answer, poll "+string(rune('1'+n)), status, body, 400, "authorization_pending", 70016)
	}
	for _, c := range []struct {
		name, tenant string
		form         url.Values
		status       int
		code         string
		aadsts       float64
	}{
		{"unknown device code", ContosoTenant, pollForm("nope"), 400, "bad_verification_code", 70018},
		{"another tenant than asked", FabrikamTenant, pollForm(dev), 400, "bad_verification_code", 70018},
		{"another client", ContosoTenant, with(pollForm(dev), "client_id", "11111111-0000-4000-8000-000000000000"), 400, "unauthorized_client", 700016},
		{"no device code", ContosoTenant, with(pollForm(dev), "device_code", ""), 400, "invalid_request", 900144},
		{"a wrong secret", ContosoTenant, with(pollForm(dev), "client_secret", "nope"), 401, "invalid_client", 7000215},
	} {
		status, body := post(t, srv, c.tenant, c.form)
		wantTokenError(t, c.name, status, body, c.status, c.code, c.aadsts)
	}

	// Where the device asked for Contoso, a Fabrikam user cannot approve.
	if status, body := answerDevice(t, srv, `{"user_code":"`+user+`","user":"carol"}`); status != 403 || !strings.Contains(body["error"].(string), "Contoso") {
		t.Errorf("carol approves a Contoso sign-in: %d %v", status, body)
	}
	if status, body := answerDevice(t, srv, `{"user_code":"ZZZZZZZZZ","user":"alice"}`); status != 404 {
		t.Errorf("an unknown user code: %d %v", status, body)
	}
	if status, body := answerDevice(t, srv, `{"user_code":"`+user+`","user":"alice"}`); status != 200 {
		t.Fatalf("approve: %d %v", status, body)
	}
	if status, body := answerDevice(t, srv, `{"user_code":"`+user+`","user":"bob"}`); status != 409 {
		t.Errorf("a code approved already: %d %v", status, body)
	}
	status, body := post(t, srv, ContosoTenant, pollForm(dev))
	if status != 200 {
		t.Fatalf("after approval: %d %v", status, body)
	}
	at := claimsOf(t, body["access_token"])
	if at["aud"] != testClient || at["scp"] != "access_as_user" || at["oid"] != alice.ObjectID || at["azp"] != testClient || at["iss"] != srv.URL+"/"+ContosoTenant+"/v2.0" {
		t.Errorf("access token claims %v", at)
	}
	if id := claimsOf(t, body["id_token"]); id["oid"] != alice.ObjectID || id["aud"] != testClient {
		t.Errorf("ID token claims %v", id)
	}
	if body["refresh_token"] == nil || body["client_info"] == nil || body["scope"] != apiScope+" openid profile offline_access" || body["token_type"] != "Bearer" {
		t.Errorf("token answer %v", body)
	}
	status, again := post(t, srv, ContosoTenant, pollForm(dev))
	wantTokenError(t, "a code redeemed already", status, again, 400, "bad_verification_code", 70018)

	// The public client's refresh token: no secret, no browser.
	rt := body["refresh_token"].(string)
	refresh := url.Values{"grant_type": {"refresh_token"}, "client_id": {testClient}, "refresh_token": {rt}, "scope": {sendScope + " openid offline_access"}}
	status, body = post(t, srv, ContosoTenant, refresh)
	if status != 200 || scpOf(t, body) != "Mail.Send" || body["refresh_token"] == nil {
		t.Fatalf("public refresh for Graph: %d %v", status, body)
	}
	if status, body := post(t, srv, "organizations", with(refresh, "scope", apiScope)); status != 200 || claimsOf(t, body["access_token"])["aud"] != testClient {
		t.Errorf("public refresh for our API: %d %v", status, body)
	}
	status, body = post(t, srv, ContosoTenant, with(refresh, "scope", readScope))
	wantConsentRequired(t, "public refresh for a permission not consented", status, body)
	iss.Revoke(alice.TenantID, alice.ObjectID)
	status, body = post(t, srv, ContosoTenant, refresh)
	wantTokenError(t, "public refresh after a revocation", status, body, 400, "invalid_grant", 50173)

	// Declined.
	dev, user = newDevice(t, srv, ContosoTenant, apiScope)
	if status, body := answerDevice(t, srv, `{"user_code":"`+user+`","decline":true}`); status != 200 {
		t.Fatalf("decline: %d %v", status, body)
	}
	status, body = post(t, srv, ContosoTenant, pollForm(dev))
	wantTokenError(t, "declined", status, body, 400, "authorization_declined", 65004)

	// Expired: 15 minutes after it was asked for.
	dev, user = newDevice(t, srv, ContosoTenant, apiScope)
	iss.mu.Lock()
	iss.devices[dev].expires = time.Now().Add(-time.Second)
	iss.mu.Unlock()
	if status, body := answerDevice(t, srv, `{"user_code":"`+user+`","user":"alice"}`); status != 410 {
		t.Errorf("approve an expired code: %d %v", status, body)
	}
	status, body = post(t, srv, ContosoTenant, pollForm(dev))
	wantTokenError(t, "expired", status, body, 400, "expired_token", 70019)
}

// TestDeviceAutoApproval: DeviceUsers approve codes as they are asked
// for, in order, consenting to what each asks; one who may not sign in
// where the device asked, or may not consent, declines it; once all
// have, codes wait for a person.
func TestDeviceAutoApproval(t *testing.T) {
	iss, srv := newTestIssuer(t)
	iss.DeviceUsers = []string{"alice", "bob", "carol", "bob", "carol"}
	iss.RequireAdminConsent(FabrikamTenant)
	bob, _ := FindUser("bob")
	carol, _ := FindUser("carol")
	redeem := func(what, tenant, dev string) map[string]any {
		t.Helper()
		status, body := post(t, srv, tenant, pollForm(dev))
		if status != 200 {
			t.Fatalf("%s: %d %v", what, status, body)
		}
		return body
	}
	first, _ := newDevice(t, srv, "organizations", apiScope)
	second, _ := newDevice(t, srv, "organizations", apiScope)
	third, _ := newDevice(t, srv, ContosoTenant, apiScope)         // carol is Fabrikam's
	fourth, _ := newDevice(t, srv, "organizations", mailReadScope) // bob consents
	fifth, _ := newDevice(t, srv, "organizations", mailReadScope)  // carol's tenant lets only its administrator consent
	sixth, _ := newDevice(t, srv, "organizations", apiScope)

	for n, c := range []struct {
		dev, tenant, login string
	}{{first, "organizations", "alice"}, {second, "organizations", "bob"}} {
		u, _ := FindUser(c.login)
		if oid := claimsOf(t, redeem("code "+string(rune('1'+n)), c.tenant, c.dev)["access_token"])["oid"]; oid != u.ObjectID {
			t.Errorf("code %d approved as %v, want %s", n+1, oid, c.login)
		}
	}
	status, body := post(t, srv, ContosoTenant, pollForm(third))
	wantTokenError(t, "a Fabrikam user for a Contoso sign-in", status, body, 400, "authorization_declined", 50020)
	if c := claimsOf(t, redeem("Mail.Read as bob", "organizations", fourth)["access_token"]); c["oid"] != bob.ObjectID || !strings.Contains(c["scp"].(string), PermissionMailRead) {
		t.Errorf("bob's Graph token %v", c)
	}
	if !slices.Contains(iss.Consented(bob.TenantID, bob.ObjectID), PermissionMailRead) {
		t.Error("bob's automatic approval did not consent")
	}
	status, body = post(t, srv, "organizations", pollForm(fifth))
	wantTokenError(t, "carol, where only the administrator consents", status, body, 400, "authorization_declined", 90094)
	if slices.Contains(iss.Consented(carol.TenantID, carol.ObjectID), PermissionMailRead) {
		t.Error("carol consented where only the administrator may")
	}
	status, body = post(t, srv, "organizations", pollForm(sixth))
	wantTokenError(t, "after every device user approved", status, body, 400, "authorization_pending", 70016)

	if _, err := ParseDeviceUsers(" alice, bob ,"); err != nil {
		t.Errorf("ParseDeviceUsers: %v", err)
	}
	if _, err := ParseDeviceUsers("alice,dave"); err == nil || !strings.Contains(err.Error(), "dave") || !strings.Contains(err.Error(), "carol") {
		t.Errorf("an unknown device user: %v", err)
	}
}

// TestDevicePage: a person types the code (any case, with spaces) and
// picks the user; a wrong or foreign sign-in is explained on the page; a
// Graph permission not consented is asked for on the consent page;
// cancelling declines the code.
func TestDevicePage(t *testing.T) {
	iss, srv := newTestIssuer(t)
	alice, _ := FindUser("alice")
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Transport: srv.Client().Transport, Jar: jar}
	submit := func(form url.Values) (int, string) {
		t.Helper()
		resp, err := c.PostForm(srv.URL+"/dev/device", form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	resp, err := c.Get(srv.URL + "/dev/device")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(b)
	if resp.StatusCode != 200 || !strings.Contains(page, `name="user_code"`) || !strings.Contains(page, `value="carol"`) || !strings.Contains(page, "Accept") || !strings.Contains(page, "Cancel") {
		t.Fatalf("device page: %d\n%s", resp.StatusCode, page)
	}

	if status, page := submit(url.Values{"user_code": {"ZZZZZZZZZ"}, "user": {"alice"}, "step": {"accept"}}); status != 404 || !strings.Contains(page, "No sign-in is waiting for that code") {
		t.Errorf("a wrong code: %d\n%s", status, page)
	}
	dev, user := newDevice(t, srv, FabrikamTenant, apiScope)
	if status, page := submit(url.Values{"user_code": {user}, "user": {"alice"}, "step": {"accept"}}); status != 403 || !strings.Contains(page, "Pick a user of Fabrikam") {
		t.Errorf("alice for a Fabrikam sign-in: %d\n%s", status, page)
	}
	if status, page := submit(url.Values{"user_code": {user}, "user": {"carol"}, "step": {"cancel"}}); status != 200 || !strings.Contains(page, "Sign-in cancelled") {
		t.Errorf("cancel: %d\n%s", status, page)
	}
	status, body := post(t, srv, FabrikamTenant, pollForm(dev))
	wantTokenError(t, "cancelled at the page", status, body, 400, "authorization_declined", 65004)

	// Mail.Read, not consented: the consent page, then the answer.
	typed := func(code string) string { return strings.ToLower(code[:4] + " " + code[4:]) }
	dev, user = newDevice(t, srv, "organizations", mailReadScope)
	status, page = submit(url.Values{"user_code": {typed(user)}, "user": {"alice"}, "step": {"accept"}})
	if status != 200 || !strings.Contains(page, "Permissions requested") || !strings.Contains(page, "Read user mail") || !strings.Contains(page, `name="user_code" value="`+user+`"`) {
		t.Fatalf("consent page: %d\n%s", status, page)
	}
	if slices.Contains(iss.Consented(alice.TenantID, alice.ObjectID), PermissionMailRead) {
		t.Error("consent recorded before the person accepted")
	}
	status, page = submit(url.Values{"user_code": {user}, "user": {"alice"}, "consent": {"accept"}})
	if status != 200 || !strings.Contains(page, "You are signed in") || !strings.Contains(page, alice.Email) {
		t.Fatalf("accepted: %d\n%s", status, page)
	}
	if !slices.Contains(iss.Consented(alice.TenantID, alice.ObjectID), PermissionMailRead) {
		t.Error("accepting did not consent")
	}
	status, body = post(t, srv, "organizations", pollForm(dev))
	if status != 200 || !strings.Contains(scpOf(t, body), PermissionMailRead) {
		t.Errorf("after the page: %d %v", status, body)
	}

	// Declining on the consent page declines the code.
	iss.Withdraw(alice.TenantID, alice.ObjectID, PermissionMailRead)
	dev, user = newDevice(t, srv, "organizations", mailReadScope)
	if status, page := submit(url.Values{"user_code": {user}, "user": {"alice"}, "consent": {"decline"}}); status != 200 || !strings.Contains(page, "Sign-in cancelled") {
		t.Errorf("consent declined: %d\n%s", status, page)
	}
	status, body = post(t, srv, "organizations", pollForm(dev))
	wantTokenError(t, "consent declined", status, body, 400, "authorization_declined", 65004)
}
