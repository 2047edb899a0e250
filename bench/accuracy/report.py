#!/usr/bin/env python3
"""Accuracy lab report: medians per cell, ideal goodput, relative error, Markdown/CSV/SVG.

Usage: report.py RAW.csv[,RAW2.csv...] OUT [--check PCT]
  RAW.csv  rows written by run.sh (one per run); with several files, a cell present in a later
           file replaces the same cell of an earlier one (re-runs of part of the matrix)
  OUT      prefix: writes OUT.md, OUT.csv, OUT.svg
  --check  exit 2 when a cell of the checked tool (fathom, else iperf3 when no fathom row
           exists) is off by more than PCT percent: the mean against its ideal in cells that are
           not BDP-limited (see bdp_limited), and Fathom's steady-state estimate against the TCP
           ideal in every cell (that estimate exists for the cells where the mean cannot be
           held to the target); --check-only mean|steady limits it to one of the two.

Ideal goodput (docs/accuracy.md has the derivation):
  TCP payload:   G_tcp = R * 1448 / 1514           (MTU 1500, IPv4, TCP timestamps, Ethernet)
  ws  payload:   G_ws  = G_tcp * S / (S + h)        h = 10 (server->client), 14 (client->server)
  wss payload:   G_wss = G_tcp * S / (S + h + 22 * ceil((S + h) / 16384))
with S = 1 MiB, the message size the ndt7 scaling rule reaches within the first second.
Fathom's download is application bytes (AppInfo), so it is compared to G_ws/G_wss; its upload
likewise when FATHOM_UPLOAD_BASIS=app (the default: issue 3 prefers the server's AppInfo), or to
G_tcp when FATHOM_UPLOAD_BASIS=tcp (the Go client's TCPInfo.BytesReceived basis).

Fathom's steady-state estimate (SteadyStateMbps, src/ndt7/steady.c) is computed by the server
from TCPInfo.BytesAcked (download) / BytesReceived (upload), i.e. TCP payload, so it is compared
to G_tcp in every direction and scheme. Raw files without a steady_mbps column (older runs, and
iperf3 rows) have no steady value.
"""
import csv
import math
import os
import statistics
import sys

S = 1 << 20
TLS_REC = 16384
TLS_OVH = 5 + 1 + 16  # record header + inner content type + AES-GCM tag
BDP_LIMIT_S = 10.0


def ideal_tcp(rate):
    return rate * 1448.0 / 1514.0


def ideal_app(rate, scheme, direction):
    g = ideal_tcp(rate)
    if scheme not in ("ws", "wss"):
        return g
    h = 10 + (4 if direction == "upload" else 0)
    wire = S + h
    if scheme == "wss":
        wire += TLS_OVH * math.ceil((S + h) / TLS_REC)
    return g * S / wire


def bdp_limited(rate, rtt):
    """A 10 s test cannot show the capacity when slow start takes a visible share of it.

    Slow start doubles the window once per RTT from 10 segments until it reaches the BDP; the
    ramp costs about one BDP-worth of time in the mean. We flag cells where that ramp exceeds
    1 % of the test: log2(BDP / (10 * 1448)) * RTT > 0.1 s.
    """
    if rtt <= 0:
        return False
    bdp = rate * 1e6 / 8 * rtt / 1000.0
    rounds = max(0.0, math.log2(max(bdp, 1.0) / (10 * 1448)))
    return rounds * rtt / 1000.0 > 0.01 * BDP_LIMIT_S


def fnum(x):
    try:
        v = float(x)
    except (TypeError, ValueError):
        return math.nan
    return v


def med(values):
    v = [x for x in values if not math.isnan(x)]
    return statistics.median(v) if v else math.nan


def fmt(x, nd=1):
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{nd}f}"


def load(paths):
    cells = {}
    for path in paths.split(","):
        mine = {}
        with open(path, newline="") as f:
            for r in csv.DictReader(f):
                key = (float(r["rate_mbit"]), float(r["rtt_ms"]), float(r["loss_pct"]),
                       r["buffer"], r["method"], r["tool"], r["scheme"], r["direction"])
                mine.setdefault(key, []).append(r)
        cells.update(mine)
    return cells


