#!/usr/bin/env python3
"""NOC outputs of callscope-collector serve: real processes, real HTTP(S) on
127.0.0.1, a store written through the collector's own store code
(noc_fixture). One case per invocation:

  noc_test.py COLLECTOR FIXTURE WORKDIR CASE

Exit 0 pass, 1 fail, 77 skipped (with a message).
"""
import datetime
import http.server
import json
import os
import random
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import noc_chrome  # noqa: E402  (beside this file)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import noc_scenario  # noqa: E402  (tests/lib)

COLLECTOR, FIXTURE, WORKDIR, CASE = sys.argv[1:5]
os.makedirs(WORKDIR, exist_ok=True)
TMP = tempfile.mkdtemp(prefix="noc-%s-" % CASE, dir=WORKDIR)
DB = os.path.join(TMP, "collector.db")
ORGKEY = os.path.join(TMP, "org.key")
TOKEN_FILE = os.path.join(TMP, "noc.token")
TOKEN = "t0ken-%032x" % random.getrandbits(128)
PROCS = []
CLIENT_IP = "10.1.0.5"


def fail(msg):
    print("FAIL:", msg)
    for p in PROCS:
        if p.poll() is None:
            p.kill()
    if PROCS:
        print("--- serve log ---\n" + read_log())
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)
    print("ok:", msg)


def skip(msg):
    print("SKIP:", msg)
    sys.exit(77)


iso, ago, NOW = noc_scenario.iso, noc_scenario.ago, noc_scenario.NOW


# ---- fixture ------------------------------------------------------------------

HISTORY_SQL = """
CREATE TABLE IF NOT EXISTS verdict_history(id INTEGER PRIMARY KEY, call_id TEXT NOT NULL,
  at TEXT NOT NULL, verdict TEXT NOT NULL, confidence REAL NOT NULL, source TEXT NOT NULL,
  provisional INTEGER NOT NULL, rule TEXT);
INSERT INTO verdict_history(call_id, at, verdict, confidence, source, provisional, rule)
  VALUES('call-hq-lan', '2026-01-15T10:05:00.000000Z', 'lan', 0.7, 'wire-only', 1,
         'outbound loss at the probe'),
        ('call-hq-lan', '2026-01-15T10:40:00.000000Z', 'lan', 0.9, 'joined', 0,
         'outbound-loss-at-probe');
"""

# the rows as ingest and correlation write them: tests/lib/noc_scenario.py
q, evidence, call_sql = noc_scenario.q, noc_scenario.evidence, noc_scenario.call_sql
participant_sql, stream_sql = noc_scenario.participant_sql, noc_scenario.stream_sql
vstream_sql = noc_scenario.vstream_sql


def interval_sql(*args, **kw):
    """noc_scenario.interval_sql without ports, sealed with the bare column
    names, as this scenario always was."""
    return noc_scenario.interval_sql(*args, ports=(None, None), seal="", **kw)


# The call-hq-lan outbound stream (ssrc 1) in 10 s intervals over its 5 minutes:
# clean but for a 40 s burst of 20 % loss from the 120th second.
BURST = range(12, 16)


def timeline_fixture():
    t0 = NOW - datetime.timedelta(minutes=30)
    sql = ""
    for k in range(30):
        loss = 20.0 if k in BURST else 0.0
        sql += interval_sql("probe-hq", "hq", 1, t0 + datetime.timedelta(seconds=10 * k), 10,
                            loss, 45.0 if k in BURST else 4.0, NOW - datetime.timedelta(minutes=25))
    # the same SSRC from another probe: not this stream's
    sql += interval_sql("probe-other", "hq", 1, t0, 10, 50.0, 4.0, NOW - datetime.timedelta(minutes=25))
    return sql


def live_fixture(now=NOW, iv=10):
    """Calls in progress at hq (3: one with outbound loss, one with inbound loss, one clean)
    and at branch (1 clean), in iv-second intervals (live for 2.5 of them, at least 30 s:
    the Chromium case takes longer than that on a loaded machine); a stream whose records
    stopped 2 minutes ago is not live."""
    r = lambda secs: now - datetime.timedelta(seconds=secs)
    a = lambda k: r(3 * iv + 5 - iv * k)  # noqa: E731  start of interval k
    b = lambda k: r(2 * iv + 5 - iv * k)  # noqa: E731  received: the newest 5 s ago
    sql = ""
    for k in range(3):  # three intervals each
        sql += interval_sql("probe-hq", "hq", 101, a(k), iv, 8.0 if k == 2 else 0.0, 5.0,
                            b(k), "outbound", "10.1.0.21", "52.112.0.1")
        sql += interval_sql("probe-hq", "hq", 102, a(k), iv, 0.0, 5.0, b(k),
                            "inbound", "52.112.0.1", "10.1.0.21")
        sql += interval_sql("probe-hq", "hq", 103, a(k), iv, 0.0, 5.0, b(k),
                            "outbound", "10.1.0.22", "52.112.0.1")
        sql += interval_sql("probe-hq", "hq", 104, a(k), iv, 12.0, 5.0, b(k),
                            "inbound", "52.112.0.1", "10.1.0.22")
        sql += interval_sql("probe-hq", "hq", 105, a(k), iv, 0.0, 5.0, b(k),
                            "outbound", "10.1.0.23", "52.112.0.1")
        sql += interval_sql("probe-br", "branch", 201, a(k), iv, 0.0, 5.0,
                            b(k), "outbound", "10.2.0.21", "52.112.0.1")
    sql += interval_sql("probe-hq", "hq", 106, r(130), 10, 30.0, 5.0, r(120), "outbound",
                        "10.1.0.24", "52.112.0.1")
    return sql


