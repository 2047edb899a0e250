#!/usr/bin/env bash
# `fathom demo` runs a real download and upload against its embedded loopback server, prints a
# JSON summary with both directions, and archives two valid records whose UUIDs match.
. "$(dirname "$0")/lib.sh"
command -v node >/dev/null || skip "node missing"
"$FATHOM" demo --datadir "$TMP/data" --format json >"$TMP/out.json" 2>"$TMP/err.txt" ||
    { cat "$TMP/err.txt" >&2; fail "fathom demo exited with $?"; }
tail -n 1 "$TMP/out.json" >"$TMP/summary.json"
node "$ROOT/tests/integration/helpers/check-archive.mjs" "$TMP/data" --count 2 >"$TMP/archive.json" ||
    fail "demo archive is not valid"
node -e '
  const fs = require("fs");
  const s = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
  const recs = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
  for (const d of ["Download", "Upload"]) {
    if (!s[d] || !(s[d].Throughput.Value > 0)) { console.error(d + " missing"); process.exit(1); }
    if (!recs.find((r) => r.uuid === s[d].UUID)) { console.error(d + " UUID not archived"); process.exit(1); }
    console.log(d + " " + s[d].Throughput.Value + " Mbit/s, " + s[d].UUID);
  }
' "$TMP/summary.json" "$TMP/archive.json" || fail "demo summary does not match its archive"
grep -q "ndt7-download-" "$TMP/err.txt" || fail "demo did not print the archived paths"
echo ok
