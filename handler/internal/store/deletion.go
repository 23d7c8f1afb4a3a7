package store

import (
	"context"
	"strings"
	"time"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/apperr"
)

// deletionPartition holds one row per deletion under way: of an account, or
// of one campaign. The row outlives what it deletes and goes last, so an
// interrupted deletion can always be found and finished.
const deletionPartition = "pending"

// tombstonePartition keeps a finished deletion (only the ids and the times)
// for as long as backups that hold the deleted data exist, so that a
// restore from them skips that data (Erasures) and a blob point-in-time
// restore can be followed by the same deletions again (ReapplyDeletions).
const tombstonePartition = "done"

// Deletion is a requested deletion that has not finished yet: the whole
// account when CampaignID is empty, else one campaign of it.
type Deletion struct {
	Account     account.Key
	CampaignID  string
	RequestedAt time.Time
}

func (d Deletion) rowKey() string {
	if d.CampaignID == "" {
		return d.Account.String()
	}
	return d.Account.String() + "|" + d.CampaignID
}

// RecordDeletion notes that a deletion was requested.
func (s *Store) RecordDeletion(ctx context.Context, d Deletion) error {
	e := newEntity(deletionPartition, d.rowKey())
	setTime(e, "RequestedAt", d.RequestedAt)
	return s.replaceEntity(ctx, tableDeletions, e, "")
}

// PendingDeletions lists deletions requested before the given time.
func (s *Store) PendingDeletions(ctx context.Context, before time.Time) ([]Deletion, error) {
	var out []Deletion
	filter := "PartitionKey eq '" + deletionPartition + "' and RequestedAt lt " + filterTime(before)
	err := s.query(ctx, tableDeletions, filter, func(e entity) error {
		owner, campaign, _ := strings.Cut(e.RowKey, "|")
		tid, oid, err := splitAccountKey(owner)
		if err != nil {
			return nil // not ours to understand; leave it
		}
		out = append(out, Deletion{Account: account.Key{TenantID: tid, ObjectID: oid}, CampaignID: campaign, RequestedAt: getTime(e, "RequestedAt")})
		return nil
	})
	return out, err
}

// FinishDeletion turns the deletion record into a tombstone once
// everything else is gone.
func (s *Store) FinishDeletion(ctx context.Context, d Deletion, at time.Time) error {
	e := newEntity(tombstonePartition, d.rowKey())
	setTime(e, "FinishedAt", at)
	if err := s.replaceEntity(ctx, tableDeletions, e, ""); err != nil {
		return err
	}
	return s.deleteEntity(ctx, tableDeletions, deletionPartition, d.rowKey())
}

// PurgeTombstones removes the tombstones of deletions finished before the
// given time (when the last backup that could hold their data has
// expired). It returns how many it removed.
func (s *Store) PurgeTombstones(ctx context.Context, before time.Time) (int, error) {
	var rows []string
	filter := "PartitionKey eq '" + tombstonePartition + "' and FinishedAt lt " + filterTime(before)
	if err := s.query(ctx, tableDeletions, filter, func(e entity) error {
		rows = append(rows, e.RowKey)
		return nil
	}); err != nil {
		return 0, err
	}
	for _, rk := range rows {
		if err := s.deleteEntity(ctx, tableDeletions, tombstonePartition, rk); err != nil {
			return 0, err
		}
	}
	return len(rows), nil
}

// ReapplyDeletions records every deletion finished at or after since as
// under way again, requested at requestedAt, so that the retention timer
// runs it once more: after a restore (of blobs to a point in time, say)
// that may have brought back what it had deleted. An account that exists
// again (its person signed in after deleting it) is left alone, since the
// deletion would take its new data too; those are counted in again.
func (s *Store) ReapplyDeletions(ctx context.Context, since, requestedAt time.Time) (n, again int, err error) {
	var rows []string
	filter := "PartitionKey eq '" + tombstonePartition + "' and FinishedAt ge " + filterTime(since)
	if err := s.query(ctx, tableDeletions, filter, func(e entity) error {
		rows = append(rows, e.RowKey)
		return nil
	}); err != nil {
		return 0, 0, err
	}
	for _, rk := range rows {
		if !strings.Contains(rk, "|") {
			exists, err := s.accountExists(ctx, rk)
			if err != nil {
				return n, again, err
			}
			if exists {
				again++
				continue
			}
		}
		e := newEntity(deletionPartition, rk)
		setTime(e, "RequestedAt", requestedAt)
		if err := s.replaceEntity(ctx, tableDeletions, e, ""); err != nil {
			return n, again, err
		}
		n++
	}
	return n, again, nil
}

// accountExists says whether the account with this key has a row.
func (s *Store) accountExists(ctx context.Context, key string) (bool, error) {
	tid, oid, err := splitAccountKey(key)
	if err != nil {
		return false, nil
	}
	_, err = s.Account(ctx, account.Key{TenantID: tid, ObjectID: oid})
	if apperr.Is(err, apperr.NotFound) {
		return false, nil
	}
	return err == nil, err
}
