#!/usr/bin/env bash
# The failover scenario by hand: a PostgreSQL primary with a synchronous
# standby (initdb, pg_basebackup -R, synchronous_standby_names), `enduser
# serve` on both hosts (target_session_attrs=read-write), 4 clients logging in
# and refreshing; the primary is killed (pg_ctl stop -m immediate) and the
# standby promoted (synchronous_standby_names reset first, then pg_ctl
# promote). It runs the component test tests/failover (the same scenario CI
# runs) and prints its figures: answers and business codes before, while the
# kill runs, during the outage, after, and in the final check of every
# session; /readyz during the outage; the seconds to recover.
#
#   bash scripts/failover.sh            # once
#   bash scripts/failover.sh 3          # three runs
#
# Needs PostgreSQL's server binaries (/usr/lib/postgresql/*/bin or on PATH)
# and, run as root, the postgres OS user (initdb refuses root). The clusters
# use free loopback ports and a temporary directory removed at the end; the
# server on 5432 is not touched.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-1}
for i in $(seq "$runs"); do
	out=$(mktemp)
	if go test -count=1 -v -run '^TestFailoverUnderLoad$' ./tests/failover/ >"$out" 2>&1; then
		status=PASS
	else
		status=FAIL
	fi
	echo "run $i: $status"
	grep -o 'failover: .*' "$out" || true
	if [ "$status" = FAIL ]; then
		cat "$out"
		rm -f "$out"
		exit 1
	fi
	rm -f "$out"
done
