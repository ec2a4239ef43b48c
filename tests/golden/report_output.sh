#!/usr/bin/env bash
# `report -o`: a regular file is replaced whole, leaving no temporary file behind; a device is
# written in place, never replaced (as root, renaming over /dev/null would replace the device);
# a directory or a missing parent is an error that creates nothing.
#   report_output.sh PODTRACE
set -uo pipefail
podtrace=$1
root=$(cd "$(dirname "$0")/../.." && pwd)
capture=$root/examples/crafted/ipip/k8s-w1_ens5.pcap
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # check WHAT CONDITION...
  local what=$1
  shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fail=1; fi
}

"$podtrace" report "$capture" >"$tmp/stdout" 2>/dev/null
echo old >"$tmp/r.txt"
"$podtrace" report -o "$tmp/r.txt" "$capture" 2>/dev/null
check "exit 0 writing a regular file" test $? -eq 0
check "the file holds the report" cmp -s "$tmp/stdout" "$tmp/r.txt"
check "no temporary file left" test "$(ls "$tmp" | wc -l)" -eq 2

"$podtrace" report -o /dev/null "$capture" 2>/dev/null
check "exit 0 writing /dev/null" test $? -eq 0
check "/dev/null is still a character device" test -c /dev/null

mkdir "$tmp/dir"
"$podtrace" report -o "$tmp/dir" "$capture" 2>"$tmp/err"
check "exit 2 for a directory" test $? -eq 2
check "the error names it" grep -q "is a directory" "$tmp/err"
check "nothing written into it" test -z "$(ls "$tmp/dir")"

"$podtrace" report -o "$tmp/missing/r.txt" "$capture" 2>"$tmp/err"
check "exit 2 for a missing parent" test $? -eq 2
check "the error names the path" grep -q "$tmp/missing/r.txt" "$tmp/err"
exit $fail
