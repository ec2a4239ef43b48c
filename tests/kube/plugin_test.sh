#!/usr/bin/env bash
# `kubectl podtrace` end to end against the lab, through tests/kube/kubectl (a stand-in that
# answers `get` from the lab and runs `debug node/NAME -- CMD` in the lab node's namespace):
# the real plugin, streams, files, report and cleanup. Root; exits 77 where it cannot run.
set -uo pipefail
podtrace=$(realpath "${1:?usage: plugin_test.sh PODTRACE}")
here=$(cd "$(dirname "$0")" && pwd)
[ "$(id -u)" = 0 ] || { echo "skip: needs root (network namespaces)"; exit 77; }
for t in ip python3 tshark; do
    command -v $t >/dev/null || { echo "skip: $t is missing"; exit 77; }
done
if "$podtrace" lab status >/dev/null 2>&1; then
    echo "skip: a lab is already up (podtrace lab down first)"; exit 77
fi

work=$(mktemp -d /tmp/podtrace-plugin-test.XXXXXX)
bin="$work/bin"
mkdir -p "$bin"
ln -s "$podtrace" "$bin/kubectl-podtrace"
ln -s "$here/kubectl" "$bin/kubectl"
export PATH="$bin:$PATH" PODTRACE="$podtrace" PODTRACE_IMAGE=registry.example/podtrace:test
export KUBECTL_STANDIN_STATE="$work/pods" KUBECTL_STANDIN_LOG="$work/kubectl.log"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
cleanup() {
    "$podtrace" lab down >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT

"$podtrace" lab up --mode ipip > "$work/lab-up.log" 2>&1 || { cat "$work/lab-up.log"; exit 1; }

# No debug pod of ours is left, and no capture runs in the lab's nodes.
no_leftovers() {
    local what=$1
    local left
    left=$(ls "$KUBECTL_STANDIN_STATE" 2>/dev/null | grep -c json)
    [ "$left" = 0 ] || fail "$what: $left debug pod(s) left: $(ls "$KUBECTL_STANDIN_STATE")"
    for ns in ptlab-k8s-w1 ptlab-k8s-w2 ptlab-k8s-w0; do
        if ip netns pids "$ns" 2>/dev/null | xargs -r ps -o args= -p | grep -q "podtrace capture"; then
            fail "$what: a podtrace capture still runs in $ns"
        fi
    done
}

# Waits (up to 60 s) for a line in a file.
wait_for() {
    for _ in $(seq 1 300); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.2; done
    return 1
}

echo "== kubectl podtrace capture --nodes k8s-w1,k8s-w2 --duration 4s"
out="$work/cap"
kubectl podtrace capture --nodes k8s-w1,k8s-w2 --duration 4s -o "$out" \
    > "$work/cap.out" 2> "$work/cap.err" &
pid=$!
wait_for "$work/cap.err" "podtrace: capturing on k8s-w1, k8s-w2" || fail "capture never started"
"$podtrace" lab traffic cross-node > "$work/traffic1.log" 2>&1 || fail "lab traffic cross-node"
wait $pid; rc=$?
cat "$work/cap.err"
[ $rc = 0 ] || fail "capture exited $rc"
for f in k8s-w1.pcapng k8s-w2.pcapng pods.json services.json nodes.json; do
    [ -s "$out/$f" ] || fail "capture: $out/$f missing"
done
[ -z "$(ls -A "$out" | grep part)" ] || fail "capture: a .part file is left"
for n in k8s-w1 k8s-w2; do
    frames=$(tshark -r "$out/$n.pcapng" 2>/dev/null | wc -l)
    [ "$frames" -gt 0 ] || fail "capture: tshark reads no frame from $n.pcapng"
    # The node's capture ended cleanly: its interface statistics (written last) are there.
    tshark -r "$out/$n.pcapng" -F pcapng -w /dev/null 2>/dev/null || fail "capture: $n.pcapng unreadable"
    capinfos_out=$(tshark -r "$out/$n.pcapng" -q -z io,stat,0 2>&1 | grep -c "Interval")
    [ "$capinfos_out" -gt 0 ] || fail "capture: $n.pcapng statistics"
done
grep -q '"debug", "node/k8s-w1"' "$work/kubectl.log" || fail "capture: no kubectl debug node/k8s-w1"
grep -q -- '--profile=netadmin' "$work/kubectl.log" || fail "capture: --profile=netadmin not passed"
"$podtrace" report "$out"/k8s-w*.pcapng --pods "$out/pods.json" --services "$out/services.json" \
    --nodes "$out/nodes.json" \
    --expect 'default/pod1 -> default/pod3: cross-node encap=ipip' > "$work/cap.report" \
    || { cat "$work/cap.report"; fail "report on the plugin's capture"; }
no_leftovers capture

echo "== kubectl podtrace trace default/pod1 default/pod3 (holds)"
: > "$work/kubectl.log"
kubectl podtrace trace default/pod1 default/pod3 --duration 4s \
    --expect 'default/pod1 -> default/pod3: cross-node encap=ipip' --expect no-drops \
    > "$work/trace.out" 2> "$work/trace.err" &
pid=$!
wait_for "$work/trace.err" "reproduce the problem now" || fail "trace never started"
"$podtrace" lab traffic cross-node > "$work/traffic2.log" 2>&1 || fail "lab traffic cross-node"
wait $pid; rc=$?
cat "$work/trace.err"; cat "$work/trace.out"
[ $rc = 0 ] || fail "trace: exit $rc, expected 0"
grep -q "default/pod1 172.16.158.1 -> default/pod3 172.16.184.4" "$work/trace.out" \
    || fail "trace: no pod1 -> pod3 flow in the report"
grep -q "k8s-w2/cali49778cadcf1" "$work/trace.out" || fail "trace: pod3's veth not in the path"
grep -q "k8s-w0" "$work/kubectl.log" && fail "trace: captured on k8s-w0, which holds neither pod"
grep -q "cross-subnet\|k8s-w0" "$work/trace.out" && fail "trace: shows flows beyond pod1 <-> pod3"
no_leftovers trace

echo "== kubectl podtrace trace: a path that is not what was expected fails the job"
kubectl podtrace trace pod1 pod3 --duration 3s \
    --expect 'default/pod1 -> default/pod3: cross-node encap=vxlan' --format junit \
    > "$work/trace2.out" 2> "$work/trace2.err" &
pid=$!
wait_for "$work/trace2.err" "reproduce the problem now" || fail "trace 2 never started"
"$podtrace" lab traffic cross-node > "$work/traffic3.log" 2>&1
wait $pid; rc=$?
[ $rc = 1 ] || { cat "$work/trace2.err"; fail "trace with a failing --expect: exit $rc, expected 1"; }
grep -q "<failure" "$work/trace2.out" || fail "trace 2: no JUnit failure"
grep -qi "saw cross-node ipip" "$work/trace2.out" || fail "trace 2: does not say what was seen instead (ipip)"
no_leftovers "failing trace"

echo "== Ctrl-C stops the capture in order"
out="$work/cap2"
kubectl podtrace capture --nodes k8s-w1 -o "$out" > "$work/cap2.out" 2> "$work/cap2.err" &
pid=$!
wait_for "$work/cap2.err" "until Ctrl-C" || fail "capture 2 never started"
"$podtrace" lab traffic same-node > "$work/traffic4.log" 2>&1
kill -INT $pid
wait $pid; rc=$?
[ $rc = 0 ] || { cat "$work/cap2.err"; fail "capture after SIGINT: exit $rc"; }
[ "$(tshark -r "$out/k8s-w1.pcapng" 2>/dev/null | wc -l)" -gt 0 ] || fail "capture 2: empty"
grep -q "deleted debug pod" "$work/cap2.err" || fail "capture 2: did not say it deleted its pod"
no_leftovers "Ctrl-C"

echo "== bad input: exit 2, the culprit named, nothing started or left"
: > "$work/kubectl.log"
expect_error() {  # expected-text command...
    local want=$1; shift
    "$@" > "$work/err.out" 2> "$work/err.txt"; local rc=$?
    [ $rc = 2 ] || fail "$*: exit $rc, expected 2"
    grep -q -- "$want" "$work/err.txt" || { cat "$work/err.txt"; fail "$*: no '$want'"; }
}
expect_error "no node k8s-w9" kubectl podtrace capture --nodes k8s-w1,k8s-w9 -o "$work/x"
expect_error "no pod default/nope" kubectl podtrace trace default/pod1 default/nope
expect_error "--expect" kubectl podtrace trace pod1 pod3 --expect 'pod1 => pod3'
expect_error "not a duration" kubectl podtrace trace pod1 pod3 --duration 10parsecs
PODTRACE_IMAGE= expect_error "PODTRACE_IMAGE" kubectl podtrace capture --nodes k8s-w1 -o "$work/x"
if grep -q '"debug"' "$work/kubectl.log"; then fail "bad input still started a debug pod"; fi
# A node whose capture fails (a filter libpcap rejects): named, its message shown, cleaned up.
expect_error "ended before podtrace captured" kubectl podtrace capture --nodes k8s-w1,k8s-w2 --duration 2s \
    -o "$work/bad" -- 'not a filter ((('
[ ! -e "$work/bad/k8s-w1.pcapng" ] || fail "a failed capture left k8s-w1.pcapng behind"
no_leftovers "failed capture"

echo "== kubectl podtrace tui: one live view across nodes"
if command -v tmux >/dev/null; then
    sock=podtrace-plugin-$$
    tmx() { tmux -u -L "$sock" -f /dev/null "$@"; }
    screen() { tmx capture-pane -p -t kt; }
    # A real terminal: the plugin, the TUI it starts and the kubectl processes under it.
    tmx new-session -d -s kt -x 132 -y 40 "env PATH=$PATH PODTRACE=$PODTRACE PODTRACE_IMAGE=$PODTRACE_IMAGE \
        KUBECTL_STANDIN_STATE=$KUBECTL_STANDIN_STATE LANG=C.UTF-8 TERM=screen \
        kubectl podtrace tui --nodes k8s-w1,k8s-w2 2> $work/tui.err; echo exit=\$? > $work/tui.rc; sleep 30"
    ok=0
    for _ in $(seq 1 150); do screen | grep -q "flows" && { ok=1; break; }; sleep 0.2; done
    [ $ok = 1 ] || fail "tui: no flows table on the screen"
    "$podtrace" lab traffic cross-node > "$work/traffic5.log" 2>&1
    # The packets show once their correlation window (2 s) has passed.
    ok=0
    for _ in $(seq 1 100); do screen | grep -q "default/pod3" && { ok=1; break; }; sleep 0.2; done
    [ $ok = 1 ] || { screen; fail "tui: pod1 -> pod3 never appeared live"; }
    tmx send-keys -t kt '/pod3 icmp' Enter Enter
    ok=0
    for _ in $(seq 1 50); do
        s=$(screen)
        if grep -q "k8s-w1" <<<"$s" && grep -q "k8s-w2" <<<"$s" && grep -q "cali49778cadcf1" <<<"$s" &&
            grep -q "calice0906292e2" <<<"$s"; then ok=1; break; fi
        sleep 0.2
    done
    [ $ok = 1 ] || { screen; fail "tui: the path of pod1 -> pod3 does not span both nodes"; }
    screen | sed -n 1,24p
    # q goes back a screen, then quits.
    for _ in $(seq 1 20); do
        [ -s "$work/tui.rc" ] && break
        tmx send-keys -t kt q
        sleep 0.5
    done
    grep -q "exit=0" "$work/tui.rc" 2>/dev/null || { cat "$work/tui.err"; fail "tui: plugin exit $(cat "$work/tui.rc" 2>/dev/null)"; }
    tmx kill-server 2>/dev/null
    no_leftovers tui
else
    echo "skip: tmux is missing"
fi

echo "== installed as kubectl-podtrace"
kubectl-podtrace --help | grep -q "kubectl podtrace" || fail "kubectl-podtrace --help"

if [ $failures -gt 0 ]; then echo "$failures failure(s)"; exit 1; fi
echo "plugin: all passed"