def base_fixture():
    wire_bad = {"loss_pct": 6.5, "jitter_ms_max": 48.0, "network_jitter_ms_max": 41.0,
                "mos": 2.9, "packets": 3000}
    graph_bad = {"avg_loss_pct": 7.0, "avg_jitter_ms": 38.0, "max_jitter_ms": 55, "bssid": "aa:bb:cc:00:11:22",
                 "subnet": "10.1.0.0", "connection_type": "wifi", "wifi_signal": -71}
    # The verdict tables come from the collector's own migrations (correlate
    # on the store), never from a copy of their schema that would drift.
    r = subprocess.run([COLLECTOR, "correlate", "--db", DB, "--org-key", ORGKEY, "--since", "60s"],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        fail("correlate (schema): " + r.stderr)
    sql = ""
    # hq: lan (wifi client), healthy, wan; branch: wan, endpoint; a call with broken evidence.
    sql += call_sql("call-hq-lan", "hq", "lan", 30, ev=evidence("outbound-loss-at-probe",
                                                                 wire_bad, graph_bad))
    ev_p = evidence("outbound-loss-at-probe", wire_bad, graph_bad)
    sql += participant_sql("call-hq-lan", "caller", "hq", CLIENT_IP, "lan", ev_p)
    sql += participant_sql("call-hq-lan", "callee", None, None, "healthy", evidence("clean"))
    sql += stream_sql(1, "hq", CLIENT_IP, 30, 6.5, 48.0, 2.9)
    sql += stream_sql(2, "hq", CLIENT_IP, 30, 0.1, 4.0, 4.3, "inbound")
    sql += vstream_sql("call-hq-lan", "caller", 1, "lan", evidence("outbound-loss-at-probe",
                                                                   wire_bad, graph_bad))
    sql += vstream_sql("call-hq-lan", "caller", 2, "healthy", evidence("clean"), "inbound")
    sql += call_sql("call-hq-ok", "hq", "healthy", 90)
    sql += participant_sql("call-hq-ok", "caller", "hq", "10.1.0.7", "healthy",
                           evidence("clean", {"loss_pct": 0.0}, {"subnet": "10.1.0.0"}))
    sql += stream_sql(3, "hq", "10.1.0.7", 90, 0.0, 3.0, 4.4)
    sql += vstream_sql("call-hq-ok", "caller", 3, "healthy", evidence("clean"))
    sql += call_sql("call-hq-wan", "hq", "wan", 200, source="wire-only")
    sql += participant_sql("call-hq-wan", "caller", "hq", CLIENT_IP, "wan", evidence("inbound"))
    sql += call_sql("call-br-wan", "branch", "wan", 45)
    sql += participant_sql("call-br-wan", "caller", "branch", "10.2.0.9", "wan",
                           evidence("inbound", None, {"subnet": "10.2.0.0"}))
    sql += stream_sql(4, "branch", "10.2.0.9", 45, 3.0, 70.0, 3.1, "inbound")
    sql += call_sql("call-br-endpoint", "branch", "endpoint", 60, source="cloud-only")
    sql += call_sql("call-odd", None, "unknown", 20, conf=0.1, ev="{not json")
    sql += participant_sql("call-odd", "caller", None, "10.3.0.1", "unknown", "also not json")
    # probe-hq beat 20 s ago; probe-gone stopped 3 minutes ago, connected and spooling then
    sql += ("INSERT INTO probes VALUES('probe-gone', 'branch', '0.1.0', %s, %s, %s, %s);\n" %
            (q(ago(60)), q(ago(3)), q(ago(3)),
             q(json.dumps({"probe": {"dropped": 1, "pcap": {"kernel_dropped": 0}},
                           "export": {"connected": True, "spool": {"batches": 9,
                                                                   "bytes": 99999}}}))))
    sql += ("INSERT INTO probes VALUES('probe-hq', 'hq', '0.1.0', %s, %s, %s, %s);\n" %
            (q(iso(NOW)), q(iso(NOW)), q(iso(NOW - datetime.timedelta(seconds=20))),
             q(json.dumps({"probe": {"dropped": 12, "pcap": {"kernel_dropped": 3,
                                                              "iface_dropped": 0}},
                           "export": {"connected": True, "spool": {"batches": 4,
                                                                   "bytes": 8192}}}))))
    sql += timeline_fixture() + live_fixture() + HISTORY_SQL
    fixture(sql)


def fixture(sql):
    path = os.path.join(TMP, "fixture-%d.sql" % random.getrandbits(32))
    with open(path, "w") as f:
        f.write(sql)
    r = subprocess.run([FIXTURE, DB, ORGKEY, path], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        fail("fixture: " + r.stderr)


def setup(with_fixture=True):
    r = subprocess.run([COLLECTOR, "org-keygen", "--tenant", "contoso.example", "--out", ORGKEY],
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        fail("org-keygen: " + r.stderr)
    fd = os.open(TOKEN_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, (TOKEN + "\n").encode())
    os.close(fd)
    if with_fixture:
        base_fixture()


# ---- the server ------------------------------------------------------------------

LOG = os.path.join(TMP, "serve.log")
PORT = [0]
SCHEME = ["http"]


def read_log():
    try:
        with open(LOG) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def serve(extra=(), tls=False):
    logf = open(LOG, "a")
    seen = len(read_log())
    p = subprocess.Popen([COLLECTOR, "serve", "--db", DB, "--org-key", ORGKEY, "--token-file",
                          TOKEN_FILE, "--bind", "127.0.0.1:0", "--no-syslog"] + list(extra),
                         stdout=logf, stderr=logf)
    PROCS.append(p)
    SCHEME[0] = "https" if tls else "http"
    deadline = time.time() + 20
    while time.time() < deadline:
        m = re.search(r"listening on port (\d+)", read_log()[seen:])
        if m:
            PORT[0] = int(m.group(1))
            return p
        if p.poll() is not None:
            fail("serve exited at start (%d): %s" % (p.returncode, read_log()))
        time.sleep(0.05)
    fail("serve did not start")


def stop(p):
    if p.poll() is None:
        p.terminate()
    rc = p.wait(timeout=20)
    check(rc == 0, "serve exits 0 on SIGTERM")


CTX = [None]


def get(path, token=TOKEN, method="GET", data=None, headers=None):
    """(status, headers, body bytes)."""
    url = "%s://127.0.0.1:%d%s" % (SCHEME[0], PORT[0], path)
    h = dict(headers or {})
    if token:
        h["Authorization"] = "Bearer " + token
    req = urllib.request.Request(url, method=method, data=data, headers=h)
    try:
        with urllib.request.urlopen(req, timeout=15, context=CTX[0]) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def get_json(path, **kw):
    st, hd, body = get(path, **kw)
    try:
        return st, json.loads(body)
    except ValueError:
        fail("%s: answer is not JSON (%d): %r" % (path, st, body[:200]))


def qs(**kw):
    return "?" + urllib.parse.urlencode(kw)


# ---- cases --------------------------------------------------------------------------

def case_auth():
    setup()
    p = serve()
    for path in ("/api/calls", "/api/calls/call-hq-lan", "/api/sites", "/api/sites/hq",
                 "/api/clients", "/metrics"):
        st, hd, body = get(path, token=None)
        check(st == 401, "%s without a token: 401" % path)
        check(json.loads(body).get("status") == 401, "%s: 401 has a JSON error" % path)
        check(hd.get("WWW-Authenticate", "").startswith("Bearer"), "%s: WWW-Authenticate" % path)
        st, _, _ = get(path, token=TOKEN + "x")
        check(st == 401, "%s with a wrong token: 401" % path)
        st, _, _ = get(path, token=TOKEN[:-1])
        check(st == 401, "%s with a token one character short: 401" % path)
        st, _, _ = get(path)
        check(st == 200, "%s with the token: 200" % path)
    st, _, _ = get("/api/calls", token=None, headers={"Authorization": "Basic " + TOKEN})
    check(st == 401, "Basic scheme refused")
    st, _, _ = get("/healthz", token=None)
    check(st == 200, "/healthz needs no token")
    st, hd, body = get("/", token=None)
    check(st == 200 and b"callscope" in body, "dashboard page served without a token")
    check("default-src 'none'" in hd.get("Content-Security-Policy", ""), "dashboard has a CSP")
    check(b"10.1.0.5" not in body, "dashboard page itself carries no data")
    st, _, body = get("/app.js", token=None)
    check(st == 200 and b"sessionStorage" in body, "app.js served")
    log = read_log()
    check(TOKEN not in log and CLIENT_IP not in log, "neither token nor client address logged")
    stop(p)


def ids(body):
    return sorted(c["call_id"] for c in body["calls"])


def case_filters():
    setup()
    p = serve()
    st, b = get_json("/api/calls")
    check(st == 200 and len(b["calls"]) == 6, "all 6 calls listed")
    check(b["calls"][0]["call_id"] == "call-odd", "newest first")
    check(b["calls"][0]["rule"] is None, "broken evidence JSON gives rule null, not an error")
    byid = {c["call_id"]: c for c in b["calls"]}
    lan = byid["call-hq-lan"]
    check(lan["worst_loss_pct"] == 6.5 and lan["worst_jitter_ms"] == 24.0 and
          lan["worst_mos"] == 2.9, "worst loss, jitter (network jitter first), MOS (%s)" % lan)
    check(byid["call-odd"]["worst_loss_pct"] is None, "no probe streams: worst figures null")
    st, b = get_json("/api/calls" + qs(site="hq"))
    check(ids(b) == ["call-hq-lan", "call-hq-ok", "call-hq-wan"], "site=hq")
    st, b = get_json("/api/calls" + qs(verdict="wan"))
    check(ids(b) == ["call-br-wan", "call-hq-wan"], "verdict=wan")
    st, b = get_json("/api/calls" + qs(site="hq", verdict="wan"))
    check(ids(b) == ["call-hq-wan"], "site=hq&verdict=wan")
    st, b = get_json("/api/calls" + qs(client=CLIENT_IP))
    check(ids(b) == ["call-hq-lan", "call-hq-wan"], "client=%s (by its lookup hash)" % CLIENT_IP)
    st, b = get_json("/api/calls" + qs(client="::ffff:10.1.0.5"))
    check(st in (200, 400), "client as IPv4-mapped IPv6 answered (%d)" % st)
    st, b = get_json("/api/calls" + qs(client="10.1.0.99"))
    check(st == 200 and b["calls"] == [], "unknown client: no calls")
    st, b = get_json("/api/calls" + qs(since=ago(70)))
    check(ids(b) == ["call-br-endpoint", "call-br-wan", "call-hq-lan", "call-odd"],
          "since=70 minutes ago")
    st, b = get_json("/api/calls" + qs(until=ago(50), since=ago(100)))
    check(ids(b) == ["call-br-endpoint", "call-hq-ok"], "since and until")
    secs = int((NOW - datetime.timedelta(minutes=70)).timestamp())
    st, b = get_json("/api/calls" + qs(since=str(secs)))
    check(len(b["calls"]) == 4, "since as seconds since 1970")
    st, b = get_json("/api/calls" + qs(limit=2))
    check(len(b["calls"]) == 2 and b["more"] is True, "limit=2: two and more=true")
    st, b2 = get_json("/api/calls" + qs(limit=2, offset=2))
    check(len(b2["calls"]) == 2 and set(ids(b)).isdisjoint(ids(b2)), "offset pages on")
    st, b = get_json("/api/calls" + qs(limit=2, offset=4))
    check(len(b["calls"]) == 2 and b["more"] is False, "last page: more=false")
    stop(p)


def case_call():
    setup()
    p = serve()
    st, b = get_json("/api/calls/call-hq-lan")
    check(st == 200, "call evidence 200")
    c = b["call"]
    check(c["verdict"] == "lan" and c["source"] == "joined" and c["site"] == "hq", "call row")
    check(c["evidence"]["rule"] == "outbound-loss-at-probe", "evidence parsed as JSON")
    check(c["evidence"]["wire"]["loss_pct"] == 6.5, "wire evidence figures")
    parts = {x["participant"]: x for x in b["participants"]}
    check(set(parts) == {"caller", "callee"}, "both participants")
    check(parts["caller"]["client_ip"] == CLIENT_IP, "client address opened for the token holder")
    check(re.fullmatch(r"[0-9a-f]{16}", parts["caller"]["client_id"] or ""), "pseudonymous id")
    check(parts["callee"]["client_ip"] is None, "participant without address: null")
    check(parts["caller"]["evidence"]["graph"]["bssid"] == "aa:bb:cc:00:11:22", "graph evidence")
    ss = b["streams"]
    check(len(ss) == 2, "two verdict streams")
    out = [s for s in ss if s["direction"] == "outbound"][0]
    check(out["probe"] is not None and out["probe"]["loss_pct"] == 6.5, "probe stream joined")
    check(out["probe"]["record"]["ssrc"] == 1, "probe's stream record included")
    check(out["probe"]["client_ip"] == CLIENT_IP, "probe stream address opened")
    check(out["graph_stream_rid"] == 7 and out["verdict"] == "lan", "verdict stream columns")
    h = b["history"]
    check([(x["source"], x["provisional"]) for x in h] == [("wire-only", True), ("joined", False)],
          "verdict history: provisional wire verdict, then with Graph")
    st, b = get_json("/api/calls/call-odd")
    check(st == 200 and b["call"]["evidence"] is None, "broken evidence JSON shown as null")
    check(b["history"] == [], "no history: empty list")
    check(b["participants"][0]["client_ip"] == "10.3.0.1", "odd call's participant")
    st, b = get_json("/api/calls/no-such-call")
    check(st == 404 and "error" in b, "unknown call: 404 JSON")
    st, b = get_json("/api/calls/" + urllib.parse.quote("a\x01b"))
    check(st == 400, "control character in call id: 400")
    stop(p)


def case_timeline():
    setup()
    p = serve()
    st, b = get_json("/api/calls/call-hq-lan/timeline")
    check(st == 200, "timeline 200")
    check(b["call_id"] == "call-hq-lan" and b["verdict"] == "lan", "timeline names the call")
    check(b["thresholds"]["loss_pct"] == 2.0, "thresholds from the call's evidence")
    ss = {s["direction"]: s for s in b["streams"]}
    out = ss["outbound"]
    iv = out["intervals"]
    check(len(iv) == 30, "30 intervals of the outbound stream (%d)" % len(iv))
    check(all(iv[k]["t"] < iv[k + 1]["t"] for k in range(29)), "intervals in time order")
    bad = [k for k, x in enumerate(iv) if x["loss_pct"] > 2]
    check(bad == list(BURST), "the burst is in intervals 12-15 (%s)" % bad)
    t0 = NOW - datetime.timedelta(minutes=30)
    check(abs(iv[12]["t"] - (t0.timestamp() + 120)) < 0.01, "the burst starts 120 s in")
    check(abs(iv[0]["dur_s"] - 10) < 0.01 and abs(iv[0]["bitrate_kbps"] - 48.0) < 0.01,
          "interval length and bitrate")
    check(iv[12]["jitter_ms_max"] == 45.0 and iv[0]["mos"] is None, "jitter; MOS null when absent")
    check(out["wire"]["loss_pct"] == 6.5, "whole-stream wire figure as reference")
    check(out["graph"]["avg_loss_pct"] == 7.0, "Graph's whole-call figure as reference")
    check(out["truncated"] is False, "not truncated")
    check(len(ss["inbound"]["intervals"]) == 0, "the inbound stream had no interval records")
    st, b = get_json("/api/calls/call-odd/timeline")
    check(st == 200 and b["streams"] == [], "a call without streams: empty timeline")
    check(b["thresholds"]["wire_loss_pct"] == 1.0, "default thresholds without evidence")
    st, b = get_json("/api/calls/no-such/timeline")
    check(st == 404, "unknown call: 404")
    st, hd, body = get("/api/calls/call-hq-lan/timeline", token=None)
    check(st == 401, "timeline needs the token")
    st, b = get_json("/api/calls/call-hq-lan/timeline?since=1")
    check(st == 400, "timeline takes no parameters")
    st, b = get_json("/api/calls//timeline")
    check(st in (400, 404), "empty call id refused (%d)" % st)
    stop(p)


def case_live():
    setup()
    p = serve()
    st, b = get_json("/api/live")
    check(st == 200, "live 200")
    sites = {s["site"]: s for s in b["sites"]}
    check(set(sites) == {"hq", "branch"}, "live sites: hq and branch (%s)" % sorted(sites))
    hq = sites["hq"]
    check(hq["active_calls"] == 3, "hq: 3 calls in progress (%d)" % hq["active_calls"])
    check(hq["degraded_calls"] == 2 and hq["lan_degraded"] == 1 and hq["wan_degraded"] == 1,
          "hq: 2 degraded now, 1 on the LAN side, 1 on the WAN side (%s)" % hq)
    check(hq["streams"] == 5, "hq: 5 live streams (the stopped one is not)")
    check(sites["branch"]["active_calls"] == 1 and sites["branch"]["degraded_calls"] == 0,
          "branch: 1 clean call")
    calls = [c for c in b["calls"] if c["site"] == "hq"]
    check(all(c["provisional"] is True for c in b["calls"]), "verdicts marked provisional")
    check(sorted(c["verdict"] for c in calls) == ["healthy", "lan", "wan"],
          "provisional verdicts lan, wan, healthy")
    check(all(re.fullmatch(r"live:[0-9a-f]{16}", c["live_id"]) for c in calls), "pseudonymous ids")
    check("10.1.0.2" not in json.dumps(b), "no addresses in the live answer")
    st, b = get_json("/api/live" + qs(site="branch"))
    check([s["site"] for s in b["sites"]] == ["branch"], "site filter")
    st, b = get_json("/api/live" + qs(since=ago(5)))
    check(st == 400, "live takes only site")
    stop(p)


def case_summaries():
    setup()
    p = serve()
    st, b = get_json("/api/sites")
    sites = {s["site"]: s for s in b["sites"]}
    check(set(sites) == {"hq", "branch", ""}, "sites listed (no site as '')")
    check(sites["hq"]["calls"] == 3 and sites["hq"]["bad"] == 2, "hq: 3 calls, 2 bad")
    check(sites["hq"]["verdicts"] == {"lan": 1, "wan": 1, "endpoint": 0, "cloud": 0,
                                      "healthy": 1, "unknown": 0}, "hq verdict counts")
    check(sites["branch"]["verdicts"]["endpoint"] == 1, "branch endpoint count")
    st, b = get_json("/api/sites" + qs(since=ago(100)))
    check({s["site"]: s["calls"] for s in b["sites"]}["hq"] == 2, "site summary window")
    st, b = get_json("/api/sites" + qs(since="100m"))
    check({s["site"]: s["calls"] for s in b["sites"]}["hq"] == 2, "relative since=100m")
    st, b = get_json("/api/sites" + qs(since="24h", until="50m"))
    check(st == 200 and sum(s["calls"] for s in b["sites"]) == 3, "since=24h until=50m: 3 calls (%s)" % b)
    for bad in ("24x", "h", "-5m", "0h", "99999999w"):
        st, b = get_json("/api/sites" + qs(since=bad))
        check(st == 400 and "since" in b["error"], "since=%s refused" % bad)
    st, b = get_json("/api/sites/hq" + qs(bucket=3600))
    check(st == 200 and b["calls"] == 3, "hq summary")
    check(sum(t["calls"] for t in b["timeline"]) == 3, "timeline adds up")
    check(all(t["t"] % 3600 == 0 for t in b["timeline"]), "timeline buckets aligned")
    wc = b["worst_clients"]
    check(wc[0]["client_ip"] == CLIENT_IP and wc[0]["bad"] == 2 and wc[0]["calls"] == 2,
          "worst client first, address opened")
    check(b["worst_access_points"][0]["bssid"] == "aa:bb:cc:00:11:22", "worst access point")
    check(b["worst_subnets"][0]["subnet"] == "10.1.0.0" and b["worst_subnets"][0]["calls"] == 2,
          "worst subnet")
    st, b = get_json("/api/sites/nowhere")
    check(st == 404, "unknown site: 404")
    st, b = get_json("/api/clients")
    check(b["clients"][0]["client_ip"] == CLIENT_IP, "clients: worst first")
    check(len(b["clients"]) == 4, "clients: every address")
    st, b = get_json("/api/clients" + qs(client=CLIENT_IP))
    check(len(b["clients"]) == 1 and b["clients"][0]["verdicts"]["wan"] == 1, "one client")
    st, b = get_json("/api/clients" + qs(site="branch"))
    check([c["client_ip"] for c in b["clients"]] == ["10.2.0.9"], "clients at one site")
    stop(p)


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*"'
                    r'(,[a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*")*)?\})? '
                    r'(-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$')
META = re.compile(r"^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$")


def parse_metrics(text):
    """{series line without value: value}; fails on any invalid line."""
    out, types, seen_family = {}, {}, []
    for line in text.splitlines():
        if not line:
            fail("empty line in exposition")
        m = META.match(line)
        if m:
            if m.group(1) == "TYPE":
                check_type = m.group(3)
                if check_type not in ("counter", "gauge", "histogram", "summary", "untyped"):
                    fail("bad TYPE line: " + line)
                if m.group(2) in types:
                    fail("family declared twice: " + m.group(2))
                types[m.group(2)] = check_type
                seen_family.append(m.group(2))
            continue
        if line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            fail("invalid exposition line: %r" % line)
        name = m.group(1)
        fam = re.sub(r"_(bucket|sum|count)$", "", name) if name not in types else name
        if fam not in types:
            fail("sample without TYPE: " + line)
        if seen_family[-1] != fam:
            fail("family %s not contiguous" % fam)
        key = line.rsplit(" ", 1)[0]
        if key in out:
            fail("duplicate series: " + key)
        out[key] = float(line.rsplit(" ", 1)[1])
    return out


def case_metrics():
    setup()
    p = serve()
    st, hd, body = get("/metrics")
    check(st == 200 and hd.get("Content-Type", "").startswith("text/plain; version=0.0.4"),
          "metrics content type")
    m = parse_metrics(body.decode())
    check(m.get('callscope_verdict_calls{site="hq",verdict="lan"}') == 1, "verdict count hq/lan")
    check(m.get('callscope_verdict_calls{site="branch",verdict="wan"}') == 1, "branch/wan")
    check(m.get("callscope_verdict_tables") == 1, "verdict tables present")
    check(m.get('callscope_stream_loss_pct_bucket{site="hq",le="+Inf"}') == 3, "hq loss +Inf")
    check(m.get('callscope_stream_loss_pct_bucket{site="hq",le="5"}') == 2, "hq loss <= 5")
    check(m.get('callscope_stream_loss_pct_count{site="hq"}') == 3, "hq loss count")
    check(abs(m.get('callscope_stream_loss_pct_sum{site="hq"}', 0) - 6.6) < 1e-9, "hq loss sum")
    check(m.get('callscope_stream_mos_bucket{site="branch",le="3.5"}') == 1, "branch mos bucket")
    check('callscope_stream_jitter_ms_max_bucket{site="branch",le="100"}' in m, "jitter")
    check(m.get('callscope_probe_decode_dropped{probe="probe-hq",site="hq"}') == 12, "decode")
    check(m.get('callscope_probe_capture_dropped{probe="probe-hq",site="hq",where="kernel"}')
          == 3, "capture drops")
    check(m.get('callscope_probe_spool_batches{probe="probe-hq",site="hq"}') == 4, "spool")
    check(m.get('callscope_probe_connected{probe="probe-hq",site="hq"}') == 1, "connected")
    age = m.get('callscope_probe_heartbeat_age_seconds{probe="probe-hq",site="hq"}')
    check(age is not None and 15 < age < 55, "heartbeat age about 20 s (%s)" % age)
    check(m.get('callscope_probe_stale{probe="probe-hq",site="hq"}') == 0, "probe-hq current")
    gone = '{probe="probe-gone",site="branch"}'
    check(m.get("callscope_probe_stale" + gone) == 1, "stopped heartbeats: probe stale")
    check(m.get("callscope_probe_connected" + gone) == 0, "stale probe reads disconnected")
    check("callscope_probe_spool_batches" + gone not in m and
          "callscope_probe_spool_bytes" + gone not in m and
          "callscope_probe_decode_dropped" + gone not in m, "stale probe's old spool left out")
    check(m.get("callscope_probe_heartbeat_age_seconds" + gone, 0) > 170, "its age keeps growing")
    check("callscope_alerts_checks_total" in m, "alert counters present")
    check('callscope_noc_http_responses_total{code="200"}' not in m or True, "http counters")
    # New streams are added to the histograms between scrapes (counters).
    fixture(stream_sql(10, "hq", "10.1.0.8", 5, 0.3, 9.0, 4.2))
    st, hd, body = get("/metrics")
    m2 = parse_metrics(body.decode())
    check(m2.get('callscope_stream_loss_pct_count{site="hq"}') == 4, "histogram grows")
    check(m2.get('callscope_noc_http_responses_total{code="200"}', 0) >= 1, "http 200 counted")
    text = body.decode()
    check(CLIENT_IP not in text and "10.1.0.8" not in text, "no addresses in /metrics")
    stop(p)


def case_metrics_open():
    setup()
    p = serve(["--metrics-open"])
    st, _, body = get("/metrics", token=None)
    check(st == 200, "--metrics-open: /metrics without a token")
    parse_metrics(body.decode())
    st, _, _ = get("/api/calls", token=None)
    check(st == 401, "--metrics-open: the API still needs the token")
    stop(p)


BAD = [
    "/api/calls?since=yesterday", "/api/calls?until=2026-13-45T99:00:00Z",
    "/api/calls?since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z",
    "/api/calls?verdict=terrible", "/api/calls?client=not-an-ip", "/api/calls?client=10.1.0.300",
    "/api/calls?limit=0", "/api/calls?limit=100000", "/api/calls?limit=-1", "/api/calls?limit=1e3",
    "/api/calls?offset=x", "/api/calls?offset=99999999999999999999", "/api/calls?site=",
    "/api/calls?site=" + "x" * 300, "/api/calls?site=hq&site=branch", "/api/calls?nonsense=1",
    "/api/calls?bucket=3600", "/api/calls?site=a%00b", "/api/calls?verdict",
    "/api/calls?%ff%fe=1", "/api/sites?site=hq", "/api/sites/hq?bucket=5",
    "/api/sites/hq?offset=1", "/api/calls/x?limit=1", "/api/clients?offset=3",
    "/api/calls?" + "&".join("a%d=1" % i for i in range(40)),
]


def case_malformed():
    setup()
    p = serve()
    for path in BAD:
        st, b = get_json(path)
        check(st == 400 and isinstance(b.get("error"), str) and b.get("status") == 400,
              "400 with a JSON error: %s -> %s" % (path[:60], b.get("error")))
    st, b = get_json("/api/nothing")
    check(st == 404, "unknown endpoint 404")
    st, b = get_json("/api/calls", method="POST", data=b"{}")
    check(st in (405, 413), "POST refused (%d)" % st)
    st, b = get_json("/api/calls", method="DELETE")
    check(st == 405, "DELETE 405")
    st, _, _ = get("/api/calls?site=" + "y" * 100000)
    check(st in (400, 414, 431), "100 kB URL refused (%d)" % st)
    st, _, _ = get("/api/calls", headers={"X-Big": "z" * 100000})
    check(st in (400, 413, 431), "100 kB header refused (%d)" % st)
    st, b = get_json("/api/calls")
    check(st == 200, "server still answers")
    stop(p)


def raw_request(data):
    s = socket.create_connection(("127.0.0.1", PORT[0]), timeout=5)
    try:
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        return s.recv(65536)
    except OSError:
        return b""
    finally:
        s.close()


def case_fuzz():
    setup()
    p = serve()
    rnd = random.Random(1234)
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789=&?%/.:-_+;[]{}<>\"'\\ \t~!$#@^*()|"
    keys = ["since", "until", "site", "verdict", "client", "limit", "offset", "bucket", "x"]
    paths = ["/api/calls", "/api/calls/", "/api/sites", "/api/sites/", "/api/clients", "/metrics",
             "/", "/api/calls/call-hq-lan"]
    statuses = {}
    for i in range(400):
        path = rnd.choice(paths)
        if path.endswith("/"):
            path += urllib.parse.quote("".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 40))))
        parts = []
        for _ in range(rnd.randint(0, 5)):
            k = rnd.choice(keys)
            v = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 30)))
            parts.append(urllib.parse.quote(k) + "=" + urllib.parse.quote(v, safe=rnd.choice(["", "%&="])))
        url = path + ("?" + "&".join(parts) if parts else "")
        st, _, _ = get(url)
        statuses[st] = statuses.get(st, 0) + 1
        if st >= 500 or p.poll() is not None:
            fail("fuzz request %s gave %s" % (url, st))
    print("statuses:", statuses)
    for junk in (b"GET /api/calls?" + bytes(range(256)) + b" HTTP/1.1\r\nHost: x\r\n\r\n",
                 b"\x16\x03\x01\x00\x05hello", b"GET\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                 b"GET /api/calls HTTP/1.1\r\nAuthorization: Bearer \x00\xff\r\n\r\n"):
        raw_request(junk)
    st, b = get_json("/api/calls")
    check(st == 200 and p.poll() is None, "alive and well after 400 random queries and junk")
    stop(p)


def case_tls():
    if not shutil.which("openssl"):
        skip("openssl CLI missing")
    setup()
    cert, key = os.path.join(TMP, "cert.pem"), os.path.join(TMP, "key.pem")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                        "-out", cert, "-days", "2", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=IP:127.0.0.1"], capture_output=True, timeout=60)
    check(r.returncode == 0, "test certificate made")
    p = serve(["--tls-cert", cert, "--tls-key", key], tls=True)
    ctx = ssl.create_default_context(cafile=cert)
    CTX[0] = ctx
    st, b = get_json("/api/calls")
    check(st == 200 and len(b["calls"]) == 6, "HTTPS API with a verified certificate")
    st, _, _ = get("/api/calls", token=None)
    check(st == 401, "HTTPS still needs the token")
    CTX[0] = ssl.create_default_context()
    try:
        get("/api/calls")
        fail("an untrusted certificate was accepted")
    except urllib.error.URLError:
        print("ok: client without the CA refuses the certificate")
    CTX[0] = None
    SCHEME[0] = "http"
    try:
        st, _, _ = get("/api/calls")
        check(st != 200, "plain HTTP to the TLS port is not served (%s)" % st)
    except (urllib.error.URLError, ConnectionError, http.client.HTTPException):
        print("ok: plain HTTP to the TLS port fails")
    SCHEME[0] = "https"
    CTX[0] = ctx
    st, _, _ = get("/healthz")
    check(st == 200, "TLS server alive after a plain request")
    stop(p)
    r = subprocess.run([COLLECTOR, "serve", "--db", DB, "--org-key", ORGKEY, "--token-file",
                        TOKEN_FILE, "--bind", "127.0.0.1:0", "--tls-cert", cert],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 1 and "--tls-key" in r.stderr, "cert without key refused")
    r = subprocess.run([COLLECTOR, "serve", "--db", DB, "--org-key", ORGKEY, "--token-file",
                        TOKEN_FILE, "--bind", "127.0.0.1:0", "--tls-cert", key, "--tls-key", cert],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 1, "swapped cert and key refused: " + r.stderr.strip()[-120:])


class Hook(http.server.BaseHTTPRequestHandler):
    posts = []
    status = 200

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        Hook.posts.append((self.headers.get("Content-Type"), self.rfile.read(n)))
        self.send_response(Hook.status)
        self.end_headers()

    def log_message(self, *a):
        pass


def webhook(status=200):
    Hook.status = status
    srv = http.server.HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, "http://127.0.0.1:%d/hook" % srv.server_address[1]


def wait_for(cond, secs, what):
    deadline = time.time() + secs
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.1)
    fail("timed out waiting for " + what)


