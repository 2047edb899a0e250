# shellcheck shell=bash
# Helpers shared by bench/loopback and bench/accuracy to drive `fathom serve` and `fathom test`.
# The server's command line and its "listening" log line are a contract of issue 2; everything
# that depends on the log format is in fathom_parse_port, so a format change is a one-line fix.

# fathom_parse_port SCHEME < LOG: print the port of the ws or wss listener, or nothing.
# Accepts any line mentioning "listen" that carries SCHEME://HOST:PORT (HOST may be an IPv4
# address, a name or [v6]), with or without a trailing path, quotes or key=value noise, e.g.
#   fathom: listening on ws://127.0.0.1:41234/   |   level=info msg="listening" url=wss://[::1]:443
fathom_parse_port() {
    local scheme=$1
    sed -nE "/[Ll]isten/ s#.*[^a-z]?${scheme}://(\[[^]]*\]|[^/:\" ]+):([0-9]+).*#\2#p" | head -n 1
}

# fathom_make_cert DIR: a throw-away self-signed certificate, DIR/cert.pem and DIR/key.pem.
fathom_make_cert() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
        -keyout "$1/key.pem" -out "$1/cert.pem" >/dev/null 2>&1
}

# fathom_wait_ports LOG PIDVAR: wait (≤ 10 s) until the server logged both listeners; sets
# FATHOM_WS_PORT and FATHOM_WSS_PORT. Returns 1 if the server died or never logged them.
fathom_wait_ports() {
    local log=$1 pid=$2 i
    FATHOM_WS_PORT="" FATHOM_WSS_PORT=""
    for i in $(seq 1 100); do
        FATHOM_WS_PORT=$(fathom_parse_port ws <"$log")
        FATHOM_WSS_PORT=$(fathom_parse_port wss <"$log")
        [ -n "$FATHOM_WS_PORT" ] && [ -n "$FATHOM_WSS_PORT" ] && return 0
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}
