#!/usr/bin/env python3
"""Surge alerts of endpoint and cloud verdicts (label noc): a real
'callscope-collector serve' evaluating the store every second, a real
webhook receiver on 127.0.0.1, the store's tables from the collector's own
migrations and its rows written through noc_fixture while serve runs.

  alerts_surge_test.py COLLECTOR FIXTURE WORKDIR callscope|alertmanager

callscope: hq gets 4 endpoint calls of 10 (40 %), branch 3 cloud calls of
6; quiet gets 2 endpoint calls of 4 (under the 3 calls asked for) and big
3 endpoint calls of 40 (under the 20 % share): exactly hq/endpoint and
branch/cloud fire, each once, with the figures in the body, the log line
and the metrics; hq's calls re-judged healthy (as a re-evaluation does)
resolve hq/endpoint, branch's calls leaving the window resolve
branch/cloud. alertmanager: the same hq surge in Alertmanager's webhook
format, firing then resolved. Prints the payloads it asserts on.
"""
import datetime
import json
import os
import random
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import noc_harness  # noqa: E402  (beside this file)

COLLECTOR, FIXTURE, WORKDIR, CASE = sys.argv[1:5]
H = noc_harness.Harness("noc-surge-%s" % CASE, WORKDIR)
TMP = H.tmp
DB = os.path.join(TMP, "collector.db")
ORGKEY = os.path.join(TMP, "org.key")
TOKEN_FILE = os.path.join(TMP, "noc.token")
TOKEN = "t0ken-%032x" % random.getrandbits(128)
POSTS = H.posts  # (content type, parsed body)
fail, check, wait_for, read_log, run, stop = H.fail, H.check, H.wait_for, H.read_log, H.run, H.stop
SURGE_OPTS = ["--alert-check", "1", "--alert-surge-calls", "3", "--alert-surge-share", "20",
              "--alert-surge-window", "600", "--alert-interval", "3600", "--alert-live-calls", "0",
              "--no-syslog"]


def setup():
    run([COLLECTOR, "org-keygen", "--tenant", "contoso.example", "--out", ORGKEY])
    H.token_file(TOKEN_FILE, TOKEN)
    # the verdict tables from the collector's own migrations
    run([COLLECTOR, "correlate", "--db", DB, "--org-key", ORGKEY, "--since", "60s"])


def fixture(sql):
    path = os.path.join(TMP, "fixture-%d.sql" % random.getrandbits(32))
    with open(path, "w") as f:
        f.write(sql)
    run([FIXTURE, DB, ORGKEY, path])


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def calls(prefix, site, verdict, n, ended_s_ago=30):
    """n calls at site with that verdict, ended ended_s_ago seconds ago."""
    now = datetime.datetime.now(datetime.timezone.utc)
    end = now - datetime.timedelta(seconds=ended_s_ago)
    start = end - datetime.timedelta(minutes=5)
    ev = json.dumps({"rule": "surge fixture " + verdict})
    return "".join(
        "INSERT INTO verdict_calls(call_id, source, site, start, \"end\", verdict, confidence,"
        " graph_record_id, graph_version, evaluated, evidence) VALUES('%s-%d', 'joined', '%s',"
        " '%s', '%s', '%s', 0.9, 'rec-%s-%d', 1, '%s', '%s');\n" %
        (prefix, i, site, iso(start), iso(end), verdict, prefix, i, iso(now), ev)
        for i in range(n))


def serve(extra):
    return H.serve(COLLECTOR, ["--db", DB, "--org-key", ORGKEY, "--token-file", TOKEN_FILE,
                               "--bind", "127.0.0.1:0", "--metrics-open"] + extra)


def metric(series):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % H.port, timeout=10) as r:
        text = r.read().decode()
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    return None


def by_site_kind(posts):
    out = {}
    for _, b in posts:
        out.setdefault((b["site"], b["kind"]), []).append(b)
    return out


