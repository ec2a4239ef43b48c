#!/usr/bin/env bash
# End to end, per Calico mode: `podtrace lab up`, `lab record` (live capture on every node while
# the scenarios run), `podtrace report --expect` on what was recorded, the drop and MTU findings
# checked in the JSON report, `lab down`, and nothing left behind. Needs root; exits 77
# (CTest: skipped) with the reason otherwise. Usage: lab_test.sh PODTRACE [MODE...]
set -uo pipefail
podtrace=$(realpath "${1:?usage: lab_test.sh PODTRACE [MODE...]}")
shift
modes=("$@")
((${#modes[@]})) || modes=(ipip vxlan wireguard direct crosssubnet)

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces)"
for tool in ip iptables python3; do command -v "$tool" >/dev/null || skip "$tool is not installed"; done

tmp=$(mktemp -d /tmp/podtrace-lab-test.XXXXXX)
failures=0
fail() { echo "FAIL [$mode]: $*"; failures=$((failures + 1)); }
cleanup() { "$podtrace" lab down >/dev/null 2>&1; rm -rf "$tmp"; }
trap cleanup EXIT

leftovers() {
  ip netns list | grep -o '^ptlab-[^ ]*'
  ls -d /etc/netns/ptlab-* /run/podtrace-lab 2>/dev/null
  pgrep -f 'podtrace lab ipip-daemon|podtrace lab pod-sandbox|wireguard-go wireguard.cali|podtrace capture -w'
}

"$podtrace" lab down >/dev/null 2>&1
[ -z "$(leftovers)" ] || skip "a lab or its processes are already present: $(leftovers | tr '\n' ' ')"

mode=setup
# Without root: refused with the reason, nothing made.
if command -v setpriv >/dev/null; then
  out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$podtrace" lab up 2>&1)
  rc=$?
  [ $rc -eq 2 ] && grep -q "needs root" <<<"$out" || fail "lab up without root: exit $rc: $out"
fi
# Interrupted half way: `up` removes what it made, and says why it stopped.
"$podtrace" lab up --mode vxlan >"$tmp/interrupted.log" 2>&1 &
up_pid=$!
sleep 0.15
kill -INT $up_pid
wait $up_pid
rc=$?
if [ $rc -eq 0 ]; then
  echo "note: lab up finished before the interrupt; checking down instead"
  "$podtrace" lab down >/dev/null
else
  [ $rc -eq 2 ] && grep -q "interrupted\|failed" "$tmp/interrupted.log" ||
    fail "interrupted lab up: exit $rc: $(tail -2 "$tmp/interrupted.log")"
fi
[ -z "$(leftovers)" ] || fail "an interrupted lab up left: $(leftovers | tr '\n' ' ')"
out=$("$podtrace" lab traffic 2>&1)
[ $? -eq 2 ] && grep -q "no lab is up" <<<"$out" || fail "lab traffic without a lab: $out"

for mode in "${modes[@]}"; do
  start=$SECONDS
  case $mode in
    ipip) w2=ipip w0=ipip tunnel=tunl0 ;;
    vxlan) w2=vxlan w0=vxlan tunnel=vxlan.calico ;;
    wireguard) w2=wireguard w0=wireguard tunnel=wireguard.cali ;;
    direct) w2=direct w0=direct tunnel=ens5 ;;
    crosssubnet) w2=direct w0=ipip tunnel=ens5 ;;
    *) echo "unknown mode $mode"; exit 2 ;;
  esac
  if ! "$podtrace" lab up --mode "$mode" >"$tmp/$mode-up.log" 2>&1; then
    fail "lab up"; cat "$tmp/$mode-up.log"; "$podtrace" lab down >/dev/null 2>&1; continue
  fi
  "$podtrace" lab status >"$tmp/$mode-status.log" || fail "lab status says down after up"
  grep -q "mode $mode" "$tmp/$mode-status.log" || fail "lab status does not name mode $mode"
  "$podtrace" lab up --mode "$mode" >/dev/null 2>"$tmp/$mode-again.log"
  [ $? -eq 2 ] && grep -q "already up" "$tmp/$mode-again.log" || fail "a second lab up was not refused"

  # What `podtrace discover` makes of k8s-w1 in this mode: its tunnel, and how each remote block
  # is reached (Calico's own routes, as felix and BIRD program them).
  ip netns exec ptlab-k8s-w1 "$podtrace" discover --json >"$tmp/$mode-facts.json" 2>&1 ||
    fail "discover in k8s-w1"
  python3 - "$tmp/$mode-facts.json" "$mode" <<'PY' || fail "discover facts"
import json, sys
facts, mode = json.load(open(sys.argv[1])), sys.argv[2]
want_tunnel = {"ipip": "ipip", "vxlan": "vxlan", "wireguard": "wireguard", "direct": None,
               "crosssubnet": "ipip"}[mode]
