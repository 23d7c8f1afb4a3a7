package tracking

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"strings"

	"mailmerge/handler/internal/account"
)

// An unsubscribe ID names one sent message for its unsubscribe address
// (List-Unsubscribe's mailto, RFC 2369), whose mail Postmark's inbound
// webhook hands to us. It must fit a mail address's local part (at most
// 64 characters, RFC 5321 §4.5.3.1.1) after Postmark's inbound address
// (32 characters) and a "+": so it cannot carry the message's content,
// only a name of the stored record of what an unsubscribe from that
// message suppresses (store.UnsubscribeLink). It is two 64-bit halves in
// lower-case base32, 26 characters:
//   - the account's tag, a hash of the account key: the records of one
//     account share a partition, which its deletion removes;
//   - the message's tag, an HMAC of the account, campaign and row under a
//     key derived from the token key that made it: no one without that key
//     can name another message's record.
//
// An ID reveals nothing: both halves are hashes.
const unsubscribeIDLen = 26

// UnsubscribePrefix starts the part after "+" of an unsubscribe address,
// which a campaign's address token (base32, no "-") never has.
const UnsubscribePrefix = "u-"

var tags = base32.StdEncoding.WithPadding(base32.NoPadding)

// AccountTag is the first half of account k's unsubscribe IDs: the
// partition of its unsubscribe records.
func AccountTag(k account.Key) string {
	sum := sha256.Sum256([]byte("mailmerge unsubscribe account|" + k.String()))
	return strings.ToLower(tags.EncodeToString(sum[:8]))
}

// UnsubscribeIDs are the IDs of the message of row of the campaign, one
// for each key, the newest first: a message's record is stored under the
// newest when it is sent, and found again under whichever key that was.
func (ks Keys) UnsubscribeIDs(k account.Key, campaignID string, row int) []string {
	ids := make([]string, 0, len(ks))
	tag := AccountTag(k)
	for _, key := range ks {
		h := hmac.New(sha256.New, key.keys().tag)
		h.Write([]byte(k.String() + "|" + campaignID + "|"))
		h.Write(binary.AppendUvarint(nil, uint64(row)))
		ids = append(ids, tag+strings.ToLower(tags.EncodeToString(h.Sum(nil)[:8])))
	}
	return ids
}

// SplitUnsubscribeID returns an ID's partition (the account's tag) and
// row key (the message's tag); ok is false for anything that is not the
// shape of an ID.
func SplitUnsubscribeID(id string) (partition, row string, ok bool) {
	id = strings.ToLower(id)
	if len(id) != unsubscribeIDLen {
		return "", "", false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= '2' && r <= '7') {
			return "", "", false
		}
	}
	return id[:13], id[13:], true
}
