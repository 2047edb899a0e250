#!/usr/bin/env bash
# Malformed and hostile input gets the documented answer and never crashes `fathom serve`;
# traces of those tests in the archive are valid records with the reason recorded.
. "$(dirname "$0")/lib.sh"
command -v node >/dev/null || skip "node missing"
start_server --runtime 3
node "$ROOT/tests/integration/helpers/bad-input.mjs" "$WS_PORT" | tee "$TMP/cases.txt"
[ "${PIPESTATUS[0]}" -eq 0 ] || fail "bad-input cases failed"
curl -s "http://127.0.0.1:$WS_PORT/metrics" | grep -q '^fathom_tests_total' || fail "/metrics lacks counters"
stop_server
node "$ROOT/tests/integration/helpers/check-archive.mjs" "$DATADIR" >"$TMP/archive.json" || fail "archive check failed"
grep '^uuid ' "$TMP/cases.txt" | while read -r _ name uuid; do
    node -e '
      const recs = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
      const r = recs.find((x) => x.uuid === process.argv[2]);
      const name = process.argv[3];
      if (!r) { console.error("no record for " + name); process.exit(1); }
      const f = r.fathom || {};
      if (name === "binary-on-download" && f.ReceiverError !== "wrong-message-type") { console.error(name + ": " + JSON.stringify(f)); process.exit(1); }
      if (name === "text-not-json" && f.ReceiverError !== "unmarshal-client-message") { console.error(name + ": " + JSON.stringify(f)); process.exit(1); }
      if (name === "abrupt-end" && !["peer-eof", "peer-reset"].includes(f.EndReason)) { console.error(name + ": " + JSON.stringify(f)); process.exit(1); }
      if (name === "hostile-metadata") {
        if (JSON.stringify(r.metadata).match(/00:11:22|490154203237518|mac_address|imei/)) { console.error("hostile metadata archived"); process.exit(1); }
        if (!(f.DroppedMetadata || []).includes("mac_address")) { console.error("dropped keys not recorded: " + JSON.stringify(f)); process.exit(1); }
      }
      console.log("archive ok: " + name);
    ' "$TMP/archive.json" "$uuid" "$name" || fail "archive record for $name"
done
grep -q '00:11:22:33:44:55\|490154203237518' "$SRV_LOG" && fail "metadata values leaked into the log"
grep '127\.0\.0\.1' "$SRV_LOG" | grep -qv 'listening on' && fail "an address other than the listener's in the log"
echo ok
