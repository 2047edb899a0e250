# shellcheck shell=bash
# Accuracy lab: network namespaces, shaping, delay and loss. Sourced by run.sh, subset.sh and
# validate.sh; every function name starts with lab_.
#
# Two topologies, both made of namespaces this script creates and names with a per-run prefix
# (LAB_P, "fl" + PID), so parallel runs and leftovers of a killed run never collide:
#
#   direct:  [${P}c] cv ====== sv [${P}s]            rate-only cells (RTT 0, no loss)
#              10.77.X.1/24        10.77.X.2/24      tbf on cv egress (upload) and sv (download)
#
#   mid:     [${P}c] cv ==== mc [${P}m] ms ==== sv [${P}s]
#                          delay element between mc and ms (netem, or bench/accuracy/delayline)
#                          tbf on mc egress (download bottleneck) and ms egress (upload)
#
# The client namespace holds 10.77.X.1, the server namespace 10.77.X.2; nothing is configured
# in the root namespace. MTU 1500 everywhere. lab_teardown removes everything and is safe to call
# twice; lab_init installs it on EXIT, INT and TERM.
#
# Shaping: tbf, not htb. One rate per direction needs no classes, tbf's bucket is the classic
# model of a bottleneck link (rate, burst, and a byte-limited FIFO whose size is the buffer), and
# `latency 500ms` for a bloated buffer reads the same as in the literature. See lab_tbf.

