package postgres

import (
	"context"
	"database/sql"
	"errors"
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
	sess, err := s.sessionFromRow(row)
	if err != nil {
		return domain.Session{}, fmt.Errorf("load session %s: %w", id, err)
	}
	return sess, nil
}

// sessionFromRow rehydrates a session row, its refresh key opened (empty for
// a version-2 session).
func (s *Store) sessionFromRow(row sessionWithDomainRow) (domain.Session, error) {
	r := row.Session
	stored, err := domain.ParseSessionID(r.ID)
	if err != nil {
		return domain.Session{}, err
	}
	key, err := s.open(r.RefreshKeyEnc, sessionAAD(r.ID))
	if err != nil {
		return domain.Session{}, err
	}
	return domain.UnmarshalSessionFromDatabase(stored, r.UserID, r.UserDomainID, row.UserDomain, r.AppID, key, r.RefreshCounter,
		r.CreatedAt.UTC(), r.ExpiresAt.UTC(), r.RefreshExpiresAt.UTC(), fromNullTime(r.RotatedAt), fromNullTime(r.RevokedAt)), nil
}

// spendRefreshToken is SpendRefreshToken's one statement. The UPDATE spends
// the token if the counter is still $2 (from); the second branch, which runs only
// when the UPDATE changed nothing, reads the row as of the statement's
// snapshot, i.e. before a concurrent spend that the UPDATE waited for and
// then found had moved the counter (READ COMMITTED re-checks only the
// updated row): seeing the counter still at $2 is how a lost race shows.
//
//nolint:gosec // G101: an SQL statement named after refresh tokens, not a credential
const spendRefreshToken = `
WITH spent AS (
	UPDATE enduser_sessions
	SET refresh_counter = refresh_counter + 1, rotated_at = $3, refresh_expires_at = LEAST($4, expires_at)
	WHERE id = $1 AND refresh_counter = $2 AND revoked_at IS NULL AND expires_at > $3 AND refresh_expires_at > $3
	RETURNING id, user_id, user_domain_id, app_id, refresh_key_enc, refresh_counter, created_at, expires_at, refresh_expires_at,
	          rotated_at, revoked_at
)
SELECT true AS spent, s.id, s.user_id, s.user_domain_id, d.name AS user_domain, s.app_id, s.refresh_key_enc, s.refresh_counter,
       s.created_at, s.expires_at, s.refresh_expires_at, s.rotated_at, s.revoked_at
FROM spent s JOIN enduser_user_domains d ON d.id = s.user_domain_id
UNION ALL
SELECT false, s.id, s.user_id, s.user_domain_id, d.name, s.app_id, s.refresh_key_enc, s.refresh_counter,
       s.created_at, s.expires_at, s.refresh_expires_at, s.rotated_at, s.revoked_at
FROM enduser_sessions s JOIN enduser_user_domains d ON d.id = s.user_domain_id
WHERE s.id = $1 AND NOT EXISTS (SELECT 1 FROM spent)`

// SpendRefreshToken spends refresh token `from` with one statement (see
// spendRefreshToken): of concurrent callers presenting the same token,
// exactly one spends. Errors: KindTokenInvalid when there is no such session.
//
// It is the refresh's only round trip, so it runs on the connection pool
// directly: GORM's Raw+Scan would add its statement building, reflection and
// the SQL rendering of its trace hook (a tenth of a refresh's CPU).
func (s *Store) SpendRefreshToken(ctx context.Context, id domain.SessionID, from int64, now, refreshExpiresAt time.Time) (domain.Session, bool, error) {
	pool, err := s.db.DB()
	if err != nil {
		return domain.Session{}, false, fmt.Errorf("spend refresh token of session %s: %w", id, err)
	}
	var (
		row   sessionWithDomainRow
		r     = &row.Session
		spent bool
	)
	// Under serializable isolation two spends of one token conflict (40001):
	// the retry sees the counter moved and answers like any lost race.
	err = s.retry(ctx, func() error {
		return pool.QueryRowContext(ctx, spendRefreshToken, id.String(), from, dbTime(now), dbTime(refreshExpiresAt)).Scan(
			&spent, &r.ID, &r.UserID, &r.UserDomainID, &row.UserDomain, &r.AppID, &r.RefreshKeyEnc, &r.RefreshCounter,
			&r.CreatedAt, &r.ExpiresAt, &r.RefreshExpiresAt, &r.RotatedAt, &r.RevokedAt)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Session{}, false, domain.E(domain.KindTokenInvalid)
	}
	if err != nil {
		return domain.Session{}, false, fmt.Errorf("spend refresh token of session %s: %w", id, err)
	}
	sess, err := s.sessionFromRow(row)
	if err != nil {
		return domain.Session{}, false, fmt.Errorf("spend refresh token of session %s: %w", id, err)
	}
	return sess, spent, nil
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

// RevokeUserSessions revokes every session of uid not revoked yet, in one
// statement (the user-id index), and returns their ids and user domain.
func (s *Store) RevokeUserSessions(ctx context.Context, uid string, now time.Time, reason string) ([]domain.SessionID, string, error) {
	var rows []struct {
		ID         string `gorm:"column:id"`
		UserDomain string `gorm:"column:user_domain"`
	}
	err := s.do(ctx, func(db *gorm.DB) *gorm.DB {
		rows = rows[:0]
		return db.Raw(`
		WITH ended AS (
			UPDATE enduser_sessions SET revoked_at = ?, revoke_reason = ?
			WHERE user_id = ? AND revoked_at IS NULL
			RETURNING id, user_domain_id
		)
		SELECT ended.id, d.name AS user_domain FROM ended JOIN enduser_user_domains d ON d.id = ended.user_domain_id`,
			dbTime(now), nullString(reason), uid).Scan(&rows)
	}).Error
	if err != nil {
		return nil, "", fmt.Errorf("revoke the sessions of user %s: %w", uid, err)
	}
	out := make([]domain.SessionID, 0, len(rows))
	userDomain := ""
	for _, r := range rows {
		id, err := domain.ParseSessionID(r.ID)
		if err != nil {
			return nil, "", fmt.Errorf("revoke the sessions of user %s: %w", uid, err)
		}
		out = append(out, id)
		userDomain = r.UserDomain
	}
	return out, userDomain, nil
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
