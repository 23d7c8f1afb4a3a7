package tracking

import (
	"strings"

	"mailmerge/handler/internal/account"
)

// Links makes the URLs of the open pixel, the tracked links and the
// unsubscribe page of one row's message.
type Links struct {
	// Base is where recipients reach the app (PUBLIC_BASE_URL).
	Base string
	Keys Keys
	// Inbound is the Postmark inbound address (INBOUND_ADDRESS), at
	// which a message's unsubscribe address is a plus-address.
	Inbound string
	// Names are what the message's unsubscribe page shows (WithNames).
	Names Names
}

// WithNames are l for one message, whose unsubscribe page shows n.
func (l Links) WithNames(n Names) Links {
	l.Names = n
	return l
}

// url is Base + "/" + route + "/" + the token of t ("" if t cannot be
// signed).
func (l Links) url(route string, t Target) string {
	tok, err := l.Keys.Sign(t)
	if err != nil {
		return ""
	}
	return strings.TrimRight(l.Base, "/") + "/" + route + "/" + tok
}

// Unsubscribe is the row's unsubscribe page, which shows l's names.
func (l Links) Unsubscribe(k account.Key, campaignID string, row int) string {
	return l.url("u", Target{Kind: Unsubscribe, Account: k, CampaignID: campaignID, Row: row, Names: l.Names})
}

// UnsubscribeAddress is the address whose mail unsubscribes the
// recipients of the row's message (List-Unsubscribe's mailto): the
// inbound address plus "u-" and the message's unsubscribe ID; "" without
// an inbound address.
func (l Links) UnsubscribeAddress(k account.Key, campaignID string, row int) string {
	local, domain, ok := strings.Cut(l.Inbound, "@")
	ids := l.Keys.UnsubscribeIDs(k, campaignID, row)
	if !ok || len(ids) == 0 {
		return ""
	}
	return local + "+" + UnsubscribePrefix + ids[0] + "@" + domain
}

// Open is the row's open pixel.
func (l Links) Open(campaignID string, row int) string {
	return l.url("o", Target{Kind: Open, CampaignID: campaignID, Row: row})
}

// Click is the tracked form of link number link of the row's message,
// going to target; target itself when it is no http(s) URL.
func (l Links) Click(campaignID string, row, link int, target string) string {
	if !safeURL(target) {
		return target
	}
	if u := l.url("c", Target{Kind: Click, CampaignID: campaignID, Row: row, Link: link, URL: target}); u != "" {
		return u
	}
	return target
}

// UnsubscribeHeaders are a row's message's unsubscribe headers: RFC
// 8058's one-click (Gmail and Yahoo ask it of bulk senders), its https
// URL and that a POST to it unsubscribes; and RFC 2369's mailto, an
// address whose mail unsubscribes (Outlook.com and others act on it).
func (l Links) UnsubscribeHeaders(k account.Key, campaignID string, row int) map[string]string {
	u := l.Unsubscribe(k, campaignID, row)
	if u == "" {
		return nil
	}
	list := "<" + u + ">"
	if m := l.UnsubscribeAddress(k, campaignID, row); m != "" {
		list += ", <mailto:" + m + "?subject=unsubscribe>"
	}
	return map[string]string{"List-Unsubscribe": list, "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
}
