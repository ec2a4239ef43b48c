#!/usr/bin/env python3
"""Every message a user can get for bad input, case by case (README "Errors": an error is
`podtrace: COMMAND: MESSAGE`, exit 2, naming its culprit: the file and byte offset, the frame,
the flag, the JSON path).

Usage: messages.py PODTRACE [WORKDIR]
Each row makes its input (the bytes written here with struct), runs one command line or
several, and checks the exit code and that one line of standard error matches the line the
row expects: written from what the message should say (the path, offset, frame or JSON path
it must name), not recorded from what podtrace prints today. Parts that vary (a strerror, the
parser's wording) are regular expressions. Rows where the frames before a fault are still
reported check that too, in each command's own output. Prints a table of the rows (with
MESSAGES_VERBOSE=1 in the environment, the first lines each run wrote to stderr); exits 1
listing every run whose exit code or message differs. Runs as root or not: as root, the
Permission denied rows run podtrace as nobody. Without WORKDIR, a temporary directory is used
and removed when every run passed.
"""
import concurrent.futures
import json
import os
import re
import resource
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time

TIMEOUT = 30
E = re.escape  # a literal part of an expected line


# --- captures -------------------------------------------------------------------------------

def pcap_header(linktype=101, snaplen=262144, magic=0xA1B2C3D4, bo="<"):
    return struct.pack(bo + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)


def pcap_record(data, ts=1_700_000_000, caplen=None, wirelen=None, bo="<"):
    caplen = len(data) if caplen is None else caplen
    wirelen = len(data) if wirelen is None else wirelen
    return struct.pack(bo + "IIII", ts, 0, caplen, wirelen) + data


def ipv4(src, dst, proto, payload, ident=0):
    total = 20 + len(payload)
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, ident, 0, 64, proto, 0, bytes(src),
                       bytes(dst)) + payload


def udp(sport, dport, payload=b"x" * 8):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


FRAME = ipv4([10, 0, 0, 1], [10, 0, 0, 2], 17, udp(1000, 2000))  # 36 bytes


def option(code, value, bo="<"):
    return struct.pack(bo + "HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def end_of_options(bo="<"):
    return struct.pack(bo + "HH", 0, 0)


def block(btype, body, bo="<", length=None, trailer=None):
    body += b"\0" * (-len(body) % 4)
    n = len(body) + 12
    return (struct.pack(bo + "II", btype, n if length is None else length) + body +
            struct.pack(bo + "I", n if trailer is None else trailer))


def shb(bo="<", major=1, minor=0, bom=0x1A2B3C4D, options=b""):
    return block(0x0A0D0D0A, struct.pack(bo + "IHHq", bom, major, minor, -1) + options, bo)


def idb(linktype=101, bo="<", options=b""):
    return block(1, struct.pack(bo + "HHI", linktype, 0, 262144) + options, bo)


def epb(ifid, data, ts_us=1_700_000_000_000_000, bo="<", caplen=None, options=b"", **kw):
    caplen = len(data) if caplen is None else caplen
    body = struct.pack(bo + "IIIII", ifid, ts_us >> 32 & 0xFFFFFFFF, ts_us & 0xFFFFFFFF, caplen,
                       len(data)) + data + b"\0" * (-len(data) % 4) + options
    return block(6, body, bo, **kw)


def pb(ifid, data, ts_us=1_700_000_000_000_000, caplen=None, options=b""):
    caplen = len(data) if caplen is None else caplen
    body = struct.pack("<HHIIII", ifid, 0, ts_us >> 32, ts_us & 0xFFFFFFFF, caplen,
                       len(data)) + data + b"\0" * (-len(data) % 4) + options
    return block(2, body)


def spb(data):
    return block(3, struct.pack("<I", len(data)) + data)


# --- kubectl JSON -----------------------------------------------------------------------------

def pod(name="pod1", ip="10.0.0.1", node="k8s-w1", **extra):
    item = {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"nodeName": node},
            "status": {"podIP": ip, "podIPs": [{"ip": ip}]}}
    for path, value in extra.items():  # "spec__hostNetwork": value
        put(item, path, value)
    return item


def service(name="web", ip="10.96.0.10", **extra):
    item = {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"clusterIP": ip, "clusterIPs": [ip],
                     "ports": [{"name": "http", "port": 80, "protocol": "TCP",
                                "targetPort": 8080}]}}
    for path, value in extra.items():
        put(item, path, value)
    return item


def node(name="k8s-w1", **extra):
    item = {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "annotations": {
                "projectcalico.org/IPv4Address": "192.168.10.101/24",
                "projectcalico.org/IPv4IPIPTunnelAddr": "172.16.158.0"}},
            "spec": {"podCIDR": "172.16.158.0/24", "podCIDRs": ["172.16.158.0/24"]},
            "status": {"addresses": [{"type": "InternalIP", "address": "192.168.10.101"},
                                     {"type": "Hostname", "address": "k8s-w1"}]}}
    for path, value in extra.items():
        put(item, path, value)
    return item


def put(obj, path, value):
    """put(item, "spec__ports__0__port", 70000); a value of DELETE removes the key."""
    keys = [int(k) if k.isdigit() else k.replace("_SLASH_", "/").replace("_DOT_", ".")
            for k in path.split("__")]
    for k in keys[:-1]:
        obj = obj[k]
    if value is DELETE:
        del obj[keys[-1]]
    else:
        obj[keys[-1]] = value


DELETE = object()


def kube_list(kind, *items):
    return json.dumps({"apiVersion": "v1", "kind": "List", "items": list(items)}, indent=2)


# --- running ---------------------------------------------------------------------------------

class Run:
    """One command line: its exit code, the stderr line it must print, optional checks of what
    it wrote (`check(stdout) -> None or why not`)."""

    def __init__(self, label, args, rc, want, check=None, stdin=None, stdout=None, nobody=False):
        self.label, self.args, self.rc, self.check = label, args, rc, check
        self.want = [want] if isinstance(want, str) else list(want or [])
        # stdin: None (/dev/null), a descriptor, a file or a callable giving one; stdout: None
        # (a pipe), a path to open, or "closed"; nobody: run as nobody when root (for EACCES).
        self.stdin, self.stdout, self.nobody = stdin, stdout, nobody


class Row:
    def __init__(self, group, name, how, runs, partial=None):
        self.group, self.name, self.how, self.runs, self.partial = group, name, how, runs, partial


class Tester:
    def __init__(self, podtrace, work):
        self.podtrace, self.work = podtrace, work
        self.rows, self.results, self.failures = [], [], []
        self.root = os.geteuid() == 0

    def path(self, name):
        return os.path.join(self.work, name)

    def write(self, name, data):
        if isinstance(data, str):
            data = data.encode()
        if os.path.exists(self.path(name)):  # a previous run's mode-000 file
            os.chmod(self.path(name), 0o644)
        with open(self.path(name), "wb") as f:
            f.write(data)
        return name  # relative to the work directory, where podtrace runs: messages name it so

    def add(self, group, name, how, runs, partial=None):
        self.rows.append(Row(group, name, how, runs, partial))

    def execute(self, run):
        """Returns (exit code, stdout bytes, stderr text) or a string saying why it could not.
        Runs from several threads at once: no preexec_fn (not safe with threads)."""
        argv = [self.podtrace] + run.args
        if run.stdout == "closed":
            argv = ["/bin/sh", "-c", 'exec "$@" >&-', "sh"] + argv
        kw = {}
        if run.nobody and self.root:  # no root needed: as root, drop to nobody for EACCES
            kw = dict(user=65534, group=65534, extra_groups=[])
        stdin = subprocess.DEVNULL
        opened = []
        if run.stdin is not None:
            stdin = run.stdin() if callable(run.stdin) else run.stdin
            if not isinstance(stdin, int):
                opened.append(stdin)
        stdout = subprocess.PIPE
        if run.stdout not in (None, "closed"):
            stdout = open(run.stdout, "wb")
            opened.append(stdout)
        env = dict(os.environ, TZ="UTC", LC_ALL="C.UTF-8")
        env.pop("NO_COLOR", None)
        try:
            p = subprocess.run(argv, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE,
                               cwd=self.work, env=env, timeout=TIMEOUT, **kw)
        except subprocess.TimeoutExpired:
            return f"did not end within {TIMEOUT} s"
        except PermissionError as e:
            return f"could not run: {e}"
        finally:
            for f in opened:
                if hasattr(f, "close"):
                    f.close()
            if isinstance(stdin, int) and stdin >= 0:
                os.close(stdin)
        return p.returncode, p.stdout or b"", p.stderr.decode("utf-8", "replace")

    def verdict(self, run, got):
        if isinstance(got, str):
            return [got]
        rc, out, err = got
        bad = []
        if rc != run.rc:
            bad.append(f"exit {rc}, expected {run.rc}")
        lines = err.splitlines()
        for want in run.want:
            if not any(re.fullmatch(want, line) for line in lines):
                bad.append(f"no stderr line matches {want!r}; stderr: {err.strip()[:600]!r}")
        if run.check:
            why = run.check(out)
            if why:
                bad.append(why)
        if "Sanitizer" in err or "runtime error:" in err or rc < 0:
            bad.append(f"crashed: {err.strip()[-300:]!r}")
        return bad


