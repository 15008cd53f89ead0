package postgres

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"
)

// auditKeyAAD names the one row of enduser_audit_keys in its seal.
const auditKeyAAD = "audit_key:1"

// AuditOpenIDKey returns the audit trail's openid hashing key: the stored one
// when there is one, else seed, stored first (one INSERT ... ON CONFLICT DO
// NOTHING, so concurrent first starts agree on one key). The key is sealed
// under the master key, so a master key rotation re-seals it rather than
// changing it, and the hashes of old and new audit records stay comparable.
func (s *Store) AuditOpenIDKey(ctx context.Context, seed []byte) ([]byte, error) {
	if len(seed) < 32 {
		return nil, errors.New("audit openid key: the seed must be at least 32 bytes")
	}
	return s.singletonKey(ctx, "enduser_audit_keys", auditKeyAAD, "the audit openid key", seed)
}

// singletonKey returns the key held sealed in the one row (id 1) of table:
// the stored one when there is one, else seed, stored first (one INSERT ...
// ON CONFLICT DO NOTHING, so concurrent first uses agree on one key). aad
// binds the seal to the row; what names the key in errors. table is one of
// the module's constant table names, never input.
func (s *Store) singletonKey(ctx context.Context, table, aad, what string, seed []byte) ([]byte, error) {
	enc := s.seal(seed, aad)
	if res := s.do(ctx, func(db *gorm.DB) *gorm.DB {
		return db.Exec(`INSERT INTO `+table+` (id, key_enc) VALUES (1, ?) ON CONFLICT (id) DO NOTHING`, enc)
	}); res.Error != nil {
		return nil, fmt.Errorf("store %s: %w", what, res.Error)
	}
	var row struct{ KeyEnc []byte }
	if res := s.do(ctx, func(db *gorm.DB) *gorm.DB {
		return db.Raw(`SELECT key_enc FROM ` + table + ` WHERE id = 1`).Scan(&row)
	}); res.Error != nil {
		return nil, fmt.Errorf("read %s: %w", what, res.Error)
	}
	key, err := s.open(row.KeyEnc, aad)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", what, err)
	}
	return key, nil
}
