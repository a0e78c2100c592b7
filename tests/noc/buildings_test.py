#!/usr/bin/env python3
"""Buildings in /metrics and in the alerts (label noc, buildings): a real
'callscope-collector serve' evaluating the store every second, a real
webhook receiver on 127.0.0.1, the building map stored by
'buildings-import', verdict rows written through noc_fixture (sealed
addresses, as correlation writes them) while serve runs.

  buildings_test.py COLLECTOR FIXTURE WORKDIR alerts|alertmanager|metrics|api

alerts: calls no probe saw (no site), each with a participant in the
Lyon Office and one in the HQ Tower: 3 of Lyon's 4 judged wan, HQ's all
healthy; an Oslo Hub with 3 endpoint calls of 5; 5 wan calls from an
unmapped address. Exactly Lyon/wan and Oslo/endpoint fire, with the
building and region in the body, the log line and the metrics, and no
site alert; the map re-imported with Lyon's network renamed resolves the
old name and fires the new one (the NOC's cached map follows the
import); Lyon's participants re-judged healthy resolve it. No address
anywhere. alertmanager: the Lyon alert in Alertmanager's format.
metrics: the per-building call counts by verdict, the per-building stream
histograms, and 300 buildings capped at 256 series with the rest counted.
api: GET /api/buildings over the alerts' calls (and one Lyon call of two
days ago): each building's calls, verdicts, share and worst segment as
the scenario made them, worst share first, with city and country from
the file (the answer made at start, before the first request, and kept:
a call stored after it shows only in another query); the region rollup equal to the sum of its buildings; ?region=
narrows both; since=24h leaves the old call out; a viewer token gets the
same answer; a bad since is a 400. /api/calls?region= and
'report --region' list exactly the calls with a participant there.
"""
import datetime
import json
import os
import random
import re
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import noc_harness  # noqa: E402  (beside this file)

COLLECTOR, FIXTURE, WORKDIR, CASE = sys.argv[1:5]
H = noc_harness.Harness("noc-buildings-%s" % CASE, WORKDIR)
TMP = H.tmp
DB = os.path.join(TMP, "collector.db")
ORGKEY = os.path.join(TMP, "org.key")
TOKEN_FILE = os.path.join(TMP, "noc.token")
TOKEN = "t0ken-%032x" % random.getrandbits(128)
POSTS = H.posts  # (content type, parsed body)
fail, check, wait_for, read_log, run, stop = H.fail, H.check, H.wait_for, H.read_log, H.run, H.stop
OPTS = ["--alert-check", "1", "--alert-threshold", "50", "--alert-min-calls", "3",
        "--alert-window", "600", "--alert-surge-calls", "3", "--alert-surge-share", "20",
        "--alert-surge-window", "600", "--alert-interval", "0", "--alert-live-calls", "0",
        "--no-syslog", "--metrics-open"]
MAP = ("10.9.0.0,Lyon LAN,16,Lyon Office,Contoso,Office,Cubicles,Lyon,69001,FR,ARA,EMEA,1,0\n"
       "10.1.0.0,HQ LAN,16,HQ Tower,Contoso,Office,Open plan,Paris,75001,FR,IDF,EMEA,1,0\n"
       "10.47.0.0,Oslo LAN,16,Oslo Hub,Contoso,Office,Open plan,Oslo,0150,NO,,NORDICS,1,0\n")
LYON_IPS = ["10.9.0.%d" % (10 + i) for i in range(4)]
HQ_IPS = ["10.1.0.%d" % (10 + i) for i in range(4)]
OSLO_IPS = ["10.47.1.%d" % (10 + i) for i in range(5)]
UNMAPPED = "192.0.2.5"
ADDRESSES = LYON_IPS + HQ_IPS + OSLO_IPS + [UNMAPPED]


def import_map(text):
    path = os.path.join(TMP, "buildings-%d.csv" % random.getrandbits(32))
    with open(path, "w") as f:
        f.write(text)
    run([COLLECTOR, "buildings-import", path, "--db", DB])


