package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/iotplatform/enduser-auth/application"
	"github.com/iotplatform/enduser-auth/domain"
)

var _ application.UserImporter = (*Store)(nil)

// maxImportLostRaces bounds how often one batch is planned and written again
// (rolled back to its savepoint) after concurrent logins or imports took
// identities the plan wrote. Each round refuses the lines taken so far; only
// a login of one of the batch's people committed in the few milliseconds
// between the lookup and the writes costs another round.
const maxImportLostRaces = 50

// The import's staging path, one transaction per batch (READ COMMITTED):
//
//  1. COPY the batch into a temporary staging table (dropped at commit);
//  2. one SELECT joins it to what is stored (sqlImportKnown), and the
//     domain's ImportPlanner decides every line in order;
//  3. COPY the decisions into a second temporary table, then set-based
//     inserts (users, unions, identities, in that order and sorted by key, so
//     that concurrent imports take their index entries in the same order) and
//     one update (unionids attached), every insert ON CONFLICT DO NOTHING;
//  4. sqlImportLost checks that every row the plan wrote names the line's uid.
//     A login that registered the same person meanwhile makes an insert do
//     nothing: then the batch is rolled back to a savepoint after step 1 and
//     planned again on the winner's rows (the line is refused). A login racing the other way waits
//     on the batch's uncommitted keys, finds them taken when it commits and
//     runs again on the imported user (RecordLogin's lost race).
//
// A new user gets the line's profile (the profile columns of migration
// 00009); a user already stored keeps its own (an import never overwrites).
const sqlImportStage = `
CREATE TEMPORARY TABLE enduser_import_stage (
	line           bigint      NOT NULL,
	uid            text        NOT NULL,
	user_domain_id bigint      NOT NULL,
	app_id         text        NOT NULL,
	open_id        text        NOT NULL,
	union_id       text        NOT NULL,
	status         smallint    NOT NULL,
	registered_at  timestamptz NOT NULL,
	last_login_at  timestamptz NOT NULL,
	nike_name text, head_image text, sex integer, address text, province text, city text,
	signature text, remark text, lang integer, nationality integer, timezone integer
) ON COMMIT DROP;
CREATE TEMPORARY TABLE enduser_import_plan (
	line         bigint  PRIMARY KEY,
	insert_user  boolean NOT NULL,
	bind_openid  boolean NOT NULL,
	claim_union  boolean NOT NULL,
	record_union boolean NOT NULL
) ON COMMIT DROP`

var importStageColumns = []string{"line", "uid", "user_domain_id", "app_id", "open_id", "union_id", "status",
	"registered_at", "last_login_at", "nike_name", "head_image", "sex", "address", "province", "city",
	"signature", "remark", "lang", "nationality", "timezone"}

// sqlImportKnown is domain.ImportKnown for every staged line. What a uid
// holds is read through its bindings (the identities' user_id index): every
// unionid a user holds is recorded on one of its bindings.
const sqlImportKnown = `
SELECT s.line, COALESCE(u.user_domain_id, 0), COALESCE(x.app_open, ''), COALESCE(x.any_union, ''),
	COALESCE(k.user_id, ''), COALESCE(k.union_id, ''), COALESCE(h.user_id, '')
FROM enduser_import_stage s
LEFT JOIN enduser_users u ON u.id = s.uid
LEFT JOIN LATERAL (
	SELECT max(i.open_id) FILTER (WHERE i.app_id = s.app_id AND i.user_domain_id = s.user_domain_id) AS app_open,
		max(i.union_id) AS any_union
	FROM enduser_wechat_identities i WHERE i.user_id = u.id
) x ON u.id IS NOT NULL
LEFT JOIN enduser_wechat_identities k
	ON k.user_domain_id = s.user_domain_id AND k.app_id = s.app_id AND k.open_id = s.open_id
LEFT JOIN enduser_wechat_unions h
	ON h.user_domain_id = s.user_domain_id AND h.union_id = s.union_id AND s.union_id <> ''`

// $1: the import's time (the unions' created_at).
const sqlImportUsers = `
INSERT INTO enduser_users (id, user_domain_id, status, registered_at, last_login_at,
	nike_name, head_image, sex, address, province, city, signature, remark, lang, nationality, timezone)
SELECT s.uid, s.user_domain_id, s.status, s.registered_at, s.last_login_at,
	NULLIF(s.nike_name, ''), NULLIF(s.head_image, ''), s.sex, NULLIF(s.address, ''), NULLIF(s.province, ''),
	NULLIF(s.city, ''), NULLIF(s.signature, ''), NULLIF(s.remark, ''), s.lang, s.nationality, s.timezone
FROM enduser_import_stage s JOIN enduser_import_plan p USING (line)
WHERE p.insert_user ORDER BY s.uid
ON CONFLICT DO NOTHING`

