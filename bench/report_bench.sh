#!/usr/bin/env bash
# Benchmarks `podtrace report`: CPU as a ratio to the libpcap empty-callback floor over the same
# files, and peak RSS, in one run. Builds nothing: build the three programs first, e.g.
#   cmake --build build --target podtrace podtrace_gen podtrace_bench -j2
# usage: bench/report_bench.sh [BUILD_DIR=build]
# env: PODTRACE_BENCH_CAPTURE   the 1M mix to use or make (default /tmp/podtrace-bench.pcap)
#      PODTRACE_BENCH_NODES     directory of the three node files (default /tmp/podtrace-bench-nodes)
#      PODTRACE_BENCH_RUNS      runs per measurement, the median is kept (default 3)
# Exit status 1 when a target is missed (everything is printed first).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$repo/build}
gen=$build/bench/podtrace_gen
bench=$build/bench/podtrace_bench
podtrace=$build/app/podtrace
mix=${PODTRACE_BENCH_CAPTURE:-/tmp/podtrace-bench.pcap}
nodes_dir=${PODTRACE_BENCH_NODES:-/tmp/podtrace-bench-nodes}
runs=${PODTRACE_BENCH_RUNS:-3}
packets=1000000
big=10000000
seed=1
max_ratio=1.5
max_rss_kib=$((64 * 1024))

for exe in "$gen" "$bench" "$podtrace"; do
    if [[ ! -x $exe ]]; then
        echo "report_bench.sh: $exe not found; build it: cmake --build $build --target podtrace podtrace_gen podtrace_bench -j2" >&2
        exit 2
    fi
done
if [[ ! -x /usr/bin/time ]]; then
    echo "report_bench.sh: /usr/bin/time not found (apt-get install time)" >&2
    exit 2
fi

# The same options as run.sh, so both benchmarks read the same mix.
if [[ ! -f $mix ]]; then
    "$gen" "$mix" --packets "$packets" --seed "$seed"
fi
node_names=(k8s-w1 k8s-w2 k8s-w0) # --node 0, 1, 2
node_files=()
mkdir -p "$nodes_dir"
for i in 0 1 2; do
    f=$nodes_dir/${node_names[$i]}_ens5.pcap # the name gives the report node and interface
    node_files+=("$f")
    if [[ ! -f $f || $gen -nt $f ]]; then
        "$gen" "$f" --packets "$packets" --seed "$seed" --nodes 3 --node "$i"
    fi
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# once KEY CMD...: runs CMD once under /usr/bin/time, appending its CPU (user+sys, s) and peak
# RSS (KiB) to $tmp/KEY.cpu and $tmp/KEY.rss. A failed run stops the benchmark: its numbers
# would mean nothing.
once() {
    local key=$1
    shift
    if ! /usr/bin/time -f '%U %S %M' -o "$tmp/t" "$@" >/dev/null 2>"$tmp/err"; then
        echo "report_bench.sh: this run failed: $*" >&2
        cat "$tmp/err" "$tmp/t" >&2
        exit 1
    fi
    tail -n 1 "$tmp/t" | awk '{ print $1 + $2 }' >>"$tmp/$key.cpu"
    tail -n 1 "$tmp/t" | awk '{ print $3 }' >>"$tmp/$key.rss"
}

# measure KEY CMD...: $runs runs of CMD; sets cpu and rss to the medians.
measure() {
    local key=$1 r
    shift
    rm -f "$tmp/$key.cpu" "$tmp/$key.rss"
    for ((r = 0; r < runs; r++)); do once "$key" "$@"; done
    cpu=$(median <"$tmp/$key.cpu")
    rss=$(median <"$tmp/$key.rss")
}

# piped N: peak RSS of the report reading N generated packets from a pipe (one pass, no file).
piped() {
    local n=$1
    # shellcheck disable=SC2016 # expanded by the inner bash, from its arguments
    measure piped bash -o pipefail -c \
        '"$1" - --packets "$2" --seed "$3" 2>/dev/null | "$4" report -f json -o /dev/null --no-progress -' \
        _ "$gen" "$n" "$seed" "$podtrace"
}

missed=0
verdict() { if (($1)); then echo "met"; else echo "NOT MET"; fi; }

echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "median of $runs runs; CPU = user+sys of the process (/usr/bin/time), RSS = its peak;"
echo "floor and report alternate, and x floor is the median of the $runs pairs' ratios"
echo
printf '%-24s %9s %9s %9s %8s %10s  %s\n' "input" "packets" "floor s" "report s" "x floor" "RSS MiB" "targets (<= $max_ratio x, <= 64 MiB)"
row() { # row NAME FILES...
    local name=$1 n r
    shift
    n=$("$bench" --floor-only "$@" | awk '{ print $1 }') # also brings the files into the page cache
    # Floor and report alternate, and the ratio is the median of each pair's: the host's speed
    # drifts over minutes, and a pair taken seconds apart sees the same host.
    rm -f "$tmp"/floor.* "$tmp"/report.*
    for ((r = 0; r < runs; r++)); do
        once floor "$bench" --floor-only "$@"
        once report "$podtrace" report -f json -o /dev/null --no-progress "$@"
    done
    local floor cpu rss ratio
    floor=$(median <"$tmp/floor.cpu")
    cpu=$(median <"$tmp/report.cpu")
    rss=$(median <"$tmp/report.rss")
    ratio=$(paste "$tmp/report.cpu" "$tmp/floor.cpu" | awk '{ print ($2 > 0 ? $1 / $2 : 0) }' |
        median | awk '{ printf "%.2f", $1 }')
    local cpu_ok rss_ok
    cpu_ok=$(awk -v r="$ratio" -v m="$max_ratio" 'BEGIN { print (r <= m) }')
    rss_ok=$((rss <= max_rss_kib))
    printf '%-24s %9s %9.2f %9.2f %8s %10.1f  CPU %s, RSS %s\n' "$name" "$n" "$floor" "$cpu" \
        "$ratio" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" "$(verdict "$cpu_ok")" "$(verdict "$rss_ok")"
    ((cpu_ok && rss_ok)) || missed=1
}
row "1M mix (1 point)" "$mix"
row "3 nodes x 1M" "${node_files[@]}"

echo
echo "peak RSS, reading a pipe (one pass):"
piped "$packets"
rss_small=$rss
piped "$big"
rss_big=$rss
for pair in "$packets:$rss_small" "$big:$rss_big"; do
    n=${pair%%:*} k=${pair#*:}
    ok=$((k <= max_rss_kib))
    ((ok)) || missed=1
    printf '  %-10s packets  %10.1f MiB  (target <= 64 MiB) %s\n' "$n" "$(awk -v k="$k" 'BEGIN { print k / 1024 }')" "$(verdict "$ok")"
done
awk -v a="$rss_small" -v b="$rss_big" 'BEGIN { printf "  10M / 1M peak RSS = %.2f (flat if memory does not grow with input)\n", b / a }'
exit "$missed"
