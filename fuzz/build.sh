#!/usr/bin/env bash
# Builds the libFuzzer targets (clang 16, ASan+UBSan, coverage in every library) with CMake.
# Usage: fuzz/build.sh [TARGET...]   (default: every target) -> their directory on the last line
# The build goes to $PODTRACE_FUZZ_BUILD (default build-fuzz/ in this tree).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${PODTRACE_FUZZ_BUILD:-$root/build-fuzz}
cxx=${CLANGXX:-clang++-16}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(decode_fuzz reader_fuzz report_fuzz tui_fuzz kube_fuzz)

if [ ! -f "$build/CMakeCache.txt" ]; then
  # -O1: the fuzzer's speed is in its executions, and -O2 builds take half again as long.
  CXX=$cxx cmake -S "$root" -B "$build" -DPODTRACE_FUZZ=ON -DPODTRACE_BUILD_TESTS=OFF \
    -DPODTRACE_BUILD_BENCH=OFF -DPODTRACE_LTO=OFF -DCMAKE_BUILD_TYPE=None \
    -DCMAKE_CXX_FLAGS="-O1 -g" >/dev/null
fi
cmake --build "$build" -j"${JOBS:-2}" --target "${targets[@]}" >&2
echo "$build/fuzz"
