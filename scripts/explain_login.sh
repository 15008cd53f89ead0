#!/usr/bin/env bash
# The plans of the login the service runs (RecordLogin's
# adapters/postgres/sql/record_login.sql, translated to positional parameters
# by the adapter's own package through scripts/namedsql, so it is never a copy
# that drifts), as a prepared statement with PostgreSQL's generic plans (the
# ones pgx's statement cache and PL/pgSQL end up running; prepared like pgx
# prepares it, without parameter types: the server infers them), for a
# returning person and for a first login, on the given database. The
# statement calls the function enduser_record_login (migrations/00019), so
# the plans shown are those of the statements the function runs, each with
# its actual rows and buffers (auto_explain, nested statements; needs a
# superuser, as the local postgres is). Everything runs in a transaction that
# rolls back: the data stays as it was.
#
#   bash scripts/explain_login.sh enduser_bigseed_x [openid of a returning person]
#
# Run from the project's root; needs psql and go. On a database seeded by
# scripts/bigseed.sql the default returning person is a seeded one; elsewhere
# it is any person of the demo tenant (or the first user domain).
set -euo pipefail
DB=$1
OPENID=${2:-oSEED$(printf '%023d' 2718281)}
PG="postgres://postgres@127.0.0.1:5432/$DB?sslmode=disable"
FILE=adapters/postgres/sql/record_login.sql
tool=$(mktemp)
trap 'rm -f "$tool"' EXIT
go build -o "$tool" ./scripts/namedsql
prepare=$("$tool" -prepare rl "$FILE")
ud=$(psql -At "$PG" -c "SELECT id FROM enduser_user_domains ORDER BY name = 'C.DM.10000.1' DESC, id LIMIT 1")
# The returning person: the one asked for when it exists, else any.
OPENID=$(psql -At "$PG" -c "SELECT open_id FROM (SELECT open_id, 0 AS o FROM enduser_wechat_identities
	WHERE user_domain_id = $ud AND app_id = 'wx0123456789demo' AND open_id = '$OPENID'
	UNION ALL (SELECT open_id, 1 FROM enduser_wechat_identities WHERE user_domain_id = $ud AND app_id = 'wx0123456789demo' LIMIT 1)) x
	ORDER BY o LIMIT 1")
run() { # label openid
	echo "== $1"
	# Every parameter bound by name, once (the tool checks it, as the adapter
	# does), each value an SQL expression put in its parameter's position.
	local execute
	execute=$("$tool" -execute rl "$FILE" \
		user_domain="$ud" app_id="'wx0123456789demo'" open_id="'$2'" union_id="''" \
		candidate_uid="'u' || md5(random()::text)" candidate_status=1 registered_at='now()' \
		registered_via="'offiaccount'" login_at='now()' \
		session_id='gen_random_uuid()' session_app_id="'wx0123456789demo'" session_user_domain="$ud" \
		refresh_key_enc="'\\x00'::bytea" refresh_counter=1 session_created_at='now()' \
		session_expires_at="now() + interval '365 days'" refresh_expires_at="now() + interval '30 days'")
	psql -q "$PG" <<EOF
LOAD 'auto_explain';
SET auto_explain.log_min_duration = 0;
SET auto_explain.log_nested_statements = on;
SET auto_explain.log_analyze = on;
SET auto_explain.log_buffers = on;
SET auto_explain.log_timing = off;
SET client_min_messages = log;
BEGIN;
SET LOCAL plan_cache_mode = force_generic_plan;
$prepare
$execute;
ROLLBACK;
EOF
}
run "returning login ($OPENID)" "$OPENID"
run "first login (a new openid)" "oEXPLAIN$RANDOM$RANDOM"
