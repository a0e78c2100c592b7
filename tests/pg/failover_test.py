#!/usr/bin/env python3
"""Several collectors, one PostgreSQL store: failover of the probes and of
the duties (docs/failover.md). Real processes, real ZeroMQ (CURVE), a real
PostgreSQL 15 (pgserver.py; exit 77 = skipped with the reason when its
binaries are missing).

  failover_test.py BUILD_DIR [failover|duty_restart|sqlite_duties|probe_options]

Two collectors A and B on one store, two probes each given both (A first)
sending paced synthetic records (--from-jsonl); once A holds the duties and
rows are arriving, A is killed with SIGKILL. Asserted:
  - every record stored exactly once: rows = what the probes sent, no
    (probe, ssrc) twice, the batches table sums to the same count;
  - the probes failed over to B and lost nothing;
  - B takes every duty A held within 10 s of the kill (time printed), seen
    in B's log and in pg_locks (application_name 'callscope-duty B');
  - no duty held by both at once: B logs no duty taken before the kill;
    pg_locks, sampled all along (a psql per sample), never shows one duty lock
    granted to two sessions nor to A and B together.
The duties that run on PostgreSQL in this build are correlation (every 30 s
here, and at once when taken), Graph polling of one tenant (tests/graph/fake_graph.py over HTTPS on
loopback) and retention; the NOC's alerts are refused on PostgreSQL until
it is ported. The test moves whatever duties A logs, asserts that those
three are among them, and that correlation steps and Graph requests resume
within 10 s of the kill.

duty_restart: PostgreSQL restarted under a collector holding its duties:
it logs each duty lost at once, reconnects and takes them again.

sqlite_duties (no PostgreSQL): one collector on SQLite holds every duty it
is configured for, and its /metrics says so with callscope_collector_duty.
probe_options (no server): several collector lines in probe.conf, one
shared key or one per collector; a mismatch and a ninth collector refused.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time

BUILD = sys.argv[1]
CASE = sys.argv[2] if len(sys.argv) > 2 else "failover"
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "graph"))
import pgserver  # noqa: E402
import fake_graph  # noqa: E402
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import cs_testlib  # noqa: E402

PROBE = os.path.join(BUILD, "probe", "callscope-probe")
COLLECTOR = os.path.join(BUILD, "collector", "callscope-collector")
TMP = tempfile.mkdtemp(prefix="cs-failover-")
PROCS = []
SRV = None
PER_PROBE = 8000
RATE = 2000  # records/s per probe: about 4 s of sending each
DUTY_CLASS = 0x63734431  # collector/duty.h DUTY_LOCK_CLASS
TENANT = "0d15ea5e-0000-4000-8000-00000000fa11"
CLIENT = "c11e47a0-0000-4000-8000-000000000002"
TOKEN_PATH = r"/oauth2/v2\.0/token$"  # the fake's token endpoint (fake_graph.py)
SECRET = "failover~secret.value-of_the-client"


def fail(msg):
    print("FAIL:", msg)
    for name in ("A.log", "B.log", "p1.log", "p2.log"):
        print("---- %s (tail)" % name)
        print("\n".join(read(name).splitlines()[-15:]))
    for p in PROCS:
        if p.poll() is None:
            p.kill()
    if SRV:
        SRV.stop()
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)
    print("ok:", msg)


def read(name):
    return cs_testlib.read(os.path.join(TMP, name))


free_port = cs_testlib.free_port


def run(args):
    r = subprocess.run(args, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        fail("%s: %s" % (" ".join(args[:3]), r.stderr))


KEYS = os.path.join(TMP, "keys")
AUTH = os.path.join(TMP, "probes.d")
ORGKEY = os.path.join(KEYS, "org.key")
EP = {"A": "tcp://127.0.0.1:%d" % free_port(), "B": "tcp://127.0.0.1:%d" % free_port()}


def setup():
    os.makedirs(KEYS)
    os.makedirs(AUTH)
    # one server key shared by the collectors of one store (docs/failover.md)
    run([COLLECTOR, "keygen", "collector", "--dir", KEYS])
    run([COLLECTOR, "org-keygen", "--tenant", TENANT, "--out", ORGKEY])
    for p in ("p1", "p2"):
        run([COLLECTOR, "keygen", p, "--dir", KEYS])
        os.link(os.path.join(KEYS, p + ".pub"), os.path.join(AUTH, p + ".pub"))


def start_collector(name, db=None, extra=("--correlate-interval", "2")):
    logf = open(os.path.join(TMP, name + ".log"), "a")
    p = subprocess.Popen([COLLECTOR, "run", "--bind", EP[name], "--key",
                          os.path.join(KEYS, "collector.key"), "--authorized-keys", AUTH,
                          "--db", db or SRV.uri, "--org-key", ORGKEY, "--stats", "0",
                          "--retention-check", "10", "--collector-name", name, "-v"] + list(extra),
                         stdout=logf, stderr=logf)
    PROCS.append(p)
    deadline = time.time() + 30
    while time.time() < deadline:
        if "listening on" in read(name + ".log"):
            return p
        if p.poll() is not None:
            fail("collector %s exited at start: %s" % (name, read(name + ".log")))
        time.sleep(0.05)
    fail("collector %s did not start listening" % name)


def synthetic(path, probe):
    base = {"src_ip": "10.9.0.1", "src_port": 50010, "dst_ip": "52.113.0.9", "dst_port": 3478,
            "proto": "udp", "direction": "outbound", "app": "teams", "media": "audio",
            "client_ip": "10.9.0.1", "client_port": 50010, "encap": "raw", "lost": 0,
            "loss_pct": 0.0, "jitter_ms_max": 1.25, "note": probe * 100}
    with open(path, "w") as f:
        for i in range(PER_PROBE):
            f.write(json.dumps(dict(base, type="stream", ssrc=i + 1, packets=1000 + i,
                                    first_seen="2026-11-27T10:00:00.000000Z",
                                    last_seen="2026-11-27T10:01:00.000000Z")) + "\n")


def start_probe(name):
    src = os.path.join(TMP, name + ".jsonl")
    synthetic(src, name)
    logf = open(os.path.join(TMP, name + ".log"), "a")
    p = subprocess.Popen([PROBE, "--collector", EP["A"], "--collector", EP["B"],
                          "--collector-key", os.path.join(KEYS, "collector.pub"),
                          "--key", os.path.join(KEYS, name + ".key"),
                          "--spool-dir", os.path.join(TMP, "spool-" + name), "--site", "hq",
                          "--from-jsonl", src, "--from-jsonl-rate", str(RATE),
                          "--batch-records", "200", "--batch-ms", "200", "--ack-timeout-ms", "2000",
                          "--failover-ms", "1000", "--reconnect-max-ms", "500", "--drain", "60"],
                         stdout=logf, stderr=logf)
    PROCS.append(p)
    return p


LOCKS_SQL = ("SELECT l.objid, a.application_name FROM pg_locks l JOIN pg_stat_activity a "
             "ON a.pid = l.pid WHERE l.locktype = 'advisory' AND l.objsubid = 2 AND "
             "l.classid = %d AND l.granted ORDER BY 1, 2" % DUTY_CLASS)


def holders():
    """{lock objid: [application_name, ...]} of the granted duty locks."""
    out = {}
    for objid, app in SRV.query(LOCKS_SQL):
        out.setdefault(objid, []).append(app)
    return out


class Sampler(threading.Thread):
    """pg_locks as often as psql answers (every 0.1-1 s here): any duty lock granted twice, or duties split
    between A and B at one instant, is recorded."""

    def __init__(self):
        super().__init__(daemon=True)
        self.stop, self.samples, self.bad = False, 0, []

    def run(self):
        while not self.stop:
            try:
                h = holders()
            except Exception as e:  # the server is ours; a failed query is a finding too
                self.bad.append("pg_locks query failed: %s" % e)
                return
            self.samples += 1
            apps = set(a for v in h.values() for a in v)
            if any(len(v) > 1 for v in h.values()) or len(apps) > 1:
                self.bad.append(repr(h))
            time.sleep(0.05)


def corr_steps(log):
    """Line numbers of the correlation steps a collector ran (-v logs each),
    and that of its 'duty correlation taken' line (None: never)."""
    steps, taken = [], None
    for i, line in enumerate(read(log).splitlines()):
        if "collector: correlation: " in line:
            steps.append(i)
        if "duty correlation taken by " in line and taken is None:
            taken = i
    return steps, taken


def duties_taken(log):
    """Duty names a collector's log says it took, in order."""
    out = []
    for line in read(log).splitlines():
        if "duty " in line and " taken by " in line:
            out.append(line.split("duty ", 1)[1].split(" taken by ", 1)[0])
    return out


