package token

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"slices"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

// heldKey is a key as the issuer holds it.
type heldKey struct {
	kid       string
	public    ed25519.PublicKey
	createdAt time.Time
	// private is held only while the key may sign: while it is active, and
	// for PublishDelay after its retirement.
	private ed25519.PrivateKey
	// signsUntil and verifiesUntil are zero while the key is active.
	signsUntil    time.Time
	verifiesUntil time.Time
}

func (k *heldKey) verifiesAt(now time.Time) bool {
	return k.verifiesUntil.IsZero() || now.Before(k.verifiesUntil)
}

// maySignAt reports whether the key may sign at now: it is active, or it was
// retired less than PublishDelay ago (its successor is not signing yet).
func (k *heldKey) maySignAt(now time.Time) bool {
	return k.private != nil && (k.signsUntil.IsZero() || now.Before(k.signsUntil))
}

// keySet is one immutable snapshot of the keys. Which key signs depends on
// the time (signerAt), so that every instance switches to a new key at the
// same instant, without a reload.
type keySet struct {
	byKID        map[string]*heldKey
	byHeader     map[string]*heldKey // the header segment the issuer writes for the key (see parseFast)
	ordered      []*heldKey          // newest first
	publishDelay time.Duration
}

// signerAt returns the key that signs at now: the newest key that has been
// published for publishDelay and may still sign. When there is none, which
// happens only while the first keys of a store are younger than the delay,
// the oldest key that may sign signs: the store's first key signs at once. It
// returns nil when no key may sign.
func (s *keySet) signerAt(now time.Time) *heldKey {
	publishedBy := now.Add(-s.publishDelay)
	var oldest *heldKey
	for _, k := range s.ordered {
		if !k.maySignAt(now) {
			continue
		}
		if !k.createdAt.After(publishedBy) {
			return k
		}
		oldest = k
	}
	return oldest
}

// newKeySet builds a snapshot from the repository's keys. Keys of another
// algorithm are skipped: this version cannot use them. A malformed Ed25519
// key is an error, as is a missing or mismatched private key of a key that
// may sign at now or later.
func newKeySet(list []domain.SigningKey, cfg Config, now time.Time) (*keySet, error) {
	set := &keySet{byKID: make(map[string]*heldKey, len(list)), byHeader: make(map[string]*heldKey, len(list)),
		publishDelay: cfg.PublishDelay}
	for _, k := range list {
		if k.Algorithm != domain.SigningKeyAlgorithm {
			continue
		}
		if _, dup := set.byKID[k.KID]; dup {
			continue
		}
		h, err := newHeldKey(k, cfg, now)
		if err != nil {
			return nil, err
		}
		header, err := headerFor(k.KID)
		if err != nil {
			return nil, err
		}
		set.byKID[k.KID] = h
		set.byHeader[header] = h
		set.ordered = append(set.ordered, h)
	}
	slices.SortStableFunc(set.ordered, func(a, b *heldKey) int { return b.age(a) })
	return set, nil
}

// age compares the creation of k and o: -1 when k is older. Of two keys
// created at the same instant (a rotation within the clock's resolution),
// the one retired first is the older; an active key is the newest.
func (k *heldKey) age(o *heldKey) int {
	if c := k.createdAt.Compare(o.createdAt); c != 0 {
		return c
	}
	switch {
	case k.signsUntil.Equal(o.signsUntil):
		return 0
	case k.signsUntil.IsZero():
		return 1
	case o.signsUntil.IsZero():
		return -1
	}
	return k.signsUntil.Compare(o.signsUntil)
}

// newHeldKey checks a stored Ed25519 key and keeps its private key if it may
// sign at now or later.
func newHeldKey(k domain.SigningKey, cfg Config, now time.Time) (*heldKey, error) {
	if k.KID == "" || len(k.PublicKey) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("signing key %q: malformed public key", k.KID)
	}
	h := &heldKey{
		kid:           k.KID,
		public:        ed25519.PublicKey(bytes.Clone(k.PublicKey)),
		createdAt:     k.CreatedAt,
		verifiesUntil: k.VerifiesUntil(cfg.AccessTokenTTL, cfg.verifySlack()),
	}
	if k.Retired() {
		h.signsUntil = k.RetiredAt.Add(cfg.PublishDelay)
		if !now.Before(h.signsUntil) {
			return h, nil
		}
	}
	priv := ed25519.PrivateKey(k.PrivateKey)
	if len(priv) != ed25519.PrivateKeySize || !bytes.Equal(priv.Public().(ed25519.PublicKey), h.public) {
		return nil, fmt.Errorf("signing key %q: private key missing or not matching its public key", k.KID)
	}
	h.private = ed25519.PrivateKey(bytes.Clone(priv))
	return h, nil
}

// newSigningKey generates an Ed25519 key whose kid is derived from its
// public key. A key whose kid would start with "-" is drawn again (1 in 64):
// an operator types the kid on a command line (`enduser keys revoke KID`),
// where a leading dash reads as a flag.
func newSigningKey(now time.Time) (domain.SigningKey, error) {
	for {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return domain.SigningKey{}, fmt.Errorf("token: generating a signing key: %w", err)
		}
		if kid := kidOf(pub); kid[0] != '-' {
			return domain.SigningKey{KID: kid, Algorithm: domain.SigningKeyAlgorithm, PublicKey: pub, PrivateKey: priv, CreatedAt: now}, nil
		}
	}
}

// kidOf is base64url of the first 12 bytes of SHA-256 of the public key.
func kidOf(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}
