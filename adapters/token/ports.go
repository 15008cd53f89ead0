package token

import (
	"context"
	"time"

	"github.com/iotplatform/enduser-auth/domain"
)

// KeyRepository stores the access tokens' signing keys, so that every
// instance signs and verifies with the same keys. Private keys are encrypted
// at rest by the implementation. It is the port this package needs; the
// Postgres store implements it, the memory store too (both pass
// adapters/repotest's contract).
type KeyRepository interface {
	// SigningKeys lists the active key and the keys retired at or after
	// retiredSince, newest first.
	SigningKeys(ctx context.Context, retiredSince time.Time) ([]domain.SigningKey, error)
	// AddSigningKey stores k as the active signer, in one transaction. With
	// retireActive, the currently active key (if any) is retired at
	// k.CreatedAt first (rotation). Without it, nothing is stored when an
	// active key exists (first start raced by another instance) and it
	// reports false.
	AddSigningKey(ctx context.Context, k domain.SigningKey, retireActive bool) (bool, error)
	// RevokeSigningKey revokes kid at at: SigningKeys never lists it again.
	// When kid was the active key, replacement becomes the active key in the
	// same transaction and it reports true. An unknown or already revoked
	// kid is KindNotFound.
	RevokeSigningKey(ctx context.Context, kid string, at time.Time, replacement domain.SigningKey) (bool, error)
}
