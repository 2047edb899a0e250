#!/usr/bin/env bash
# Hostile client metadata through real ndt7 connections: nothing outside the allowlist (no
# value, no refused key name beyond Fathom.DroppedMetadata) reaches the archive, the SQLite
# index (searched raw, WAL included), an export, or the server log; no request header is
# stored; strict mode answers 400 naming the key.
. "$(dirname "$0")/lib.sh"
command -v node >/dev/null || skip "node missing"
H=$ROOT/tests/integration/helpers/hostile-metadata.mjs
start_server --runtime 2
node "$H" "$WS_PORT" >"$TMP/cases.txt" || { cat "$TMP/cases.txt"; fail "hostile connections failed"; }
n=$(grep -c '^uuid ' "$TMP/cases.txt")
[ "$n" -ge 20 ] || fail "only $n tests ran"
sleep 1
stop_server
node "$ROOT/tests/integration/helpers/check-archive.mjs" "$DATADIR" --count "$n" >"$TMP/archive.json" ||
    fail "archive check failed"
"$FATHOM" data --datadir "$DATADIR" export --full >"$TMP/full.jsonl" 2>/dev/null || fail "export --full"
[ "$(wc -l <"$TMP/full.jsonl")" -eq "$n" ] || fail "the index lacks records the server wrote"
"$FATHOM" data --datadir "$DATADIR" export --format csv >"$TMP/summary.csv" 2>/dev/null || fail "export csv"
find "$DATADIR/ndt7" -name '*.json.gz' -exec gzip -dc {} \; >"$TMP/archive.txt"
# Every stored form: decompressed records, the raw index files, exports, the log.
stores=("$TMP/archive.txt" "$DATADIR"/index.sqlite* "$TMP/full.jsonl" "$TMP/summary.csv" "$SRV_LOG")
grep '^secret ' "$TMP/cases.txt" | cut -d' ' -f2- | sort -u >"$TMP/secrets.txt"
while IFS= read -r s; do
    for f in "${stores[@]}"; do
        case $s in # refused key names may appear in DroppedMetadata and the log, never values
        mac_address|wifi_bssid|imei|meid|hardware_id|serial_number|android_id|service_plan|isp_plan|signal_strength|rssi|email|user|Client_Name|client_name%00)
            case $f in "$SRV_LOG"|"$TMP/archive.txt"|"$TMP/full.jsonl") continue ;; esac ;;
        esac
        grep -aqF -- "$s" "$f" && fail "'$s' reached $(basename "$f")"
    done
done <"$TMP/secrets.txt"
for hdr in secret-agent secret-cookie; do
    for f in "${stores[@]}"; do grep -aqF "$hdr" "$f" && fail "request header $hdr stored in $(basename "$f")"; done
done
node -e '
  const recs = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const all = recs.find((r) => (r.fathom.DroppedMetadata || []).length > 10);
  if (!all) throw new Error("no record lists the dropped keys");
  for (const k of ["mac_address", "imei", "email", "service_plan", "signal_strength", "client_os"])
    if (!all.fathom.DroppedMetadata.includes(k)) throw new Error("not named as dropped: " + k);
  if (all.metadata.client_name !== "hostile-test") throw new Error("allowed metadata lost: " + JSON.stringify(all.metadata));
  const dup = recs.find((r) => r.metadata.client_name === "first-wins");
  if (!dup) throw new Error("first of duplicate keys not kept");
  for (const r of recs) for (const v of Object.values(r.metadata)) if (/secret|evil|\r|\n/.test(v)) throw new Error("hostile value kept");
' "$TMP/archive.json" || fail "archive metadata"
grep -q 'dropped .* metadata key' "$SRV_LOG" || fail "drops not logged"
curl -s "http://127.0.0.1:$WS_PORT/metrics" >/dev/null 2>&1 # server stopped: nothing to check

# Strict mode: 400 naming the key, no record.
rm -rf "$DATADIR"
start_server --runtime 2 --metadata-policy strict
node "$H" "$WS_PORT" strict >"$TMP/strict.txt" || { cat "$TMP/strict.txt"; fail "strict mode cases"; }
curl -s "http://127.0.0.1:$WS_PORT/metrics" | grep -q '^fathom_metadata_refused_total [1-9]' || fail "refusals not counted"
stop_server
[ "$(archive_files | wc -l)" -eq 0 ] || fail "strict mode archived refused tests"
for v in 00:11:22:33:44:55 490154203237518 alice.secret; do
    grep -qF "$v" "$SRV_LOG" && fail "strict mode logged a value"
done
echo ok
