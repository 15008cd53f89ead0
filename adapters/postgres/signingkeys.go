package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/iotplatform/enduser-auth/domain"
)

// oneActiveKeyIndex is the partial unique index that allows one active key.
const oneActiveKeyIndex = "enduser_signing_keys_one_active_idx"

// SigningKeys lists the active key and the keys retired at or after
// retiredSince, newest first, with their private keys opened.
func (s *Store) SigningKeys(ctx context.Context, retiredSince time.Time) ([]domain.SigningKey, error) {
	var rows []signingKeyRow
	err := s.do(ctx, func(db *gorm.DB) *gorm.DB {
		return db.
			Where("retired_at IS NULL OR retired_at >= ?", dbTime(retiredSince)).
			Order("created_at DESC, kid DESC").
			Find(&rows)
	}).Error
	if err != nil {
		return nil, fmt.Errorf("list signing keys: %w", err)
	}
	keys := make([]domain.SigningKey, 0, len(rows))
	for _, r := range rows {
		priv, err := s.open(r.PrivateKeyEnc, signingKeyAAD(r.KID))
		if err != nil {
			return nil, err
		}
		keys = append(keys, domain.SigningKey{
			KID: r.KID, Algorithm: r.Algorithm, PublicKey: r.PublicKey, PrivateKey: priv,
			CreatedAt: r.CreatedAt.UTC(), RetiredAt: fromNullTime(r.RetiredAt),
		})
	}
	return keys, nil
}

// AddSigningKey stores k as the active key. Without retireActive it stores
// nothing and reports false when a key is active already (another instance
// won the first start): one INSERT, which the one-active index arbitrates.
// With retireActive it retires the active key at k.CreatedAt and stores k in
// one transaction (see rotate).
func (s *Store) AddSigningKey(ctx context.Context, k domain.SigningKey, retireActive bool) (bool, error) {
	row := signingKeyRow{
		KID:           k.KID,
		Algorithm:     k.Algorithm,
		PublicKey:     k.PublicKey,
		PrivateKeyEnc: s.seal(k.PrivateKey, signingKeyAAD(k.KID)),
		CreatedAt:     dbTime(k.CreatedAt),
		RetiredAt:     nullTime(k.RetiredAt),
	}
	if !retireActive {
		err := s.do(ctx, func(db *gorm.DB) *gorm.DB {
			return db.Create(&row)
		}).Error
		if violates(err, oneActiveKeyIndex) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("add signing key %s: %w", k.KID, err)
		}
		return true, nil
	}
	if err := s.transaction(ctx, func(tx *gorm.DB) error { return rotate(tx, row) }); err != nil {
		return false, fmt.Errorf("rotate to signing key %s: %w", k.KID, err)
	}
	return true, nil
}

// rotate retires the active key and inserts row. Concurrent rotations must
// not both see the same active key (the later one would then find a newer
// active key it did not retire), so it first locks the table against other
// writers, in a mode that does not block readers; rotations are rare.
func rotate(tx *gorm.DB, row signingKeyRow) error {
	if err := tx.Exec("LOCK TABLE enduser_signing_keys IN SHARE ROW EXCLUSIVE MODE").Error; err != nil {
		return err
	}
	var active []signingKeyRow
	if err := tx.Clauses(clause.Locking{Strength: "UPDATE"}).Select("kid").Where("retired_at IS NULL").Find(&active).Error; err != nil {
		return err
	}
	for _, a := range active {
		if err := tx.Model(&signingKeyRow{}).Where("kid = ?", a.KID).Update("retired_at", row.CreatedAt).Error; err != nil {
			return err
		}
	}
	return tx.Create(&row).Error
}

// violates reports whether err is a unique violation of the named index.
func violates(err error, constraint string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == uniqueViolation && pgErr.ConstraintName == constraint
}
