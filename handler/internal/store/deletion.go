package store

import (
	"context"
	"strings"
	"time"
)

// deletionPartition holds one row per account whose deletion is under way.
// The row outlives the account row and goes last, so an interrupted deletion
// can always be found and finished.
const deletionPartition = "pending"

// Deletion is a requested account deletion that has not finished yet.
type Deletion struct {
	Account     AccountKey
	RequestedAt time.Time
}

// RecordDeletion notes that an account's deletion was requested.
func (s *Store) RecordDeletion(ctx context.Context, d Deletion) error {
	e := newEntity(deletionPartition, d.Account.String())
	setTime(e, "RequestedAt", d.RequestedAt)
	return s.replaceEntity(ctx, tableDeletions, e, "")
}

// PendingDeletions lists deletions requested before the given time.
func (s *Store) PendingDeletions(ctx context.Context, before time.Time) ([]Deletion, error) {
	var out []Deletion
	filter := "PartitionKey eq '" + deletionPartition + "' and RequestedAt lt " + filterTime(before)
	err := s.query(ctx, tableDeletions, filter, func(e entity) error {
		tid, oid, ok := strings.Cut(e.RowKey, "_")
		if !ok {
			return nil
		}
		out = append(out, Deletion{Account: AccountKey{TenantID: tid, ObjectID: oid}, RequestedAt: getTime(e, "RequestedAt")})
		return nil
	})
	return out, err
}

// FinishDeletion removes the deletion record once everything else is gone.
func (s *Store) FinishDeletion(ctx context.Context, k AccountKey) error {
	return s.deleteEntity(ctx, tableDeletions, deletionPartition, k.String())
}