def setup(buildings=MAP):
    run([COLLECTOR, "org-keygen", "--tenant", "contoso.example", "--out", ORGKEY])
    H.token_file(TOKEN_FILE, TOKEN)
    # the verdict tables from the collector's own migrations
    run([COLLECTOR, "correlate", "--db", DB, "--org-key", ORGKEY, "--since", "60s"])
    import_map(buildings)


def fixture(sql):
    path = os.path.join(TMP, "fixture-%d.sql" % random.getrandbits(32))
    with open(path, "w") as f:
        f.write(sql)
    run([FIXTURE, DB, ORGKEY, path])


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def q(s):
    return "NULL" if s is None else "'" + s.replace("'", "''") + "'"


def call(cid, verdict, parts, ended_s_ago=30, site=None):
    """A call that ended ended_s_ago seconds ago; parts: [(address, verdict)]."""
    now = datetime.datetime.now(datetime.timezone.utc)
    end = now - datetime.timedelta(seconds=ended_s_ago)
    start = end - datetime.timedelta(minutes=5)
    sql = ("INSERT INTO verdict_calls(call_id, source, site, start, \"end\", verdict, confidence,"
           " graph_record_id, graph_version, evaluated, evidence) VALUES(%s, 'graph', %s, %s, %s,"
           " %s, 0.9, %s, 1, %s, '{}');\n" %
           (q(cid), q(site), q(iso(start)), q(iso(end)), q(verdict), q("rec-" + cid), q(iso(now))))
    for i, (ip, v) in enumerate(parts):
        sql += ("INSERT INTO verdict_participants(call_id, participant, site, client_ip_hmac,"
                " client_ip_enc, verdict, confidence, evidence) VALUES(%s, %s, %s,"
                " pii_hash('ip', %s), pii_seal('verdict_participants.client_ip', %s), %s, 0.8,"
                " '{}');\n" % (q(cid), q("p%d" % i), q(site), q(ip), q(ip), q(v)))
    return sql


def scenario():
    sql = ""
    for i in range(4):  # Lyon: 3 wan of 4; HQ, the other end, healthy
        v = "wan" if i < 3 else "healthy"
        sql += call("ly-%d" % i, v, [(LYON_IPS[i], v), (HQ_IPS[i], "healthy")])
    for i in range(5):  # Oslo: 3 endpoint of 5
        v = "endpoint" if i < 3 else "healthy"
        sql += call("os-%d" % i, v, [(OSLO_IPS[i], v)])
    for i in range(5):  # an unmapped address: never a building alert
        sql += call("un-%d" % i, "wan", [(UNMAPPED, "wan")])
    return sql


def serve(extra):
    return H.serve(COLLECTOR, ["--db", DB, "--org-key", ORGKEY, "--token-file", TOKEN_FILE,
                               "--bind", "127.0.0.1:0"] + OPTS + extra)


def metrics_text():
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % H.port, timeout=10) as r:
        return r.read().decode()


def metric(series, text=None):
    for line in (text or metrics_text()).splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    return None


def no_address(where, text):
    leaked = [a for a in ADDRESSES if a in text]
    check(not leaked, "no participant address in %s %s" % (where, leaked))


def key(b):
    return (b.get("building"), b["kind"], b["status"])


