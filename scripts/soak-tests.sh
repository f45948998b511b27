#!/usr/bin/env bash
# Run the whole test suite N times in a row while a CPU-bound process keeps one core busy (a loaded 2-core CI
# machine), then report passes and failures per test. A flaky test shows as "failed k of N".
#
#   scripts/soak-tests.sh 5              # the whole suite, 5 times
#   scripts/soak-tests.sh 3 -m "not slow"   # extra arguments go to pytest
#
# Exit 0 when every run passed. Reports land in ${SOAK_DIR:-/tmp/arc-top-soak}: run-K.xml (JUnit) and run-K.log.
set -u
runs=${1:-5}
shift || true
case "$runs" in ''|*[!0-9]*) echo "usage: $0 N [pytest args…]" >&2; exit 2;; esac
cd "$(dirname "$0")/.."
out=${SOAK_DIR:-/tmp/arc-top-soak}
mkdir -p "$out"
rm -f "$out"/run-*.xml "$out"/run-*.log

python3 -c 'while True: pass' &           # the load: one core busy for the whole soak
burner=$!
trap 'kill $burner 2>/dev/null' EXIT

status=0
for k in $(seq 1 "$runs"); do
  began=$(date +%s)
  if python3 -m pytest -q -p no:cacheprovider --junitxml="$out/run-$k.xml" "$@" >"$out/run-$k.log" 2>&1; then
    verdict=green
  else
    verdict=RED; status=1
  fi
  echo "run $k of $runs: $verdict in $(( $(date +%s) - began )) s ($(tail -n 1 "$out/run-$k.log"))"
done

python3 - "$out" "$runs" <<'EOF'
import collections, glob, sys, xml.etree.ElementTree as ET
out, runs = sys.argv[1], int(sys.argv[2])
passed, failed = collections.Counter(), collections.Counter()
for path in sorted(glob.glob(f"{out}/run-*.xml")):
    for case in ET.parse(path).getroot().iter("testcase"):
        name = f"{case.get('classname')}::{case.get('name')}"
        if case.find("failure") is not None or case.find("error") is not None:
            failed[name] += 1
        elif case.find("skipped") is None:
            passed[name] += 1
print(f"{len(set(passed) | set(failed))} tests over {runs} runs; "
      f"{sum(failed.values())} failures in {len(failed)} tests")
for name, n in failed.most_common():
    print(f"  failed {n} of {runs}: {name}")
EOF
exit $status