# --- checks of what was reported before a fault -----------------------------------------------

def report_text_frames(frames, path, msg):
    def check(out):
        text = out.decode("utf-8", "replace")
        first = text.split("\n", 1)[0]
        if not re.search(rf", {frames} frames?,", first):
            return f"report does not cover the {frames} frames before the fault: {first!r}"
        if not re.search(r"\[read error: " + E(path) + ": " + msg + r"\]", text):
            return "the report's capture line lacks [read error: PATH: MESSAGE]"
        return None
    return check


def report_json_frames(frames, path, msg):
    def check(out):
        try:
            cap = json.loads(out)["captures"][0]
        except (ValueError, KeyError, IndexError) as e:
            return f"no JSON report of the frames before the fault: {e}"
        if cap.get("frames") != frames:
            return f"captures[0].frames is {cap.get('frames')}, expected {frames}"
        if not re.fullmatch(E(path) + ": " + msg, cap.get("error") or ""):
            return f"captures[0].error is {cap.get('error')!r}"
        return None
    return check


def decode_frames(frames, as_json):
    def check(out):
        lines = out.decode("utf-8", "replace").splitlines()
        if len(lines) != frames:
            return f"decode printed {len(lines)} frames before the fault, expected {frames}"
        if as_json:
            try:
                got = [json.loads(line)["frame"] for line in lines]
            except (ValueError, KeyError) as e:
                return f"decode -j: {e}"
            if got != list(range(1, frames + 1)):
                return f"decode -j numbers the frames {got}"
        return None
    return check


def tui_frames(frames, path, msg):
    def check(out):
        text = out.decode("utf-8", "replace")
        if frames and not re.search(rf"\sfile\s+{frames}\s", text):
            return f"the Interfaces screen does not show the {frames} frames before the fault"
        if not re.search(r"read error: " + E(path) + ": " + msg, text):
            return "the Interfaces screen's notes lack read error: PATH: MESSAGE"
        return None
    return check


TUI = ["tui", "--snapshot", "300x40", "--keys", "i", "-r"]  # the Interfaces screen, no wrapping


def capture_runs(path, msg, frames=None, rc=2, stdin=None, decode_rc=None):
    """report (text, JSON), decode (text, JSON lines) and tui --snapshot on one capture: each
    exits `rc` and names PATH: MSG (a regex) on stderr; `frames` frames before the fault are
    reported by each, when given."""
    p = E(path)
    dr = rc if decode_rc is None else decode_rc
    f = frames is not None
    return [
        Run("report", ["report", path], rc, rf"podtrace: report: {p}: {msg}",
            report_text_frames(frames, path, msg) if f else None, stdin=stdin),
        Run("report -f json", ["report", "-f", "json", path], rc,
            rf"podtrace: report: {p}: {msg}",
            report_json_frames(frames, path, msg) if f else None, stdin=stdin),
        Run("decode", ["decode", path], dr, rf"podtrace: (decode: )?{p}: {msg}",
            decode_frames(frames, False) if f else None, stdin=stdin),
        Run("decode -j", ["decode", "-j", path], dr, rf"podtrace: (decode: )?{p}: {msg}",
            decode_frames(frames, True) if f else None, stdin=stdin),
        Run("tui --snapshot", TUI + [path], rc, rf"podtrace: tui: {p}: {msg}",
            tui_frames(frames, path, msg) if f else None, stdin=stdin),
    ]