def case_alerts():
    setup()
    hook, url = H.webhook()
    p = serve(["--alert-webhook", url])
    fixture(scenario())
    wait_for(lambda: len(POSTS) >= 2, 15, "two building alerts")
    time.sleep(2.5)  # staying above: no repeat
    print("payloads:", json.dumps([b for _, b in POSTS]))
    got = sorted(key(b) for _, b in POSTS)
    check(got == [("Lyon Office", "wan", "firing"), ("Oslo Hub", "endpoint", "firing")],
          "exactly Lyon/wan and Oslo/endpoint fired, once each (%s)" % got)
    ly = [b for _, b in POSTS if b.get("building") == "Lyon Office"][0]
    check(ly["type"] == "callscope.alert" and ly["scope"] == "building" and ly["site"] is None
          and ly["region"] == "EMEA", "Lyon's body: scope building, region EMEA, no site")
    check(ly["calls"] == 4 and ly["matching"] == 3 and abs(ly["share_pct"] - 75.0) < 1e-9 and
          ly["threshold_pct"] == 50 and ly["window_s"] == 600, "Lyon's figures: 3 of 4, 75 %")
    os_ = [b for _, b in POSTS if b.get("building") == "Oslo Hub"][0]
    check(os_["region"] == "NORDICS" and os_["calls"] == 5 and os_["matching"] == 3 and
          os_["min_calls"] == 3, "Oslo's surge: 3 endpoint of 5, region NORDICS")
    log = read_log()
    check('alert: building "Lyon Office" (EMEA): wan verdicts 75.0% of 4 calls in the last 600 s'
          in log, "the alert line on stderr")
    check('alert: building "Oslo Hub" (NORDICS): surge of endpoint verdicts: 3 of 5 calls' in log,
          "the surge line on stderr")
    check("site \"" not in log, "no site alert (the calls have no probe site)")
    text = metrics_text()
    lab = 'building="Lyon Office",region="EMEA",kind="wan"'
    check(metric("callscope_building_alerts_fired_total{%s}" % lab, text) == 1 and
          metric("callscope_building_alerts_active{%s}" % lab, text) == 1,
          "Lyon fired and active in the building series")
    check(metric('callscope_building_alerts_active{building="HQ Tower",region="EMEA",kind="wan"}',
                 text) == 0, "HQ, the healthy other end of Lyon's calls, tracked and below")
    check(not re.search(r'^callscope_alerts_\w+\{[^}]*building', text, re.M) and
          "Lyon" not in "\n".join(l for l in text.splitlines()
                                  if l.startswith("callscope_alerts_")),
          "the site series hold no building")
    no_address("the payloads", json.dumps([b for _, b in POSTS]))
    no_address("the log", read_log())
    no_address("/metrics", text)
    # Lyon's network renamed by a new import: the cached map follows it
    import_map(MAP.replace("Lyon Office", "Lyon Campus"))
    wait_for(lambda: len(POSTS) >= 4, 15, "the renamed building's alerts")
    new = sorted(key(b) for _, b in POSTS[2:4])
    check(new == [("Lyon Campus", "wan", "firing"), ("Lyon Office", "wan", "resolved")],
          "re-import: Lyon Office resolved, Lyon Campus fired (%s)" % new)
    # Lyon's participants re-judged healthy: resolved
    fixture("UPDATE verdict_participants SET verdict = 'healthy' WHERE call_id LIKE 'ly-%';")
    wait_for(lambda: len(POSTS) >= 5, 15, "Lyon Campus resolved")
    r = POSTS[4][1]
    check(key(r) == ("Lyon Campus", "wan", "resolved") and r["matching"] == 0,
          "Lyon Campus resolved with 0 matching")
    check('alert resolved: building "Lyon Campus" (EMEA): wan verdicts 0.0% of 4' in read_log(),
          "the resolved line")
    time.sleep(2)
    check(len(POSTS) == 5, "nothing more sent (%d posts)" % len(POSTS))
    stop(p)
    hook.shutdown()


