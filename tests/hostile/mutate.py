#!/usr/bin/env python3
"""Hostile captures for podtrace, made from good ones: structure-aware for pcapng (names and
comments holding control sequences and bytes that are not UTF-8, node facts with numbers no
double holds, timestamps and resolutions at the ends of their ranges, block lengths that lie,
interface ids and link types that do not exist) and for classic pcap (headers and record
lengths), plus byte flips and cuts anywhere. Deterministic for a seed.

usage: mutate.py OUT_DIR COUNT SEED SEED_FILE...
Writes OUT_DIR/NNNN-<how>.pcap[ng]; some names themselves hold control and non-UTF-8 bytes.
"""
import os
import random
import struct
import sys

# What a hostile writer puts in a name: screen clearing, a window title (OSC), an 8-bit CSI,
# bytes that are not UTF-8, an overlong '/', a NUL, DEL, a 4000-byte name, nothing.
NAMES = [
    b"ens5\x1b[2J\x1b[H",
    b"cali\x1b]0;owned\x07",
    b"tunl0\xc2\x9b31m",
    b"vx\xff\xfelan",
    b"eth\xc0\xaf0",
    b"wg\x00cali",
    b"k8s\x7fw1",
    b"\xed\xa0\x80surrogate",
    b"x" * 4000,
    b"",
]
FACTS = [
    b'{"nic":{"name":"ens5","mtu":1e400,"addresses":["192.168.10.101/24"]}}',
    b'{"nic":{"name":"ens5\\u001b[2J","mtu":9001,"addresses":["192.168.10.101/24"]},'
    b'"pods":[{"name":"cali\\u009b1","ips":["172.16.158.1"],"pod":{"namespace":"ns\\u001b]0;t\\u0007","name":"p"}}]}',
    b'{"nic":' * 3000 + b"1" + b"}" * 3000,
    b'{"nic":{"name":"\xff\xfe","mtu":1500,"addresses":[]}}',
    b'{"routes":[{"dst":"172.16.0.0/16","dev":"tunl0","mode":"ipip","text":"x\\u001b[31m"}]}',
    b"not json \x1b[2J",
]
EXTREME_TS = [0, 1, 0x7FFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF, 0x8000000000000000, 0x00000000FFFFFFFF,
              0xFFFFFFFF00000000]
TSRESOL = [0, 1, 6, 9, 19, 63, 0x80 | 0, 0x80 | 30, 0x80 | 63, 0xFF]
TSOFFSET = [0x7FFFFFFFFFFFFFFF, -0x8000000000000000, -4000000000, 10**12]
LINKTYPES = [0, 1, 101, 113, 147, 228, 239, 276, 0xFFFF, 0xFFFFFFFF]
LENGTHS = [0, 3, 4, 8, 12, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0xFFFFFFFC]


def pcapng_blocks(data):
    """[(type, body, big_endian)] or None when it is not pcapng read this simply."""
    if len(data) < 28 or data[:4] != b"\x0a\x0d\x0d\x0a":
        return None
    out, pos, big = [], 0, False
    while pos + 12 <= len(data):
        t = data[pos:pos + 4]
        if t == b"\x0a\x0d\x0d\x0a":
            big = data[pos + 8:pos + 12] == b"\x1a\x2b\x3c\x4d"
        fmt = ">I" if big else "<I"
        btype = struct.unpack(fmt, t)[0]
        blen = struct.unpack(fmt, data[pos + 4:pos + 8])[0]
        if blen < 12 or pos + blen > len(data):
            return None
        out.append([btype, data[pos + 8:pos + blen - 4], big])
        pos += blen
    return out if pos == len(data) else None


def build_block(btype, body, big, length=None):
    fmt = ">I" if big else "<I"
    body = body + b"\x00" * (-len(body) % 4)
    n = 12 + len(body) if length is None else length
    return struct.pack(fmt, btype) + struct.pack(fmt, n) + body + struct.pack(fmt, 12 + len(body))


def options(body, start, big):
    """[(code, value)] parsed from body[start:], or None."""
    fmt = ">HH" if big else "<HH"
    out, pos = [], start
    while pos + 4 <= len(body):
        code, n = struct.unpack(fmt, body[pos:pos + 4])
        if code == 0:
            return out
        if pos + 4 + n > len(body):
            return None
        out.append((code, body[pos + 4:pos + 4 + n]))
        pos += 4 + n + (-n % 4)
    return out


def pack_options(opts, big):
    fmt = ">HH" if big else "<HH"
    out = b""
    for code, v in opts:
        out += struct.pack(fmt, code, len(v)) + v + b"\x00" * (-len(v) % 4)
    return out + struct.pack(fmt, 0, 0)


