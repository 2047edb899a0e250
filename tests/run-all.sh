#!/usr/bin/env bash
# Runs every test of the project and prints one summary line at the end:
#   N passed, N failed
# Unit binaries report their own counts; fuzz replays and integration scripts count as one
# test each. FATHOM_BUILD names the build directory (default build/debug-san).
set -u
cd "$(dirname "$0")/.."
BUILD=${FATHOM_BUILD:-build/debug-san}
export FATHOM_BUILD=$BUILD FATHOM="$PWD/$BUILD/fathom"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:strict_string_checks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
logdir=$BUILD/test-logs
mkdir -p "$logdir"
passed=0
failed=0
failures=()

for t in $(find "$BUILD/tests/unit" -type f -name 'test_*' -perm -u+x 2>/dev/null | sort); do
    name=${t#"$BUILD"/tests/unit/}
    log="$logdir/unit-${name//\//-}.log"
    "$t" >"$log" 2>&1
    rc=$?
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
    if [ -n "$line" ]; then
        p=${line%% passed*}; f=${line#*, }; f=${f%% failed}
    else
        p=0; f=1
    fi
    [ $rc -ne 0 ] && [ "$f" -eq 0 ] && f=1
    passed=$((passed + p)); failed=$((failed + f))
    if [ "$f" -ne 0 ]; then failures+=("unit $name (see $log)"); grep -E '^not ok|:[0-9]+: ' "$log" | head -n 20; fi
    echo "unit $name: $p passed, $f failed"
done

for r in $(find "$BUILD/fuzz" -type f -name '*-replay' 2>/dev/null | sort); do
    n=$(basename "$r" -replay)
    log="$logdir/$n-replay.log"
    if "$r" "fuzz/corpus/$n" >"$log" 2>&1; then
        passed=$((passed + 1)); echo "fuzz replay $n: ok"
    else
        failed=$((failed + 1)); failures+=("fuzz replay $n (see $log)"); tail -n 20 "$log"
    fi
done

for t in $(ls tests/integration/*.sh 2>/dev/null | grep -v /lib.sh | sort); do
    n=$(basename "$t")
    log="$logdir/integration-$n.log"
    cmd=(bash "$t")
    start=$(date +%s)
    timeout 600 "${cmd[@]}" >"$log" 2>&1
    rc=$?
    secs=$(( $(date +%s) - start ))
    if [ $rc -eq 0 ]; then
        passed=$((passed + 1)); echo "integration $n: ok (${secs}s)"
    elif [ $rc -eq 77 ]; then
        echo "integration $n: skipped ($(tail -n 1 "$log"))"
    else
        failed=$((failed + 1)); failures+=("integration $n (see $log)")
        echo "integration $n: FAILED rc=$rc (${secs}s)"; tail -n 40 "$log"
    fi
done

if [ ${#failures[@]} -gt 0 ]; then
    echo "failures:"; printf '  %s\n' "${failures[@]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
