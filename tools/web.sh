#!/usr/bin/env bash
# tools/web.sh (run by `make web`): copies the pinned ndt7 JavaScript client into the web page's
# assets. web/vendor/ is generated and gitignored; nothing is fetched when the page runs.
#
#   tools/web.sh [OUTDIR]      OUTDIR defaults to web/vendor
#
# The client comes from tests/node_modules/@m-lab/ndt7 (tests/package.json pins 0.1.4). When it
# is missing, `npm install` fills tests/node_modules first (needs npm and the registry).
# Exit codes: 0 copied, 1 something is missing or the version is not the pinned one.
set -euo pipefail
cd "$(dirname "$0")/.."

PINNED=0.1.4
OUT=${1:-web/vendor}
PKG=tests/node_modules/@m-lab/ndt7

installed_version() {
    node -e 'process.stdout.write(require(process.argv[1]).version)' "$PWD/$PKG/package.json" \
        2>/dev/null || true
}

if [ "$(installed_version)" != "$PINNED" ]; then
    command -v npm >/dev/null || { echo "web.sh: npm is needed to install @m-lab/ndt7 $PINNED" >&2; exit 1; }
    echo "web.sh: installing the npm packages of tests/package.json" >&2
    if [ -f tests/package-lock.json ]; then
        npm --prefix tests ci --no-audit --no-fund >&2
    else
        npm --prefix tests install --no-audit --no-fund >&2
    fi
fi
v=$(installed_version)
if [ "$v" != "$PINNED" ]; then
    echo "web.sh: $PKG is version '${v:-missing}', expected $PINNED" >&2
    exit 1
fi

mkdir -p "$OUT"
for f in ndt7.js ndt7-download-worker.js ndt7-upload-worker.js; do
    install -m 0644 "$PKG/src/$f" "$OUT/$f"
done
install -m 0644 "$PKG/LICENSE" "$OUT/LICENSE.ndt7-js"
printf '@m-lab/ndt7 %s, copied from npm by tools/web.sh; do not edit\n' "$PINNED" >"$OUT/README"
echo "web.sh: @m-lab/ndt7 $PINNED -> $OUT/"
