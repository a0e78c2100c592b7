#!/usr/bin/env python3
"""Hostile tests against the collector's ZeroMQ port (label hostile;transport).

  collector_test.py BUILD_DIR PCAPS_DIR idle_conns
      2,000 idle TCP connections held (reopened as the collector's handshake
      timeout closes them) while a real probe delivers a replay: its batches
      must be acknowledged within 1 s of an unhindered run. The collector
      starts with Debian's soft limit of 1,024 descriptors; the test raises
      its own limit to hold the connections (as root when over the hard one).
  collector_test.py BUILD_DIR PCAPS_DIR refusal_flood
      20 sockets with unknown keys retry their handshake for 6 s: the
      refusals are counted, but only a few lines and a summary are logged.
"""
import os
import resource
import selectors
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hostile_lib import Env, check, main  # noqa: E402

IDLE = 2000


def raise_own_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= n:
        return
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (n, max(n, hard)))
    except (ValueError, OSError):
        print("SKIP: cannot raise this test's own descriptor limit to %d (hard %d; run as root)" % (n, hard))
        sys.exit(77)


class Holder:
    """Keeps IDLE TCP connections open to a port; reopens closed ones."""

    def __init__(self, port, n):
        self.port, self.n = port, n
        self.sel = selectors.DefaultSelector()
        self.stop = False
        self.reopened = 0
        self.socks = set()

    def open_one(self):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", self.port))
        self.sel.register(s, selectors.EVENT_READ)
        self.socks.add(s)

    def fill(self):
        while len(self.socks) < self.n and not self.stop:
            for _ in range(min(100, self.n - len(self.socks))):
                self.open_one()
            time.sleep(0.02)  # the listen backlog is 100

    def loop(self):
        self.fill()
        while not self.stop:
            for key, _ in self.sel.select(timeout=0.2):
                s = key.fileobj
                try:
                    data = s.recv(4096)
                except OSError:
                    data = b""
                if not data:  # closed by the collector
                    self.sel.unregister(s)
                    self.socks.discard(s)
                    s.close()
                    self.reopened += 1
            self.fill()

    def established(self):
        n = 0
        for s in list(self.socks):
            try:
                s.getpeername()
                n += 1
            except OSError:
                pass
        return n

    def close(self):
        self.stop = True
        for s in list(self.socks):
            s.close()


def deliver(env, pcaps, tag):
    out = os.path.join(env.tmp, tag + ".jsonl")
    t = time.monotonic()
    r = env.run(env.probe_args(spool="spool-" + tag,
                               extra=["-r", os.path.join(pcaps, "teams_audio_p2p_relay.pcap"),
                                      "--json", out, "--batch-records", "50"]), timeout=90)
    dt = time.monotonic() - t
    ok = r.returncode == 0 and "0 batches (0 bytes) left in the spool, 0 records lost" in r.stderr
    return dt, ok, r.stderr.strip()[-300:]


def case_idle_conns(argv):
    build, pcaps = argv[0], argv[1]
    raise_own_nofile(IDLE + 1024)
    env = Env(build)
    try:
        env.setup()
        env.start_collector(nofile=1024)
        t_alone, ok, err = deliver(env, pcaps, "alone")
        check(ok, "probe delivers with no attack (%.2f s) %s" % (t_alone, "" if ok else err))
        h = Holder(env.port, IDLE)
        th = threading.Thread(target=h.loop, daemon=True)
        th.start()
        deadline = time.time() + 30
        while time.time() < deadline and h.established() < IDLE:
            time.sleep(0.2)
        held = h.established()
        print("idle TCP connections held: %d" % held)
        t_attack, ok, err = deliver(env, pcaps, "attack")
        print("probe replay acknowledged: %.2f s alone, %.2f s with %d idle connections (+%.2f s)" %
              (t_alone, t_attack, held, t_attack - t_alone))
        h.close()
        check(ok, "probe delivers under the attack %s" % ("" if ok else err))
        check(held >= IDLE * 0.95, "the attack held %d idle connections" % held)
        check(t_attack - t_alone < 1.0, "batches acknowledged within 1 s of the unhindered run")
    finally:
        env.close()


def case_refusal_flood(argv):
    build = argv[0]
    env = Env(build)
    try:
        env.setup()
        intruder = os.path.join(build, "tests", "hostile", "zrefuse")
        c = env.start_collector(extra=["--stats", "1"])
        r = env.run([intruder, env.endpoint, os.path.join(env.keys, "collector.pub"), "20", "6"])
        check(r.returncode == 0, "intruder ran: %s" % r.stdout.strip())
        time.sleep(1.5)
        c.terminate()
        c.wait(timeout=30)
        log = env.log()
        lines = [l for l in log.splitlines() if "refused probe at" in l]
        summaries = [l for l in log.splitlines() if "more refused" in l]
        import json
        counters = [l for l in log.splitlines() if " counters {" in l]
        refused = json.loads(counters[-1].split(" counters ", 1)[1])["auth"]["refused"] if counters else 0
        print("refusals counted: %d, refusal lines logged: %d, summary lines: %d" %
              (refused, len(lines), len(summaries)))
        check(refused >= 40, "the flood made %d refusals" % refused)
        check(len(lines) <= 10, "at most 10 refusal lines logged (%d)" % len(lines))
        check(summaries, "a summary line counts the rest: %s" % (summaries[-1:] or ["none"])[0])
    finally:
        env.close()


if __name__ == "__main__":
    sys.exit(main({"idle_conns": case_idle_conns, "refusal_flood": case_refusal_flood}))
