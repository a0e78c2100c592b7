#!/usr/bin/env python3
"""Hostile tests against the NOC HTTP server (label hostile;noc): real
'callscope-collector serve', real sockets on loopback.

  noc_hostile.py COLLECTOR FIXTURE WORKDIR slowloris
      64 slow connections from 4 addresses (127.0.0.2-5), one header line
      every 5 s: /healthz and an authenticated API call must answer in
      under a second meanwhile, and the slow connections must be closed.
  noc_hostile.py COLLECTOR FIXTURE WORKDIR slow_queries
      A store of CALLS calls; eight whole-history timelines and client
      lists at once: /healthz must answer in under a second meanwhile,
      and every slow request must end (answer or 503) within its limit.
Prints the figures (latencies) it asserts on.
"""
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

COLLECTOR, FIXTURE, WORKDIR, CASE = sys.argv[1:5]
CALLS = int(os.environ.get("HOSTILE_NOC_CALLS", "200000"))
os.makedirs(WORKDIR, exist_ok=True)
TMP = tempfile.mkdtemp(prefix="hostile-noc-%s-" % CASE, dir=WORKDIR)
DB = os.path.join(TMP, "collector.db")
ORGKEY = os.path.join(TMP, "org.key")
TOKEN_FILE = os.path.join(TMP, "noc.token")
TOKEN = "t0ken-%032x" % random.getrandbits(128)
PROCS = []
PORT = [0]

# CALLS calls over the last year, four sites, one participant each with one
# of 5,000 client addresses and Graph evidence naming an access point.
BULK = """
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %(calls)d)
INSERT INTO verdict_calls SELECT 'call-' || i, 'joined', 'site' || (i %% 4),
  strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ', 'now', '-' || (i * 150) || ' seconds'),
  strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ', 'now', '-' || (i * 150) || ' seconds', '+300 seconds'),
  CASE i %% 5 WHEN 0 THEN 'lan' WHEN 1 THEN 'wan' WHEN 2 THEN 'healthy' WHEN 3 THEN 'cloud'
  ELSE 'endpoint' END, 0.9, 'rec-' || i, 1, '2026-01-01T00:00:00Z',
  '{"rule":"fixture","graph":{"bssid":"aa:bb:cc:00:' || (i %% 97) || '","subnet":"10.' || (i %% 13) || '.0.0"}}'
  FROM n;
INSERT INTO verdict_participants(call_id, participant, site, client_ip_hmac, client_ip_enc, verdict, confidence, evidence)
  SELECT call_id, 'caller', site,
  pii_hash('ip', '10.9.' || (rowid %% 50) || '.' || (rowid %% 100)), NULL, verdict, 0.8, evidence
  FROM verdict_calls;
"""


def fail(msg):
    print("FAIL:", msg)
    for p in PROCS:
        if p.poll() is None:
            p.kill()
    print("--- serve log (tail) ---\n" + read_log()[-2000:])
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)
    print("ok:", msg)


