package grant_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/grant"
)

func readToken(g *grant.Grants, u account.Key) (string, error) {
	tok, err := g.Credential(u).GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{grant.MailReadBasic}})
	return tok.Token, err
}

// TestConfirmAndReadToken: before the person allowed Mail.ReadBasic,
// Confirm and a reading token are refused as not allowed (the app asks
// them), not as a lost grant, and sending goes on; once allowed, both
// work from the same grant, and sending's and reading's tokens are kept
// apart in memory; withdrawn, reading is refused again.
func TestConfirmAndReadToken(t *testing.T) {
	e, st, k := newEntra(t), openStore(t), newKey(t)
	u := user()
	ctx := context.Background()
	g := newGrants(t, e, st, k, false)
	a := e.assertion(t, u)
	if err := g.Capture(ctx, key(u), a); err != nil {
		t.Fatal(err)
	}

	err := g.Confirm(ctx, key(u), a, grant.MailReadBasic)
	if !grant.NotAllowed(err) || apperr.CodeOf(err) != grant.CodeScopeConsent || grant.Expired(err) {
		t.Fatalf("Confirm before consent = %v (%s), want %s", err, apperr.CodeOf(err), grant.CodeScopeConsent)
	}
	if strings.Contains(apperr.MessageOf(err), "AADSTS") {
		t.Errorf("the message shows Entra's code: %q", apperr.MessageOf(err))
	}
	_, err = readToken(g, key(u))
	if !grant.NotAllowed(err) || grant.Expired(err) {
		t.Fatalf("reading token before consent = %v, want not allowed (and not expired)", err)
	}
	send, err := getToken(g, key(u))
	if err != nil {
		t.Fatalf("sending after a refused reading token: %v", err)
	}

	e.iss.Consent(u.TenantID, u.ObjectID, "Mail.ReadBasic")
	if err := g.Confirm(ctx, key(u), a, grant.MailReadBasic); err != nil {
		t.Fatalf("Confirm after consent: %v", err)
	}
	read, err := readToken(g, key(u))
	if err != nil {
		t.Fatalf("reading token after consent: %v", err)
	}
	if scp, _ := claims(t, read)["scp"].(string); !strings.Contains(scp, "Mail.ReadBasic") {
		t.Errorf("reading token scp = %q", scp)
	}
	before := e.count(obo) + e.count(refresh)
	if again, err := getToken(g, key(u)); err != nil || again != send {
		t.Errorf("sending token after a reading token: %v, same as before: %v; want the one in memory", err, again == send)
	}
	if again, err := readToken(g, key(u)); err != nil || again != read {
		t.Errorf("reading token again: %v, same: %v", err, again == read)
	}
	if n := e.count(obo) + e.count(refresh) - before; n != 0 {
		t.Errorf("%d token requests for tokens in memory", n)
	}

	e.iss.Withdraw(u.TenantID, u.ObjectID, "Mail.ReadBasic")
	if err := g.Confirm(ctx, key(u), a, grant.MailReadBasic); apperr.CodeOf(err) != grant.CodeScopeConsent {
		t.Errorf("Confirm after withdrawal = %v", err)
	}
}

// TestConfirmInApplicationMode: the administrator grants the application
// permission; there is no person's consent to check.
func TestConfirmInApplicationMode(t *testing.T) {
	e := newEntra(t)
	g := newGrants(t, e, nil, nil, true)
	u := user()
	if !g.Application() {
		t.Fatal("Application() = false in application mode")
	}
	if err := g.Confirm(context.Background(), key(u), e.assertion(t, u), grant.MailReadBasic); err != nil {
		t.Errorf("Confirm in application mode: %v", err)
	}
	if n := e.count(obo); n != 0 {
		t.Errorf("%d on-behalf-of requests in application mode", n)
	}
}

// TestConfirmRefusedAssertion: an assertion Entra refuses (here, of
// another app) is not a want of consent.
func TestConfirmRefusedAssertion(t *testing.T) {
	e := newEntra(t)
	g := newGrants(t, e, openStore(t), newKey(t), false)
	u := user()
	c := e.iss.Claims(u, time.Now())
	c["aud"] = "00000000-0000-4000-8000-000000000000"
	foreign, _ := e.iss.Sign(c)
	err := g.Confirm(context.Background(), key(u), foreign, grant.MailReadBasic)
	if grant.NotAllowed(err) || !apperr.Is(err, apperr.Unauthorized) {
		t.Errorf("Confirm with a refused assertion = %v", err)
	}
}
