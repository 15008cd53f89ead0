#!/usr/bin/env bash
# ab_builds.sh: several builds of `enduser` and the floor served at once and driven in turn, round robin,
# so that one run compares them under the same hour's noise (docs/performance.md, issue 20).
#
# Each build serves `dev` on a database and a Redis prefix of its own, as PROD=1 runs the project (audit on,
# every limit on and shared through Redis, thresholds out of the load's reach); the floor
# (../shared/bench/floor) uses the first build's fake WeChat. Each round drives every build, then the floor,
# with one load generator, and prints per server its logins/s and the CPU it spent per login (user + system,
# from /proc: its own process, the fake WeChat included, and Redis's).
#
# Run from the project's root:
#   go build -o /tmp/a/enduser ./cmd/enduser        # and the variant, e.g. from a git worktree, to /tmp/b/enduser
#   bash scripts/ab_builds.sh ROUNDS SECONDS CLIENTS USERS head=/tmp/a/enduser variant=/tmp/b/enduser
#   users 0: a new person every login (registrations); N: cycle through N persons.
#   MEMORY=1: the limits decided in each process's memory (no Redis), the audit still on.
set -euo pipefail
rounds=${1:-} secs=${2:-} clients=${3:-} users=${4:-}
shift 4 || { echo "usage: $0 rounds seconds clients users name=binary..." >&2; exit 2; }
[ $# -ge 1 ] || { echo "usage: $0 rounds seconds clients users name=binary..." >&2; exit 2; }
export ENDUSER_RATE_LIMITS=on ENDUSER_AUDIT=on ENDUSER_IP_RATE=1000000 ENDUSER_IP_BURST=1000000 \
  ENDUSER_EXCHANGE_RATE=1000000 ENDUSER_REDIS_URL=${ENDUSER_REDIS_URL:-redis://127.0.0.1:6379/0}
[ "${MEMORY:-0}" = 1 ] && unset ENDUSER_REDIS_URL
root=$(pwd)
floor_dir=$(cd "$root/../shared/bench/floor" && pwd)
tmp=$(mktemp -d)
admin="postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
pids=() dbs=() names=()
declare -A port pid
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  for d in "${dbs[@]}"; do psql -q "$admin" -c "DROP DATABASE IF EXISTS $d WITH (FORCE)" >/dev/null 2>&1 || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT
freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
redis_pid=$(pgrep -x redis-server | head -1 || true)
redis_ticks() { if [ -n "$redis_pid" ]; then ticks "$redis_pid"; else echo 0; fi; }

(cd "$floor_dir" && go build -o "$tmp/floor" ./server && go build -o "$tmp/load" ./load)
# The servers start in this shell, not in a subshell, so that cleanup knows every pid.
for arg in "$@"; do
  name=${arg%%=*} bin=${arg#*=}
  [ -x "$bin" ] || { echo "$bin: not an executable" >&2; exit 2; }
  names+=("$name") port[$name]=$(freeport) dbs+=("enduser_ab_${name}_$$")
  ENDUSER_REDIS_PREFIX="ab$$${name}:" ENDUSER_HTTP_ADDR=127.0.0.1:${port[$name]} \
    ENDUSER_DATABASE_URL="postgres://postgres@127.0.0.1:5432/enduser_ab_${name}_$$?sslmode=disable" \
    "$bin" dev >"$tmp/$name.out" 2>&1 &
  pids+=($!) pid[$name]=$!
done
first=${names[0]}
for _ in $(seq 1 120); do grep -q 'fake WeChat:' "$tmp/$first.out" && break; sleep 0.25; done
wechat=$(grep -o 'fake WeChat: *http://[0-9.:]*' "$tmp/$first.out" | grep -o 'http://.*') || { cat "$tmp/$first.out"; exit 1; }
ud=C.DM.10000.1 secret=demo-user-domain-secret-0123456789 app=wx0123456789demo appsecret=demo-app-secret-abcdef0123456789
dbs+=("enduser_abfloor_$$")
psql -q "$admin" -c "CREATE DATABASE enduser_abfloor_$$" >/dev/null
port[floor]=$(freeport)
BARE_ADDR=127.0.0.1:${port[floor]} BARE_DSN="postgres://postgres@127.0.0.1:5432/enduser_abfloor_$$?sslmode=disable" \
  BARE_WECHAT=$wechat BARE_DOMAIN=$ud BARE_SECRET=$secret BARE_APP=$app BARE_APP_SECRET=$appsecret \
  "$tmp/floor" >"$tmp/floor.out" 2>&1 &
pids+=($!) pid[floor]=$!
for n in "${names[@]}" floor; do
  for _ in $(seq 1 120); do curl -fs "http://127.0.0.1:${port[$n]}/healthz" >/dev/null 2>&1 && break; sleep 0.25; done
done

echo "logins/s (server CPU µs a login, Redis CPU µs a login); the floor's fake WeChat is charged to $first"
for r in $(seq 1 "$rounds"); do
  line="round $r"
  for n in "${names[@]}" floor; do
    a=$(ticks "${pid[$n]}") ra=$(redis_ticks)
    out=$("$tmp/load" -url "http://127.0.0.1:${port[$n]}" -clients "$clients" -users "$users" -duration "${secs}s" \
      -user-domain $ud -app-id $app -secret $secret)
    b=$(ticks "${pid[$n]}") rb=$(redis_ticks)
    line+=$(echo "$out" | awk -v n="$n" -v a="$a" -v b="$b" -v ra="$ra" -v rb="$rb" -v s="$secs" -v hz="$(getconf CLK_TCK)" \
      '{l = $1 * s; printf "  %s %d (%.0f, %.0f)", n, $1, (b - a) / hz * 1e6 / l, (rb - ra) / hz * 1e6 / l}')
  done
  echo "$line"
done
