#!/usr/bin/env python3
"""The site views' counts from the rollup equal verdict_calls' (label noc):
a real 'callscope-collector serve' on a store made by the collector's own
migrations (verdict_site_hours and its triggers, rollup.h), 900 calls over
three days written straight into verdict_calls (the triggers keep the
rollup), and for windows with and without since/until, on and off the
hour, /api/sites and /api/sites/{site} (counts and timelines with buckets
of 1, 2 and 24 h, which read the rollup, and 30 min, which does not)
compared with the same counts computed here from verdict_calls with the
window's raw filter "end >= since AND start < until". Then verdicts
change, calls move, change site and are deleted, and the answers are
compared again.

  sites_rollup_test.py COLLECTOR WORKDIR
"""
import datetime
import json
import os
import random
import sqlite3
import sys
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import noc_harness  # noqa: E402  (beside this file)

COLLECTOR, WORKDIR = sys.argv[1:3]
H = noc_harness.Harness("noc-sites-rollup", WORKDIR)
DB = os.path.join(H.tmp, "collector.db")
ORGKEY = os.path.join(H.tmp, "org.key")
TOKEN_FILE = os.path.join(H.tmp, "noc.token")
TOKEN = "t0ken-%032x" % random.getrandbits(128)
VERDICTS = ["lan", "wan", "endpoint", "cloud", "healthy", "unknown"]
SITES = ["hq", "branch", None, "lab"]
rng = random.Random(20261202)
NOW = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def get(path):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (H.port, path),
                                 headers={"Authorization": "Bearer " + TOKEN})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def write_calls(con, first, n):
    rows = []
    for i in range(first, first + n):
        start = NOW - datetime.timedelta(seconds=rng.randrange(3 * 86400))
        if i % 13 == 0:
            start = start.replace(minute=0, second=0)  # on the hour
        length = rng.randrange(3 * 3600) if i % 6 == 0 else rng.randrange(1800)
        end = start + datetime.timedelta(seconds=length)
        rows.append(("call-%05d" % i, rng.choice(SITES), iso(start), iso(end),
                     rng.choice(VERDICTS), iso(NOW)))
    con.executemany("INSERT INTO verdict_calls(call_id, source, site, start, \"end\", verdict,"
                    " confidence, evaluated, evidence) VALUES(?, 'joined', ?, ?, ?, ?, 0.9, ?,"
                    " '{}')", rows)
    con.commit()


def raw_where(since, until, site):
    terms, args = ["1 = 1"], []
    if since:
        terms.append("\"end\" >= ?")
        args.append(since)
    if until:
        terms.append("start < ?")
        args.append(until)
    if site:
        terms.append("site = ?")
        args.append(site)
    return " AND ".join(terms), args


def want_sites(con, since, until):
    w, a = raw_where(since, until, None)
    out = {}
    for site, v, n in con.execute("SELECT COALESCE(site, ''), verdict, count(*) FROM verdict_calls"
                                  " WHERE %s GROUP BY 1, 2" % w, a):
        out.setdefault(site, {})[v] = n
    return out


def want_timeline(con, since, until, site, bucket):
    w, a = raw_where(since, until, site)
    out = {}
    for t, v, n in con.execute("SELECT (CAST(strftime('%%s', start) AS INTEGER) / ?) * ?,"
                               " verdict, count(*) FROM verdict_calls WHERE %s GROUP BY 1, 2" % w,
                               [bucket, bucket] + a):
        out.setdefault(t, {})[v] = n
    return out


def nonzero(verdicts):
    return {k: v for k, v in verdicts.items() if v}


def qs(**kw):
    return "?" + urllib.parse.urlencode({k: v for k, v in kw.items() if v})


