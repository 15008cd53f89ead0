-- The plans of a login's statements and of one purge batch on a database
-- seeded by scripts/bigseed.sql (run after it, same -d). Everything runs in
-- transactions that roll back: the data stays as seeded.
--
--   psql -h 127.0.0.1 -U postgres -d enduser_bigseed_x -f scripts/bigseed_explain.sql
\set ON_ERROR_STOP on
SELECT id AS ud FROM enduser_user_domains WHERE name = 'C.DM.10000.1' \gset
-- The returning person and the session to refresh: a seeded one, or (on a
-- database without the seed) one that the load generator made.
SELECT coalesce((SELECT open_id FROM enduser_wechat_identities WHERE user_domain_id = :ud AND app_id = 'wx0123456789demo'
                   AND open_id = 'oSEED' || lpad('2718281', 23, '0')),
                (SELECT open_id FROM enduser_wechat_identities LIMIT 1)) AS openid \gset
SELECT coalesce((SELECT id FROM enduser_sessions WHERE id = md5('s' || 4242)::uuid),
                (SELECT id FROM enduser_sessions LIMIT 1)) AS sid \gset

\echo '== returning login: touch the user found by openid and insert the session (one statement; the login of migration 00019 runs these as two)'
BEGIN;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF)
WITH touched AS (
    UPDATE enduser_users u SET last_login_at = GREATEST(u.last_login_at, now())
    FROM enduser_wechat_identities i
    WHERE i.user_domain_id = :ud AND i.app_id = 'wx0123456789demo' AND i.open_id = :'openid' AND u.id = i.user_id
    RETURNING u.id, u.user_domain_id, u.status, u.registered_at, u.last_login_at,
        CASE WHEN i.union_id IS NULL AND '' <> '' THEN NOT EXISTS (
            SELECT 1 FROM enduser_wechat_unions un
            WHERE un.user_domain_id = i.user_domain_id AND un.union_id = '' AND un.user_id <> i.user_id)
        ELSE false END AS attach_union
), started AS (
    INSERT INTO enduser_sessions (id, user_id, user_domain_id, app_id, refresh_key_enc, refresh_counter, created_at, expires_at, refresh_expires_at)
    SELECT gen_random_uuid(), touched.id, :ud, 'wx0123456789demo', '\x00', 1, now(), now() + interval '365 days', now() + interval '30 days' FROM touched
    RETURNING id
)
SELECT * FROM touched;
ROLLBACK;

\echo '== first login: the lookup by openid that finds nothing, then the registration'
BEGIN;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF)
UPDATE enduser_users u SET last_login_at = GREATEST(u.last_login_at, now())
FROM enduser_wechat_identities i
WHERE i.user_domain_id = :ud AND i.app_id = 'wx0123456789demo' AND i.open_id = 'oNEW-PERSON' AND u.id = i.user_id;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF)
INSERT INTO enduser_users (id, user_domain_id, status, registered_at, last_login_at) VALUES ('new-user-0001', :ud, 1, now(), now());
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF)
INSERT INTO enduser_wechat_identities (user_domain_id, app_id, open_id, union_id, user_id, created_at)
VALUES (:ud, 'wx0123456789demo', 'oNEW-PERSON', NULL, 'new-user-0001', now()) ON CONFLICT DO NOTHING;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF)
INSERT INTO enduser_sessions (id, user_id, user_domain_id, app_id, refresh_key_enc, refresh_counter, created_at, expires_at, refresh_expires_at)
VALUES (gen_random_uuid(), 'new-user-0001', :ud, 'wx0123456789demo', '\x00', 1, now(), now() + interval '365 days', now() + interval '30 days');
ROLLBACK;

\echo '== refresh: load the session, spend the token'
BEGIN;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF)
SELECT s.id, s.user_id, d.name FROM enduser_sessions s JOIN enduser_user_domains d ON d.id = s.user_domain_id WHERE s.id = :'sid';
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF)
UPDATE enduser_sessions SET refresh_counter = refresh_counter + 1, rotated_at = now(), refresh_expires_at = now() + interval '30 days'
WHERE id = :'sid' AND refresh_counter = 1 AND revoked_at IS NULL AND expires_at > now() AND refresh_expires_at > now();
ROLLBACK;

\echo '== revocation sync: the revocations of the last access-token lifetime + overlap'
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF)
SELECT id, revoked_at FROM enduser_sessions WHERE revoked_at IS NOT NULL AND revoked_at >= now() - interval '2 hours 1 minute' ORDER BY revoked_at, id;

\echo '== one purge batch (limit 1000, cutoff now - 2 h 6 min): lease, ended sessions, sweep'
BEGIN;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF)
UPDATE enduser_session_purge SET holder = 'explain', lease_expires_at = now() + interval '11 minutes'
WHERE name = 'sessions' AND (holder = 'explain' OR lease_expires_at <= now())
RETURNING sweep_expires_at, sweep_id;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF)
DELETE FROM enduser_sessions WHERE id IN (
    (SELECT id FROM enduser_sessions WHERE expires_at < now() - interval '2 hours 6 minutes' ORDER BY expires_at LIMIT 1000)
    UNION
    (SELECT id FROM enduser_sessions WHERE revoked_at < now() - interval '2 hours 6 minutes' ORDER BY revoked_at LIMIT 1000)
    LIMIT 1000);
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF)
WITH examined AS (
    SELECT id, expires_at FROM enduser_sessions
    WHERE (expires_at, id) > ('0001-01-01 00:00:00+00', CAST('00000000-0000-0000-0000-000000000000' AS uuid))
    ORDER BY expires_at, id LIMIT 1000
), gone AS (
    DELETE FROM enduser_sessions s USING examined e
    WHERE s.id = e.id AND (s.refresh_expires_at < now() - interval '2 hours 6 minutes' OR s.expires_at < now() - interval '2 hours 6 minutes'
        OR s.revoked_at < now() - interval '2 hours 6 minutes')
    RETURNING s.id
), last AS (
    SELECT expires_at, id FROM examined ORDER BY expires_at DESC, id DESC LIMIT 1
)
SELECT (SELECT count(*) FROM examined) AS examined, (SELECT count(*) FROM gone) AS deleted,
       (SELECT expires_at FROM last) AS last_expires_at, (SELECT id::text FROM last) AS last_id;
ROLLBACK;
