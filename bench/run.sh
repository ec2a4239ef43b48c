#!/usr/bin/env bash
# Runs the decode benchmark. Builds nothing: build podtrace_gen and podtrace_bench first, e.g.
#   cmake --build build --target podtrace_gen podtrace_bench -j2
# usage: bench/run.sh [BUILD_DIR=build] [podtrace_bench options...]
# env: PODTRACE_BENCH_CAPTURE   capture to use or make (default /tmp/podtrace-bench.pcap)
#      PODTRACE_BENCH_PACKETS   packets when making it (default 1000000)
#      PODTRACE_BENCH_TSHARK_PACKETS   0 = tshark reads the whole file (default);
#                                      N = tshark -c N, its CPU scaled to the whole file
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$repo/build}
if (($#)); then shift; fi
gen=$build/bench/podtrace_gen
bench=$build/bench/podtrace_bench
capture=${PODTRACE_BENCH_CAPTURE:-/tmp/podtrace-bench.pcap}
packets=${PODTRACE_BENCH_PACKETS:-1000000}
tshark_packets=${PODTRACE_BENCH_TSHARK_PACKETS:-0}
seed=1

for exe in "$gen" "$bench"; do
    if [[ ! -x $exe ]]; then
        echo "run.sh: $exe not found; build it: cmake --build $build --target podtrace_gen podtrace_bench -j2" >&2
        exit 2
    fi
done

if [[ ! -f $capture || $gen -nt $capture ]]; then
    "$gen" "$capture" --packets "$packets" --seed "$seed"
fi

# Determinism on a smaller file: two runs must be byte-identical, and equal to the start of the
# big capture (records are generated in order from one PRNG stream, so a shorter run is a prefix).
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
small=20000
"$gen" "$tmp/a.pcap" --packets "$small" --seed "$seed" >/dev/null
"$gen" "$tmp/b.pcap" --packets "$small" --seed "$seed" >/dev/null
"$gen" "$tmp/c.pcap" --packets "$small" --seed $((seed + 1)) >/dev/null
cmp "$tmp/a.pcap" "$tmp/b.pcap"
cmp -n "$(stat -c %s "$tmp/a.pcap")" "$tmp/a.pcap" "$capture" ||
    { echo "run.sh: $capture was not made by this generator with seed $seed; delete it" >&2; exit 1; }
if cmp -s "$tmp/a.pcap" "$tmp/c.pcap"; then
    echo "run.sh: --seed has no effect" >&2
    exit 1
fi
echo "determinism: same seed byte-identical ($small packets, and a prefix of $capture); other seed differs"
echo

"$bench" "$capture" --tshark-packets "$tshark_packets" "$@"