def compare(con, when):
    hour = NOW.replace(minute=0, second=0)
    windows = [
        (None, None),
        (iso(NOW - datetime.timedelta(hours=30, minutes=17, seconds=5)), None),
        (iso(hour - datetime.timedelta(hours=30)), None),  # on the hour
        (iso(NOW - datetime.timedelta(hours=50, minutes=41)),
         iso(NOW - datetime.timedelta(hours=7, minutes=3))),
        (iso(hour - datetime.timedelta(hours=40)), iso(hour - datetime.timedelta(hours=6))),
        (None, iso(NOW - datetime.timedelta(hours=20, minutes=30))),
        (iso(NOW - datetime.timedelta(hours=3, minutes=10)),
         iso(NOW - datetime.timedelta(hours=2, minutes=50))),  # inside two hours
        (iso(NOW - datetime.timedelta(minutes=40)), iso(NOW - datetime.timedelta(minutes=10))),
    ]
    checked = 0
    for since, until in windows:
        st, b = get("/api/sites" + qs(since=since, until=until))
        got = {s["site"]: nonzero(s["verdicts"]) for s in b.get("sites", [])}
        want = want_sites(con, since, until)
        H.check(st == 200 and got == want,
                "%s: /api/sites since=%s until=%s: %d sites%s" %
                (when, since, until, len(want), "" if got == want else
                 " (got %s, want %s)" % (got, want)))
        H.check([s["site"] for s in b["sites"]] == sorted(got), "sites in name order")
        for site in ("hq", "branch"):
            for bucket in (3600, 7200, 86400, 1800):
                st, b = get("/api/sites/%s" % site + qs(since=since, until=until, bucket=bucket))
                wt = want_timeline(con, since, until, site, bucket)
                if not wt:
                    H.check(st == 404, "%s: %s empty window: 404" % (when, site))
                    continue
                gt = {e["t"]: nonzero(e["verdicts"]) for e in b.get("timeline", [])}
                ws = want_sites(con, since, until).get(site, {})
                ok = (st == 200 and gt == wt and nonzero(b["verdicts"]) == ws and
                      b["calls"] == sum(ws.values()) and
                      [e["t"] for e in b["timeline"]] == sorted(gt))
                H.check(ok, "%s: /api/sites/%s since=%s until=%s bucket=%d: %d calls in %d"
                        " buckets%s" % (when, site, since, until, bucket, sum(ws.values()),
                                        len(wt), "" if ok else " (got %s %s, want %s %s)" %
                                        (b.get("verdicts"), gt, ws, wt)))
                checked += 1
    # a verdict filter reads verdict_calls (no rollup): the same counts
    since = iso(NOW - datetime.timedelta(hours=30, minutes=17))
    st, b = get("/api/sites" + qs(since=since, verdict="wan"))
    want = {k: {"wan": v["wan"]} for k, v in want_sites(con, since, None).items() if "wan" in v}
    got = {s["site"]: nonzero(s["verdicts"]) for s in b["sites"]}
    H.check(got == want, "%s: verdict=wan (raw path) equal" % when)
    return checked


def main():
    H.run([COLLECTOR, "org-keygen", "--tenant", "contoso.example", "--out", ORGKEY])
    H.token_file(TOKEN_FILE, TOKEN)
    # the verdict tables and the rollup from the collector's own migrations
    H.run([COLLECTOR, "correlate", "--db", DB, "--org-key", ORGKEY, "--since", "60s"])
    con = sqlite3.connect(DB)
    H.check(con.execute("SELECT version FROM migrations WHERE component = 'verdict_rollup'")
            .fetchone() == (2,), "the rollup's migration ran (version 2)")
    write_calls(con, 0, 900)
    H.serve(COLLECTOR, ["--db", DB, "--org-key", ORGKEY, "--token-file", TOKEN_FILE,
                        "--bind", "127.0.0.1:0", "--no-syslog"])
    n = compare(con, "inserts")
    H.check(n > 40, "%d site pages compared" % n)
    # the site page's worst lists: the last 24 h of a longer window
    # (up to the end of the newest timeline bucket, or now if earlier)
    day = datetime.timedelta(hours=24)
    n0 = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    st, b = get("/api/sites/hq" + qs(since=iso(NOW - datetime.timedelta(hours=60))))
    n1 = datetime.datetime.now(datetime.timezone.utc)
    newest = datetime.datetime.fromtimestamp(b["timeline"][-1]["t"] + b["bucket_s"],
                                             datetime.timezone.utc) if st == 200 else n1
    t0, t1 = iso(min(n0, newest) - day), iso(min(n1, newest) - day)
    ws = b.get("worst_since") or ""
    H.check(st == 200 and t0 <= ws <= t1,
            "worst lists over the last 24 h of 60 h (worst_since %s, %s..%s)" % (ws, t0, t1))
    st, b = get("/api/sites/hq" + qs(since=iso(NOW - datetime.timedelta(hours=5))))
    H.check(st == 200 and b.get("worst_since") == iso(NOW - datetime.timedelta(hours=5)),
            "worst lists over the whole of a 5 h window")
    # provisional -> final, moved times, other sites, retention
    con.execute("UPDATE verdict_calls SET verdict = 'healthy' WHERE call_id LIKE '%3'")
    con.execute("UPDATE verdict_calls SET start = strftime('%Y-%m-%dT%H:%M:%S.000000Z', start,"
                " '-50 minutes') WHERE call_id LIKE '%1'")
    con.execute("UPDATE verdict_calls SET \"end\" = strftime('%Y-%m-%dT%H:%M:%S.000000Z', \"end\","
                " '+95 minutes') WHERE call_id LIKE '%2'")
    con.execute("UPDATE verdict_calls SET site = 'hq' WHERE call_id LIKE '%4'")
    con.execute("UPDATE verdict_calls SET site = NULL WHERE call_id LIKE '%5'")
    con.execute("DELETE FROM verdict_calls WHERE call_id LIKE '%7' OR \"end\" < ?",
                (iso(NOW - datetime.timedelta(hours=60)),))
    con.commit()
    write_calls(con, 900, 200)
    compare(con, "changes")
    con.close()
    H.cleanup()
    print("PASS")


if __name__ == "__main__":
    main()