def sqlite_duties():
    """SQLite: every configured duty held, no duty connection; /metrics shows them."""
    import urllib.request
    setup()
    token = os.path.join(TMP, "noc.token")
    fd = os.open(token, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"failover-test-token-0123456789abcdef\n")
    os.close(fd)
    port = free_port()
    c = start_collector("A", db=os.path.join(TMP, "store.db"),
                        extra=("--correlate-interval", "5", "--http-bind", "127.0.0.1:%d" % port,
                               "--http-token-file", token, "--no-syslog"))
    body, deadline = "", time.time() + 20
    while time.time() < deadline and "callscope_collector_duty" not in body:
        time.sleep(0.5)  # the counters snapshot is taken once a second
        req = urllib.request.Request("http://127.0.0.1:%d/metrics" % port, headers={
            "Authorization": "Bearer failover-test-token-0123456789abcdef"})
        try:  # the HTTP server starts after the probes' socket ("listening on")
            with urllib.request.urlopen(req, timeout=10) as r:
                body = r.read().decode()
        except OSError:
            continue
    got = sorted(l for l in body.splitlines() if l.startswith("callscope_collector_duty"))
    check(got == ['callscope_collector_duty{duty="alerts"} 1',
                  'callscope_collector_duty{duty="correlation"} 1',
                  'callscope_collector_duty{duty="retention"} 1'],
          "/metrics: correlation, retention and alerts held, no graph without a tenant: %s" % got)
    check("# TYPE callscope_collector_duty gauge" in body, "callscope_collector_duty is a gauge")
    c.send_signal(signal.SIGTERM)
    c.wait(timeout=30)
    log = read("A.log")
    check(" taken by " not in log and "duty " not in log,
          "no duty log lines on SQLite (always held, nothing to take)")


