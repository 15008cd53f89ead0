// Package secretbox encrypts secrets at rest (user domain secrets, AppSecrets,
// signing keys, session keys) with AES-256-GCM under the master key.
//
// A Box holds one or more master keys: the first (the primary) seals, every
// one opens. Each ciphertext names the key that sealed it, so that a master
// key can be rotated while the old ciphertexts stay readable:
//
//	version 2: 0x02 | key id (8 bytes) | nonce (12 bytes) | AES-256-GCM ciphertext and tag
//	version 1: 0x01 | nonce (12 bytes) | ciphertext and tag (no key id; written before key rotation existed)
//
// The key id is the first 8 bytes of SHA-256 of a fixed label and the key: it
// names a key without revealing anything usable about it. A version-1
// ciphertext is tried with each key in turn, primary first. The additional
// data the caller gives (the row and column a value belongs to) is the GCM
// additional data in both versions, unchanged.
package secretbox

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the master key size: 32 bytes (AES-256).
const KeySize = 32

// KeyIDSize is the length of the key id a version-2 ciphertext carries.
const KeyIDSize = 8

const (
	version1 = 1 // no key id
	version2 = 2 // key id after the version byte
)

// Box seals and opens secrets. It is safe for concurrent use.
type Box struct {
	keys []boxKey // keys[0] seals
	// derive is HMAC-SHA-256(primary, deriveLabel): the root of DeriveKey.
	derive []byte
}

type boxKey struct {
	id   [KeyIDSize]byte
	aead cipher.AEAD
}

// New returns a Box for a 32-byte master key.
func New(masterKey []byte) (*Box, error) { return NewKeyring(masterKey) }

// NewKeyring returns a Box that seals under primary and opens what primary
// or any of older sealed. A key listed twice is an error (a pasting slip
// that would hide which key is meant).
func NewKeyring(primary []byte, older ...[]byte) (*Box, error) {
	all := append([][]byte{primary}, older...)
	b := &Box{keys: make([]boxKey, 0, len(all))}
	for n, k := range all {
		if len(k) != KeySize {
			return nil, fmt.Errorf("master key %d: must be %d bytes, got %d", n+1, KeySize, len(k))
		}
		block, err := aes.NewCipher(k)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		id := keyID(k)
		for _, o := range b.keys {
			if o.id == id {
				return nil, fmt.Errorf("master key %d is listed twice (key id %s)", n+1, hex.EncodeToString(id[:]))
			}
		}
		b.keys = append(b.keys, boxKey{id: id, aead: aead})
	}
	m := hmac.New(sha256.New, primary)
	m.Write([]byte(deriveLabel))
	b.derive = m.Sum(nil)
	return b, nil
}

// deriveLabel separates DeriveKey's root from every other use of the key.
const deriveLabel = "enduser-auth secretbox derive v1"

// DeriveKey returns a 32-byte key derived from the primary master key for
// label (HMAC-SHA-256): the same for the same primary key and label, and
// telling nothing about the master key. A key that must outlive a master key
// rotation is derived once and then stored sealed (as the phone hash key is).
func (b *Box) DeriveKey(label string) []byte {
	m := hmac.New(sha256.New, b.derive)
	m.Write([]byte(label))
	return m.Sum(nil)
}

func keyID(k []byte) [KeyIDSize]byte {
	h := sha256.New()
	h.Write([]byte("enduser-auth secretbox key id\x00"))
	h.Write(k)
	var id [KeyIDSize]byte
	copy(id[:], h.Sum(nil))
	return id
}

// KeyID is the id (hex) that ciphertexts sealed under key carry.
func KeyID(key []byte) string {
	id := keyID(key)
	return hex.EncodeToString(id[:])
}

// PrimaryKeyID is the id (raw bytes) of the key that seals.
func (b *Box) PrimaryKeyID() []byte { return bytes.Clone(b.keys[0].id[:]) }

// KeyIDs are the hex ids of the Box's keys, the primary first.
func (b *Box) KeyIDs() []string {
	out := make([]string, len(b.keys))
	for n, k := range b.keys {
		out[n] = hex.EncodeToString(k.id[:])
	}
	return out
}

// ParseKey decodes a base64 (standard or URL, padded or not) 32-byte key.
func ParseKey(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != KeySize {
				return nil, fmt.Errorf("decodes to %d bytes, want %d", len(b), KeySize)
			}
			return b, nil
		}
	}
	return nil, errors.New("not base64")
}

