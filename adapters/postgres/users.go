package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/iotplatform/enduser-auth/domain"
)

// maxRegisterAttempts bounds how often FindOrRegisterWeChatUser starts over
// after losing a race to a concurrent login of the same person. One lost race
// is normal; each start over finds the winner's rows.
const maxRegisterAttempts = 5

// errLostRace rolls back a registration whose identity or unionid a
// concurrent login committed first.
var errLostRace = errors.New("a concurrent login registered the identity first")

// FindOrRegisterWeChatUser returns the user bound to the identity's openid,
// else the user bound to its unionid (binding the openid to it), else
// registers candidate. It relies on the primary keys of the identity and
// union tables, never on locks held across statements, so concurrent first
// logins of one person yield one user: whoever loses a race starts over and
// finds the winner's user. A returning user costs one statement.
func (s *Store) FindOrRegisterWeChatUser(ctx context.Context, userDomainID int64, id domain.WeChatIdentity, candidate domain.EndUser, now time.Time) (domain.EndUser, bool, error) {
	now = dbTime(now)
	for range maxRegisterAttempts {
		if u, found, err := s.loginByOpenID(ctx, userDomainID, id, now, nil); err != nil || found {
			return u, false, err
		}
		if id.UnionID() != "" {
			if u, found, err := s.bindToUnionUser(ctx, userDomainID, id, now); err != nil || found {
				return u, false, err
			}
		}
		u, created, err := s.register(ctx, userDomainID, id, candidate, now)
		if err != nil || created {
			return u, created, err
		}
	}
	return domain.EndUser{}, false, fmt.Errorf("find or register wechat user: still losing races after %d attempts", maxRegisterAttempts)
}

// LogInWeChatUser finds or registers the user and starts sess for them. For
// a returning user (the common case) the login and the session are one
// statement; the other paths add the session after FindOrRegisterWeChatUser.
func (s *Store) LogInWeChatUser(ctx context.Context, userDomainID int64, id domain.WeChatIdentity, candidate domain.EndUser,
	sess domain.Session, now time.Time) (domain.EndUser, domain.Session, bool, error) {
	u, found, err := s.loginByOpenID(ctx, userDomainID, id, dbTime(now), &sess)
	if err != nil {
		return domain.EndUser{}, domain.Session{}, false, err
	}
	if found {
		return u, sess.ForUser(u.ID()), false, nil
	}
	u, created, err := s.FindOrRegisterWeChatUser(ctx, userDomainID, id, candidate, now)
	if err != nil {
		return domain.EndUser{}, domain.Session{}, false, err
	}
	sess = sess.ForUser(u.ID())
	if err := s.CreateSession(ctx, sess); err != nil {
		return domain.EndUser{}, domain.Session{}, false, err
	}
	return u, sess, created, nil
}

// openIDLoginRow is a user found through one of its WeChat identities, and
// whether the unionid presented with the openid should be attached to it.
type openIDLoginRow struct {
	User        userRow `gorm:"embedded"`
	AttachUnion bool    `gorm:"column:attach_union"`
}

