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
// retiredSince, newest first, with their private keys opened; never a
// revoked key.
func (s *Store) SigningKeys(ctx context.Context, retiredSince time.Time) ([]domain.SigningKey, error) {
	var rows []signingKeyRow
	err := s.do(ctx, func(db *gorm.DB) *gorm.DB {
		return db.
			Where("revoked_at IS NULL AND (retired_at IS NULL OR retired_at >= ?)", dbTime(retiredSince)).
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

// RevokeSigningKey revokes kid at at and, when kid was the active key,
// stores replacement as the active key, in one transaction under the
// rotation's table lock. An unknown or already revoked kid is KindNotFound.
func (s *Store) RevokeSigningKey(ctx context.Context, kid string, at time.Time, replacement domain.SigningKey) (bool, error) {
	row := signingKeyRow{
		KID: replacement.KID, Algorithm: replacement.Algorithm, PublicKey: replacement.PublicKey,
		PrivateKeyEnc: s.seal(replacement.PrivateKey, signingKeyAAD(replacement.KID)), CreatedAt: dbTime(replacement.CreatedAt),
	}
	var replaced bool
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		replaced = false
		if err := tx.Exec("LOCK TABLE enduser_signing_keys IN SHARE ROW EXCLUSIVE MODE").Error; err != nil {
			return err
		}
		var found []signingKeyRow
		if err := tx.Select("kid", "retired_at").Where("kid = ? AND revoked_at IS NULL", kid).Find(&found).Error; err != nil {
			return err
		}
		if len(found) == 0 {
			return domain.Errorf(domain.KindNotFound, "no signing key %q (or it is revoked already)", kid)
		}
		if err := tx.Exec(`UPDATE enduser_signing_keys SET revoked_at = ?, retired_at = COALESCE(retired_at, ?) WHERE kid = ?`,
			dbTime(at), dbTime(at), kid).Error; err != nil {
			return err
		}
		if found[0].RetiredAt != nil {
			return nil
		}
		replaced = true
		return tx.Create(&row).Error
	})
	if err != nil {
		var de *domain.Error
		if errors.As(err, &de) {
			return false, err
		}
		return false, fmt.Errorf("revoke signing key %s: %w", kid, err)
	}
	return replaced, nil
}

// violates reports whether err is a unique violation of the named index.
func violates(err error, constraint string) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == uniqueViolation && pgErr.ConstraintName == constraint
}
