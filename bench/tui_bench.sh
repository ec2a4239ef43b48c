#!/usr/bin/env bash
# Responsiveness of `podtrace tui` while it ingests (issue 6: keys answer within 100 ms while
# 100 kpps are ingested; the screen redraws at most 10 times a second). Replays a 1M-mix capture
# re-stamped to RATE packets per second at recorded speed in a pseudo-terminal, presses keys at
# random intervals and reads the screen back; see bench/tui_bench.cpp for what is measured.
# Builds nothing: build the three programs first, e.g.
#   cmake --build build --target podtrace podtrace_gen podtrace_tui_bench -j2
# usage: bench/tui_bench.sh [BUILD_DIR=build]
# env: PODTRACE_BENCH_TUI_RATE     packets per second of capture time (default 100000)
#      PODTRACE_BENCH_TUI_SECONDS  length of the capture in seconds (default 20)
#      PODTRACE_BENCH_TUI_CAPTURE  the paced capture to use or make
#                                  (default /tmp/podtrace-tui-bench-RATEpps-SECONDSs.pcap)
# Exit status 1 when a target is missed (everything is printed first).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$repo/build}
gen=$build/bench/podtrace_gen
bench=$build/bench/podtrace_tui_bench
podtrace=$build/app/podtrace
rate=${PODTRACE_BENCH_TUI_RATE:-100000}
seconds=${PODTRACE_BENCH_TUI_SECONDS:-20}
capture=${PODTRACE_BENCH_TUI_CAPTURE:-/tmp/podtrace-tui-bench-${rate}pps-${seconds}s.pcap}
max_key_ms=100
max_redraws=10
min_keys=50

for exe in "$gen" "$bench" "$podtrace"; do
    if [[ ! -x $exe ]]; then
        echo "tui_bench.sh: $exe not found; build it: cmake --build $build --target podtrace podtrace_gen podtrace_tui_bench -j2" >&2
        exit 2
    fi
done

if [[ ! -f $capture || $gen -nt $capture ]]; then
    "$gen" - --packets $((rate * seconds)) --seed 1 | "$bench" retime - "$capture" --rate "$rate"
fi

status=0
out=$("$bench" run "$podtrace" "$capture") || status=$?
echo "$out"
summary=$(grep '^summary ' <<<"$out" || true)
if [[ -z $summary ]]; then
    echo "tui_bench.sh: the run did not finish (status $status)" >&2
    exit 1
fi
read -r _ p50 p95 max redraws pps cpu keys <<<"$summary"

missed=()
awk -v m="$max" -v t="$max_key_ms" 'BEGIN { exit !(m > t) }' && missed+=("key latency")
((redraws > max_redraws)) && missed+=("redraws")
((keys < min_keys)) && missed+=("too few keys ($keys < $min_keys)")
awk -v p="$pps" -v r="$rate" 'BEGIN { exit !(p < 0.95 * r) }' && missed+=("ingest rate")
((status != 0)) && missed+=("podtrace exit status")

printf 'tui_bench: key latency p50 %s / p95 %s / max %s ms over %s keys (target max <= %s ms); ' \
    "$p50" "$p95" "$max" "$keys" "$max_key_ms"
printf 'redraws max %s/s (target <= %s); ingest %s pps (target %s); cpu %s%% of a core: %s\n' \
    "$redraws" "$max_redraws" "$pps" "$rate" "$cpu" \
    "$( ((${#missed[@]})) && echo "MISSED: ${missed[*]}" || echo ok)"
((${#missed[@]} == 0))
