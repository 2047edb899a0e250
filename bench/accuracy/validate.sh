#!/usr/bin/env bash
# Validates the delay element before any cell that uses it is trusted (issue 5):
#  1. ping through the middle namespace at each configured RTT: min and mean RTT against the
#     configured value (target: within 1 ms), idle;
#  2. iperf3 at each rate with RTT 0 through the delay line against the same rate on the direct
#     veth (target: throughput unchanged, within 1 %).
# Writes bench/results/delayline-validation.md (OUT to override). Needs root.
# Environment: RTTS="0 20 80" RATES="10 100 1000" SECS=10 PINGS=50 RUNS=3 (throughput: median
# of RUNS interleaved direct/delay-line pairs; this VM's run-to-run noise is 1-2 %)
set -u
cd "$(dirname "$0")/../.."
. bench/accuracy/lib.sh
lab_is_root || { echo "validate: needs root"; exit 77; }
lab_build_tools || exit 1
RTTS=${RTTS:-0 20 80}
RATES=${RATES:-10 100 1000}
SECS=${SECS:-10}
PINGS=${PINGS:-50}
RUNS=${RUNS:-3}
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
OUT=${OUT:-bench/results/delayline-validation.md}
lab_init
method=delayline
if [ "${LAB_DELAY:-auto}" != delayline ] && lab_have_netem; then method=netem; fi
{
echo "# Delay element validation ($method)"
echo
echo "Kernel $(uname -r); sch_netem: $(lab_have_netem && echo present || echo absent)."
echo "Topology: client ns - veth - middle ns ($method) - veth - server ns; tbf 1000 Mbit/s"
echo "normal buffer on both middle egresses. Command: \`sudo bench/accuracy/validate.sh\`."
echo
echo "## RTT (ping -c $PINGS -i 0.2, idle link)"
echo
echo "| configured RTT ms | ping min | avg | max | mdev | min − configured | avg − configured |"
echo "|---:|---:|---:|---:|---:|---:|---:|"
} >"$OUT"
for rtt in $RTTS; do
    LAB_FORCE_TOPO=mid lab_cell 1000 "$rtt" 0 normal || exit 1
    lab_wait_link || exit 1
    read -r mn av mx md < <(lab_ping "$PINGS")
    awk -v r="$rtt" -v mn="$mn" -v av="$av" -v mx="$mx" -v md="$md" \
        'BEGIN { printf "| %g | %.3f | %.3f | %.3f | %.3f | %+.3f | %+.3f |\n", r, mn, av, mx, md, mn - r, av - r }' >>"$OUT"
    lab_delayline_stop >/dev/null
    lab_teardown
done
{
echo
echo "## Throughput (iperf3 -t $SECS, single stream, RTT 0, normal buffer, median of $RUNS)"
echo
echo "| rate Mbit/s | dir | direct veth | through $method | difference % | direct runs | $method runs |"
echo "|---:|---|---:|---:|---:|---|---|"
} >>"$OUT"
for rate in $RATES; do
    for dir in download upload; do
        as="" bs=""
        for run in $(seq 1 "$RUNS"); do
            LAB_FORCE_TOPO="" lab_cell "$rate" 0 0 normal || exit 1
            lab_wait_link || exit 1
            as="$as $(lab_iperf3 "$dir" "$SECS")"
            LAB_FORCE_TOPO=mid lab_cell "$rate" 0 0 normal || exit 1
            lab_wait_link || exit 1
            bs="$bs $(lab_iperf3 "$dir" "$SECS")"
            lab_delayline_stop >/dev/null
            lab_teardown
        done
        a=$(echo "$as" | median) b=$(echo "$bs" | median)
        awk -v r="$rate" -v d="$dir" -v a="$a" -v b="$b" -v as="${as# }" -v bs="${bs# }" \
            'BEGIN { printf "| %g | %s | %.2f | %.2f | %+.2f | %s | %s |\n", r, d, a, b, (b - a) / a * 100, as, bs }' >>"$OUT"
    done
done
cat "$OUT"
