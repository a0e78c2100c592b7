#!/usr/bin/env python3
"""Graph never stalls ingest: 'callscope-collector run' polls a Graph server
(real HTTPS on 127.0.0.1, tests/graph/fake_graph.py) that holds every
request for 30 s, while a real probe sends batches (--from-jsonl) and a
second key sends timed batches (zsend). Every batch must be acknowledged
within 1 s and none resent.

  graph_stall_test.py BUILD_DIR [--db sqlite|pg]
(pg: the store is a fresh PostgreSQL 15 database, tests/pg/pgserver.py; exit
77 = skipped with the reason when the server binaries are missing.)
(CALLSCOPE_COLLECTOR=PATH runs another collector binary, e.g. an older one,
to see the test fail where Graph polling blocks the loop.)

Signals used:
  - the probe runs with --ack-timeout-ms 1000: an acknowledgement later
    than 1 s makes it log "no acknowledgement ... resending" and resend;
    the collector counts a resent batch it already stored as a duplicate;
  - zsend prints each batch's round trip (send to acknowledgement);
  - the fake Graph server records when each request arrived and when it
    was answered: the probe's whole run must fall inside the first stall.
"""
import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "graph"))
sys.path.insert(0, os.path.join(HERE, "..", "pg"))
import fake_graph  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import cs_testlib  # noqa: E402

BUILD = sys.argv[1]
PG = sys.argv[2:4] == ["--db", "pg"]
if sys.argv[2:] and not PG and sys.argv[2:4] != ["--db", "sqlite"]:
    print("usage: graph_stall_test.py BUILD_DIR [--db sqlite|pg]")
    sys.exit(2)
PROBE = os.path.join(BUILD, "probe", "callscope-probe")
COLLECTOR = os.environ.get("CALLSCOPE_COLLECTOR") or os.path.join(BUILD, "collector",
                                                                  "callscope-collector")
ZSEND = os.path.join(BUILD, "tests", "transport", "zsend")
TMP = tempfile.mkdtemp(prefix="cs-graph-stall-")
KEYS = os.path.join(TMP, "keys")
AUTH = os.path.join(TMP, "probes.d")
DB = os.path.join(TMP, "collector.db")
ORGKEY = os.path.join(KEYS, "org.key")
TENANT, CLIENT, SECRET = "contoso.example", "11111111-2222-3333-4444-555555555555", "s3cret-value"
STALL_S = 30
PROCS = []
SRV = None
if PG:
    import pgserver  # noqa: E402
    SRV = pgserver.start_or_skip()
    DB = SRV.uri


def fail(msg):
    print("FAIL:", msg)
    for p in PROCS:
        if p.poll() is None:
            p.kill()
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)
    print("ok:", msg)


def run(args):
    return subprocess.run(args, capture_output=True, text=True, timeout=60)


def read(name):
    return cs_testlib.read(os.path.join(TMP, name))


free_port = cs_testlib.free_port


class StallingGraph(fake_graph.FakeGraph):
    """Holds every request STALL_S seconds; notes when each one arrived."""

    def __init__(self, *a):
        super().__init__(*a)
        self.arrived = []
        self.rules = [fake_graph.Rule(".", ("sleep", STALL_S), count=1000)]

    def rule_for(self, path):
        self.arrived.append(time.monotonic())
        return super().rule_for(path)


def setup():
    os.makedirs(KEYS)
    os.makedirs(AUTH)
    for name in ("collector", "p1", "p2"):
        r = run([COLLECTOR, "keygen", name, "--dir", KEYS])
        check(r.returncode == 0, "keygen " + name)
        if name != "collector":
            os.link(os.path.join(KEYS, name + ".pub"), os.path.join(AUTH, name + ".pub"))
    r = run([COLLECTOR, "org-keygen", "--tenant", TENANT, "--out", ORGKEY])
    check(r.returncode == 0, "org-keygen")
    with open(os.path.join(TMP, "secret"), "w") as f:
        f.write(SECRET + "\n")
    os.chmod(os.path.join(TMP, "secret"), 0o600)


def synthetic(path, n):
    base = {"type": "stream", "src_ip": "10.9.0.1", "src_port": 50010, "dst_ip": "52.113.0.9",
            "dst_port": 3478, "proto": "udp", "direction": "outbound", "app": "teams",
            "media": "audio", "client_ip": "10.9.0.1", "client_port": 50010, "encap": "raw",
            "lost": 0, "loss_pct": 0.0, "jitter_ms_max": 1.25,
            "first_seen": "2026-11-27T10:00:00.000000Z", "last_seen": "2026-11-27T10:01:00.000000Z"}
    with open(path, "w") as f:
        for i in range(n):
            f.write(json.dumps(dict(base, ssrc=i + 1, packets=1000 + i)) + "\n")


def timed_batch(i):
    """One batch from p2 through zsend; its round trip in ms."""
    head, body = os.path.join(TMP, "h%d" % i), os.path.join(TMP, "b%d" % i)
    with open(head, "w") as f:
        f.write(json.dumps({"schema": 1, "kind": "batch", "probe_id": "p2", "site": "lab",
                            "epoch": 1, "seq": i + 1, "records": 1}))
    with open(body, "w") as f:
        f.write(json.dumps({"type": "client", "client_ip": "10.0.0.%d" % (i % 250 + 1),
                            "first_seen": "2026-11-27T10:00:00.000000Z",
                            "last_seen": "2026-11-27T10:00:01.000000Z"}))
    r = run([ZSEND, ENDPOINT, os.path.join(KEYS, "p2.key"), os.path.join(KEYS, "collector.pub"),
             "@two:%s:%s" % (head, body)])
    rtt = [l.split()[-1] for l in r.stderr.splitlines() if l.startswith("zsend: rtt_ms ")]
    if r.returncode != 0 or '"status":"stored"' not in r.stdout or len(rtt) != 1:
        fail("timed batch %d not stored and acknowledged: %s %s" % (i + 1, r.stdout, r.stderr))
    return float(rtt[0])


