package tracking

import (
	"encoding/base64"
	"net/mail"
	"strings"
	"testing"

	"mailmerge/handler/internal/account"
)

func testKeys(t *testing.T, s string) Keys {
	t.Helper()
	ks, err := ParseKeys(s)
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

var (
	secretA = base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	secretB = base64.StdEncoding.EncodeToString([]byte("fedcba9876543210fedcba9876543210"))
)

const campaignID = "vpesgnag4anvpt7rjbfeu91ho8"

func TestTokensRoundTripAndRotate(t *testing.T) {
	old := testKeys(t, "1:"+secretA)
	rotated := testKeys(t, "2:"+secretB+",1:"+secretA)
	for _, want := range []Target{
		{Kind: Open, CampaignID: campaignID, Row: 2},
		{Kind: Unsubscribe, Account: account.Key{TenantID: "8f0b5f36-4c8e-4d8a-9b0b-2a6f7e6d1c11", ObjectID: "a11ce000-0000-4000-8000-00000000a001"}, CampaignID: campaignID, Row: 100_001},
		{Kind: Unsubscribe, Account: account.Key{TenantID: "Contoso-Tenant", ObjectID: "not-a-guid"}, CampaignID: campaignID, Row: 3},
		{Kind: Unsubscribe, Account: account.Key{TenantID: "8f0b5f36-4c8e-4d8a-9b0b-2a6f7e6d1c11", ObjectID: "a11ce000-0000-4000-8000-00000000a001"}, CampaignID: campaignID, Row: 4,
			Names: Names{Sender: "alice@contoso.example", Recipient: "j•••@fabrikam.example", Others: true}},
		{Kind: Click, CampaignID: campaignID, Row: 7, Link: 3, URL: "https://contoso.example/offer?a=1&b=%C3%A9#top"},
	} {
		tok, err := old.Sign(want)
		if err != nil {
			t.Fatal(err)
		}
		// Mail already sent keeps working after the rotation.
		for _, ks := range []Keys{old, rotated} {
			got, err := ks.Verify(tok, want.Kind)
			if err != nil || got != want {
				t.Errorf("verify %q: %+v %v, want %+v", tok, got, err, want)
			}
		}
		// The newest key signs; the old keys alone do not know it.
		tok2, _ := rotated.Sign(want)
		if _, err := old.Verify(tok2, want.Kind); err != ErrInvalid {
			t.Errorf("a token of key 2 verified with key 1 only: %v", err)
		}
		// A token of one kind is no token of another.
		for _, k := range []Kind{Open, Click, Unsubscribe} {
			if k != want.Kind {
				if _, err := rotated.Verify(tok2, k); err != ErrInvalid {
					t.Errorf("a %c token read as %c", want.Kind, k)
				}
			}
		}
	}
}

// TestForgedTokens: whatever is changed, cut or made up, nothing verifies
// and no URL comes out.
func TestForgedTokens(t *testing.T) {
	ks := testKeys(t, "1:"+secretA)
	tok, _ := ks.Sign(Target{Kind: Click, CampaignID: campaignID, Row: 2, Link: 0, URL: "https://contoso.example/"})
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	changedURL := append([]byte(nil), raw...)
	copy(changedURL[len(changedURL)-16-9:], "evil.test")
	flipped := append([]byte(nil), raw...)
	flipped[len(flipped)-1] ^= 1
	otherKey, _ := testKeys(t, "1:"+secretB).Sign(Target{Kind: Click, CampaignID: campaignID, Row: 2, URL: "https://evil.test/"})
	for name, bad := range map[string]string{
		"changed URL":     base64.RawURLEncoding.EncodeToString(changedURL),
		"flipped MAC":     base64.RawURLEncoding.EncodeToString(flipped),
		"truncated":       tok[:len(tok)-5],
		"another key":     otherKey,
		"empty":           "",
		"not base64":      "%%%",
		"padding":         tok + "==",
		"unknown key id":  base64.RawURLEncoding.EncodeToString(append([]byte{'c', 9}, raw[2:]...)),
		"javascript: URL": mustSignRaw(t, ks, "javascript:alert(1)"),
	} {
		if got, err := ks.Verify(bad, Click); err != ErrInvalid || got.URL != "" {
			t.Errorf("%s: %+v %v", name, got, err)
		}
	}
}

// mustSignRaw signs a click to a URL Sign would take but Verify refuses.
func mustSignRaw(t *testing.T, ks Keys, url string) string {
	t.Helper()
	tok, err := ks.Sign(Target{Kind: Click, CampaignID: campaignID, Row: 2, URL: url})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestTokenLength: a rewritten link grows by the base, the route and
// about 60 characters plus a third of the URL (base64).
func TestTokenLength(t *testing.T) {
	ks := testKeys(t, "1:"+secretA)
	url := "https://contoso.example/products/spring-offer?utm_source=mail"
	tok, _ := ks.Sign(Target{Kind: Click, CampaignID: campaignID, Row: 12345, Link: 12, URL: url})
	if grow := len(tok) - len(url); grow > 80 {
		t.Errorf("the token is %d characters longer than its URL", grow)
	}
	open, _ := ks.Sign(Target{Kind: Open, CampaignID: campaignID, Row: 12345})
	if len(open) > 60 {
		t.Errorf("an open token is %d characters", len(open))
	}
}

func TestParseKeys(t *testing.T) {
	for _, bad := range []string{"", "x:" + secretA, "0:" + secretA, "256:" + secretA, "1:c2hvcnQ=", "1:" + secretA + ",1:" + secretB, "01:" + secretA} {
		if _, err := ParseKeys(bad); err == nil {
			t.Errorf("ParseKeys(%q) accepted", bad)
		}
	}
	if ks := testKeys(t, " 2:"+secretB+" , 1:"+secretA); len(ks) != 2 || ks[0].ID != 2 || !strings.HasPrefix(string(ks[1].Secret), "0123") {
		t.Errorf("keys %+v", ks)
	}
}

// TestTokensRevealNothing: a recipient who decodes the URL's token finds
// neither the owner's ids, nor the campaign, nor their row, nor the link's
// target; and two rows' tokens share nothing but the key id.
func TestTokensRevealNothing(t *testing.T) {
	ks := testKeys(t, "1:"+secretA)
	owner := account.Key{TenantID: "8f0b5f36-4c8e-4d8a-9b0b-2a6f7e6d1c11", ObjectID: "a11ce000-0000-4000-8000-00000000a001"}
	id, _ := campaignIDs.DecodeString(strings.ToUpper(campaignID))
	tenant, _ := guidBytes(owner.TenantID)
	object, _ := guidBytes(owner.ObjectID)
	for _, tg := range []Target{
		{Kind: Open, CampaignID: campaignID, Row: 2},
		{Kind: Unsubscribe, Account: owner, CampaignID: campaignID, Row: 2},
		{Kind: Unsubscribe, Account: owner, CampaignID: campaignID, Row: 2, Names: Names{Sender: "alice@contoso.example", Recipient: "j•••@contoso.example"}},
		{Kind: Click, CampaignID: campaignID, Row: 2, Link: 1, URL: "https://contoso.example/offer"},
	} {
		tok, err := ks.Sign(tg)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := base64.RawURLEncoding.DecodeString(tok)
		for name, secret := range map[string][]byte{"campaign id": id[:6], "tenant": tenant[:6], "object": object[:6], "URL or address": []byte("contoso")} {
			if strings.Contains(string(raw), string(secret)) || strings.Contains(tok, campaignID[:8]) {
				t.Errorf("a %c token shows the %s", tg.Kind, name)
			}
		}
		other := tg
		other.Row = 3
		tok3, _ := ks.Sign(other)
		raw3, _ := base64.RawURLEncoding.DecodeString(tok3)
		same := 0
		for i := 1; i < min(len(raw), len(raw3)); i++ {
			if raw[i] == raw3[i] {
				same++
			}
		}
		// Random bytes agree about one time in 256.
		if same > 4 {
			t.Errorf("the %c tokens of rows 2 and 3 agree in %d of %d bytes", tg.Kind, same, len(raw))
		}
	}
}

// BenchmarkTokens: making a click token (once per link per row sent) and
// reading an open token (once per pixel hit).
func BenchmarkTokens(b *testing.B) {
	ks, err := ParseKeys("1:" + secretA)
	if err != nil {
		b.Fatal(err)
	}
	owner := account.Key{TenantID: "8f0b5f36-4c8e-4d8a-9b0b-2a6f7e6d1c11", ObjectID: "a11ce000-0000-4000-8000-00000000a001"}
	click := Target{Kind: Click, CampaignID: campaignID, Row: 12345, Link: 3, URL: "https://contoso.example/products/spring-offer?utm_source=mail"}
	b.Run("sign-click", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ks.Sign(click); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sign-unsubscribe", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ks.Sign(Target{Kind: Unsubscribe, Account: owner, CampaignID: campaignID, Row: 12345}); err != nil {
				b.Fatal(err)
			}
		}
	})
	open, _ := ks.Sign(Target{Kind: Open, CampaignID: campaignID, Row: 12345})
	b.Run("verify-open", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ks.Verify(open, Open); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestMask: the first character, "•••" and the domain; the same again
// for a masked address; nothing for what is no address.
func TestMask(t *testing.T) {
	for in, want := range map[string]string{
		"jane.doe@contoso.com": "j•••@contoso.com",
		"j@contoso.com":        "j•••@contoso.com",
		"j•••@contoso.com":     "j•••@contoso.com",
		"Émile@exemple.fr":     "É•••@exemple.fr",
		`"a@b"@quoted.example`: `"•••@quoted.example`,
		"no-at-sign":           "",
		"@contoso.com":         "",
		"jane@":                "",
		"\xffjane@contoso.com": "",
	} {
		if got := Mask(in); got != want {
			t.Errorf("Mask(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestUnsubscribeNames: an unsubscribe token carries who sent the
// message and, masked, to whom; a token made before names were carried
// still verifies, naming no one; the names cannot be changed; they cost
// about the sender's address and the recipient's domain (nothing for a
// domain the sender shares); open and click tokens stay as they were.
func TestUnsubscribeNames(t *testing.T) {
	ks := testKeys(t, "1:"+secretA)
	owner := account.Key{TenantID: "8f0b5f36-4c8e-4d8a-9b0b-2a6f7e6d1c11", ObjectID: "a11ce000-0000-4000-8000-00000000a001"}
	to := []*mail.Address{{Name: "Jane", Address: "jane.doe@fabrikam.example"}, {Address: "joe@fabrikam.example"}}
	for _, tc := range []struct {
		name   string
		to, cc []*mail.Address
		want   Names
	}{
		{"one To address", to[:1], nil, Names{Sender: "alice@contoso.example", Recipient: "j•••@fabrikam.example"}},
		{"two To addresses", to, nil, Names{Sender: "alice@contoso.example", Recipient: "j•••@fabrikam.example", Others: true}},
		{"a CC address", to[:1], to[1:], Names{Sender: "alice@contoso.example", Recipient: "j•••@fabrikam.example", Others: true}},
		{"a colleague", []*mail.Address{{Address: "Bob@Contoso.Example"}}, nil, Names{Sender: "alice@contoso.example", Recipient: "B•••@Contoso.Example"}},
	} {
		n := NamesOf(" Alice@Contoso.example", tc.to, tc.cc)
		if n != tc.want {
			t.Errorf("%s: NamesOf = %+v, want %+v", tc.name, n, tc.want)
		}
		tok, err := ks.Sign(Target{Kind: Unsubscribe, Account: owner, CampaignID: campaignID, Row: 7, Names: n})
		if err != nil {
			t.Fatal(err)
		}
		got, err := ks.Verify(tok, Unsubscribe)
		want := tc.want
		if tc.name == "a colleague" {
			want.Recipient = "B•••@contoso.example" // the sender's domain, as the sender writes it
		}
		if err != nil || got.Names != want || got.Account != owner || got.Row != 7 {
			t.Errorf("%s: %+v %v, want names %+v", tc.name, got, err, want)
		}
	}

	// A token of mail sent before names were carried: the same bytes as
	// then (golden), verified naming no one.
	old := Target{Kind: Unsubscribe, Account: owner, CampaignID: campaignID, Row: 7}
	tok, err := ks.Sign(old)
	if err != nil {
		t.Fatal(err)
	}
	const golden = "AcDrcrEmBkzs6-6nmvhQMG3OUlMf4Bw5Q2uVS7eYjqqBxStvWj2NYqAskJkVnt_4UQD7A-SPtIep8wDoSHlHg8eJkw"
	if tok != golden {
		t.Errorf("a token without names is %s, want it as it was made before names: %s", tok, golden)
	}
	if got, err := ks.Verify(golden, Unsubscribe); err != nil || got != old || !got.Names.IsZero() {
		t.Errorf("an older token: %+v %v", got, err)
	}

	// Changed names do not verify.
	named := Target{Kind: Unsubscribe, Account: owner, CampaignID: campaignID, Row: 7,
		Names: Names{Sender: "alice@contoso.example", Recipient: "j•••@fabrikam.example"}}
	tok, _ = ks.Sign(named)
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	for i := len(raw) - 25; i < len(raw); i++ {
		bad := append([]byte(nil), raw...)
		bad[i] ^= 0x20
		if got, err := ks.Verify(base64.RawURLEncoding.EncodeToString(bad), Unsubscribe); err != ErrInvalid || !got.Names.IsZero() {
			t.Errorf("byte %d changed: %+v %v", i, got, err)
		}
	}

	// What the names cost.
	grow := len(tok) - len(golden)
	if max := (1+1+len("alice@contoso.example")+1+len("fabrikam.example"))*4/3 + 2; grow > max {
		t.Errorf("the names grow the token by %d characters, over %d", grow, max)
	}
	colleague, _ := ks.Sign(Target{Kind: Unsubscribe, Account: owner, CampaignID: campaignID, Row: 7,
		Names: Names{Sender: "alice@contoso.example", Recipient: "b•••@contoso.example"}})
	if len(colleague) >= len(tok) {
		t.Errorf("a colleague's token (%d) is not shorter than another domain's (%d)", len(colleague), len(tok))
	}
	t.Logf("unsubscribe token: %d characters without names, %d with, %d for a colleague", len(golden), len(tok), len(colleague))

	// Names are refused where they cannot be, and in no other kind.
	for _, bad := range []Names{{Sender: "alice@contoso.example", Recipient: "no address"}, {Sender: strings.Repeat("a", 250) + "@x.example"}} {
		if _, err := ks.Sign(Target{Kind: Unsubscribe, Account: owner, CampaignID: campaignID, Row: 7, Names: bad}); err == nil {
			t.Errorf("signed names %+v", bad)
		}
	}
	open, _ := ks.Sign(Target{Kind: Open, CampaignID: campaignID, Row: 7, Names: named.Names})
	plain, _ := ks.Sign(Target{Kind: Open, CampaignID: campaignID, Row: 7})
	if open != plain {
		t.Error("an open token carries names")
	}
}
