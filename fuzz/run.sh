#!/usr/bin/env bash
# Builds the fuzzer, makes the seed corpus, fuzzes for SECONDS; non-zero exit on a crash.
# Usage: fuzz/run.sh [SECONDS=60]
# Crash reproducers go to $PODTRACE_FUZZ_DIR/artifacts/ (default /tmp/podtrace-fuzz);
# replay one with: /tmp/podtrace-fuzz/decode_fuzz FILE
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
seconds=${1:-60}
dir=${PODTRACE_FUZZ_DIR:-/tmp/podtrace-fuzz}
seeds=${PODTRACE_FUZZ_CORPUS:-/tmp/podtrace-fuzz-corpus}

fuzzer=$("$here/build.sh" | tail -n1)
"$here/make_corpus.sh" "$seeds"
# New inputs go to the first folder, so the seeds stay as make_corpus wrote them.
mkdir -p "$dir/corpus-run" "$dir/artifacts"
"$fuzzer" "$dir/corpus-run" "$seeds" \
    -max_total_time="$seconds" -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$dir/artifacts/"
