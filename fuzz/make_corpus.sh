#!/usr/bin/env bash
# Seed corpus: one file per frame of the public captures.
# Usage: fuzz/make_corpus.sh [OUT_DIR=/tmp/podtrace-fuzz-corpus]
# Captures from $PODTRACE_SHARED_CAPTURES, else ../shared/captures next to the repo.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
out=${1:-/tmp/podtrace-fuzz-corpus}
captures=${PODTRACE_SHARED_CAPTURES:-$root/../shared/captures}
tooldir=${PODTRACE_FUZZ_DIR:-/tmp/podtrace-fuzz}

if [[ ! -d $captures ]]; then
    echo "make_corpus: no captures folder at $captures; seed corpus left empty" >&2
    mkdir -p "$out"
    exit 0
fi

mkdir -p "$tooldir" "$out"
tool=$tooldir/corpus_from_captures
${GXX:-g++} -std=c++23 -O1 -I "$root" "$here/corpus_from_captures.cpp" \
    "$root/probes/capture_file.cpp" -o "$tool"

total=0
while IFS= read -r -d '' f; do
    rel=${f#"$captures"/}
    # Ports selector (decode_fuzz.cpp): these captures run WireGuard on non-default ports.
    case $rel in
        */wireguard.pcap) sel=1 ;;        # 51194
        */tailscale_linux.pcap) sel=2 ;;  # 41641
        *) sel=0 ;;
    esac
    if ! n=$("$tool" "$out" "$sel" "${rel//[^A-Za-z0-9._-]/_}" "$f"); then
        echo "make_corpus: $rel: reader error, its later frames are not seeds" >&2
        n=0
    fi
    total=$((total + n))
done < <(find "$captures" -type f \( -name '*.pcap' -o -name '*.pcapng' \) -print0 | sort -z)
echo "make_corpus: $total seeds in $out"
