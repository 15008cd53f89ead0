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
	var c scopeCover
	err := s.retry(ctx, func() error {
		return s.pool.QueryRowContext(ctx, `
		SELECT s.id, s.user_id, s.user_domain_id, d.name AS user_domain, s.app_id, s.refresh_key_enc, s.refresh_counter,
		       s.created_at, s.expires_at, s.refresh_expires_at, s.rotated_at, s.revoked_at, `+coverColumns+`
		FROM enduser_sessions s
		JOIN enduser_user_domains d ON d.id = s.user_domain_id`+coverJoins+`
		WHERE s.id = $1`, id.String()).Scan(row.dest(&c)...)
	})
	if errors.Is(err, sql.ErrNoRows) {
		return domain.Session{}, domain.E(domain.KindTokenInvalid)
	}
	if err != nil {
		return domain.Session{}, fmt.Errorf("load session %s: %w", id, err)
	}
	sess, err := s.sessionFromRow(row)
	if err != nil {
		return domain.Session{}, fmt.Errorf("load session %s: %w", id, err)
	}
	return c.apply(sess)
}

// coverJoins joins, to a session s of user domain d, the scope revocations
// that may cover it: the user's (ur, which also says whether the user is
// disabled) and the user domain's (dr). Two primary-key probes; coverColumns
// are what they read.
const (
	coverJoins = `
	LEFT JOIN enduser_revocations ur ON ur.kind = 'user' AND ur.subject = s.user_id
	LEFT JOIN enduser_revocations dr ON dr.kind = 'user_domain' AND dr.subject = d.name`
	coverColumns = `
	ur.revoked_before AS user_before, COALESCE(ur.disabled, false) AS disabled, dr.revoked_before AS domain_before`
)

// scopeCover is what coverColumns read.
type scopeCover struct {
	UserBefore, DomainBefore sql.NullTime
	Disabled                 bool
}

// dest is the scan destination of a session row followed by coverColumns.
func (row *sessionWithDomainRow) dest(c *scopeCover) []any {
	r := &row.Session
	return []any{&r.ID, &r.UserID, &r.UserDomainID, &row.UserDomain, &r.AppID, &r.RefreshKeyEnc, &r.RefreshCounter,
		&r.CreatedAt, &r.ExpiresAt, &r.RefreshExpiresAt, &r.RotatedAt, &r.RevokedAt, &c.UserBefore, &c.Disabled, &c.DomainBefore}
}