def summarise(cells):
    rows = []
    upload_basis = os.environ.get("FATHOM_UPLOAD_BASIS", "app")
    for key, runs in sorted(cells.items()):
        rate, rtt, loss, buffer, method, tool, scheme, direction = key
        vals = [fnum(r["mbps"]) for r in runs]
        mbps = med(vals)
        if tool == "fathom" and not (direction == "upload" and upload_basis == "tcp"):
            ideal = ideal_app(rate, scheme, direction)
        else:
            ideal = ideal_tcp(rate)
        err = (mbps - ideal) / ideal * 100 if not math.isnan(mbps) else math.nan
        steadies = [fnum(r.get("steady_mbps")) for r in runs]
        steady = med(steadies)
        ideal_t = ideal_tcp(rate)
        serr = (steady - ideal_t) / ideal_t * 100 if not math.isnan(steady) else math.nan
        ok_s = [v for v in steadies if not math.isnan(v)]
        minrtt = med([fnum(r["minrtt_ms"]) for r in runs])
        rows.append({
            "rate_mbit": rate, "rtt_ms": rtt, "loss_pct": loss, "buffer": buffer,
            "method": method, "tool": tool, "scheme": scheme, "direction": direction,
            "runs": sum(1 for v in vals if not math.isnan(v)),
            "ideal_mbps": ideal, "median_mbps": mbps, "error_pct": err,
            "min_mbps": min(vals or [math.nan]),
            "max_mbps": max(vals or [math.nan]),
            "ideal_tcp_mbps": ideal_t, "steady_mbps": steady, "steady_error_pct": serr,
            "steady_min_mbps": min(ok_s) if ok_s else math.nan,
            "steady_max_mbps": max(ok_s) if ok_s else math.nan,
            "minrtt_ms": minrtt,
            "minrtt_err_ms": minrtt - rtt if not math.isnan(minrtt) else math.nan,
            "minrtt_ok": (abs(minrtt - rtt) <= max(1.0, 0.05 * rtt)) if not math.isnan(minrtt) else "",
            "rtt_load_med_ms": med([fnum(r["rtt_med_ms"]) for r in runs]),
            "rtt_load_p95_ms": med([fnum(r["rtt_p95_ms"]) for r in runs]),
            "ping_min_ms": med([fnum(r["ping_min_ms"]) for r in runs]),
            "ping_avg_ms": med([fnum(r["ping_avg_ms"]) for r in runs]),
            "bdp_limited": bdp_limited(rate, rtt),
        })
    return rows


def write_csv(rows, path):
    cols = list(rows[0].keys()) if rows else []
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols)
        w.writeheader()
        for r in rows:
            w.writerow({k: (f"{v:.3f}" if isinstance(v, float) else v) for k, v in r.items()})