// loginByOpenID records the login of the user bound to the openid, in one
// statement, and attaches the identity's unionid when it is new. The
// statement also tells whether to attach it: not when the identity has a
// unionid already, nor when another user holds the presented one (which then
// stays that user's alone), so that a returning user costs one statement.
func (s *Store) loginByOpenID(ctx context.Context, userDomainID int64, id domain.WeChatIdentity, now time.Time, sess *domain.Session) (domain.EndUser, bool, error) {
	// With a session to start, the login and the session's insert are one
	// statement: the session is inserted for the user the UPDATE touched,
	// and not at all when there is none.
	startSession, args := "", []any{}
	if sess != nil {
		sid := sess.ID().String()
		startSession = `,
		started AS (
			INSERT INTO enduser_sessions (id, user_id, user_domain_id, app_id, refresh_key_enc, refresh_counter,
				created_at, expires_at, refresh_expires_at)
			SELECT ?, touched.id, ?, ?, ?, ?, ?, ?, ? FROM touched
			RETURNING id
		)`
		args = append(args, sid, sess.UserDomainID(), sess.AppID(), s.seal(sess.RefreshKey(), sessionAAD(sid)), sess.Counter(),
			dbTime(sess.CreatedAt()), dbTime(sess.ExpiresAt()), dbTime(sess.RefreshExpiresAt()))
	}
	var row openIDLoginRow
	res := s.db.WithContext(ctx).Raw(`
		WITH touched AS (
			UPDATE enduser_users u SET last_login_at = GREATEST(u.last_login_at, ?)
			FROM enduser_wechat_identities i
			WHERE i.user_domain_id = ? AND i.app_id = ? AND i.open_id = ? AND u.id = i.user_id
			RETURNING u.id, u.user_domain_id, u.status, u.registered_at, u.last_login_at,
				CASE WHEN i.union_id IS NULL AND ? <> '' THEN NOT EXISTS (
					SELECT 1 FROM enduser_wechat_unions un
					WHERE un.user_domain_id = i.user_domain_id AND un.union_id = ? AND un.user_id <> i.user_id)
				ELSE false END AS attach_union
		)`+startSession+`
		SELECT * FROM touched`,
		append([]any{now, userDomainID, id.AppID(), id.OpenID(), id.UnionID(), id.UnionID()}, args...)...).Scan(&row)
	if res.Error != nil {
		return domain.EndUser{}, false, fmt.Errorf("log in wechat user by openid: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return domain.EndUser{}, false, nil
	}
	if row.AttachUnion {
		if err := s.attachUnion(ctx, userDomainID, id, row.User.ID, now); err != nil {
			return domain.EndUser{}, false, err
		}
	}
	return row.User.toDomain(), true, nil
}

// attachUnion records a unionid first seen on a known openid: as the user's
// unionid unless another user holds it already, and on the identity only if
// the user holds it (then the openid's user stays who it is: a binding never
// moves, and the identity never names another user's unionid). The UPDATE
// does not see the row its own INSERT adds, hence the two tests.
func (s *Store) attachUnion(ctx context.Context, userDomainID int64, id domain.WeChatIdentity, uid string, now time.Time) error {
	err := s.db.WithContext(ctx).Exec(`
		WITH attached AS (
			INSERT INTO enduser_wechat_unions (user_domain_id, union_id, user_id, created_at)
			VALUES (?, ?, ?, ?)
			ON CONFLICT DO NOTHING
			RETURNING user_id
		)
		UPDATE enduser_wechat_identities i SET union_id = ?
		WHERE i.user_domain_id = ? AND i.app_id = ? AND i.open_id = ? AND i.union_id IS NULL AND i.user_id = ?
			AND (EXISTS (SELECT 1 FROM attached)
				OR EXISTS (SELECT 1 FROM enduser_wechat_unions un
					WHERE un.user_domain_id = i.user_domain_id AND un.union_id = ? AND un.user_id = i.user_id))`,
		userDomainID, id.UnionID(), uid, now,
		id.UnionID(), userDomainID, id.AppID(), id.OpenID(), uid, id.UnionID()).Error
	if err != nil {
		return fmt.Errorf("attach unionid to wechat user %s: %w", uid, err)
	}
	return nil
}

// bindToUnionUser binds the openid to the user that holds the unionid, if
// any, and records the login, in one statement. It finds nothing when no
// user holds the unionid or when a concurrent login bound the openid first;
// register sorts out which.
func (s *Store) bindToUnionUser(ctx context.Context, userDomainID int64, id domain.WeChatIdentity, now time.Time) (domain.EndUser, bool, error) {
	var row userRow
	res := s.db.WithContext(ctx).Raw(`
		WITH bound AS (
			INSERT INTO enduser_wechat_identities (user_domain_id, app_id, open_id, union_id, user_id, created_at)
			SELECT un.user_domain_id, ?, ?, un.union_id, un.user_id, ?
			FROM enduser_wechat_unions un
			WHERE un.user_domain_id = ? AND un.union_id = ?
			ON CONFLICT DO NOTHING
			RETURNING user_id
		)
		UPDATE enduser_users u SET last_login_at = GREATEST(u.last_login_at, ?)
		FROM bound WHERE u.id = bound.user_id
		RETURNING u.id, u.user_domain_id, u.status, u.registered_at, u.last_login_at`,
		id.AppID(), id.OpenID(), now, userDomainID, id.UnionID(), now).Scan(&row)
	if res.Error != nil {
		return domain.EndUser{}, false, fmt.Errorf("bind openid to the user of its unionid: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return domain.EndUser{}, false, nil
	}
	return row.toDomain(), true, nil
}

// register inserts candidate with its unionid and identity in one
// transaction. When a concurrent login committed the unionid or the identity
// first, it rolls back (the candidate disappears) and reports created false
// without error: the caller starts over and finds the winner.
func (s *Store) register(ctx context.Context, userDomainID int64, id domain.WeChatIdentity, candidate domain.EndUser, now time.Time) (domain.EndUser, bool, error) {
	var row userRow
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		err := tx.Raw(`
			INSERT INTO enduser_users (id, user_domain_id, status, registered_at, last_login_at)
			VALUES (?, ?, ?, ?, ?)
			RETURNING id, user_domain_id, status, registered_at, last_login_at`,
			candidate.ID(), userDomainID, int16(candidate.Status()), dbTime(candidate.RegisteredAt()), now).Scan(&row).Error
		if err != nil {
			return err
		}
		if id.UnionID() != "" {
			res := tx.Exec(`
				INSERT INTO enduser_wechat_unions (user_domain_id, union_id, user_id, created_at)
				VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
				userDomainID, id.UnionID(), candidate.ID(), now)
			if err := lostRace(res); err != nil {
				return err
			}
		}
		res := tx.Exec(`
			INSERT INTO enduser_wechat_identities (user_domain_id, app_id, open_id, union_id, user_id, created_at)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			userDomainID, id.AppID(), id.OpenID(), nullString(id.UnionID()), candidate.ID(), now)
		return lostRace(res)
	})
	if errors.Is(err, errLostRace) {
		return domain.EndUser{}, false, nil
	}
	if err != nil {
		return domain.EndUser{}, false, fmt.Errorf("register wechat user: %w", err)
	}
	return row.toDomain(), true, nil
}

// lostRace turns an INSERT ... ON CONFLICT DO NOTHING that inserted nothing
// into errLostRace.
func lostRace(res *gorm.DB) error {
	if res.Error != nil {
		return res.Error
	}
	if res.RowsAffected == 0 {
		return errLostRace
	}
	return nil
}

// UserWithWeChat returns a user and its identity under appID (zero when it
// has none). Errors: KindUserNotFound.
func (s *Store) UserWithWeChat(ctx context.Context, uid, appID string) (domain.EndUser, domain.WeChatIdentity, error) {
	var row userWithWeChatRow
	res := s.db.WithContext(ctx).Raw(`
		SELECT u.id, u.user_domain_id, u.status, u.registered_at, u.last_login_at, i.app_id, i.open_id, i.union_id
		FROM enduser_users u
		LEFT JOIN enduser_wechat_identities i ON i.user_id = u.id AND i.app_id = ?
		WHERE u.id = ?
		ORDER BY i.created_at
		LIMIT 1`, appID, uid).Scan(&row)
	if res.Error != nil {
		return domain.EndUser{}, domain.WeChatIdentity{}, fmt.Errorf("load user %s: %w", uid, res.Error)
	}
	if res.RowsAffected == 0 {
		return domain.EndUser{}, domain.WeChatIdentity{}, domain.E(domain.KindUserNotFound)
	}
	return row.User.toDomain(), row.identity(), nil
}
