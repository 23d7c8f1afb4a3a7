package store

import (
	"context"
	"testing"
	"time"

	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/testenv"
)

func open(t *testing.T) *Store {
	t.Helper()
	s, err := Open(testenv.Storage(t))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newKey() AccountKey {
	return AccountKey{TenantID: testenv.Name("t"), ObjectID: testenv.Name("o")}
}

func TestAccountLifecycle(t *testing.T) {
	s, ctx := open(t), context.Background()
	k := newKey()
	if _, err := s.Account(ctx, k); !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("missing account: got %v, want NotFound", err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	a := Account{Key: k, Email: "a@contoso.example", DisplayName: "A", CreatedAt: now, UpdatedAt: now}
	if err := s.CreateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAccount(ctx, a); !apperr.Is(err, apperr.Conflict) {
		t.Fatalf("second create: got %v, want Conflict", err)
	}
	got, err := s.Account(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	if got.Email != a.Email || got.DisplayName != "A" || !got.CreatedAt.Equal(now) || got.ETag == "" || got.Deleting() {
		t.Errorf("got %+v", got)
	}
	stale := got
	got.DisplayName = "B"
	if err := s.UpdateAccount(ctx, got); err != nil {
		t.Fatal(err)
	}
	stale.DisplayName = "C"
	if err := s.UpdateAccount(ctx, stale); !apperr.Is(err, apperr.Conflict) {
		t.Errorf("update with a stale ETag: got %v, want Conflict", err)
	}
	if err := s.DeleteAccountRow(ctx, k); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAccountRow(ctx, k); err != nil {
		t.Errorf("deleting twice must be fine: %v", err)
	}
}

func TestDebugEntriesExpire(t *testing.T) {
	s, ctx := open(t), context.Background()
	k := newKey()
	now := time.Now().UTC()
	for i, exp := range []time.Duration{-time.Minute, time.Hour, -time.Second} {
		d := DebugEntry{Kind: "install", Detail: "{}", CreatedAt: now.Add(time.Duration(i) * time.Millisecond), ExpiresAt: now.Add(exp)}
		if err := s.AddDebugEntry(ctx, k, d); err != nil {
			t.Fatal(err)
		}
	}
	// Other tests (and the end-to-end retention timer) share the table, so
	// judge by what is left of ours, not by the count.
	if _, err := s.DeleteExpiredDebugEntries(ctx, now); err != nil {
		t.Fatal(err)
	}
	left, err := s.DebugEntries(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 || !left[0].ExpiresAt.After(now) {
		t.Errorf("left %+v, want only the unexpired entry", left)
	}
	if n, err := s.DeleteDebugEntries(ctx, k); err != nil || n != 1 {
		t.Errorf("delete partition: %d, %v", n, err)
	}
}

func TestDeletePartitionInBatches(t *testing.T) {
	s, ctx := open(t), context.Background()
	k := newKey()
	now := time.Now().UTC()
	for i := range 230 {
		d := DebugEntry{Kind: "install", CreatedAt: now.Add(time.Duration(i) * time.Microsecond), ExpiresAt: now.Add(time.Hour)}
		if err := s.AddDebugEntry(ctx, k, d); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.DeleteDebugEntries(ctx, k)
	if err != nil || n != 230 {
		t.Fatalf("deleted %d, %v; want 230", n, err)
	}
	left, _ := s.DebugEntries(ctx, k)
	if len(left) != 0 {
		t.Errorf("%d entries left", len(left))
	}
}

func TestPendingDeletions(t *testing.T) {
	s, ctx := open(t), context.Background()
	k := newKey()
	// Newer than the retention timer's 15-minute stall bound, so a timer
	// running in another test cannot finish it under our feet.
	at := time.Now().UTC().Add(-time.Minute)
	if err := s.RecordDeletion(ctx, Deletion{Account: k, RequestedAt: at}); err != nil {
		t.Fatal(err)
	}
	pending, err := s.PendingDeletions(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !containsDeletion(pending, k) {
		t.Errorf("pending deletions %v lack %v", pending, k)
	}
	pending, _ = s.PendingDeletions(ctx, at.Add(-time.Second))
	if containsDeletion(pending, k) {
		t.Error("a deletion newer than the bound was listed")
	}
	if err := s.FinishDeletion(ctx, k); err != nil {
		t.Fatal(err)
	}
	pending, _ = s.PendingDeletions(ctx, time.Now())
	if containsDeletion(pending, k) {
		t.Error("finished deletion still listed")
	}
}

func containsDeletion(ds []Deletion, k AccountKey) bool {
	for _, d := range ds {
		if d.Account == k {
			return true
		}
	}
	return false
}

func TestBlobs(t *testing.T) {
	s, ctx := open(t), context.Background()
	container := testenv.Name("c")
	if _, err := s.GetBlob(ctx, container, "x"); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("missing blob: got %v, want NotFound", err)
	}
	for _, n := range []string{"a/1", "a/2", "b/1"} {
		if err := s.PutBlob(ctx, container, n, []byte("data "+n)); err != nil {
			t.Fatal(err)
		}
	}
	b, err := s.GetBlob(ctx, container, "a/2")
	if err != nil || string(b) != "data a/2" {
		t.Errorf("get: %q, %v", b, err)
	}
	n, err := s.DeleteBlobs(ctx, container, "a/")
	if err != nil || n != 2 {
		t.Errorf("delete prefix: %d, %v", n, err)
	}
	left, _ := s.ListBlobs(ctx, container, "")
	if len(left) != 1 || left[0] != "b/1" {
		t.Errorf("left %v", left)
	}
	if err := s.DeleteBlob(ctx, container, "a/1"); err != nil {
		t.Errorf("deleting a missing blob: %v", err)
	}
}
