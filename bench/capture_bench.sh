#!/usr/bin/env bash
# Live capture benchmark: a 64 MiB TCP transfer between two network namespaces joined by a
# veth, captured on every interface of the sending namespace by podtrace's LiveSource and by
# dumpcap in turn. Reports frames captured against the veth's own packet counters (an
# independent oracle), kernel drops and CPU (user+sys). Needs root; builds nothing:
#   cmake --build build --target podtrace_capture_bench -j2
# usage: bench/capture_bench.sh [BUILD_DIR=build] [RUNS=3]
# env: PODTRACE_BENCH_BUFFER_MIB  kernel ring per interface for both tools (default: each
#                                 tool's own, podtrace 4 MiB, dumpcap 2 MiB)
#      PODTRACE_BENCH_SNAPLEN     snaplen for both tools (default: each tool's own)
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-$repo/build}
runs=${2:-3}
driver=$build/bench/podtrace_capture_bench
bytes=$((64 << 20))
buffer_mib=${PODTRACE_BENCH_BUFFER_MIB:-}
snaplen=${PODTRACE_BENCH_SNAPLEN:-}
py=/usr/bin/python3
[[ -x $driver ]] || { echo "capture_bench.sh: $driver not found; build podtrace_capture_bench" >&2; exit 2; }
[[ $(id -u) -eq 0 ]] || { echo "capture_bench.sh: needs root (network namespaces)" >&2; exit 2; }
command -v dumpcap >/dev/null || { echo "capture_bench.sh: dumpcap not installed" >&2; exit 2; }

a=ptb$$a b=ptb$$b veth=calibench$$
tmp=$(mktemp -d)
cleanup() {
    ip netns del "$a" 2>/dev/null || true
    ip netns del "$b" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup EXIT
ip netns add "$a"
ip netns add "$b"
ip -n "$a" link add "$veth" type veth peer name eth0 netns "$b"
ip -n "$a" addr add 10.78.0.1/24 dev "$veth"
ip -n "$b" addr add 10.78.0.2/24 dev eth0
ip -n "$a" link set "$veth" up
ip -n "$a" link set lo up
ip -n "$b" link set eth0 up
ip -n "$b" link set lo up
ifaces=$(ip -n "$a" -o link show | awk -F': ' '{sub(/@.*/, "", $2); print $2}')

packets() {  # rx+tx packets over every interface of namespace A
    local n=0 i
    for i in $ifaces; do
        n=$((n + $(ip netns exec "$a" cat /sys/class/net/"$i"/statistics/rx_packets) \
              + $(ip netns exec "$a" cat /sys/class/net/"$i"/statistics/tx_packets)))
    done
    echo $n
}

transfer() {
    ip netns exec "$b" $py -c '
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.78.0.2", 5001)); s.listen(1); c, _ = s.accept(); n = 0
while True:
    d = c.recv(1 << 20)
    if not d: break
    n += len(d)
assert n == '"$bytes"', n' &
    local server=$!
    sleep 0.3
    ip netns exec "$a" $py -c '
import socket
s = socket.create_connection(("10.78.0.2", 5001)); buf = bytes(1 << 20)
for _ in range('"$((bytes >> 20))"'): s.sendall(buf)
s.close()'
    wait "$server"
}

# Runs "$@" as the capture in namespace A, the transfer, then SIGINT; sets sent, cpu, out.
measure() {
    ip netns exec "$a" /usr/bin/time -f '%U %S' -o "$tmp/time" "$@" >"$tmp/out" 2>"$tmp/err" &
    local cap=$!
    for _ in $(seq 50); do
        grep -qE 'ready|Capturing on' "$tmp/err" 2>/dev/null && break
        sleep 0.1
    done
    sleep 0.3
    local before after
    before=$(packets)
    transfer
    sleep 0.5
    after=$(packets)
    sent=$((after - before))
    # time(1) forwards no signal: interrupt the capture itself.
    pkill -INT -P "$cap" || kill -INT "$cap"
    wait "$cap" || true
    cpu=$(awk '{printf "%.3f", $1 + $2}' "$tmp/time")
}

printf '%-8s %4s %10s %10s %12s %12s %8s\n' tool run sent captured kernel_drops queue_drops cpu_s
for run in $(seq "$runs"); do
    args=()
    [[ -n $buffer_mib ]] && args+=(-B $((buffer_mib * 1024)))
    [[ -n $snaplen ]] && args+=(-s "$snaplen")
    for i in $ifaces; do args+=("$i"); done
    measure "$driver" "${args[@]}"
    got=$(awk '/^total/ {print $3}' "$tmp/out")
    kd=$(awk '/^total/ {print $5}' "$tmp/out")
    qd=$(awk '/^total/ {print $7}' "$tmp/out")
    printf '%-8s %4s %10s %10s %12s %12s %8s\n' podtrace "$run" "$sent" "$got" "$kd" "$qd" "$cpu"

    args=()
    for i in $ifaces; do
        args+=(-i "$i")
        [[ -n $buffer_mib ]] && args+=(-B "$buffer_mib")
        [[ -n $snaplen ]] && args+=(-s "$snaplen")
    done
    measure dumpcap -q "${args[@]}" -w "$tmp/dump.pcapng"
    # "Packets received/dropped on interface 'X': R/D (pcap:P/dumpcap:U/flushed:F/ps_ifdrop:I)"
    read -r got kd < <(awk -F"[: /()]+" '/received\/dropped/ {
            for (k = 1; k <= NF; k++) if ($k ~ /^'"'"'.*'"'"'$/) { r += $(k+1); d += $(k+2) }
        } END { print r + 0, d + 0 }' "$tmp/err")
    printf '%-8s %4s %10s %10s %12s %12s %8s\n' dumpcap "$run" "$sent" "$got" "$kd" - "$cpu"
    [[ -n ${PODTRACE_BENCH_VERBOSE:-} ]] && cat "$tmp/err" "$tmp/out" >&2
    rm -f "$tmp/dump.pcapng"
done