def metric(name):
    st, _, body = get("/metrics")
    return parse_metrics(body.decode()).get(name, 0)


def calls_now(prefix, site, verdict, n):
    return "".join(call_sql("%s-%d" % (prefix, i), site, verdict, 3) for i in range(n))


ALERT_OPTS = ["--alert-check", "1", "--alert-window", "600", "--alert-min-calls", "4",
              "--alert-threshold", "50", "--alert-interval", "3600"]


def case_alerts():
    setup()
    srv, url = webhook()
    p = serve(ALERT_OPTS + ["--alert-webhook", url])
    time.sleep(2.5)
    check(len(Hook.posts) == 0, "no alert while the window holds no bad share (fixture is older)")
    fixture(calls_now("a", "hq", "lan", 3) + calls_now("b", "hq", "healthy", 2))
    wait_for(lambda: len(Hook.posts) >= 1, 10, "the first alert")
    ctype, body = Hook.posts[0]
    a = json.loads(body)
    check(ctype == "application/json", "webhook Content-Type JSON")
    check(a["type"] == "callscope.alert" and a["site"] == "hq" and a["kind"] == "lan",
          "payload names site and kind")
    check(a["calls"] == 5 and a["matching"] == 3 and abs(a["share_pct"] - 60.0) < 1e-9,
          "payload figures")
    check(a["threshold_pct"] == 50 and a["window_s"] == 600, "payload thresholds")
    time.sleep(3)
    check(len(Hook.posts) == 1, "staying above does not alert again")
    log = read_log()
    check('alert: site "hq": lan verdicts 60.0% of 5 calls' in log, "alert line on stderr")
    check(CLIENT_IP not in log, "no address in the log")
    # Fall below (more healthy calls), then cross again within the rate limit: suppressed.
    fixture(calls_now("c", "hq", "healthy", 4))
    wait_for(lambda: metric('callscope_alerts_active{site="hq",kind="lan"}') == 0, 10,
             "the share to fall below")
    wait_for(lambda: len(Hook.posts) >= 2, 10, "the resolved message")
    r = json.loads(Hook.posts[1][1])
    check(a["status"] == "firing" and r["status"] == "resolved" and r["kind"] == "lan",
          "a resolved message when the share falls below")
    check(metric('callscope_alerts_resolved_total{site="hq",kind="lan"}') == 1, "resolved counted")
    check('alert resolved: site "hq": lan verdicts' in read_log(), "resolved line on stderr")
    fixture(calls_now("d", "hq", "lan", 6))
    wait_for(lambda: metric('callscope_alerts_suppressed_total{site="hq",kind="lan"}') == 1, 10,
             "the second crossing to be suppressed")
    check(len(Hook.posts) == 2, "one alert and its resolution within the rate limit")
    check(metric('callscope_alerts_fired_total{site="hq",kind="lan"}') == 1, "fired counted")
    check(metric('callscope_alerts_fired_total{site="hq",kind="wan"}') == 0, "no wan alert")
    check(metric('callscope_alerts_webhook_failures_total{site="hq",kind="lan"}') == 0,
          "no webhook failure")
    stop(p)
    srv.shutdown()