def capture_cases(t):
    g = "capture"
    two = pcap_header() + pcap_record(FRAME) * 2  # 24 + 2 * 52 bytes
    at = len(two)                                   # offset 128, frame 3
    # pcapng: most faults follow a section with one interface and two frames (offset 184,
    # frame 3), so that what came before is reported.
    head = shb() + idb() + epb(0, FRAME) * 2
    o = len(head)
    assert o == 184
    H = "SHB, IDB, 2 EPBs, then "

    def row(name, how, fname, data, msg, frames=None, **kw):
        path = t.write(fname, data) if data is not None else fname
        t.add(g, name, how, capture_runs(path, msg, frames, **kw),
              partial=f"{frames} frames before the fault reported" if frames is not None else None)

    # Opening.
    row("missing file", "a name that is not there", "no-such.pcap", None,
        E("cannot open: ") + "No such file or directory")
    os.makedirs(t.path("a-dir.pcap"), exist_ok=True)
    row("a directory", "mkdir", "a-dir.pcap", None, E("is a directory"))
    locked = t.write("locked.pcap", two)
    os.chmod(t.path(locked), 0)
    t.add(g, "unreadable file", "pcap, mode 000 (run as nobody when root)",
          [Run(r.label, r.args, r.rc, r.want, nobody=True)
           for r in capture_runs(locked, E("cannot open: ") + "Permission denied")])
    row("empty file", "0 bytes", "empty.pcap", b"", E("empty file (0 bytes)"))
    row("short file", "3 bytes of a pcap magic", "short.pcap", b"\xd4\xc3\xb2",
        E("not a pcap or pcapng file (3 bytes)"))
    row("bad magic", "a line of text", "text.pcap", b"hello, world\n",
        E("not a pcap or pcapng file (magic 0x68656c6c)"))
    row("truncated pcap header", "the first 10 bytes of a pcap header", "hdr.pcap",
        pcap_header()[:10], E("truncated pcap file header (10 of 24 bytes)"))
    row("truncated pcap header, big-endian", "20 bytes of a big-endian pcap header",
        "hdr-be.pcap", pcap_header(bo=">")[:20], E("truncated pcap file header (20 of 24 bytes)"))

    # pcap records.
    row("truncated record header", "pcap, 2 records, then 7 bytes", "rechdr.pcap",
        two + b"\0" * 7, E(f"truncated record header at offset {at} (frame 3): 7 of 16 bytes"),
        frames=2)
    row("record caplen over the limit", "pcap, 2 records, then one of caplen 300,000,000",
        "caplen.pcap", two + pcap_record(FRAME, caplen=300_000_000),
        E(f"record at offset {at} (frame 3): captured length 300000000 exceeds 256 MiB"),
        frames=2)
    row("truncated record", "pcap, 2 records, then one 5 bytes short", "rec.pcap",
        two + pcap_record(FRAME)[:-5],
        E(f"truncated record at offset {at} (frame 3): header says 36 bytes, 31 remain"),
        frames=2)
    row("truncated record, big-endian ns pcap", "big-endian ns pcap, 1 record, then 30 bytes",
        "rec-be.pcap", pcap_header(bo=">", magic=0xA1B23C4D) + pcap_record(FRAME, bo=">") +
        pcap_record(FRAME, bo=">")[:30],
        E("truncated record at offset 76 (frame 2): header says 36 bytes, 14 remain"), frames=1)

    # pcapng blocks.
    row("pcapng: truncated block header", H + "5 bytes", "blkhdr.pcapng",
        head + b"\x06\0\0\0\x44", E(f"truncated block header at offset {o} (frame 3): "
                                     "5 bytes remain"), frames=2)
    row("pcapng: truncated section header", H + "8 bytes of an SHB", "shbhdr.pcapng",
        head + struct.pack("<II", 0x0A0D0D0A, 28),
        E(f"truncated section header at offset {o}"), frames=2)
    row("pcapng: truncated section header at the start", "10 bytes of an SHB",
        "shbhdr0.pcapng", shb()[:10], E("truncated section header at offset 0"))
    row("pcapng: bad byte-order magic", H + "an SHB with byte-order magic 0x11223344",
        "bom.pcapng", head + shb(bom=0x11223344),
        E(f"bad byte-order magic 0x44332211 in section header at offset {o}"), frames=2)
    row("pcapng: bad byte-order magic at the start", "an SHB with byte-order magic 0xdeadbeef",
        "bom0.pcapng", shb(bom=0xDEADBEEF),
        E("bad byte-order magic 0xefbeadde in section header at offset 0"))
    row("pcapng: block length below 12", H + "a block of length 8", "len8.pcapng",
        head + struct.pack("<III", 6, 8, 8),
        E(f"bad block length 8 at offset {o} (block type 0x00000006): below 12"), frames=2)
    row("pcapng: block length not a multiple of 4", H + "a block of length 30", "len30.pcapng",
        head + struct.pack("<II", 6, 30) + b"\0" * 22,
        E(f"bad block length 30 at offset {o} (block type 0x00000006): not a multiple of 4"),
        frames=2)
    row("pcapng: block over the limit", H + "a block of length 512 MiB", "len512m.pcapng",
        head + struct.pack("<II", 6, 512 << 20) + b"\0" * 32,
        E(f"block at offset {o} (frame 3): length 536870912 exceeds 256 MiB"), frames=2)
    row("pcapng: truncated block", H + "an EPB 10 bytes short", "blk.pcapng",
        head + epb(0, FRAME)[:-10],
        E(f"truncated block at offset {o} (frame 3): header says 68 bytes, 58 remain"),
        frames=2)
    row("pcapng: trailing length differs", H + "an EPB whose trailing length is 64",
        "trailer.pcapng", head + epb(0, FRAME, trailer=64),
        E(f"bad block length 68 at offset {o} (block type 0x00000006): trailing length is 64"),
        frames=2)
    row("pcapng: short section header", H + "an SHB of 8 body bytes", "shbshort.pcapng",
        head + block(0x0A0D0D0A, struct.pack("<IHH", 0x1A2B3C4D, 1, 0)),
        E(f"section header at offset {o} too short"), frames=2)
    row("pcapng: unsupported version", H + "an SHB of version 2.1", "version.pcapng",
        head + shb(major=2, minor=1), E(f"unsupported pcapng version 2.1 at offset {o}"),
        frames=2)
    row("pcapng: unsupported version at the start", "an SHB of version 3.0, an IDB",
        "version0.pcapng", shb(major=3) + idb(), E("unsupported pcapng version 3.0 at offset 0"))
    row("pcapng: EPB too short", H + "an EPB of 16 body bytes", "epbshort.pcapng",
        head + block(6, b"\0" * 16), E(f"EPB at offset {o} (frame 3) too short (28 bytes)"),
        frames=2)
    row("pcapng: PB too short", H + "a PB of 8 body bytes", "pbshort.pcapng",
        head + block(2, b"\0" * 8), E(f"PB at offset {o} (frame 3) too short (20 bytes)"),
        frames=2)
    row("pcapng: EPB captured length over its data", H + "an EPB of caplen 100, 36 data bytes",
        "epbcap.pcapng", head + epb(0, FRAME, caplen=100),
        E(f"EPB at offset {o} (frame 3): captured length 100 exceeds the block's 36 data bytes"),
        frames=2)
    row("pcapng: EPB captured length 4 GiB", H + "an EPB of caplen 2^32-1", "epbcap4g.pcapng",
        head + epb(0, FRAME, caplen=0xFFFFFFFF),
        E(f"EPB at offset {o} (frame 3): captured length 4294967295 exceeds the block's "
          "36 data bytes"), frames=2)
    row("pcapng: PB captured length over its data", H + "a PB of caplen 40, 36 data bytes",
        "pbcap.pcapng", head + pb(0, FRAME, caplen=40),
        E(f"PB at offset {o} (frame 3): captured length 40 exceeds the block's 36 data bytes"),
        frames=2)
    row("pcapng: EPB option overruns the block", H + "an EPB with a comment of 200 bytes in 4",
        "epbopt.pcapng", head + epb(0, FRAME, options=struct.pack("<HH", 1, 200) + b"abcd"),
        E(f"EPB at offset {o} (frame 3): an option overruns the block"), frames=2)
    row("pcapng: PB option overruns the block", H + "a PB with flags of 64 bytes in 4",
        "pbopt.pcapng", head + pb(0, FRAME, options=struct.pack("<HH", 2, 64) + b"abcd"),
        E(f"PB at offset {o} (frame 3): an option overruns the block"), frames=2)
    row("pcapng: SPB too short", H + "an SPB of no body", "spbshort.pcapng",
        head + block(3, b""), E(f"SPB at offset {o} (frame 3) too short"), frames=2)
    row("pcapng: SPB in a section without interfaces", H + "an SHB, an SPB", "spbnoif.pcapng",
        head + shb() + spb(FRAME),
        E(f"SPB at offset {o + 28} (frame 3): its section declares no interface"), frames=2)
    row("pcapng: IDB too short", H + "an IDB of 4 body bytes", "idbshort.pcapng",
        head + block(1, b"\x65\0\0\0"), E(f"IDB at offset {o} too short"), frames=2)
    row("pcapng: IDB option overruns the block", H + "an IDB with if_name of 100 bytes in 4",
        "idbopt.pcapng", head + idb(options=struct.pack("<HH", 2, 100) + b"eth0"),
        E(f"IDB at offset {o}: an option overruns the block"), frames=2)
    row("pcapng: if_tsresol 10^-20", H + "an IDB with if_tsresol 20", "tsresol.pcapng",
        head + idb(options=option(9, b"\x14") + end_of_options()),
        E(f"IDB at offset {o}: unsupported if_tsresol 20"), frames=2)
    row("pcapng: if_tsresol 2^-64", H + "an IDB with if_tsresol 0xc0", "tsresol2.pcapng",
        head + idb(options=option(9, b"\xc0") + end_of_options()),
        E(f"IDB at offset {o}: unsupported if_tsresol 192"), frames=2)
    row("pcapng: EPB of an undeclared interface", H + "an EPB of interface 3", "ifid.pcapng",
        head + epb(3, FRAME),
        E(f"EPB at offset {o} (frame 3) references interface 3, but its section declares "
          "1 interface"), frames=2)
    row("pcapng: PB of an undeclared interface", H + "an IDB, a PB of interface 7",
        "pbifid.pcapng", head + idb() + pb(7, FRAME),
        E(f"PB at offset {o + 20} (frame 3) references interface 7, but its section declares "
          "2 interfaces"), frames=2)
    row("pcapng: EPB before any interface", "SHB, EPB", "noif.pcapng", shb() + epb(0, FRAME),
        E("EPB at offset 28 (frame 1) references interface 0, but its section declares "
          "0 interfaces"), frames=0)
    row("pcapng: a new section forgets the interfaces", H + "an SHB, an EPB of interface 0",
        "section2.pcapng", head + shb() + epb(0, FRAME),
        E(f"EPB at offset {o + 28} (frame 3) references interface 0, but its section declares "
          "0 interfaces"), frames=2)
    be = shb(bo=">") + idb(bo=">") + epb(0, FRAME, bo=">")
    row("pcapng big-endian: EPB captured length over its data",
        "big-endian SHB, IDB, EPB, then an EPB of caplen 37", "be.pcapng",
        be + epb(0, FRAME, bo=">", caplen=37),
        E("EPB at offset 116 (frame 2): captured length 37 exceeds the block's 36 data bytes"),
        frames=1)

    # Standard input.
    stdin_ok = t.write("stdin-ok.pcap", two)
    os.makedirs(t.path("stdin-dir"), exist_ok=True)
    t.add(g, "standard input is a directory", "-, stdin opened on a directory",
          capture_runs("-", E("is a directory"),
                       stdin=lambda: os.open(t.path("stdin-dir"), os.O_RDONLY)))
    t.add(g, "standard input not readable", "-, stdin opened write-only",
          capture_runs("-", E("read error at offset 0: ") + "Bad file descriptor",
                       stdin=lambda: os.open(t.path(stdin_ok), os.O_WRONLY | os.O_APPEND)))
    cut = t.write("stdin-cut.pcap", two + pcap_record(FRAME)[:36])
    t.add(g, "standard input, truncated record", "-, stdin: pcap, 2 records, then 36 bytes",
          capture_runs("-", E(f"truncated record at offset {at} (frame 3): header says 36 "
                              "bytes, 20 remain"), frames=2,
                       stdin=lambda: open(t.path(cut), "rb")),
          partial="2 frames before the fault reported")

    # tui --follow: a regular file is read to its end; a FIFO is a live stream. A stream that
    # breaks is shown as read, then named on stderr when the TUI ends (README, tui).
    follow = ["tui", "--follow", "--snapshot", "300x40", "--keys", "i", "-r"]
    blk = "blk.pcapng"  # written above: 2 EPBs, then one 10 bytes short
    msg = E(f"truncated block at offset {o} (frame 3): header says 68 bytes, 58 remain")

    def stream_check(label, path, msg=msg):
        def check(out):
            text = out.decode("utf-8", "replace")
            if not re.search(r"stream " + E(label) + ".*: failed, 2 frames, 184 bytes: " + E(path) +
                             ": " + msg, text):
                return "the Interfaces screen lacks 'stream NAME: failed, 2 frames, ...: " \
                       "PATH: MESSAGE'"
            return None
        return check
    fifo = t.path("stream.fifo")
    if not os.path.exists(fifo):
        os.mkfifo(fifo)

    def feed():  # the writer end of the FIFO, from a thread: opening blocks until podtrace reads
        def write():
            with open(fifo, "wb") as f:
                f.write(head + epb(0, FRAME)[:-10])
        threading.Thread(target=write, daemon=True).start()
        return subprocess.DEVNULL
    t.add(g, "tui --follow: a file cut in a block", H + "an EPB 10 bytes short",
          [Run("tui --follow -r FILE", follow + [blk], 2, E(f"podtrace: tui: {blk}: ") + msg,
               stream_check("blk", blk))], partial="2 frames before the fault reported")
    t.add(g, "tui --follow: a FIFO cut in a block", H + "an EPB 10 bytes short, through a FIFO",
          [Run("tui --follow -r k8s-w1=FIFO", follow + ["k8s-w1=stream.fifo"], 2,
               E("podtrace: tui: stream.fifo: ") + msg, stream_check("k8s-w1", "stream.fifo"),
               stdin=feed)], partial="2 frames before the fault reported")

    # A link type podtrace does not decode: bad input in every command (exit 2, the file and
    # interface named); report and tui still count its frames as unsupported-linktype.
    for fname, how, data in (
            ("linktype.pcapng", "SHB, IDB of linktype 147, EPB",
             shb() + idb(linktype=147) + epb(0, FRAME)),
            ("linktype.pcap", "pcap of linktype 147, 1 record",
             pcap_header(linktype=147) + pcap_record(FRAME))):
        path = t.write(fname, data)
        msg = E("interface 0 has link type 147, which podtrace does not decode")
        runs = capture_runs(path, msg)
        for r in runs:
            if r.label.startswith("report"):
                r.check = (lambda out: None if b"unsupported-linktype" in out else
                           "the output does not count the frame as unsupported-linktype")
        t.add(g, f"link type 147 ({fname.split('.')[1]})", how, runs)


