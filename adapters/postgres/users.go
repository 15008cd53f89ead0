package postgres

import (
	"context"
	"errors"
	"fmt"

	"gorm.io/gorm"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

// maxLostRaces bounds how often RecordLogin runs its statement again after
// losing a race to a concurrent login of the same person. One lost race is
// normal; each new attempt sees the winner's rows.
const maxLostRaces = 5

// recordLogin is RecordLogin's one statement (sql/record_login.sql): a call
// of the function enduser_record_login (migrations/00019, whose header says
// which domain step each part carries out). It decides the step of
// domain.DecideLogin in the database, so that a login stays one round trip;
// the shared table domain.IdentityCases, replayed by the repository
// contract, holds the two equal.
var recordLogin = mustStatement("record_login.sql", map[string]func(*loginParams) any{
	"user_domain":         func(p *loginParams) any { return p.UserDomainID },
	"app_id":              func(p *loginParams) any { return p.Identity.AppID() },
	"open_id":             func(p *loginParams) any { return p.Identity.OpenID() },
	"union_id":            func(p *loginParams) any { return p.Identity.UnionID() },
	"candidate_uid":       func(p *loginParams) any { return p.Candidate.ID() },
	"candidate_status":    func(p *loginParams) any { return int16(p.Candidate.Status()) },
	"registered_at":       func(p *loginParams) any { return dbTime(p.Candidate.RegisteredAt()) },
	"registered_via":      func(p *loginParams) any { return string(registeredVia(p.AppKind)) },
	"login_at":            func(p *loginParams) any { return dbTime(p.At) },
	"session_id":          func(p *loginParams) any { return p.sessionID },
	"session_app_id":      func(p *loginParams) any { return p.Session.AppID() },
	"session_user_domain": func(p *loginParams) any { return p.Session.UserDomainID() },
	"refresh_key_enc":     func(p *loginParams) any { return p.sealedKey },
	"refresh_counter":     func(p *loginParams) any { return p.Session.Counter() },
	"session_created_at":  func(p *loginParams) any { return dbTime(p.Session.CreatedAt()) },
	"session_expires_at":  func(p *loginParams) any { return dbTime(p.Session.ExpiresAt()) },
	"refresh_expires_at":  func(p *loginParams) any { return dbTime(p.Session.RefreshExpiresAt()) },
})

// loginParams is what recordLogin's parameters are bound from.
type loginParams struct {
	application.LoginRecord
	sessionID string
	sealedKey []byte // the session's refresh key, sealed
}

// lostRaceCode is the SQLSTATE enduser_record_login raises when a write
// its step needs was made impossible by a concurrent login (or the user was
// erased meanwhile): the call wrote nothing.
const lostRaceCode = "EU409"

// unionsUserFK and identitiesUserFK are the foreign keys recordLogin trips
// when the user it found was erased (EraseUser) before it claimed a unionid
// or bound an openid for that user. (The session cannot trip its own: by
// then the call has inserted or locked the user.)
const (
	unionsUserFK     = "enduser_wechat_unions_user_id_fkey"
	identitiesUserFK = "enduser_wechat_identities_user_id_fkey"
)

// errLostRace is a login whose call a concurrent login of the same person
// made write nothing.
var errLostRace = errors.New("a concurrent login of the same person won")

// RecordLogin implements application.UserRepository with one call
// (recordLogin: one round trip, one transaction) for every step: returning,
// attached, joined, registered, refused (a disabled user), with a pending
// deletion cancelled. It relies on the primary keys of the user, identity
// and union tables, never on locks held across calls, so concurrent first
// logins of one person yield one user: whoever loses a race costs one more
// round trip and finds the winner's user. Serialization failures and
// deadlocks are retried (retry).
func (s *Store) RecordLogin(ctx context.Context, l application.LoginRecord) (application.RecordedLogin, error) {
	id := l.Identity
	if id.OpenID() == "" {
		return application.RecordedLogin{}, errors.New("record login: WeChat identity without openid")
	}
	p := loginParams{LoginRecord: l, sessionID: l.Session.ID().String()}
	p.sealedKey = s.seal(l.Session.RefreshKey(), sessionAAD(p.sessionID))
	args := recordLogin.args(&p)
	for range maxLostRaces {
		var (
			row               userRow
			step              string
			recorded, started bool
			cancelled         bool
		)
		err := s.retry(ctx, func() error {
			return s.pool.QueryRowContext(ctx, recordLogin.sql, args...).Scan(&row.ID, &row.UserDomainID, &row.Status,
				&row.RegisteredAt, &row.LastLoginAt, &step, &recorded, &started, &cancelled)
		})
		switch {
		case hasCode(err, lostRaceCode) || hasConstraint(err, "23503", unionsUserFK) ||
			hasConstraint(err, "23503", identitiesUserFK):
			continue // lostRace (or the user erased meanwhile): run it again on what is stored now
		case err != nil:
			return application.RecordedLogin{}, fmt.Errorf("record login under appId %s: %w", id.AppID(), err)
		}
		outcome, err := outcomeOf(domain.LoginStep(step), recorded)
		switch {
		case err != nil:
			return application.RecordedLogin{}, err
		case !started:
			return application.RecordedLogin{}, fmt.Errorf("record login under appId %s: the session was not stored", id.AppID())
		}
		u := row.toDomain()
		return application.RecordedLogin{User: u, Session: l.Session.ForUser(u.ID()), Outcome: outcome,
			DeletionCancelled: cancelled}, nil
	}
	return application.RecordedLogin{}, fmt.Errorf("record login under appId %s: %w %d times in a row", id.AppID(), errLostRace, maxLostRaces)
}

// outcomeOf is the outcome of recordLogin's step, or the step's refusal
// (LoginStep.Err). An attach that recorded nothing, because a concurrent
// login claimed the unionid for another user first, attached nothing: the
// login was a plain returning one.
func outcomeOf(step domain.LoginStep, recorded bool) (domain.LoginOutcome, error) {
	if err := step.Err(); err != nil {
		return 0, err
	}
	o := step.Outcome()
	switch {
	case o == 0:
		return 0, fmt.Errorf("record login: the statement decided an unknown step %q", step)
	case o == domain.LoginUnionIDAttached && !recorded:
		return domain.LoginReturning, nil
	}
	return o, nil
}

// UserWithWeChat returns a user and its identity under appID (zero when it
// has none). Errors: KindUserNotFound.
func (s *Store) UserWithWeChat(ctx context.Context, uid, appID string) (domain.EndUser, domain.WeChatIdentity, error) {
	var row userWithWeChatRow
	res := s.do(ctx, func(db *gorm.DB) *gorm.DB {
		return db.Raw(`
		SELECT u.id, u.user_domain_id, u.status, u.registered_at, u.last_login_at, i.app_id, i.open_id, i.union_id
		FROM enduser_users u
		LEFT JOIN enduser_wechat_identities i ON i.user_id = u.id AND i.app_id = ?
		WHERE u.id = ?
		ORDER BY i.created_at
		LIMIT 1`, appID, uid).Scan(&row)
	})
	if res.Error != nil {
		return domain.EndUser{}, domain.WeChatIdentity{}, fmt.Errorf("load user %s: %w", uid, res.Error)
	}
	if res.RowsAffected == 0 {
		return domain.EndUser{}, domain.WeChatIdentity{}, domain.E(domain.KindUserNotFound)
	}
	return row.User.toDomain(), row.identity(), nil
}

// registeredVia is the kind recorded on a user registered through an app of
// kind k (zero: an official account).
func registeredVia(k domain.AppKind) domain.AppKind {
	if k == "" {
		return domain.AppKindOfficialAccount
	}
	return k
}

// userViaRow is a user with the kind of app it registered through.
type userViaRow struct {
	User          userRow `gorm:"embedded"`
	RegisteredVia string  `gorm:"column:registered_via"`
}

// userBindingRow is a user's binding under one app, with the app's kind.
type userBindingRow struct {
	AppID   string  `gorm:"column:app_id"`
	OpenID  string  `gorm:"column:open_id"`
	UnionID *string `gorm:"column:union_id"`
	Kind    string  `gorm:"column:kind"`
}

// UserWithWeChatApps returns a user, how it registered, and its bindings
// under every app of its user domain, oldest first (two statements in one
// read-only snapshot would buy nothing: a binding is never moved or
// deleted while its user exists). Errors: KindUserNotFound.
func (s *Store) UserWithWeChatApps(ctx context.Context, uid string) (application.UserApps, error) {
	var u userViaRow
	res := s.do(ctx, func(db *gorm.DB) *gorm.DB {
		return db.Raw(`SELECT id, user_domain_id, status, registered_at, last_login_at, registered_via
		FROM enduser_users WHERE id = ?`, uid).Scan(&u)
	})
	if res.Error != nil {
		return application.UserApps{}, fmt.Errorf("load user %s: %w", uid, res.Error)
	}
	if res.RowsAffected == 0 {
		return application.UserApps{}, domain.E(domain.KindUserNotFound)
	}
	var rows []userBindingRow
	err := s.do(ctx, func(db *gorm.DB) *gorm.DB {
		return db.Raw(`
		SELECT i.app_id, i.open_id, i.union_id, COALESCE(a.kind, 'offiaccount') AS kind
		FROM enduser_wechat_identities i
		LEFT JOIN enduser_official_accounts a ON a.user_domain_id = i.user_domain_id AND a.app_id = i.app_id
		WHERE i.user_id = ? AND i.user_domain_id = ?
		ORDER BY i.created_at, i.app_id, i.open_id`, uid, u.User.UserDomainID).Scan(&rows)
	}).Error
	if err != nil {
		return application.UserApps{}, fmt.Errorf("load the WeChat bindings of user %s: %w", uid, err)
	}
	out := application.UserApps{User: u.User.toDomain(), RegisteredVia: domain.AppKind(u.RegisteredVia)}
	for _, r := range rows {
		out.Bindings = append(out.Bindings, application.AppBinding{Kind: domain.AppKind(r.Kind),
			Identity: domain.UnmarshalWeChatIdentityFromDatabase(r.AppID, r.OpenID, fromNullString(r.UnionID))})
	}
	return out, nil
}