def probe_options():
    setup()
    for n in ("c2", "c3"):
        run([COLLECTOR, "keygen", n, "--dir", KEYS])
    pub = lambda n: os.path.join(KEYS, n + ".pub")  # noqa: E731
    conf = os.path.join(TMP, "probe.conf")
    with open(conf, "w") as f:
        f.write("collector = %s\ncollector = %s\ncollector-key = %s\nkey = %s\n" %
                (EP["A"], EP["B"], pub("collector"), os.path.join(KEYS, "p1.key")))

    def probe(*extra):
        return subprocess.run([PROBE, "--config", conf, "-i", "lo", "--check-config"] +
                              list(extra), capture_output=True, text=True, timeout=30)
    r = probe()
    check(r.returncode == 0 and "configuration OK" in r.stdout,
          "two collector lines and one shared key pass --check-config")
    r = probe("--collector-key", pub("c2"))
    check(r.returncode == 0, "one key per collector passes: " + r.stderr.strip())
    r = probe("--collector-key", pub("c2"), "--collector-key", pub("c3"))
    check(r.returncode == 2 and "3 collector-key for 2 collector" in r.stderr,
          "three keys for two collectors refused: " + r.stderr.strip())
    r = probe("--collector-key", os.path.join(KEYS, "missing.pub"))
    check(r.returncode == 2 and "missing.pub" in r.stderr,
          "every key is checked, not only the first: " + r.stderr.strip())
    many = []
    for i in range(7):
        many += ["--collector", "tcp://127.0.0.1:%d" % (7000 + i)]
    r = probe(*many)
    check(r.returncode == 2 and "at most 8 --collector" in r.stderr,
          "a ninth collector refused: " + r.stderr.strip())
    r = subprocess.run([PROBE, "--help"], capture_output=True, text=True, timeout=30)
    check("--failover-ms" in r.stdout and "Repeat for several collectors" in r.stdout,
          "--help tells of several collectors and --failover-ms")


