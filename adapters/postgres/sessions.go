package postgres

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

// SessionByID loads a session with its user domain's name and opens its
// refresh key. Errors: KindTokenInvalid when there is no such session.
func (s *Store) SessionByID(ctx context.Context, id domain.SessionID) (domain.Session, error) {
	var row sessionWithDomainRow
	res := s.do(ctx, func(db *gorm.DB) *gorm.DB {
		return db.Raw(`
		SELECT s.id, s.user_id, s.user_domain_id, d.name AS user_domain, s.app_id, s.refresh_key_enc, s.refresh_counter,
		       s.created_at, s.expires_at, s.refresh_expires_at, s.rotated_at, s.revoked_at
		FROM enduser_sessions s
		JOIN enduser_user_domains d ON d.id = s.user_domain_id
		WHERE s.id = ?`, id.String()).Scan(&row)
	})
	if res.Error != nil {
		return domain.Session{}, fmt.Errorf("load session %s: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		return domain.Session{}, domain.E(domain.KindTokenInvalid)
	}
	r := row.Session
	stored, err := domain.ParseSessionID(r.ID)
	if err != nil {
		return domain.Session{}, fmt.Errorf("load session %s: %w", id, err)
	}
	key, err := s.open(r.RefreshKeyEnc, sessionAAD(r.ID))
	if err != nil {
		return domain.Session{}, err
	}
	return domain.UnmarshalSessionFromDatabase(stored, r.UserID, r.UserDomainID, row.UserDomain, r.AppID, key, r.RefreshCounter,
		r.CreatedAt.UTC(), r.ExpiresAt.UTC(), r.RefreshExpiresAt.UTC(), fromNullTime(r.RotatedAt), fromNullTime(r.RevokedAt)), nil
}

// AdvanceRefreshCounter spends refresh token `from` with one conditional
// UPDATE: of concurrent callers presenting the same token, exactly one
// succeeds.
func (s *Store) AdvanceRefreshCounter(ctx context.Context, id domain.SessionID, from int64, now, refreshExpiresAt time.Time) (bool, error) {
	now = dbTime(now)
	res := s.do(ctx, func(db *gorm.DB) *gorm.DB {
		return db.Exec(`
		UPDATE enduser_sessions
		SET refresh_counter = refresh_counter + 1, rotated_at = ?, refresh_expires_at = ?
		WHERE id = ? AND refresh_counter = ? AND revoked_at IS NULL AND expires_at > ? AND refresh_expires_at > ?`,
			now, dbTime(refreshExpiresAt), id.String(), from, now, now)
	})
	if res.Error != nil {
		return false, fmt.Errorf("advance refresh counter of session %s: %w", id, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// RevokeSession revokes a session unless it is revoked already; it reports
// whether this call revoked it.
func (s *Store) RevokeSession(ctx context.Context, id domain.SessionID, now time.Time, reason string) (bool, error) {
	res := s.do(ctx, func(db *gorm.DB) *gorm.DB {
		return db.Exec(`
		UPDATE enduser_sessions SET revoked_at = ?, revoke_reason = ?
		WHERE id = ? AND revoked_at IS NULL`,
			dbTime(now), nullString(reason), id.String())
	})
	if res.Error != nil {
		return false, fmt.Errorf("revoke session %s: %w", id, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// RevokedSessionsSince lists the sessions revoked at or after since, oldest
// revocation first.
func (s *Store) RevokedSessionsSince(ctx context.Context, since time.Time) ([]application.RevokedSession, error) {
	var rows []revokedSessionRow
	err := s.do(ctx, func(db *gorm.DB) *gorm.DB {
		return db.Raw(`
		SELECT id, revoked_at FROM enduser_sessions
		WHERE revoked_at IS NOT NULL AND revoked_at >= ?
		ORDER BY revoked_at, id`, dbTime(since)).Scan(&rows)
	}).Error
	if err != nil {
		return nil, fmt.Errorf("list revoked sessions: %w", err)
	}
	out := make([]application.RevokedSession, 0, len(rows))
	for _, r := range rows {
		id, err := domain.ParseSessionID(r.ID)
		if err != nil {
			return nil, fmt.Errorf("list revoked sessions: %w", err)
		}
		out = append(out, application.RevokedSession{ID: id, RevokedAt: r.RevokedAt.UTC()})
	}
	return out, nil
}
