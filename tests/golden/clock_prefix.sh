#!/usr/bin/env bash
# The clock pass stops once the offsets settle: over three generated node files (k8s-w2 +2 s and
# k8s-w0 -1.5 s off k8s-w1's clock) it reads fewer frames than there are, says so, and finds the
# offsets between nodes that reading every frame (--full-clock-pass) finds, and the same trace.
#   clock_prefix.sh PODTRACE PODTRACE_GEN
set -uo pipefail
podtrace=$1 gen=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
names=(k8s-w1 k8s-w2 k8s-w0) # --node 0, 1, 2, as bench/report_bench.sh names them
for i in 0 1 2; do
  "$gen" "$tmp/${names[$i]}_ens5.pcap" --packets 200000 --seed 1 --nodes 3 --node "$i" >/dev/null ||
    exit 1
done
files=("$tmp"/*.pcap)
"$podtrace" report -f json --no-progress "${files[@]}" >"$tmp/prefix.json" || exit 1
"$podtrace" report -f json --no-progress --full-clock-pass "${files[@]}" >"$tmp/full.json" || exit 1
"$podtrace" report --no-progress "${files[@]}" >"$tmp/prefix.txt" || exit 1
grep '^clock' "$tmp/prefix.txt"
python3 - "$tmp/prefix.json" "$tmp/full.json" <<'PY'
import json, sys
prefix, full = (json.load(open(p)) for p in sys.argv[1:3])
fail = False
def check(what, ok):
    global fail
    print(("ok   " if ok else "FAIL ") + what)
    fail |= not ok
total = sum(c["frames"] for c in prefix["captures"])
stop = prefix.get("clock_prefix")
check("the clock pass stopped early", stop is not None and 0 < stop["frames"] < total)
check("its span is reported", stop is not None and stop["span_ns"] > 0)
check("reading every frame says nothing of a prefix", "clock_prefix" not in full)
clocks = {c["node"]: c for c in prefix["clocks"]}
w1 = clocks.get("k8s-w1", {})
for node, want in {"k8s-w2": 2_000_000_000, "k8s-w0": -1_500_000_000}.items():
    c = clocks.get(node, {})
    check(f"{node} is {want} ns off k8s-w1 within the uncertainty",
          c.get("estimated") and w1.get("estimated") and
          abs(c["offset_ns"] - w1["offset_ns"] - want) <= c["uncertainty_ns"] + w1["uncertainty_ns"])
for node, c in clocks.items():
    check(f"{node}: the reference, or matched >= 1000 packets each way",
          c["reference"] or min(c["forward"], c["backward"]) >= 1000)
# The reference is the node with most matches, which a prefix may pick otherwise when nodes are
# close: offsets between nodes are what must agree.
def between(doc):
    off = {c["node"]: c["offset_ns"] for c in doc["clocks"] if c["estimated"]}
    return {n: o - off["k8s-w1"] for n, o in off.items()} if "k8s-w1" in off else None
check("the offsets between nodes are those over every frame",
      between(prefix) is not None and between(prefix) == between(full))
same = lambda doc: (doc["captures"], doc["decode"], doc["correlation"], doc["flows_total"],
                    [f["kind"] for f in doc["findings"]])
check("the trace is the same", same(prefix) == same(full))
sys.exit(1 if fail else 0)
PY
