package worker

import (
	"context"
	"encoding/json"
	"flag"
	"testing"
	"time"

	"mailmerge/handler/internal/delivery"
	"mailmerge/handler/internal/dev/storagescan"
	"mailmerge/handler/internal/dev/testenv"
	"mailmerge/handler/internal/dev/testqueue"
	"mailmerge/handler/internal/invoke"
	"mailmerge/handler/internal/store"
	"mailmerge/handler/internal/task"
)

var deleteRows = flag.Int("delete-rows", 100_000, "rows of the deleted campaign")

// BenchmarkDeleteCampaign100k: the campaign-delete worker on a campaign of
// 100,000 rows (-delete-rows), on a storage account of its own: the time
// the deletion takes, and the time until a scan of every table and blob
// finds nothing of it.
//
//	tools/with-azurite.sh go test ./handler/internal/worker -run '^$' -bench DeleteCampaign100k -benchtime 1x
func BenchmarkDeleteCampaign100k(b *testing.B) {
	st, err := store.Open(testenv.IsolatedStorage(b))
	if err != nil {
		b.Fatal(err)
	}
	w := newWorker(b, st, &testqueue.Queue{}, &fakeMailer{result: delivery.Result{Outcome: delivery.Sent}})
	made := time.Now()
	c, _ := sendingCampaign(b, w, *deleteRows)
	b.Logf("%d rows written in %v", *deleteRows, time.Since(made))
	ctx := context.Background()
	needles := []string{c.ID}
	for b.Loop() {
		start := time.Now()
		if err := st.RecordDeletion(ctx, store.Deletion{Account: c.Account, CampaignID: c.ID, RequestedAt: start.UTC()}); err != nil {
			b.Fatal(err)
		}
		body, _ := json.Marshal(task.DeleteCampaign{Campaign: task.Campaign{Key: c.Account, CampaignID: c.ID}})
		if err := handleDelivery(w.deleteCampaign)(ctx, invoke.Message{Body: body}); err != nil {
			b.Fatal(err)
		}
		deleted := time.Since(start)
		found, err := storagescan.Leftovers(ctx, st, nil, needles)
		if err != nil {
			b.Fatal(err)
		}
		if len(found) > 0 {
			b.Fatalf("after the deletion: %v", found)
		}
		b.ReportMetric(deleted.Seconds(), "s-delete")
		b.ReportMetric(time.Since(start).Seconds(), "s-until-scan-clean")
	}
}
