package postmark

import (
	"fmt"
	"strings"
)

// Verdict is the outcome of the sender checks.
type Verdict struct {
	OK     bool
	Reason string
}

// CheckSender tells whether the email really comes from its header From
// address, from what Postmark adds (it does not evaluate DMARC):
//   - X-Spam-Status: Yes refuses it;
//   - DKIM_VALID_AU among SpamAssassin's X-Spam-Tests (a valid signature of
//     the From domain) accepts it;
//   - otherwise Received-SPF must be "pass" for an envelope sender whose
//     domain is the From domain (SPF alone covers the envelope, not From).
func CheckSender(in Inbound) Verdict {
	if strings.EqualFold(strings.TrimSpace(in.Header("X-Spam-Status")), "yes") ||
		strings.HasPrefix(strings.ToLower(strings.TrimSpace(in.Header("X-Spam-Status"))), "yes,") {
		return Verdict{Reason: "the email was classified as spam"}
	}
	for _, test := range strings.Split(strings.Join(strings.Fields(in.Header("X-Spam-Tests")), ""), ",") {
		if strings.EqualFold(test, "DKIM_VALID_AU") {
			return Verdict{OK: true, Reason: "DKIM signature of the From domain"}
		}
	}
	from := domainOf(in.Sender())
	spf := in.Header("Received-SPF")
	result, rest, _ := strings.Cut(strings.TrimSpace(spf), " ")
	if !strings.EqualFold(result, "pass") {
		if spf == "" {
			return Verdict{Reason: "no SPF result and no DKIM signature of the From domain"}
		}
		return Verdict{Reason: fmt.Sprintf("SPF result %q and no DKIM signature of the From domain", strings.ToLower(result))}
	}
	envelope := domainOf(spfParam(rest, "envelope-from"))
	if envelope == "" || from == "" || !aligned(envelope, from) {
		return Verdict{Reason: "SPF passed for another domain than the From address's"}
	}
	return Verdict{OK: true, Reason: "SPF pass aligned with the From domain"}
}

// spfParam reads key=value (value possibly quoted) from a Received-SPF header.
func spfParam(s, key string) string {
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ' ' || r == '\t' }) {
		k, v, ok := strings.Cut(part, "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), key) {
			return strings.Trim(strings.TrimSpace(v), `"<>`)
		}
	}
	return ""
}

func domainOf(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at < 0 {
		return ""
	}
	return strings.ToLower(strings.TrimSuffix(addr[at+1:], "."))
}

// aligned is DMARC's relaxed alignment: the same domain or one a
// subdomain of the other.
func aligned(a, b string) bool {
	return a == b || strings.HasSuffix(a, "."+b) || strings.HasSuffix(b, "."+a)
}
