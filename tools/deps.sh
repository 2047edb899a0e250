#!/usr/bin/env bash
# Installs (as root) or names (otherwise) the Debian 12 packages Fathom needs.
#   tools/deps.sh demo   build + run dependencies
#   tools/deps.sh all    also what the tests use (node, npm packages, iperf3, chromium)
set -eu
what=${1:-demo}
pkgs=(build-essential pkg-config libssl-dev zlib1g-dev libjansson-dev libsqlite3-dev
      libcurl4-openssl-dev ca-certificates openssl)
if [ "$what" = all ]; then
    pkgs+=(nodejs npm iperf3 iproute2 chromium clang libclang-rt-14-dev clang-format
           libnetfilter-queue-dev libmnl-dev iputils-ping ethtool time)
fi
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# nodejs/npm may come from elsewhere; a working node binary is what matters.
if command -v node >/dev/null && command -v npm >/dev/null; then
    tmp=(); for p in "${missing[@]}"; do case $p in nodejs|npm) ;; *) tmp+=("$p");; esac; done
    missing=("${tmp[@]+"${tmp[@]}"}")
fi
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        echo "deps: installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null ||
            { apt-get update >/dev/null && apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null; }
    else
        echo "deps: missing Debian packages; run as root:"
        echo "  apt-get install -y ${missing[*]}"
        exit 1
    fi
fi
if [ "$what" = all ] && [ ! -d tests/node_modules/@m-lab/ndt7 ]; then
    echo "deps: npm install (tests/)"
    (cd tests && npm ci --no-audit --no-fund --loglevel=error 2>/dev/null || npm install --no-audit --no-fund --loglevel=error)
fi
exit 0
