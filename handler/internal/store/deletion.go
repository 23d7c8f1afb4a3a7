package store

import (
	"context"
	"strings"
	"time"
)

// deletionPartition holds one row per deletion under way: of an account, or
// of one campaign. The row outlives what it deletes and goes last, so an
// interrupted deletion can always be found and finished.
const deletionPartition = "pending"

// Deletion is a requested deletion that has not finished yet: the whole
// account when CampaignID is empty, else one campaign of it.
type Deletion struct {
	Account     AccountKey
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
		account, campaign, _ := strings.Cut(e.RowKey, "|")
		tid, oid, err := splitAccountKey(account)
		if err != nil {
			return nil // not ours to understand; leave it
		}
		out = append(out, Deletion{Account: AccountKey{TenantID: tid, ObjectID: oid}, CampaignID: campaign, RequestedAt: getTime(e, "RequestedAt")})
		return nil
	})
	return out, err
}

// FinishDeletion removes the deletion record once everything else is gone.
func (s *Store) FinishDeletion(ctx context.Context, d Deletion) error {
	return s.deleteEntity(ctx, tableDeletions, deletionPartition, d.rowKey())
}
