-- +goose Up
-- RecordLogin (adapters/postgres/users.go) as one function call: a login and
-- its session, one round trip, whatever the step. Until now it was one
-- statement of nine CTEs; PostgreSQL builds the executor state of every node
-- of a plan on each execution, used or not (six INSERT/UPDATE nodes with their
-- indexes, the scans, the CTE scans), and that start-up was 12 % of the
-- machine's CPU under the login benchmark (perf: standard_ExecutorStart), more
-- than the whole floor's. PL/pgSQL keeps each statement's plan for the
-- session and starts only the statements the step runs: a returning login
-- runs three small ones, a registration four (six with a unionid).
--
-- It decides what domain.DecideLogin decides (domain/identity.go), from the
-- same facts; the shared table domain.IdentityCases, replayed by the
-- repository contract, holds the two equal. The step names are
-- domain.LoginStep's; the CASE is loginStep's order:
--   disabled       nothing written; the row says so (LoginStep.Err)
--   returning      the user touched
--   attach_claim   ClaimUnionID, touched, then RecordUnionID on the binding
--   attach_record  touched, then RecordUnionID on the binding
--   joined         BindOpenID to the unionid's holder, touched
--   registered     Register the candidate (with its first login), ClaimUnionID
--                  (with a unionid), BindOpenID
-- Every step but disabled and registered cancels a pending deletion (under
-- the user's row lock: of concurrent logins during a cooling-off exactly one
-- says it cancelled) and moves last_login_at forward (never back); then the
-- session is stored for the user who logs in.
--
-- Under concurrency it relies on the primary keys of the user, identity and
-- union tables, never on locks held across calls: a write the step needs
-- that a concurrent login made impossible (ON CONFLICT DO NOTHING inserts
-- nothing, or the user was erased meanwhile) raises SQLSTATE EU409, which
-- undoes whatever the call wrote; the caller runs it again and finds the
-- winner's rows. A registration writes the user row first (the rows after it
-- reference it), so two logins that register the same candidate meet on it.
-- A user erased between the lookup and a write trips that write's foreign
-- key (23503), handled the same way. An attach whose claim a concurrent login
-- took records nothing and is a plain returning login. A deletion requested
-- after the lookup is not cancelled by the login, as if the login came first
-- (the cancel is decided from the lookup).
--
-- The OUT columns are what RecordLogin scans: the user who logs in, the
-- step, whether the unionid was recorded on an existing binding, whether the
-- session was stored, whether a pending deletion was cancelled.
-- +goose StatementBegin
CREATE FUNCTION enduser_record_login(
    p_user_domain bigint, p_app_id text, p_open_id text, p_union_id text,
    p_candidate_uid text, p_candidate_status smallint, p_registered_at timestamptz, p_registered_via text,
    p_login_at timestamptz,
    p_session_id uuid, p_session_user_domain bigint, p_session_app_id text, p_refresh_key_enc bytea,
    p_refresh_counter bigint, p_session_created_at timestamptz, p_session_expires_at timestamptz,
    p_refresh_expires_at timestamptz,
    OUT r_id text, OUT r_user_domain_id bigint, OUT r_status smallint, OUT r_registered_at timestamptz,
    OUT r_last_login_at timestamptz, OUT r_step text, OUT r_recorded boolean, OUT r_started boolean,
    OUT r_cancelled boolean)
LANGUAGE plpgsql AS $$
DECLARE
    k_uid   text;     -- the user the openid is bound to
    k_union text;     -- the binding's unionid
    h_uid   text;     -- the unionid's holder, looked up only when the binding has no unionid
    x_status smallint; -- the user found (k's, else h's)
    pending boolean;  -- the user found has a deletion pending
    uid     text;
    claimed boolean := false; -- attach_claim: the unionid was claimed for the binding's user
