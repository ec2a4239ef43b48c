#!/usr/bin/env bash
# Pod mode and pod names from /proc, in the lab (ipip): discover inside ptlab-pod1 says pod mode
# and captures eth0 only; discover in ptlab-k8s-w1 names the cali* veths' pods from the lab's
# pod sandboxes with no --pods, and says why not without CAP_SYS_PTRACE; a report on a capture
# made there without --pods names pod1 and pod2. Needs root; exits 77 (skipped) otherwise.
# Usage: pod_test.sh PODTRACE
set -uo pipefail
podtrace=$(realpath "${1:?usage: pod_test.sh PODTRACE}")

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces)"
for tool in ip iptables python3 nsenter setpriv; do
  command -v "$tool" >/dev/null || skip "$tool is not installed"
done
ip netns list | grep -q '^ptlab-' && skip "a lab is already up (someone else's?): not touching it"

tmp=$(mktemp -d /tmp/podtrace-pod-test.XXXXXX)
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
cleanup() { "$podtrace" lab down >/dev/null 2>&1; rm -rf "$tmp"; }
trap cleanup EXIT

if ! "$podtrace" lab up --mode ipip >"$tmp/up.log" 2>&1; then
  cat "$tmp/up.log"; echo "FAIL: lab up"; exit 1
fi
"$podtrace" lab status >"$tmp/status.log" 2>&1
for pod in pod1 pod2 jumbo pod3 pod4; do
  grep -q "^daemon $pod sandbox (podtrace lab pod-sandbox default/$pod) pid [0-9]* running" \
    "$tmp/status.log" || fail "lab status does not list $pod's sandbox running: $(cat "$tmp/status.log")"
done
sandbox=$(cat /run/podtrace-lab/pod1.sandbox.pid)

# --- pod mode: inside pod1's network namespace (and its UTS/mount ones, as kubectl debug
# --target gives).
nsenter -t "$sandbox" -u -m -n "$podtrace" discover >"$tmp/pod.txt" 2>&1 || fail "discover in pod1"
grep -q "inside pod default/pod1's network namespace (eth0 172.16.158.1/32, default via 169.254.1.1)" \
  "$tmp/pod.txt" || fail "pod mode not recognised: $(cat "$tmp/pod.txt")"
grep -q "kubectl debug node/NODE" "$tmp/pod.txt" || fail "pod mode does not point to the node view"
grep -q "^Node NIC" "$tmp/pod.txt" && fail "pod mode shows eth0 as a node NIC"
ip netns exec ptlab-pod1 "$podtrace" discover --json >"$tmp/pod.json" 2>&1 || fail "discover --json in pod1"
python3 - "$tmp/pod.json" <<'PY' || fail "pod mode JSON: $(cat "$tmp/pod.json")"
import json, sys
f = json.load(open(sys.argv[1]))
v = f["pod_view"]
ok = v and v["interface"] == "eth0" and v["addresses"] == ["172.16.158.1/32"] \
    and v["gateway"] == "169.254.1.1" and f["nic"] is None and f["pods"] == []
sys.exit(0 if ok else 1)
PY

# A capture in pod mode: eth0 only, the pod's side; egress leaves unSNATed there, as it must
# (the node does the SNAT), so no egress-without-snat finding.
ip netns exec ptlab-pod1 "$podtrace" capture --node pod1 -w "$tmp/pod1.pcapng" --duration 6 \
  >"$tmp/pod-capture.log" 2>&1 &
cap=$!
sleep 1.5
"$podtrace" lab traffic same-node egress >"$tmp/pod-traffic.log" 2>&1 || fail "lab traffic: $(cat "$tmp/pod-traffic.log")"
wait $cap || fail "capture in pod1: $(cat "$tmp/pod-capture.log")"
grep -q "capturing on pod1: eth0 " "$tmp/pod-capture.log" ||
  fail "pod mode capture is not eth0 only: $(head -3 "$tmp/pod-capture.log")"
"$podtrace" report -f json -o "$tmp/pod-report.json" "$tmp/pod1.pcapng" || fail "report on the pod capture"
python3 - "$tmp/pod-report.json" <<'PY' || fail "report on the pod capture: $(head -c 3000 "$tmp/pod-report.json")"
import json, sys
r = json.load(open(sys.argv[1]))
points = {s["point"] for fl in r["flows"] for d in ("forward", "reverse") for s in fl["path"][d] or []}
kinds = {fi["kind"] for fi in r["findings"]}
ok = points == {"pod-side"} and "egress-without-snat" not in kinds and "dropped" not in kinds
ok = ok and any(fl["server"]["ip"] == "203.0.113.10" for fl in r["flows"])
if not ok:
    print("points", points, "findings", kinds)
