#!/usr/bin/env bash
# Measures logins against `enduser dev` on two databases, side by side: one
# seeded by scripts/bigseed.sql (BIG) and one empty but for the demo tenant
# (EMPTY, created when missing). Rounds alternate EMPTY, BIG, BIG, EMPTY so
# that the machine's drift hits both alike. Each round deletes the users the
# load generator made earlier (never the seeded ones), then runs first logins
# (every person new: registration), then returning logins (1000 persons, now
# known). The purge is off, so the big tables stay as seeded.
#
#   bash scripts/bigseed_load.sh enduser_bigseed_x enduser_bigseed_x_empty [duration]
#
# Run from the project's root; needs psql. Prints enduser-load's lines.
set -euo pipefail
BIG=$1 EMPTY=$2 DURATION=${3:-15s}
PG="postgres://postgres@127.0.0.1:5432"
go build -o /tmp/bigseed-enduser ./cmd/enduser
go build -o /tmp/bigseed-load ./cmd/enduser-load

round() { # db label
	local db=$1 label=$2 log url pid
	psql -q -h 127.0.0.1 -U postgres -d "$db" -c \
		"DELETE FROM enduser_users WHERE id IN (SELECT user_id FROM enduser_wechat_identities WHERE open_id NOT LIKE 'oSEED%')" 2>/dev/null || true
	log=$(mktemp)
	ENDUSER_DATABASE_URL="$PG/$db?sslmode=disable" ENDUSER_HTTP_ADDR=127.0.0.1:0 ENDUSER_LOG_LEVEL=warn ENDUSER_RATE_LIMITS=off ENDUSER_AUDIT=off \
		ENDUSER_SESSION_PURGE_INTERVAL=0 /tmp/bigseed-enduser dev >"$log" 2>&1 &
	pid=$!
	for _ in $(seq 200); do
		url=$(grep -o 'serving on http://[0-9.:]*' "$log" | head -1 | sed 's/serving on //') || true
		[ -n "$url" ] && break
		sleep 0.1
	done
	[ -n "$url" ] || { cat "$log"; kill "$pid"; exit 1; }
	echo "== $label ($db) first logins"
	/tmp/bigseed-load -url "$url" -clients 16 -duration "$DURATION" -users 100000000
	echo "== $label ($db) returning logins"
	/tmp/bigseed-load -url "$url" -clients 16 -duration "$DURATION" -users 1000
	kill "$pid"
	wait "$pid" || true
	rm -f "$log"
}

round "$EMPTY" EMPTY
round "$BIG" BIG
round "$BIG" BIG
round "$EMPTY" EMPTY
