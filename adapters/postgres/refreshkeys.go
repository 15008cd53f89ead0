package postgres

import (
	"context"
	"fmt"
	"strconv"

	"gorm.io/gorm"

	"github.com/iotplatform/enduser-auth/domain"
)

// RefreshMasterKeys lists the refresh master keys by ascending id, their
// secrets opened.
func (s *Store) RefreshMasterKeys(ctx context.Context) ([]domain.RefreshMasterKey, error) {
	var rows []refreshKeyRow
	if err := s.db.WithContext(ctx).Order("id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("list refresh master keys: %w", err)
	}
	keys := make([]domain.RefreshMasterKey, 0, len(rows))
	for _, r := range rows {
		secret, err := s.open(r.SecretEnc, refreshKeyAAD(r.ID))
		if err != nil {
			return nil, err
		}
		k, err := domain.UnmarshalRefreshMasterKeyFromDatabase(uint32(r.ID), secret, r.CreatedAt.UTC())
		if err != nil {
			return nil, fmt.Errorf("list refresh master keys: %w", err)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// AddRefreshMasterKey stores k unless its id is taken (one INSERT ... ON
// CONFLICT DO NOTHING): it reports whether it stored k.
func (s *Store) AddRefreshMasterKey(ctx context.Context, k domain.RefreshMasterKey) (bool, error) {
	if k.ID() == 0 || k.ID() > 1<<31-1 {
		return false, fmt.Errorf("add refresh master key %d: the id must be in 1..2^31-1", k.ID())
	}
	id := int32(k.ID())
	enc := s.seal(k.Secret(), refreshKeyAAD(id))
	res := s.do(ctx, func(db *gorm.DB) *gorm.DB {
		return db.Exec(`INSERT INTO enduser_refresh_keys (id, secret_enc, created_at) VALUES (?, ?, ?)
		ON CONFLICT (id) DO NOTHING`, id, enc, dbTime(k.CreatedAt()))
	})
	if res.Error != nil {
		return false, fmt.Errorf("add refresh master key %d: %w", id, res.Error)
	}
	return res.RowsAffected == 1, nil
}

func refreshKeyAAD(id int32) string { return "refresh_key:" + strconv.FormatInt(int64(id), 10) }
