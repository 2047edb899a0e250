#!/usr/bin/env bash
# The official JavaScript ndt7 client (@m-lab/ndt7 0.1.4, unmodified, under Node) completes
# download and upload against `fathom serve` over ws and wss; the archive then holds one valid
# record per subtest whose UUIDs match what the client saw.
. "$(dirname "$0")/lib.sh"
need_node
start_server
for proto in ws wss; do
    port=$WS_PORT; [ "$proto" = wss ] && port=$WSS_PORT
    out=$TMP/ndt7js-$proto.json
    node "$ROOT/tests/interop/ndt7js-node.mjs" --server "127.0.0.1:$port" --protocol "$proto" \
        --ca "$CERT" --metadata client_name=fathom-interop-test >"$out" 2>"$TMP/ndt7js-$proto.err" ||
        { cat "$out" "$TMP/ndt7js-$proto.err" >&2; fail "ndt7-js over $proto did not complete"; }
    node -e '
      const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
      const d = r.download, u = r.upload;
      const fail = (m) => { console.error(m); process.exit(1); };
      if (!d.LastClientMeasurement || !d.LastServerMeasurement) fail("download lacks last measurements");
      if (!u.LastClientMeasurement || !u.LastServerMeasurement) fail("upload lacks last measurements");
      const dl = d.LastClientMeasurement.MeanClientMbps;
      const ti = u.LastServerMeasurement.TCPInfo;
      const ul = 8 * ti.BytesReceived / ti.ElapsedTime;
      if (!(dl > 1)) fail("implausible download " + dl);
      if (!(ul > 1)) fail("implausible upload " + ul);
      if (!u.LastServerMeasurement.AppInfo || !(u.LastServerMeasurement.AppInfo.NumBytes > 0)) fail("upload: no server AppInfo");
      if (d.nServer < 10 || u.nServer < 10) fail("too few server measurements: " + d.nServer + "/" + u.nServer);
      console.log(process.argv[2] + ": download " + dl.toFixed(1) + " Mbit/s, upload " + ul.toFixed(1) + " Mbit/s");
      console.log(d.LastServerMeasurement.ConnectionInfo.UUID + " " + u.LastServerMeasurement.ConnectionInfo.UUID);
    ' "$out" "$proto" >"$TMP/summary-$proto.txt" || fail "implausible ndt7-js result over $proto: $(cat "$out")"
    head -n 1 "$TMP/summary-$proto.txt"
done
stop_server
node "$ROOT/tests/integration/helpers/check-archive.mjs" "$DATADIR" --count 4 >"$TMP/archive.json" ||
    fail "archive check failed"
for proto in ws wss; do
    for uuid in $(tail -n 1 "$TMP/summary-$proto.txt"); do
        node -e '
          const recs = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
          const r = recs.find((x) => x.uuid === process.argv[2]);
          if (!r) { console.error("no archive record for " + process.argv[2]); process.exit(1); }
          if (r.metadata.client_name !== "fathom-interop-test") { console.error("client_name not archived"); process.exit(1); }
          if (r.metadata.client_library_name !== "ndt7-js") { console.error("library name not archived"); process.exit(1); }
          if (r.fathom.Scheme !== process.argv[3]) { console.error("scheme " + r.fathom.Scheme); process.exit(1); }
        ' "$TMP/archive.json" "$uuid" "$proto" || fail "archive does not match the $proto run"
    done
done
ls -l $(archive_files) | awk '{print "archived", $5, "bytes", $9}'
echo "ok"