def write_md(rows, path, raw):
    out = ["# Accuracy lab results", "",
           f"Generated by bench/accuracy/report.py from "
           f"{', '.join('`' + os.path.basename(p) + '`' for p in raw.split(','))}. ", "",
           "- **mean**: iperf3's receiver goodput, or Fathom's ndt7 `Throughput` (bytes over the "
           "whole test: download = client application bytes / time, upload = server AppInfo "
           "bytes / time). **ideal** is the TCP goodput R×1448/1514 for iperf3 and the "
           "application goodput after WebSocket and TLS framing for Fathom (docs/accuracy.md); "
           "**mean err %** = (median − ideal) / ideal.",
           "- **steady** (Fathom only): the server's steady-state estimate `SteadyStateMbps` "
           "(median rate of ≥ 500 ms chunks over the second half of the test, from TCPInfo "
           "BytesAcked / BytesReceived, i.e. TCP payload), so **steady err %** is against the "
           "TCP-level ideal R×1448/1514 (**ideal TCP**).",
           "- **BDP** marks cells whose 10 s mean is visibly lowered by slow start: the ramp from "
           "10 segments to the bandwidth-delay product, log2(BDP / 14480 B) × RTT, exceeds 1 % of "
           "the test. The ndt7 mean is not held to the ±1 % target there (it averages the ramp "
           "in); the steady-state estimate is.",
           "- **MinRTT ok**: Fathom's MinRTT within max(1 ms, 5 %) of the configured RTT. RTT under "
           "load: Fathom's = server TCPInfo.RTT samples of the subtest; iperf3's = ping through "
           "the loaded link from 2 s on.", "",
           "| rate Mbit/s | RTT ms | loss % | buffer | delay method | tool | scheme | dir | runs "
           "| ideal | mean | min–max | mean err % | ideal TCP | steady | min–max | steady err % "
           "| MinRTT ms | MinRTT ok | RTT load med/p95 ms | ping min/avg ms | note |",
           "|---:|---:|---:|---|---|---|---|---|---:|---:|---:|---|---:|---:|---:|---|---:"
           "|---:|---|---|---|---|"]
    for r in rows:
        fa = r["tool"] == "fathom"
        out.append(
            f"| {r['rate_mbit']:g} | {r['rtt_ms']:g} | {r['loss_pct']:g} | {r['buffer']} "
            f"| {r['method']} | {r['tool']} | {r['scheme']} | {r['direction']} | {r['runs']} "
            f"| {fmt(r['ideal_mbps'], 2)} | {fmt(r['median_mbps'], 2)} "
            f"| {fmt(r['min_mbps'], 2)}–{fmt(r['max_mbps'], 2)} | {fmt(r['error_pct'], 2)} "
            f"| {fmt(r['ideal_tcp_mbps'], 2) if fa else '–'} | {fmt(r['steady_mbps'], 2)} "
            f"| {(fmt(r['steady_min_mbps'], 2) + '–' + fmt(r['steady_max_mbps'], 2)) if fa else '–'} "
            f"| {fmt(r['steady_error_pct'], 2)} "
            f"| {fmt(r['minrtt_ms'], 2)} | {('yes' if r['minrtt_ok'] else 'NO') if r['minrtt_ok'] != '' else '–'} "
            f"| {fmt(r['rtt_load_med_ms'])}/{fmt(r['rtt_load_p95_ms'])} "
            f"| {fmt(r['ping_min_ms'], 2)}/{fmt(r['ping_avg_ms'], 2)} "
            f"| {'BDP' if r['bdp_limited'] else ''} |")
    out.append("")
    with open(path, "w") as f:
        f.write("\n".join(out))


