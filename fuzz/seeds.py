#!/usr/bin/env python3
"""Seed corpora for the capture and kubectl fuzz targets.

Usage: fuzz/seeds.py OUT_DIR [CAPTURES_DIR]
Writes OUT_DIR/captures/ (the examples' and the public captures' files, cut at a block or
record boundary to at most 64 KiB, and each example set's node files joined into one pcapng of
several sections, which the targets read as one file per node) and OUT_DIR/kube/ (a selector
byte, then the examples' kubectl JSON or a capture's node facts).
"""
import pathlib
import struct
import sys

LIMIT = 64 * 1024
SHB = 0x0A0D0D0A


def cut_pcapng(data: bytes, limit: int = LIMIT) -> bytes:
    off, order = 0, "<"
    while off + 12 <= len(data):
        if data[off:off + 4] == b"\x0a\x0d\x0d\x0a":
            order = "<" if data[off + 8:off + 12] == b"\x4d\x3c\x2b\x1a" else ">"
        (length,) = struct.unpack_from(order + "I", data, off + 4)
        if length < 12 or length % 4 or off + length > len(data) or off + length > limit:
            break
        off += length
    return data[:off]


def cut_pcap(data: bytes) -> bytes:
    order = "<" if data[:4] in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    off = 24
    while off + 16 <= len(data):
        (caplen,) = struct.unpack_from(order + "I", data, off + 8)
        if off + 16 + caplen > min(len(data), LIMIT):
            break
        off += 16 + caplen
    return data[:off]


def cut(data: bytes) -> bytes:
    return cut_pcapng(data) if data[:4] == b"\x0a\x0d\x0d\x0a" else cut_pcap(data)


def node_facts(data: bytes):
    """The 'podtrace facts=' comments of a little-endian pcapng's SHBs, joined."""
    facts, off = [], 0
    while off + 12 <= len(data):
        btype, length = struct.unpack_from("<II", data, off)
        if length < 12 or off + length > len(data):
            break
        if btype == SHB:
            at, end = off + 24, off + length - 4
            while at + 4 <= end:
                code, olen = struct.unpack_from("<HH", data, at)
                if code == 0:
                    break
                value = data[at + 4:at + 4 + olen]
                for key in (b"podtrace facts=", b"podtrace facts+="):
                    if value.startswith(key):
                        facts.append(value[len(key):])
                at += 4 + (olen + 3) // 4 * 4
        off += length
    return b"".join(facts)


def main() -> int:
    root = pathlib.Path(__file__).resolve().parent.parent
    out = pathlib.Path(sys.argv[1])
    shared = pathlib.Path(sys.argv[2]) if len(sys.argv) > 2 else root.parent / "shared" / "captures"
    caps, kube = out / "captures", out / "kube"
    caps.mkdir(parents=True, exist_ok=True)
    kube.mkdir(parents=True, exist_ok=True)
    files = sorted(p for p in (root / "examples").rglob("*") if p.suffix in (".pcap", ".pcapng"))
    if shared.is_dir():
        files += sorted(p for p in shared.rglob("*") if p.suffix in (".pcap", ".pcapng"))
    else:
        print(f"seeds: no public captures at {shared}; the examples only", file=sys.stderr)
    n = 0
    for f in files:
        data = cut(f.read_bytes())
        if len(data) > 24:
            name = str(f.relative_to(f.parents[1])).replace("/", "_")
            (caps / name).write_bytes(data)
            n += 1
    for d in sorted({f.parent for f in (root / "examples").rglob("*.pcapng")}):
        nodes = sorted(d.glob("*.pcapng"))
        joined = b"".join(cut_pcapng(p.read_bytes(), LIMIT // len(nodes)) for p in nodes)
        (caps / ("nodes_" + str(d.relative_to(root / "examples")).replace("/", "_") + ".pcapng")).write_bytes(joined)
        n += 1
    k = 0
    for d in sorted({p.parent for p in (root / "examples").rglob("*.json")}):
        for sel, names in ((0, ("pods.json",)), (1, ("services.json", "svc.json")), (2, ("nodes.json",))):
            for name in names:
                if (d / name).is_file():
                    (kube / f"{d.name}_{name}").write_bytes(bytes([sel]) + (d / name).read_bytes())
                    k += 1
    for f in sorted((root / "examples").rglob("*.pcapng")):
        facts = node_facts(f.read_bytes())
        if facts:
            (kube / ("facts_" + str(f.relative_to(root / "examples")).replace("/", "_"))).write_bytes(b"\x03" + facts)
            k += 1
    print(f"seeds: {n} captures, {k} kubectl and node-facts files in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
