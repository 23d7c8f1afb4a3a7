package worker

import (
	"context"
	"time"

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

// retention deletes what the privacy promises say must go: expired install
// debug entries and uploads whose processing never finished. It also
// re-enqueues deletions that were interrupted.
func (w *Worker) retention(ctx context.Context, t invoke.Timer) error {
	now := w.Now().UTC()
	expired, err := w.Store.DeleteExpiredDebugEntries(ctx, now)
	if err != nil {
		return err
	}
	uploads, err := w.dropStalledUploads(ctx, now.Add(-stalledUpload))
	if err != nil {
		return err
	}
	pending, err := w.Store.PendingDeletions(ctx, now.Add(-stalledDeletion))
	if err != nil {
		return err
	}
	for _, d := range pending {
		if err := w.Lifecycle.Tasks.Deletion(ctx, d.Account, d.CampaignID); err != nil {
			return err
		}
	}
	tombstones, err := w.Store.PurgeTombstones(ctx, now.Add(-backup.KeepTombstones))
	if err != nil {
		return err
	}
	// Removal records matter to restores from the whole and change exports only.
	removalDays, err := w.Store.PurgeRemovals(ctx, now.Add(-backup.KeepRemovals))
	if err != nil {
		return err
	}
	caches, err := w.dropOrphanTokenCaches(ctx)
	if err != nil {
		return err
	}
	w.Logger.InfoContext(ctx, "retention done", "expiredDebugEntries", expired, "stalledUploads", uploads,
		"resumedDeletions", len(pending), "purgedTombstones", tombstones, "purgedRemovalDays", removalDays,
		"orphanTokenCaches", caches, "pastDue", t.IsPastDue)
	return nil
}

// dropStalledUploads deletes upload blobs older than before and marks their
// campaigns' data failed, so the user is told to upload again.
func (w *Worker) dropStalledUploads(ctx context.Context, before time.Time) (int, error) {
	names, err := w.Store.BlobsBefore(ctx, store.ContainerUploads, before)
	if err != nil {
		return 0, err
	}
	for _, name := range names {
		if k, campaignID, uploadID, ok := store.ParseUploadBlob(name); ok {
			failed := store.DataSummary{Status: campaign.DataFailed,
				Reason: campaign.Reason{Code: "processing_failed", Text: "the file could not be processed; upload it again"}}
			if _, err := w.Lifecycle.DataRead(ctx, k, campaignID, uploadID, failed); err != nil {
				return 0, err
			}
		}
		if err := w.Store.DeleteBlob(ctx, store.ContainerUploads, name); err != nil {
			return 0, err
		}
	}
	return len(names), nil
}

// dropOrphanTokenCaches deletes the stored Graph access of accounts that
// no longer exist: deleting an account deletes its cache, and this finds
// one left by a deletion that failed half way, or written by a token
// refresh that raced it.
func (w *Worker) dropOrphanTokenCaches(ctx context.Context) (int, error) {
	names, err := w.Store.ListBlobs(ctx, store.ContainerTokenCache, "")
	if err != nil {
		return 0, err
	}
	dropped := 0
	for _, name := range names {
		k, ok := store.ParseTokenCacheBlob(name)
		if !ok {
			continue
		}
		if _, err := w.Store.Account(ctx, k); !apperr.Is(err, apperr.NotFound) {
			if err != nil {
				return dropped, err
			}
			continue
		}
		if err := w.Store.DeleteBlob(ctx, store.ContainerTokenCache, name); err != nil {
			return dropped, err
		}
		dropped++
	}
	return dropped, nil
}
