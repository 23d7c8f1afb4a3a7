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
//
// A sender can write any of these headers into its own email, before or
// after Postmark's, so every copy counts: any copy that says spam refuses
// the email, and copies that disagree on what a check reads refuse it too
// (one of them is forged, and we cannot tell which).
func CheckSender(in Inbound) Verdict {
	verdicts := map[string]bool{}
	for _, s := range in.HeaderValues("X-Spam-Status") {
		v, _, _ := strings.Cut(strings.TrimSpace(s), ",")
		v = strings.ToLower(strings.TrimSpace(v))
		if v == "yes" {
			return Verdict{Reason: "the email was classified as spam"}
		}
		verdicts[v] = true
	}
	if len(verdicts) > 1 {
		return Verdict{Reason: "the email carries X-Spam-Status headers that disagree"}
	}
	tests := in.HeaderValues("X-Spam-Tests")
	dkim := 0
	for _, t := range tests {
		if hasTest(t, "DKIM_VALID_AU") {
			dkim++
		}
	}
	switch {
	case dkim > 0 && dkim < len(tests):
		return Verdict{Reason: "the email carries X-Spam-Tests headers that disagree on its DKIM signature"}
	case dkim > 0:
		return Verdict{OK: true, Reason: "DKIM signature of the From domain"}
	}
	return checkSPF(in)
}

// hasTest tells whether a SpamAssassin test list (comma-separated, folded
// over lines) names test.
func hasTest(list, test string) bool {
	for _, t := range strings.Split(strings.Join(strings.Fields(list), ""), ",") {
		if strings.EqualFold(t, test) {
			return true
		}
	}
	return false
}

// checkSPF accepts an SPF pass for an envelope sender aligned with the
// From domain, when every Received-SPF copy says the same.
func checkSPF(in Inbound) Verdict {
	spfs := in.HeaderValues("Received-SPF")
	if len(spfs) == 0 {
		return Verdict{Reason: "no SPF result and no DKIM signature of the From domain"}
	}
	type spf struct{ result, envelope string }
	var first spf
	for i, h := range spfs {
		result, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
		got := spf{strings.ToLower(result), domainOf(spfParam(rest, "envelope-from"))}
		if i == 0 {
			first = got
		} else if got != first {
			return Verdict{Reason: "the email carries Received-SPF headers that disagree"}
		}
	}
	if first.result != "pass" {
		if first.result == "" {
			return Verdict{Reason: "no SPF result and no DKIM signature of the From domain"}
		}
		return Verdict{Reason: fmt.Sprintf("SPF result %q and no DKIM signature of the From domain", first.result)}
	}
	from := domainOf(in.Sender())
	if first.envelope == "" || from == "" || !aligned(first.envelope, from) {
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
