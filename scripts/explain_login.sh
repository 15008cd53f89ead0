#!/usr/bin/env bash
# The plan of the login statement the service runs (sqlRecordLogin, read from
# adapters/postgres/users.go, so it is never a copy that drifts), as a
# prepared statement with PostgreSQL's generic plan (the one pgx's statement
# cache ends up running), under EXPLAIN (ANALYZE, BUFFERS), for a returning
# person and for a first login, on the given database. Everything runs in a
# transaction that rolls back: the data stays as it was.
#
#   bash scripts/explain_login.sh enduser_bigseed_x [openid of a returning person]
#
# Run from the project's root; needs psql and python3. On a database seeded by
# scripts/bigseed.sql the default returning person is a seeded one; elsewhere
# it is any person of the demo tenant (or the first user domain).
set -euo pipefail
DB=$1
OPENID=${2:-oSEED$(printf '%023d' 2718281)}
PG="postgres://postgres@127.0.0.1:5432/$DB?sslmode=disable"
stmt=$(python3 - <<'EOF'
import re
s = open("adapters/postgres/users.go").read()
print(re.search(r"const sqlRecordLogin = `(.*?)`", s, re.S).group(1))
EOF
)
ud=$(psql -At "$PG" -c "SELECT id FROM enduser_user_domains ORDER BY name = 'C.DM.10000.1' DESC, id LIMIT 1")
# The returning person: the one asked for when it exists, else any.
OPENID=$(psql -At "$PG" -c "SELECT open_id FROM (SELECT open_id, 0 AS o FROM enduser_wechat_identities
	WHERE user_domain_id = $ud AND app_id = 'wx0123456789demo' AND open_id = '$OPENID'
	UNION ALL (SELECT open_id, 1 FROM enduser_wechat_identities WHERE user_domain_id = $ud AND app_id = 'wx0123456789demo' LIMIT 1)) x
	ORDER BY o LIMIT 1")
run() { # label openid
	echo "== $1"
	psql -q "$PG" <<EOF
BEGIN;
SET LOCAL plan_cache_mode = force_generic_plan;
PREPARE rl(bigint, text, text, text, text, smallint, timestamptz, timestamptz, uuid, text, bytea, bigint,
	timestamptz, timestamptz, timestamptz, bigint, text) AS $stmt;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, TIMING OFF)
EXECUTE rl($ud, 'wx0123456789demo', '$2', '', 'u' || md5(random()::text), 1, now(), now(), gen_random_uuid(),
	'wx0123456789demo', '\x00', 1, now(), now() + interval '365 days', now() + interval '30 days', $ud, 'offiaccount');
ROLLBACK;
EOF
}
run "returning login ($OPENID)" "$OPENID"
run "first login (a new openid)" "oEXPLAIN$RANDOM$RANDOM"
