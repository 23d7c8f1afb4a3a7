package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/apperr"
)

// tableSuppressions holds each account's suppression list: the addresses
// its campaigns no longer send to.
const tableSuppressions = "suppressions"

// Suppression is one address on an account's suppression list.
type Suppression struct {
	Address string // lower case
	At      time.Time
	// Source says how it got there: "unsubscribe" (the page), "one-click"
	// (RFC 8058, from the mail program), "email" (mail to the message's
	// unsubscribe address), "bounce" (SourceBounce: a report that a
	// message could not be delivered to it), or "added" (by the owner). Which
	// campaign it came from is not kept: the list outlives campaigns.
	Source string
	// Key is the address's suppression key (SuppressionKey). An
	// unsubscribe from a message of a deleted campaign knows only the
	// keys of its addresses (UnsubscribeLink): such an entry has a Key
	// and no Address, and stops mail to that address all the same.
	Key string
}

// SuppressionKey is the row key of an address: a hash, since addresses
// may hold characters row keys may not.
func SuppressionKey(address string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(address))))
	return hex.EncodeToString(sum[:16])
}

// Suppress adds addresses to account k's list and says how many were not
// on it; one already there keeps when and how it was first added.
func (s *Store) Suppress(ctx context.Context, k account.Key, list []Suppression) (added int, err error) {
	for _, sp := range list {
		key := sp.Key
		if sp.Address != "" {
			key = SuppressionKey(sp.Address)
		}
		e := newEntity(k.String(), key)
		e.Properties["Source"] = sp.Source
		if sp.Address != "" {
			e.Properties["Address"] = strings.ToLower(strings.TrimSpace(sp.Address))
		}
		setTime(e, "At", sp.At)
		switch err := s.addEntity(ctx, tableSuppressions, e); {
		case err == nil:
			added++
		case !apperr.Is(err, apperr.Conflict):
			return added, err
		}
	}
	return added, nil
}

// Suppressed reports whether address is on account k's list.
func (s *Store) Suppressed(ctx context.Context, k account.Key, address string) (bool, error) {
	return s.SuppressedKey(ctx, k, SuppressionKey(address))
}

// SuppressedKey reports whether the address of suppression key key is on
// account k's list.
func (s *Store) SuppressedKey(ctx context.Context, k account.Key, key string) (bool, error) {
	_, _, err := s.getEntity(ctx, tableSuppressions, k.String(), key)
	if apperr.Is(err, apperr.NotFound) {
		return false, nil
	}
	return err == nil, err
}

// UnsuppressKey takes the address of suppression key key off account k's
// list; one not there is fine.
func (s *Store) UnsuppressKey(ctx context.Context, k account.Key, key string) error {
	return s.deleteEntity(ctx, tableSuppressions, k.String(), key)
}

// SuppressionPage is one page of a suppression list.
type SuppressionPage struct {
	Suppressions []Suppression
	// Next is the opaque cursor of the next page, "" on the last page.
	Next string
}

// Suppressions lists account k's list from an opaque cursor, limit per
// page; with sources, only the entries that came in one of those ways.
func (s *Store) Suppressions(ctx context.Context, k account.Key, limit int, cursor string, sources ...string) (SuppressionPage, error) {
	filter := "PartitionKey eq '" + escapeFilter(k.String()) + "'"
	if len(sources) > 0 {
		or := make([]string, len(sources))
		for i, src := range sources {
			or[i] = "Source eq '" + escapeFilter(src) + "'"
		}
		filter += " and (" + strings.Join(or, " or ") + ")"
	}
	if cursor != "" {
		if _, err := hex.DecodeString(cursor); err != nil || len(cursor) != 32 {
			return SuppressionPage{}, apperr.E(apperr.Invalid, "cursor_invalid", "the cursor is not one this API gave out")
		}
		filter += " and RowKey ge '" + cursor + "'"
	}
	top := int32(min(limit+1, 1000))
	var page SuppressionPage
	err := s.list(ctx, tableSuppressions, &aztables.ListEntitiesOptions{Filter: &filter, Top: &top}, func(e entity) error {
		if len(page.Suppressions) == limit {
			page.Next = e.RowKey
			return errStop
		}
		page.Suppressions = append(page.Suppressions, Suppression{Address: getString(e, "Address"), At: getTime(e, "At"), Source: getString(e, "Source"), Key: e.RowKey})
		return nil
	})
	return page, err
}

// SuppressionKeys is account k's whole list as suppression keys
// (SuppressionKey), read in one pass without the addresses: rows are
// checked against it by key.
func (s *Store) SuppressionKeys(ctx context.Context, k account.Key) (map[string]bool, error) {
	filter, sel := "PartitionKey eq '"+escapeFilter(k.String())+"'", "RowKey"
	keys := map[string]bool{}
	err := s.list(ctx, tableSuppressions, &aztables.ListEntitiesOptions{Filter: &filter, Select: &sel}, func(e entity) error {
		keys[e.RowKey] = true
		return nil
	})
	return keys, err
}