def duty_restart():
    global SRV
    SRV = pgserver.start_or_skip()
    setup()
    start_collector("A")
    deadline = time.time() + 15
    while time.time() < deadline and not corr_steps("A.log")[0]:
        time.sleep(0.1)  # started: past the correlation's own migrations
    check(sorted(duties_taken("A.log")) == ["correlation", "retention"] and corr_steps("A.log")[0],
          "A holds correlation and retention, and has run a correlation step")
    t0 = time.time()
    SRV.restart()
    back = None
    while time.time() - t0 < 30 and back is None:
        if len(duties_taken("A.log")) == 4:
            back = time.time() - t0
        time.sleep(0.1)
    log = read("A.log")
    check("duty correlation lost: connection to PostgreSQL lost" in log and
          "duty retention lost: connection to PostgreSQL lost" in log,
          "each duty logged lost with the connection")
    check(back is not None, "both duties taken again after the restart (%s s after it began)" %
          ("%.2f" % back if back is not None else "never"))
    lines = log.splitlines()
    lost = max(i for i, l in enumerate(lines) if " lost: " in l)
    steps = [i for i, l in enumerate(lines) if "collector: correlation: " in l]
    retaken = [i for i, l in enumerate(lines) if "duty correlation taken by " in l][-1]
    first_lost = min(i for i, l in enumerate(lines) if " lost: " in l)
    check(not [i for i in steps if first_lost < i < retaken],
          "no correlation step between losing the duty and taking it again")
    check(lost < retaken, "lost before taken again")
    h = holders()
    check(len(h) == 2 and all(v == ["callscope-duty A"] for v in h.values()),
          "pg_locks: both duty locks held by A's new session")


def graph_args():
    """A fake Graph tenant (no call records) both collectors are set to poll."""
    fake = fake_graph.FakeGraph(TMP, TENANT, CLIENT, SECRET)
    secret = os.path.join(TMP, "secret")
    fd = os.open(secret, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, SECRET.encode() + b"\n")
    os.close(fd)
    # correlation every 30 s: on PostgreSQL a step takes seconds over these
    # streams (in a thread of its own there, so ingest goes on); B runs one
    # as soon as it takes the duty
    return fake, ["--correlate-interval", "30", "--graph-tenant", TENANT,
                  "--graph-client-id", CLIENT, "--graph-secret-file", secret,
                  "--graph-authority-url", fake.base, "--graph-url", fake.base + "/v1.0",
                  "--graph-ca-bundle", fake.ca, "--graph-interval", "10", "--graph-timeout", "5"]