def reopen_cases(t):
    """A file given up under the descriptor limit (README: files past the budget close and open
    again where they stopped) that was replaced or removed meanwhile: named with the offset."""
    g = "capture"
    for how in ("replaced", "removed"):
        names = [t.write(f"park-{how}-{i}.pcap",
                         pcap_header() + pcap_record(FRAME, ts=1_700_000_000 + i))
                 for i in range(8)]
        victim = names[0]
        args = ["report"] + names + ["-"]
        want = (rf"podtrace: report: {E(victim)}: cannot open again at offset 76: " +
                (E("the file was replaced while being read") if how == "replaced"
                 else "No such file or directory"))
        msg = want.split(E(victim) + ": ", 1)[1]
        run = ReopenRun(f"report ({how})", args, 2, want, victim, how,
                        pcap_header() + pcap_record(FRAME, ts=1_700_000_100))
        run.check = report_text_frames(9, victim, msg)
        t.add(g, f"file {how} while parked",
              "8 one-record pcaps + a pcap on stdin, RLIMIT_NOFILE 64 (budget 4); the first "
              "file " + how + " while podtrace waits on stdin", [run],
              partial="all 9 files' frames reported")


class ReopenRun(Run):
    """Run alone, before the others start (and before any thread: preexec_fn)."""

    def __init__(self, label, args, rc, want, victim, how, stdin_data):
        super().__init__(label, args, rc, want)
        self.nofile = (64, 64)
        self.victim, self.how, self.stdin_data = victim, how, stdin_data