LAB_ROOT=${LAB_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
LAB_P=${LAB_P:-fl$$}
LAB_X=${LAB_X:-$(($$ % 200 + 20))}
LAB_CLIENT_IP=10.77.$LAB_X.1
LAB_SERVER_IP=10.77.$LAB_X.2
LAB_NS_C=${LAB_P}c
LAB_NS_S=${LAB_P}s
LAB_NS_M=${LAB_P}m
LAB_DELAYLINE_BIN=${LAB_DELAYLINE_BIN:-$LAB_ROOT/build/bench/delayline}
LAB_TOPO=""
LAB_DELAY_METHOD=none
LAB_DELAYLINE_PID=""
LAB_DELAYLINE_LOG=""
LAB_BG_PIDS=()

lab_log() { echo "lab: $*" >&2; }

lab_is_root() { [ "$(id -u)" = 0 ]; }

# True when this kernel has sch_netem (tried in a throw-away namespace, answer cached).
lab_have_netem() {
    if [ -z "${LAB_NETEM:-}" ]; then
        local ns=${LAB_P}probe
        LAB_NETEM=no
        if ip netns add "$ns" 2>/dev/null; then
            ip -n "$ns" link set lo up
            if ip netns exec "$ns" tc qdisc add dev lo root netem delay 1ms 2>/dev/null; then
                LAB_NETEM=yes
            fi
            ip netns del "$ns" 2>/dev/null
        fi
    fi
    [ "$LAB_NETEM" = yes ]
}

lab_build_tools() {
    make -s -C "$LAB_ROOT" -f bench/bench.mk build/bench/delayline build/bench/tls_bulk >&2
}

lab_init() {
    trap 'lab_teardown' EXIT
    trap 'lab_teardown; exit 130' INT TERM
}

# Remove everything this run created. Only our own PIDs and our own namespaces.
lab_teardown() {
    local pid
    for pid in "${LAB_BG_PIDS[@]}" $LAB_DELAYLINE_PID; do
        kill "$pid" 2>/dev/null
    done
    for pid in "${LAB_BG_PIDS[@]}" $LAB_DELAYLINE_PID; do
        wait "$pid" 2>/dev/null
    done
    LAB_BG_PIDS=()
    LAB_DELAYLINE_PID=""
    local ns
    for ns in "$LAB_NS_C" "$LAB_NS_S" "$LAB_NS_M"; do
        ip netns del "$ns" 2>/dev/null
    done
    LAB_TOPO=""
    return 0
}

# lab_bg NS CMD...: start CMD in namespace NS in the background; its PID is remembered for
# teardown and left in LAB_LAST_PID.
lab_bg() {
    local ns=$1
    shift
    ip netns exec "$ns" "$@" >/dev/null 2>&1 &
    LAB_LAST_PID=$!
    LAB_BG_PIDS+=("$LAB_LAST_PID")
}

lab_kill() {
    local pid=$1 p keep=()
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    for p in "${LAB_BG_PIDS[@]}"; do [ "$p" != "$pid" ] && keep+=("$p"); done
    LAB_BG_PIDS=("${keep[@]+"${keep[@]}"}")
}

_lab_ns_common() {
    local ns
    for ns in "$@"; do
        ip netns add "$ns" || return 1
        ip -n "$ns" link set lo up
        # TCP buffer ceilings are per namespace. Debian's default tcp_wmem max (4 MiB) caps one
        # stream at ~4 MiB in flight, below the BDP of 500 Mbit/s x 80 ms (5 MB); the lab
        # measures the link, so both ends may grow to 64 MiB (LAB_TCP_MEM_MAX to change it).
        ip netns exec "$ns" sysctl -q -w \
            "net.ipv4.tcp_wmem=4096 16384 ${LAB_TCP_MEM_MAX:-67108864}" \
            "net.ipv4.tcp_rmem=4096 131072 ${LAB_TCP_MEM_MAX:-67108864}" >/dev/null 2>&1
    done
}

# lab_topo_direct: client and server joined by one veth pair.
lab_topo_direct() {
    lab_teardown
    _lab_ns_common "$LAB_NS_C" "$LAB_NS_S" || return 1
    ip link add "${LAB_P}cv" netns "$LAB_NS_C" mtu 1500 type veth \
        peer name "${LAB_P}sv" netns "$LAB_NS_S" mtu 1500 || return 1
    ip -n "$LAB_NS_C" addr add "$LAB_CLIENT_IP/24" dev "${LAB_P}cv"
    ip -n "$LAB_NS_S" addr add "$LAB_SERVER_IP/24" dev "${LAB_P}sv"
    ip -n "$LAB_NS_C" link set "${LAB_P}cv" up
    ip -n "$LAB_NS_S" link set "${LAB_P}sv" up
    LAB_TOPO=direct
    LAB_DEV_DOWN=("$LAB_NS_S" "${LAB_P}sv")
    LAB_DEV_UP=("$LAB_NS_C" "${LAB_P}cv")
}

# lab_topo_mid: client - middle - server; the middle namespace has no addresses.
lab_topo_mid() {
    lab_teardown
    _lab_ns_common "$LAB_NS_C" "$LAB_NS_S" "$LAB_NS_M" || return 1
    ip link add "${LAB_P}cv" netns "$LAB_NS_C" mtu 1500 type veth \
        peer name "${LAB_P}mc" netns "$LAB_NS_M" mtu 1500 || return 1
    ip link add "${LAB_P}sv" netns "$LAB_NS_S" mtu 1500 type veth \
        peer name "${LAB_P}ms" netns "$LAB_NS_M" mtu 1500 || return 1
    ip -n "$LAB_NS_C" addr add "$LAB_CLIENT_IP/24" dev "${LAB_P}cv"
    ip -n "$LAB_NS_S" addr add "$LAB_SERVER_IP/24" dev "${LAB_P}sv"
    ip -n "$LAB_NS_C" link set "${LAB_P}cv" up
    ip -n "$LAB_NS_S" link set "${LAB_P}sv" up
    ip -n "$LAB_NS_M" link set "${LAB_P}mc" up
    ip -n "$LAB_NS_M" link set "${LAB_P}ms" up
    LAB_TOPO=mid
    LAB_DEV_DOWN=("$LAB_NS_M" "${LAB_P}mc")
    LAB_DEV_UP=("$LAB_NS_M" "${LAB_P}ms")
}

# lab_offloads on|off: TSO/GSO/GRO on the hosts' veths. Off for loss cells, so that loss hits
# single MTU-sized segments rather than 64 KiB super-packets.
lab_offloads() {
    local mode=$1
    ip netns exec "$LAB_NS_C" ethtool -K "${LAB_P}cv" tso "$mode" gso "$mode" gro "$mode" \
        >/dev/null 2>&1
    ip netns exec "$LAB_NS_S" ethtool -K "${LAB_P}sv" tso "$mode" gso "$mode" gro "$mode" \
        >/dev/null 2>&1
    return 0
}

# lab_tbf_params RATE_MBIT BUFFER -> "BURST LIMIT" in bytes.
#  burst = max(10 full frames, 1 ms at rate): big enough that the token bucket never starves
#          between hrtimer wake-ups, small enough that it adds < 0.01 % over a 10 s test.
#  limit = the FIFO behind the bucket: "normal" holds 25 ms at rate (at least 20 frames),
#          "bloated" 500 ms at rate (tbf's `latency 500ms`), each plus the burst.
lab_tbf_params() {
    local rate=$1 buffer=$2
    awk -v r="$rate" -v b="$buffer" 'BEGIN {
        bps = r * 1e6 / 8; burst = bps * 0.001; if (burst < 15140) burst = 15140;
        q = (b == "bloated") ? 0.5 : 0.025; lim = bps * q; if (lim < 30280) lim = 30280;
        printf "%d %d\n", burst, lim + burst }'
}

