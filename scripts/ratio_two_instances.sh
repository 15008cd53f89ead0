#!/usr/bin/env bash
# ratio_two_instances.sh: ../shared/bench/floor/ratio.sh with the project as two instances (issue 20, item 3).
#
# The project runs as production runs it (ratio.sh's PROD=1: audit on, every limit on and shared through
# Redis under one prefix, thresholds out of the load's reach) in two processes on one database: `enduser dev`
# (which also serves the fake WeChat) and `enduser serve`. Each instance takes half of the clients, from
# the same IP, so the per-IP bucket is split between two local views reconciled through Redis (one instance
# and one IP is the local-first admission's best case). The floor is one process, driven by the same two
# half-size load generators at once. Phases, clients and the A B A B order are ratio.sh's; the throughput is
# the two generators' sum, the p99 the larger of their two.
#
# Run from the project's root:   bash scripts/ratio_two_instances.sh [seconds per run, default 8]
set -euo pipefail
secs=${1:-8}
export ENDUSER_RATE_LIMITS=on ENDUSER_AUDIT=on ENDUSER_IP_RATE=1000000 ENDUSER_IP_BURST=1000000 \
  ENDUSER_EXCHANGE_RATE=1000000 ENDUSER_REDIS_URL=${ENDUSER_REDIS_URL:-redis://127.0.0.1:6379/0} \
  ENDUSER_REDIS_PREFIX="ratio2i$$:"
root=$(pwd)
floor_dir=$(cd "$root/../shared/bench/floor" && pwd)
tmp=$(mktemp -d)
pids=()
db="enduser_ratio2i_$$"
fdb="enduser_floor2i_$$"
admin="postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  psql -q "$admin" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "DROP DATABASE IF EXISTS $fdb WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
up() { for _ in $(seq 1 120); do curl -fs "http://127.0.0.1:$1/healthz" >/dev/null 2>&1 && return 0; sleep 0.25; done; return 1; }

go build -o "$tmp/enduser" ./cmd/enduser
(cd "$floor_dir" && go build -o "$tmp/floor" ./server && go build -o "$tmp/load" ./load)

pa=$(port)
ENDUSER_HTTP_ADDR=127.0.0.1:$pa ENDUSER_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db?sslmode=disable" \
  "$tmp/enduser" dev >"$tmp/a.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 120); do grep -q 'fake WeChat:' "$tmp/a.out" && break; sleep 0.25; done
wechat=$(grep -o 'fake WeChat: *http://[0-9.:]*' "$tmp/a.out" | grep -o 'http://.*') || { cat "$tmp/a.out"; exit 1; }
up "$pa" || { cat "$tmp/a.out"; exit 1; }
# The second instance: dev's database (migrated, the demo tenant in it), dev's public development key and
# data center, the same fake WeChat and the same Redis prefix.
pb=$(port)
ENDUSER_HTTP_ADDR=127.0.0.1:$pb ENDUSER_ADMIN_ADDR=127.0.0.1:0 ENDUSER_INSECURE_DEV_KEY=1 ENDUSER_DATA_CENTER=CN \
  ENDUSER_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db?sslmode=disable" ENDUSER_WECHAT_API_BASE_URL=$wechat \
  "$tmp/enduser" serve >"$tmp/b.out" 2>&1 &
pids+=($!)
up "$pb" || { cat "$tmp/b.out"; exit 1; }
ud=C.DM.10000.1 secret=demo-user-domain-secret-0123456789 app=wx0123456789demo appsecret=demo-app-secret-abcdef0123456789

psql -q "$admin" -c "CREATE DATABASE $fdb" >/dev/null
pf=$(port)
BARE_ADDR=127.0.0.1:$pf BARE_DSN="postgres://postgres@127.0.0.1:5432/$fdb?sslmode=disable" BARE_WECHAT=$wechat \
  BARE_DOMAIN=$ud BARE_SECRET=$secret BARE_APP=$app BARE_APP_SECRET=$appsecret "$tmp/floor" >"$tmp/floor.out" 2>&1 &
pids+=($!)
up "$pf" || { cat "$tmp/floor.out"; exit 1; }

ms() { awk '{p=$1; if (p ~ /ms$/) {sub(/ms$/,"",p)} else if (p ~ /µs$/) {sub(/µs$/,"",p); p/=1000} else if (p ~ /s$/) {sub(/s$/,"",p); p*=1000}; print p}'; }
run() { # port1 port2 clients users -> "logins/s p99-ms": two generators at once, clients/2 each
  local half=$(($3 / 2))
  "$tmp/load" -url "http://127.0.0.1:$1" -clients $half -users "$4" -duration "${secs}s" -user-domain $ud -app-id $app -secret $secret >"$tmp/l1" &
  local l1=$!
  "$tmp/load" -url "http://127.0.0.1:$2" -clients $half -users "$4" -duration "${secs}s" -user-domain $ud -app-id $app -secret $secret >"$tmp/l2"
  wait $l1
  local r1 r2 p1 p2
  r1=$(awk '/logins\/s/ {print $1}' "$tmp/l1"); r2=$(awk '/logins\/s/ {print $1}' "$tmp/l2")
  p1=$(awk '/logins\/s/ {print $6}' "$tmp/l1" | ms); p2=$(awk '/logins\/s/ {print $6}' "$tmp/l2" | ms)
  echo "$r1 $r2 $p1 $p2" | awk '{print $1+$2, ($3>$4 ? $3 : $4)}'
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

echo "two instances (PROD=1 settings), each half the clients, against one floor"
for c in 16 64; do
  for phase in first returning; do
    users=1000; [ $phase = first ] && users=0
    ours=() floor=() ourp=() floorp=()
    for _ in 1 2; do
      read -r r p <<<"$(run "$pa" "$pb" $c $users)"; ours+=("$r"); ourp+=("$p")
      read -r r p <<<"$(run "$pf" "$pf" $c $users)"; floor+=("$r"); floorp+=("$p")
    done
    o=$(printf '%s\n' "${ours[@]}" | median); f=$(printf '%s\n' "${floor[@]}" | median)
    op=$(printf '%s\n' "${ourp[@]}" | median); fp=$(printf '%s\n' "${floorp[@]}" | median)
    printf 'login %-9s c=%-2d project %6.0f/s  floor %6.0f/s  project/floor %.2f  p99 %6.1f vs %6.1f ms  p99 ratio %.2f\n' \
      $phase $c "$o" "$f" "$(echo "$o $f" | awk '{print $1/$2}')" "$op" "$fp" "$(echo "$op $fp" | awk '{print $1/$2}')"
  done
done
