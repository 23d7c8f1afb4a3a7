package tracking

import (
	"strings"
	"testing"

	"mailmerge/handler/internal/account"
)

// TestUnsubscribeAddress: a message's unsubscribe address fits the 64
// characters of an address's part before @ after Postmark's own inbound
// address; its ID splits into the account's partition and the message's
// row, survives a mail program changing its case, and differs by row,
// campaign, account and key.
func TestUnsubscribeAddress(t *testing.T) {
	owner := account.Key{TenantID: "8f0b5f36-4c8e-4d8a-9b0b-2a6f7e6d1c11", ObjectID: "a11ce000-0000-4000-8000-00000000a001"}
	other := account.Key{TenantID: owner.TenantID, ObjectID: "b0b00000-0000-4000-8000-00000000b001"}
	ks := testKeys(t, "1:"+secretA)
	l := Links{Keys: ks, Inbound: "4f1e0c2b9a8d7e6f5a4b3c2d1e0f9a8b@inbound.postmarkapp.com"}
	addr := l.UnsubscribeAddress(owner, campaignID, 100_001)
	local, _, _ := strings.Cut(addr, "@")
	if len(local) > 64 || !strings.HasPrefix(local, "4f1e0c2b9a8d7e6f5a4b3c2d1e0f9a8b+"+UnsubscribePrefix) {
		t.Errorf("unsubscribe address %q: %d characters before @", addr, len(local))
	}
	id := strings.TrimPrefix(local, "4f1e0c2b9a8d7e6f5a4b3c2d1e0f9a8b+"+UnsubscribePrefix)
	pk, rk, ok := SplitUnsubscribeID(strings.ToUpper(id))
	if !ok || pk != AccountTag(owner) || pk+rk != id {
		t.Errorf("split %q: %q %q %v", id, pk, rk, ok)
	}
	seen := map[string]bool{id: true}
	rotated := testKeys(t, "2:"+secretB+",1:"+secretA)
	for name, got := range map[string]string{
		"another row":      ks.UnsubscribeIDs(owner, campaignID, 100_002)[0],
		"another campaign": ks.UnsubscribeIDs(owner, "0"+campaignID[1:], 100_001)[0],
		"another account":  ks.UnsubscribeIDs(other, campaignID, 100_001)[0],
		"another key":      rotated.UnsubscribeIDs(owner, campaignID, 100_001)[0],
	} {
		if seen[got] {
			t.Errorf("%s: the same ID %s", name, got)
		}
		seen[got] = true
	}
	// After a rotation the message's ID under its old key is still found.
	if ids := rotated.UnsubscribeIDs(owner, campaignID, 100_001); len(ids) != 2 || ids[1] != id {
		t.Errorf("rotated IDs %v, want the old one %s second", ids, id)
	}
	for _, bad := range []string{"", id[:25], id + "a", strings.Replace(id, id[3:4], "1", 1), "../" + id[3:]} {
		if _, _, ok := SplitUnsubscribeID(bad); ok {
			t.Errorf("SplitUnsubscribeID(%q) accepted", bad)
		}
	}
}