def case_alertmanager():
    setup()
    hook, url = H.webhook()
    p = serve(["--alert-webhook", url, "--alert-format", "alertmanager", "--alert-surge-calls",
               "0"])
    fixture(scenario())
    wait_for(lambda: len(POSTS) >= 1, 15, "Lyon's alert")
    time.sleep(2)
    check(len(POSTS) == 1, "one alert (surges off)")
    am = POSTS[0][1]
    print("payload:", json.dumps(am))
    a = am["alerts"][0]
    check(am["version"] == "4" and am["status"] == "firing", "Alertmanager body, firing")
    check(a["labels"] == {"alertname": "CallscopeBuildingWanVerdicts", "building": "Lyon Office",
                          "region": "EMEA", "kind": "wan", "severity": "warning"},
          "its labels: the building and its region")
    check(am["groupLabels"] == {"alertname": "CallscopeBuildingWanVerdicts",
                                "building": "Lyon Office"} and
          am["groupKey"] == '{}:{alertname="CallscopeBuildingWanVerdicts", building="Lyon Office"}',
          "grouped by building")
    check('building "Lyon Office" (EMEA): wan verdicts 75.0% of 4 calls' in
          a["annotations"]["summary"], "the condition in the summary")
    no_address("the payload", json.dumps(am))
    stop(p)
    hook.shutdown()


def stream(sid, ip, loss):
    now = datetime.datetime.now(datetime.timezone.utc)
    rec = json.dumps({"type": "stream", "ssrc": sid, "loss_pct": loss})
    return ("INSERT INTO streams(id, probe_id, site, received, first_seen, last_seen, client_port,"
            " ssrc, direction, media, app, packets, lost, loss_pct, jitter_ms_max, mos,"
            " client_ip_enc, client_ip_hmac, record) VALUES(%d, 'probe-1', 'hq', %s, %s, %s,"
            " 50010, %d, 'outbound', 'audio', 'teams', 3000, 0, %s, 12, 4.1,"
            " pii_seal('streams.client_ip', %s), pii_hash('ip', %s), %s);\n" %
            (sid, q(iso(now)), q(iso(now)), q(iso(now)), sid, loss, q(ip), q(ip), q(rec)))


