package app

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
)

// addressSealer keeps a campaign's address token retrievable by its
// owner: encrypted (AES-256-GCM, a key derived from TOKEN_CACHE_KEY for
// this use alone) beside its hash, which finds the campaign. The address
// only starts a campaign from its owner's verified address, so showing it
// again to them gives nothing away, and a new one would break the one
// already pasted into an Outlook draft.
type addressSealer struct {
	aead cipher.AEAD
}

func newAddressSealer(key []byte) (*addressSealer, error) {
	if len(key) < 32 {
		return nil, errors.New("address key: 32 bytes needed")
	}
	k, err := hkdf.Key(sha256.New, key, nil, "mailmerge campaign address", 32)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(k)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, err
	}
	return &addressSealer{aead: aead}, nil
}

// seal encrypts token for campaignID (its id is bound in: a sealed token
// copied to another campaign does not open).
func (s *addressSealer) seal(campaignID, token string) string {
	// The AEAD makes its own random nonce (NewGCMWithRandomNonce).
	return base64.RawStdEncoding.EncodeToString(s.aead.Seal(nil, nil, []byte(token), []byte(campaignID)))
}

// open decrypts a sealed token of campaignID.
func (s *addressSealer) open(campaignID, sealed string) (string, error) {
	raw, err := base64.RawStdEncoding.DecodeString(sealed)
	if err != nil {
		return "", fmt.Errorf("sealed address: %w", err)
	}
	token, err := s.aead.Open(nil, nil, raw, []byte(campaignID))
	if err != nil {
		return "", fmt.Errorf("sealed address: %w", err)
	}
	return string(token), nil
}
