package store

import (
	"context"
	"testing"
	"time"
)

// TestMailboxReadingState: the opt-in and the reader's place are stored
// with the account; SaveInbox writes the place only for the opt-in it
// read under; turned off, everything of it is forgotten, in storage too.
func TestMailboxReadingState(t *testing.T) {
	s, ctx := open(t), context.Background()
	k := newKey()
	now := time.Now().UTC().Truncate(time.Millisecond)
	if err := s.CreateAccount(ctx, Account{Key: k, Email: "a@contoso.example", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	a, err := s.Account(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	if a.ReadMailbox || !a.ReadMailboxSince.IsZero() || a.InboxCursor != "" || !a.InboxReadAt.IsZero() {
		t.Fatalf("a new account reads its mailbox: %+v", a)
	}
	if saved, err := s.SaveInbox(ctx, k, time.Time{}, "cursor-0", now); err != nil || saved {
		t.Errorf("SaveInbox with reading off = %v, %v; want nothing saved", saved, err)
	}

	a.StartReading(now)
	if err := s.UpdateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	if a, err = s.Account(ctx, k); err != nil {
		t.Fatal(err)
	}
	if !a.ReadMailbox || !a.ReadMailboxSince.Equal(now) {
		t.Fatalf("after StartReading: %+v", a)
	}
	since := a.ReadMailboxSince
	cursor := "https://graph.microsoft.com/v1.0/me/mailFolders('inbox')/messages/delta?$deltatoken=abc"
	if saved, err := s.SaveInbox(ctx, k, since, cursor, now.Add(time.Minute)); err != nil || !saved {
		t.Fatalf("SaveInbox = %v, %v", saved, err)
	}
	if saved, err := s.SaveInbox(ctx, k, since.Add(-time.Hour), "an older opt-in's", now); err != nil || saved {
		t.Errorf("SaveInbox for another opt-in = %v, %v; want nothing saved", saved, err)
	}
	if a, err = s.Account(ctx, k); err != nil {
		t.Fatal(err)
	}
	if a.InboxCursor != cursor || !a.InboxReadAt.Equal(now.Add(time.Minute)) {
		t.Errorf("stored place %q at %v", a.InboxCursor, a.InboxReadAt)
	}

	a.StopReading()
	if err := s.UpdateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	if saved, err := s.SaveInbox(ctx, k, since, cursor, now.Add(2*time.Minute)); err != nil || saved {
		t.Errorf("SaveInbox after reading was turned off = %v, %v", saved, err)
	}
	e, _, err := s.getEntity(ctx, tableAccounts, k.TenantID, k.ObjectID)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"ReadMailbox", "ReadMailboxSince", "InboxCursor", "InboxReadAt"} {
		if v, ok := e.Properties[p]; ok {
			t.Errorf("after StopReading the stored account still has %s = %v", p, v)
		}
	}
}
