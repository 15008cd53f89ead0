-- RecordLogin (adapters/postgres/users.go): a login and its session in one
-- statement, one round trip, whatever the step. It decides what
-- domain.DecideLogin decides (domain/identity.go), from the same facts, in
-- one snapshot; the shared table domain.IdentityCases, replayed by the
-- repository contract, holds the two equal. The step names are
-- domain.LoginStep's.
--
--   decided     what is stored (domain.KnownIdentity: k the openid's binding,
--               h the unionid's holder, x the user found with its status and
--               pending deletion) and the step (the CASE is loginStep's order):
--               disabled, returning, attach_claim, attach_record, joined,
--               registered; uid is LoginDecision.UID
--   claimed     ClaimUnionID: registered with a unionid, attach_claim
--   bound       BindOpenID: joined, registered (once its unionid is claimed)
--   registered  Register: the candidate user, with its first login
--   recorded    RecordUnionID on an existing binding: attach_record,
--               attach_claim (once claimed)
--   prev        CancelDeletion: the user's deletion is still pending (under
--               its row lock), for every step but registered and disabled
--   touched     domain.LastLogin (never moved back) and the cancel
--   logged_in   the user who logs in (registered or touched)
--   started     the session, for that user
--   last SELECT the user, the step, whether the unionid was recorded and the
--               session stored, whether the deletion was cancelled; for
--               disabled, a row that says so (LoginStep.Err: nothing written)
--
-- How it stays one statement under concurrency: the writes are chained, so
-- that a write the step needs and a concurrent login made impossible (ON
-- CONFLICT DO NOTHING inserts nothing) stops the ones after it: then the
-- statement returns no row, or, when the unionid was claimed but the binding
-- lost, fails on the unions' foreign key (the candidate was never inserted),
-- and nothing is written either way. The caller runs it again and finds the
-- winner. An attach whose claim a concurrent login took records nothing and
-- is a plain returning login.
--
-- What keeps it cheap: the unionid's holder (h) is only looked up when the
-- login has a unionid and the binding none, so a returning user costs no
-- probe of the unions (the lateral subquery's OFFSET 0 keeps both conditions
-- inside it, where they gate the index scan, instead of letting the planner
-- hoist them into a join filter evaluated after the scan). decided reads the
-- user found once (x). recorded's first condition is uncorrelated, so it
-- gates the whole UPDATE (a one-time filter): the logins that attach nothing
-- (nearly all) do not probe the identity again. prev runs only when the
-- snapshot saw a deletion pending (d.pending) and locks only a row whose
-- deletion is still pending (the latest committed version: of concurrent
-- logins during a cooling-off exactly one says it cancelled; a user erased
-- meanwhile is no row, so nothing is written and the login runs again,
-- registering a new user); the other returning logins neither probe the row
-- again nor take an extra row lock, the UPDATE's own lock is enough. A
-- deletion requested after the snapshot is not cancelled by a login that
-- started before it, as if the login came first. A disabled user's login
-- reaches neither prev nor touched, so it cancels nothing.
--
-- Parameters: @user_domain, @app_id, @open_id, @union_id ('' for none) the
-- login; @candidate_uid, @candidate_status, @registered_at, @registered_via
-- (the kind of app the login went through) the user registered if nobody is
-- this person; @login_at the login's time; @session_id, @session_app_id,
-- @refresh_key_enc (sealed), @refresh_counter, @session_created_at,
-- @session_expires_at, @refresh_expires_at, @session_user_domain the session.
WITH decided AS (
	SELECT COALESCE(k.user_id, h.user_id, @candidate_uid) AS uid, x.deletion_due_at IS NOT NULL AS pending,
		CASE
			WHEN x.status = 0 THEN 'disabled'
			WHEN k.user_id IS NOT NULL THEN CASE
				WHEN @union_id = '' OR k.union_id IS NOT NULL THEN 'returning'
				WHEN h.user_id IS NULL THEN 'attach_claim'
				WHEN h.user_id = k.user_id THEN 'attach_record'
				ELSE 'returning' END
			WHEN h.user_id IS NOT NULL THEN 'joined'
			ELSE 'registered'
		END AS step
	FROM (SELECT 1) one
	LEFT JOIN enduser_wechat_identities k ON k.user_domain_id = @user_domain AND k.app_id = @app_id AND k.open_id = @open_id
	LEFT JOIN LATERAL (SELECT u.user_id FROM enduser_wechat_unions u
		WHERE @union_id <> '' AND k.union_id IS NULL AND u.user_domain_id = @user_domain AND u.union_id = @union_id OFFSET 0) h ON true
	LEFT JOIN enduser_users x ON x.id = COALESCE(k.user_id, h.user_id)
),
claimed AS (
	INSERT INTO enduser_wechat_unions (user_domain_id, union_id, user_id, created_at)
	SELECT @user_domain, @union_id, d.uid, @login_at FROM decided d
	WHERE @union_id <> '' AND d.step IN ('registered', 'attach_claim')
	ON CONFLICT DO NOTHING
	RETURNING user_id
),
bound AS (
	INSERT INTO enduser_wechat_identities (user_domain_id, app_id, open_id, union_id, user_id, created_at)
	SELECT @user_domain, @app_id, @open_id, NULLIF(@union_id, ''), d.uid, @login_at FROM decided d
	WHERE d.step = 'joined' OR (d.step = 'registered' AND (@union_id = '' OR EXISTS (SELECT 1 FROM claimed)))
	ON CONFLICT DO NOTHING
	RETURNING user_id
),
registered AS (
	INSERT INTO enduser_users (id, user_domain_id, status, registered_at, last_login_at, registered_via)
	SELECT b.user_id, @user_domain, @candidate_status, @registered_at, @login_at, @registered_via
	FROM bound b, decided d WHERE d.step = 'registered'
	RETURNING id, user_domain_id, status, registered_at, last_login_at
),
recorded AS (
	UPDATE enduser_wechat_identities i SET union_id = @union_id
	FROM decided d
	WHERE EXISTS (SELECT 1 FROM decided a WHERE a.step IN ('attach_record', 'attach_claim'))
		AND i.user_domain_id = @user_domain AND i.app_id = @app_id AND i.open_id = @open_id AND i.union_id IS NULL AND i.user_id = d.uid
		AND (d.step = 'attach_record' OR (d.step = 'attach_claim' AND EXISTS (SELECT 1 FROM claimed)))
	RETURNING i.user_id
),
prev AS (
	SELECT true AS cancel FROM enduser_users p, decided d
	WHERE d.pending AND p.id = d.uid AND d.step NOT IN ('registered', 'disabled') AND p.deletion_due_at IS NOT NULL
	FOR NO KEY UPDATE OF p
),
touched AS (
	UPDATE enduser_users u SET last_login_at = GREATEST(u.last_login_at, @login_at),
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
	SELECT @session_id, l.id, @session_user_domain, @session_app_id, @refresh_key_enc, @refresh_counter,
		@session_created_at, @session_expires_at, @refresh_expires_at
	FROM logged_in l
	RETURNING id
)
SELECT l.id, l.user_domain_id, l.status, l.registered_at, l.last_login_at, d.step,
	EXISTS (SELECT 1 FROM recorded) AS recorded, EXISTS (SELECT 1 FROM started) AS started, l.cancelled
FROM logged_in l, decided d
UNION ALL
SELECT d.uid, 0, 0, @login_at, @login_at, d.step, false, false, false FROM decided d WHERE d.step = 'disabled'