# lab_tbf NS DEV RATE_MBIT BUFFER [PARENT]: tbf at the root of DEV (or under PARENT).
lab_tbf() {
    local ns=$1 dev=$2 rate=$3 buffer=$4 parent=${5:-root}
    local burst limit
    read -r burst limit < <(lab_tbf_params "$rate" "$buffer")
    if [ "$parent" = root ]; then
        ip netns exec "$ns" tc qdisc replace dev "$dev" root handle 10: \
            tbf rate "${rate}mbit" burst "$burst" limit "$limit"
    else
        ip netns exec "$ns" tc qdisc replace dev "$dev" parent "$parent" handle 10: \
            tbf rate "${rate}mbit" burst "$burst" limit "$limit"
    fi
}

# lab_cell RATE_MBIT RTT_MS LOSS_PCT BUFFER: build the topology for one cell and shape it.
# Sets LAB_DELAY_METHOD to none | netem | delayline.
lab_cell() {
    local rate=$1 rtt=$2 loss=$3 buffer=$4
    local half
    half=$(awk -v r="$rtt" 'BEGIN { printf "%.3f", r / 2 }')
    if [ "${LAB_FORCE_TOPO:-}" != mid ] && awk -v r="$rtt" -v l="$loss" 'BEGIN { exit !(r == 0 && l == 0) }'; then
        lab_topo_direct || return 1
        LAB_DELAY_METHOD=none
        lab_tbf "${LAB_DEV_DOWN[@]}" "$rate" "$buffer" || return 1
        lab_tbf "${LAB_DEV_UP[@]}" "$rate" "$buffer" || return 1
        return 0
    fi
    lab_topo_mid || return 1
    awk -v l="$loss" 'BEGIN { exit !(l > 0) }' && lab_offloads off
    if [ "${LAB_DELAY:-auto}" != delayline ] && lab_have_netem; then
        # netem at the root of each middle egress (half the RTT each way), tbf beneath it.
        local ns dev
        for pair in DOWN UP; do
            if [ $pair = DOWN ]; then ns=${LAB_DEV_DOWN[0]} dev=${LAB_DEV_DOWN[1]}; else ns=${LAB_DEV_UP[0]} dev=${LAB_DEV_UP[1]}; fi
            ip netns exec "$ns" tc qdisc add dev "$dev" root handle 1: netem delay "${half}ms" \
                loss "${loss}%" limit 1000000 || return 1
            lab_tbf "$ns" "$dev" "$rate" "$buffer" 1:1 || return 1
        done
        # Without a forwarder the middle namespace must bridge the two veths itself.
        ip -n "$LAB_NS_M" link add "${LAB_P}br" type bridge
        ip -n "$LAB_NS_M" link set "${LAB_P}mc" master "${LAB_P}br"
        ip -n "$LAB_NS_M" link set "${LAB_P}ms" master "${LAB_P}br"
        ip -n "$LAB_NS_M" link set "${LAB_P}br" up
        LAB_DELAY_METHOD=netem
    else
        lab_tbf "${LAB_DEV_DOWN[@]}" "$rate" "$buffer" || return 1
        lab_tbf "${LAB_DEV_UP[@]}" "$rate" "$buffer" || return 1
        lab_delayline_start "$half" "$loss" || return 1
        LAB_DELAY_METHOD=delayline
    fi
}

