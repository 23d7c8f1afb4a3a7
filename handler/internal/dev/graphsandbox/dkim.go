package graphsandbox

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
)

// The authentication headers of mail between organisations.
//
// DKIM-Signature (RFC 6376 section 3.5), as Exchange Online writes it for
// a domain with DKIM signing on: v=1; a=rsa-sha256; c=relaxed/relaxed (the
// default of New-DkimSigningConfig's HeaderCanonicalization and
// BodyCanonicalization); d= the sender's domain; s=selector1 (Microsoft
// 365's selectors are selector1 and selector2,
// https://learn.microsoft.com/en-us/defender-office-365/email-authentication-dkim-configure);
// h= the signed header fields; bh= the body hash; b= the signature.
// Microsoft documents that Exchange signs "From, To, Subject, MIME-Version,
// Content-Type, Date and other header fields (depending on the source email
// system)"; signatures seen on Exchange Online mail read
// h=From:Date:Subject:Message-ID:Content-Type:MIME-Version. Whether h= names
// List-Unsubscribe and List-Unsubscribe-Post when the message has them is
// not documented anywhere (../shared/reference/tracking-and-unsubscribe.md
// section 3): the sandbox signs them, which is the promise a first-deployment
// check must confirm (README, "Verify on first deployment"), and the fault
// dkim-without-list-unsubscribe leaves them out. RFC 8058 section 4 requires
// both in a valid signature for one-click unsubscribe.
//
// bh= is the real SHA-256 of the body in relaxed canonicalization (RFC 6376
// section 3.4.4). b= is NOT a signature: the sandbox's domains publish no
// key, so no receiver could verify one. It is the base64 SHA-256 of what
// RFC 6376 section 3.7 signs (the relaxed signed fields and this field with
// an empty b=), so that it changes with what it covers; a reader of the
// sandbox can check h=, d=, s= and bh=, never b=.
//
// Authentication-Results (RFC 8601) as Exchange Online Protection writes it
// on receipt ("When an email is received in Microsoft 365, the service adds
// an Authentication-Results header",
// https://learn.microsoft.com/en-us/defender-office-365/email-auth-sec-ops-guide;
// fields described in
// https://learn.microsoft.com/en-us/defender-office-365/message-headers-eop-mdo):
//
//	spf=pass (sender IP is 40.107.22.100) smtp.mailfrom=contoso.example; dkim=pass (signature was verified) header.d=contoso.example;dmarc=pass action=none header.from=contoso.example;compauth=pass reason=100
//
// and, unsigned, dkim=none (message not signed) header.d=none. EOP's header
// starts with the first result, without the authserv-id RFC 8601 section 2.2
// puts first; a reader must accept both forms. SPF passes: the sender's
// domain is taken to list Exchange Online's servers
// (include:spf.protection.outlook.com), as Microsoft tells tenants to.
// DMARC passes on the aligned SPF alone (RFC 7489 section 4.2), so an
// unsigned message still reads dmarc=pass.

// dkimSelector is the selector of the sandbox's signatures.
const dkimSelector = "selector1"

// exchangeOutboundIP is an address of Exchange Online's outbound servers
// (40.107.0.0/16, in spf.protection.outlook.com).
const exchangeOutboundIP = "40.107.22.100"

// dkimFields are the header fields the sandbox signs when the message has
// them, in h= order: those seen in Exchange Online signatures, those its
// documentation names, then the unsubscribe pair.
var dkimFields = []string{"From", "Date", "Subject", "Message-ID", "Content-Type", "MIME-Version",
	"To", "Cc", "Reply-To", "List-Unsubscribe", "List-Unsubscribe-Post"}

// dkimSignature is the DKIM-Signature value for the message m (CRLF MIME)
// of domain; withUnsubscribe false leaves List-Unsubscribe and
// List-Unsubscribe-Post out of h= (the fault dkim-without-list-unsubscribe).
func dkimSignature(m []byte, domain string, withUnsubscribe bool) string {
	_, body, _ := splitMessage(m)
	fields := headerFieldsRaw(m)
	var names []string
	var signed strings.Builder
	for _, name := range dkimFields {
		if !withUnsubscribe && (strings.EqualFold(name, "List-Unsubscribe") || strings.EqualFold(name, "List-Unsubscribe-Post")) {
			continue
		}
		// RFC 6376 section 5.4.2: the last instance of a field is signed first.
		for i := len(fields) - 1; i >= 0; i-- {
			if strings.EqualFold(fields[i].Name, name) {
				names = append(names, name)
				signed.WriteString(relaxedHeader(fields[i].Name, fields[i].Value))
				break
			}
		}
	}
	bh := sha256.Sum256(relaxedBody(body))
	value := fmt.Sprintf("v=1; a=rsa-sha256; c=relaxed/relaxed; d=%s; s=%s; h=%s; bh=%s; b=",
		domain, dkimSelector, strings.Join(names, ":"), base64.StdEncoding.EncodeToString(bh[:]))
	signed.WriteString(strings.TrimSuffix(relaxedHeader("DKIM-Signature", value), "\r\n"))
	b := sha256.Sum256([]byte(signed.String()))
	return value + base64.StdEncoding.EncodeToString(b[:])
}

// authenticationResults is the Authentication-Results EOP writes for mail
// from domain, signed or not.
func authenticationResults(domain string, signed bool) string {
	dkim := "dkim=pass (signature was verified) header.d=" + domain
	if !signed {
		dkim = "dkim=none (message not signed) header.d=none"
	}
	return fmt.Sprintf("spf=pass (sender IP is %s) smtp.mailfrom=%s; %s;dmarc=pass action=none header.from=%s;compauth=pass reason=100",
		exchangeOutboundIP, domain, dkim, domain)
}

// headerFieldsRaw are the header fields of m with their folding removed
// but their values otherwise as written (no RFC 2047 decoding).
func headerFieldsRaw(m []byte) []Header {
	head, _, _ := splitMessage(m)
	var out []Header
	for _, line := range strings.Split(string(head), "\r\n") {
		switch {
		case line == "":
		case line[0] == ' ' || line[0] == '\t':
			if len(out) > 0 {
				out[len(out)-1].Value += "\r\n" + line
			}
		default:
			name, value, _ := strings.Cut(line, ":")
			out = append(out, Header{Name: name, Value: value})
		}
	}
	return out
}

// relaxedHeader is RFC 6376 section 3.4.2: the name in lower case, the
// value unfolded, runs of white space as one space, none at either end.
func relaxedHeader(name, value string) string {
	value = strings.ReplaceAll(value, "\r\n", "")
	return strings.ToLower(strings.TrimSpace(name)) + ":" + strings.Join(strings.Fields(value), " ") + "\r\n"
}

// relaxedBody is RFC 6376 section 3.4.4: white space at line ends removed,
// runs of it inside a line as one space, empty lines at the end removed,
// and a non-empty body ending in CRLF.
func relaxedBody(body []byte) []byte {
	lines := strings.Split(strings.ReplaceAll(string(body), "\r\n", "\n"), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(collapseWSP(l), " ")
	}
	for len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) == 0 {
		return nil
	}
	return []byte(strings.Join(lines, "\r\n") + "\r\n")
}

func collapseWSP(s string) string {
	var b strings.Builder
	space := false
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == ' ' || c == '\t' {
			space = true
			continue
		} else {
			if space {
				b.WriteByte(' ')
				space = false
			}
			b.WriteByte(c)
		}
	}
	if space {
		b.WriteByte(' ')
	}
	return b.String()
}
