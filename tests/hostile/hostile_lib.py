"""Shared by the hostile tests: keys, a collector, a probe, in a temporary
directory of the test's own. Python standard library only."""
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from cs_testlib import free_port  # noqa: E402,F401  (cli_test.py imports it from here)


class Fail(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)
    print("ok:", msg)


def soft_nofile(n):
    """preexec_fn: the child starts with a soft descriptor limit of n (what
    Debian gives a process outside systemd), whatever the test raised."""
    def f():
        hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(n, hard), hard))
    return f


class Env:
    def __init__(self, build, prefix="cs-hostile-"):
        self.build = build
        self.probe = os.path.join(build, "probe", "callscope-probe")
        self.collector = os.path.join(build, "collector", "callscope-collector")
        self.tmp = tempfile.mkdtemp(prefix=prefix)
        self.keys = os.path.join(self.tmp, "keys")
        self.auth = os.path.join(self.tmp, "probes.d")
        self.db = os.path.join(self.tmp, "collector.db")
        self.orgkey = os.path.join(self.keys, "org.key")
        self.port = free_port()
        self.endpoint = "tcp://127.0.0.1:%d" % self.port
        self.procs = []

    def run(self, args, **kw):
        return subprocess.run(args, capture_output=True, text=True, timeout=kw.pop("timeout", 120), **kw)

    def setup(self, probes=("p1",)):
        os.makedirs(self.keys, mode=0o700)
        os.makedirs(self.auth, mode=0o755)
        for name in ("collector",) + tuple(probes):
            r = self.run([self.collector, "keygen", name, "--dir", self.keys])
            check(r.returncode == 0, "keygen %s %s" % (name, r.stderr.strip()))
        r = self.run([self.collector, "org-keygen", "--tenant", "contoso.example", "--out", self.orgkey])
        check(r.returncode == 0, "org-keygen " + r.stderr.strip())
        for p in probes:
            shutil.copy(os.path.join(self.keys, p + ".pub"), os.path.join(self.auth, p + ".pub"))

    def log(self, name="collector.log"):
        try:
            with open(os.path.join(self.tmp, name), errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def start_collector(self, extra=(), nofile=1024, log="collector.log"):
        seen = len(self.log(log))
        logf = open(os.path.join(self.tmp, log), "a")
        p = subprocess.Popen([self.collector, "run", "--bind", self.endpoint, "--key",
                              os.path.join(self.keys, "collector.key"), "--authorized-keys", self.auth,
                              "--db", self.db, "--org-key", self.orgkey, "--stats", "0"] + list(extra),
                             stdout=logf, stderr=logf, preexec_fn=soft_nofile(nofile))
        self.procs.append(p)
        deadline = time.time() + 30
        while time.time() < deadline:
            if "listening on" in self.log(log)[seen:]:
                return p
            if p.poll() is not None:
                raise Fail("collector exited at start: " + self.log(log))
            time.sleep(0.05)
        raise Fail("collector did not start listening")

    def probe_args(self, name="p1", spool="spool", extra=()):
        return [self.probe, "--collector", self.endpoint, "--key", os.path.join(self.keys, name + ".key"),
                "--collector-key", os.path.join(self.keys, "collector.pub"),
                "--spool-dir", os.path.join(self.tmp, spool), "--site", "site-" + name] + list(extra)

    def close(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)


def main(cases):
    """hostile_x.py BUILD_DIR ... CASE: runs cases[CASE](argv) -> exit code."""
    name = sys.argv[-1]
    if name not in cases:
        print("unknown case %s; one of %s" % (name, " ".join(cases)))
        return 2
    try:
        rc = cases[name](sys.argv[1:-1])
    except Fail as e:
        print("FAIL:", e)
        return 1
    return rc or 0
