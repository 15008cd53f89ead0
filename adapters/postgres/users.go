package postgres

import (
	"context"
	"database/sql"
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

// The steps sqlRecordLogin decides on. They mirror domain.DecideLogin (the
// shared table of domain.IdentityCases keeps the two equal):
//
//	returning      the openid is bound (and nothing is to attach)
//	attach_claim   bound, no unionid recorded, the unionid is held by nobody: claim it, record it
//	attach_record  bound, no unionid recorded, the openid's user holds it: record it
//	joined         the openid is new, its unionid is held: bind the openid to the holder
//	registered     nobody: insert the candidate, its unionid and its binding
//	disabled       the person is a disabled user: nothing is written
const (
	stepReturning    = "returning"
	stepAttachClaim  = "attach_claim"
	stepAttachRecord = "attach_record"
	stepJoined       = "joined"
	stepRegistered   = "registered"
	stepDisabled     = "disabled"
)

// sqlRecordLogin records a login and its session in one statement, whatever
// the path. decided reads what is stored (one snapshot) and picks the step
// (the unionid's holder is only looked up when the login has a unionid and
// the binding none: a returning user costs no probe of the unions; the
// lateral subquery's OFFSET 0 keeps both conditions inside it, where they
// gate the index scan, instead of letting the planner hoist them into a join
// filter evaluated after the scan);
// the writes are chained so that a write the step needs and a concurrent
// login made impossible (ON CONFLICT DO NOTHING inserts nothing) stops the
// ones after it: then the statement returns no row, or, when the unionid was
// claimed but the binding lost, fails on the unions' foreign key (the
// candidate was never inserted), and nothing is written either way. The
// caller runs it again and finds the winner (lostRace).
//
// recorded's first condition is uncorrelated, so it gates the whole UPDATE
// (a one-time filter): the logins that attach nothing (nearly all) do not
// probe the identity again. decided reads the known user's row once (x: its status and whether a
// deletion is pending, in the statement's snapshot) rather than probing it
// again in a subquery per question. A returning user's pending deletion is
// cancelled by touched, from the user row as prev read it under the row lock
// (the latest committed version: of concurrent logins during a cooling-off
// exactly one says it cancelled; a user erased meanwhile is no row, so nothing
// is written and the login runs again, registering a new user). prev runs
// only when the snapshot saw a deletion pending (d.pending) and locks only a
// row whose deletion is still pending: the other returning logins (nearly
// all) neither probe the row again nor take an extra row lock, the UPDATE's
// own lock is enough. A deletion requested after the snapshot is not
// cancelled by a login that started before it, as if the login came first.
// prev is the one place that decides the cancel; a disabled user's login
// (step 'disabled') reaches neither prev nor touched, so it cancels nothing.
//
// $1 user domain, $2 appId, $3 openid, $4 unionid (” for none), $5
// candidate uid, $6 its status, $7 its registration time, $8 the login
// time, $9..$16 the session (id, appId, sealed key, counter, created,
// expires, refresh expires, user domain), $17 the kind of app the login
// went through (recorded on a registered user).
const sqlRecordLogin = `
WITH decided AS (
	SELECT COALESCE(k.user_id, h.user_id, $5) AS uid, x.deletion_due_at IS NOT NULL AS pending,
		CASE
			WHEN x.status = 0 THEN 'disabled'
			WHEN k.user_id IS NOT NULL THEN CASE
				WHEN $4 = '' OR k.union_id IS NOT NULL THEN 'returning'
				WHEN h.user_id IS NULL THEN 'attach_claim'
				WHEN h.user_id = k.user_id THEN 'attach_record'
				ELSE 'returning' END
			WHEN h.user_id IS NOT NULL THEN 'joined'
			ELSE 'registered'
		END AS step
	FROM (SELECT 1) one
	LEFT JOIN enduser_wechat_identities k ON k.user_domain_id = $1 AND k.app_id = $2 AND k.open_id = $3
	LEFT JOIN LATERAL (SELECT u.user_id FROM enduser_wechat_unions u
		WHERE $4 <> '' AND k.union_id IS NULL AND u.user_domain_id = $1 AND u.union_id = $4 OFFSET 0) h ON true
	LEFT JOIN enduser_users x ON x.id = COALESCE(k.user_id, h.user_id)
),
claimed AS (
	INSERT INTO enduser_wechat_unions (user_domain_id, union_id, user_id, created_at)
	SELECT $1, $4, d.uid, $8 FROM decided d
	WHERE $4 <> '' AND d.step IN ('registered', 'attach_claim')
	ON CONFLICT DO NOTHING
	RETURNING user_id
),
bound AS (
	INSERT INTO enduser_wechat_identities (user_domain_id, app_id, open_id, union_id, user_id, created_at)
	SELECT $1, $2, $3, NULLIF($4, ''), d.uid, $8 FROM decided d
	WHERE d.step = 'joined' OR (d.step = 'registered' AND ($4 = '' OR EXISTS (SELECT 1 FROM claimed)))
	ON CONFLICT DO NOTHING
	RETURNING user_id
),
registered AS (
	INSERT INTO enduser_users (id, user_domain_id, status, registered_at, last_login_at, registered_via)
	SELECT b.user_id, $1, $6, $7, $8, $17 FROM bound b, decided d WHERE d.step = 'registered'
	RETURNING id, user_domain_id, status, registered_at, last_login_at
),
recorded AS (
	UPDATE enduser_wechat_identities i SET union_id = $4
	FROM decided d
	WHERE EXISTS (SELECT 1 FROM decided a WHERE a.step IN ('attach_record', 'attach_claim'))
		AND i.user_domain_id = $1 AND i.app_id = $2 AND i.open_id = $3 AND i.union_id IS NULL AND i.user_id = d.uid
		AND (d.step = 'attach_record' OR (d.step = 'attach_claim' AND EXISTS (SELECT 1 FROM claimed)))
	RETURNING i.user_id
),
prev AS (
	SELECT true AS cancel FROM enduser_users p, decided d
	WHERE d.pending AND p.id = d.uid AND d.step NOT IN ('registered', 'disabled') AND p.deletion_due_at IS NOT NULL
	FOR NO KEY UPDATE OF p
),
touched AS (
	UPDATE enduser_users u SET last_login_at = GREATEST(u.last_login_at, $8),
		deletion_due_at = CASE WHEN p.cancel THEN NULL ELSE u.deletion_due_at END
	FROM decided d LEFT JOIN prev p ON true
	WHERE u.id = d.uid AND d.step NOT IN ('registered', 'disabled') AND (d.step <> 'joined' OR EXISTS (SELECT 1 FROM bound))
	RETURNING u.id, u.user_domain_id, u.status, u.registered_at, u.last_login_at, COALESCE(p.cancel, false) AS cancelled
),
logged_in AS (
	SELECT *, false AS cancelled FROM registered UNION ALL SELECT * FROM touched
),
started AS (
	INSERT INTO enduser_sessions (id, user_id, user_domain_id, app_id, refresh_key_enc, refresh_counter,
		created_at, expires_at, refresh_expires_at)
	SELECT $9, l.id, $16, $10, $11, $12, $13, $14, $15 FROM logged_in l
	RETURNING id
)
SELECT l.id, l.user_domain_id, l.status, l.registered_at, l.last_login_at, d.step,
	EXISTS (SELECT 1 FROM recorded) AS recorded, EXISTS (SELECT 1 FROM started) AS started, l.cancelled
FROM logged_in l, decided d
UNION ALL
SELECT d.uid, 0, 0, $8, $8, d.step, false, false, false FROM decided d WHERE d.step = 'disabled'`

// unionsUserFK is the foreign key sqlRecordLogin trips when it claimed a
// unionid for a candidate whose binding a concurrent login took.
const unionsUserFK = "enduser_wechat_unions_user_id_fkey"

// identitiesUserFK and sessionsUserFK are the foreign keys sqlRecordLogin
// trips when the user it found was erased (EraseUser) before its writes.
const (
	identitiesUserFK = "enduser_wechat_identities_user_id_fkey"
	sessionsUserFK   = "enduser_sessions_user_id_fkey"
)

// errLostRace is a login whose statement a concurrent login of the same
// person made write nothing.
var errLostRace = errors.New("a concurrent login of the same person won")

// RecordLogin implements application.UserRepository with one statement
// (sqlRecordLogin) for every path: returning, registered, joined through a
// unionid, unionid attached. It relies on the primary keys of the identity
// and union tables, never on locks held across statements, so concurrent
// first logins of one person yield one user: whoever loses a race costs one
// more round trip and finds the winner's user. Serialization failures and
// deadlocks are retried (retry).
func (s *Store) RecordLogin(ctx context.Context, l application.LoginRecord) (application.RecordedLogin, error) {
	id, c, at := l.Identity, l.Candidate, dbTime(l.At)
	if id.OpenID() == "" {
		return application.RecordedLogin{}, errors.New("record login: WeChat identity without openid")
	}
	sid := l.Session.ID().String()
	args := []any{l.UserDomainID, id.AppID(), id.OpenID(), id.UnionID(), c.ID(), int16(c.Status()), dbTime(c.RegisteredAt()), at,
		sid, l.Session.AppID(), s.seal(l.Session.RefreshKey(), sessionAAD(sid)), l.Session.Counter(),
		dbTime(l.Session.CreatedAt()), dbTime(l.Session.ExpiresAt()), dbTime(l.Session.RefreshExpiresAt()), l.Session.UserDomainID(),
		string(registeredVia(l.AppKind))}
	for range maxLostRaces {
		var (
			row               userRow
			step              string
			recorded, started bool
			cancelled         bool
		)
		err := s.retry(ctx, func() error {
			return s.pool.QueryRowContext(ctx, sqlRecordLogin, args...).Scan(&row.ID, &row.UserDomainID, &row.Status,
				&row.RegisteredAt, &row.LastLoginAt, &step, &recorded, &started, &cancelled)
		})
		switch {
		case errors.Is(err, sql.ErrNoRows) || hasConstraint(err, "23503", unionsUserFK) ||
			hasConstraint(err, "23503", identitiesUserFK) || hasConstraint(err, "23503", sessionsUserFK):
			continue // lostRace (or the user erased meanwhile): run it again on what is stored now
		case err != nil:
			return application.RecordedLogin{}, fmt.Errorf("record login under appId %s: %w", id.AppID(), err)
		case step == stepDisabled:
			return application.RecordedLogin{}, domain.E(domain.KindUserDisabled)
		case !started:
			return application.RecordedLogin{}, fmt.Errorf("record login under appId %s: the session was not stored", id.AppID())
		}
		u := row.toDomain()
		return application.RecordedLogin{User: u, Session: l.Session.ForUser(u.ID()), Outcome: outcomeOf(step, recorded),
			DeletionCancelled: cancelled}, nil
	}
	return application.RecordedLogin{}, fmt.Errorf("record login under appId %s: %w %d times in a row", id.AppID(), errLostRace, maxLostRaces)
}

// outcomeOf maps sqlRecordLogin's step (and whether it recorded the
// unionid on the binding) to the domain's outcome.
func outcomeOf(step string, recorded bool) domain.LoginOutcome {
	switch step {
	case stepRegistered:
		return domain.LoginRegistered
	case stepJoined:
		return domain.LoginJoinedByUnionID
	case stepAttachClaim, stepAttachRecord:
		if recorded {
			return domain.LoginUnionIDAttached
		}
	}
	// A unionid that a concurrent login claimed for another user first is
	// not attached: the login was a plain returning one.
	return domain.LoginReturning
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
