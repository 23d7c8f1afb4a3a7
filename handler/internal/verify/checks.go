package verify

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"regexp"
	"strings"
)

// The checks' names, as printed and as prerequisites.
const (
	cApp      = "the app answers"
	cSender   = "the sender signs in and the app can send for them"
	cCampaign = "a campaign is sent, started by email as a person would"
	cReceived = "the recipient receives each message"
	cHeaders  = "List-Unsubscribe and List-Unsubscribe-Post reach the recipient"
	cDKIM     = "DKIM covers the unsubscribe headers"
	cIdentity = "the message keeps our Message-ID, and Sent Items holds it"
	cTracking = "an open and a click are recorded, people apart from machines"
	cOneClick = "one-click unsubscribe (RFC 8058) puts the address on the list"
	cMailto   = "the mailto unsubscribe puts the address on the list"
	cSkipped  = "the next campaign skips an unsubscribed address"
	cReplies  = "a reply and a bounce reach the report (mailbox reading)"
	cInfra    = "backups, timers and Key Vault references"
	cDeletion = "the campaigns and the test account are deleted"
)

func checks() []check {
	return []check{
		{name: cApp, run: checkApp},
		{name: cSender, needs: []string{cApp}, run: checkSender},
		{name: cCampaign, needs: []string{cSender}, run: checkCampaign},
		{name: cReceived, needs: []string{cCampaign}, run: checkReceived},
		{name: cHeaders, needs: []string{cReceived}, run: checkHeaders},
		{name: cDKIM, needs: []string{cHeaders}, run: checkDKIM},
		{name: cIdentity, needs: []string{cReceived}, run: checkIdentity},
		{name: cTracking, needs: []string{cReceived}, run: checkTracking},
		{name: cOneClick, needs: []string{cHeaders}, run: checkOneClick},
		{name: cMailto, needs: []string{cHeaders}, run: checkMailto},
		{name: cSkipped, needs: []string{cCampaign}, run: checkSkipped},
		{name: cReplies, needs: []string{cReceived}, run: checkReplies},
		{name: cInfra, needs: []string{cSender}, run: checkInfra},
		{name: cDeletion, needs: []string{cSender}, run: checkDeletion},
	}
}

var settingsMeta = regexp.MustCompile(`<meta name="mm-settings" content="([^"]*)"`)

// checkApp: the app serves its page (with the sign-in settings it gives
// the browser) and its API.
func checkApp(ctx context.Context, r *run) Result {
	req, err := http.NewRequestWithContext(ctx, "GET", strings.TrimRight(r.BaseURL, "/")+"/", nil)
	if err != nil {
		return fail("check the base URL: it must be the app's https address", err.Error())
	}
	resp, err := r.HTTP.Do(req)
	if err != nil {
		return fail("check the base URL and that the function app is running", err.Error())
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	m := settingsMeta.FindSubmatch(raw)
	if resp.StatusCode != 200 || m == nil {
		return fail("the app's page did not answer as it should: look at the function app's logs", fmt.Sprintf("GET / answered %d", resp.StatusCode))
	}
	var set struct{ ClientID, Authority string }
	if err := json.Unmarshal([]byte(html.UnescapeString(string(m[1]))), &set); err != nil || set.ClientID == "" || set.Authority == "" {
		return fail("the page's sign-in settings are missing: check ENTRA_CLIENT_ID and ENTRA_AUTHORITY", "settings unreadable")
	}
	r.clientID, r.authority = set.ClientID, set.Authority
	if c, ok := r.Signer.(interface {
		Configure(clientID, authority string)
	}); ok {
		c.Configure(set.ClientID, set.Authority)
	}
	if err := r.call(ctx, "GET", strings.TrimRight(r.BaseURL, "/")+"/v1/openapi.json", "", "", nil, nil); err != nil {
		return fail("the API did not answer: look at the function app's logs", err.Error())
	}
	return pass("GET / answered 200 with the sign-in settings (application "+set.ClientID+", authority "+set.Authority+")", "GET /v1/openapi.json answered 200")
}

// checkSender: the sender signs in (device code), the app installs and
// stores its on-behalf-of grant to send.
func checkSender(ctx context.Context, r *run) Result {
	tok, err := r.Signer.Token(ctx, "sender", []string{"api://" + r.clientID + "/access_as_user"})
	if err != nil {
		return fail("the sender could not sign in: check the app registration's redirect and public client settings (infra/README.md)", err.Error())
	}
	r.senderAPI = tok
	var inst struct {
		Account struct{ Email string }            `json:"account"`
		Graph   struct{ Consent, Message string } `json:"graph"`
	}
	if err := r.api(ctx, "POST", "/v1/install", map[string]string{"host": "verify", "platform": "verify-deployment"}, &inst); err != nil {
		return fail("the install failed: look at the function app's logs", err.Error())
	}
	if inst.Graph.Consent != "granted" {
		return fail("grant the app the delegated Mail.Send permission (infra/README.md, first deployment)", "install: graph consent "+inst.Graph.Consent+": "+inst.Graph.Message)
	}
	return pass("signed in as the sender; POST /v1/install answered with the permission to send granted and stored")
}