def query(sql):
    """Rows of the store (values as the backend gives them)."""
    if PG:
        return SRV.query(sql)
    con = sqlite3.connect(DB, timeout=10)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def last_counters():
    lines = [l for l in read("collector.log").splitlines() if " counters {" in l]
    check(lines, "the collector logged its counters")
    return json.loads(lines[-1].split(" counters ", 1)[1])


ENDPOINT = "tcp://127.0.0.1:%d" % free_port()


def main():
    setup()
    fake = StallingGraph(TMP, TENANT, CLIENT, SECRET)
    logf = open(os.path.join(TMP, "collector.log"), "w")
    coll = subprocess.Popen(
        [COLLECTOR, "run", "--bind", ENDPOINT, "--key", os.path.join(KEYS, "collector.key"),
         "--authorized-keys", AUTH, "--db", DB, "--org-key", ORGKEY, "--stats", "0",
         "--graph-tenant", TENANT, "--graph-client-id", CLIENT,
         "--graph-secret-file", os.path.join(TMP, "secret"), "--graph-authority-url", fake.base,
         "--graph-url", fake.base + "/v1.0", "--graph-ca-bundle", fake.ca,
         "--graph-timeout", "60"], stdout=logf, stderr=logf)
    PROCS.append(coll)
    deadline = time.time() + 20
    while not fake.arrived and time.time() < deadline:
        if coll.poll() is not None:
            fail("collector exited at start: " + read("collector.log"))
        time.sleep(0.05)
    check(fake.arrived, "the collector's first Graph request reached the server")
    stall_start = fake.arrived[0]
    check("listening on" in read("collector.log"), "the collector listens for probes")

    synthetic(os.path.join(TMP, "in.jsonl"), 3000)
    plog = open(os.path.join(TMP, "probe.log"), "w")
    probe = subprocess.Popen(
        [PROBE, "--from-jsonl", os.path.join(TMP, "in.jsonl"), "--from-jsonl-rate", "400",
         "--batch-records", "50", "--batch-ms", "100", "--ack-timeout-ms", "1000",
         "--heartbeat", "1", "--collector", ENDPOINT, "--key", os.path.join(KEYS, "p1.key"),
         "--collector-key", os.path.join(KEYS, "collector.pub"),
         "--spool-dir", os.path.join(TMP, "spool"), "--site", "hq"], stdout=plog, stderr=plog)
    PROCS.append(probe)
    rtts = []
    while probe.poll() is None and len(rtts) < 200:
        rtts.append(timed_batch(len(rtts)))
        time.sleep(0.2)
    probe.wait(timeout=60)
    probe_end = time.monotonic()
    check(probe.returncode == 0, "the probe sent everything and exited 0")
    inside = probe_end - stall_start
    answered = [e[0] for e in fake.log]
    check(inside < STALL_S and not [t for t in answered if t < probe_end],
          "the probe's whole run (%.1f s after the first Graph request) fell inside "
          "the %d s stall: no Graph reply before it ended" % (inside, STALL_S))
    plog_text = read("probe.log")
    check("0 batches (0 bytes) left in the spool, 0 records lost" in plog_text,
          "probe: spool empty, nothing lost")
    check("no acknowledgement" not in plog_text and "resending" not in plog_text,
          "probe: no acknowledgement took longer than 1 s (--ack-timeout-ms 1000), nothing resent")
    health = json.loads(query("SELECT health FROM probes WHERE probe_id='p1'")[0][0])
    n = tuple(int(v) for v in query("SELECT COUNT(*), COUNT(DISTINCT ssrc) FROM streams "
                                    "WHERE probe_id='p1'")[0])
    exp = health["export"]
    check(exp["batches_resent"] == 0 and exp["ack_timeouts"] == 0,
          "probe heartbeat: batches_resent %d, ack_timeouts %d, batches_acked %d" %
          (exp["batches_resent"], exp["ack_timeouts"], exp["batches_acked"]))
    check(n == (3000, 3000), "the probe's 3000 records stored once each: %s" % (n,))

    t0 = time.monotonic()
    coll.send_signal(signal.SIGTERM)
    coll.wait(timeout=30)
    stop_s = time.monotonic() - t0
    check(coll.returncode == 0, "collector exit 0")
    check(stop_s < 5, "SIGTERM during a stalled Graph request: stopped in %.2f s" % stop_s)
    k = last_counters()
    check(k["batches_duplicate"] == 0, "collector: no batch arrived twice (batches_duplicate 0)")
    check(max(rtts) < 1000, "every timed batch acknowledged within 1 s")
    fake.stop()
    srt = sorted(rtts)
    print("acknowledgement latency during the Graph stall: %d batches, median %.2f ms, "
          "max %.2f ms (probe: %d batches acknowledged, none resent)"
          % (len(rtts), statistics.median(srt), srt[-1], exp["batches_acked"]))


try:
    main()
finally:
    for p in PROCS:
        if p.poll() is None:
            p.kill()
    if SRV:
        SRV.stop()
print("PASS graph_stall (work dir %s)" % TMP)
