#!/usr/bin/env bash
# Benchmark of `fathom data` on synthetic records: reindex and export (summary and --full)
# of N records (default 100000), each with wall time and peak memory (/usr/bin/time -v).
# usage: bench/data_bench.sh [N]     (builds MODE=release first)
set -eu
cd "$(dirname "$0")/.."
N=${1:-100000}
[ -x /usr/bin/time ] || { echo "needs /usr/bin/time (Debian package 'time')"; exit 1; }
make -s MODE=release >/dev/null
F=$PWD/build/release/fathom
DD=$(mktemp -d /tmp/fathom-bench.XXXXXX)
trap 'rm -rf "$DD"' EXIT
echo "generating $N synthetic records (40 server measurements each) in $DD ..."
"$F" data synth --datadir "$DD/d" --count "$N" --step-ms 500 >/dev/null
echo "archive: $(du -sh "$DD/d/ndt7" | cut -f1) in $(find "$DD/d/ndt7" -name '*.json.gz' | wc -l) files"
measure() { # label, command...
    local label=$1; shift
    /usr/bin/time -v "$@" >"$DD/out" 2>"$DD/time" || { cat "$DD/time"; exit 1; }
    local wall rss
    wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$DD/time")
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$DD/time")
    printf '%-28s wall %-9s peak RSS %6.1f MiB\n' "$label" "$wall" "$(echo "$rss / 1024" | bc -l)"
}
sync
measure "reindex ($N)" "$F" data --datadir "$DD/d" reindex
measure "export jsonl ($N)" "$F" data --datadir "$DD/d" export --out "$DD/s.jsonl"
measure "export csv ($N)" "$F" data --datadir "$DD/d" export --format csv --out "$DD/s.csv"
measure "export --full ($N)" "$F" data --datadir "$DD/d" export --full --out "$DD/f.jsonl"
echo "outputs: summary $(du -h "$DD/s.jsonl" | cut -f1), full $(du -h "$DD/f.jsonl" | cut -f1)," \
    "$(wc -l <"$DD/f.jsonl") lines"
