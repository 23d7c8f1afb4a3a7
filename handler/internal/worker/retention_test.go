package worker

import (
	"context"
	"testing"
	"time"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/dev/testenv"
	"mailmerge/handler/internal/dev/testqueue"
	"mailmerge/handler/internal/invoke"
	"mailmerge/handler/internal/store"
)

// TestRetentionDropsOrphanTokenCaches: the stored Graph access of an
// account that no longer exists goes; an existing account's stays. (On a
// storage account of its own: the sweep looks at every cache.)
func TestRetentionDropsOrphanTokenCaches(t *testing.T) {
	st, err := store.Open(testenv.IsolatedStorage(t))
	if err != nil {
		t.Fatal(err)
	}
	w := newWorker(t, st, &testqueue.Queue{}, &fakeMailer{})
	ctx := context.Background()
	live := account.Key{TenantID: testenv.Name("t"), ObjectID: testenv.Name("o")}
	gone := account.Key{TenantID: testenv.Name("t"), ObjectID: testenv.Name("o")}
	now := time.Now().UTC()
	if err := st.CreateAccount(ctx, store.Account{Key: live, Email: "live@example.com", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	for _, k := range []account.Key{live, gone} {
		if err := st.PutBlob(ctx, store.ContainerTokenCache, store.TokenCacheBlob(k), []byte("encrypted")); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.retention(ctx, invoke.Timer{}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetBlob(ctx, store.ContainerTokenCache, store.TokenCacheBlob(live)); err != nil {
		t.Errorf("a live account's cache: %v", err)
	}
	if _, err := st.GetBlob(ctx, store.ContainerTokenCache, store.TokenCacheBlob(gone)); err == nil {
		t.Error("a deleted account's cache stayed")
	}
}
