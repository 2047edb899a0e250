#!/usr/bin/env bash
# fathom data end to end on synthetic records: reindex, ls/export filters, erase (exactly the
# matching unpublished records, audited without the address), publish -> verify -> unpack with
# tar and gzip -> parse every record, idempotent publish and parts, published flags surviving a
# reindex, --redact-ip, and tampered bundles failing verify.
. "$(dirname "$0")/lib.sh"
command -v node >/dev/null || skip "node missing"
F() { "$FATHOM" data --datadir "$DD" "$@"; }
DD=$TMP/data OUT=$TMP/out
mkdir -p "$OUT"
D2=$(date -u -d '2 days ago' +%F)
D2C=${D2//-/}

"$FATHOM" data synth --datadir "$DD" --count 30 --start "${D2}T01:00:00Z" >/dev/null || fail "synth"
"$FATHOM" data synth --datadir "$DD" --count 5 --start "${D2}T12:00:00Z" --client-ip 203.0.113.9 \
    >/dev/null || fail "synth 2"
F ls >/dev/null 2>&1 && fail "ls without an index should fail"
F reindex | grep -q 'indexed 35 records' || fail "reindex did not index 35 records"
[ "$(F ls | tail -n 1)" = "35 records" ] || fail "ls count"
[ "$(F ls --client-ip 203.0.113.0/24 | tail -n 1)" = "5 records" ] || fail "ls --client-ip prefix"
[ "$(F ls --direction upload | tail -n 1)" = "17 records" ] || fail "ls --direction"
[ "$(F ls --since "$D2" --until "$D2" | tail -n 1)" = "35 records" ] || fail "ls dates"
[ "$(F ls --since "$(date -u +%F)" | tail -n 1)" = "0 records" ] || fail "ls --since today"
F ls --since 2024-02-31 >/dev/null 2>&1; [ $? -eq 64 ] || fail "bad date is not a usage error"
F export --bogus >/dev/null 2>&1; [ $? -eq 64 ] || fail "unknown option is not a usage error"
F frobnicate >/dev/null 2>&1; [ $? -eq 64 ] || fail "unknown command is not a usage error"
for c in ls show export publish verify erase reindex; do
    F "$c" --help | grep -q "usage: fathom data" || fail "$c --help"
done

# Exports: summary rows and whole records, every line parses.
F export --format csv --out "$TMP/x.csv" 2>/dev/null || fail "export csv"
[ "$(wc -l <"$TMP/x.csv")" -eq 36 ] || fail "csv rows"
F export --full >"$TMP/full.jsonl" 2>/dev/null || fail "export --full"
node -e '
  const lines = require("fs").readFileSync(process.argv[1], "utf8").trimEnd().split("\n");
  if (lines.length !== 35) throw new Error("lines " + lines.length);
  for (const l of lines) { const d = JSON.parse(l); if (!(d.Download || d.Upload)) throw new Error("not a record"); }
' "$TMP/full.jsonl" || fail "export --full lines are not one record each"
F export | node -e '
  const lines = require("fs").readFileSync(0, "utf8").trimEnd().split("\n").map(JSON.parse);
  if (lines.length !== 35 || !lines.every((r) => typeof r.throughput_mbps === "number" && r.uuid)) process.exit(1);
' 2>/dev/null || fail "export jsonl"

# Erase: one UUID, then an address; exactly those go, and the audit log never names the address.
victim=$(F ls | sed -n 2p | awk '{print $1}')
F show "$victim" | node -e 'JSON.parse(require("fs").readFileSync(0,"utf8"))' || fail "show"
F erase --uuid "$victim" | grep -q '1 record(s) matched: 1 erased' || fail "erase --uuid"
F show "$victim" >/dev/null 2>&1 && fail "erased record still shown"
F erase --ip 203.0.113.9 --dry-run | grep -q '5 record(s) would be erased' || fail "dry run"
F erase --ip 203.0.113.9 | grep -q '5 record(s) matched: 5 erased' || fail "erase --ip"
[ "$(F ls | tail -n 1)" = "29 records" ] || fail "erase removed the wrong number"
[ "$(find "$DD/ndt7" -name '*.json.gz' | wc -l)" -eq 29 ] || fail "erase left files behind"
find "$DD/ndt7" -name "*${victim}*" | grep -q . && fail "erased file still there"
grep -q '203\.0\.113' "$DD/erasure-audit.log" && fail "audit log names the address"
[ "$(wc -l <"$DD/erasure-audit.log")" -eq 2 ] || fail "audit lines"
grep -q 'by=ip matched=5 erased=5' "$DD/erasure-audit.log" || fail "audit content"
[ "$(stat -c %a "$DD/.audit-salt")" = 600 ] || fail "salt file mode"
F erase --ip 203.0.113.9 --uuid x >/dev/null 2>&1; [ $? -eq 64 ] || fail "erase needs exactly one"

# Publish, verify, unpack with the standard tools, parse every record.
F publish --date "$D2" --out "$OUT" --host test-host | tee "$TMP/pub1" | grep -q 'published 29 records' ||
    fail "publish: $(cat "$TMP/pub1")"
B1=$OUT/fathom-ndt7-$D2C-test-host.tar.gz
[ -f "$B1" ] || fail "bundle name"
ls -a "$OUT" | grep -q '^\.tmp' && fail "temporary file left in --out"
F verify "$B1" | grep -q 'OK: 29 records' || fail "verify"
mkdir "$TMP/x" && tar -xzf "$B1" -C "$TMP/x" || fail "tar cannot unpack the bundle"
for f in manifest.json LICENSE data-format.md ndt7-record.schema.json; do
    [ -s "$TMP/x/$f" ] || fail "bundle lacks $f"
done
grep -q 'CC0 1.0 Universal' "$TMP/x/LICENSE" || fail "LICENSE is not CC0"
n=0
for r in $(find "$TMP/x/ndt7" -name '*.json.gz'); do
    gzip -t "$r" || fail "gzip -t $r"
    gzip -dc "$r" | node -e 'const d = JSON.parse(require("fs").readFileSync(0, "utf8")); if (!(d.Download || d.Upload)) process.exit(1)' ||
        fail "record does not parse: $r"
    n=$((n + 1))
done
[ "$n" -eq 29 ] || fail "unpacked $n records, expected 29"
node -e '
  const m = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const ok = m.license === "CC0-1.0" && m.counts.records === 29 && m.files.length === 32 &&
    m.publication_delay_days === 1 && m.tool === "fathom" && m.schema_version && m.tool_version &&
    m.files.every((f) => /^[0-9a-f]{64}$/.test(f.sha256) && f.size > 0);
  if (!ok) { console.error(JSON.stringify(m).slice(0, 400)); process.exit(1); }
' "$TMP/x/manifest.json" || fail "manifest content"
node "$ROOT/tests/integration/helpers/check-schema.mjs" "$ROOT/docs/ndt7-record.schema.json" "$TMP/full.jsonl" ||
    fail "exported records do not match the JSON Schema"

# Idempotent: nothing new; a published record is reported, not erased.
F publish --date "$D2" --out "$OUT" --host test-host | grep -q 'nothing new' || fail "second publish not idempotent"
pubuuid=$(F ls | sed -n 2p | awk '{print $1}')
F erase --uuid "$pubuuid" | grep -q 'published already' || fail "erase of a published record not reported"
F show "$pubuuid" >/dev/null || fail "published record was erased"

# Later records of the same day make a part 2 with only them; flags survive a reindex.
"$FATHOM" data synth --datadir "$DD" --count 3 --start "${D2}T20:00:00Z" >/dev/null
F reindex | grep -q 'indexed 32 records (29 published)' || fail "reindex lost the published flags"
F publish --date "$D2" --out "$OUT" --host test-host | grep -q 'published 3 records' || fail "part 2"
B2=$OUT/fathom-ndt7-$D2C-test-host-part2.tar.gz
F verify "$B2" | grep -q 'OK: 3 records' || fail "verify part 2"

# Embargo: today's records are not published with the default delay, but are with --delay 0.
"$FATHOM" data synth --datadir "$DD" --count 4 --client-ip 198.51.100.77 --index >/dev/null
T=$(date -u +%F)
F publish --date "$T" --out "$OUT" --host test-host | grep -q 'still within the 1-day' || fail "embargo"
F publish --date "$T" --out "$OUT" --delay 366 >/dev/null 2>&1; [ $? -eq 64 ] || fail "delay > 365 accepted"
F publish --date "$T" --out "$OUT" --host test-host --delay 0 --redact-ip | grep -q 'published 4 records' ||
    fail "publish --delay 0 --redact-ip"
B3=$OUT/fathom-ndt7-${T//-/}-test-host.tar.gz
F verify "$B3" >/dev/null || fail "verify redacted"
mkdir "$TMP/r" && tar -xzf "$B3" -C "$TMP/r"
for r in $(find "$TMP/r/ndt7" -name '*.json.gz'); do
    gzip -dc "$r" | grep -q '198\.51\.100\.77' && fail "redacted bundle holds the full address"
    gzip -dc "$r" | grep -q '"ClientIP":"198.51.100.0"' || fail "redacted ClientIP"
done

# Tampering: a changed byte, an extra file, a missing file, a truncated archive.
tamper() { # $1: name, then a command run inside the unpacked copy
    local name=$1; shift
    rm -rf "$TMP/t" && mkdir "$TMP/t" && tar -xzf "$B1" -C "$TMP/t"
    (cd "$TMP/t" && eval "$*")
    (cd "$TMP/t" && tar -czf "$TMP/t.tar.gz" *)
    F verify "$TMP/t.tar.gz" >"$TMP/v.out" 2>&1; local rc=$?
    [ $rc -ne 0 ] || fail "tampered bundle ($name) passed verify"
    grep -q FAILED "$TMP/v.out" || fail "no reason given for $name"
    echo "tamper $name: $(cat "$TMP/v.out")"
}
tamper "modified record" 'f=$(find ndt7 -name "*.json.gz" | head -n 1); printf x >>"$f"'
tamper "extra file" 'echo hi > ndt7/extra.txt'
tamper "missing file" 'rm "$(find ndt7 -name "*.json.gz" | head -n 1)"'
tamper "edited manifest count" 'sed -i "s/\"records\": 29/\"records\": 30/" manifest.json'
head -c 20000 "$B1" >"$TMP/trunc.tar.gz"
F verify "$TMP/trunc.tar.gz" >/dev/null 2>&1 && fail "truncated bundle passed verify"
echo ok
