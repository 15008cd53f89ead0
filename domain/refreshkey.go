package domain

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"time"
)

// RefreshMasterKeySize is the size of a refresh master key (256 bits).
const RefreshMasterKeySize = 32

// refreshKeyInfo is HKDF's info prefix (then the session id): a key derived
// for anything else from the same secret can never equal a session's key.
const refreshKeyInfo = "enduser-auth refresh token v2 session key\x00"

// RefreshMasterKey is a secret from which the refresh keys of version-2
// sessions are derived (HKDF-SHA-256, the session id as info). Every
// instance holds the same keys (stored encrypted), so any of them checks a
// version-2 refresh token in memory. Keys have ids so that a new one can be
// added later (rotation): a token names the key of its session, which keeps
// it for life.
type RefreshMasterKey struct {
	id        uint32
	secret    []byte
	prk       []byte // HKDF-Extract(secret), once: a session key is then one HKDF-Expand
	createdAt time.Time
}

func newRefreshMasterKey(id uint32, secret []byte, createdAt time.Time) RefreshMasterKey {
	prk, err := hkdf.Extract(sha256.New, secret, nil)
	if err != nil {
		panic("hkdf: " + err.Error()) // HKDF-Extract with SHA-256 does not fail
	}
	return RefreshMasterKey{id: id, secret: secret, prk: prk, createdAt: createdAt}
}

// NewRefreshMasterKey returns a new random master key with id (> 0).
func NewRefreshMasterKey(id uint32, now time.Time) RefreshMasterKey {
	secret := make([]byte, RefreshMasterKeySize)
	_, _ = rand.Read(secret) // crypto/rand.Read never fails on supported platforms
	return newRefreshMasterKey(id, secret, now)
}

// UnmarshalRefreshMasterKeyFromDatabase rehydrates a stored master key.
func UnmarshalRefreshMasterKeyFromDatabase(id uint32, secret []byte, createdAt time.Time) (RefreshMasterKey, error) {
	if id == 0 || len(secret) != RefreshMasterKeySize {
		return RefreshMasterKey{}, fmt.Errorf("refresh master key %d: id 0 or a secret of %d bytes", id, len(secret))
	}
	return newRefreshMasterKey(id, secret, createdAt), nil
}

// ID is the master key's id, carried by the version-2 tokens it keys.
func (k RefreshMasterKey) ID() uint32 { return k.id }

// Secret is the master key's secret.
func (k RefreshMasterKey) Secret() []byte { return k.secret }

// CreatedAt is when the master key was created.
func (k RefreshMasterKey) CreatedAt() time.Time { return k.createdAt }

// sessionKey derives the refresh key of session id: HKDF-SHA-256 (RFC 5869)
// of the secret, no salt, info = refreshKeyInfo || session id.
func (k RefreshMasterKey) sessionKey(id SessionID) []byte {
	key, err := hkdf.Expand(sha256.New, k.prk, refreshKeyInfo+string(id[:]), RefreshKeySize)
	if err != nil {
		panic("hkdf: " + err.Error()) // only for a key length HKDF-SHA-256 cannot produce
	}
	return key
}

// Verify checks a version-2 refresh token against this master key, in
// memory: the token names this key, and its HMAC under the key derived for
// its session is right (constant time). Errors: KindTokenInvalid.
func (k RefreshMasterKey) Verify(p PresentedRefreshToken) error {
	if p.Version != RefreshTokenV2 || p.MasterKeyID != k.id || len(k.secret) != RefreshMasterKeySize {
		return E(KindTokenInvalid)
	}
	return checkRefreshMAC(k.sessionKey(p.SessionID), p)
}
