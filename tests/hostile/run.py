#!/usr/bin/env python3
"""Hostile input through podtrace: mutated captures (mutate.py), the inputs that once failed
(regress/: a UBSan finding each, named after it) and hostile kubectl JSON through
`report` in all four formats, `decode` (text and JSON lines) and `tui --snapshot`. Every run must
end with exit 0, 1 or 2 within the time limit, say nothing of a sanitizer, write no control
byte, C1 control or byte that is not UTF-8 to standard output or error, and write JSON that
parses; an input `report` refuses (exit 2) must be refused by `tui --snapshot` too, and an
exit 2 names its culprit on standard error.

usage: run.py PODTRACE [COUNT [SEED]]   (env HOSTILE_COUNT, HOSTILE_SEED; default 300, 1)
"""
import glob
import json
import os
import random
import subprocess
import sys
import tempfile

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
sys.path.insert(0, here)
import mutate  # noqa: E402

TIMEOUT = 60


def seeds():
    files = sorted(glob.glob(os.path.join(root, "examples", "**", "*.pcap*"), recursive=True))
    shared = os.environ.get("PODTRACE_SHARED_CAPTURES",
                            os.path.join(os.path.dirname(root), "shared", "captures"))
    # A few public captures of each kind: other writers' pcapng, SLL2, VXLAN, WireGuard.
    for pattern in ("*vxlan*", "*wireguard*", "*sll2*", "*geneve*", "*gre*", "*.pcapng"):
        files += sorted(glob.glob(os.path.join(shared, "**", pattern), recursive=True))[:4]
    return [f for f in files if os.path.isfile(f) and os.path.getsize(f) <= 4 << 20]


def bad_bytes(data):
    """Why `data` may not reach a terminal, or None."""
    for b in data:
        if (b < 0x20 and b != 0x0A) or b == 0x7F:
            return f"raw control byte 0x{b:02x}"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        return f"not UTF-8 at byte {e.start}"
    for ch in text:
        if 0x80 <= ord(ch) <= 0x9F:
            return f"C1 control U+{ord(ch):04X}"
    return None


class Checker:
    def __init__(self, podtrace):
        self.podtrace = podtrace
        self.failures = []
        self.runs = 0

    def run(self, args, what):
        self.runs += 1
        env = dict(os.environ, TZ="UTC", LC_ALL="C.UTF-8")
        try:
            p = subprocess.run([self.podtrace] + args, capture_output=True, timeout=TIMEOUT,
                               env=env)
        except subprocess.TimeoutExpired:
            self.fail(what, f"did not end within {TIMEOUT} s")
            return None
        err = p.stderr.decode("utf-8", "replace")
        if "runtime error:" in err or "Sanitizer" in err:
            self.fail(what, "sanitizer: " + err[-2000:])
        if p.returncode not in (0, 1, 2):
            self.fail(what, f"exit {p.returncode}: {err[-500:]}")
        for name, data in (("stdout", p.stdout), ("stderr", p.stderr)):
            why = bad_bytes(data)
            if why:
                self.fail(what, f"{name}: {why}")
        if p.returncode == 2 and not p.stderr.strip():
            self.fail(what, "exit 2 with nothing on standard error")
        return p

    def fail(self, what, why):
        self.failures.append(f"{what}: {why}")
        print(f"FAIL {what}: {why}", flush=True)

    def json_doc(self, p, what):
        if p is None or not p.stdout.strip():
            return
        try:
            json.loads(p.stdout)
        except ValueError as e:
            self.fail(what, f"JSON does not parse: {e}")

    def json_lines(self, p, what):
        if p is None:
            return
        for n, line in enumerate(p.stdout.splitlines(), 1):
            try:
                json.loads(line)
            except ValueError as e:
                self.fail(what, f"line {n}: JSON does not parse: {e}")
                return


