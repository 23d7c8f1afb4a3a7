package grant

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/store"
)

// blobVersion is the first byte of a grant blob: the format of what follows
// (a 12-byte random nonce, then the AES-GCM sealed JSON of stored).
const blobVersion = 1

// stored is the plaintext of an account's grant blob. The assertion it was
// captured with is not kept: it expires within the hour and the refresh
// token does everything it could.
type stored struct {
	RefreshToken string    `json:"refresh_token"`
	AccessToken  string    `json:"access_token"`
	ExpiresOn    time.Time `json:"expires_on"`
	// Scope is what AccessToken was issued for.
	Scope string `json:"scope"`
}

// save encrypts s and writes it to the account's blob. The blob name is the
// additional data, so a blob copied to another account does not decrypt.
func (g *Grants) save(ctx context.Context, name string, s stored) error {
	plain, err := json.Marshal(s)
	if err != nil {
		return fmt.Errorf("grant: %w", err)
	}
	nonce := make([]byte, g.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return fmt.Errorf("grant: nonce: %w", err)
	}
	out := append([]byte{blobVersion}, nonce...)
	out = g.aead.Seal(out, nonce, plain, []byte(name))
	if err := g.blobs.PutBlob(ctx, container, name, out); err != nil {
		return fmt.Errorf("grant: save %s: %w", name, err)
	}
	return nil
}

// load reads and decrypts the account's grant. A missing blob, or one that
// does not decrypt (the key was rotated), is an expired grant.
func (g *Grants) load(ctx context.Context, account account.Key) (stored, error) {
	name := store.TokenCacheBlob(account)
	data, err := g.blobs.GetBlob(ctx, container, name)
	if apperr.Is(err, apperr.NotFound) {
		return stored{}, expired(errors.New("no grant stored"))
	}
	if err != nil {
		return stored{}, fmt.Errorf("grant: load %s: %w", name, err)
	}
	n := g.aead.NonceSize()
	if len(data) < 1+n || data[0] != blobVersion {
		return stored{}, expired(errors.New("stored grant has an unknown format"))
	}
	plain, err := g.aead.Open(nil, data[1:1+n], data[1+n:], []byte(name))
	if err != nil {
		return stored{}, expired(errors.New("stored grant does not decrypt with the current key"))
	}
	var s stored
	if err := json.Unmarshal(plain, &s); err != nil || s.RefreshToken == "" {
		return stored{}, expired(errors.New("stored grant is not readable"))
	}
	return s, nil
}
