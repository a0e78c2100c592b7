#!/usr/bin/env python3
"""End to end, one verdict scenario per invocation:

    e2e_test.py BUILD_DIR SOURCE_DIR SCENARIO [--import]

callscope-probe replays pcaps/verdict_<SCENARIO>.pcap into a running
`callscope-collector run` over ZeroMQ (CURVE keys made here); the collector
polls the scenario's call record from tests/graph/fake_graph.py over HTTPS
(or, with --import, the record is read by `graph-import`), correlates, and
`report --format json` must show the expected verdict, source and evidence.
No name, address or MAC the scenario fed in may appear in any log, and no
address in clear in the store or in the evidence.
"""
import json
import re
import urllib.parse
import os
import shutil
import signal
import sys
import tempfile
import time

BUILD, SRC, NAME = sys.argv[1], sys.argv[2], sys.argv[3]
IMPORT = "--import" in sys.argv[4:]
TWO = "--two-probes" in sys.argv[4:]  # a second probe sees the same call
sys.path.insert(0, os.path.join(SRC, "tests", "graph"))
sys.path.insert(0, os.path.join(SRC, "tests", "e2e"))
sys.path.insert(0, os.path.join(SRC, "tests", "lib"))
import cs_testlib  # noqa: E402
import fake_graph  # noqa: E402
import gen_records  # noqa: E402

PROBE = os.path.join(BUILD, "probe", "callscope-probe")
COLLECTOR = os.path.join(BUILD, "collector", "callscope-collector")
PCAP = os.path.join(SRC, "pcaps", "verdict_%s.pcap" % NAME)
TENANT = "0d15ea5e-0000-4000-8000-00000000c0de"
CLIENT = "c11e47a0-0000-4000-8000-000000000001"
SECRET = "e2e~secret.value-of_the-client"
TMP = tempfile.mkdtemp(prefix="cs-e2e-%s-" % NAME)
PROCS = []
SC = gen_records.SCENARIOS[NAME]


def fail(msg):
    print("FAIL:", msg)
    for p in PROCS:
        if p.poll() is None:
            p.kill()
    print("(work directory kept: %s)" % TMP)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)
    print("ok:", msg)


def path(*p):
    return os.path.join(TMP, *p)


run = cs_testlib.run
free_port = cs_testlib.free_port  # e2e_pg_test.py and people_e2e_test.py use e2e_test's


def read(name):
    return cs_testlib.read(path(name))


def setup():
    err = cs_testlib.keys(COLLECTOR, TMP, probes=("p1", "p2"), tenant=TENANT)
    check(err is None, "keys of the collector and two probes, the organisation key (%s)" % err)
    cs_testlib.token_file(path("secret"), SECRET)
    cs_testlib.token_file(path("noc.token"), NOC_TOKEN)


NOC_TOKEN = "e2e-noc-token-0123456789abcdef"
HTTP_PORT = None


def api(url_path, token=None):
    """GET from the collector's own HTTP server (run --http-bind), as JSON."""
    if url_path != "/metrics":
        return cs_testlib.api(HTTP_PORT, token or NOC_TOKEN, url_path)
    import urllib.request
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (HTTP_PORT, url_path),
                                 headers={"Authorization": "Bearer " + (token or NOC_TOKEN)})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.read().decode()


def api_checks(expect, client_ip):
    """The verdict through the JSON API, as the NOC sees it."""
    calls = api("/api/calls?since=2020-01-01T00:00:00Z")["calls"]
    mine = [c for c in calls if c["verdict"] == expect[0] and c["source"] == expect[1]]
    check(len(mine) == 1, "the JSON API lists the call: %s / %s" % expect)
    one = api("/api/calls/" + urllib.parse.quote(mine[0]["call_id"], safe=""))
    check(one["call"]["evidence"].get("rule"), "the API gives the call's evidence: " +
          one["call"]["evidence"]["rule"])
    check(one["streams"] and any(s["probe"] for s in one["streams"]),
          "the API joins the probe's streams to the verdict")
    # sealed by ingest, opened by the API: both must use the same label
    probed = [s["probe"] for s in one["streams"] if s["probe"]]
    check(all(p["client_ip"] == client_ip for p in probed),
          "the API opens every probe stream's client address: %s" %
          sorted({str(p["client_ip"]) for p in probed}))
    if expect[1] == "joined":
        places = [p["evidence"].get("graph") or {} for p in one["participants"]]
        check(any(g.get("subnet") and g.get("bssid") for g in places),
              "the participant's access point and subnet are in the evidence")
        site = api("/api/sites/" + urllib.parse.quote(mine[0]["site"], safe="") +
                   "?since=2020-01-01T00:00:00Z")
        check(site["worst_subnets"] and site["worst_access_points"],
              "the site summary lists access points and subnets")
    metrics = api("/metrics")
    check('callscope_verdict_calls{' in metrics and "callscope_ingest_records_stored" in metrics,
          "/metrics has verdict counts and the ingest counters")


