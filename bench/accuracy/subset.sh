#!/usr/bin/env bash
# Short accuracy check for `make test` (issue 5): 100 Mbit/s, no delay, no loss, normal buffer,
# download and upload over ws, median of 3, each cell within ±1 % of the ideal application
# goodput (docs/accuracy.md). Integration-test exit codes: 0 pass, 77 skipped (not root, no
# fathom binary, or no iperf3/tc), anything else a failure.
# Environment: FATHOM (default $FATHOM_BUILD/fathom or build/release/fathom), RATES, RTTS,
# SCHEMES, RUNS, TARGET_PCT=1 to widen or narrow it.
set -u
cd "$(dirname "$0")/../.."
FATHOM=${FATHOM:-${FATHOM_BUILD:+$FATHOM_BUILD/fathom}}
FATHOM=${FATHOM:-build/release/fathom}
[ "$(id -u)" = 0 ] || { echo "skipped: accuracy subset needs root"; exit 77; }
[ -x "$FATHOM" ] || { echo "skipped: no fathom binary at $FATHOM"; exit 77; }
for c in ip tc ping iperf3 python3; do
    command -v "$c" >/dev/null || { echo "skipped: $c missing"; exit 77; }
done
out=$(mktemp -d "${TMPDIR:-/tmp}/fathom-subset.XXXXXX")
trap 'rm -rf "$out"' EXIT
RATES=${RATES:-100} RTTS=${RTTS:-0} LOSSES=0 BUFFERS=normal DIRS="download upload" \
    SCHEMES=${SCHEMES:-ws} TOOLS=fathom RUNS=${RUNS:-3} FATHOM=$FATHOM OUT=$out/subset \
    LAB_TEST_MODE=1 bench/accuracy/run.sh >"$out/run.log" 2>&1
rc=$?
if [ $rc -ne 0 ]; then
    tail -n 20 "$out/run.log"
    [ $rc = 77 ] && exit 77
    echo "accuracy subset: run failed (rc=$rc)"
    exit 1
fi
grep -q ',fathom,' "$out/subset-raw.csv" || { tail -n 20 "$out/run.log"; echo "accuracy subset: no fathom result"; exit 1; }
python3 bench/accuracy/report.py "$out/subset-raw.csv" "$out/subset" --check "${TARGET_PCT:-1}"
