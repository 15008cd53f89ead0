package postgres

import (
	"context"
	"encoding/hex"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// ClaimWebsiteState implements application.WebsiteStateStore: one INSERT
// that does nothing when the digest is claimed already (the primary key
// decides between concurrent logins, on any instance). The digest travels
// in hex (GORM would expand a []byte argument into a list).
func (s *Store) ClaimWebsiteState(ctx context.Context, digest []byte, expiresAt time.Time) (bool, error) {
	res := s.do(ctx, func(db *gorm.DB) *gorm.DB {
		return db.Exec(`INSERT INTO enduser_website_states_spent (digest, expires_at) VALUES (decode(?, 'hex'), ?)
			ON CONFLICT (digest) DO NOTHING`, hex.EncodeToString(digest), dbTime(expiresAt))
	})
	if res.Error != nil {
		return false, fmt.Errorf("claim website state: %w", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// PurgeWebsiteStates implements application.WebsiteStateStore: one batch,
// by the expiry index.
func (s *Store) PurgeWebsiteStates(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	res := s.do(ctx, func(db *gorm.DB) *gorm.DB {
		return db.Exec(`DELETE FROM enduser_website_states_spent WHERE digest IN (
			SELECT digest FROM enduser_website_states_spent WHERE expires_at < ? ORDER BY expires_at LIMIT ?)`, dbTime(cutoff), limit)
	})
	if res.Error != nil {
		return 0, fmt.Errorf("purge website states: %w", res.Error)
	}
	return int(res.RowsAffected), nil
}
