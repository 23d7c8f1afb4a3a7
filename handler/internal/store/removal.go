package store

import (
	"context"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
)

// tableRemovals records every deletion of table rows: the table and keys
// (never content), a whole partition or one row, with the service's
// Timestamp of the record as its time. The backup exports carry it like
// any table, so a restore to a point in time leaves out what had been
// deleted by then: change exports hold what changed, not what went, and
// without it a row deleted after the hour's whole export (a campaign's rows
// replaced by a shorter upload, say) would come back.
const tableRemovals = "removals"

// recordRemoval notes, before it happens, that rk of partition pk of table
// is deleted, or the whole partition when rk is empty and partition is true.
// Records are kept by day (the partition key) for as long as the exports.
func (s *Store) recordRemoval(ctx context.Context, table, pk, rk string, partition bool) error {
	if table == tableRemovals {
		return nil
	}
	now := time.Now().UTC()
	e := newEntity(now.Format("2006-01-02"), now.Format("150405.000000000")+"-"+randomHex(4))
	e.Properties["Table"], e.Properties["PK"], e.Properties["RK"], e.Properties["Partition"] = table, pk, rk, partition
	return s.addEntity(ctx, tableRemovals, e)
}

// PurgeRemovals deletes the removal records of the days before the day of
// before. It returns how many days it purged.
func (s *Store) PurgeRemovals(ctx context.Context, before time.Time) (int, error) {
	days := map[string]bool{}
	filter, sel := "PartitionKey lt '"+before.UTC().Format("2006-01-02")+"'", "PartitionKey"
	if err := s.list(ctx, tableRemovals, &aztables.ListEntitiesOptions{Filter: &filter, Select: &sel}, func(e entity) error {
		days[e.PartitionKey] = true
		return nil
	}); err != nil {
		return 0, err
	}
	for day := range days {
		if _, err := s.deletePartition(ctx, tableRemovals, day); err != nil {
			return 0, err
		}
	}
	return len(days), nil
}

// removal is one record of tableRemovals, read from an export.
type removal struct {
	rk        string
	partition bool
	at        time.Time
}

// covers says whether the removal deleted an entity of its partition with
// row key rk that was last written at written.
func (r removal) covers(rk string, written time.Time) bool {
	return (r.partition || r.rk == rk) && r.at.After(written)
}