def case_live_alerts():
    """Calls in progress degraded on one side: a live alert per side, resolved when the
    interval records stop (here: the live window passes without new ones)."""
    setup(with_fixture=False)
    fixture("SELECT 1;")  # a store with interval records but no verdicts yet
    srv, url = webhook()
    p = serve(["--alert-check", "1", "--alert-live-calls", "1", "--alert-live-window", "10",
               "--alert-webhook", url, "--alert-format", "alertmanager", "--no-syslog"])
    time.sleep(1.5)
    check(len(Hook.posts) == 0, "no live alert without interval records")
    fixture(live_fixture(datetime.datetime.now(datetime.timezone.utc) +
                         datetime.timedelta(seconds=5)))
    wait_for(lambda: len(Hook.posts) >= 2, 10, "a LAN and a WAN live alert for hq")
    firing = [json.loads(b) for _, b in Hook.posts[:2]]
    kinds = sorted(x["alerts"][0]["labels"]["kind"] for x in firing)
    check(kinds == ["live_lan", "live_wan"], "live_lan and live_wan fired (%s)" % kinds)
    am = firing[0]
    check(am["version"] == "4" and am["status"] == "firing" and
          am["alerts"][0]["labels"]["site"] == "hq" and
          am["alerts"][0]["labels"]["alertname"].startswith("CallscopeSite") and
          "calls in progress" in am["alerts"][0]["annotations"]["summary"],
          "Alertmanager webhook format")
    check(metric('callscope_alerts_active{site="branch",kind="live_lan"}') == 0, "branch clean")
    check("10.1.0.2" not in json.dumps(firing), "no address in the alert")
    wait_for(lambda: len(Hook.posts) >= 4, 25, "both resolved when the records stop")
    resolved = [json.loads(b) for _, b in Hook.posts[2:4]]
    check(all(x["status"] == "resolved" and x["alerts"][0]["endsAt"] != "0001-01-01T00:00:00Z"
              for x in resolved), "resolved messages with an end time")
    check(metric('callscope_alerts_resolved_total{site="hq",kind="live_wan"}') == 1,
          "live_wan resolved counted")
    stop(p)
    r = subprocess.run([COLLECTOR, "serve", "--db", DB, "--org-key", ORGKEY, "--token-file",
                        TOKEN_FILE, "--bind", "127.0.0.1:0", "--alert-format", "xml"],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode != 0 and "--alert-format" in r.stderr, "unknown --alert-format refused")
    srv.shutdown()


