#!/usr/bin/env bash
# fathom test against the Node mock ndt7 server (tests/interop/mock-ndt7-server.mjs) and its
# faults: a normal run (its Fathom.SteadyStateMbps reaches the summary), a server that never
# closes (the client ends the download at its 15 s cap, still exit 0), garbage text messages
# (ignored, with a note), no measurements (a note), a refused upgrade and a missing subprotocol
# (failures to start: exit 1, a clear message, valid JSON).
. "$(dirname "$0")/lib.sh"
command -v node >/dev/null || skip "node missing"
[ -d "$NODE_MODULES/ws" ] || skip "node module ws missing (run tools/deps.sh all)"
MOCK=$ROOT/tests/interop/mock-ndt7-server.mjs
[ -f "$MOCK" ] || skip "mock server missing"
MOCK_PID=
trap '[ -n "$MOCK_PID" ] && kill "$MOCK_PID" 2>/dev/null; cleanup' EXIT

start_mock() {
    node "$MOCK" --duration 2 --quiet "$@" >"$TMP/mock.out" 2>"$TMP/mock.err" &
    MOCK_PID=$!
    for _ in $(seq 1 300); do grep -q '^listening' "$TMP/mock.out" && break; sleep 0.1; done
    MOCK_ADDR=$(awk '/^listening/ {print $3}' "$TMP/mock.out")
    [ -n "$MOCK_ADDR" ] || fail "mock server did not start: $(cat "$TMP/mock.err")"
}
stop_mock() { kill "$MOCK_PID" 2>/dev/null; wait "$MOCK_PID" 2>/dev/null; MOCK_PID=; }

# case NAME WANT_RC FAULT [fathom test args...]
case_() {
    local name=$1 want=$2 fault=$3 rc=0 t0 t1
    shift 3
    if [ "$fault" = none ]; then start_mock; else start_mock --fault "$fault"; fi
    t0=$(date +%s)
    "$FATHOM" test --server "$MOCK_ADDR" --scheme ws --format json "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" || rc=$?
    t1=$(date +%s)
    stop_mock
    grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$TMP/$name.err" && { cat "$TMP/$name.err" >&2; fail "$name: sanitizer report"; }
    [ "$rc" -eq "$want" ] || { cat "$TMP/$name.out" "$TMP/$name.err" >&2; fail "$name: exit $rc, want $want"; }
    tail -n 1 "$TMP/$name.out" | node -e '
      let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
        const o = JSON.parse(s); if ("Key" in o || !("Download" in o)) process.exit(1); });
    ' || fail "$name: last line is not a JSON summary"
    echo "$name: exit $rc in $((t1 - t0)) s: $(tr '\n' ' ' <"$TMP/$name.err" | head -c 200)"
    ELAPSED=$((t1 - t0))
}

case_ normal 0 none
node "$ROOT/tests/integration/helpers/check-client-json.mjs" "$TMP/normal.out" >/dev/null || fail "normal: bad output"
grep -q '"SteadyStateMbps":' "$TMP/normal.out" || fail "normal: SteadyStateMbps not carried"
case_ no-close 0 no-close --no-upload
[ "$ELAPSED" -ge 14 ] && [ "$ELAPSED" -le 20 ] || fail "no-close: the client did not stop at its 15 s cap ($ELAPSED s)"
grep -q "15 s limit" "$TMP/no-close.err" || fail "no-close: no note"
case_ garbage-text 0 garbage-text --no-upload
grep -q "malformed measurement" "$TMP/garbage-text.err" || fail "garbage-text: no note"
case_ no-measurements 0 no-measurements --no-download
grep -q "no measurements" "$TMP/no-measurements.err" || fail "no-measurements: no note"
case_ reject 1 reject --no-upload
grep -q "HTTP 400" "$TMP/reject.err" || fail "reject: unclear message"
case_ no-subprotocol 2 no-subprotocol
grep -q "subprotocol" "$TMP/no-subprotocol.err" || fail "no-subprotocol: unclear message"
echo ok
