package campaign

import (
	"fmt"
	"net/mail"
	"strings"
)

// MaxRecipientsPerRow bounds To+CC+BCC of one message, well under
// Exchange Online's 1,000 recipients per message.
const MaxRecipientsPerRow = 500

// ParseAddresses reads a cell holding one or more addresses separated by
// ";" or ",", plain (ann@example.com) or with a name (Ann <ann@example.com>).
// Separators inside quotes or angle brackets do not split.
func ParseAddresses(cell string) ([]*mail.Address, error) {
	var out []*mail.Address
	for _, part := range splitAddresses(cell) {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		a, err := mail.ParseAddress(part)
		if err != nil || !plausibleDomain(a.Address) {
			return out, fmt.Errorf("%q is not an email address", clip(part, 80))
		}
		out = append(out, a)
	}
	return out, nil
}

func splitAddresses(s string) []string {
	var parts []string
	quoted, angle, start := false, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' && (i == 0 || s[i-1] != '\\'):
			quoted = !quoted
		case c == '<' && !quoted:
			angle = true
		case c == '>' && !quoted:
			angle = false
		case (c == ';' || c == ',') && !quoted && !angle:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}

// plausibleDomain refuses what net/mail accepts but no mailbox has: a domain
// without a dot, an IP literal, or an address over 254 characters.
func plausibleDomain(addr string) bool {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || len(addr) > 254 {
		return false
	}
	domain := addr[at+1:]
	return strings.Contains(domain, ".") && !strings.HasPrefix(domain, "[") &&
		!strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".") && !strings.Contains(domain, "..")
}

// clip shortens s for a message: a cell may hold 32 KB.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}
