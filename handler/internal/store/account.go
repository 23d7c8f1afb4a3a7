package store

import (
	"context"
	"time"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/apperr"
)

// Account is everything we keep about a person: the ids, their sign-in
// address, a display name and where notifications go. Nothing else about the
// login is stored.
type Account struct {
	Key               account.Key
	Email             string
	DisplayName       string
	NotificationEmail string
	CreatedAt         time.Time
	UpdatedAt         time.Time
	// DeletionRequestedAt is set once the person asked to delete the account.
	DeletionRequestedAt time.Time
	// ETag guards updates against lost writes.
	ETag string
}

// Deleting reports whether the account's deletion is under way.
func (a Account) Deleting() bool { return !a.DeletionRequestedAt.IsZero() }

func accountEntity(a Account) entity {
	e := newEntity(a.Key.TenantID, a.Key.ObjectID)
	e.Properties["Email"] = a.Email
	e.Properties["DisplayName"] = a.DisplayName
	e.Properties["NotificationEmail"] = a.NotificationEmail
	setTime(e, "CreatedAt", a.CreatedAt)
	setTime(e, "UpdatedAt", a.UpdatedAt)
	setTime(e, "DeletionRequestedAt", a.DeletionRequestedAt)
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
