#!/usr/bin/env bash
# Like bigseed_load.sh, but both at once: one `enduser dev` on the seeded
# database (BIG) and one on the empty one (EMPTY), loaded at the same time by
# 8 clients each, so the machine's noise hits both alike and the throughput
# ratio BIG/EMPTY is the figure. First logins (every person new), then two
# runs of returning logins (1000 persons). The purge is off.
#
#   bash scripts/bigseed_pair.sh enduser_bigseed_x enduser_bigseed_x_empty [duration]
set -euo pipefail
BIG=$1 EMPTY=$2 DURATION=${3:-20s}
PG="postgres://postgres@127.0.0.1:5432"
go build -o /tmp/bigseed-enduser ./cmd/enduser
go build -o /tmp/bigseed-load ./cmd/enduser-load
declare -A URL PID LOG
for db in "$BIG" "$EMPTY"; do
	psql -q -h 127.0.0.1 -U postgres -d "$db" -c \
		"DELETE FROM enduser_users WHERE id IN (SELECT user_id FROM enduser_wechat_identities WHERE open_id NOT LIKE 'oSEED%')" 2>/dev/null || true
	LOG[$db]=$(mktemp)
	ENDUSER_DATABASE_URL="$PG/$db?sslmode=disable" ENDUSER_HTTP_ADDR=127.0.0.1:0 ENDUSER_LOG_LEVEL=warn ENDUSER_RATE_LIMITS=off ENDUSER_AUDIT=off \
		ENDUSER_SESSION_PURGE_INTERVAL=0 /tmp/bigseed-enduser dev >"${LOG[$db]}" 2>&1 &
	PID[$db]=$!
done
for db in "$BIG" "$EMPTY"; do
	for _ in $(seq 200); do
		URL[$db]=$(grep -o 'serving on http://[0-9.:]*' "${LOG[$db]}" | head -1 | sed 's/serving on //') || true
		[ -n "${URL[$db]}" ] && break
		sleep 0.1
	done
	[ -n "${URL[$db]}" ] || { cat "${LOG[$db]}"; exit 1; }
done
for run in "first 100000000" "returning 1000" "returning 1000"; do
	set -- $run
	out_big=$(mktemp) out_empty=$(mktemp)
	/tmp/bigseed-load -url "${URL[$BIG]}" -clients 8 -duration "$DURATION" -users "$2" >"$out_big" &
	a=$!
	/tmp/bigseed-load -url "${URL[$EMPTY]}" -clients 8 -duration "$DURATION" -users "$2" >"$out_empty" &
	b=$!
	wait "$a" "$b"
	echo "$1 BIG:   $(tail -1 "$out_big")"
	echo "$1 EMPTY: $(tail -1 "$out_empty")"
	rm -f "$out_big" "$out_empty"
done
kill "${PID[$BIG]}" "${PID[$EMPTY]}"
wait || true
rm -f "${LOG[$BIG]}" "${LOG[$EMPTY]}"