def case_callscope():
    setup()
    hook, url = H.webhook()
    p = serve(SURGE_OPTS + ["--alert-webhook", url])
    # below: quiet has too few endpoint calls, big too small a share
    fixture(calls("q-ep", "quiet", "endpoint", 2) + calls("q-ok", "quiet", "healthy", 2) +
            calls("b-ep", "big", "endpoint", 3) + calls("b-ok", "big", "healthy", 37))
    time.sleep(2.5)
    check(POSTS == [], "no surge alert under 3 calls or under 20 %% (%d posts)" % len(POSTS))
    check(metric('callscope_alerts_active{site="big",kind="endpoint"}') == 0,
          "big's endpoint state is tracked and below")
    fixture(calls("hq-ep", "hq", "endpoint", 4) + calls("hq-ok", "hq", "healthy", 6) +
            calls("br-cl", "branch", "cloud", 3) + calls("br-ok", "branch", "healthy", 3))
    wait_for(lambda: len(POSTS) >= 2, 10, "two surge alerts")
    time.sleep(2.5)  # staying above: no repeat
    got = by_site_kind(POSTS)
    print("payloads:", json.dumps([b for _, b in POSTS]))
    check(sorted(got) == [("branch", "cloud"), ("hq", "endpoint")],
          "exactly hq/endpoint and branch/cloud fired (%s)" % sorted(got))
    check(all(len(v) == 1 for v in got.values()), "each once while above")
    hq = got[("hq", "endpoint")][0]
    check(POSTS[0][0] == "application/json", "webhook Content-Type JSON")
    check(hq["type"] == "callscope.alert" and hq["status"] == "firing", "a callscope firing alert")
    check(hq["calls"] == 10 and hq["matching"] == 4 and abs(hq["share_pct"] - 40.0) < 1e-9,
          "hq figures: 4 of 10, 40 %")
    check(hq["threshold_pct"] == 20 and hq["min_calls"] == 3 and hq["window_s"] == 600,
          "hq thresholds: 20 %, 3 calls, 600 s")
    br = got[("branch", "cloud")][0]
    check(br["calls"] == 6 and br["matching"] == 3, "branch figures: 3 cloud of 6")
    log = read_log()
    check('alert: site "hq": surge of endpoint verdicts: 4 of 10 calls (40.0%)' in log,
          "the alert line on stderr")
    check(metric('callscope_alerts_fired_total{site="hq",kind="endpoint"}') == 1 and
          metric('callscope_alerts_active{site="hq",kind="endpoint"}') == 1 and
          metric('callscope_alerts_fired_total{site="branch",kind="cloud"}') == 1,
          "fired and active in the metrics")
    check(metric('callscope_alerts_fired_total{site="hq",kind="cloud"}') == 0,
          "no cloud alert for hq")
    # hq re-judged healthy (a later evaluation replaces the verdicts): resolved
    fixture("UPDATE verdict_calls SET verdict = 'healthy' WHERE call_id LIKE 'hq-ep-%';")
    wait_for(lambda: len(POSTS) >= 3, 10, "hq's resolved message")
    r = POSTS[2][1]
    check(r["site"] == "hq" and r["kind"] == "endpoint" and r["status"] == "resolved" and
          r["matching"] == 0, "hq/endpoint resolved with 0 matching")
    check('alert resolved: site "hq": surge of endpoint verdicts: 0 of 10' in read_log(),
          "the resolved line on stderr")
    # branch's calls leave the window (they ended 20 minutes ago now): resolved
    old = iso(datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=20))
    fixture("UPDATE verdict_calls SET \"end\" = '%s' WHERE site = 'branch';" % old)
    wait_for(lambda: len(POSTS) >= 4, 10, "branch's resolved message")
    r = POSTS[3][1]
    check(r["site"] == "branch" and r["kind"] == "cloud" and r["status"] == "resolved",
          "branch/cloud resolved when its calls left the window")
    check(metric('callscope_alerts_resolved_total{site="hq",kind="endpoint"}') == 1 and
          metric('callscope_alerts_resolved_total{site="branch",kind="cloud"}') == 1 and
          metric('callscope_alerts_active{site="branch",kind="cloud"}') == 0,
          "resolved counted, no longer active")
    time.sleep(2)
    check(len(POSTS) == 4, "nothing more sent (%d posts)" % len(POSTS))
    stop(p)
    hook.shutdown()


def case_alertmanager():
    setup()
    hook, url = H.webhook()
    p = serve(SURGE_OPTS + ["--alert-webhook", url, "--alert-format", "alertmanager"])
    fixture(calls("hq-ep", "hq", "endpoint", 3) + calls("hq-ok", "hq", "healthy", 2))
    wait_for(lambda: len(POSTS) >= 1, 10, "the surge alert")
    am = POSTS[0][1]
    print("payload:", json.dumps(am))
    a = am["alerts"][0]
    check(am["version"] == "4" and am["status"] == "firing" and len(am["alerts"]) == 1,
          "Alertmanager body, version 4, one alert")
    check(a["labels"] == {"alertname": "CallscopeSiteEndpointSurge", "site": "hq",
                          "kind": "endpoint", "severity": "warning"}, "its labels")
    check(a["endsAt"] == "0001-01-01T00:00:00Z" and "surge of endpoint verdicts: 3 of 5" in
          a["annotations"]["summary"], "firing: open end, the condition in the summary")
    fixture("DELETE FROM verdict_calls WHERE call_id LIKE 'hq-ep-%';")
    wait_for(lambda: len(POSTS) >= 2, 10, "the resolved message")
    r = POSTS[1][1]
    check(r["status"] == "resolved" and r["alerts"][0]["status"] == "resolved" and
          r["alerts"][0]["endsAt"] != "0001-01-01T00:00:00Z" and
          r["groupKey"] == am["groupKey"], "resolved, same group, with its end time")
    stop(p)
    hook.shutdown()


try:
    {"callscope": case_callscope, "alertmanager": case_alertmanager}[CASE]()
finally:
    H.cleanup()
