#!/usr/bin/env bash
# Every public capture in ../shared/captures goes through `podtrace report` without a crash, and
# every frame is accounted for: the report's frame count equals capinfos', and its decode
# outcomes (ok, truncated, malformed, unsupported) add up to it.
#   public_captures.sh PODTRACE [CAPTURES_DIR]   exit 77 (skip) when the folder or capinfos is absent
set -uo pipefail
podtrace=$1
dir=${2:-$(cd "$(dirname "$0")/../.." && pwd)/../shared/captures}
[ -d "$dir" ] || { echo "skip: no $dir"; exit 77; }
command -v capinfos >/dev/null || { echo "skip: capinfos not installed"; exit 77; }
command -v python3 >/dev/null || { echo "skip: python3 not installed"; exit 77; }
fail=0 n=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
while IFS= read -r -d '' f; do
  n=$((n + 1))
  rm -f "$tmp/r.json"
  "$podtrace" report -f json --no-progress -o "$tmp/r.json" "$f" 2>"$tmp/err"
  rc=$?
  if [ $rc -ne 0 ] && [ $rc -ne 2 ]; then
    echo "FAIL $f: exit $rc"; cat "$tmp/err"; fail=1; continue
  fi
  if [ ! -s "$tmp/r.json" ]; then
    echo "FAIL $f: exit $rc and no report"; cat "$tmp/err"; fail=1; continue
  fi
  want=$(capinfos -M -c -T -r "$f" 2>/dev/null | awk -F'\t' '{print $2}')
  if ! python3 - "$tmp/r.json" "$want" "$rc" "$f" <<'PY'; then fail=1; fi
import json, sys
doc = json.load(open(sys.argv[1]))
want, rc, name = sys.argv[2], int(sys.argv[3]), sys.argv[4]
frames = doc["decode"]["frames"]
errors = [c["error"] for c in doc["captures"] if c["error"]]
ok = True
if sum(doc["decode"]["status"].values()) != frames:
    print(f"FAIL {name}: decode outcomes {doc['decode']['status']} do not add up to {frames}")
    ok = False
# A file cut short reports what it read and exits 2; capinfos counts the same whole records.
if rc == 2 and not errors:
    print(f"FAIL {name}: exit 2 without a read error in the report")
    ok = False
if want.isdigit() and int(want) != frames:
    print(f"FAIL {name}: {frames} frames in the report, capinfos counts {want}")
    ok = False
sys.exit(0 if ok else 1)
PY
done < <(find "$dir" -type f \( -name '*.pcap' -o -name '*.pcapng' -o -name '*.cap' \) -print0 | sort -z)
echo "public captures: $n files through podtrace report"
exit $fail