def mutate_pcapng(rng, blocks):
    """One structural change to the blocks, in place; returns its name."""
    idbs = [b for b in blocks if b[0] == 1]
    shbs = [b for b in blocks if b[0] == 0x0A0D0D0A]
    epbs = [b for b in blocks if b[0] == 6]
    kind = rng.choice(["name", "comment", "facts", "ts", "tsresol", "tsoffset", "linktype",
                       "ifid", "caplen", "blocklen"])
    fmt = ">" if blocks[0][2] else "<"
    if kind == "name" and idbs:
        b = rng.choice(idbs)
        opts = options(b[1], 8, b[2]) or []
        opts = [o for o in opts if o[0] != 2] + [(2, rng.choice(NAMES))]
        b[1] = b[1][:8] + pack_options(opts, b[2])
    elif kind in ("comment", "facts") and shbs:
        b = rng.choice(shbs)
        opts = options(b[1], 16, b[2]) or []
        text = (b"podtrace node=" + rng.choice(NAMES)) if kind == "comment" else \
            (b"podtrace facts=" + rng.choice(FACTS))
        prefix = b"podtrace node=" if kind == "comment" else b"podtrace facts="
        opts = [o for o in opts if not (o[0] == 1 and o[1].startswith(prefix))] + [(1, text)]
        b[1] = b[1][:16] + pack_options(opts, b[2])
    elif kind == "ts" and epbs:
        b = rng.choice(epbs)
        ts = rng.choice(EXTREME_TS)
        b[1] = b[1][:4] + struct.pack(fmt + "II", ts >> 32, ts & 0xFFFFFFFF) + b[1][12:]
    elif kind in ("tsresol", "tsoffset") and idbs:
        b = rng.choice(idbs)
        opts = options(b[1], 8, b[2]) or []
        if kind == "tsresol":
            opts = [o for o in opts if o[0] != 9] + [(9, bytes([rng.choice(TSRESOL)]))]
        else:
            opts = [o for o in opts if o[0] != 14] + [(14, struct.pack(fmt + "q", rng.choice(TSOFFSET)))]
        b[1] = b[1][:8] + pack_options(opts, b[2])
    elif kind == "linktype" and idbs:
        b = rng.choice(idbs)
        b[1] = struct.pack(fmt + "H", rng.choice(LINKTYPES) & 0xFFFF) + b[1][2:]
    elif kind == "ifid" and epbs:
        b = rng.choice(epbs)
        b[1] = struct.pack(fmt + "I", rng.choice([len(idbs), 7, 0xFFFFFFFF])) + b[1][4:]
    elif kind == "caplen" and epbs:
        b = rng.choice(epbs)
        b[1] = b[1][:12] + struct.pack(fmt + "II", rng.choice(LENGTHS), rng.choice(LENGTHS)) + b[1][20:]
    elif kind == "blocklen":
        b = rng.choice(blocks)
        b.append(rng.choice(LENGTHS))  # the block's leading length lies
    else:
        return "none"
    return kind


def serialize(blocks):
    return b"".join(build_block(b[0], b[1], b[2], b[3] if len(b) > 3 else None) for b in blocks)


def mutate_pcap(rng, data):
    if len(data) < 24:
        return data, "short"
    big = data[:4] in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d")
    fmt = ">" if big else "<"
    kind = rng.choice(["snaplen", "linktype", "ts", "usec", "incl", "orig"])
    data = bytearray(data)
    if kind == "snaplen":
        data[16:20] = struct.pack(fmt + "I", rng.choice(LENGTHS))
    elif kind == "linktype":
        data[20:24] = struct.pack(fmt + "I", rng.choice(LINKTYPES))
    elif len(data) >= 40:
        # the first records' headers
        pos = 24
        for _ in range(rng.randint(1, 3)):
            if pos + 16 > len(data):
                break
            if kind == "ts":
                data[pos:pos + 4] = struct.pack(fmt + "I", rng.choice([0, 0xFFFFFFFF, 0x80000000]))
            elif kind == "usec":
                data[pos + 4:pos + 8] = struct.pack(fmt + "I", rng.choice([999999, 1000000, 0xFFFFFFFF]))
            elif kind == "incl":
                data[pos + 8:pos + 12] = struct.pack(fmt + "I", rng.choice(LENGTHS))
            else:
                data[pos + 12:pos + 16] = struct.pack(fmt + "I", rng.choice([0, 1, 0xFFFFFFFF]))
            incl = struct.unpack(fmt + "I", data[pos + 8:pos + 12])[0]
            pos += 16 + min(incl, 1 << 20)
    return bytes(data), kind


def flips(rng, data):
    data = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        if data:
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    return bytes(data)


def main():
    out_dir, count, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    seeds = []
    for path in sys.argv[4:]:
        with open(path, "rb") as f:
            data = f.read()
        if 0 < len(data) <= 4 << 20:
            seeds.append((path, data))
    rng = random.Random(seed)
    os.makedirs(out_dir, exist_ok=True)
    for i in range(count):
        path, data = rng.choice(seeds)
        ext = ".pcapng" if data[:4] == b"\x0a\x0d\x0d\x0a" else ".pcap"
        blocks = pcapng_blocks(data)
        how = []
        for _ in range(rng.randint(1, 3)):
            if blocks is not None and rng.random() < 0.8:
                how.append(mutate_pcapng(rng, blocks))
            elif blocks is None and rng.random() < 0.6:
                data, h = mutate_pcap(rng, data)
                how.append(h)
        if blocks is not None:
            data = serialize(blocks)
        if rng.random() < 0.3:
            data = flips(rng, data)
            how.append("flips")
        if rng.random() < 0.15:
            data = data[:rng.randrange(len(data) + 1)]
            how.append("cut")
        name = f"{i:04d}-{'-'.join(how) or 'copy'}".encode()
        if rng.random() < 0.05:  # the file's own name is hostile too
            name += b"-" + rng.choice(NAMES[:8]).replace(b"/", b"_").replace(b"\x00", b"0")
        with open(os.path.join(os.fsencode(out_dir), name + ext.encode()), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