const sqlImportUnions = `
INSERT INTO enduser_wechat_unions (user_domain_id, union_id, user_id, created_at)
SELECT s.user_domain_id, s.union_id, s.uid, $1
FROM enduser_import_stage s JOIN enduser_import_plan p USING (line)
WHERE p.claim_union ORDER BY s.user_domain_id, s.union_id
ON CONFLICT DO NOTHING`

const sqlImportIdentities = `
INSERT INTO enduser_wechat_identities (user_domain_id, app_id, open_id, union_id, user_id, created_at)
SELECT s.user_domain_id, s.app_id, s.open_id, NULLIF(s.union_id, ''), s.uid, s.registered_at
FROM enduser_import_stage s JOIN enduser_import_plan p USING (line)
WHERE p.bind_openid ORDER BY s.user_domain_id, s.app_id, s.open_id
ON CONFLICT DO NOTHING`

const sqlImportAttach = `
UPDATE enduser_wechat_identities i SET union_id = s.union_id
FROM enduser_import_stage s JOIN enduser_import_plan p USING (line)
WHERE p.record_union AND i.user_domain_id = s.user_domain_id AND i.app_id = s.app_id AND i.open_id = s.open_id
	AND i.user_id = s.uid AND i.union_id IS NULL`

// sqlImportLost counts the lines whose planned writes do not name the line's
// uid after the writes (a concurrent login or import won).
const sqlImportLost = `
SELECT count(*) FROM enduser_import_stage s JOIN enduser_import_plan p USING (line)
WHERE (p.insert_user AND NOT EXISTS (SELECT 1 FROM enduser_users u WHERE u.id = s.uid AND u.user_domain_id = s.user_domain_id))
	OR (p.claim_union AND NOT EXISTS (SELECT 1 FROM enduser_wechat_unions n
		WHERE n.user_domain_id = s.user_domain_id AND n.union_id = s.union_id AND n.user_id = s.uid))
	OR ((p.bind_openid OR p.record_union) AND NOT EXISTS (SELECT 1 FROM enduser_wechat_identities i
		WHERE i.user_domain_id = s.user_domain_id AND i.app_id = s.app_id AND i.open_id = s.open_id
			AND i.user_id = s.uid AND i.union_id IS NOT DISTINCT FROM NULLIF(s.union_id, '')))`

// errImportLostRace is a batch that a concurrent writer made write less than
// planned.
var errImportLostRace = errors.New("a concurrent login or import of the same person won")

