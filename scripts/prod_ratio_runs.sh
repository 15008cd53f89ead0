#!/bin/bash
# PROD=1 and the default ratio.sh alternating, three runs each (docs/performance.md, issue 20).
cd "$(dirname "$0")/.."
for i in 1 2 3; do
  echo "=== PROD=1 run $i $(date +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)"
  PROD=1 bash ../shared/bench/floor/ratio.sh 8 2>&1 | grep "^login"
  echo "=== default run $i $(date +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)"
  bash ../shared/bench/floor/ratio.sh 8 2>&1 | grep "^login"
done
echo "=== end $(date +%H:%M:%S) load $(cut -d' ' -f1-3 /proc/loadavg)"
