#!/usr/bin/env bash
# Builds the fuzz targets, makes their seed corpora, fuzzes each for SECONDS; non-zero exit on
# a finding.
# Usage: fuzz/run.sh [SECONDS=60] [TARGET...]   (default: every target, SECONDS each)
# Targets: decode_fuzz (one frame), reader_fuzz (pcap/pcapng reader), report_fuzz (report in
# every format, one file or several), tui_fuzz (tui --snapshot), kube_fuzz (kubectl JSON).
# Everything goes under $PODTRACE_FUZZ_DIR (default build-fuzz/ in this tree, the build too):
# seeds/, corpus-TARGET/ (what the runs found, kept for the next), artifacts/ (reproducers;
# replay one with build-fuzz/fuzz/TARGET FILE).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(decode_fuzz reader_fuzz report_fuzz tui_fuzz kube_fuzz)
export PODTRACE_FUZZ_DIR=${PODTRACE_FUZZ_DIR:-$root/build-fuzz}
dir=$PODTRACE_FUZZ_DIR
seeds=${PODTRACE_FUZZ_CORPUS:-$dir/seeds}

bin=$(PODTRACE_FUZZ_BUILD=$dir "$here/build.sh" "${targets[@]}" | tail -n1)
[ -d "$seeds/frames" ] || "$here/make_corpus.sh" "$seeds/frames"
[ -d "$seeds/captures" ] || "$here/seeds.py" "$seeds"
mkdir -p "$dir/artifacts"
for t in "${targets[@]}"; do
  case $t in
    decode_fuzz) corpus=$seeds/frames; max_len=65535 ;;
    kube_fuzz) corpus=$seeds/kube; max_len=131072 ;;
    *) corpus=$seeds/captures; max_len=131072 ;;
  esac
  # What a target once found (tests/hostile/regress/) is replayed first: each must pass now.
  case $t in
    reader_fuzz | report_fuzz | tui_fuzz) "$bin/$t" "$here"/../tests/hostile/regress/*.pcap* ;;
  esac
  # New inputs go to the first folder, so the seeds stay as they were made.
  mkdir -p "$dir/corpus-$t"
  echo "fuzz: $t for ${seconds}s" >&2
  "$bin/$t" "$dir/corpus-$t" "$corpus" -max_total_time="$seconds" -max_len="$max_len" \
    -timeout=25 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$dir/artifacts/$t-"
done
