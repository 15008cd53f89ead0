-- Seeds a migrated enduser-auth database with 5 million users (one WeChat
-- identity each, under the demo tenant of `enduser dev`) and 10 million
-- sessions (two per user), with generate_series, not through the API. It is
-- for measuring how the login and the session purge behave on big tables; run
-- it only on a throw-away database:
--
--   createdb -h 127.0.0.1 -U postgres enduser_bigseed_x
--   ENDUSER_DATABASE_URL=postgres://postgres@127.0.0.1:5432/enduser_bigseed_x?sslmode=disable \
--     ENDUSER_HTTP_ADDR=127.0.0.1:0 enduser dev    # migrates and provisions the demo tenant; stop it
--   psql -h 127.0.0.1 -U postgres -d enduser_bigseed_x -v users=5000000 -f scripts/bigseed.sql
--
-- Ids are hashes of the row number (random-looking, as the service's random
-- uids and v4 session ids are, so the indexes are as scattered as in
-- production). Sessions were created over the last 365 days with the default
-- lifetimes (absolute 365 days, sliding 30 days): about 2/5 (4.0 million) are within
-- their sliding window, the rest slid out; 1 in 20 is revoked (an hour after
-- its last use, and at least a day ago, so that the revocation sync's window
-- holds only the revocations made while measuring); none has passed its
-- absolute expiry yet. The seeded openids ("oSEED...") never collide with
-- the fake WeChat's ("o" + a hash of the label).
\set ON_ERROR_STOP on
\if :{?users}
\else
  \set users 5000000
\endif
SET synchronous_commit = off;
SET maintenance_work_mem = '256MB';

SELECT id AS ud FROM enduser_user_domains WHERE name = 'C.DM.10000.1' \gset

\timing on
INSERT INTO enduser_users (id, user_domain_id, status, registered_at, last_login_at)
SELECT md5('u' || i), :ud, 1, now() - (i % 365) * interval '1 day', now() - (i % 30) * interval '1 day'
FROM generate_series(1, :users) AS i;

INSERT INTO enduser_wechat_identities (user_domain_id, app_id, open_id, union_id, user_id, created_at)
SELECT :ud, 'wx0123456789demo', 'oSEED' || lpad(i::text, 23, '0'), NULL, md5('u' || i), now() - (i % 365) * interval '1 day'
FROM generate_series(1, :users) AS i;

-- Two sessions per user: n = 2i-1 and 2i. created = now - (n mod 365) days -
-- (n mod 86400) s; last rotation (n mod 240) days after creation when that is
-- not in the future.
INSERT INTO enduser_sessions (id, user_id, user_domain_id, app_id, refresh_key_enc, refresh_counter,
                              created_at, expires_at, refresh_expires_at, rotated_at, revoked_at, revoke_reason)
SELECT md5('s' || n)::uuid, md5('u' || ((n + 1) / 2)), :ud, 'wx0123456789demo',
       decode(md5('k' || n) || md5('K' || n) || md5('n' || n) || substr(md5('N' || n), 1, 24), 'hex'), -- 60 bytes, as sealed keys are
       1 + n % 50, c, c + interval '365 days',
       least(c + interval '365 days', greatest(c, r) + interval '30 days'),
       CASE WHEN r > c THEN r END,
       CASE WHEN n % 20 = 0 THEN greatest(c, least(greatest(c, r) + interval '1 hour', now() - interval '1 day')) END,
       CASE WHEN n % 20 = 0 THEN 'logout' END
FROM (
  SELECT n, c, least(c + (n % 240) * interval '1 day', now() - interval '1 hour') AS r
  FROM (SELECT n, now() - (n % 365) * interval '1 day' - (n % 86400) * interval '1 second' AS c
        FROM generate_series(1, 2 * :users) AS n) AS t
) AS s;

ANALYZE enduser_users;
ANALYZE enduser_wechat_identities;
ANALYZE enduser_sessions;

SELECT (SELECT count(*) FROM enduser_users) AS users,
       (SELECT count(*) FROM enduser_sessions) AS sessions,
       pg_size_pretty(pg_total_relation_size('enduser_sessions')) AS sessions_size,
       pg_size_pretty(pg_total_relation_size('enduser_users')) AS users_size;
