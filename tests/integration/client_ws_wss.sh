#!/usr/bin/env bash
# `fathom test` against `fathom serve` over ws and wss: both subtests run, the JSON output has
# the Go client's shape, throughput > 0, MinRTT present, and the UUIDs it reports are those of
# the archived records, which hold the client's AppInfo measurements and only allowed metadata.
. "$(dirname "$0")/lib.sh"
command -v node >/dev/null || skip "node missing"
start_server --runtime 3
check=$ROOT/tests/integration/helpers/check-client-json.mjs
for proto in ws wss; do
    port=$WS_PORT; [ "$proto" = wss ] && port=$WSS_PORT
    out=$TMP/test-$proto.jsonl
    rc=0
    "$FATHOM" test --server "localhost:$port" --scheme "$proto" --ca-file "$CERT" --format json \
        --client-name fathom-integration >"$out" 2>"$TMP/test-$proto.err" || rc=$?
    [ $rc -eq 0 ] || { cat "$TMP/test-$proto.err" >&2; fail "fathom test over $proto exited $rc"; }
    grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$TMP/test-$proto.err" && fail "sanitizer report from the client"
    node "$check" "$out" --fqdn localhost >"$TMP/uuids-$proto.txt" || fail "bad JSON output over $proto"
    echo "$proto: $(tail -n 1 "$out")"
done
stop_server
node "$ROOT/tests/integration/helpers/check-archive.mjs" "$DATADIR" --count 4 >"$TMP/archive.json" ||
    fail "archive check failed"
for proto in ws wss; do
    for uuid in $(cat "$TMP/uuids-$proto.txt"); do
        node -e '
          const recs = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
          const r = recs.find((x) => x.uuid === process.argv[2]);
          if (!r) { console.error("no archive record for " + process.argv[2]); process.exit(1); }
          if (!(r.nClient >= 3)) { console.error("client AppInfo not archived: " + r.nClient); process.exit(1); }
          const md = r.metadata || {};
          const names = Object.keys(md).sort().join(",");
          const want = "client_arch,client_library_name,client_library_version,client_name,client_os,client_version";
          if (names !== want) { console.error("metadata " + names); process.exit(1); }
          if (md.client_name !== "fathom-integration") { console.error("client_name not sent"); process.exit(1); }
        ' "$TMP/archive.json" "$uuid" || fail "archive record for $uuid ($proto)"
    done
done
echo ok
