#!/usr/bin/env bash
# Builds the libFuzzer target straight from the decoder sources (no CMake).
# Usage: fuzz/build.sh            -> $PODTRACE_FUZZ_DIR/decode_fuzz (default /tmp/podtrace-fuzz)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
out=${PODTRACE_FUZZ_DIR:-/tmp/podtrace-fuzz}
mkdir -p "$out"

# -fno-sanitize-recover: a UBSan finding must stop the run, or libFuzzer never reports it.
${CLANGXX:-clang++} -std=c++2b -O1 -g -fsanitize=fuzzer,address,undefined \
    -fno-sanitize-recover=undefined -fno-omit-frame-pointer \
    -I "$root" "$root"/decode/*.cpp "$here/decode_fuzz.cpp" -o "$out/decode_fuzz"
echo "$out/decode_fuzz"