def case_metrics():
    # 300 one-address buildings beside the three above
    net = lambda i: "10.%d.%d" % (100 + i // 200, i % 200)
    many = "".join("%s.0,N%d,24,Annex %03d,Contoso,Office,,Lyon,69001,FR,ARA,EMEA,1,0\n"
                   % (net(i), i, i) for i in range(300))
    setup(MAP + many)
    p = serve([])
    sql = scenario() + "".join(call("ax-%d" % i, "healthy", [(net(i) + ".7", "healthy")])
                               for i in range(300))
    sql += stream(1, LYON_IPS[0], 3.0) + stream(2, LYON_IPS[1], 0.2) + stream(3, UNMAPPED, 0.0)
    fixture(sql)
    text = metrics_text()
    lyon = 'building="Lyon Office",region="EMEA"'
    check(metric('callscope_building_calls{%s,verdict="wan"}' % lyon, text) == 3 and
          metric('callscope_building_calls{%s,verdict="healthy"}' % lyon, text) == 1,
          "Lyon: 3 wan calls, 1 healthy")
    check(metric('callscope_building_calls{building="HQ Tower",region="EMEA",verdict="healthy"}',
                 text) == 4 and
          metric('callscope_building_calls{building="HQ Tower",region="EMEA",verdict="wan"}',
                 text) == 0, "HQ: the same 4 calls, healthy on its side")
    check(metric('callscope_building_calls{building="Oslo Hub",region="NORDICS",'
                 'verdict="endpoint"}', text) == 3, "Oslo: 3 endpoint")
    check(metric('callscope_building_calls{building="",region="",verdict="wan"}', text) == 5,
          "unmapped participants under building=\"\"")
    check(metric("callscope_building_stream_loss_pct_count{%s}" % lyon, text) == 2 and
          metric('callscope_building_stream_loss_pct_bucket{%s,le="0.5"}' % lyon, text) == 1 and
          metric('callscope_building_stream_loss_pct_bucket{%s,le="5"}' % lyon, text) == 2,
          "Lyon's stream loss histogram: 2 streams, one under 0.5 %")
    check(metric('callscope_building_stream_loss_pct_count{building="",region=""}', text) == 1,
          "the unmapped stream")
    check(metric('callscope_stream_loss_pct_count{site="hq"}', text) == 3,
          "the site histogram unchanged beside them")
    names = set(re.findall(r'^callscope_building_calls\{building="([^"]*)"', text, re.M))
    # 303 buildings seen: 256 of their own, the rest under (other); plus the unmapped ""
    check(len(names - {"", "(other)"}) == 256 and "(other)" in names and "" in names,
          "256 buildings of their own, (other), unmapped (%d names)" % len(names))
    check(metric('callscope_buildings_folded{series="calls"}', text) == 47,
          "47 buildings counted under (other): %s"
          % metric('callscope_buildings_folded{series="calls"}', text))
    check(metric("callscope_buildings_networks", text) == 303, "303 networks in the map")
    check(metric("callscope_building_calls_check_ok", text) == 1, "the calls were read")
    no_address("/metrics", text)
    bad = [l for l in text.splitlines() if l and not l.startswith("#") and
           not re.match(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? [-+0-9.eEInfNa]+$', l)]
    check(not bad, "every sample line well-formed %s" % bad[:3])
    families = re.findall(r"^# TYPE (\S+)", text, re.M)
    check(len(families) == len(set(families)), "each family declared once")
    stop(p)


def api(path, token=TOKEN):
    """(status, parsed body) of GET path."""
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (H.port, path),
                                 headers={"Authorization": "Bearer " + token})
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def case_api():
    viewer_file = os.path.join(TMP, "viewer.token")
    viewer = "v1ewer-%032x" % random.getrandbits(128)
    setup()
    H.token_file(viewer_file, viewer)
    fixture(scenario() + call("ly-old", "wan", [(LYON_IPS[0], "wan")], ended_s_ago=2 * 86400))
    p = serve(["--viewer-token-file", viewer_file])
    # the dashboard's default answer is made once at start and kept: a
    # call stored after it is not in it (made in the request, it would be)
    wait_for(lambda: "warm-up: /api/buildings?since=24h made in" in read_log(), 30,
             "the warm-up of /api/buildings?since=24h")
    fixture(call("un-late", "wan", [(UNMAPPED, "wan")]))
    st, day = api("/api/buildings?since=24h")
    check(st == 200, "GET /api/buildings?since=24h: %s %s" % (st, day))
    st, now = api("/api/buildings?since=25h")
    check(st == 200 and day["unmapped"]["calls"] == 5 and now["unmapped"]["calls"] == 6,
          "the answer made at start is kept (5 unmapped calls), a new query sees the late "
          "call (%s): %s %s" % (st, day["unmapped"], now.get("unmapped")))
    check(day["networks"] == 3 and day["folded"] == 0, "the map's 3 networks, nothing folded")
    rows = {b["building"]: b for b in day["buildings"]}
    check([b["building"] for b in day["buildings"]] == ["Lyon Office", "Oslo Hub", "HQ Tower"],
          "worst share of bad calls first: %s" % [b["building"] for b in day["buildings"]])
    want = {"Lyon Office": ("EMEA", "Lyon", "FR", 4, 3, "wan", {"wan": 3, "healthy": 1}),
            "Oslo Hub": ("NORDICS", "Oslo", "NO", 5, 3, "endpoint",
                         {"endpoint": 3, "healthy": 2}),
            "HQ Tower": ("EMEA", "Paris", "FR", 4, 0, None, {"healthy": 4})}
    for name, (region, city, country, calls, bad, worst, verdicts) in want.items():
        b = rows[name]
        got = (b["region"], b["city"], b["country"], b["calls"], b["bad"], b["worst_segment"],
               {k: v for k, v in b["verdicts"].items() if v})
        check(got == (region, city, country, calls, bad, worst, verdicts),
              "%s: %s, want %s" % (name, got, (region, city, country, calls, bad, worst,
                                                verdicts)))
        check(abs(b["share_bad"] - bad / calls) < 1e-9, "%s: share %s" % (name, b["share_bad"]))
    check(day["unmapped"]["calls"] == 5 and day["unmapped"]["verdicts"]["wan"] == 5,
          "the unmapped address's 5 wan calls: %s" % day["unmapped"])
    regions = {r["region"]: r for r in day["regions"]}
    check([r["region"] for r in day["regions"]] == ["NORDICS", "EMEA"],
          "regions, worst share first: %s" % day["regions"])
    for region, r in regions.items():
        mine = [b for b in day["buildings"] if b["region"] == region]
        check(r["calls"] == sum(b["calls"] for b in mine) and
              r["bad"] == sum(b["bad"] for b in mine) and
              all(r["verdicts"][v] == sum(b["verdicts"][v] for b in mine)
                  for v in r["verdicts"]),
              "%s's rollup adds up its buildings: %s" % (region, r))
    check(regions["EMEA"]["calls"] == 8 and regions["EMEA"]["bad"] == 3 and
          abs(regions["EMEA"]["share_bad"] - 3 / 8) < 1e-9, "EMEA: 3 bad of 8")
    st, emea = api("/api/buildings?since=24h&region=EMEA")
    check(st == 200 and [b["building"] for b in emea["buildings"]] == ["Lyon Office", "HQ Tower"]
          and [r["region"] for r in emea["regions"]] == ["EMEA"],
          "?region=EMEA narrows to Lyon and HQ: %s" % emea)
    st, none = api("/api/buildings?region=Atlantis")
    check(st == 200 and none["buildings"] == [] and none["regions"] == [],
          "an unknown region: nothing")
    st, ever = api("/api/buildings")
    lyon = [b for b in ever["buildings"] if b["building"] == "Lyon Office"]
    check(st == 200 and lyon and lyon[0]["calls"] == 5 and lyon[0]["verdicts"]["wan"] == 4,
          "without since the call of two days ago counts: %s" % lyon)
    st, seen = api("/api/buildings?since=24h", viewer)
    check(st == 200 and seen == day, "a viewer sees the same answer (buildings are not personal)")
    st, body = api("/api/buildings?since=yesterday")
    check(st == 400, "a bad since is a 400: %s %s" % (st, body))
    st, body = api("/api/buildings?site=x")
    check(st == 400, "a parameter it does not take is a 400: %s" % st)
    st, _ = api("/api/buildings", "wrong-token")
    check(st == 401, "a wrong token is a 401: %s" % st)
    no_address("/api/buildings", json.dumps(day) + json.dumps(ever))
    # the call list and the report narrowed by region (a participant there)
    for region, verdict, want in (("NORDICS", None, ["os-%d" % i for i in range(5)]),
                                  ("EMEA", None, ["ly-%d" % i for i in range(4)]),
                                  ("EMEA", "wan", ["ly-%d" % i for i in range(3)]),
                                  ("Atlantis", None, [])):
        path = "/api/calls?since=24h&region=%s%s" % (region, "&verdict=" + verdict
                                                       if verdict else "")
        st, got = api(path)
        ids = sorted(c["call_id"] for c in got.get("calls", [])) if st == 200 else got
        check(ids == want, "%s: %s, want %s" % (path, ids, want))
    st, got = api("/api/calls?since=24h&region=NORDICS", viewer)
    check(st == 200 and len(got["calls"]) == 5, "a viewer may filter by region: %s" % st)
    st, _ = api("/api/calls?region=%01")
    check(st == 400, "a region with a control character is a 400: %s" % st)
    for region, want in (("nordics", ["os-%d" % i for i in range(5)]),
                         ("EMEA", ["ly-%d" % i for i in range(4)]), ("Atlantis", [])):
        r = run([COLLECTOR, "report", "--db", DB, "--org-key", ORGKEY, "--since", "24h",
                 "--region", region, "--format", "json"])
        ids = sorted(c["call_id"] for c in json.loads(r.stdout))
        check(ids == want, "report --region %s: %s, want %s" % (region, ids, want))
    stop(p)


try:
    {"api": case_api, "alerts": case_alerts, "alertmanager": case_alertmanager, "metrics": case_metrics}[CASE]()
finally:
    H.cleanup()
