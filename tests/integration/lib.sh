# Shared helpers for integration tests (sourced). Each test runs real processes on loopback.
#   FATHOM        the binary under test (tests/run-all.sh sets it; default build/debug-san/fathom)
#   start_server [extra args...]   starts `fathom serve` on ephemeral ports with a throw-away
#                 certificate; sets SRV_PID, WS_PORT, WSS_PORT, DATADIR, CERT, KEY, SRV_LOG
#   stop_server   SIGINT, waits, fails if the server crashed or a sanitizer complained
#   fail MSG      prints and exits 1;  skip MSG  exits 77
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
FATHOM=${FATHOM:-$ROOT/build/debug-san/fathom}
NODE_MODULES=$ROOT/tests/node_modules
TMP=$(mktemp -d /tmp/fathom-test.XXXXXX)
SRV_PID=
cleanup() {
    [ -n "$SRV_PID" ] && kill -9 "$SRV_PID" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT

fail() { echo "FAIL: $*" >&2; [ -n "${SRV_LOG:-}" ] && [ -f "$SRV_LOG" ] && tail -n 30 "$SRV_LOG" >&2; exit 1; }
skip() { echo "skip: $*"; exit 77; }
need_node() { [ -d "$NODE_MODULES/@m-lab/ndt7" ] || skip "node modules missing (run tools/deps.sh all)"; }

make_cert() {
    CERT=$TMP/cert.pem KEY=$TMP/key.pem
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
        -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
        -keyout "$KEY" -out "$CERT" >/dev/null 2>&1 || fail "openssl could not make a certificate"
}

start_server() {
    make_cert
    DATADIR=$TMP/data
    SRV_LOG=$TMP/server.log
    "$FATHOM" serve --ws-listen 127.0.0.1:0 --wss-listen 127.0.0.1:0 --cert "$CERT" --key "$KEY" \
        --datadir "$DATADIR" --workers 2 "$@" >"$SRV_LOG" 2>&1 &
    SRV_PID=$!
    for _ in $(seq 1 100); do
        WS_PORT=$(sed -n 's|.*listening on ws://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$SRV_LOG" | head -n 1)
        WSS_PORT=$(sed -n 's|.*listening on wss://127\.0\.0\.1:\([0-9]*\).*|\1|p' "$SRV_LOG" | head -n 1)
        [ -n "$WS_PORT" ] && [ -n "$WSS_PORT" ] && return 0
        kill -0 "$SRV_PID" 2>/dev/null || fail "server exited at start"
        sleep 0.1
    done
    fail "server did not report its listeners"
}

stop_server() {
    [ -n "$SRV_PID" ] || return 0
    kill -INT "$SRV_PID" 2>/dev/null
    local rc=0
    wait "$SRV_PID" || rc=$?
    SRV_PID=
    grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$SRV_LOG" && fail "sanitizer report in server log"
    [ "$rc" -eq 0 ] || fail "server exited with status $rc"
}

# Archive records of the current server, one per line.
archive_files() { find "$DATADIR/ndt7" -name '*.json.gz' 2>/dev/null | sort; }
