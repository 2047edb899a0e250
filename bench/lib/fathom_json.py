#!/usr/bin/env python3
"""Reduce the output of `fathom test --format json` to one line of numbers.

Usage: fathom_json.py download|upload < output
Prints: THROUGHPUT_MBPS MINRTT_MS RTT_MEDIAN_MS RTT_P95_MS RTT_SAMPLES STEADY_MBPS
(fields are "nan" when absent). THROUGHPUT is the ndt7 mean (Download/Upload.Throughput);
STEADY is Fathom's steady-state estimate (Download/Upload.SteadyStateMbps: median rate of
>= 500 ms chunks over the second half of the test, from the server's TCPInfo counters, i.e.
TCP payload), or, when the summary lacks it, the last "Fathom":{"SteadyStateMbps"} the server
sent in a measurement of that subtest. The summary is the last line that parses as an object without
a "Key" (spec/ndt7.md 5.4); RTT under load comes from the server's TCPInfo.RTT (µs) in the
measurement events of that subtest. Exits 1 when no summary or no throughput is found.
"""
import json
import math
import sys


def pct(values, p):
    if not values:
        return math.nan
    v = sorted(values)
    k = (len(v) - 1) * p
    lo, hi = math.floor(k), math.ceil(k)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def main():
    test = sys.argv[1]
    key = "Download" if test == "download" else "Upload"
    summary, rtts, steady_ev = None, [], None
    for line in sys.stdin:
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if not isinstance(obj, dict):
            continue
        if "Key" not in obj:
            summary = obj
            continue
        val = obj.get("Value") or {}
        if obj.get("Key") == "measurement" and val.get("Test", test) == test \
                and val.get("Origin", "server") == "server":
            rtt = (val.get("TCPInfo") or {}).get("RTT")
            if isinstance(rtt, (int, float)) and rtt > 0:
                rtts.append(rtt / 1000.0)
            st = (val.get("Fathom") or {}).get("SteadyStateMbps")
            if isinstance(st, (int, float)) and st >= 0:
                steady_ev = st
    sub = (summary or {}).get(key) or {}
    tput = ((sub.get("Throughput") or {}).get("Value"))
    minrtt = ((sub.get("Latency") or sub.get("MinRTT") or {}).get("Value"))
    steady = sub.get("SteadyStateMbps")
    if not isinstance(steady, (int, float)) or steady < 0:
        steady = steady_ev if steady_ev is not None else math.nan
    if not isinstance(tput, (int, float)):
        print("nan nan nan nan 0 nan")
        return 1
    minrtt = minrtt if isinstance(minrtt, (int, float)) else math.nan
    print("%.3f %.3f %.3f %.3f %d %.3f" % (tput, minrtt, pct(rtts, 0.5), pct(rtts, 0.95), len(rtts),
                                        steady))
    return 0


if __name__ == "__main__":
    sys.exit(main())
