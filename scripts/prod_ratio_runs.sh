#!/bin/bash
# PROD=1 and the default ratio.sh alternating, three runs each (docs/performance.md, issue 20).
# MEMORY=1 adds a third run each time: PROD=1's settings with the limits decided in the process's memory
# instead of Redis (the audit still on), which isolates the exchange gate's Redis call.
cd "$(dirname "$0")/.."
for i in 1 2 3; do
  echo "=== PROD=1 run $i $(date +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)"
  PROD=1 bash ../shared/bench/floor/ratio.sh 8 2>&1 | grep "^login"
  echo "=== default run $i $(date +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)"
  bash ../shared/bench/floor/ratio.sh 8 2>&1 | grep "^login"
  if [ "${MEMORY:-0}" = 1 ]; then
    echo "=== memory run $i $(date +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)"
    ENDUSER_RATE_LIMITS=on ENDUSER_AUDIT=on ENDUSER_IP_RATE=1000000 ENDUSER_IP_BURST=1000000 \
      ENDUSER_EXCHANGE_RATE=1000000 bash ../shared/bench/floor/ratio.sh 8 2>&1 | grep "^login"
  fi
done
echo "=== end $(date +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)"