BEGIN
    r_recorded := false;
    r_started := false;
    r_cancelled := false;
    SELECT k.user_id, k.union_id, x.status, x.deletion_due_at IS NOT NULL
        INTO k_uid, k_union, x_status, pending
        FROM enduser_wechat_identities k JOIN enduser_users x ON x.id = k.user_id
        WHERE k.user_domain_id = p_user_domain AND k.app_id = p_app_id AND k.open_id = p_open_id;
    IF p_union_id <> '' AND k_union IS NULL THEN
        IF k_uid IS NULL THEN
            SELECT u.user_id, x.status, x.deletion_due_at IS NOT NULL INTO h_uid, x_status, pending
                FROM enduser_wechat_unions u JOIN enduser_users x ON x.id = u.user_id
                WHERE u.user_domain_id = p_user_domain AND u.union_id = p_union_id;
        ELSE
            SELECT u.user_id INTO h_uid FROM enduser_wechat_unions u
                WHERE u.user_domain_id = p_user_domain AND u.union_id = p_union_id;
        END IF;
    END IF;
    uid := COALESCE(k_uid, h_uid, p_candidate_uid);
    r_step := CASE
        WHEN x_status = 0 THEN 'disabled'
        WHEN k_uid IS NOT NULL THEN CASE
            WHEN p_union_id = '' OR k_union IS NOT NULL THEN 'returning'
            WHEN h_uid IS NULL THEN 'attach_claim'
            WHEN h_uid = k_uid THEN 'attach_record'
            ELSE 'returning' END
        WHEN h_uid IS NOT NULL THEN 'joined'
        ELSE 'registered'
    END;

    IF r_step = 'disabled' THEN
        r_id := uid;
        r_user_domain_id := 0;
        r_status := 0;
        r_registered_at := p_login_at;
        r_last_login_at := p_login_at;
        RETURN;
    END IF;

    IF r_step = 'registered' THEN
        INSERT INTO enduser_users (id, user_domain_id, status, registered_at, last_login_at, registered_via)
            VALUES (uid, p_user_domain, p_candidate_status, p_registered_at, p_login_at, p_registered_via)
            ON CONFLICT DO NOTHING
            RETURNING id, user_domain_id, status, registered_at, last_login_at
            INTO r_id, r_user_domain_id, r_status, r_registered_at, r_last_login_at;
        IF NOT FOUND THEN -- a concurrent login registered this candidate (a caller that reuses one)
            RAISE EXCEPTION 'record login: a concurrent login registered the candidate first' USING ERRCODE = 'EU409';
        END IF;
        IF p_union_id <> '' THEN
            INSERT INTO enduser_wechat_unions (user_domain_id, union_id, user_id, created_at)
                VALUES (p_user_domain, p_union_id, uid, p_login_at) ON CONFLICT DO NOTHING;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'record login: a concurrent login claimed the unionid first' USING ERRCODE = 'EU409';
            END IF;
        END IF;
        INSERT INTO enduser_wechat_identities (user_domain_id, app_id, open_id, union_id, user_id, created_at)
            VALUES (p_user_domain, p_app_id, p_open_id, NULLIF(p_union_id, ''), uid, p_login_at) ON CONFLICT DO NOTHING;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'record login: a concurrent login bound the openid first' USING ERRCODE = 'EU409';
        END IF;
    ELSE
        IF r_step = 'joined' THEN
            INSERT INTO enduser_wechat_identities (user_domain_id, app_id, open_id, union_id, user_id, created_at)
                VALUES (p_user_domain, p_app_id, p_open_id, NULLIF(p_union_id, ''), uid, p_login_at) ON CONFLICT DO NOTHING;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'record login: a concurrent login bound the openid first' USING ERRCODE = 'EU409';
            END IF;
        ELSIF r_step = 'attach_claim' THEN
            INSERT INTO enduser_wechat_unions (user_domain_id, union_id, user_id, created_at)
                VALUES (p_user_domain, p_union_id, uid, p_login_at) ON CONFLICT DO NOTHING;
            claimed := FOUND;
        END IF;
        -- The user row is locked before the binding is updated, as EraseUser
        -- locks it before it deletes the bindings: one order, no deadlock.
        IF pending THEN
            PERFORM FROM enduser_users p WHERE p.id = uid AND p.deletion_due_at IS NOT NULL FOR NO KEY UPDATE;
            r_cancelled := FOUND;
        END IF;
        UPDATE enduser_users u SET last_login_at = GREATEST(u.last_login_at, p_login_at),
                deletion_due_at = CASE WHEN r_cancelled THEN NULL ELSE u.deletion_due_at END
            WHERE u.id = uid
            RETURNING u.id, u.user_domain_id, u.status, u.registered_at, u.last_login_at
            INTO r_id, r_user_domain_id, r_status, r_registered_at, r_last_login_at;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'record login: the user was erased meanwhile' USING ERRCODE = 'EU409';
        END IF;
        IF r_step = 'attach_record' OR (r_step = 'attach_claim' AND claimed) THEN
            UPDATE enduser_wechat_identities i SET union_id = p_union_id
                WHERE i.user_domain_id = p_user_domain AND i.app_id = p_app_id AND i.open_id = p_open_id
                    AND i.union_id IS NULL AND i.user_id = uid;
            r_recorded := FOUND;
        END IF;
    END IF;

    INSERT INTO enduser_sessions (id, user_id, user_domain_id, app_id, refresh_key_enc, refresh_counter,
            created_at, expires_at, refresh_expires_at)
        VALUES (p_session_id, r_id, p_session_user_domain, p_session_app_id, p_refresh_key_enc, p_refresh_counter,
            p_session_created_at, p_session_expires_at, p_refresh_expires_at);
    r_started := true;
END
$$;
-- +goose StatementEnd

-- +goose Down
DROP FUNCTION enduser_record_login(bigint, text, text, text, text, smallint, timestamptz, text, timestamptz,
    uuid, bigint, text, bytea, bigint, timestamptz, timestamptz, timestamptz);
