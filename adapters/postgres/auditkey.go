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
	enc := s.seal(seed, auditKeyAAD)
	if res := s.do(ctx, func(db *gorm.DB) *gorm.DB {
		return db.Exec(`INSERT INTO enduser_audit_keys (id, key_enc) VALUES (1, ?) ON CONFLICT (id) DO NOTHING`, enc)
	}); res.Error != nil {
		return nil, fmt.Errorf("store the audit openid key: %w", res.Error)
	}
	var row struct{ KeyEnc []byte }
	if res := s.do(ctx, func(db *gorm.DB) *gorm.DB {
		return db.Raw(`SELECT key_enc FROM enduser_audit_keys WHERE id = 1`).Scan(&row)
	}); res.Error != nil {
		return nil, fmt.Errorf("read the audit openid key: %w", res.Error)
	}
	key, err := s.open(row.KeyEnc, auditKeyAAD)
	if err != nil {
		return nil, fmt.Errorf("open the audit openid key: %w", err)
	}
	return key, nil
}
