#!/usr/bin/env bash
# cpu_per_login.sh: the CPU a login costs each process (the server, PostgreSQL, Redis, ...), the project
# against the floor (docs/performance.md, issue 20).
#
# Like ../shared/bench/floor/ratio.sh it serves the project (`enduser dev`, which also serves the fake
# WeChat) and the floor side by side, by default as PROD=1 runs the project (audit on, every limit on and
# shared through Redis, thresholds out of the load's reach). Each round drives the project, then the floor,
# with one load generator for the given seconds, and prints the logins/s and, per process name, the user +
# system CPU time it spent per login (from /proc, before and after: the whole machine, so run it on a quiet
# one). The floor's fake WeChat runs in the project's process: the floor's rounds charge it there.
#
# Run from the project's root:  bash scripts/cpu_per_login.sh [clients 16] [users 0] [rounds 2] [seconds 8]
#   users 0: a new person every login (registrations); N: cycle through N persons.
#   DEFAULT=1: limits and audit off, as ratio.sh without PROD=1.
set -euo pipefail
clients=${1:-16} users=${2:-0} rounds=${3:-2} secs=${4:-8}
export ENDUSER_RATE_LIMITS=on ENDUSER_AUDIT=on ENDUSER_IP_RATE=1000000 ENDUSER_IP_BURST=1000000 \
  ENDUSER_EXCHANGE_RATE=1000000 ENDUSER_REDIS_URL=${ENDUSER_REDIS_URL:-redis://127.0.0.1:6379/0} \
  ENDUSER_REDIS_PREFIX="cpu$$:"
[ "${DEFAULT:-0}" = 1 ] && export ENDUSER_RATE_LIMITS=off ENDUSER_AUDIT=off
root=$(pwd)
floor_dir=$(cd "$root/../shared/bench/floor" && pwd)
tmp=$(mktemp -d)
pids=()
db="enduser_cpu_$$" fdb="enduser_cpufloor_$$"
admin="postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  psql -q "$admin" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "DROP DATABASE IF EXISTS $fdb WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# snapshot FILE: every process's name and CPU ticks, and the machine's idle and total ticks.
snapshot() {
  python3 - "$1" <<'PY'
import json, os, sys
d = {}
for p in os.listdir('/proc'):
    if not p.isdigit():
        continue
    try:
        s = open(f'/proc/{p}/stat').read()
    except OSError:
        continue
    name = s[s.index('(') + 1:s.rindex(')')]
    if name.startswith('kworker'):
        name = 'kworker (all)'  # a kernel worker's name changes with its work
    f = s[s.rindex(')') + 2:].split()
    d[p] = [name, int(f[11]) + int(f[12])]
cpu = [int(x) for x in open('/proc/stat').readline().split()[1:]]
d['_total'], d['_idle'] = sum(cpu), cpu[3] + cpu[4]
json.dump(d, open(sys.argv[1], 'w'))
PY
}
# report BEFORE AFTER LOGINS: the machine's busy share and the top processes' CPU per login.
report() {
  python3 - "$@" <<'PY'
import json, os, sys
a, b, n = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), float(sys.argv[3])
hz = os.sysconf('SC_CLK_TCK')
busy = 1 - (b['_idle'] - a['_idle']) / (b['_total'] - a['_total'])
print(f"  machine busy {100 * busy:.1f} %")
by = {}
for pid, v in b.items():
    if not pid.startswith('_'):
        name, ticks = v
        before = a.get(pid)
        by[name] = by.get(name, 0) + ticks - (before[1] if before and before[0] == name else 0)
rows = sorted(((t, k) for k, t in by.items()), reverse=True)
for ticks, name in rows[:6]:
    if ticks > 0:
        print(f"  {name:<24} {ticks / hz * 1e6 / n:7.1f} µs/login")
PY
}

go build -o "$tmp/enduser" ./cmd/enduser
(cd "$floor_dir" && go build -o "$tmp/floor" ./server && go build -o "$tmp/load" ./load)
p1=$(port)
ENDUSER_HTTP_ADDR=127.0.0.1:$p1 ENDUSER_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$db?sslmode=disable" \
  "$tmp/enduser" dev >"$tmp/dev.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 120); do grep -q 'fake WeChat:' "$tmp/dev.out" && break; sleep 0.25; done
wechat=$(grep -o 'fake WeChat: *http://[0-9.:]*' "$tmp/dev.out" | grep -o 'http://.*') || { cat "$tmp/dev.out"; exit 1; }
ud=C.DM.10000.1 secret=demo-user-domain-secret-0123456789 app=wx0123456789demo appsecret=demo-app-secret-abcdef0123456789
psql -q "$admin" -c "CREATE DATABASE $fdb" >/dev/null
p2=$(port)
BARE_ADDR=127.0.0.1:$p2 BARE_DSN="postgres://postgres@127.0.0.1:5432/$fdb?sslmode=disable" BARE_WECHAT=$wechat \
  BARE_DOMAIN=$ud BARE_SECRET=$secret BARE_APP=$app BARE_APP_SECRET=$appsecret "$tmp/floor" >"$tmp/floor.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 120); do curl -fs "http://127.0.0.1:$p2/healthz" >/dev/null 2>&1 && curl -fs "http://127.0.0.1:$p1/healthz" >/dev/null 2>&1 && break; sleep 0.25; done

one() { # name port
  snapshot "$tmp/a.json"
  out=$("$tmp/load" -url "http://127.0.0.1:$2" -clients "$clients" -users "$users" -duration "${secs}s" \
    -user-domain $ud -app-id $app -secret $secret)
  snapshot "$tmp/b.json"
  echo "$1: $out"
  report "$tmp/a.json" "$tmp/b.json" "$(echo "$out" | awk -v s="$secs" '{print $1 * s}')"
}
for _ in $(seq 1 "$rounds"); do one project "$p1"; one floor "$p2"; done