GRAFANA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "grafana")


def grafana_names():
    """Every callscope metric name the dashboard and the rules use."""
    dash = json.load(open(os.path.join(GRAFANA, "callscope-dashboard.json")))
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    rules = open(os.path.join(GRAFANA, "callscope-alerts.rules.yml")).read()
    names = set(re.findall(r"callscope_[a-z0-9_]+", " ".join(exprs) + rules))
    return dash, exprs, names


def case_grafana():
    dash, exprs, names = grafana_names()
    check(dash["__inputs"][0]["type"] == "datasource" and dash["uid"], "importable dashboard")
    check(len(exprs) >= 15 and all(e.strip() for e in exprs), "panels with queries")
    ids = [p["id"] for p in dash["panels"]]
    check(len(ids) == len(set(ids)), "panel ids unique")
    setup()
    p = serve(["--alert-check", "1", "--alert-live-calls", "1", "--alert-live-window", "60"])
    wait_for(lambda: metric('callscope_alerts_active{site="hq",kind="live_wan"}') == 1, 10,
             "a live alert state to show in /metrics")
    st, hd, body = get("/metrics")
    text = body.decode()
    missing = sorted(n for n in names if n not in text)
    check(not missing, "every metric the dashboard and rules use is served (%s missing)" % missing)
    stop(p)


