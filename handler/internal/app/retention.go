package app

import (
	"context"
	"strings"
	"time"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/backup"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/invoke"
	"mailmerge/handler/internal/store"
)

// stalledDeletion is how long a deletion may stay unfinished before the
// retention timer hands it to its worker again.
const stalledDeletion = 15 * time.Minute

// stalledUpload is how long an upload may wait for processing; after that
// its processing has failed for good (the message went to the poison queue)
// and the promise says the file must go.
const stalledUpload = time.Hour

// keepTombstones is how long a finished deletion's ids are kept: longer
// than the oldest backup that can hold the deleted data (the monthly
// copies, backup.KeepMonths), so no restore from a backup brings that data
// back.
const keepTombstones = 400 * 24 * time.Hour

// retention deletes what the privacy promises say must go: expired install
// debug entries and uploads whose processing never finished. It also
// re-enqueues deletions that were interrupted.
func (a *App) retention(ctx context.Context, t invoke.Timer) error {
	now := a.Now().UTC()
	expired, err := a.Store.DeleteExpiredDebugEntries(ctx, now)
	if err != nil {
		return err
	}
	uploads, err := a.dropStalledUploads(ctx, now.Add(-stalledUpload))
	if err != nil {
		return err
	}
	pending, err := a.Store.PendingDeletions(ctx, now.Add(-stalledDeletion))
	if err != nil {
		return err
	}
	for _, d := range pending {
		if err := a.enqueueDeletion(ctx, d); err != nil {
			return err
		}
	}
	tombstones, err := a.Store.PurgeTombstones(ctx, now.Add(-keepTombstones))
	if err != nil {
		return err
	}
	// Removal records matter to restores from the whole and change exports only.
	removalDays, err := a.Store.PurgeRemovals(ctx, now.Add(-backup.KeepExports-24*time.Hour))
	if err != nil {
		return err
	}
	a.Logger.InfoContext(ctx, "retention done", "expiredDebugEntries", expired, "stalledUploads", uploads,
		"resumedDeletions", len(pending), "purgedTombstones", tombstones, "purgedRemovalDays", removalDays, "pastDue", t.IsPastDue)
	return nil
}

// dropStalledUploads deletes upload blobs older than before and marks their
// campaigns' data failed, so the user is told to upload again.
func (a *App) dropStalledUploads(ctx context.Context, before time.Time) (int, error) {
	names, err := a.Store.BlobsBefore(ctx, containerUploads, before)
	if err != nil {
		return 0, err
	}
	for _, name := range names {
		parts := strings.Split(name, "/")
		if len(parts) == 3 {
			if tid, oid, ok := strings.Cut(parts[0], "_"); ok {
				k := account.Key{TenantID: tid, ObjectID: oid}
				msg := dataMessage{TenantID: tid, ObjectID: oid, CampaignID: parts[1], UploadID: parts[2]}
				c, err := a.Store.Campaign(ctx, k, parts[1])
				if err == nil {
					failed := store.DataSummary{Status: campaign.DataFailed, ErrorCode: "processing_failed",
						ErrorText: "the file could not be processed; upload it again"}
					if err := a.finishData(ctx, k, msg, c.Data, failed); err != nil {
						return 0, err
					}
				} else if !apperr.Is(err, apperr.NotFound) {
					return 0, err
				}
			}
		}
		if err := a.Store.DeleteBlob(ctx, containerUploads, name); err != nil {
			return 0, err
		}
	}
	return len(names), nil
}