// apply makes sess as the scope revocations see it: KindUserDisabled for a
// disabled user, revoked (at the scope's revoked_before) when a scope
// revocation covers it.
func (c scopeCover) apply(sess domain.Session) (domain.Session, error) {
	if c.Disabled {
		return domain.Session{}, domain.E(domain.KindUserDisabled)
	}
	if sess.Revoked() {
		return sess, nil
	}
	for _, before := range []sql.NullTime{c.UserBefore, c.DomainBefore} {
		if before.Valid && domain.RevokedBy(sess.CreatedAt(), before.Time) {
			return domain.UnmarshalSessionFromDatabase(sess.ID(), sess.UserID(), sess.UserDomainID(), sess.UserDomain(), sess.AppID(),
				sess.RefreshKey(), sess.Counter(), sess.CreatedAt(), sess.ExpiresAt(), sess.RefreshExpiresAt(), sess.RotatedAt(),
				before.Time.UTC()), nil
		}
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

// spendRefreshToken is SpendRefreshToken's one statement
// (sql/spend_refresh_token.sql, whose header says what each part does).
var spendRefreshToken = mustStatement("spend_refresh_token.sql", map[string]func(*spendParams) any{
	"session_id":         func(p *spendParams) any { return p.id },
	"from":               func(p *spendParams) any { return p.from },
	"now":                func(p *spendParams) any { return p.now },
	"refresh_expires_at": func(p *spendParams) any { return p.refreshExpiresAt },
})

// spendParams is what spendRefreshToken's parameters are bound from.
type spendParams struct {
	id                    string
	from                  int64
	now, refreshExpiresAt time.Time
}

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
		c     scopeCover
		spent bool
	)
	args := spendRefreshToken.args(&spendParams{id: id.String(), from: from, now: dbTime(now), refreshExpiresAt: dbTime(refreshExpiresAt)})
	// Under serializable isolation two spends of one token conflict (40001):
	// the retry sees the counter moved and answers like any lost race.
	err = s.retry(ctx, func() error {
		return pool.QueryRowContext(ctx, spendRefreshToken.sql, args...).Scan(
			append([]any{&spent}, row.dest(&c)...)...)
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
	if sess, err = c.apply(sess); err != nil {
		return domain.Session{}, false, err
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

// sqlRevokeScope upserts a scope revocation ($1 kind, $2 subject, $3
// before; revoked_before only moves forward) when its subject exists, and
// counts the sessions it ends: those of the scope live at $3 that neither a
// session revocation nor the scope's earlier revocation had ended, with the
// user domain's name (looked up in the same statement).
const sqlRevokeScope = `
WITH subject AS (
	SELECT u.id AS uid, d.name AS user_domain, d.id AS user_domain_id FROM enduser_users u
	JOIN enduser_user_domains d ON d.id = u.user_domain_id WHERE $1 = 'user' AND u.id = $2
	UNION ALL
	SELECT NULL, d.name, d.id FROM enduser_user_domains d WHERE $1 = 'user_domain' AND d.name = $2
),
prev AS (
	SELECT r.revoked_before FROM enduser_revocations r WHERE r.kind = $1 AND r.subject = $2
),
up AS (
	INSERT INTO enduser_revocations (kind, subject, revoked_before, disabled, created_at, updated_at)
	SELECT $1, $2, $3, false, $3, $3 FROM subject
	ON CONFLICT (kind, subject) DO UPDATE
	SET revoked_before = GREATEST(enduser_revocations.revoked_before, EXCLUDED.revoked_before), updated_at = EXCLUDED.updated_at
	RETURNING 1
)
SELECT (SELECT count(*) FROM enduser_sessions s, subject j
        WHERE ((j.uid IS NOT NULL AND s.user_id = j.uid) OR (j.uid IS NULL AND s.user_domain_id = j.user_domain_id))
          AND s.revoked_at IS NULL AND s.expires_at > $3 AND s.refresh_expires_at > $3
          AND date_trunc('milliseconds', s.created_at) <= $3
          AND NOT EXISTS (SELECT 1 FROM prev p WHERE p.revoked_before >= date_trunc('milliseconds', s.created_at))) AS ended,
       COALESCE((SELECT user_domain FROM subject), '') AS user_domain,
       (SELECT count(*) FROM up) AS stored`

// RevokeScope implements application.SessionRepository with one statement.
func (s *Store) RevokeScope(ctx context.Context, scope application.RevocationScope, subject string, before time.Time) (int, string, error) {
	var (
		ended, stored int
		userDomain    string
	)
	err := s.retry(ctx, func() error {
		return s.pool.QueryRowContext(ctx, sqlRevokeScope, string(scope), subject, dbTime(before)).Scan(&ended, &userDomain, &stored)
	})
	if err != nil {
		return 0, "", fmt.Errorf("revoke the sessions of %s %s: %w", scope, subject, err)
	}
	return ended, userDomain, nil
}

// SetUserDisabled implements application.UserRepository in one
// transaction: the user's status and its user-scope revocation.
func (s *Store) SetUserDisabled(ctx context.Context, uid string, disabled bool, now time.Time) (string, error) {
	status := domain.UserNormal
	if disabled {
		status = domain.UserDisabled
	}
	var userDomain string
	err := s.transaction(ctx, func(tx *gorm.DB) error {
		userDomain = ""
		var rows []struct {
			UserDomain string `gorm:"column:user_domain"`
		}
		res := tx.Raw(`
		UPDATE enduser_users u SET status = ? FROM enduser_user_domains d
		WHERE u.id = ? AND d.id = u.user_domain_id RETURNING d.name AS user_domain`, int16(status), uid).Scan(&rows)
		if res.Error != nil {
			return res.Error
		}
		if len(rows) == 0 {
			return domain.E(domain.KindUserNotFound)
		}
		userDomain = rows[0].UserDomain
		at := dbTime(now)
		if disabled {
			return tx.Exec(`
			INSERT INTO enduser_revocations (kind, subject, revoked_before, disabled, created_at, updated_at)
			VALUES ('user', ?, ?, true, ?, ?)
			ON CONFLICT (kind, subject) DO UPDATE
			SET revoked_before = GREATEST(enduser_revocations.revoked_before, EXCLUDED.revoked_before), disabled = true,
			    updated_at = EXCLUDED.updated_at`, uid, at, at, at).Error
		}
		return tx.Exec(`UPDATE enduser_revocations SET disabled = false, updated_at = ? WHERE kind = 'user' AND subject = ? AND disabled`,
			at, uid).Error
	})
	if domain.IsKind(err, domain.KindUserNotFound) {
		return "", err
	}
	if err != nil {
		return "", fmt.Errorf("set user %s disabled=%t: %w", uid, disabled, err)
	}
	return userDomain, nil
}

// ScopeRevocationsSince implements application.SessionRepository (the
// updated_at index).
func (s *Store) ScopeRevocationsSince(ctx context.Context, since time.Time) ([]application.ScopeRevocation, error) {
	var rows []struct {
		Kind          string    `gorm:"column:kind"`
		Subject       string    `gorm:"column:subject"`
		RevokedBefore time.Time `gorm:"column:revoked_before"`
		Disabled      bool      `gorm:"column:disabled"`
		UpdatedAt     time.Time `gorm:"column:updated_at"`
	}
	err := s.do(ctx, func(db *gorm.DB) *gorm.DB {
		rows = rows[:0]
		return db.Raw(`
		SELECT kind, subject, revoked_before, disabled, updated_at FROM enduser_revocations
		WHERE updated_at >= ? ORDER BY updated_at, kind, subject`, dbTime(since)).Scan(&rows)
	}).Error
	if err != nil {
		return nil, fmt.Errorf("list scope revocations: %w", err)
	}
	out := make([]application.ScopeRevocation, 0, len(rows))
	for _, r := range rows {
		out = append(out, application.ScopeRevocation{Scope: application.RevocationScope(r.Kind), Subject: r.Subject,
			RevokedBefore: r.RevokedBefore.UTC(), Disabled: r.Disabled, UpdatedAt: r.UpdatedAt.UTC()})
	}
	return out, nil
}

// PurgeScopeRevocations implements application.SessionRepository.
func (s *Store) PurgeScopeRevocations(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	res := s.do(ctx, func(db *gorm.DB) *gorm.DB {
		return db.Exec(`
		DELETE FROM enduser_revocations WHERE (kind, subject) IN (
			SELECT kind, subject FROM enduser_revocations
			WHERE NOT disabled AND revoked_before < ? AND updated_at < ? LIMIT ?)`, dbTime(cutoff), dbTime(cutoff), limit)
	})
	if res.Error != nil {
		return 0, fmt.Errorf("purge scope revocations: %w", res.Error)
	}
	return int(res.RowsAffected), nil
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
