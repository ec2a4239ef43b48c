#!/usr/bin/env python3
"""Resource bounds on hostile input: what podtrace refuses, and what it reads within a bound.

Usage: bounds.py PODTRACE [WORKDIR]
Each case writes its input, runs podtrace, and checks the exit code, a word of the message,
the peak resident memory (wait4's ru_maxrss) and the time. Time is checked for linearity: a
case with a size parameter runs at n and 4n, and 4n may take at most 8x as long (plus 0.5 s).
Exits 1 naming every case out of bounds.
"""
import os
import resource
import struct
import subprocess
import sys
import tempfile
import time

MIB = 1 << 20
# The report's bound for streaming input (README, "Resource bounds").
STREAM_RSS = 64 * MIB


def pcap_header(linktype=101, snaplen=262144):
    return struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, linktype)


def pcap_record(data, ts=1_700_000_000, caplen=None, wirelen=None):
    caplen = len(data) if caplen is None else caplen
    wirelen = len(data) if wirelen is None else wirelen
    return struct.pack("<IIII", ts, 0, caplen, wirelen) + data


def ipv4(src, dst, proto, payload, ident=0):
    total = 20 + len(payload)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, ident, 0, 64, proto, 0,
                      bytes(src), bytes(dst))
    return hdr + payload


def udp(sport, dport, payload=b"x" * 8):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def block(btype, body):
    body += b"\0" * (-len(body) % 4)
    n = len(body) + 12
    return struct.pack("<II", btype, n) + body + struct.pack("<I", n)


def shb():
    return block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))


def idb(linktype=101, name=None):
    opts = b""
    if name is not None:
        n = name.encode()
        opts = struct.pack("<HH", 2, len(n)) + n + b"\0" * (-len(n) % 4) + b"\0\0\0\0"
    return block(1, struct.pack("<HHI", linktype, 0, 262144) + opts)


def epb(ifid, data, ts_us=1_700_000_000_000_000):
    return block(6, struct.pack("<IIIII", ifid, ts_us >> 32, ts_us & 0xFFFFFFFF, len(data),
                                len(data)) + data)


class Runner:
    def __init__(self, podtrace, work):
        self.podtrace, self.work, self.failures, self.rows = podtrace, work, [], []

    def path(self, name):
        return os.path.join(self.work, name)

    def write(self, name, data):
        with open(self.path(name), "wb") as f:
            f.write(data)
        return self.path(name)

    def run(self, args, nofile=None):
        # GNU time measures the peak: a child's own ru_maxrss counts the parent it was forked
        # from (this script, holding the inputs it made), time's is a few MiB.
        t0 = time.monotonic()
        with open(self.path("out"), "wb") as out, open(self.path("err"), "wb") as err:
            limit = (lambda: resource.setrlimit(resource.RLIMIT_NOFILE, nofile)) if nofile else None
            rc = subprocess.call(["/usr/bin/time", "-f", "%M", "-o", self.path("rss"),
                                  self.podtrace] + args, stdout=out, stderr=err, cwd=self.work,
                                 preexec_fn=limit)
        elapsed = time.monotonic() - t0
        with open(self.path("err"), "rb") as f:
            err = f.read().decode(errors="replace")
        with open(self.path("rss")) as f:
            lines = f.read().split()  # "Command exited with non-zero status N" first, then KiB
        return rc, err, int(lines[-1]) * 1024, elapsed

    def check(self, name, args, codes, word=None, rss=STREAM_RSS, nofile=None):
        rc, err, peak, secs = self.run(args, nofile)
        self.rows.append((name, rc, peak / MIB, secs))
        bad = []
        if rc not in codes:
            bad.append(f"exit {rc}, expected {sorted(codes)}")
        if word and word not in err:
            bad.append(f"stderr lacks {word!r}: {err.strip()[:300]!r}")
        if peak > rss:
            bad.append(f"peak RSS {peak / MIB:.1f} MiB > {rss / MIB:.0f} MiB")
        if rc < 0 or "Sanitizer" in err:
            bad.append(f"crashed: {err.strip()[-300:]!r}")
        if bad:
            self.failures.append(f"{name}: " + "; ".join(bad))
        return secs

    def linear(self, name, make, n, args_of, codes, rss_of):
        """make(n) writes the input and returns its path; 4n may take at most 8x n's time."""
        small = self.check(f"{name} n={n}", args_of(make(n)), codes, rss=rss_of(n))
        large = self.check(f"{name} n={4 * n}", args_of(make(4 * n)), codes, rss=rss_of(4 * n))
        if large > 8 * small + 0.5:
            self.failures.append(f"{name}: {large:.2f} s at 4n against {small:.2f} s at n: "
                                 "not linear")