def start_collector(endpoint, fake, extra=()):
    args = [COLLECTOR, "run", "-v", "--bind", endpoint, "--key", path("keys", "collector.key"),
            "--authorized-keys", path("probes.d"), "--db", path("store.db"),
            "--org-key", path("keys", "org.key"), "--stats", "0", "--correlate-interval", "1",
            "--http-bind", "127.0.0.1:%d" % HTTP_PORT, "--http-token-file", path("noc.token")]
    args += list(extra)
    if fake:
        args += ["--graph-tenant", TENANT, "--graph-client-id", CLIENT,
                 "--graph-secret-file", path("secret"), "--graph-authority-url", fake.base,
                 "--graph-url", fake.base + "/v1.0", "--graph-ca-bundle", fake.ca,
                 "--graph-interval", "10", "--graph-timeout", "5"]
    p, got = cs_testlib.start(args, path("collector.log"), "listening on", 20)
    PROCS.append(p)
    if got == "exited":
        fail("collector exited at start: " + read("collector.log"))
    if got != "ok":
        fail("collector did not start listening")
    return p


def replay(endpoint, probe="p1"):
    r = run([PROBE, "--collector", endpoint, "--key", path("keys", probe + ".key"),
             "--collector-key", path("keys", "collector.pub"), "--spool-dir", path("spool-" + probe),
             "--site", "site-hq", "-r", PCAP])
    with open(path("probe.log"), "a") as f:
        f.write(r.stderr)
    check(r.returncode == 0, "probe replay exits 0")
    check("0 records lost" in r.stderr, "probe delivered every record")


def report(fmt="json"):
    r = run([COLLECTOR, "report", "--db", path("store.db"), "--org-key", path("keys", "org.key"),
             "--since", "520w", "--format", fmt])
    if r.returncode != 0:
        fail("report exit %d: %s" % (r.returncode, r.stderr))
    with open(path("report.log"), "a") as f:
        f.write(r.stderr)
    return json.loads(r.stdout) if fmt == "json" else r.stdout


def wait_for_call(verdict, source, timeout=45, ready=lambda calls: True):
    """The report once it holds a call with this verdict and source, and
    ready(calls) holds (correlation runs every second: a second probe's
    streams may join a call already judged on the first probe's)."""
    deadline, calls = time.time() + timeout, []
    while time.time() < deadline:
        calls = report()
        if any(c["source"] == source and c["verdict"] == verdict for c in calls) and ready(calls):
            return calls
        time.sleep(0.5)
    fail("no %s call with verdict %s within %d s; report: %s" %
         (source, verdict, timeout, json.dumps(calls, indent=1)[:3000]))


def seen_by_both(calls):
    """Every stream of every call already judged on both probes' records."""
    streams = [s for c in calls for s in c.get("streams", [])]
    return bool(streams) and all((s.get("evidence") or {}).get("wire", {}).get("probes") == 2
                                 for s in streams if s.get("stream_id") is not None)