# lab_delayline_start ONE_WAY_MS LOSS_PCT: start the forwarder in the middle namespace and wait
# for its "ready" line.
lab_delayline_start() {
    local half=$1 loss=$2
    [ -x "$LAB_DELAYLINE_BIN" ] || { lab_log "missing $LAB_DELAYLINE_BIN"; return 1; }
    LAB_DELAYLINE_LOG=$(mktemp "${TMPDIR:-/tmp}/delayline.XXXXXX")
    ip netns exec "$LAB_NS_M" "$LAB_DELAYLINE_BIN" -a "${LAB_P}mc" -b "${LAB_P}ms" \
        -d "$half" -l "$loss" -S "${LAB_SPIN_US:-2000}" >"$LAB_DELAYLINE_LOG" 2>&1 &
    LAB_DELAYLINE_PID=$!
    local i
    for i in $(seq 1 50); do
        grep -q '^ready' "$LAB_DELAYLINE_LOG" && return 0
        sleep 0.05
    done
    lab_log "delayline did not start: $(cat "$LAB_DELAYLINE_LOG")"
    return 1
}

# lab_delayline_stop: stop the forwarder and print its counters (one JSON line) on stdout.
lab_delayline_stop() {
    [ -n "$LAB_DELAYLINE_PID" ] || return 0
    local i
    kill -TERM "$LAB_DELAYLINE_PID" 2>/dev/null
    for i in $(seq 1 50); do
        kill -0 "$LAB_DELAYLINE_PID" 2>/dev/null || break
        sleep 0.05
    done
    wait "$LAB_DELAYLINE_PID" 2>/dev/null
    LAB_DELAYLINE_PID=""
    grep '^{' "$LAB_DELAYLINE_LOG"
    rm -f "$LAB_DELAYLINE_LOG"
}

# lab_wait_link: wait until the client reaches the server (ARP through the middle included).
lab_wait_link() {
    local i
    for i in $(seq 1 40); do
        ip netns exec "$LAB_NS_C" ping -c 1 -W 1 -q "$LAB_SERVER_IP" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    lab_log "no path from client to server"
    return 1
}

# lab_iperf3 DIR SECONDS: one single-stream iperf3 run, client in the client namespace; DIR is
# download (server sends: -R) or upload. Prints receiver goodput in Mbit/s, or nothing on error.
lab_iperf3() {
    local dir=$1 secs=$2 flag=""
    [ "$dir" = download ] && flag=-R
    lab_bg "$LAB_NS_S" iperf3 -s -1 -B "$LAB_SERVER_IP" -p 5201
    local spid=$LAB_LAST_PID i
    for i in $(seq 1 50); do
        ip netns exec "$LAB_NS_S" ss -ltn 2>/dev/null | grep -q ":5201 " && break
        sleep 0.05
    done
    ip netns exec "$LAB_NS_C" iperf3 -c "$LAB_SERVER_IP" -p 5201 -t "$secs" $flag -J 2>/dev/null |
        python3 -c 'import json,sys
d = json.load(sys.stdin)
print("%.3f" % (d["end"]["sum_received"]["bits_per_second"] / 1e6))' 2>/dev/null
    lab_kill "$spid"
}

# lab_rtt_stats FILE: "median p95" (nearest rank) in ms of the time= values of ping's output.
lab_rtt_stats() {
    sed -n 's/.*time=\([0-9.]*\).*/\1/p' "$1" | sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "nan nan"; exit }
        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        i = int(0.95 * NR); if (i < 0.95 * NR) i++; printf "%.3f %.3f\n", m, v[i] }'
}

# lab_ping COUNT: RTT statistics from the client namespace: "min avg max mdev" in ms.
lab_ping() {
    ip netns exec "$LAB_NS_C" ping -c "$1" -i 0.2 -q "$LAB_SERVER_IP" 2>/dev/null |
        awk -F'[ /]+' '/^rtt|^round-trip/ { print $7, $8, $9, $10 }'
}