def main():
    podtrace = os.path.abspath(sys.argv[1])
    work = sys.argv[2] if len(sys.argv) > 2 else tempfile.mkdtemp(prefix="podtrace-bounds-")
    os.makedirs(work, exist_ok=True)
    r = Runner(podtrace, work)
    frame = ipv4([10, 0, 0, 1], [10, 0, 0, 2], 17, udp(1000, 2000))

    # Lengths a header claims: refused past 256 MiB, read no further than the file below it.
    for claim in (200 * MIB, 1 << 31, (1 << 32) - 1):
        f = r.write(f"caplen-{claim}.pcap",
                    pcap_header() + pcap_record(frame) + pcap_record(frame, caplen=claim))
        word = "exceeds 256 MiB" if claim > 256 * MIB else "truncated record"
        for cmd in (["report"], ["decode"]):
            r.check(f"{cmd[0]} pcap caplen {claim}", cmd + [f], {2}, word)
    for claim in (200 * MIB, 1 << 31, 0xFFFFFFFC):
        blk = struct.pack("<II", 6, claim) + b"\0" * 32
        f = r.write(f"blocklen-{claim}.pcapng", shb() + idb() + epb(0, frame) + blk)
        word = "exceeds 256 MiB" if claim > 256 * MIB + 64 else "truncated block"
        r.check(f"report pcapng block length {claim}", ["report", f], {2}, word)

    # Interfaces declared: each costs what it names, and the frames still find theirs.
    def many_interfaces(n):
        data = shb() + b"".join(idb(name=f"cali{i:011x}") for i in range(n))
        data += b"".join(epb(i * 7919 % n, frame) for i in range(100))
        return r.write(f"interfaces-{n}.pcapng", data)
    r.linear("report, interfaces declared", many_interfaces, 250_000, lambda f: ["report", f],
             {0}, lambda n: STREAM_RSS + n * 700)

    # A tunnel nested 100 deep: the decoder stops at its layer limit and says so.
    inner = frame
    for i in range(100):
        inner = ipv4([172, 16, i, 1], [172, 16, i, 2], 4, inner)
    f = r.write("nested.pcap", pcap_header() + pcap_record(inner))
    r.check("decode, IPIP 100 deep", ["decode", "-v", f], {0})
    r.check("report, IPIP 100 deep", ["report", "-f", "json", f], {0})

    # Distinct flows: the report keeps every flow (it lists them), so memory is per flow.
    def many_flows(n):
        recs = b"".join(
            pcap_record(ipv4([10, 1, i >> 16 & 255, i >> 8 & 255], [10, 2, 0, i & 255], 17,
                             udp(1024 + i % 60000, 53)), ts=1_700_000_000 + i // 100_000)
            for i in range(n))
        return r.write(f"flows-{n}.pcap", pcap_header() + recs)
    r.linear("report, distinct flows", many_flows, 250_000,
             lambda f: ["report", "-o", "report.json", "-f", "json", f], {0},
             lambda n: STREAM_RSS + n * 1500)

    # Many files.
    def many_files(n):
        names = []
        for i in range(n):
            names.append(r.write(f"part-{i:05d}.pcap", pcap_header() + pcap_record(
                ipv4([10, 3, 0, 1], [10, 3, 0, 2], 17, udp(4000 + i % 1000, 53)),
                ts=1_700_000_000 + i)))
        return names
    # Two nodes' rotated captures (tcpdump -G): the clock pass reads them all at once.
    r.linear("report, capture files", many_files, 1250,
             lambda names: ["report"] + [f"k8s-w{i % 2 + 1}={p}" for i, p in enumerate(names)],
             {0}, lambda n: STREAM_RSS + n * 16_384)

    # The descriptor limit is no bound either: past it, the least recently read files give
    # theirs up and open again where they stopped; the report is the same.
    names = [f"k8s-w{i % 2 + 1}={p}" for i, p in enumerate(many_files(300))]
    r.check("report, 300 files", ["report", "-f", "json"] + names, {0})
    with open(r.path("out"), "rb") as f:
        unlimited = f.read()
    for lim in ((64, 1024), (64, 64), (32, 32)):
        name = f"report, 300 files, descriptor limit {lim[0]}/{lim[1]}"
        r.check(name, ["report", "-f", "json"] + names, {0}, nofile=lim)
        with open(r.path("out"), "rb") as f:
            if f.read() != unlimited:
                r.failures.append(f"{name}: the report differs from the one without a limit")

    width = max(len(x[0]) for x in r.rows)
    for name, rc, mib, secs in r.rows:
        print(f"{name:<{width}}  exit {rc}  {mib:7.1f} MiB  {secs:6.2f} s")
    for f in r.failures:
        print("FAIL " + f, file=sys.stderr)
    return 1 if r.failures else 0


if __name__ == "__main__":
    sys.exit(main())