def assert_call(calls, rec, client_ip):
    verdict, source = SC["expect"]
    check(len(calls) == 1, "exactly one call in the report (%d)" % len(calls))
    c = calls[0]
    check(c["verdict"] == verdict and c["source"] == source,
          "verdict %s, source %s (rule: %s)" % (c["verdict"], c["source"], c["rule"]))
    check(SC["rule"] in c["rule"], "the deciding rule names '%s'" % SC["rule"])
    check(0 < c["confidence"] <= 1, "confidence %.2f in (0, 1]" % c["confidence"])
    check(c["site"] == "site-hq", "the probe's site")
    ev = c["evidence"]
    check(set(ev) >= {"rule", "wire", "graph", "thresholds"}, "evidence has rule/wire/graph/thresholds")
    check(ev["thresholds"]["wire_loss_pct"] == 1.0, "thresholds applied are in the evidence")
    if rec:
        check(c["call_id"] == rec["id"] and c["graph_record_id"] == rec["id"]
              and c["graph_version"] == rec["version"], "call id = Graph record id, version kept")
    else:
        check(c["call_id"].startswith("wire:") and c["graph_record_id"] is None,
              "wire-only call id and no Graph record")
    ours = [p for p in c["participants"] if p["client_ip"] == client_ip]
    check(len(ours) == 1, "our client among the participants, address opened by report")
    check(ours[0]["participant"].startswith("ip-") and client_ip not in ours[0]["participant"],
          "participant id is opaque")
    streams = [s for s in c["streams"] if s["participant"] == ours[0]["participant"]]
    check(sorted(s["direction"] for s in streams) == ["inbound", "outbound"],
          "one outbound and one inbound stream for our client")
    check(all(s["stream_id"] is not None for s in streams), "both matched to probe streams")
    if rec:
        check(all(s["graph_stream_rid"] is not None for s in streams), "both matched to Graph streams")
    return c, streams


def scenario_checks(c, streams):
    byd = {s["direction"]: s for s in streams}
    ev = c["evidence"]
    if NAME in ("lan", "wire_only"):
        check(ev["wire"]["loss_pct"] > 4, "evidence: outbound loss at the probe %.2f %%" % ev["wire"]["loss_pct"])
        check(byd["outbound"]["verdict"] == "lan" and byd["inbound"]["verdict"] == "healthy",
              "outbound stream lan, inbound healthy")
    elif NAME == "wan":
        check(ev["wire"]["loss_pct"] > 4, "evidence: inbound loss at the probe")
        check(byd["inbound"]["verdict"] == "wan", "inbound stream wan")
    elif NAME == "wan_beyond":
        check(ev["wire"]["loss_pct"] == 0 and ev["graph"]["avg_loss_pct"] == 6,
              "evidence: probe 0 %% loss, Graph 6 %% (%s / %s)" % (ev["wire"]["loss_pct"], ev["graph"]["avg_loss_pct"]))
        check(byd["outbound"]["verdict"] == "wan", "outbound stream wan")
    elif NAME == "endpoint":
        check(ev["graph"]["cpu_insufficient_ratio"] == 0.35, "evidence: CPU insufficient ratio")
        check(all(s["verdict"] == "healthy" for s in streams), "both streams clean")
    elif NAME == "cloud":
        far = [p for p in c["participants"] if p["client_ip"] == gen_records.FAR_IP]
        check(len(far) == 1 and far[0]["verdict"] == "cloud", "the far participant is cloud")
        check(ev["graph"]["avg_loss_pct"] == 8 and ev["wire"] is None,
              "evidence: the far leg's Graph loss, no probe figures")
    elif NAME == "healthy":
        check(all(s["verdict"] == "healthy" for s in streams), "both streams healthy")


def no_pii(rec, client_ip):
    secrets = gen_records.pii_of(rec) if rec else set()
    secrets.add(client_ip)
    logs = read("collector.log") + read("probe.log") + read("report.log")
    leaked = [s for s in secrets if s in logs]
    check(not leaked, "no name, address or MAC in the logs %s" % leaked[:3])
    check(SECRET not in logs, "the client secret is not in the logs")
    raw = b""
    for suffix in ("", "-wal"):
        if os.path.exists(path("store.db" + suffix)):
            raw += open(path("store.db" + suffix), "rb").read()
    leaked = [s for s in secrets if s.encode() in raw]
    check(not leaked, "no name, address or MAC in clear in the store %s" % leaked[:3])


