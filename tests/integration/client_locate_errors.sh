#!/usr/bin/env bash
# fathom test: a Locate v2 fixture drives target selection and fallback (spec §5.2); bad inputs
# (unreachable server, wrong subprotocol answer, refused upgrade, TLS failure, bad Locate JSON,
# Locate error object, usage errors) give a clear error, the documented exit code and valid JSON.
. "$(dirname "$0")/lib.sh"
command -v node >/dev/null || skip "node missing"
start_server --runtime 3
check=$ROOT/tests/integration/helpers/check-client-json.mjs

# run NAME WANT_RC [args...]: runs fathom test --format json, checks the exit status, that every
# stdout line is JSON and that the last one is the summary; stderr kept in $TMP/NAME.err.
run() {
    local name=$1 want=$2 rc=0
    shift 2
    "$FATHOM" test --format json "$@" >"$TMP/$name.out" 2>"$TMP/$name.err" || rc=$?
    grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$TMP/$name.err" && { cat "$TMP/$name.err" >&2; fail "$name: sanitizer report"; }
    [ "$rc" -eq "$want" ] || { cat "$TMP/$name.out" "$TMP/$name.err" >&2; fail "$name: exit $rc, want $want"; }
    if [ "$want" -ne 64 ]; then
        node -e '
          const ls = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean);
          const o = ls.map((l) => JSON.parse(l));
          const s = o[o.length - 1];
          if ("Key" in s || !("Download" in s) || !("Upload" in s)) throw new Error("no summary last");
        ' "$TMP/$name.out" || fail "$name: output is not valid JSON lines ending in the summary"
    fi
    echo "$name: exit $rc: $(head -c 200 "$TMP/$name.err" | tr '\n' ' ')"
}

# Locate fixture: the first result is dead (connection refused), the second is our server.
cat >"$TMP/locate.json" <<JSON
{"results":[
 {"machine":"dead","hostname":"127.0.0.1","urls":{
   "ws:///ndt/v7/download":"ws://127.0.0.1:1/ndt/v7/download?access_token=t0&index=0",
   "ws:///ndt/v7/upload":"ws://127.0.0.1:1/ndt/v7/upload?access_token=t0&index=0"}},
 {"machine":"live","hostname":"localhost","urls":{
   "ws:///ndt/v7/download":"ws://localhost:$WS_PORT/ndt/v7/download?access_token=t1&index=1&locate_version=v2",
   "ws:///ndt/v7/upload":"ws://localhost:$WS_PORT/ndt/v7/upload?access_token=t1&index=1&locate_version=v2",
   "wss:///ndt/v7/download":"wss://localhost:$WSS_PORT/ndt/v7/download?access_token=t1&index=1",
   "wss:///ndt/v7/upload":"wss://localhost:$WSS_PORT/ndt/v7/upload?access_token=t1&index=1"}}]}
JSON
run locate-fallback 0 --locate-url "file://$TMP/locate.json" --scheme ws
node "$check" "$TMP/locate-fallback.out" --fqdn localhost >/dev/null || fail "locate-fallback: bad output"
grep -q "trying the next server" "$TMP/locate-fallback.err" || fail "locate-fallback: fallback not reported"
run locate-wss 0 --locate-url "file://$TMP/locate.json" --ca-file "$CERT" --no-upload
node "$check" "$TMP/locate-wss.out" --expect download >/dev/null || fail "locate-wss: bad output"

# Failures to start.
run unreachable 2 --server 127.0.0.1:1 --scheme ws
grep -q "Connection refused" "$TMP/unreachable.err" || fail "unreachable: unclear message"
grep -q '"Key":"error"' "$TMP/unreachable.out" || fail "unreachable: no error event"
run unreachable-one 1 --server 127.0.0.1:1 --scheme ws --no-upload
run tls-untrusted 2 --server "127.0.0.1:$WSS_PORT"
grep -qi "certificate" "$TMP/tls-untrusted.err" || fail "tls-untrusted: unclear message"
run tls-no-verify 0 --server "127.0.0.1:$WSS_PORT" --no-verify --no-download
run bad-locate-json 2 --locate-url "file://$ROOT/tests/data/locate/malformed.json"
grep -q "malformed JSON" "$TMP/bad-locate-json.err" || fail "bad-locate-json: unclear message"
run locate-error 2 --locate-url "file://$ROOT/tests/data/locate/error-429.json"
grep -q "Too many periodic requests" "$TMP/locate-error.err" || fail "locate-error: title not shown"
run locate-empty 1 --locate-url "file://$ROOT/tests/data/locate/empty-results.json" --no-download
grep -q "no available servers" "$TMP/locate-empty.err" || fail "locate-empty: unclear message"
run locate-no-file 2 --locate-url "file://$TMP/nonexistent.json"

for mode in wrong-proto refuse abrupt; do
    node "$ROOT/tests/integration/helpers/mock-upgrade.mjs" $mode >"$TMP/mock-$mode.txt" &
    mock=$!
    for _ in $(seq 1 50); do grep -q '^port ' "$TMP/mock-$mode.txt" && break; sleep 0.1; done
    port=$(sed -n 's/^port //p' "$TMP/mock-$mode.txt")
    [ -n "$port" ] || fail "mock server did not start"
    case $mode in
        wrong-proto) run mock-$mode 1 --server "127.0.0.1:$port" --scheme ws --no-upload
                     grep -qi "protocol" "$TMP/mock-$mode.err" || fail "wrong-proto: unclear message" ;;
        refuse) run mock-$mode 1 --server "127.0.0.1:$port" --scheme ws --no-download
                grep -q "HTTP 400" "$TMP/mock-$mode.err" || fail "refuse: status not shown" ;;
        abrupt) run mock-$mode 0 --server "127.0.0.1:$port" --scheme ws --no-upload
                grep -q '"UUID":"mock-uuid"' "$TMP/mock-$mode.out" || fail "abrupt: partial result lost" ;;
    esac
    kill "$mock" 2>/dev/null; wait "$mock" 2>/dev/null
done

# Usage errors: 64, a message, nothing on stdout.
run usage-unknown 64 --bogus
run usage-both-off 64 --no-download --no-upload
grep -q "nothing to do" "$TMP/usage-both-off.err" || fail "usage: unclear message"
[ -s "$TMP/usage-unknown.out" ] && fail "usage error printed to stdout"
"$FATHOM" test --help | grep -q -- "--service-url URL" || fail "--help lacks options"

stop_server
echo ok