def hostile_json(tmp):
    """kubectl JSON a hostile cluster (or a hostile file) gives: names holding escape sequences,
    numbers no double holds, a directory, a file that is not there."""
    pods = json.load(open(os.path.join(root, "examples", "ipip", "pods.json")))
    for item, name in zip(pods["items"], ["pod1\u001b]0;owned\u0007", "pod2\u001b[2J\u009b31m"]):
        item["metadata"]["name"] = name
        item["metadata"]["namespace"] = "ns\u001b[5m"
    out = {}
    out["escapes"] = os.path.join(tmp, "pods-escapes.json")
    with open(out["escapes"], "w") as f:
        json.dump(pods, f)
    out["big"] = os.path.join(tmp, "pods-1e400.json")
    with open(out["big"], "w") as f:
        f.write('{"kind":"List","items":[{"kind":"Pod","metadata":{"name":"a","namespace":"b"},'
                '"spec":{"nodeName":"k8s-w1"},"status":{"podIP":"172.16.158.1","x":1e400}}]}')
    out["dir"] = tmp
    out["missing"] = os.path.join(tmp, "no-such.json")
    return out


def main():
    podtrace = sys.argv[1]
    count = int(sys.argv[2]) if len(sys.argv) > 2 else int(os.environ.get("HOSTILE_COUNT", 300))
    seed = int(sys.argv[3]) if len(sys.argv) > 3 else int(os.environ.get("HOSTILE_SEED", 1))
    c = Checker(podtrace)
    with tempfile.TemporaryDirectory(prefix="podtrace-hostile-") as tmp:
        mdir = os.path.join(tmp, "mutants")
        sys.argv = ["mutate.py", mdir, str(count), str(seed)] + seeds()
        mutate.main()
        rng = random.Random(seed)
        # Every input that once failed (regress/), then the mutants.
        regress = os.fsencode(os.path.join(here, "regress"))
        inputs = [os.path.join(regress, n) for n in sorted(os.listdir(regress))]
        inputs += [os.path.join(os.fsencode(mdir), n) for n in sorted(os.listdir(os.fsencode(mdir)))]
        for f in inputs:
            name = os.path.basename(f)
            label = name.decode("utf-8", "backslashreplace")
            reports = {}
            for fmt in ("text", "json", "junit", "md"):
                p = c.run(["report", "-f", fmt, "--no-progress", f], f"report -f {fmt} {label}")
                reports[fmt] = p
            c.json_doc(reports["json"], f"report -f json {label}")
            c.run(["decode", f], f"decode {label}")
            c.json_lines(c.run(["decode", "-j", "-q", f], f"decode -j {label}"), f"decode -j {label}")
            t = c.run(["tui", "--snapshot", "80x24", "--keys", "<Enter><Enter>", "-r", f],
                      f"tui --snapshot {label}")
            r = reports["text"]
            if r is not None and t is not None and (r.returncode == 2) != (t.returncode == 2):
                c.fail(f"tui --snapshot {label}",
                       f"exit {t.returncode} where report exits {r.returncode}")
            if rng.random() < 0.1:  # a hostile node name on the command line too
                c.run(["report", "--no-progress", b"k8s\x1bw9\xff=" + f], f"report NODE= {label}")
        js = hostile_json(tmp)
        example = sorted(glob.glob(os.path.join(root, "examples", "ipip", "*.pcapng")))
        for key, path in js.items():
            for fmt in ("text", "json", "md"):
                p = c.run(["report", "-f", fmt, "--no-progress", "--pods", path] + example,
                          f"report --pods {key} -f {fmt}")
                if fmt == "json":
                    c.json_doc(p, f"report --pods {key} -f json")
            c.run(["tui", "--snapshot", "132x40", "--keys", "/ns<Enter><Enter>", "--pods", path,
                   "-r"] + example, f"tui --pods {key}")
    print(f"hostile input: {count} mutants (seed {seed}), {c.runs} runs, "
          f"{len(c.failures)} failures")
    sys.exit(1 if c.failures else 0)


if __name__ == "__main__":
    main()