def main():
    setup()
    rec = gen_records.record(os.path.join(SRC, "pcaps"), NAME) if SC.get("graph", True) else None
    truth = json.load(open(PCAP + ".truth.json"))
    client_ip = next(t["src_ip"] for t in truth if t["dst_port"] == gen_records.RELAY_PORT)
    fake = None
    if rec and not IMPORT:
        fake = fake_graph.FakeGraph(TMP, TENANT, CLIENT, SECRET)
        fake.records[rec["id"]] = rec
    endpoint = "tcp://127.0.0.1:%d" % cs_testlib.free_port()
    global HTTP_PORT
    HTTP_PORT = cs_testlib.free_port()
    col = start_collector(endpoint, fake)
    replay(endpoint)
    if TWO:
        replay(endpoint, "p2")
    if rec and IMPORT:
        # the wire's verdict first, provisional until Graph's record arrives
        deadline = time.time() + 45
        while time.time() < deadline and not any(
                c["source"] == "wire-only" for c in api("/api/calls?since=2020-01-01T00:00:00Z")["calls"]):
            time.sleep(0.5)
        check(any(c["source"] == "wire-only" for c in api("/api/calls?since=2020-01-01T00:00:00Z")["calls"]),
              "a wire-only call before the record is imported")
        with open(path("record.json"), "w") as f:
            json.dump(rec, f)
        r = run([COLLECTOR, "graph-import", "--db", path("store.db"), "--org-key",
                 path("keys", "org.key"), path("record.json")])
        with open(path("report.log"), "a") as f:
            f.write(r.stderr)
        check(r.returncode == 0, "graph-import exits 0")
    calls = wait_for_call(*SC["expect"], ready=seen_by_both if TWO else lambda calls: True)
    c, streams = assert_call(calls, rec, client_ip)
    scenario_checks(c, streams)
    api_checks(tuple(SC["expect"]), client_ip)
    if rec and IMPORT:
        joined = [x for x in api("/api/calls?since=2020-01-01T00:00:00Z")["calls"] if x["source"] == "joined"]
        hist = api("/api/calls/" + urllib.parse.quote(joined[0]["call_id"], safe=""))["history"]
        check(len(hist) >= 2 and hist[0]["source"] == "wire-only" and hist[0]["provisional"] and
              hist[-1]["source"] == "joined" and not hist[-1]["provisional"] and
              hist[-1]["verdict"] == SC["expect"][0],
              "verdict history: provisional wire verdict, then judged again with Graph (%s)" %
              [(h["source"], h["verdict"]) for h in hist])
    if TWO:
        check(all(s["evidence"]["wire"]["probes"] == 2 for s in streams),
              "each stream seen by two probes, counted once")
        check(c["evidence"]["probe_streams"] == 4, "four probe stream rows joined to the call")
    if rec and fake:
        # a later version of the record: the call is judged again, not duplicated
        fake.records[rec["id"]] = dict(gen_records.record(os.path.join(SRC, "pcaps"), NAME, 2))
        r = run([COLLECTOR, "graph-poll", "--once", "--db", path("store.db"), "--tenant", TENANT,
                 "--client-id", CLIENT, "--secret-file", path("secret"), "--org-key",
                 path("keys", "org.key"), "--authority-url", fake.base, "--graph-url",
                 fake.base + "/v1.0", "--ca-bundle", fake.ca, "--min-gap", "0"])
        with open(path("report.log"), "a") as f:
            f.write(r.stderr)
        check(r.returncode == 0, "version 2 fetched")
        deadline = time.time() + 30
        while time.time() < deadline and report()[0]["graph_version"] != 2:
            time.sleep(0.5)
        calls = report()
        check(len(calls) == 1 and calls[0]["graph_version"] == 2 and
              calls[0]["verdict"] == SC["expect"][0], "version 2 re-judged in place")
    table = report("table")
    check(SC["expect"][0] in table and client_ip in table, "table report shows verdict and address")
    check(re.search(r"\bnan\b", table) is None, "a figure Graph lacks is shown as missing, not nan")
    col.send_signal(signal.SIGTERM)
    col.wait(timeout=30)
    if fake:
        fake.stop()
    no_pii(rec, client_ip)
    shutil.rmtree(TMP, ignore_errors=True)
    print("%s: ok" % NAME)


if __name__ == "__main__":
    main()