sys.exit(0 if ok else 1)
PY

# --- node mode: k8s-w1 names its veths' pods from /proc, no --pods.
ip netns exec ptlab-k8s-w1 "$podtrace" discover >"$tmp/w1.txt" 2>&1 || fail "discover in k8s-w1"
ip netns exec ptlab-k8s-w1 "$podtrace" discover --json >"$tmp/w1.json" 2>&1 || fail "discover --json in k8s-w1"
python3 - "$tmp/w1.json" <<'PY' || fail "k8s-w1 pod names: $(cat "$tmp/w1.txt")"
import json, sys
f = json.load(open(sys.argv[1]))
names = {p["name"]: p["pod"] and (p["pod"]["namespace"] + "/" + p["pod"]["name"]) for p in f["pods"]}
want = {"calice0906292e2": "default/pod1", "calibd2348b4f67": "default/pod2",
        "calif77ee33ad29": "default/jumbo"}
ok = names == want and f["pod_view"] is None and f["nic"]["name"] == "ens5"
if not ok:
    print(names)
sys.exit(0 if ok else 1)
PY
grep -q "Pod names (from /proc" "$tmp/w1.txt" || fail "discover text has no pod names section"
# As under --profile=netadmin: no CAP_SYS_PTRACE/CAP_SYS_ADMIN, so unnamed, and it says why.
ip netns exec ptlab-k8s-w1 setpriv --inh-caps=-sys_ptrace,-sys_admin \
  --bounding-set=-sys_ptrace,-sys_admin "$podtrace" discover >"$tmp/w1-netadmin.txt" 2>&1 ||
  fail "discover without CAP_SYS_PTRACE"
grep -q "calice0906292e2 *unnamed *no permission.*CAP_SYS_PTRACE.*--profile=sysadmin" "$tmp/w1-netadmin.txt" ||
  fail "no permission reason: $(cat "$tmp/w1-netadmin.txt")"

# A capture on k8s-w1 without --pods: the report names pod1 and pod2 from the facts it carries.
ip netns exec ptlab-k8s-w1 "$podtrace" capture --node k8s-w1 -w "$tmp/w1.pcapng" --duration 5 \
  >"$tmp/w1-capture.log" 2>&1 &
cap=$!
sleep 1.5
"$podtrace" lab traffic same-node >"$tmp/w1-traffic.log" 2>&1 || fail "lab traffic same-node"
wait $cap || fail "capture in k8s-w1: $(cat "$tmp/w1-capture.log")"
"$podtrace" report "$tmp/w1.pcapng" >"$tmp/w1-report.txt" 2>&1 || fail "report on k8s-w1's capture"
grep -q "default/pod1 172.16.158.1.* -> default/pod2 172.16.158.2" "$tmp/w1-report.txt" ||
  fail "report without --pods does not name pod1 -> pod2: $(grep '^flow' "$tmp/w1-report.txt")"

# The TUI in pod mode says the same on its Interfaces screen (i), in a real terminal.
if command -v tmux >/dev/null; then
  sandbox=$(cat /run/podtrace-lab/pod1.sandbox.pid)
  sock=podtrace-pod-$$
  tmux -L "$sock" -f /dev/null new-session -d -s pod -x 200 -y 50 \
    "env TERM=screen LANG=C.UTF-8 nsenter -t $sandbox -u -m -n $podtrace tui; sleep 20"
  seen=0
  for _ in $(seq 1 50); do
    tmux -L "$sock" send-keys -t pod i
    sleep 0.3
    if tmux -L "$sock" capture-pane -p -t pod | grep -q "Pod mode: podtrace runs inside pod"; then
      seen=1; break
    fi
  done
  [ $seen = 1 ] || fail "tui in pod1: no pod-mode note: $(tmux -L "$sock" capture-pane -p -t pod)"
  tmux -L "$sock" capture-pane -p -t pod | grep -q "eth0" || fail "tui in pod1: eth0 not listed"
  tmux -L "$sock" kill-server 2>/dev/null
fi

"$podtrace" lab down >/dev/null 2>&1 || fail "lab down"
pgrep -f 'podtrace lab pod-sandbox' >/dev/null && fail "lab down left a pod sandbox running"
[ -d /run/podtrace-lab ] && fail "lab down left /run/podtrace-lab"

if [ $failures -ne 0 ]; then
  echo "pod_test: $failures failure(s)"
  exit 1
fi
echo "pod_test: ok"
