#!/usr/bin/env bash
# Accuracy lab: Fathom's throughput and RTT against ground truth on shaped links (issue 5).
# Entry point of `make accuracy`. Needs root (network namespaces, tc).
#
# Matrix, each a space-separated list in the environment (defaults = the whole matrix):
#   RATES="10 50 100 500 1000"  Mbit/s     RTTS="0 20 80"  ms      LOSSES="0 0.1"  percent
#   BUFFERS="normal bloated"    DIRS="download upload"             SCHEMES="ws wss"
#   TOOLS="iperf3 fathom"       RUNS=3 (median of RUNS)            SECS=10 (iperf3 -t)
#   OUT=bench/results/accuracy  (writes OUT.md, OUT.csv, OUT.svg and OUT-raw.csv)
#   FATHOM=build/release/fathom LAB_DELAY=auto|delayline  LAB_FORCE_TOPO=mid
#   FATHOM_SERVE_ARGS="--no-bbr"  extra options for `fathom serve` (experiments)
#   LAB_KEEP_JSON=FILE  append the raw `fathom test --format json` output of every run to FILE
# Runs inside one cell are interleaved: run 1 of every tool and direction, then run 2, ...
# Exit: 0 done (or skipped when not root); 77 skipped in test mode (LAB_TEST_MODE=1); 1 error.
set -u
FATHOM_SERVE_ARGS=${FATHOM_SERVE_ARGS:-}
cd "$(dirname "$0")/../.."
ROOT=$PWD
. bench/accuracy/lib.sh
. bench/lib/fathom.sh

