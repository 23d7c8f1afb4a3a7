package store

import (
	"context"
	"time"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/apperr"
)

// Account is everything we keep about a person: the ids, their sign-in
// address, a display name, where notifications go, and whether (and where
// we stopped) reading their mailbox. Nothing else about the login is
// stored.
type Account struct {
	Key               account.Key
	Email             string
	DisplayName       string
	NotificationEmail string
	CreatedAt         time.Time
	UpdatedAt         time.Time

	// ReadMailbox is the person's opt-in to our reading their mailbox
	// (off by default): replies and bounces in the inbox, and in-doubt
	// sends looked up in Sent Items, with Graph's Mail.ReadBasic (no body,
	// no attachment). Turned on only once they allowed that permission
	// (PATCH /v1/me checks it with Microsoft). Off, nothing is read and
	// the three fields below are empty (StopReading).
	ReadMailbox bool
	// ReadMailboxSince is when reading was last turned on: the reader
	// takes nothing that arrived before it, and a cursor saved for an
	// earlier opt-in is not this one's (SaveInbox).
	ReadMailboxSince time.Time
	// InboxCursor is where the inbox reader stopped: the delta link
	// Graph's delta query of the inbox answered last (opaque to us; no
	// message content). Empty before the first read: the reader starts
	// from ReadMailboxSince.
	InboxCursor string
	// InboxReadAt is when the inbox was last read; zero before the first
	// read.
	InboxReadAt time.Time

	// DeletionRequestedAt is set once the person asked to delete the account.
	DeletionRequestedAt time.Time
	// ETag guards updates against lost writes.
	ETag string
}

// Deleting reports whether the account's deletion is under way.
func (a Account) Deleting() bool { return !a.DeletionRequestedAt.IsZero() }

// StartReading turns mailbox reading on from now (to the millisecond, as
// stored and shown), with no cursor yet.
func (a *Account) StartReading(now time.Time) {
	a.ReadMailbox, a.ReadMailboxSince, a.InboxCursor, a.InboxReadAt = true, now.UTC().Truncate(time.Millisecond), "", time.Time{}
}

// StopReading turns mailbox reading off and forgets where it stopped.
func (a *Account) StopReading() {
	a.ReadMailbox, a.ReadMailboxSince, a.InboxCursor, a.InboxReadAt = false, time.Time{}, "", time.Time{}
}

func accountEntity(a Account) entity {
	e := newEntity(a.Key.TenantID, a.Key.ObjectID)
	e.Properties["Email"] = a.Email
	e.Properties["DisplayName"] = a.DisplayName
	e.Properties["NotificationEmail"] = a.NotificationEmail
	setTime(e, "CreatedAt", a.CreatedAt)
	setTime(e, "UpdatedAt", a.UpdatedAt)
	setTime(e, "DeletionRequestedAt", a.DeletionRequestedAt)
	if a.ReadMailbox {
		e.Properties["ReadMailbox"] = true
		setTime(e, "ReadMailboxSince", a.ReadMailboxSince)
		if a.InboxCursor != "" {
			e.Properties["InboxCursor"] = a.InboxCursor
		}
		setTime(e, "InboxReadAt", a.InboxReadAt)
	}
	return e
}

func accountFrom(e entity, etag string) Account {
	return Account{
		Key:                 account.Key{TenantID: e.PartitionKey, ObjectID: e.RowKey},
		Email:               getString(e, "Email"),
		DisplayName:         getString(e, "DisplayName"),
		NotificationEmail:   getString(e, "NotificationEmail"),
		CreatedAt:           getTime(e, "CreatedAt"),
		UpdatedAt:           getTime(e, "UpdatedAt"),
		DeletionRequestedAt: getTime(e, "DeletionRequestedAt"),
		ReadMailbox:         getBool(e, "ReadMailbox"),
		ReadMailboxSince:    getTime(e, "ReadMailboxSince"),
		InboxCursor:         getString(e, "InboxCursor"),
		InboxReadAt:         getTime(e, "InboxReadAt"),
		ETag:                etag,
	}
}

// Account returns the account with key k, or a NotFound error.
func (s *Store) Account(ctx context.Context, k account.Key) (Account, error) {
	e, etag, err := s.getEntity(ctx, tableAccounts, k.TenantID, k.ObjectID)
	if apperr.Is(err, apperr.NotFound) {
		return Account{}, apperr.Wrap(err, apperr.NotFound, "account_not_found", "no account for this sign-in yet; open the add-in to install it")
	}
	if err != nil {
		return Account{}, err
	}
	return accountFrom(e, etag), nil
}

// CreateAccount inserts a new account; a Conflict means it exists already.
func (s *Store) CreateAccount(ctx context.Context, a Account) error {
	return s.addEntity(ctx, tableAccounts, accountEntity(a))
}

// UpdateAccount replaces the account if it has not changed since it was read
// (a.ETag); otherwise it returns a Conflict.
func (s *Store) UpdateAccount(ctx context.Context, a Account) error {
	return s.replaceEntity(ctx, tableAccounts, accountEntity(a), a.ETag)
}

// DeleteAccountRow removes the account row itself; deleting a missing row is fine.
func (s *Store) DeleteAccountRow(ctx context.Context, k account.Key) error {
	return s.deleteEntity(ctx, tableAccounts, k.TenantID, k.ObjectID)
}

// SaveInbox records where the inbox reader stopped (cursor) and when
// (readAt) for the opt-in that began at since, and reports whether it did:
// if the person turned reading off meanwhile, or off and on again (a new
// since), nothing is written and what they turned off stays forgotten. It
// retries an update that raced another (a rename, say).
func (s *Store) SaveInbox(ctx context.Context, k account.Key, since time.Time, cursor string, readAt time.Time) (bool, error) {
	for range 3 {
		a, err := s.Account(ctx, k)
		if err != nil {
			return false, err
		}
		if !a.ReadMailbox || !a.ReadMailboxSince.Equal(since) || a.Deleting() {
			return false, nil
		}
		a.InboxCursor, a.InboxReadAt = cursor, readAt.UTC()
		err = s.UpdateAccount(ctx, a)
		if apperr.Is(err, apperr.Conflict) {
			continue
		}
		return err == nil, err
	}
	return false, apperr.E(apperr.Transient, "busy", "the account kept changing; try again")
}
