#!/usr/bin/env bash
# The web page served by `fathom serve` (the copy built into the binary: no --web flag) runs a
# full test in Debian's chromium over http (ws) and https (wss); the numbers it shows agree
# with the server's archive records for that run. Screenshots are kept as test artifacts in
# $FATHOM_BUILD/artifacts/.
. "$(dirname "$0")/lib.sh"
need_node
[ -x /usr/bin/chromium ] || skip "chromium is not installed"
ART=$ROOT/${FATHOM_BUILD:-build/debug-san}/artifacts
mkdir -p "$ART"
start_server
for scheme in http https; do
    port=$WS_PORT; [ "$scheme" = https ] && port=$WSS_PORT
    vp=1280x800; [ "$scheme" = https ] && vp=390x844
    out=$TMP/browser-$scheme.json
    node "$ROOT/tests/browser/web.mjs" --url "$scheme://127.0.0.1:$port/" --viewport "$vp" \
        --screenshot "$ART/web-$scheme.png" --timeout 90 >"$out" 2>"$TMP/browser-$scheme.err"
    rc=$?
    [ $rc -eq 77 ] && skip "chromium could not start: $(tail -n 1 "$TMP/browser-$scheme.err")"
    [ $rc -eq 0 ] || { cat "$TMP/browser-$scheme.err" >&2; fail "browser test over $scheme failed"; }
    echo "$scheme: $(node -e 'const r=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")); console.log(`download ${r.download.mbps.toFixed(1)} Mbit/s, upload ${r.upload.mbps.toFixed(1)} Mbit/s, ${r.download.uuid} ${r.upload.uuid}`)' "$out")"
done
stop_server
node "$ROOT/tests/integration/helpers/check-archive.mjs" "$DATADIR" --count 4 >"$TMP/archive.json" ||
    fail "archive check failed"
for scheme in http https; do
    node -e '
      const fs = require("fs");
      const r = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
      const recs = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
      const want = process.argv[3] === "https" ? "wss" : "ws";
      const fail = (m) => { console.error(m); process.exit(1); };
      for (const dir of ["download", "upload"]) {
        const shown = r[dir];
        const rec = recs.find((x) => x.uuid === shown.uuid);
        if (!rec) fail(`${dir}: page shows test ID ${shown.uuid}, not in the archive`);
        if (rec.direction !== dir) fail(`${dir}: archived as ${rec.direction}`);
        if (rec.fathom.Scheme !== want) fail(`${dir}: archived scheme ${rec.fathom.Scheme}, page used ${want}`);
        if (rec.metadata.client_name !== "fathom-web") fail(`${dir}: client_name not archived`);
        const t = rec.last.TCPInfo;
        const archived = dir === "download" ? 8 * t.BytesAcked / t.ElapsedTime
          : 8 * rec.last.AppInfo.NumBytes / rec.last.AppInfo.ElapsedTime;
        const pageServer = dir === "download" ? shown.serverMbps : shown.mbps;
        if (!(pageServer > 0) || Math.abs(pageServer - archived) / archived > 0.25)
          fail(`${dir}: page ${pageServer} Mbit/s vs archive ${archived.toFixed(2)} Mbit/s`);
        if (!(shown.minRttMs >= 0) || Math.abs(shown.minRttMs - t.MinRTT / 1000) > 1)
          fail(`${dir}: page MinRTT ${shown.minRttMs} ms vs archive ${t.MinRTT / 1000} ms`);
        console.log(`${process.argv[3]} ${dir}: page ${pageServer.toFixed(1)} Mbit/s, archive ${archived.toFixed(1)} Mbit/s`);
      }
    ' "$TMP/browser-$scheme.json" "$TMP/archive.json" "$scheme" || fail "page and archive disagree over $scheme"
done
echo "screenshots: $ART/web-http.png $ART/web-https.png"
echo ok