RATES=${RATES:-10 50 100 500 1000}
RTTS=${RTTS:-0 20 80}
LOSSES=${LOSSES:-0 0.1}
BUFFERS=${BUFFERS:-normal bloated}
DIRS=${DIRS:-download upload}
SCHEMES=${SCHEMES:-ws wss}
TOOLS=${TOOLS:-iperf3 fathom}
RUNS=${RUNS:-3}
SECS=${SECS:-10}
OUT=${OUT:-bench/results/accuracy}
FATHOM=${FATHOM:-build/release/fathom}
case $FATHOM in /*) ;; *) FATHOM=$ROOT/$FATHOM ;; esac

skip() {
    echo "accuracy: skipped: $*"
    [ "${LAB_TEST_MODE:-0}" = 1 ] && exit 77
    exit 0
}

lab_is_root || skip "needs root (network namespaces and tc); run: sudo make accuracy"
for c in ip tc iperf3 ping python3 ethtool; do
    command -v "$c" >/dev/null || skip "missing $c (apt-get install iproute2 iperf3 iputils-ping ethtool)"
done
if [[ " $TOOLS " == *" fathom "* ]] && [ ! -x "$FATHOM" ]; then
    echo "accuracy: $FATHOM not found: fathom cells skipped, iperf3 ground truth only"
    TOOLS=${TOOLS//fathom/}
fi
lab_build_tools || { echo "accuracy: cannot build bench tools"; exit 1; }

mkdir -p "$(dirname "$OUT")"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/fathom-accuracy.XXXXXX")
RAW=$OUT-raw.csv
: >"$OUT-delayline.jsonl"
echo "rate_mbit,rtt_ms,loss_pct,buffer,method,tool,scheme,direction,run,mbps,minrtt_ms,rtt_med_ms,rtt_p95_ms,rtt_samples,ping_min_ms,ping_avg_ms,steady_mbps" >"$RAW"
lab_init
trap 'lab_teardown; rm -rf "$TMP"' EXIT
[[ " $TOOLS " == *" fathom "* ]] && fathom_make_cert "$TMP"

netem=no
lab_have_netem && netem=yes
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
echo "accuracy: kernel $(uname -r), sch_netem: $netem, delay method: $([ "$netem" = yes ] && [ "${LAB_DELAY:-auto}" != delayline ] && echo netem || echo delayline)"

# start_fathom: `fathom serve` in the server namespace; sets SPID and the two ports.
start_fathom() {
    local log=$TMP/serve.log
    : >"$log"
    ip netns exec "$LAB_NS_S" "$FATHOM" serve --ws-listen "$LAB_SERVER_IP:0" \
        --wss-listen "$LAB_SERVER_IP:0" --cert "$TMP/cert.pem" --key "$TMP/key.pem" \
        --datadir "$TMP/data" $FATHOM_SERVE_ARGS >"$log" 2>&1 &
    SPID=$!
    LAB_BG_PIDS+=("$SPID")
    fathom_wait_ports "$log" "$SPID" || { echo "accuracy: fathom serve did not start:"; tail -n 5 "$log"; return 1; }
}

# run_fathom SCHEME DIR: one `fathom test`; prints "MBPS MINRTT MED P95 N STEADY".
run_fathom() {
    local scheme=$1 dir=$2 port flag
    port=$FATHOM_WS_PORT
    [ "$scheme" = wss ] && port=$FATHOM_WSS_PORT
    flag=--no-upload
    [ "$dir" = upload ] && flag=--no-download
    ip netns exec "$LAB_NS_C" timeout 60 "$FATHOM" test --server "$LAB_SERVER_IP:$port" \
        --scheme "$scheme" --no-verify --format json "$flag" 2>>"$TMP/test.err" |
        if [ -n "${LAB_KEEP_JSON:-}" ]; then tee -a "$LAB_KEEP_JSON"; else cat; fi |
        python3 bench/lib/fathom_json.py "$dir"
}

cells=0
for rate in $RATES; do
for rtt in $RTTS; do
for loss in $LOSSES; do
for buffer in $BUFFERS; do
    if ! lab_cell "$rate" "$rtt" "$loss" "$buffer"; then
        echo "accuracy: cell $rate/$rtt/$loss/$buffer: cannot build (skipped)"
        lab_teardown
        continue
    fi
    method=$LAB_DELAY_METHOD
    if [ "$method" = none ] && awk -v r="$rtt" -v l="$loss" 'BEGIN { exit !(r > 0 || l > 0) }'; then
        echo "accuracy: cell $rate/$rtt/$loss/$buffer: no delay method (skipped)"
        continue
    fi
    lab_wait_link || { lab_teardown; continue; }
    read -r pmin pavg _ < <(lab_ping 10)
    echo "accuracy: cell rate=$rate rtt=$rtt loss=$loss buffer=$buffer method=$method ping min/avg=${pmin:-?}/${pavg:-?} ms"
    have_fathom=0
    if [[ " $TOOLS " == *" fathom "* ]] && start_fathom; then have_fathom=1; fi
    for run in $(seq 1 "$RUNS"); do
        for dir in $DIRS; do
            if [[ " $TOOLS " == *" iperf3 "* ]]; then
                # RTT under load for the ground truth: ping through the loaded link from
                # 2 s into the transfer (past slow start) until its end.
                ( sleep 2; exec ip netns exec "$LAB_NS_C" ping -i 0.2 -w $((SECS - 2)) \
                    "$LAB_SERVER_IP" >"$TMP/ping.load" 2>&1 ) &
                ppid=$!
                v=$(lab_iperf3 "$dir" "$SECS")
                wait "$ppid" 2>/dev/null
                read -r lmed lp95 < <(lab_rtt_stats "$TMP/ping.load")
                n=$(grep -c 'time=' "$TMP/ping.load")
                echo "  run $run iperf3 $dir: ${v:-error} Mbit/s, ping under load med/p95 $lmed/$lp95 ms"
                echo "$rate,$rtt,$loss,$buffer,$method,iperf3,tcp,$dir,$run,${v:-nan},nan,$lmed,$lp95,$n,$pmin,$pavg,nan" >>"$RAW"
            fi
            if [ $have_fathom = 1 ]; then
                for scheme in $SCHEMES; do
                    read -r v mr med p95 n st < <(run_fathom "$scheme" "$dir")
                    echo "  run $run fathom $scheme $dir: mean $v Mbit/s, steady ${st:-nan} Mbit/s, MinRTT $mr ms, RTT med/p95 $med/$p95 ms"
                    echo "$rate,$rtt,$loss,$buffer,$method,fathom,$scheme,$dir,$run,${v:-nan},${mr:-nan},${med:-nan},${p95:-nan},${n:-0},$pmin,$pavg,${st:-nan}" >>"$RAW"
                done
            fi
        done
    done
    if [ "$method" = delayline ]; then
        lab_delayline_stop >"$TMP/dl.json"
        echo "  delayline: $(cat "$TMP/dl.json")"
        cat "$TMP/dl.json" >>"$OUT-delayline.jsonl"
    fi
    cells=$((cells + 1))
    lab_teardown
done; done; done; done

LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
python3 bench/accuracy/report.py "$RAW" "$OUT" || exit 1
# Conditions: this lab shares the machine's cores with whatever else runs; say how busy it was.
printf '\nConditions: kernel %s, %s cores, delay method %s, load average at start %s, at end %s.\n' \
    "$(uname -r)" "$(nproc)" "$([ "$netem" = yes ] && [ "${LAB_DELAY:-auto}" != delayline ] && echo netem || echo delayline)" \
    "$LOAD_START" "$LOAD_END" >>"$OUT.md"
echo "accuracy: $cells cells; wrote $OUT.md $OUT.csv $OUT.svg"
