#!/usr/bin/env bash
# A write that fails is exit 2 with the reason, in every subcommand that writes a document:
# standard output on a full disk (/dev/full) and closed, for report, decode and tui --snapshot.
#   write_errors.sh PODTRACE
set -uo pipefail
podtrace=$1
input=examples/crafted/ipip/k8s-w1_ens5.pcap
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
check() { # check WHAT WANT_REASON CMD...: exit 2 and stderr naming the reason
  local what=$1 want=$2 rc
  shift 2
  "$@" 2>"$tmp/err"
  rc=$?
  if [ $rc -eq 2 ] && grep -q "cannot write to standard output: $want" "$tmp/err"; then
    echo "ok   $what"
  else
    echo "FAIL $what: exit $rc"; cat "$tmp/err"; fail=1
  fi
}
for cmd in "report" "report -f json" "decode" "decode -j" "tui --snapshot 80x24 -r"; do
  # shellcheck disable=SC2086 # the command's words
  check "$cmd > /dev/full" "No space left on device" sh -c "exec \"\$0\" $cmd $input >/dev/full" "$podtrace"
  # shellcheck disable=SC2086
  check "$cmd >&-" "Bad file descriptor" sh -c "exec \"\$0\" $cmd $input >&-" "$podtrace"
done
exit $fail
