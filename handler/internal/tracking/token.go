// Package tracking makes and reads the tokens of the open pixel, the
// tracked links and the unsubscribe link, and judges whether a hit on one
// was a person or a machine.
//
// A token carries everything its endpoint needs, so the redirect and the
// pixel answer without storage: the campaign, the row, for a click the
// link's index and target URL, for an unsubscribe the account and what
// its page shows (who sent the message, and to whom, masked). It is
// encrypted and authenticated under a key id, so a recipient learns
// nothing from the URL (not the owner's ids, not the campaign, not their
// row): several keys are accepted and the newest makes tokens, so a key
// is rotated without breaking mail already sent. Only a URL inside a
// valid token is ever redirected to.
//
// The encryption is deterministic authenticated encryption after SIV
// (RFC 5297's construction, with HMAC-SHA256 as the PRF): the IV is a MAC
// of the kind, the key id and the content, and AES-256-CTR under that IV
// encrypts the content. The same link of the same row is one token, so a
// message renders the same every time, and a token is only its 17 bytes
// longer than its content, which keeps URLs short: a random nonce and a
// tag (AES-GCM) would add 28. Go's standard library has no SIV mode, and
// the libraries that do are unmaintained or far heavier than this.
package tracking

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"unicode/utf8"

	"mailmerge/handler/internal/account"
)

// Kind is what a token is for.
type Kind byte

// The kinds of token.
const (
	Open        Kind = 'o'
	Click       Kind = 'c'
	Unsubscribe Kind = 'u'
)

// Key is one token key: a one-byte id carried in every token, and its
// secret (at least 32 bytes), from which the keys that encrypt and
// authenticate are derived.
type Key struct {
	ID     byte
	Secret []byte
	// derived is set by ParseKeys; a Key written as a literal derives
	// its keys on each use.
	derived *derivedKeys
}

// derivedKeys are a secret's keys, one per purpose (HKDF-SHA256).
type derivedKeys struct {
	enc cipher.Block // AES-256: a token's content
	mac []byte       // HMAC-SHA256: a token's synthetic IV
	tag []byte       // HMAC-SHA256: unsubscribe addresses (UnsubscribeID)
}

func derive(secret []byte) *derivedKeys {
	k := func(info string) []byte {
		b, err := hkdf.Key(sha256.New, secret, nil, "mailmerge tracking "+info, 32)
		if err != nil {
			panic(err) // only for a length SHA-256 cannot give
		}
		return b
	}
	block, err := aes.NewCipher(k("encryption"))
	if err != nil {
		panic(err) // 32 bytes is a valid AES key
	}
	return &derivedKeys{enc: block, mac: k("authentication"), tag: k("unsubscribe address")}
}

func (k Key) keys() *derivedKeys {
	if k.derived != nil {
		return k.derived
	}
	return derive(k.Secret)
}

// Keys verify tokens made with any of them; the first makes them.
type Keys []Key

// ParseKeys reads keys written "id:base64secret,id:base64secret", the
// newest (the one that makes tokens) first; an id is a number from 1 to
// 255.
func ParseKeys(s string) (Keys, error) {
	var ks Keys
	seen := map[byte]bool{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		id, secret, ok := strings.Cut(part, ":")
		var n int
		if _, err := fmt.Sscanf(id, "%d", &n); !ok || err != nil || n < 1 || n > 255 || fmt.Sprint(n) != id {
			return nil, fmt.Errorf("a key is written id:secret, the id a number from 1 to 255 (got %q)", id)
		}
		raw, err := base64.StdEncoding.DecodeString(secret)
		if err != nil || len(raw) < 32 {
			return nil, fmt.Errorf("key %d: the secret is base64 of at least 32 bytes", n)
		}
		if seen[byte(n)] {
			return nil, fmt.Errorf("key %d is given twice", n)
		}
		seen[byte(n)] = true
		ks = append(ks, Key{ID: byte(n), Secret: raw, derived: derive(raw)})
	}
	if len(ks) == 0 {
		return nil, errors.New("no key given")
	}
	return ks, nil
}

// Target is what a token points at.
type Target struct {
	Kind Kind
	// Account owns the campaign (unsubscribe tokens only: the address
	// joins that account's suppression list).
	Account    account.Key
	CampaignID string
	Row        int
	// Link is the index of the link in the template (clicks).
	Link int
	// URL is where a click goes.
	URL string
	// Names are what an unsubscribe page shows (unsubscribe tokens
	// only; none in tokens made before they were carried).
	Names Names
}

// Names are what the unsubscribe page of a message shows the recipient:
// the address it came from and, masked, the address it went to, so the
// person knows which list they leave without the link showing their
// address in full to whoever sees the URL.
type Names struct {
	// Sender is the address the message was sent from.
	Sender string
	// Recipient is the message's first To address, masked (Mask).
	Recipient string
	// Others: the message went to other visible addresses too (To or
	// CC), which the unsubscribe covers as well. Blind copies are not
	// counted: the page would tell the others that there were some.
	Others bool
}