def rule_annotations(path):
    """{alert: {summary, description}} of the rules file as written there
    (single-quoted summaries, '>-' folded descriptions): enough YAML for it."""
    out, cur, key, fold = {}, None, None, None
    for line in open(path):
        m = re.match(r"\s*- alert: (\S+)", line)
        if m:
            cur, fold = out.setdefault(m.group(1), {}), None
            continue
        m = re.match(r"\s*(summary|description): (.*)$", line)
        if cur is not None and m:
            key, v = m.group(1), m.group(2)
            if v == ">-":
                cur[key], fold = "", key
            else:
                cur[key], fold = (v[1:-1].replace("''", "'") if v.startswith("'") else v), None
            continue
        if fold and re.match(r"\s{12,}\S", line):
            cur[fold] = (cur[fold] + " " + line.strip()).strip()
        else:
            fold = None
    return out


def case_promtool():
    exe = shutil.which("promtool")
    if not exe:
        skip("promtool not installed (apt-get install prometheus): rules not checked")
    rules = os.path.join(GRAFANA, "callscope-alerts.rules.yml")
    r = subprocess.run([exe, "check", "rules", rules], capture_output=True, text=True, timeout=60)
    print(r.stdout + r.stderr)
    check(r.returncode == 0, "promtool check rules passes")
    # Every site alert kind of the collector has its rule, under the name the
    # Alertmanager payload gives it (docs/noc.md "Alerts"), and fires on the
    # collector's state for that kind only: a rule unit test (promtool test
    # rules) feeding callscope_alerts_active as /metrics would show it.
    kinds = {"lan": "CallscopeSiteLanVerdicts", "wan": "CallscopeSiteWanVerdicts",
             "live_lan": "CallscopeSiteLanDegradedNow", "live_wan": "CallscopeSiteWanDegradedNow",
             "endpoint": "CallscopeSiteEndpointSurge", "cloud": "CallscopeSiteCloudSurge"}
    src = open(os.path.join(os.path.dirname(GRAFANA), "collector", "noc", "noc_alerts.c")).read()
    for k in kinds:
        check('"%s"' % k in src, "kind %s is one of the collector's" % k)
    test = {"rule_files": [rules], "evaluation_interval": "1m", "tests": []}
    notes = rule_annotations(rules)
    for k, name in kinds.items():
        other = [o for o in kinds if o != k][0]
        test["tests"].append({
            "interval": "1m",
            "input_series": [
                {"series": 'callscope_alerts_active{site="hq",kind="%s"}' % k, "values": "0 0 1 1 0"},
                {"series": 'callscope_alerts_active{site="br",kind="%s"}' % other, "values": "1 1 1 1 1"}],
            "alert_rule_test": [
                {"eval_time": "1m", "alertname": name, "exp_alerts": []},
                {"eval_time": "3m", "alertname": name, "exp_alerts": [
                    {"exp_labels": {"site": "hq", "kind": k, "severity": "warning"},
                     "exp_annotations": {a: v.replace("{{ $labels.site }}", "hq")
                                         for a, v in notes[name].items()}}]},
                {"eval_time": "4m", "alertname": name, "exp_alerts": []}]})
    path = os.path.join(TMP, "rules_test.json")  # YAML is a superset of JSON
    with open(path, "w") as f:
        json.dump(test, f)
    r = subprocess.run([exe, "test", "rules", path], capture_output=True, text=True, timeout=60)
    print(r.stdout + r.stderr)
    check(r.returncode == 0, "promtool test rules: each site kind's rule fires while the "
          "collector's state is 1 at that site, and only then")