// ImportUsers implements application.UserImporter: one transaction for the
// batch, decided by domain.ImportPlanner on what is stored (see
// sqlImportStage). Serialization failures and deadlocks run the batch again
// (retry).
func (s *Store) ImportUsers(ctx context.Context, rows []application.ImportRow) ([]application.ImportResult, error) {
	if len(rows) == 0 {
		return nil, nil
	}
	sqlDB, err := s.db.DB()
	if err != nil {
		return nil, fmt.Errorf("import users: %w", err)
	}
	conn, err := sqlDB.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("import users: %w", err)
	}
	defer conn.Close()
	var results []application.ImportResult
	err = s.retry(ctx, func() error {
		return conn.Raw(func(dc any) error {
			c, ok := dc.(*stdlib.Conn)
			if !ok {
				return fmt.Errorf("the pool's driver is %T, not pgx", dc)
			}
			var err error
			results, err = importBatch(ctx, c.Conn(), rows)
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("import users (batch from line %d): %w", rows[0].Line, err)
	}
	return results, nil
}

// importBatch runs one batch in one transaction on c. The transaction is
// READ COMMITTED whatever the database's default: correctness rests on the
// primary keys and the check after the writes (sqlImportLost), which must
// see what concurrent logins committed; under serializable isolation the
// batch's reads would conflict with nearly every concurrent login and fail
// to serialize again and again. A lost race rolls back to the savepoint
// taken after the staging COPY and plans again on what is committed now: the
// lines a login took are refused, the rest is written.
func importBatch(ctx context.Context, c *pgx.Conn, rows []application.ImportRow) ([]application.ImportResult, error) {
	tx, err := c.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	if _, err := tx.Exec(ctx, sqlImportStage); err != nil {
		return nil, fmt.Errorf("staging tables: %w", err)
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"enduser_import_stage"}, importStageColumns, stageSource(rows)); err != nil {
		return nil, fmt.Errorf("copy into staging: %w", err)
	}
	for range maxImportLostRaces {
		if _, err := tx.Exec(ctx, "SAVEPOINT enduser_import_planned"); err != nil {
			return nil, err
		}
		results, lost, err := planAndWrite(ctx, tx, rows)
		if err != nil {
			return nil, err
		}
		if !lost {
			return results, tx.Commit(ctx)
		}
		if _, err := tx.Exec(ctx, "ROLLBACK TO SAVEPOINT enduser_import_planned"); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("%w %d times in a row", errImportLostRace, maxImportLostRaces)
}

// planAndWrite looks the staged batch up, plans it and writes the plan; lost
// reports that a concurrent writer took something the plan wrote (then the
// caller rolls back to its savepoint).
func planAndWrite(ctx context.Context, tx pgx.Tx, rows []application.ImportRow) (results []application.ImportResult, lost bool, err error) {
	known, err := importKnown(ctx, tx, rows)
	if err != nil {
		return nil, false, err
	}
	planner := domain.NewImportPlanner()
	results = make([]application.ImportResult, len(rows))
	plan := make([][]any, 0, len(rows))
	for i, r := range rows {
		d := planner.Decide(known[i], r.UserDomainID, r.User)
		results[i] = application.ImportResult{Outcome: d.Outcome, Reason: d.Reason}
		if d.Outcome.Imported() {
			plan = append(plan, []any{int64(r.Line), d.InsertUser, d.BindOpenID, d.ClaimUnionID, d.RecordUnionID})
		}
	}
	if len(plan) == 0 {
		return results, false, nil
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"enduser_import_plan"},
		[]string{"line", "insert_user", "bind_openid", "claim_union", "record_union"}, pgx.CopyFromRows(plan)); err != nil {
		return nil, false, fmt.Errorf("copy the plan: %w", err)
	}
	now := dbTime(time.Now())
	for _, q := range []struct {
		what, sql string
		args      []any
	}{{"users", sqlImportUsers, nil}, {"unions", sqlImportUnions, []any{now}},
		{"identities", sqlImportIdentities, nil}, {"attached unionids", sqlImportAttach, nil}} {
		if _, err := tx.Exec(ctx, q.sql, q.args...); err != nil {
			return nil, false, fmt.Errorf("insert %s: %w", q.what, err)
		}
	}
	var n int64
	if err := tx.QueryRow(ctx, sqlImportLost).Scan(&n); err != nil {
		return nil, false, fmt.Errorf("check the batch: %w", err)
	}
	return results, n > 0, nil
}

// importKnown runs sqlImportKnown and returns what is stored about each row,
// in rows' order.
func importKnown(ctx context.Context, tx pgx.Tx, rows []application.ImportRow) ([]domain.ImportKnown, error) {
	at := make(map[int64]int, len(rows))
	for i, r := range rows {
		at[int64(r.Line)] = i
	}
	known := make([]domain.ImportKnown, len(rows))
	res, err := tx.Query(ctx, sqlImportKnown)
	if err != nil {
		return nil, fmt.Errorf("look up the batch: %w", err)
	}
	defer res.Close()
	for res.Next() {
		var (
			line int64
			k    domain.ImportKnown
		)
		if err := res.Scan(&line, &k.UIDDomain, &k.UIDOpenID, &k.UIDUnion, &k.OpenIDUser, &k.OpenIDUnion, &k.UnionUser); err != nil {
			return nil, fmt.Errorf("look up the batch: %w", err)
		}
		i, ok := at[line]
		if !ok {
			return nil, fmt.Errorf("look up the batch: unknown line %d", line)
		}
		known[i] = k
	}
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("look up the batch: %w", err)
	}
	return known, nil
}

// stageSource feeds rows to COPY.
func stageSource(rows []application.ImportRow) pgx.CopyFromSource {
	i := -1
	return pgx.CopyFromFunc(func() ([]any, error) {
		i++
		if i == len(rows) {
			return nil, nil
		}
		r, u := rows[i], rows[i].User
		p := u.Profile
		return []any{int64(r.Line), u.UID, r.UserDomainID, u.AppID, u.OpenID, u.UnionID, int16(u.Status),
			dbTime(u.RegisteredAt), dbTime(u.LastLoginAt), p.NikeName, p.HeadImage, p.Sex, p.Address, p.Province, p.City,
			p.Signature, p.Remark, p.Lang, p.Nationality, p.Timezone}, nil
	})
}
