#!/usr/bin/env bash
# Short accuracy check for `make test` (issue 5): 100 Mbit/s, no delay, no loss, normal buffer,
# download and upload over ws, median of 3. Both of Fathom's figures must be within ±1 %:
#   - the ndt7 mean (Throughput) against the ideal application goodput (after WebSocket framing),
#   - the steady-state estimate (SteadyStateMbps, from the server's TCP counters) against the
#     TCP-level ideal R × 1448/1514                                   (docs/accuracy.md).
# Integration-test exit codes: 0 pass, 77 skipped (not root, no fathom binary, or no
# ip/tc/iperf3), anything else a failure. Namespaces are removed on every exit path.
# Environment: FATHOM (default $FATHOM_BUILD/fathom or build/release/fathom), RATES, RTTS,
# SCHEMES, RUNS, TARGET_PCT=1 to widen or narrow it.
set -u
cd "$(dirname "$0")/../.."
FATHOM=${FATHOM:-${FATHOM_BUILD:+$FATHOM_BUILD/fathom}}
FATHOM=${FATHOM:-build/release/fathom}
[ "$(id -u)" = 0 ] || { echo "skipped: accuracy subset needs root"; exit 77; }
[ -x "$FATHOM" ] || { echo "skipped: no fathom binary at $FATHOM"; exit 77; }
for c in ip tc ping iperf3 python3 ethtool; do
    command -v "$c" >/dev/null || { echo "skipped: $c missing"; exit 77; }
done
out=$(mktemp -d "${TMPDIR:-/tmp}/fathom-subset.XXXXXX")
# Our own namespace prefix, so that this script can remove the namespaces even if run.sh is
# killed before its own trap runs.
export LAB_P=fls$$
pid=""
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
    for ns in "${LAB_P}c" "${LAB_P}s" "${LAB_P}m"; do ip netns del "$ns" 2>/dev/null; done
    rm -rf "$out"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
start=$(date +%s)
RATES=${RATES:-100} RTTS=${RTTS:-0} LOSSES=0 BUFFERS=normal DIRS="download upload" \
    SCHEMES=${SCHEMES:-ws} TOOLS=fathom RUNS=${RUNS:-3} FATHOM=$FATHOM OUT=$out/subset \
    LAB_TEST_MODE=1 bench/accuracy/run.sh >"$out/run.log" 2>&1 &
pid=$!
wait "$pid"
rc=$?
pid=""
if [ $rc -ne 0 ]; then
    tail -n 20 "$out/run.log"
    [ $rc = 77 ] && exit 77
    echo "accuracy subset: run failed (rc=$rc)"
    exit 1
fi
grep -q ',fathom,' "$out/subset-raw.csv" || { tail -n 20 "$out/run.log"; echo "accuracy subset: no fathom result"; exit 1; }
grep '^  run' "$out/run.log"
python3 bench/accuracy/report.py "$out/subset-raw.csv" "$out/subset" --check "${TARGET_PCT:-1}"
rc=$?
echo "accuracy subset: $FATHOM, $(( $(date +%s) - start )) s, $([ $rc = 0 ] && echo pass || echo FAIL)"
exit $rc
