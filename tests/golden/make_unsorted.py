#!/usr/bin/env python3
"""Writes tests/golden/input/k8s-w1-unsorted.pcapng: the k8s-w1 example captures in one pcapng,
one interface each, with each interface's frames written in bursts of three, the way dumpcap
with several -i writes them (not in time order). The report must give the same paths as from
the sorted files. Run from the repository root; the output is committed."""
import glob
import os
import struct

NODE = "k8s-w1"


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack_from("<I", data, 0)
    assert magic == 0xA1B2C3D4, path  # the examples are little-endian, µs
    linktype, = struct.unpack_from("<I", data, 20)
    frames, off = [], 24
    while off < len(data):
        sec, usec, incl, orig = struct.unpack_from("<IIII", data, off)
        frames.append((sec * 1_000_000 + usec, orig, data[off + 16:off + 16 + incl]))
        off += 16 + incl
    return linktype, frames


def option(code, value):
    pad = (4 - len(value) % 4) % 4
    return struct.pack("<HH", code, len(value)) + value + b"\0" * pad


def block(kind, body):
    length = 12 + len(body)
    return struct.pack("<II", kind, length) + body + struct.pack("<I", length)


def main():
    files = sorted(glob.glob(f"examples/crafted/ipip/{NODE}_*.pcap"))
    shb = struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)
    shb += option(1, f"podtrace node={NODE}".encode()) + option(0, b"")
    out = [block(0x0A0D0D0A, shb)]
    streams = []
    for i, path in enumerate(files):
        iface = os.path.basename(path)[len(NODE) + 1:-len(".pcap")]
        linktype, frames = read_pcap(path)
        idb = struct.pack("<HHI", linktype, 0, 262144)
        idb += option(2, f"{NODE}/{iface}".encode()) + option(0, b"")
        out.append(block(1, idb))
        streams.append((i, frames))
    # Round robin over the interfaces, three frames at a time.
    pos = [0] * len(streams)
    while any(pos[k] < len(s[1]) for k, s in enumerate(streams)):
        for k, (if_id, frames) in enumerate(streams):
            for ts, orig, data in frames[pos[k]:pos[k] + 3]:
                pad = (4 - len(data) % 4) % 4
                body = struct.pack("<IIIII", if_id, ts >> 32, ts & 0xFFFFFFFF, len(data), orig)
                out.append(block(6, body + data + b"\0" * pad))
            pos[k] += 3
    with open("tests/golden/input/k8s-w1-unsorted.pcapng", "wb") as f:
        f.write(b"".join(out))


main()