want_routes = {"ipip": {"172.16.184.0/24": "ipip", "172.16.34.0/24": "ipip"},
               "vxlan": {"172.16.184.0/24": "vxlan", "172.16.34.0/24": "vxlan"},
               "wireguard": {"172.16.184.0/24": "wireguard", "172.16.34.0/24": "wireguard"},
               "direct": {"172.16.184.0/24": "direct", "172.16.34.0/24": "direct"},
               "crosssubnet": {"172.16.184.0/24": "direct", "172.16.34.0/24": "ipip"}}[mode]
types = [t["type"] for t in facts["tunnels"]]
routes = {r["dst"]: r["mode"] for r in facts["remote_routes"]}
ok = (types == ([want_tunnel] if want_tunnel else [])) and routes == want_routes
ok = ok and [b["cidr"] for b in facts["blocks"]] == ["172.16.158.0/24"]
ok = ok and facts["nat_outgoing"] is not None
if mode == "wireguard":
    wg = facts["tunnels"][0]
    ok = ok and wg["table"] == 1 and wg["rule_priority"] == 99
if not ok:
    print("facts:", types, routes, facts["blocks"], facts["nat_outgoing"], facts["tunnels"])
sys.exit(0 if ok else 1)
PY

  out=$("$podtrace" lab traffic bogus 2>&1)
  [ $? -eq 2 ] && grep -q "unknown scenario 'bogus'" <<<"$out" || fail "an unknown scenario: $out"

  if [ "$mode" = "${modes[0]}" ]; then
    # Ctrl-C during a recording: captures stopped, no half-written capture left.
    "$podtrace" lab record "$tmp/interrupted" >/dev/null 2>&1 &
    rec_pid=$!
    sleep 2
    kill -INT $rec_pid
    wait $rec_pid
    rc=$?
    [ $rc -eq 2 ] || fail "interrupted lab record: exit $rc"
    ls "$tmp/interrupted"/*.pcapng >/dev/null 2>&1 && fail "interrupted lab record left captures"
    pgrep -f 'podtrace capture -w' >/dev/null && fail "interrupted lab record left a capture running"
  fi

  dir=$tmp/$mode
  if ! "$podtrace" lab record "$dir" >"$tmp/$mode-record.log" 2>&1; then
    fail "lab record: a scenario did not behave as built"
  fi
  cat "$tmp/$mode-record.log"
  expects=(
    --expect 'default/pod1 -> default/pod2: same-node'
    --expect "default/pod1 -> default/pod3: cross-node encap=$w2"
    --expect "default/pod1 -> default/pod4: cross-node encap=$w0"
    --expect 'default/pod1 -> 203.0.113.10: egress snat'
    --expect 'default/pod2 -> default/web: service dnat'
    # web's endpoint is pod3, on k8s-w2 as pod2 is on k8s-w1: the Service's traffic crosses too.
    --expect "default/pod2 -> default/web: cross-node encap=$w2"
  )
  [ "$mode" = wireguard ] && expects+=(--expect encrypted)
  names=(--pods "$dir/pods.json" --services "$dir/services.json" --nodes "$dir/nodes.json")
  if ! "$podtrace" report --no-progress "${names[@]}" "${expects[@]}" "$dir"/*.pcapng >"$tmp/$mode-report.txt" 2>&1; then
    fail "report --expect"; sed -n '/^expect/,$p' "$tmp/$mode-report.txt"
  fi
  "$podtrace" report --no-progress -f json "${names[@]}" "$dir"/*.pcapng >"$tmp/$mode-report.json" 2>/dev/null
  python3 - "$tmp/$mode-report.json" "$mode" "$tunnel" <<'PY' || fail "findings"
import json, sys
report, mode, tunnel = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3]
found = report["findings"]
drops = [f for f in found if f["kind"] == "dropped" and f["node"] == "k8s-w2"
         and f"after {tunnel}" in f["where"] and "before cali49778cadcf1" in f["where"]]
mtus = [f for f in found if f["kind"] == "mtu"]
ok = True
if not drops:
    print(f"no drop on k8s-w2 after {tunnel} before cali49778cadcf1; findings: "
          + "; ".join(f'{f["kind"]} {f["node"]} {f["where"]}' for f in found))
    ok = False
if mode != "direct" and not mtus:
    print("no mtu finding"); ok = False
if mode == "direct" and mtus:
    print("an mtu finding in direct mode"); ok = False
sys.exit(0 if ok else 1)
PY
  "$podtrace" lab down >"$tmp/$mode-down.log" 2>&1 || fail "lab down"
  left=$(leftovers)
  [ -z "$left" ] || { fail "left behind: $left"; "$podtrace" lab down >/dev/null 2>&1; }
  echo "mode $mode: $((SECONDS - start)) s"
done
"$podtrace" lab status >/dev/null && fail "lab status says up after down"
((failures == 0)) || { echo "$failures failure(s)"; exit 1; }
echo "lab e2e: ${modes[*]}: all passed"