def case_webhook_down():
    setup()
    srv, url = webhook(status=500)
    p = serve(ALERT_OPTS + ["--alert-webhook", url, "--alert-interval", "0"])
    fixture(calls_now("w", "branch", "wan", 5))
    wait_for(lambda: len(Hook.posts) == 1, 10, "the alert POST")
    wait_for(lambda: metric('callscope_alerts_webhook_failures_total{site="branch",kind="wan"}')
             == 1, 10, "the failure to be counted")
    check("webhook: HTTP status 500" in read_log(), "webhook failure logged")
    srv.shutdown()
    p2 = serve(ALERT_OPTS + ["--alert-webhook", "http://127.0.0.1:1/none"])
    wait_for(lambda: metric('callscope_alerts_webhook_failures_total{site="branch",kind="wan"}')
             == 1, 10, "refused connection counted")
    check(p2.poll() is None and p.poll() is None, "serve survives a dead webhook")
    stop(p2)
    stop(p)


chromium = noc_chrome.find


def chrome_run(exe, url, shot=None, size="1400,1800", want=None):
    """One headless Chromium run: the DOM after the page settled, its console
    lines; or, with shot, a picture of the page whose panels in want
    (noc_chrome.PANELS: the elements each must show) are checked in the DOM
    and in the picture (not blank)."""
    if shot:
        fixture(live_fixture(datetime.datetime.now(datetime.timezone.utc)))  # still in progress
        w, h = (int(x) for x in size.split(","))
        # the whole page through the DevTools protocol (noc_chrome.py: --screenshot
        # of the scrolled call page left a blank band above the header)
        bad, figs, _ = noc_chrome.check_page(exe, url, shot, os.path.join(TMP, "chrome-shot"),
                                             want, w, h)
        check(os.path.exists(shot) and os.path.getsize(shot) > 10000, "screenshot kept: " + shot)
        check(noc_chrome.starts_with_header(shot), "the picture starts with the header, no band")
        check(not bad, "%s: each panel holds what the fixture gives, and is not blank in the"
              " picture: %s %s" % (os.path.basename(shot), figs, bad))
        return None, []
    rc, dom, console = noc_chrome.dump_dom(exe, url, os.path.join(TMP, "chrome"), size)
    print("\n".join(console[:20]))
    check(rc == 0 and "<html" in dom, "chromium dumped the page")
    check(not noc_chrome.console_errors(console), "no console errors")
    return dom, console