// ParseKeyList decodes a comma-separated list of keys (ParseKey), the
// primary first. Blanks around the commas are ignored; an empty entry is an
// error.
func ParseKeyList(s string) ([][]byte, error) {
	parts := strings.Split(s, ",")
	out := make([][]byte, 0, len(parts))
	for n, p := range parts {
		p = strings.TrimSpace(p)
		if p == "" {
			return nil, fmt.Errorf("key %d of the list is empty", n+1)
		}
		k, err := ParseKey(p)
		if err != nil {
			return nil, fmt.Errorf("key %d of the list: %w", n+1, err)
		}
		out = append(out, k)
	}
	return out, nil
}

// Seal encrypts plaintext under the primary key. aad binds the ciphertext to
// its place (for example the row it belongs to), so a ciphertext copied
// elsewhere won't open.
func (b *Box) Seal(plaintext, aad []byte) []byte {
	k := &b.keys[0]
	ns := k.aead.NonceSize()
	head := 1 + KeyIDSize
	out := make([]byte, head+ns, head+ns+len(plaintext)+k.aead.Overhead())
	out[0] = version2
	copy(out[1:head], k.id[:])
	_, _ = rand.Read(out[head:])
	return k.aead.Seal(out, out[head:head+ns], plaintext, aad) //nolint:gosec // G407: the nonce is out[head:], filled from crypto/rand on the line above
}

// ErrOpen is returned when a ciphertext cannot be opened: wrong master key,
// tampering, or a different aad.
var ErrOpen = errors.New("secretbox: cannot decrypt (wrong master key or corrupted data)")

// ErrUnknownKey is returned (wrapped, naming the key id) when a ciphertext
// was sealed under a master key the Box does not hold: ENDUSER_MASTER_KEY
// lacks a key that some values are still sealed under.
var ErrUnknownKey = errors.New("secretbox: sealed under a master key that is not configured")

// unknownKeyError is ErrUnknownKey naming the key; it is ErrOpen too (a
// caller that only asks whether the value opened gets its answer).
type unknownKeyError struct {
	id         string
	configured []string
}

func (e *unknownKeyError) Error() string {
	return fmt.Sprintf("secretbox: sealed under master key id %s, which ENDUSER_MASTER_KEY does not list (it lists %s): cannot decrypt",
		e.id, strings.Join(e.configured, ","))
}

func (e *unknownKeyError) Is(target error) bool { return target == ErrUnknownKey || target == ErrOpen }

// Open decrypts what Seal produced with the same aad.
func (b *Box) Open(ciphertext, aad []byte) ([]byte, error) {
	if len(ciphertext) == 0 {
		return nil, ErrOpen
	}
	switch ciphertext[0] {
	case version1:
		for n := range b.keys {
			if pt, err := openWith(&b.keys[n], ciphertext[1:], aad); err == nil {
				return pt, nil
			}
		}
		return nil, ErrOpen
	case version2:
		if len(ciphertext) < 1+KeyIDSize {
			return nil, ErrOpen
		}
		id := ciphertext[1 : 1+KeyIDSize]
		for n := range b.keys {
			if bytes.Equal(b.keys[n].id[:], id) {
				return openWith(&b.keys[n], ciphertext[1+KeyIDSize:], aad)
			}
		}
		return nil, &unknownKeyError{id: hex.EncodeToString(id), configured: b.KeyIDs()}
	}
	return nil, ErrOpen
}

func openWith(k *boxKey, body, aad []byte) ([]byte, error) {
	n := k.aead.NonceSize()
	if len(body) < n+k.aead.Overhead() {
		return nil, ErrOpen
	}
	pt, err := k.aead.Open(nil, body[:n], body[n:], aad)
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// SealedUnderPrimary reports whether ciphertext names the primary key (a
// re-encryption would change nothing but the nonce).
func (b *Box) SealedUnderPrimary(ciphertext []byte) bool {
	return len(ciphertext) > 1+KeyIDSize && ciphertext[0] == version2 && bytes.Equal(ciphertext[1:1+KeyIDSize], b.keys[0].id[:])
}

// Reseal opens ciphertext with aad and seals its plaintext again under the
// primary key.
func (b *Box) Reseal(ciphertext, aad []byte) ([]byte, error) {
	pt, err := b.Open(ciphertext, aad)
	if err != nil {
		return nil, err
	}
	return b.Seal(pt, aad), nil
}
