#!/usr/bin/env bash
# Golden CLI test, as tcpdump's TESTrun: run one TESTLIST case and compare with its .out file.
#   run.sh PODTRACE NAME            compare (exit 1 and a diff on mismatch)
#   run.sh PODTRACE NAME --update   rewrite the expected output from the current binary
# TESTLIST line: NAME  INPUTS(comma-separated, repo-relative, globs allowed)  EXPECTED  COMMAND ARGS...
set -euo pipefail
podtrace=$1 name=$2 mode=${3:-}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root"
line=$(grep -E "^$name[[:space:]]" "$here/TESTLIST" || true)
[ -n "$line" ] || { echo "golden: no case named '$name' in tests/golden/TESTLIST" >&2; exit 2; }
read -r _ inputs expected command args <<<"$line"
IFS=, read -r -a patterns <<<"$inputs"
files=()
for p in "${patterns[@]}"; do
  # shellcheck disable=SC2206 # globs expand in a fixed (sorted) order
  files+=($p)
done
# ARGS are shell words: quotes group, as in a terminal (--expect 'a -> b: same-node').
eval "argv=($args)"
actual=$(TZ=UTC LC_ALL=C "$podtrace" "$command" "${argv[@]}" "${files[@]}" 2>&1; echo "exit $?")
if [ "$mode" = --update ]; then
  printf '%s\n' "$actual" >"$here/expected/$expected"
  echo "golden: updated $expected"
  exit 0
fi
if ! diff -u "$here/expected/$expected" <(printf '%s\n' "$actual"); then
  echo "golden: $name differs from tests/golden/expected/$expected (run.sh PODTRACE $name --update after checking the diff)" >&2
  exit 1
fi