def case_dashboard():
    exe = chromium()
    if not exe:
        skip("chromium not installed (apt-get install chromium)")
    setup()
    p = serve()
    base = "http://127.0.0.1:%d/" % PORT[0]
    url = base + "#token=%s&site=hq&call=call-hq-lan" % TOKEN
    fixture(live_fixture(datetime.datetime.now(datetime.timezone.utc), iv=100))
    dom, console = chrome_run(exe, url)
    m = re.search(r'id="status" data-state="([a-z]+)"[^>]*>([^<]*)<', dom)
    check(m is not None and m.group(1) == "ready", "page status ready (%s)" % (m and m.groups(),))
    check("call-hq-lan" in dom and "outbound-loss-at-probe" in dom, "the call and its rule shown")
    check('class="verdict v-lan"' in dom, "the lan verdict shown")
    check("Wire (probe)" in dom and "Graph (Microsoft)" in dom, "wire and Graph side by side")
    check("aa:bb:cc:00:11:22" in dom, "access point shown")
    check(CLIENT_IP in dom, "client address shown to the token holder")
    check("6.5 %" in dom and "48 ms" in dom, "figures in units a person reads (6.5 %, 48 ms)")
    # live panel: hq has 3 calls now, 2 degraded
    live = dom[dom.index('id="live"'):dom.index('id="sites-panel"')]
    check(re.search(r"<td>hq</td><td class=\"num\">3</td>", live) is not None,
          "live panel: hq with 3 calls in progress (%s)" % re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "|", live))[:700])
    check("2 of 3 degraded" in live, "live panel: 2 of 3 degraded, in words")
    # sites: share of bad calls as colour and text, worst first
    sites = dom[dom.index('id="sites"'):dom.index('id="site-view"')]
    check("67 % bad (2 of 3)" in sites and "sev-bad" in sites, "hq: share of bad calls + colour")
    check(sites.index(">branch<") < sites.index(">hq<"), "sites sorted by share of bad calls")
    # verdict timeline with axes and a legend
    tl = dom[dom.index('id="timeline"'):dom.index('class="cols"')]
    check(tl.count('class="tick"') >= 5 and "<rect" in tl, "verdict timeline: bars and axis ticks")
    check('class="legend-item"' in dom and "LAN/Wi-Fi" in dom, "legend with names")
    # call list: local time, duration, worst figures; sortable headers
    check("5 min 00 s" in dom, "durations in the call list")
    check('data-sort="desc"' in dom, "call list sorted (newest first) and marked")
    # the call's timeline charts, the burst above the threshold line
    charts = dom[dom.index('id="call-charts"'):dom.index('id="call-participants"')]
    check("Loss per interval" in charts and "Jitter per interval" in charts, "timeline charts")
    check('class="thr"' in charts and 'class="ref"' in charts, "threshold and Graph lines")
    check(charts.count("pt pt-bad") >= 4, "the burst's intervals marked above the threshold")
    check("provisional, from the wire" in dom and "judged with Graph" in dom,
          "the verdict history shown")
    check(TOKEN not in read_log(), "token not logged")
    check("#token" not in dom, "token not left in the page")
    # the pictures, each panel counted in the DOM (what the fixture must give)
    # and inked in the picture: live hq and branch; sites hq, branch and the
    # call without one; the 6 calls of the day (3 at hq); the timeline's bars
    # (one per verdict and hour: branch, the worst site, 2; hq 3); the call's
    # two participants, its 2 verdicts, charts of loss and jitter at least
    chrome_run(exe, base + "#token=%s" % TOKEN, os.path.join(WORKDIR, "dashboard-main.png"),
               "1400,1500", {"live": 2, "sites": 3, "timeline": 2, "calls": 6})
    chrome_run(exe, url, os.path.join(WORKDIR, "dashboard-call.png"), "1400,1000",
               {"live": 2, "sites": 3, "timeline": 3, "calls": 3, "people": 2, "history": 2,
                "charts": (2, None)})
    chrome_run(exe, base + "#token=%s&wall=1" % TOKEN, os.path.join(WORKDIR, "dashboard-live.png"),
               "1600,1000", {"live": 2, "sites": 3, "timeline": 2})
    shutil.copy(os.path.join(WORKDIR, "dashboard-main.png"), os.path.join(WORKDIR, "dashboard.png"))
    # Without a token the page asks for one and shows no data.
    shutil.rmtree(os.path.join(TMP, "chrome"), ignore_errors=True)
    dom, console = chrome_run(exe, base)
    check('data-state="idle"' in dom and "call-hq-lan" not in dom, "no token: login form, no data")
    stop(p)


def case_help():
    r = subprocess.run([COLLECTOR, "serve", "--help"], capture_output=True, text=True, timeout=30)
    check(r.returncode == 0, "serve --help exits 0")
    for opt in ("--db", "--org-key", "--token-file", "--bind", "--tls-cert", "--tls-key",
                "--metrics-open", "--alert-webhook", "--alert-threshold", "--alert-window",
                "--alert-interval", "Exit status", "Example"):
        check(opt in r.stdout, "help mentions " + opt)
    check(max(len(l) for l in r.stdout.splitlines()) <= 100, "help lines are short")
    r = subprocess.run([COLLECTOR, "--help"], capture_output=True, text=True, timeout=30)
    check("serve" in r.stdout, "serve listed in the command list")
    r = subprocess.run([COLLECTOR, "serve"], capture_output=True, text=True, timeout=30)
    check(r.returncode == 2 and "--db" in r.stderr, "serve without --db: usage error")
    r = subprocess.run([COLLECTOR, "serve", "--alert-threshold", "0", "--db", "x"],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 2, "threshold out of range: usage error")
    setup(with_fixture=False)
    base_fixture()
    for bind in ("localhost:80", "127.0.0.1", "127.0.0.1:99999", "[::1:80", "1.2.3.4.5:1"):
        r = subprocess.run([COLLECTOR, "serve", "--db", DB, "--org-key", ORGKEY, "--token-file",
                            TOKEN_FILE, "--bind", bind], capture_output=True, text=True, timeout=30)
        check(r.returncode == 1 and "--bind" in r.stderr, "bad --bind %s refused" % bind)
    os.chmod(TOKEN_FILE, 0o644)
    r = subprocess.run([COLLECTOR, "serve", "--db", DB, "--org-key", ORGKEY, "--token-file",
                        TOKEN_FILE, "--bind", "127.0.0.1:0"], capture_output=True, text=True,
                       timeout=30)
    check(r.returncode == 1 and "chmod 600" in r.stderr, "group-readable token file refused")
    check(TOKEN not in r.stderr, "token not in the error")
    r = subprocess.run([COLLECTOR, "serve", "--db", os.path.join(TMP, "none.db"), "--org-key",
                        ORGKEY, "--token-file", TOKEN_FILE, "--bind", "127.0.0.1:0"],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 1, "missing database refused")


CASES = {n[5:]: f for n, f in globals().items() if n.startswith("case_")}
if CASE not in CASES:
    print("unknown case", CASE)
    sys.exit(2)
try:
    CASES[CASE]()
finally:
    for proc in PROCS:
        if proc.poll() is None:
            proc.kill()
shutil.rmtree(TMP, ignore_errors=True)
print("PASS")
