#!/usr/bin/env python3
"""Reduce the output of `fathom test --format json` to one line of numbers.

Usage: fathom_json.py download|upload < output
Prints: THROUGHPUT_MBPS MINRTT_MS RTT_MEDIAN_MS RTT_P95_MS RTT_SAMPLES
(fields are "nan" when absent). The summary is the last line that parses as an object without
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
    summary, rtts = None, []
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
    sub = (summary or {}).get(key) or {}
    tput = ((sub.get("Throughput") or {}).get("Value"))
    minrtt = ((sub.get("Latency") or sub.get("MinRTT") or {}).get("Value"))
    if not isinstance(tput, (int, float)):
        print("nan nan nan nan 0")
        return 1
    minrtt = minrtt if isinstance(minrtt, (int, float)) else math.nan
    print("%.3f %.3f %.3f %.3f %d" % (tput, minrtt, pct(rtts, 0.5), pct(rtts, 0.95), len(rtts)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
