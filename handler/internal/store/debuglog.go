package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"mailmerge/handler/internal/account"
	"time"
)

// DebugEntry is temporary debugging information written by the install
// check. It expires; the retention timer deletes it.
type DebugEntry struct {
	ID        string
	Kind      string
	Detail    string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// AddDebugEntry stores a debug entry for an account.
func (s *Store) AddDebugEntry(ctx context.Context, k account.Key, d DebugEntry) error {
	e := newEntity(k.String(), d.CreatedAt.UTC().Format("20060102T150405.000000000Z")+"-"+randomHex(4))
	e.Properties["Kind"] = d.Kind
	e.Properties["Detail"] = d.Detail
	setTime(e, "CreatedAt", d.CreatedAt)
	setTime(e, "ExpiresAt", d.ExpiresAt)
	return s.addEntity(ctx, tableDebugLog, e)
}

// DebugEntries lists an account's debug entries, oldest first.
func (s *Store) DebugEntries(ctx context.Context, k account.Key) ([]DebugEntry, error) {
	var out []DebugEntry
	err := s.query(ctx, tableDebugLog, "PartitionKey eq '"+escapeFilter(k.String())+"'", func(e entity) error {
		out = append(out, DebugEntry{
			ID:        e.RowKey,
			Kind:      getString(e, "Kind"),
			Detail:    getString(e, "Detail"),
			CreatedAt: getTime(e, "CreatedAt"),
			ExpiresAt: getTime(e, "ExpiresAt"),
		})
		return nil
	})
	return out, err
}

// DeleteExpiredDebugEntries deletes every debug entry that expired before now
// and returns how many it deleted.
func (s *Store) DeleteExpiredDebugEntries(ctx context.Context, now time.Time) (int, error) {
	type key struct{ pk, rk string }
	var expired []key
	err := s.query(ctx, tableDebugLog, "ExpiresAt lt "+filterTime(now), func(e entity) error {
		expired = append(expired, key{e.PartitionKey, e.RowKey})
		return nil
	})
	if err != nil {
		return 0, err
	}
	for i, k := range expired {
		if err := s.deleteEntity(ctx, tableDebugLog, k.pk, k.rk); err != nil {
			return i, err
		}
	}
	return len(expired), nil
}

// DeleteDebugEntries deletes every debug entry of an account.
func (s *Store) DeleteDebugEntries(ctx context.Context, k account.Key) (int, error) {
	return s.deletePartition(ctx, tableDebugLog, k.String())
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}