def main():
    global SRV
    SRV = pgserver.start_or_skip()
    setup()
    fake, gargs = graph_args()
    a = start_collector("A", extra=gargs)
    deadline = time.time() + 15
    while time.time() < deadline and not duties_taken("A.log"):
        time.sleep(0.1)
    held_a = duties_taken("A.log")
    check({"correlation", "retention", "graph (tenant %s)" % TENANT} <= set(held_a),
          "collector A (first up) took its duties: %s" % ", ".join(held_a))
    b = start_collector("B", extra=gargs)
    time.sleep(2.5)  # B polls at least twice and must find every duty taken
    check(duties_taken("B.log") == [], "collector B takes no duty while A holds them")
    h = holders()
    check(len(h) == len(held_a) and all(v == ["callscope-duty A"] for v in h.values()),
          "pg_locks: every duty lock granted to 'callscope-duty A' only (%s)" % h)
    sampler = Sampler()
    sampler.start()

    probes = [start_probe("p1"), start_probe("p2")]
    deadline = time.time() + 40
    before = 0
    while time.time() < deadline and before < 1000:
        time.sleep(0.2)
        before = int(SRV.scalar("SELECT COUNT(*) FROM streams"))
    n_tokens = len(fake.requests(TOKEN_PATH, "POST"))
    mono_kill = time.monotonic()
    a.send_signal(signal.SIGKILL)
    t_kill = time.time()
    a.wait()
    check(0 < before < 2 * PER_PROBE, "collector A killed mid-stream (%d of %d stored)" %
          (before, 2 * PER_PROBE))

    # duties: B's log and pg_locks
    took, resumed, corr, graph = None, None, None, None
    at_kill = int(SRV.scalar("SELECT COUNT(*) FROM streams"))
    # 40 s: the ASan build on a loaded machine
    while time.time() - t_kill < 40 and None in (took, resumed, corr, graph):
        now = time.time()
        # B's first Graph request is its token request: A took its token at
        # start and renews it only after ~55 min, so a token request after
        # the kill is B's (a time margin instead counted A's requests out but
        # also B's first cycle when B took the duty within it: 0.07 s seen)
        after = [e[0] for e in fake.requests(TOKEN_PATH, "POST")[n_tokens:]]
        if graph is None and after and "polling Microsoft Graph" in read("B.log"):
            graph = min(after) - mono_kill
        if corr is None and corr_steps("B.log")[0]:
            corr = now - t_kill
        if took is None and sorted(duties_taken("B.log")) == sorted(held_a):
            h = holders()
            if len(h) == len(held_a) and all(v == ["callscope-duty B"] for v in h.values()):
                took = now - t_kill
        if resumed is None and int(SRV.scalar("SELECT COUNT(*) FROM streams")) > at_kill:
            resumed = now - t_kill
        time.sleep(0.05)
    check(took is not None and took <= 10.0,
          "collector B took every duty within 10 s of the kill (%s s; B's log and pg_locks)" %
          ("%.2f" % took if took is not None else "never"))
    print("FIGURE: duties moved to B %.2f s after kill -9 of A" % took)
    check(corr is not None and corr <= 10.0,
          "correlation resumed on B within 10 s (first step began %s s after the kill)" %
          ("%.2f" % corr if corr is not None else "never"))
    print("FIGURE: first correlation step on B began %.2f s after kill -9 of A" % corr)
    check(graph is not None and graph <= 10.0,
          "Graph polling resumed on B within 10 s (first request %s s after the kill)" %
          ("%.2f" % graph if graph is not None else "never"))
    print("FIGURE: first Graph request from B %.2f s after kill -9 of A" % graph)
    lines = read("B.log").splitlines()
    polls = [i for i, l in enumerate(lines) if "polling Microsoft Graph" in l]
    taken = [i for i, l in enumerate(lines) if "duty graph (tenant" in l and " taken by " in l]
    check(len(polls) == 1 and taken and polls[0] > taken[0],
          "B started Graph polling once, after taking the duty")
    check(resumed is not None, "ingest resumed through B after the kill (%s s)" %
          ("%.2f" % resumed if resumed is not None else "never"))
    print("FIGURE: first row stored through B %.2f s after kill -9 of A" % resumed)

    for p in probes:
        p.wait(timeout=90)
    sampler.stop = True
    sampler.join()
    for i, p in enumerate(probes):
        log = read("p%d.log" % (i + 1))
        check(p.returncode == 0, "probe p%d drained and exited 0" % (i + 1))
        check("failing over to " + EP["B"] in log, "probe p%d failed over to B" % (i + 1))
        check("0 records lost" in log, "probe p%d lost nothing" % (i + 1))
    # B's correlation step over all 16000 streams (one large call) may run
    # for tens of seconds in the ASan build, and SIGTERM waits for it: the
    # store is what is checked, so B goes the way A went
    b.kill()
    b.wait(timeout=30)

    n, distinct = [int(x) for x in SRV.query(
        "SELECT COUNT(*), COUNT(DISTINCT (probe_id, ssrc)) FROM streams")[0]]
    check(n == distinct == 2 * PER_PROBE,
          "every record stored exactly once: %d rows, %d distinct (probe, ssrc), %d sent" %
          (n, distinct, 2 * PER_PROBE))
    per = dict((r[0], int(r[1])) for r in SRV.query(
        "SELECT probe_id, SUM(records) FROM batches GROUP BY probe_id"))
    check(per == {"p1": PER_PROBE, "p2": PER_PROBE},
          "the batches table, (probe, epoch, seq) unique, counts %s" % per)
    check(sampler.samples >= 5 and not sampler.bad,
          "no duty lock held twice or split between A and B in %d pg_locks samples%s" %
          (sampler.samples, (": " + "; ".join(sampler.bad[:3])) if sampler.bad else ""))
    for name in ("A", "B"):
        steps, taken = corr_steps(name + ".log")
        check(steps and taken is not None and min(steps) > taken,
              "%s ran correlation steps only after taking the duty (%d steps)" % (name, len(steps)))
    early = [l for l in read("B.log").splitlines() if " taken by " in l]
    check(len(early) == len(held_a), "B took each duty once (%d lines)" % len(early))


try:
    {"failover": main, "duty_restart": duty_restart, "sqlite_duties": sqlite_duties,
     "probe_options": probe_options}[CASE]()
finally:
    for p in PROCS:
        if p.poll() is None:
            p.kill()
    if SRV:
        SRV.stop()
print("PASS %s (work dir %s)" % (CASE, TMP))