def read_log():
    try:
        with open(os.path.join(TMP, "serve.log"), errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def setup(calls):
    r = subprocess.run([COLLECTOR, "org-keygen", "--tenant", "contoso.example", "--out", ORGKEY],
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        fail("org-keygen: " + r.stderr)
    fd = os.open(TOKEN_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, (TOKEN + "\n").encode())
    os.close(fd)
    # The tables come from the collector's own migrations (correlate on an
    # empty store creates them), never from a copy of their schema here.
    r = subprocess.run([COLLECTOR, "correlate", "--db", DB, "--org-key", ORGKEY, "--since", "60s"],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        fail("correlate (schema): " + r.stderr)
    sql = os.path.join(TMP, "fixture.sql")
    with open(sql, "w") as f:
        f.write(BULK % {"calls": calls} if calls else "SELECT 1;")
    t = time.monotonic()
    r = subprocess.run([FIXTURE, DB, ORGKEY, sql], capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        fail("fixture: " + r.stderr)
    print("store: %d calls written in %.1f s" % (calls, time.monotonic() - t))


def serve():
    import re
    logf = open(os.path.join(TMP, "serve.log"), "a")
    p = subprocess.Popen([COLLECTOR, "serve", "--db", DB, "--org-key", ORGKEY, "--token-file",
                          TOKEN_FILE, "--bind", "127.0.0.1:0", "--no-syslog"],
                         stdout=logf, stderr=logf)
    PROCS.append(p)
    deadline = time.time() + 30
    while time.time() < deadline:
        m = re.search(r"listening on port (\d+)", read_log())
        if m:
            PORT[0] = int(m.group(1))
            return p
        if p.poll() is not None:
            fail("serve exited at start: " + read_log())
        time.sleep(0.05)
    fail("serve did not start")


def timed_get(path, token=None, timeout=30):
    """(status or error text, seconds)."""
    h = {"Authorization": "Bearer " + token} if token else {}
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (PORT[0], path), headers=h)
    t = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            r.read()
            st = r.status
    except urllib.error.HTTPError as e:
        e.read()
        st = e.code
    except OSError as e:
        st = "error: %s" % e
    return st, time.monotonic() - t


def stop(p):
    if p.poll() is None:
        p.terminate()
    try:
        p.wait(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()


def case_slowloris():
    setup(0)
    p = serve()
    slow, closed = [], [0]
    for i in range(64):
        s = socket.socket()
        s.bind(("127.0.0.%d" % (2 + i % 4), 0))
        s.settimeout(5)
        try:
            s.connect(("127.0.0.1", PORT[0]))
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            slow.append(s)
        except OSError:
            s.close()
    print("slow connections open: %d from 4 addresses" % len(slow))
    stop_ev = threading.Event()

    def drip():
        while not stop_ev.wait(5):
            for s in list(slow):
                try:
                    s.sendall(b"X-Slow: %d\r\n" % random.getrandbits(16))
                except OSError:
                    slow.remove(s)
                    closed[0] += 1
                    s.close()

    th = threading.Thread(target=drip, daemon=True)
    th.start()
    worst_h = worst_a = 0.0
    t_end = time.monotonic() + 16
    n = 0
    while time.monotonic() < t_end:
        st, dt = timed_get("/healthz", timeout=10)
        worst_h = max(worst_h, dt)
        check(st == 200, "/healthz answers during the attack (%s, %.3f s)" % (st, dt)) if n == 0 else None
        if st != 200:
            fail("/healthz: %s after %.3f s" % (st, dt))
        st, dt = timed_get("/api/calls?limit=1", token=TOKEN, timeout=10)
        worst_a = max(worst_a, dt)
        if st != 200:
            fail("/api/calls: %s after %.3f s" % (st, dt))
        n += 1
        time.sleep(0.5)
    stop_ev.set()
    print("during 16 s of slowloris (64 connections): worst /healthz %.3f s, worst /api/calls %.3f s"
          " over %d rounds; %d slow connections closed by the server" % (worst_h, worst_a, n, closed[0]))
    check(worst_h < 1.0 and worst_a < 1.0, "both answer in under a second throughout")
    # the header deadline (10 s) has passed: the server has closed them
    alive = 0
    for s in slow:
        try:
            s.sendall(b"X-Slow: 1\r\n")
            s.settimeout(0.5)
            if s.recv(1) != b"":
                alive += 1
        except socket.timeout:
            alive += 1
        except OSError:
            pass
        s.close()
    check(alive == 0, "every slow connection was closed at its header deadline (%d left)" % alive)
    stop(p)
    m = [l for l in read_log().splitlines() if "error" in l.lower()]
    check(not m, "no error logged")


def case_slow_queries():
    setup(CALLS)
    p = serve()
    heavy = ["/api/sites/site1?since=0&bucket=60", "/api/clients?since=0&limit=1000"] * 4
    st, one = timed_get(heavy[0], token=TOKEN, timeout=120)
    print("one whole-history timeline alone: %s in %.2f s" % (st, one))
    st, one_c = timed_get(heavy[1], token=TOKEN, timeout=120)
    print("one /api/clients?since=0&limit=1000 alone: %s in %.2f s" % (st, one_c))
    results = []

    def run(path):
        results.append((path,) + timed_get(path, token=TOKEN, timeout=120))

    ths = [threading.Thread(target=run, args=(x,)) for x in heavy]
    for t in ths:
        t.start()
    time.sleep(0.2)
    worst = 0.0
    t_end = time.monotonic() + 4
    while time.monotonic() < t_end:
        st, dt = timed_get("/healthz", timeout=60)
        worst = max(worst, dt)
        if st != 200:
            fail("/healthz: %s after %.2f s" % (st, dt))
        time.sleep(0.2)
    for t in ths:
        t.join()
    codes = sorted(str(r[1]) for r in results)
    longest = max(r[2] for r in results)
    print("with eight heavy requests at once: worst /healthz %.3f s; heavy answers %s, longest %.2f s"
          % (worst, " ".join(codes), longest))
    check(worst < 1.0, "/healthz answers in under a second meanwhile")
    check(all(r[1] in (200, 503) for r in results), "each heavy request is answered (200) or refused (503)")
    check(longest < 12.0, "no heavy request runs past its limits (%.2f s)" % longest)
    st, dt = timed_get("/api/calls?limit=5", token=TOKEN)
    check(st == 200 and dt < 1.0, "a small API call still answers at once (%.3f s)" % dt)
    stop(p)


def case_dashboard_fragment():
    """12. A malformed %-escape in the dashboard's # fragment throws nothing."""
    exe = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                if shutil.which(n)), None)
    if not exe:
        print("SKIP: chromium not installed (apt-get install chromium)")
        sys.exit(77)
    setup(0)
    p = serve()
    url = "http://127.0.0.1:%d/#token=%s&site=%%E0%%A4%%A&call=%%zz&%%=1" % (PORT[0], TOKEN)
    r = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                        "--no-first-run", "--disable-extensions", "--disable-background-networking",
                        "--disable-sync", "--disable-component-update",
                        "--user-data-dir=" + os.path.join(TMP, "chrome"), "--proxy-server=direct://",
                        "--proxy-bypass-list=*", "--enable-logging=stderr", "--v=0",
                        "--virtual-time-budget=5000", "--dump-dom", url],
                       capture_output=True, text=True, timeout=90)
    console = [l for l in r.stderr.splitlines() if "CONSOLE" in l]
    print("\n".join(console[:10]))
    check(r.returncode == 0 and "<html" in r.stdout, "chromium dumped the page")
    check(not [l for l in console if "URIError" in l or "Uncaught" in l],
          "no Uncaught URIError from the malformed fragment")
    check('data-state="ready"' in r.stdout, "the page still loads with the token it could read")
    stop(p)


try:
    {"slowloris": case_slowloris, "slow_queries": case_slow_queries,
     "dashboard_fragment": case_dashboard_fragment}[CASE]()
finally:
    for p in PROCS:
        if p.poll() is None:
            p.kill()
    shutil.rmtree(TMP, ignore_errors=True)
