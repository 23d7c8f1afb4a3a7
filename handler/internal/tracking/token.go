// Package tracking makes and reads the tokens of the open pixel, the
// tracked links and the unsubscribe link, and judges whether a hit on one
// was a person or a machine.
//
// A token carries everything its endpoint needs, so the redirect and the
// pixel answer without storage: the kind, the key that signed it, the
// campaign, the row, and for a click the link's index and target URL. It
// is signed with HMAC-SHA256 (truncated to 128 bits) under a key id:
// several keys are accepted and the newest signs, so a key is rotated
// without breaking mail already sent. Only a URL inside a valid token is
// ever redirected to.
package tracking

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

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

// Key is one signing key: a one-byte id carried in every token, and its
// secret (at least 32 bytes).
type Key struct {
	ID     byte
	Secret []byte
}

// Keys verify tokens signed with any of them; the first signs.
type Keys []Key

// ParseKeys reads keys written "id:base64secret,id:base64secret", the
// newest (the signing one) first; an id is a number from 1 to 255.
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
		ks = append(ks, Key{ID: byte(n), Secret: raw})
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
}

// ErrInvalid is any token that is not one of ours: malformed, truncated,
// signed with a key we do not have, or changed after signing.
var ErrInvalid = errors.New("invalid token")

const macLen = 16

// campaignIDs are 16 bytes written in lower-case base32hex (26 letters).
var campaignIDs = base32.HexEncoding.WithPadding(base32.NoPadding)

// Sign makes the token of t with the newest key.
func (ks Keys) Sign(t Target) (string, error) {
	id, err := campaignIDs.DecodeString(strings.ToUpper(t.CampaignID))
	if len(ks) == 0 {
		return "", errors.New("tracking: no signing key")
	}
	if err != nil || len(id) != 16 || t.Row < 0 || t.Link < 0 {
		return "", fmt.Errorf("tracking: cannot sign campaign %q row %d link %d", t.CampaignID, t.Row, t.Link)
	}
	k := ks[0]
	b := make([]byte, 0, 2+16+2*binary.MaxVarintLen32+len(t.URL)+macLen)
	b = append(b, byte(t.Kind), k.ID)
	b = append(b, id...)
	b = binary.AppendUvarint(b, uint64(t.Row))
	if t.Kind == Unsubscribe {
		if b, err = appendAccount(b, t.Account); err != nil {
			return "", err
		}
	}
	if t.Kind == Click {
		b = binary.AppendUvarint(b, uint64(t.Link))
		b = append(b, t.URL...)
	}
	b = append(b, mac(k.Secret, b)...)
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// Verify reads a token of kind want. Anything but a token we signed for
// that kind is ErrInvalid.
func (ks Keys) Verify(token string, want Kind) (Target, error) {
	b, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(b) < 2+16+1+macLen || Kind(b[0]) != want {
		return Target{}, ErrInvalid
	}
	body, sum := b[:len(b)-macLen], b[len(b)-macLen:]
	var key []byte
	for _, k := range ks {
		if k.ID == b[1] {
			key = k.Secret
		}
	}
	if key == nil || !hmac.Equal(sum, mac(key, body)) {
		return Target{}, ErrInvalid
	}
	t := Target{Kind: want, CampaignID: strings.ToLower(campaignIDs.EncodeToString(body[2:18]))}
	rest := body[18:]
	row, n := binary.Uvarint(rest)
	if n <= 0 || row > 1<<31 {
		return Target{}, ErrInvalid
	}
	t.Row, rest = int(row), rest[n:]
	if want == Click {
		link, n := binary.Uvarint(rest)
		if n <= 0 || link > 1<<31 {
			return Target{}, ErrInvalid
		}
		t.Link, t.URL = int(link), string(rest[n:])
		if !safeURL(t.URL) {
			return Target{}, ErrInvalid
		}
	} else if want == Unsubscribe {
		if t.Account, rest, err = readAccount(rest); err != nil || len(rest) != 0 {
			return Target{}, ErrInvalid
		}
	} else if len(rest) != 0 {
		return Target{}, ErrInvalid
	}
	return t, nil
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

func mac(key, b []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(b)
	return h.Sum(nil)[:macLen]
}

// safeURL: only http and https targets are redirected to, even signed.
func safeURL(u string) bool {
	l := strings.ToLower(u)
	return (strings.HasPrefix(l, "https://") || strings.HasPrefix(l, "http://")) && !strings.ContainsAny(u, "\r\n\x00")
}