// IsZero reports whether n names nothing (a token made before names
// were carried).
func (n Names) IsZero() bool { return n == Names{} }

// NamesOf are the names of a message from sender to the addresses to
// and cc.
func NamesOf(sender string, to, cc []*mail.Address) Names {
	n := Names{Sender: strings.ToLower(strings.TrimSpace(sender)), Others: len(to)+len(cc) > 1}
	if len(to) > 0 {
		n.Recipient = Mask(to[0].Address)
	}
	return n
}

// Mask shows an address as its first character, "•••" and its domain
// (j•••@contoso.com): enough for its owner to know it, too little for
// anyone else to write to it. Masking a masked address changes nothing.
// "" for what is no address.
func Mask(addr string) string {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 {
		return ""
	}
	first, _ := utf8.DecodeRuneInString(addr)
	if first == utf8.RuneError {
		return ""
	}
	return string(first) + mask + addr[at:]
}

const mask = "•••"

// ErrInvalid is any token that is not one of ours: malformed, truncated,
// made with a key we do not have, or changed after it was made.
var ErrInvalid = errors.New("invalid token")

// ivLen is the synthetic IV's length: the token's authenticator too.
const ivLen = 16

// campaignIDs are 16 bytes written in lower-case base32hex (26 letters).
var campaignIDs = base32.HexEncoding.WithPadding(base32.NoPadding)

// Sign makes the token of t with the newest key: the key id, the
// synthetic IV, and the content encrypted.
func (ks Keys) Sign(t Target) (string, error) {
	id, err := campaignIDs.DecodeString(strings.ToUpper(t.CampaignID))
	if len(ks) == 0 {
		return "", errors.New("tracking: no token key")
	}
	if err != nil || len(id) != 16 || t.Row < 0 || t.Link < 0 {
		return "", fmt.Errorf("tracking: cannot make a token for campaign %q row %d link %d", t.CampaignID, t.Row, t.Link)
	}
	k := ks[0]
	b := make([]byte, 1+ivLen, 1+ivLen+16+2*binary.MaxVarintLen32+len(t.URL)+34+len(t.Names.Sender)+len(t.Names.Recipient)+2)
	b[0] = k.ID
	b = append(b, id...)
	b = binary.AppendUvarint(b, uint64(t.Row))
	switch t.Kind {
	case Unsubscribe:
		if b, err = appendAccount(b, t.Account); err != nil {
			return "", err
		}
		if b, err = appendNames(b, t.Names); err != nil {
			return "", err
		}
	case Click:
		b = binary.AppendUvarint(b, uint64(t.Link))
		b = append(b, t.URL...)
	}
	dk := k.keys()
	content := b[1+ivLen:]
	copy(b[1:], siv(dk, t.Kind, k.ID, content))
	cipher.NewCTR(dk.enc, b[1:1+ivLen]).XORKeyStream(content, content)
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Verify reads a token of kind want. Anything but a token we made for
// that kind is ErrInvalid.
func (ks Keys) Verify(token string, want Kind) (Target, error) {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) < 1+ivLen+16+1 {
		return Target{}, ErrInvalid
	}
	var key *Key
	for i := range ks {
		if ks[i].ID == b[0] {
			key = &ks[i]
		}
	}
	if key == nil {
		return Target{}, ErrInvalid
	}
	dk := key.keys()
	iv, content := b[1:1+ivLen], b[1+ivLen:]
	cipher.NewCTR(dk.enc, iv).XORKeyStream(content, content)
	if !hmac.Equal(iv, siv(dk, want, key.ID, content)) {
		return Target{}, ErrInvalid
	}
	t := Target{Kind: want, CampaignID: strings.ToLower(campaignIDs.EncodeToString(content[:16]))}
	rest := content[16:]
	row, n := binary.Uvarint(rest)
	if n <= 0 || row > 1<<31 {
		return Target{}, ErrInvalid
	}
	t.Row, rest = int(row), rest[n:]
	switch want {
	case Click:
		link, n := binary.Uvarint(rest)
		if n <= 0 || link > 1<<31 {
			return Target{}, ErrInvalid
		}
		t.Link, t.URL = int(link), string(rest[n:])
		if !safeURL(t.URL) {
			return Target{}, ErrInvalid
		}
	case Unsubscribe:
		if t.Account, rest, err = readAccount(rest); err != nil {
			return Target{}, ErrInvalid
		}
		if t.Names, err = readNames(rest); err != nil {
			return Target{}, ErrInvalid
		}
	default:
		if len(rest) != 0 {
			return Target{}, ErrInvalid
		}
	}
	return t, nil
}

// siv is the synthetic IV of a token's content: HMAC-SHA256 over the
// kind, the key id and the content, so a token of one kind is no token
// of another.
func siv(dk *derivedKeys, kind Kind, keyID byte, content []byte) []byte {
	h := hmac.New(sha256.New, dk.mac)
	h.Write([]byte{byte(kind), keyID})
	h.Write(content)
	return h.Sum(make([]byte, 0, sha256.Size))[:ivLen]
}

