#!/usr/bin/env bash
# Issue 5 accuracy subset (bench/accuracy/subset.sh): 100 Mbit/s, 0 ms, ws, mean and steady-state estimate within 1 %; 77 without root, tc or iperf3.
FATHOM=${FATHOM:-build/debug-san/fathom} exec bash "$(dirname "$0")/../../bench/accuracy/subset.sh"