def execute_reopen(t, run):
    p = subprocess.Popen([t.podtrace] + run.args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, cwd=t.work,
                         preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE,
                                                               run.nofile))
    # Every file is open (and all but 4 given up) once podtrace waits on standard input.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{p.pid}/wchan") as f:
                if "pipe" in f.read():
                    break
        except OSError:
            pass
        time.sleep(0.01)
    time.sleep(0.05)
    v = t.path(run.victim)
    if run.how == "replaced":
        with open(v + ".new", "wb") as f:
            f.write(pcap_header() + pcap_record(FRAME))
        os.rename(v + ".new", v)
    else:
        os.unlink(v)
    try:
        out, err = p.communicate(run.stdin_data, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        return f"did not end within {TIMEOUT} s"
    return p.returncode, out, err.decode("utf-8", "replace")


def ts_cases(t):
    g = "capture"
    path = t.write("ts-range.pcapng", shb() + idb() + epb(0, FRAME) +
                   epb(0, FRAME, ts_us=0x7FFF_FFFF_FFFF_FFFF))
    msg = E("1 frame stamped before 1677 or after 2262 (the first: frame 2), its time clamped")
    runs = capture_runs(path, msg, rc=0)
    # The TUI says it on its Interfaces screen (README: "as do decode and the TUI's notes").
    tui = runs[-1]
    tui.want = []
    tui.check = lambda out: (None if re.search(E(path) + ": " + msg, out.decode()) else
                             "the Interfaces screen's notes lack 'PATH: N frames stamped ...'")
    t.add(g, "timestamp out of range (a warning)", "SHB, IDB, EPB, EPB at 2^63-1 us", runs)


# --- flags -----------------------------------------------------------------------------------

def flag_cases(t):
    g = "flags"
    ok = t.write("ok.pcap", pcap_header() + pcap_record(FRAME) * 2)
    t.write("-dash.pcap", pcap_header() + pcap_record(FRAME) * 2)
    pods = t.write("pods-ok.json", kube_list("Pod", pod(), pod("pod2", "10.0.0.2")))
    # CLI11's own messages carry no "podtrace: COMMAND: " today; the convention's prefix is
    # accepted where it would come.
    R, T, D = "(podtrace: report: )?", "(podtrace: tui: )?", "(podtrace: decode: )?"

    def one(name, args, want, rc=2, check=None, how="command line"):
        t.add(g, name, how, [Run(" ".join(["podtrace"] + args), args, rc, want, check)])

    one("unknown option", ["report", "--bogus", ok], R + ".*" + E("--bogus"))
    one("no subcommand", [], r"(podtrace: )?A subcommand is required")
    one("unknown option, no subcommand", ["--bogus"], r"(podtrace: )?.*" + E("--bogus") + ".*")
    one("unknown subcommand", ["frobnicate", ok], r"(podtrace: )?.*\bfrobnicate\b.*")
    one("no capture given", ["report"], R + r"captures.*required")
    one("decode: no file given", ["decode"], D + r"files.*required")
    one("missing value", ["report", ok, "--pods"], R + E("--pods") + ": .*missing")
    one("missing value of -o", ["report", ok, "-o"], R + E("--output") + ": .*missing")
    one("--between with one pod", ["report", "--pods", pods, "--between", "pod1", ok],
        R + E("--between") + ": .*2.*1")
    # A number that is not one: the message names the flag, the value and that it is no number.
    one("--reorder abc", ["report", "--reorder", "abc", ok],
        R + E("--reorder") + r": .*\babc\b.*(not a number|number)(?!.*range).*")
    one("--reorder -1", ["report", "--reorder", "-1", ok],
        R + E("--reorder") + r": .*-1.*0.*60.*")
    one("--window 0", ["report", "--window", "0", ok],
        R + E("--window") + r": .*\b0\b.*0\.001.*60.*")
    one("--window -5", ["report", "--window", "-5", ok], R + E("--window") + r": .*-5\b.*60.*")
    one("tui --window 61", ["tui", "--window", "61", "--snapshot", "80x24", "-r", ok],
        T + E("--window") + r": .*61.*60.*")
    one("--port 70000", ["report", "--port", "70000", ok], R + E("--port") + r": .*70000.*65535.*")
    one("--vxlan-port 0", ["report", "--vxlan-port", "0", ok],
        R + E("--vxlan-port: 0 is not a UDP port (1-65535)"))
    one("--wireguard-port 99999", ["decode", "--wireguard-port", "99999", ok],
        D + E("--wireguard-port: 99999 is not a UDP port (1-65535)"))
    one("nine --geneve-port", ["decode"] + [a for p in range(1, 10)
                                            for a in ("--geneve-port", str(p))] + [ok],
        D + E("--geneve-port: too many ports (at most 8 per tunnel kind)"))
    # PositiveNumber's message: "Value 0 not in range 0.000000 to 1797693...(309 digits)".
    one("decode -c 0", ["decode", "-c", "0", ok],
        D + E("--count") + r": .*\b0\b.*(positive|at least 1|>= ?1|> ?0)[^0-9]{0,40}")
    one("decode -c abc", ["decode", "-c", "abc", ok],
        D + E("--count") + r": .*\babc\b.*(not a number|number)(?!.*range).{0,40}")
    one("tui --keep 0", ["tui", "--keep", "0", "--snapshot", "80x24", "-r", ok],
        T + E("--keep") + r": .*\b0\b.*(positive|> ?0)[^0-9]{0,40}")
    # NonNegativeNumber's: true, if with the largest double in 309 digits.
    one("tui --speed -1", ["tui", "--speed", "-1", "--snapshot", "80x24", "-r", ok],
        T + E("--speed") + r": .*-1\b.*(negative|>= ?0|at least 0|range 0).*")
    one("-f xml", ["report", "-f", "xml", ok], R + E("--format: xml not in {text,json,junit,md}"))
    one("--kind weird", ["report", "--kind", "weird", ok], R + E("--kind: weird not in ") + ".*")
    one("--ip 1.2.3", ["report", "--ip", "1.2.3", ok],
        E("podtrace: report: --ip 1.2.3: not an IP address"))
    one("--pod without --pods", ["report", "--pod", "pod1", ok],
        E("podtrace: report: --pod, --between and --namespace need --pods "
          "(kubectl get pods -A -o json)"))
    one("--pod naming no pod", ["report", "--pods", pods, "--pod", "default/nopod", ok],
        E("podtrace: report: --pod default/nopod: no such pod in --pods (2 pods)"))
    one("--between naming no pod", ["report", "--pods", pods, "--between", "pod1", "ghost", ok],
        E("podtrace: report: --between ghost: no such pod in --pods (2 pods)"))
    # A capture whose name starts with '-'.
    one("leading-dash file without --", ["report", "-dash.pcap"],
        E("podtrace: -dash.pcap is a file: give it after -- or as ./-dash.pcap"),
        how="a file named -dash.pcap")
    one("decode: leading-dash file without --", ["decode", "-dash.pcap"],
        E("podtrace: -dash.pcap is a file: give it after -- or as ./-dash.pcap"),
        how="a file named -dash.pcap")

    def names_dash(out):
        return None if b"-dash.pcap" in out else "the report does not name -dash.pcap"
    one("-- -dash.pcap names the file", ["report", "--", "-dash.pcap"], [], rc=0,
        check=names_dash, how="a file named -dash.pcap")
    one("./-dash.pcap names the file", ["report", "./-dash.pcap"], [], rc=0, check=names_dash,
        how="a file named -dash.pcap")
    one("decode -- -dash.pcap", ["decode", "--", "-dash.pcap"], [], rc=0,
        check=lambda out: None if out.count(b"\n") == 2 else "decode did not print 2 frames",
        how="a file named -dash.pcap")
    one("tui -r -dash.pcap", ["tui", "--snapshot", "80x24", "-r", "-dash.pcap"], [], rc=0,
        how="a file named -dash.pcap")
    one("report - - (stdin twice)", ["report", "-", "-"],
        E("podtrace: report: -: standard input given twice (it is read once)"))
    one("tui -r - - (stdin twice)", ["tui", "--snapshot", "80x24", "-r", "-", "-"],
        E("podtrace: tui: -: standard input given twice (it is read once)"))
    # --expect: the grammar, then names that are not in --pods.
    X = r"--expect [\"']"
    grammar = E("; expected 'SRC -> DST: KIND', 'no-drops' or 'encrypted'") + ".*"
    one("--expect garbage", ["report", "--expect", "garbage", ok],
        E("podtrace: report: ") + X + E("garbage") + r"[\"']: " +
        E("unknown expectation 'garbage'") + grammar)
    one("--expect no '->'", ["report", "--expect", "pod1 pod2: same-node", ok],
        E("podtrace: report: ") + X + E("pod1 pod2: same-node") + r"[\"']: .*->.*" + grammar)
    one("--expect unknown kind", ["report", "--expect", "default/pod1 -> default/pod2: flying",
                                  ok],
        E("podtrace: report: ") + X + E("default/pod1 -> default/pod2: flying") + r"[\"']: " +
        E("unknown kind 'flying'") + grammar)
    one("--expect bad SRC", ["report", "--expect", "a -> 10.0.0.2: same-node", ok],
        E("podtrace: report: ") + X + E("a -> 10.0.0.2: same-node") + r"[\"']: " +
        E("SRC 'a' is neither an IP address nor namespace/name") + grammar)
    one("--expect unknown pod", ["report", "--pods", pods, "--expect",
                                 "default/nopod -> default/pod1: same-node", ok],
        E("podtrace: report: ") + X + E("default/nopod -> default/pod1: same-node") +
        r"[\"']: " + E("default/nopod: no pod or service of that name in --pods/--services "
                       "(2 pods, 0 services loaded)"))
    one("--expect pod without --pods", ["report", "--expect",
                                        "default/pod1 -> default/pod2: same-node", ok],
        E("podtrace: report: ") + X + E("default/pod1 -> default/pod2: same-node") +
        r"[\"']: .*default/pod1.*--pods.*")
    # tui's own checks, before any terminal.
    one("tui --snapshot 80", ["tui", "--snapshot", "80", "-r", ok],
        E("podtrace: tui: --snapshot 80: expected WIDTHxHEIGHT, e.g. 80x24"))
    one("tui --snapshot without -r", ["tui", "--snapshot", "80x24"],
        E("podtrace: tui: --snapshot needs -r (capture files)"))
    one("tui --keys <Bogus>", ["tui", "--keys", "<Bogus>", "--snapshot", "80x24", "-r", ok],
        E("podtrace: tui: --keys: unknown key name <Bogus> (known: ") + ".*")
    one("tui --save-dir missing", ["tui", "--save-dir", "no-such-dir", "--snapshot", "80x24",
                                   "-r", ok],
        E("podtrace: tui: --save-dir no-such-dir: No such file or directory"))
    one("tui --save-dir a file", ["tui", "--save-dir", ok, "--snapshot", "80x24", "-r", ok],
        E(f"podtrace: tui: --save-dir {ok}: not a directory"))
    one("tui --styles without --snapshot", ["tui", "--styles", "-r", ok],
        E("podtrace: tui: --styles goes with --snapshot"))
    one("tui --speed without -r", ["tui", "--speed", "1"],
        E("podtrace: tui: --speed paces a replay: it needs -r"))
    one("tui -r with -i", ["tui", "-i", "eth0", "--snapshot", "80x24", "-r", ok],
        E("podtrace: tui: -r replays capture files: -i and a capture filter are for live "
          "capture"))
    one("tui --follow without -r", ["tui", "--follow"],
        E("podtrace: tui: --follow reads live pcapng streams: give each with -r [NODE=]PATH"))
    one("tui --follow --speed", ["tui", "--follow", "--speed", "1", "-r", ok],
        E("podtrace: tui: --speed paces a replay: --follow shows streams as they arrive"))
    one("tui --follow -r -", ["tui", "--follow", "-r", "-"],
        E("podtrace: tui: -r -: the TUI reads its keys from standard input; give the stream "
          "as a FIFO or /dev/fd/N (or use --snapshot)"))


# --- kubectl JSON ----------------------------------------------------------------------------

def kube_cases(t):
    g = "kubectl"
    ok = t.write("ok.pcap", pcap_header() + pcap_record(FRAME) * 2)
    os.makedirs(t.path("json-dir"), exist_ok=True)

    def runs(flag, path, msg, tui=True):
        out = [Run(f"report {flag}", ["report", flag, path, ok], 2,
                   E(f"podtrace: report: {flag} {path}: ") + msg)]
        if tui:
            out.append(Run(f"tui {flag}", ["tui", "--snapshot", "80x24", flag, path, "-r", ok], 2,
                           E(f"podtrace: tui: {flag} {path}: ") + msg))
        return out

    def row(flag, name, fname, text, msg, how=None, tui=True):
        path = t.write(fname, text) if text is not None else fname
        t.add(g, f"{flag} {name}", how or "JSON written here", runs(flag, path, msg, tui))

    kinds = {"--pods": ("pods", "Pod", pod), "--services": ("services", "Service", service),
             "--nodes": ("nodes", "Node", node)}
    for flag, (what, kind, make) in kinds.items():
        stem = flag[2:]
        expected = E(f"expected {what} (kind {kind} or List of {kind}), got ")
        row(flag, "missing file", f"{stem}-missing.json", None,
            E("cannot open: ") + "No such file or directory", how="not there")
        row(flag, "a directory", "json-dir", None, E("is a directory"), how="mkdir")
        locked = t.write(f"{stem}-locked.json", kube_list(kind, make()))
        os.chmod(t.path(locked), 0)
        t.add(g, f"{flag} unreadable", "mode 000 (run as nobody when root)",
              [Run(r.label, r.args, r.rc, r.want, nobody=True)
               for r in runs(flag, locked, E("cannot open: ") + "Permission denied")])
        # Not JSON: nlohmann's message, with the line and column of the fault.
        row(flag, "not JSON", f"{stem}-syntax.json",
            '{\n  "kind": "List",\n  "items": [,]\n}\n',
            E("not JSON: ") + r".*\bline 3, column 13\b.*")
        row(flag, "empty", f"{stem}-empty.json", "",
            E("not JSON: ") + r".*\bline 1, column 1\b.*")
        # A number no double holds: named, and where it is (nlohmann's out_of_range.406
        # gives neither line nor column).
        row(flag, "1e400", f"{stem}-1e400.json",
            '{"kind": "List", "items": [], "x": 1e400}',
            E("not JSON: ") + r".*(?=.*\b1e400\b)(?=.*\bline 1, column (3[6-9]|4[0-2])\b).*")
        row(flag, "an array", f"{stem}-array.json", "[1, 2]", expected + E("a JSON array"))
        row(flag, "wrong kind", f"{stem}-kind.json",
            json.dumps({"kind": "ConfigMap", "metadata": {"name": "x"}}),
            expected + E("kind ConfigMap"))
        row(flag, "no kind", f"{stem}-nokind.json", json.dumps({"items": []}),
            expected + E("no kind"))
        row(flag, "items not an array", f"{stem}-items.json",
            json.dumps({"kind": "List", "items": {"a": 1}}),
            r"\.?" + E("items: expected an array, got object"))
        row(flag, "item not an object", f"{stem}-item.json",
            json.dumps({"kind": "List", "items": [make(), 7]}),
            E("items[1]: expected an object, got number"))
        other = "Service" if kind != "Service" else "Pod"
        row(flag, "item of another kind", f"{stem}-itemkind.json",
            json.dumps({"kind": "List", "items": [dict(make(), kind=other)]}),
            E(f"items[0]: expected {what} (kind {kind} or List of {kind}), got kind {other}"))
        row(flag, "metadata missing", f"{stem}-nometa.json",
            kube_list(kind, make(metadata=DELETE)), E("items[0].metadata: missing"))
        row(flag, "metadata not an object", f"{stem}-meta.json",
            kube_list(kind, make(metadata="x")),
            E("items[0].metadata: expected an object, got string"))
        row(flag, "name missing", f"{stem}-noname.json",
            kube_list(kind, make(), make(metadata__name=DELETE)),
            E("items[1].metadata.name: missing"))
        row(flag, "name not a string", f"{stem}-name.json",
            kube_list(kind, make(metadata__name=5)),
            E("items[0].metadata.name: expected a string, got number"))
        row(flag, "spec not an object", f"{stem}-spec.json",
            kube_list(kind, make(spec=[1])),
            E("items[0].spec: expected an object, got array"))
        # One object, not a List: the path starts at the kind.
        row(flag, "single object, name not a string", f"{stem}-single.json",
            json.dumps(make(metadata__name=True)),
            E(f"{kind}.metadata.name: expected a string, got boolean"))

    # Pods.
    f = "--pods"
    row(f, "namespace not a string", "pods-ns.json", kube_list("Pod", pod(metadata__namespace=1)),
        E("items[0].metadata.namespace: expected a string, got number"))
    row(f, "nodeName not a string", "pods-node.json",
        kube_list("Pod", pod(spec__nodeName={"a": 1})),
        E("items[0].spec.nodeName: expected a string, got object"))
    row(f, "hostNetwork not a boolean", "pods-hostnet.json",
        kube_list("Pod", pod(spec__hostNetwork="yes")),
        E("items[0].spec.hostNetwork: expected true or false, got string"))
    row(f, "status not an object", "pods-status.json", kube_list("Pod", pod(status="Running")),
        E("items[0].status: expected an object, got string"))
    row(f, "podIPs not an array", "pods-podips.json",
        kube_list("Pod", pod(), pod(status__podIPs={"ip": "10.0.0.1"})),
        E("items[1].status.podIPs: expected an array, got object"))
    row(f, "podIPs[i] not an object", "pods-podipsi.json",
        kube_list("Pod", pod(status__podIPs=[{"ip": "10.0.0.1"}, "10.0.0.9"])),
        E("items[0].status.podIPs[1]: expected an object, got string"))
    row(f, "podIPs[i].ip missing", "pods-podipmissing.json",
        kube_list("Pod", pod(status__podIPs=[{}])),
        E("items[0].status.podIPs[0].ip: missing"))
    row(f, "bad IP in podIPs", "pods-badip.json",
        kube_list("Pod", pod(status__podIPs=[{"ip": "10.0.0.300"}])),
        E('items[0].status.podIPs[0].ip: "10.0.0.300" is not an IP address'))
    row(f, "bad podIP", "pods-badpodip.json",
        kube_list("Pod", pod(), pod("pod2", status__podIPs=DELETE, status__podIP="fe80::zz")),
        E('items[1].status.podIP: "fe80::zz" is not an IP address'))
    row(f, "podIP not a string", "pods-podipnum.json",
        kube_list("Pod", pod(status__podIPs=DELETE, status__podIP=167772161)),
        E("items[0].status.podIP: expected a string, got number"))

    # Services.
    f = "--services"
    row(f, "bad clusterIP", "services-badip.json",
        kube_list("Service", service(spec__clusterIPs=DELETE, spec__clusterIP="10.96.0.999")),
        E('items[0].spec.clusterIP: "10.96.0.999" is not an IP address'))
    row(f, "bad clusterIPs[i]", "services-badips.json",
        kube_list("Service", service(spec__clusterIPs=["10.96.0.10", "none"])),
        E('items[0].spec.clusterIPs[1]: "none" is not an IP address'))
    row(f, "clusterIPs[i] not a string", "services-ipsnum.json",
        kube_list("Service", service(spec__clusterIPs=[10])),
        E("items[0].spec.clusterIPs[0]: expected a string, got number"))
    row(f, "clusterIPs not an array", "services-ipsobj.json",
        kube_list("Service", service(spec__clusterIPs="10.96.0.10")),
        E("items[0].spec.clusterIPs: expected an array, got string"))
    row(f, "ports not an array", "services-ports.json",
        kube_list("Service", service(spec__ports={"port": 80})),
        E("items[0].spec.ports: expected an array, got object"))
    row(f, "ports[i] not an object", "services-portsi.json",
        kube_list("Service", service(spec__ports=[80])),
        E("items[0].spec.ports[0]: expected an object, got number"))
    row(f, "port missing", "services-noport.json",
        kube_list("Service", service(spec__ports__0__port=DELETE)),
        E("items[0].spec.ports[0].port: missing"))
    row(f, "port 70000", "services-port.json",
        kube_list("Service", service(), service("db", "10.96.0.11", spec__ports__0__port=70000)),
        E("items[1].spec.ports[0].port: 70000 is not a port number"))
    row(f, "port 0", "services-port0.json", kube_list("Service", service(spec__ports__0__port=0)),
        E("items[0].spec.ports[0].port: 0 is not a port number"))
    row(f, "port \"80\"", "services-portstr.json",
        kube_list("Service", service(spec__ports__0__port="80")),
        E('items[0].spec.ports[0].port: "80" is not a port number'))
    row(f, "port 80.5", "services-portfrac.json",
        kube_list("Service", service(spec__ports__0__port=80.5)),
        E("items[0].spec.ports[0].port: 80.5 is not a port number"))
    row(f, "targetPort -1", "services-target.json",
        kube_list("Service", service(spec__ports__0__targetPort=-1)),
        E("items[0].spec.ports[0].targetPort: -1 is not a port number"))
    row(f, "protocol not a string", "services-proto.json",
        kube_list("Service", service(spec__ports__0__protocol=6)),
        E("items[0].spec.ports[0].protocol: expected a string, got number"))

    # Nodes.
    f = "--nodes"
    A = "projectcalico.org/IPv4Address"
    row(f, "annotations not an object", "nodes-ann.json",
        kube_list("Node", node(metadata__annotations=["a"])),
        E("items[0].metadata.annotations: expected an object, got array"))
    row(f, "bad Calico address", "nodes-calico.json",
        kube_list("Node", node(**{"metadata__annotations__projectcalico_DOT_org_SLASH_"
                                  "IPv4Address": "192.168.10.300/24"})),
        E(f'items[0].metadata.annotations["{A}"]: "192.168.10.300" is not an IP address'))
    row(f, "Calico address not a string", "nodes-calicotype.json",
        kube_list("Node", node(**{"metadata__annotations__projectcalico_DOT_org_SLASH_"
                                  "IPv4IPIPTunnelAddr": 1})),
        # A key holding dots and a slash: bracketed, as the IP's message has it; dotted, the
        # path would name annotations.projectcalico.org["IPv4IPIPTunnelAddr"].
        E('items[0].metadata.annotations["projectcalico.org/IPv4IPIPTunnelAddr"]: expected a '
          "string, got number"))
    row(f, "bad podCIDR", "nodes-cidr.json",
        kube_list("Node", node(spec__podCIDRs=DELETE, spec__podCIDR="172.16.158.0/33")),
        E('items[0].spec.podCIDR: "172.16.158.0/33" is not a CIDR'))
    row(f, "bad podCIDRs[i]", "nodes-cidrs.json",
        kube_list("Node", node(), node("k8s-w2", spec__podCIDRs=["172.16.1.0/24", "fd00::/129"])),
        E('items[1].spec.podCIDRs[1]: "fd00::/129" is not a CIDR'))
    row(f, "podCIDRs[i] not a string", "nodes-cidrsnum.json",
        kube_list("Node", node(spec__podCIDRs=[24])),
        E("items[0].spec.podCIDRs[0]: expected a string, got number"))
    row(f, "podCIDRs not an array", "nodes-cidrsobj.json",
        kube_list("Node", node(spec__podCIDRs="172.16.158.0/24")),
        E("items[0].spec.podCIDRs: expected an array, got string"))
    row(f, "addresses not an array", "nodes-addrs.json",
        kube_list("Node", node(status__addresses="192.168.10.101")),
        E("items[0].status.addresses: expected an array, got string"))
    row(f, "addresses[i] not an object", "nodes-addrsi.json",
        kube_list("Node", node(status__addresses=[None])),
        E("items[0].status.addresses[0]: expected an object, got null"))
    row(f, "address missing", "nodes-noaddr.json",
        kube_list("Node", node(status__addresses=[{"type": "InternalIP"}])),
        E("items[0].status.addresses[0].address: missing"))
    row(f, "bad InternalIP", "nodes-badaddr.json",
        kube_list("Node", node(status__addresses=[{"type": "InternalIP",
                                                   "address": "192.168.10"}])),
        E('items[0].status.addresses[0].address: "192.168.10" is not an IP address'))
    row(f, "address type not a string", "nodes-addrtype.json",
        kube_list("Node", node(status__addresses=[{"type": 1, "address": "192.168.10.101"}])),
        E("items[0].status.addresses[0].type: expected a string, got number"))


# --- output ----------------------------------------------------------------------------------

def output_cases(t):
    g = "output"
    ok = t.write("ok.pcap", pcap_header() + pcap_record(FRAME) * 2)
    os.makedirs(t.path("out-dir"), exist_ok=True)
    ro = t.path("ro-dir")
    os.makedirs(ro, exist_ok=True)
    os.chmod(ro, 0o555)
    NOSPC = "No space left on device"
    t.add(g, "report -o /dev/full", "-o /dev/full",
          [Run("report -o /dev/full", ["report", "-o", "/dev/full", ok], 2,
               E("podtrace: report: cannot write /dev/full: " + NOSPC)),
           Run("report -f json -o /dev/full", ["report", "-f", "json", "-o", "/dev/full", ok], 2,
               E("podtrace: report: cannot write /dev/full: " + NOSPC))])
    t.add(g, "report -o in a missing directory", "-o /nonexistent-dir/x",
          [Run("report -o /nonexistent-dir/x", ["report", "-o", "/nonexistent-dir/x", ok], 2,
               E("podtrace: report: cannot write /nonexistent-dir/x: No such file or directory"))])
    t.add(g, "report -o a directory", "-o DIR",
          [Run("report -o out-dir", ["report", "-o", "out-dir", ok], 2,
               E("podtrace: report: -o out-dir: is a directory"))])
    t.add(g, "report -o in a read-only directory", "mode 555 (run as nobody when root)",
          [Run("report -o ro-dir/x", ["report", "-o", "ro-dir/x", ok], 2,
               E("podtrace: report: cannot write ro-dir/x: Permission denied"), nobody=True)])
    for cmd in (["report"], ["report", "-f", "json"], ["report", "-f", "junit"],
                ["report", "-f", "md"], ["decode"], ["decode", "-j"],
                ["tui", "--snapshot", "80x24", "-r"]):
        name = cmd[0]
        t.add(g, f"{' '.join(cmd)}: standard output full", "stdout on /dev/full",
              [Run(" ".join(cmd + [ok]) + " >/dev/full", cmd + [ok], 2,
                   E(f"podtrace: {name}: cannot write to standard output: {NOSPC}"),
                   stdout="/dev/full")])
    for cmd in (["report"], ["decode"], ["tui", "--snapshot", "80x24", "-r"]):
        name = cmd[0]
        t.add(g, f"{' '.join(cmd)}: standard output closed", "fd 1 closed",
              [Run(" ".join(cmd + [ok]) + " >&-", cmd + [ok], 2,
                   E(f"podtrace: {name}: cannot write to standard output: ") +
                   "Bad file descriptor", stdout="closed")])


# --- node facts ------------------------------------------------------------------------------

def facts_cases(t):
    """The node facts a pcapng carries ("podtrace facts=JSON" in its section header): a file
    whose facts do not parse is still read (exit 0); the report's capture line, its JSON
    `facts_error` and the TUI's notes say why, next to the file's name."""
    g = "facts"
    good = {"nic": {"name": "ens5", "mtu": 1500, "addresses": ["192.168.10.101/24"]},
            "pods": [{"name": "calia", "ips": ["172.16.158.1"],
                      "pod": {"namespace": "default", "name": "pod1"}}],
            "tunnels": [{"name": "tunl0", "type": "ipip", "mtu": 1480}]}

    def variant(**changes):
        doc = json.loads(json.dumps(good))
        for path, value in changes.items():
            put(doc, path, value)
        return json.dumps(doc)

    def capture(name, text, split=None):
        comments = [f"podtrace node=k8s-w1"]
        if split:
            comments += ["podtrace facts=" + text[:split], "podtrace facts+=" + text[split:]]
        else:
            comments.append("podtrace facts=" + text)
        opts = b"".join(option(1, c.encode()) for c in comments) + end_of_options()
        return t.write(name, shb(options=opts) + idb() + epb(0, FRAME) * 2)

    def runs(path, msg):
        def text_check(out):
            s = out.decode("utf-8", "replace")
            if not re.search(r"(?m)^  " + E(path) + r": .*\[node facts unreadable: " + msg +
                             r"\]$", s):
                return "no capture line 'PATH: ... [node facts unreadable: MESSAGE]'"
            return None

        def json_check(out):
            try:
                cap = json.loads(out)["captures"][0]
            except (ValueError, KeyError, IndexError) as e:
                return f"no JSON report: {e}"
            if cap.get("file") != path or not re.fullmatch(msg, cap.get("facts_error") or ""):
                return f"captures[0] is {cap.get('file')!r} with facts_error " \
                       f"{cap.get('facts_error')!r}"
            if cap.get("frames") != 2:
                return f"captures[0].frames is {cap.get('frames')}, expected 2"
            return None

        def tui_check(out):
            s = out.decode("utf-8", "replace")
            if not re.search(E(path) + ": node facts unreadable: " + msg, s):
                return "the Interfaces screen's notes lack 'PATH: node facts unreadable: ...'"
            return None
        return [Run("report", ["report", path], 0, [], text_check),
                Run("report -f json", ["report", "-f", "json", path], 0, [], json_check),
                Run("tui --snapshot", TUI + [path], 0, [], tui_check)]

    def row(name, fname, text, msg, split=None):
        path = capture(fname, text, split)
        t.add(g, name, "SHB comment podtrace facts=" + (text if len(text) < 40 else text[:37] +
                                                        "..."),
              runs(path, msg), partial="the file's 2 frames reported")

    row("not JSON", "facts-syntax.pcapng", '{"nic": {"name": "ens5",}}',
        E("not JSON: ") + r".*\bline 1, column 2[0-9]\b.*")
    row("not JSON across facts+=", "facts-split.pcapng", variant()[:-1] + ",]", 
        E("not JSON: ") + r".*\bline 1, column \d+\b.*", split=30)
    row("1e400", "facts-1e400.pcapng", '{"nic": {"name": "ens5", "mtu": 1e400}}',
        E("not JSON: ") + r".*(?=.*\b1e400\b)(?=.*\bline 1, column (3[2-9])\b).*")
    row("not an object", "facts-array.pcapng", "[]",
        E("document: expected an object, got array"))
    row("nic.name missing", "facts-nicname.pcapng", variant(nic__name=DELETE),
        E("nic.name: missing"))
    row("nic.mtu negative", "facts-mtu.pcapng", variant(nic__mtu=-1),
        E("nic.mtu: expected a number >= 0, got number"))
    row("nic.addresses[i] bad", "facts-nicaddr.pcapng",
        variant(nic__addresses=["192.168.10.101/24", "192.168.10.300/24"]),
        E('nic.addresses[1]: "192.168.10.300/24" is not an address or prefix'))
    row("nic.addresses[i] not a string", "facts-nicaddrtype.pcapng", variant(nic__addresses=[4]),
        E("nic.addresses[0]: expected a string, got number"))
    row("pods not an array", "facts-pods.pcapng", variant(pods={"a": 1}),
        E("pods: expected an array, got object"))
    row("pods[i].ips[j] bad", "facts-podip.pcapng", variant(pods__0__ips=["172.16.158.x"]),
        E('pods[0].ips[0]: "172.16.158.x" is not an IP address'))
    row("pods[i].pod not an object", "facts-podpod.pcapng", variant(pods__0__pod="pod1"),
        E("pods[0].pod: expected an object, got string"))
    row("pods[i].pod.name missing", "facts-podname.pcapng", variant(pods__0__pod__name=DELETE),
        E("pods[0].pod.name: missing"))
    row("tunnels[i] not an object", "facts-tunnel.pcapng", variant(tunnels=["tunl0"]),
        E("tunnels[0]: expected an object, got string"))
    row("remote_routes[i].onlink not a boolean", "facts-onlink.pcapng",
        variant(remote_routes=[{"dst": "172.16.1.0/24", "dev": "tunl0", "onlink": "yes"}]),
        E("remote_routes[0].onlink: expected true or false, got string"))
    row("blocks[i].cidr bad", "facts-block.pcapng", variant(blocks=[{"cidr": "172.16.158.0/40"}]),
        E('blocks[0].cidr: "172.16.158.0/40" is not an address or prefix'))
    row("pod_view.interface missing", "facts-podview.pcapng", variant(pod_view={"mtu": 1450}),
        E("pod_view.interface: missing"))
    row("nat_outgoing.hooked not a boolean", "facts-nat.pcapng",
        variant(nat_outgoing={"rules": [{}], "hooked": 1}),
        E("nat_outgoing.hooked: expected true or false, got number"))


# --- main ------------------------------------------------------------------------------------

def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    podtrace = os.path.abspath(sys.argv[1])
    own = len(sys.argv) <= 2  # a directory of our own: removed at the end unless a run failed
    work = sys.argv[2] if not own else tempfile.mkdtemp(prefix="podtrace-messages-")
    work = os.path.abspath(work)
    os.makedirs(work, exist_ok=True)
    for dirpath, dirs, _ in os.walk(work):  # a previous run's mode-000 files and 555 dirs
        for d in dirs:
            os.chmod(os.path.join(dirpath, d), 0o755)
    os.chmod(work, 0o755)  # nobody (as root, for EACCES) must reach the files
    t0 = time.monotonic()
    t = Tester(podtrace, work)
    capture_cases(t)
    reopen_cases(t)
    ts_cases(t)
    flag_cases(t)
    kube_cases(t)
    output_cases(t)
    facts_cases(t)

    # The runs are independent: all at once, on as many workers as there are CPUs, except the
    # ones that replace a file while podtrace waits, which go first, alone.
    jobs = [(n, row, run) for n, row in enumerate(t.rows, 1) for run in row.runs]
    got = {}
    for n, row, run in jobs:
        if isinstance(run, ReopenRun):
            got[id(run)] = execute_reopen(t, run)
    with concurrent.futures.ThreadPoolExecutor(max(2, os.cpu_count() or 2)) as pool:
        futures = {id(run): pool.submit(t.execute, run) for n, row, run in jobs
                   if not isinstance(run, ReopenRun)}
        for key, f in futures.items():
            got[key] = f.result()
    verbose = os.environ.get("MESSAGES_VERBOSE")
    for n, row, run in jobs:
        g = got[id(run)]
        bad = t.verdict(run, g)
        t.results.append((n, row, run, g[0] if isinstance(g, tuple) else "-", bad))
        if bad:
            t.failures.append(f"row {n} [{row.group}] {row.name} / {run.label}: " +
                              "; ".join(bad))

    def shown(regex):  # an expected line as a reader sees it: the escapes of E() undone
        return re.sub(r"\\([^A-Za-z0-9])", r"\1", regex)

    for n, row in enumerate(t.rows, 1):
        res = [x for x in t.results if x[0] == n]
        fails = [x for x in res if x[4]]
        print(f"{n:3} {row.group}: {row.name}  [{row.how}]  {'FAIL' if fails else 'ok'}")
        print("      " + ", ".join(f"{run.label} {rc}" + ("" if rc == run.rc else
                                                          f" (expected {run.rc})")
                                   for _, _, run, rc, _ in res))
        wants = []
        for _, _, run, _, _ in res:
            for w in run.want:
                if shown(w) not in wants:
                    wants.append(shown(w))
        for w in wants[:2]:
            print("      expects: " + w)
        if row.partial:
            print("      and: " + row.partial)
        if verbose:
            for _, _, run, _, _ in res:
                g = got[id(run)]
                if isinstance(g, tuple):
                    for line in g[2].splitlines()[:3]:
                        print(f"      | {run.label}: {line[:200]}")
    secs = time.monotonic() - t0
    partial = sum(1 for r in t.rows if r.partial)
    print(f"\n{len(t.rows)} rows, {len(t.results)} runs, {len(t.failures)} failing, "
          f"{secs:.1f} s; {partial} rows check that the frames before the fault are reported "
          f"(work dir {work})")
    for f in t.failures:
        print("FAIL " + f, file=sys.stderr)
    if own and not t.failures:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if t.failures else 0


if __name__ == "__main__":
    sys.exit(main())
