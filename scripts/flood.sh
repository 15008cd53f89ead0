#!/usr/bin/env bash
# flood.sh: what a flood of refused logins writes (issue 19, item 2). For each kind of flood, against a
# fresh `enduser dev` (its own database, the demo tenant, the abuse limits at their defaults), from one IP,
# for SECONDS: the requests and their answers by business code (scripts/flood), the growth of
# enduser_audit_events (pg_total_relation_size) and of the server's log, the audit rows by event, and the
# limits' refusal counter. Kinds: malformed (a userDomain that does not parse: 5148 from the IP's bucket),
# badsig (wrong signatures: 5420, then the lockout's and the bucket's 5148), signed (correctly signed logins
# with the IP limit out of reach and ENDUSER_EXCHANGE_RATE=1: 5367 rateLimited).
#
# Run from the project's root:  bash scripts/flood.sh [SECONDS, default 5] [BINARY, default: built from here]
# (to compare with an older version: git worktree add /tmp/old main && (cd /tmp/old && go build -o /tmp/enduser-old ./cmd/enduser)
#  then bash scripts/flood.sh 5 /tmp/enduser-old). Keep it short: the flood takes every core it can.
set -euo pipefail
secs=${1:-5}
bin=${2:-}
tmp=$(mktemp -d)
admin="postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
pid=""
db=""
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  if [ -n "$db" ]; then psql -q "$admin" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
if [ -z "$bin" ]; then go build -o "$tmp/enduser" ./cmd/enduser; bin=$tmp/enduser; fi
go build -o "$tmp/flood" ./scripts/flood

for kind in malformed badsig signed; do
  db="enduser_flood_$$_$kind"
  dsn="postgres://postgres@127.0.0.1:5432/$db?sslmode=disable"
  psql -q "$admin" -c "CREATE DATABASE $db" >/dev/null
  extra=()
  if [ "$kind" = signed ]; then extra=(ENDUSER_IP_RATE=1000000 ENDUSER_IP_BURST=1000000 ENDUSER_EXCHANGE_RATE=1); fi
  p=$(port)
  env ENDUSER_HTTP_ADDR=127.0.0.1:$p ENDUSER_ADMIN_ADDR=127.0.0.1:0 ENDUSER_DATABASE_URL="$dsn" ENDUSER_RATE_LIMITS=on \
    ENDUSER_AUDIT=on "${extra[@]}" "$bin" dev >"$tmp/out" 2>"$tmp/log" &
  pid=$!
  for _ in $(seq 1 120); do grep -q 'fake WeChat:' "$tmp/out" && break; sleep 0.25; done
  grep -q 'fake WeChat:' "$tmp/out" || { cat "$tmp/out" "$tmp/log"; exit 1; }
  metrics=$(grep -o 'http://[0-9.:]*  (/metrics' "$tmp/out" | cut -d' ' -f1 || true)
  size() { psql -tAq "$dsn" -c "SELECT pg_total_relation_size('enduser_audit_events')"; }
  a0=$(size) l0=$(stat -c %s "$tmp/log")
  "$tmp/flood" -url "http://127.0.0.1:$p" -kind "$kind" -for "${secs}s"
  sleep 2 # the audit writer writes what is queued each second
  a1=$(size) l1=$(stat -c %s "$tmp/log")
  refused=""
  if [ -n "$metrics" ]; then refused=$(curl -s "$metrics/metrics" | grep '^enduser_auth_limits_refused_total' | tr '\n' ' ' || true); fi
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true; pid=""
  a2=$(size) l2=$(stat -c %s "$tmp/log")
  echo "  audit table +$((a1 - a0)) bytes during the flood (+$((a2 - a0)) after the stop's flush); log +$((l1 - l0)) bytes (+$((l2 - l0)) after the stop)"
  echo "  audit rows: $(psql -tAq "$dsn" -c "SELECT string_agg(event || '×' || n, ' ') FROM (SELECT event, count(*) n FROM enduser_audit_events GROUP BY event ORDER BY event) e")"
  echo "  ${refused:-(no enduser_auth_limits_refused_total: an older binary)}"
  psql -q "$admin" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
  db=""
done
