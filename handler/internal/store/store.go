// Package store keeps the app's state in Azure Table and Blob storage. It is
// the only package that imports the storage SDKs: their errors are translated
// here into apperr kinds, so callers branch on meaning, not on SDK codes.
package store

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/config"
)

// The tables and containers the store uses.
const (
	tableAccounts  = "accounts"
	tableDebugLog  = "debuglog"
	tableDeletions = "deletions"
)

// Store is the app's state: tables and blob containers in one storage account.
type Store struct {
	tables *aztables.ServiceClient
	blobs  *azblob.Client

	mu      sync.Mutex
	clients map[string]*aztables.Client
	// made are the tables ensureTable has made sure of.
	made map[string]bool
}

// Open connects to the storage account of conn. It does no I/O: tables and
// containers are created on first use, so start-up stays fast.
func Open(conn config.Connection) (*Store, error) {
	s := &Store{clients: map[string]*aztables.Client{}}
	if conn.ConnectionString != "" {
		t, err := aztables.NewServiceClientFromConnectionString(conn.ConnectionString, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: table client: %w", conn.Name, err)
		}
		b, err := azblob.NewClientFromConnectionString(conn.ConnectionString, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: blob client: %w", conn.Name, err)
		}
		s.tables, s.blobs = t, b
		return s, nil
	}
	if conn.TableServiceURI == "" || conn.BlobServiceURI == "" {
		return nil, fmt.Errorf("%s: identity-based storage needs __accountName, or both __tableServiceUri and __blobServiceUri", conn.Name)
	}
	cred, err := conn.TokenCredential()
	if err != nil {
		return nil, err
	}
	t, err := aztables.NewServiceClient(conn.TableServiceURI, cred, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: table client: %w", conn.Name, err)
	}
	b, err := azblob.NewClient(conn.BlobServiceURI, cred, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: blob client: %w", conn.Name, err)
	}
	s.tables, s.blobs = t, b
	return s, nil
}

func (s *Store) table(name string) *aztables.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.clients[name]
	if !ok {
		c = s.tables.NewClient(name)
		s.clients[name] = c
	}
	return c
}

// onTable runs op against a table, creating the table once if it does not
// exist yet and running op again. Azurite starts empty; in Azure the
// infrastructure creates the tables, so this path is taken only locally.
func (s *Store) onTable(ctx context.Context, name string, op func(*aztables.Client) error) error {
	c := s.table(name)
	err := op(c)
	if !hasCode(err, "TableNotFound") {
		return err
	}
	if _, cerr := c.CreateTable(ctx, nil); cerr != nil && !hasCode(cerr, "TableAlreadyExists") {
		return fmt.Errorf("create table %s: %w", name, translate(cerr))
	}
	return op(c)
}

// ensureTable creates table name unless this process already made sure
// it exists.
func (s *Store) ensureTable(ctx context.Context, name string) error {
	s.mu.Lock()
	done := s.made[name]
	s.mu.Unlock()
	if done {
		return nil
	}
	if _, err := s.table(name).CreateTable(ctx, nil); err != nil && !hasCode(err, "TableAlreadyExists") {
		return fmt.Errorf("create table %s: %w", name, translate(err))
	}
	s.mu.Lock()
	if s.made == nil {
		s.made = map[string]bool{}
	}
	s.made[name] = true
	s.mu.Unlock()
	return nil
}

// hasCode reports whether err is a storage error with the given error code.
func hasCode(err error, code string) bool {
	var re *azcore.ResponseError
	return errors.As(err, &re) && re.ErrorCode == code
}

// translate turns an SDK error into an apperr kind: missing things are
// NotFound, lost races are Conflict, throttling and outages are Transient.
func translate(err error) error {
	if err == nil {
		return nil
	}
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		// No response at all: a network error or a cancelled context.
		return apperr.Wrap(err, apperr.Transient, "storage_unavailable", "storage is unavailable")
	}
	switch {
	case re.StatusCode == http.StatusNotFound:
		return apperr.Wrap(err, apperr.NotFound, "not_found", "not found")
	case re.StatusCode == http.StatusConflict || re.StatusCode == http.StatusPreconditionFailed:
		return apperr.Wrap(err, apperr.Conflict, "conflict", "changed by someone else; reload and try again")
	case re.StatusCode == http.StatusTooManyRequests || re.StatusCode >= 500 || re.StatusCode == http.StatusRequestTimeout:
		return apperr.Wrap(err, apperr.Transient, "storage_busy", "storage is busy; try again")
	}
	return apperr.Wrap(err, apperr.Internal, "storage_error", "storage refused the request")
}
