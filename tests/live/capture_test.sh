#!/usr/bin/env bash
# `podtrace capture` live, in two network namespaces joined by a veth pair: ping from one to
# the other, capture in the first, then check the files with podtrace decode, tshark and
# capinfos. Needs root, iproute2, ping and tshark; exits 77 (CTest: skipped) with the reason
# when one is missing. Usage: capture_test.sh PODTRACE
set -uo pipefail
podtrace=$(realpath "${1:?usage: capture_test.sh PODTRACE}")

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, CAP_NET_RAW)"
for tool in ip ping tshark capinfos; do
  command -v "$tool" >/dev/null || skip "$tool is not installed"
done

id=$$
ns_a=pt-cap-a-$id ns_b=pt-cap-b-$id
if_a=ptca$id if_b=ptcb$id
if_a=${if_a:0:15} if_b=${if_b:0:15}
node=test-node
tmp=$(mktemp -d /tmp/podtrace-capture-test.XXXXXX)
cleanup() {
  ip netns del "$ns_a" 2>/dev/null
  ip netns del "$ns_b" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

ip netns add "$ns_a" || skip "cannot create a network namespace"
ip netns add "$ns_b" || skip "cannot create a network namespace"
ip link add "$if_a" netns "$ns_a" type veth peer name "$if_b" netns "$ns_b" ||
  skip "cannot create a veth pair"
ip -n "$ns_a" addr add 10.253.0.1/30 dev "$if_a"
ip -n "$ns_b" addr add 10.253.0.2/30 dev "$if_b"
ip -n "$ns_a" link set "$if_a" up
ip -n "$ns_b" link set "$if_b" up

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
check_eq() {  # what expected actual
  if [ "$2" = "$3" ]; then echo "ok: $1 = $3"; else fail "$1: expected $2, got $3"; fi
}

# Starts a capture in ns_a in the background (CAP_PID); waits until its handles are open.
start_capture() {  # stderr-file args...
  local err=$1
  shift
  ip netns exec "$ns_a" "$podtrace" capture --node "$node" -i "$if_a" "$@" 2>"$err" &
  CAP_PID=$!
  for _ in $(seq 50); do
    grep -q "capturing on" "$err" 2>/dev/null && return 0
    kill -0 "$CAP_PID" 2>/dev/null || break
    sleep 0.1
  done
  cat "$err"
  fail "capture did not start"
  return 1
}

ping_b() { ip netns exec "$ns_a" ping -c 20 -i 0.05 -q 10.253.0.2 >/dev/null; }

# Every file: complete for tshark and capinfos, podtrace decode reads it all, IDBs named
# <node>/<iface>. Prints the frame count.
check_file() {  # file
  local f=$1 n names
  if ! n=$(capinfos -c -M "$f" 2>&1 | awk -F': *' '/Number of packets/ {print $2}'); then
    fail "$f: capinfos cannot read it"
  fi
  if ! tshark -r "$f" -T fields -e frame.number >/dev/null 2>"$tmp/tshark.err"; then
    fail "$f: tshark: $(cat "$tmp/tshark.err")"
  fi
  names=$(capinfos -I "$f" 2>/dev/null | awk -F' = ' '/Name =/ {print $2}' | sort -u | tr '\n' ' ')
  check_eq "$f: interface names" "$node/$if_a " "$names"
  if ! "$podtrace" decode -q "$f" >/dev/null; then fail "$f: podtrace decode failed"; fi
  echo "$n" >"$tmp/count"
}

echo "--- --duration 3: a ping of 20 echoes, filter icmp"
if start_capture "$tmp/1.err" -w "$tmp/dur.pcapng" --duration 3 icmp; then
  ping_b
  wait "$CAP_PID"
  check_eq "exit code" 0 $?
  cat "$tmp/1.err"
  check_file "$tmp/dur.pcapng"
  check_eq "frames in the file" 40 "$(cat "$tmp/count")"
  check_eq "tshark interface names" "40 $node/$if_a" \
    "$(tshark -r "$tmp/dur.pcapng" -T fields -e frame.interface_name 2>/dev/null |
      sort | uniq -c | awk '{print $1, $2}')"
  check_eq "decoded echo requests" 20 \
    "$("$podtrace" decode -q "$tmp/dur.pcapng" | grep -c 'ICMP echo request')"
  check_eq "decoded echo replies" 20 \
    "$("$podtrace" decode -q "$tmp/dur.pcapng" | grep -c 'ICMP echo reply')"
  check_eq "summary" "podtrace: $node/$if_a: 40 frames (3920 bytes), 0 dropped by kernel, 0 dropped by queue" \
    "$(grep "$node/$if_a:" "$tmp/1.err")"
fi

echo "--- SIGINT while packets flow leaves a complete file with every frame captured"
if start_capture "$tmp/2.err" -w "$tmp/int.pcapng" icmp; then
  ip netns exec "$ns_a" ping -c 100 -i 0.02 -q 10.253.0.2 >/dev/null &
  ping_pid=$!
  sleep 0.8
  kill -INT "$CAP_PID"
  wait "$CAP_PID"
  check_eq "exit code" 0 $?
  wait "$ping_pid"
  cat "$tmp/2.err"
  check_file "$tmp/int.pcapng"
  captured=$(awk '/packets captured/ {print $2}' "$tmp/2.err")
  check_eq "frames in the file = packets captured" "$captured" "$(cat "$tmp/count")"
  [ "${captured:-0}" -gt 10 ] && [ "$captured" -lt 200 ] ||
    fail "expected the capture to stop mid-ping, captured ${captured:-nothing}"
  check_eq "ICMP frames = packets captured" "$captured" \
    "$(tshark -r "$tmp/int.pcapng" -Y icmp 2>/dev/null | wc -l)"
fi

echo "--- -C rotation: FILE, FILE1, ... each a complete pcapng"
if start_capture "$tmp/3.err" -w "$tmp/rot.pcapng" -C 0.002 --duration 3 icmp; then
  ping_b
  wait "$CAP_PID"
  check_eq "exit code" 0 $?
  cat "$tmp/3.err"
  total=0 files=0
  for f in "$tmp"/rot.pcapng*; do
    check_file "$f"
    total=$((total + $(cat "$tmp/count")))
    files=$((files + 1))
  done
  check_eq "frames over all files" 40 "$total"
  [ -e "$tmp/rot.pcapng1" ] && [ "$files" -ge 2 ] || fail "no rotation happened ($files files)"
fi

if [ "$failures" -ne 0 ]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "all live capture checks passed"