// appendAccount writes an account key: 0 and 32 bytes when both ids are
// lower-case GUIDs (as Entra's are), else 1 and each id length-prefixed.
func appendAccount(b []byte, k account.Key) ([]byte, error) {
	if !k.Valid() {
		return b, errors.New("tracking: an unsubscribe token needs the account")
	}
	t, okT := guidBytes(k.TenantID)
	o, okO := guidBytes(k.ObjectID)
	if okT && okO {
		return append(append(append(b, 0), t...), o...), nil
	}
	if len(k.TenantID) > 255 || len(k.ObjectID) > 255 {
		return b, errors.New("tracking: account ids too long")
	}
	b = append(b, 1, byte(len(k.TenantID)))
	b = append(b, k.TenantID...)
	b = append(b, byte(len(k.ObjectID)))
	return append(b, k.ObjectID...), nil
}

func readAccount(b []byte) (account.Key, []byte, error) {
	if len(b) == 0 {
		return account.Key{}, b, ErrInvalid
	}
	switch b[0] {
	case 0:
		if len(b) < 33 {
			return account.Key{}, b, ErrInvalid
		}
		return account.Key{TenantID: guidString(b[1:17]), ObjectID: guidString(b[17:33])}, b[33:], nil
	case 1:
		var ids [2]string
		b = b[1:]
		for i := range ids {
			if len(b) == 0 || len(b) < 1+int(b[0]) {
				return account.Key{}, b, ErrInvalid
			}
			ids[i], b = string(b[1:1+int(b[0])]), b[1+int(b[0]):]
		}
		return account.Key{TenantID: ids[0], ObjectID: ids[1]}, b, nil
	}
	return account.Key{}, b, ErrInvalid
}

// The flags that open a token's names.
const (
	namesGiven      = 1 << iota // always set: names follow
	namesOthers                 // Names.Others
	namesSameDomain             // the recipient's domain is the sender's, not repeated
)

// appendNames writes n after an unsubscribe token's account: nothing
// when it names nothing (as tokens were before names); else a flags
// byte, the sender (length-prefixed), and the recipient as its first
// character and its domain, all the mask keeps. Left out when it is the
// sender's, the domain costs nothing in the common case of colleagues.
func appendNames(b []byte, n Names) ([]byte, error) {
	if n.IsZero() {
		return b, nil
	}
	r := Mask(n.Recipient)
	if len(n.Sender) > 254 || (n.Recipient != "" && r == "") || !utf8.ValidString(n.Sender) || !utf8.ValidString(n.Recipient) {
		return b, errors.New("tracking: the names of an unsubscribe token are no addresses")
	}
	flags := byte(namesGiven)
	if n.Others {
		flags |= namesOthers
	}
	var first, domain string
	if r != "" {
		at := strings.LastIndexByte(r, '@')
		first, domain = strings.TrimSuffix(r[:at], mask), r[at+1:]
		if s := strings.LastIndexByte(n.Sender, '@'); s >= 0 && strings.EqualFold(n.Sender[s+1:], domain) {
			flags |= namesSameDomain
			domain = ""
		}
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, uint64(len(n.Sender)))
	b = append(b, n.Sender...)
	b = append(b, first...)
	return append(b, domain...), nil
}

// readNames reads what appendNames wrote: all of b.
func readNames(b []byte) (Names, error) {
	if len(b) == 0 {
		return Names{}, nil
	}
	flags := b[0]
	if flags&namesGiven == 0 || flags&^(namesGiven|namesOthers|namesSameDomain) != 0 {
		return Names{}, ErrInvalid
	}
	l, n := binary.Uvarint(b[1:])
	if n <= 0 || l > 254 || uint64(len(b)-1-n) < l {
		return Names{}, ErrInvalid
	}
	rest := b[1+n:]
	names := Names{Sender: string(rest[:l]), Others: flags&namesOthers != 0}
	rest = rest[l:]
	if len(rest) == 0 && flags&namesSameDomain == 0 {
		return names, nil // no recipient
	}
	first, size := utf8.DecodeRune(rest)
	if first == utf8.RuneError {
		return Names{}, ErrInvalid
	}
	domain := string(rest[size:])
	if flags&namesSameDomain != 0 {
		if domain != "" {
			return Names{}, ErrInvalid
		}
		domain = names.Sender[strings.LastIndexByte(names.Sender, '@')+1:]
	}
	if domain == "" {
		return Names{}, ErrInvalid
	}
	names.Recipient = string(first) + mask + "@" + domain
	return names, nil
}

// guidBytes reads a lower-case GUID (8-4-4-4-12 hex digits).
func guidBytes(s string) ([]byte, bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' || strings.ToLower(s) != s {
		return nil, false
	}
	b, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	return b, err == nil && len(b) == 16
}

func guidString(b []byte) string {
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// safeURL: only http and https targets are redirected to, even signed.
func safeURL(u string) bool {
	l := strings.ToLower(u)
	return (strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://")) && !strings.ContainsAny(u, "\r\n\x00")
}