def write_svg(rows, path):
    """Log-log scatter of measured median against ideal goodput, with the y = x line."""
    W, H, L, B, T, Rm = 640, 480, 70, 60, 30, 150
    lo, hi = 5.0, 2000.0

    def x(v):
        return L + (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)) * (W - L - Rm)

    def y(v):
        return H - B - (math.log10(v) - math.log10(lo)) / (math.log10(hi) - math.log10(lo)) * (H - B - T)

    colors = {"iperf3": "#444444", "ws": "#1f77b4", "wss": "#d62728"}
    s = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" '
         f'font-family="sans-serif" font-size="11">',
         f'<rect width="{W}" height="{H}" fill="white"/>',
         f'<text x="{L}" y="18" font-size="13">Reported (mean, steady) vs ideal goodput (Mbit/s, log-log)</text>']
    for d in (10, 50, 100, 500, 1000):
        s.append(f'<line x1="{x(d):.1f}" y1="{T}" x2="{x(d):.1f}" y2="{H - B}" stroke="#eee"/>')
        s.append(f'<line x1="{L}" y1="{y(d):.1f}" x2="{W - Rm}" y2="{y(d):.1f}" stroke="#eee"/>')
        s.append(f'<text x="{x(d):.1f}" y="{H - B + 15}" text-anchor="middle">{d}</text>')
        s.append(f'<text x="{L - 6}" y="{y(d) + 4:.1f}" text-anchor="end">{d}</text>')
    s.append(f'<line x1="{x(lo):.1f}" y1="{y(lo):.1f}" x2="{x(hi):.1f}" y2="{y(hi):.1f}" '
             f'stroke="#999" stroke-dasharray="4 3"/>')
    s.append(f'<rect x="{L}" y="{T}" width="{W - L - Rm}" height="{H - B - T}" fill="none" stroke="#333"/>')
    s.append(f'<text x="{(L + W - Rm) / 2}" y="{H - 20}" text-anchor="middle">ideal goodput</text>')
    s.append(f'<text x="18" y="{(T + H - B) / 2}" transform="rotate(-90 18 {(T + H - B) / 2})" '
             f'text-anchor="middle">median reported</text>')
    for r in rows:
        c = colors.get(r["scheme"] if r["tool"] == "fathom" else "iperf3", "#2ca02c")
        for kind, v, i in (("mean", r["median_mbps"], r["ideal_mbps"]),
                           ("steady", r["steady_mbps"], r["ideal_tcp_mbps"])):
            if math.isnan(v) or v <= 0:
                continue
            fill = c if kind == "steady" else "none"
            px, py = x(i), y(max(lo, min(hi, v)))
            title = (f'<title>{r["tool"]} {r["scheme"]} {r["direction"]} {kind} '
                     f'{r["rate_mbit"]:g} Mbit/s {r["rtt_ms"]:g} ms {r["loss_pct"]:g}% {r["buffer"]}'
                     f'{" BDP" if r["bdp_limited"] else ""}: {v:.2f} of {i:.2f}</title>')
            if r["direction"] == "upload":
                s.append(f'<rect x="{px - 3:.1f}" y="{py - 3:.1f}" width="6" height="6" fill="{fill}" '
                         f'fill-opacity="0.5" stroke="{c}">{title}</rect>')
            else:
                s.append(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="3.5" fill="{fill}" fill-opacity="0.5" '
                         f'stroke="{c}">{title}</circle>')
    ly = T + 10
    for name, c in colors.items():
        s.append(f'<circle cx="{W - Rm + 20}" cy="{ly}" r="4" fill="{c}"/>'
                 f'<text x="{W - Rm + 30}" y="{ly + 4}">{"iperf3 (TCP)" if name == "iperf3" else "fathom " + name}</text>')
        ly += 18
    s.append(f'<text x="{W - Rm + 14}" y="{ly + 8}">○ download  □ upload</text>')
    s.append(f'<text x="{W - Rm + 14}" y="{ly + 26}">hollow: mean (vs app ideal)</text>')
    s.append(f'<text x="{W - Rm + 14}" y="{ly + 44}">filled: steady (vs TCP ideal)</text>')
    s.append(f'<text x="{W - Rm + 14}" y="{ly + 62}">dashed: y = x</text>')
    s.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(s) + "\n")


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 64
    raw, out = argv[1], argv[2]
    check = None
    if "--check" in argv:
        check = float(argv[argv.index("--check") + 1])
    only = argv[argv.index("--check-only") + 1] if "--check-only" in argv else None
    rows = summarise(load(raw))
    write_csv(rows, out + ".csv")
    write_md(rows, out + ".md", raw)
    write_svg(rows, out + ".svg")
    tools = {r["tool"] for r in rows}
    checked = "fathom" if "fathom" in tools else "iperf3"
    bad = 0
    for r in rows:
        flags = []
        if r["tool"] == checked and check is not None:
            if only != "steady" and not r["bdp_limited"]:
                if math.isnan(r["error_pct"]) or abs(r["error_pct"]) > check:
                    flags.append("mean exceeds target")
            if only != "mean" and checked == "fathom":
                if math.isnan(r["steady_error_pct"]) or abs(r["steady_error_pct"]) > check:
                    flags.append("steady exceeds target")
        bad += len(flags)
        steady = ""
        if r["tool"] == "fathom":
            steady = (f", steady {fmt(r['steady_mbps'], 2)} of TCP ideal "
                      f"{fmt(r['ideal_tcp_mbps'], 2)} ({fmt(r['steady_error_pct'], 2)} %)")
        print(f"{r['tool']:6} {r['scheme']:4} {r['direction']:8} {r['rate_mbit']:6g} Mbit/s "
              f"{r['rtt_ms']:3g} ms {r['loss_pct']:g}% {r['buffer']:7} ({r['method']}): "
              f"mean {fmt(r['median_mbps'], 2)} of ideal {fmt(r['ideal_mbps'], 2)} "
              f"({fmt(r['error_pct'], 2)} %){steady}, runs {r['runs']}"
              f"{'  <-- ' + '; '.join(flags) if flags else ''}")
    if check is not None:
        print(f"check: {checked} within ±{check:g} %: {'all' if bad == 0 else f'{bad} outside'}")
        return 2 if bad else 0
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
