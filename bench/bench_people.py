#!/usr/bin/env python3
"""Search by person on a large store: latency of `/api/calls?user=UPN`
(serve, HTTP on 127.0.0.1) and of `report --user UPN` on a store of CALLS
calls (default 100,000; issue 12 asks for at least that).

The store's schema comes from the collector itself (graph-import of one
record, then correlate: every migration applied). The bulk is written in
SQL through the test fixture noc_fixture, which gives the SQL the real
organisation key as pii_hash(domain, value), so the lookup hashes are the
ones the collector computes: per call 3 participants drawn from USERS
people (UPN, object id and display-name key hashes on one session and one
segment each, as Graph's meetings have), one rating in 40 poor, calls
spread over 30 days, plus verdict rows. Then, for QUERIES users drawn at
random, one request each (the default page of 100, no time window, and
with since=7d), and REPORTS runs of `report --user` over 52 weeks.
Prints p50/p95/max in milliseconds.

    python3 bench/bench_people.py BUILD_DIR [--calls N] [--users N] [--queries N] [--reports N]
"""
import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

BULK_SQL = """
PRAGMA journal_mode=WAL;
PRAGMA synchronous=OFF;
BEGIN;
CREATE TEMP TABLE u(n INTEGER PRIMARY KEY, upn BLOB, oid BLOB, name BLOB);
WITH RECURSIVE c(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM c WHERE n + 1 < {users})
INSERT INTO u SELECT n, pii_hash('upn', printf('user%05d@contoso.example', n)),
  pii_hash('id', printf('a11ce000-0000-4000-8000-%012d', n)),
  pii_hash('name', printf('person %05d', n)) FROM c;
CREATE TEMP TABLE k(n INTEGER PRIMARY KEY, start_us INTEGER);
WITH RECURSIVE c(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM c WHERE n + 1 < {calls})
INSERT INTO k SELECT n, {now_us} - (abs(random()) % 2592000000000) FROM c;
INSERT INTO graph_record(rid, record_id, idx, key_id, source, complete, stored_at_us, version,
  type, start_us, end_us)
  SELECT n + 1000, printf('bench-%07d', n), 0, 1, 'bench', 1, {now_us}, 1, 'groupCall',
         start_us, start_us + 1800000000 FROM k;
CREATE TEMP TABLE p(rid INTEGER PRIMARY KEY, call INTEGER, idx INTEGER, user INTEGER,
  rating TEXT);
INSERT INTO p(call, idx, user, rating)
  SELECT k.n, j.i, abs(random()) % {users},
         CASE WHEN abs(random()) % 40 = 0 THEN 'poor' ELSE 'notRated' END
  FROM k, (SELECT 0 AS i UNION ALL SELECT 1 UNION ALL SELECT 2) j;
INSERT INTO graph_session(rid, record_id, parent_rid, idx, caller_odata_type,
  caller_user_upn_hmac, caller_user_id_hmac, caller_user_name_key_hmac, caller_rating,
  caller_ua_platform)
  SELECT p.rid + 1000, printf('bench-%07d', p.call), p.call + 1000, p.idx,
         '#microsoft.graph.callRecords.participantEndpoint', u.upn, u.oid, u.name, p.rating,
         'windows'
  FROM p JOIN u ON u.n = p.user;
INSERT INTO graph_segment(rid, record_id, parent_rid, idx, caller_odata_type,
  caller_user_upn_hmac, caller_user_id_hmac, caller_user_name_key_hmac, caller_rating)
  SELECT p.rid + 1000, printf('bench-%07d', p.call), p.rid + 1000, 0,
         '#microsoft.graph.callRecords.participantEndpoint', u.upn, u.oid, u.name, p.rating
  FROM p JOIN u ON u.n = p.user;
INSERT INTO verdict_calls(call_id, source, site, start, "end", verdict, confidence,
  graph_record_id, graph_version, evaluated, evidence)
  SELECT printf('bench-%07d', n), 'cloud-only', NULL,
         strftime('%Y-%m-%dT%H:%M:%S.000000Z', start_us / 1000000, 'unixepoch'),
         strftime('%Y-%m-%dT%H:%M:%S.000000Z', start_us / 1000000 + 1800, 'unixepoch'),
         CASE abs(random()) % 5 WHEN 0 THEN 'lan' WHEN 1 THEN 'wan' ELSE 'healthy' END, 0.8,
         printf('bench-%07d', n), 1, '2026-01-01T00:00:00.000000Z',
         '{{"rule":"bench"}}' FROM k;
INSERT INTO verdict_participants(call_id, participant, site, verdict, confidence, evidence)
  SELECT printf('bench-%07d', call), printf('user-%024x', rid), NULL, 'healthy', 0.8, '{{}}'
  FROM p;
COMMIT;
ANALYZE;
"""


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def summary(name, ms):
    print("%-44s n=%3d  p50 %7.1f ms  p95 %7.1f ms  max %7.1f ms" %
          (name, len(ms), statistics.median(ms), pct(ms, 0.95), max(ms)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--calls", type=int, default=100000)
    ap.add_argument("--users", type=int, default=5000)
    ap.add_argument("--queries", type=int, default=50)
    ap.add_argument("--reports", type=int, default=10)
    ap.add_argument("--keep", action="store_true", help="keep the store (its path is printed)")
    a = ap.parse_args()
    collector = os.path.join(a.build, "collector", "callscope-collector")
    fixture = os.path.join(a.build, "tests", "noc", "noc_fixture")
    src = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    tmp = tempfile.mkdtemp(prefix="bench-people-")
    db, key, token = (os.path.join(tmp, n) for n in ("store.db", "org.key", "token"))
    run = lambda args: subprocess.run(args, capture_output=True, text=True, timeout=3600)
    try:
        r = run([collector, "org-keygen", "--tenant", "contoso.example", "--out", key])
        assert r.returncode == 0, r.stderr
        # the schema, from the collector's own migrations
        sys.path.insert(0, os.path.join(src, "tests", "e2e"))
        import gen_records
        with open(os.path.join(tmp, "seed.json"), "w") as f:
            json.dump(gen_records.record(os.path.join(src, "pcaps"), "healthy"), f)
        r = run([collector, "graph-import", "--org-key", key, "--db", db,
                 os.path.join(tmp, "seed.json")])
        assert r.returncode == 0, r.stderr
        r = run([collector, "correlate", "--db", db, "--org-key", key, "--since", "520w"])
        assert r.returncode == 0, r.stderr
        sql = BULK_SQL.format(users=a.users, calls=a.calls, now_us=int(time.time() * 1e6))
        with open(os.path.join(tmp, "bulk.sql"), "w") as f:
            f.write(sql)
        t0 = time.time()
        r = run([fixture, db, key, os.path.join(tmp, "bulk.sql")])
        assert r.returncode == 0, r.stderr
        n = run(["sqlite3", db, "SELECT count(*) FROM verdict_calls; SELECT count(*) FROM "
                 "graph_session;"]).stdout.split()
        print("store: %s calls, %s sessions (+ as many segments), %d users, %.1f MB, "
              "written in %.1f s" % (n[0], n[1], a.users, os.path.getsize(db) / 1e6,
                                     time.time() - t0))
        fd = os.open(token, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, b"bench-token-0123456789abcdef\n")
        os.close(fd)
        log = open(os.path.join(tmp, "serve.log"), "w")
        p = subprocess.Popen([collector, "serve", "--db", db, "--org-key", key, "--token-file",
                              token, "--bind", "127.0.0.1:0", "--no-syslog"],
                             stdout=log, stderr=log)
        port = None
        for _ in range(200):
            m = re.search(r"listening on port (\d+)", open(log.name).read())
            if m:
                port = int(m.group(1))
                break
            time.sleep(0.05)
        assert port, open(log.name).read()
        rnd = random.Random(12)
        users = [rnd.randrange(a.users) for _ in range(a.queries)]

        def get(q):
            req = urllib.request.Request("http://127.0.0.1:%d/api/calls?%s" % (port, q),
                                         headers={"Authorization": "Bearer bench-token-"
                                                                   "0123456789abcdef"})
            t = time.perf_counter()
            try:
                with urllib.request.urlopen(req, timeout=30) as resp:
                    body = json.loads(resp.read())
            except urllib.error.HTTPError as e:
                sys.exit("%s: %d %s" % (q, e.code, e.read().decode()[:300]))
            return (time.perf_counter() - t) * 1000, len(body["calls"])

        get("limit=1")  # warm the page cache
        for label, q in (("/api/calls?user=UPN", "user=user%05d%%40contoso.example"),
                         ("/api/calls?user=UPN&since=7d", "user=user%05d%%40contoso.example"
                                                          "&since=7d"),
                         ("/api/calls?user=DISPLAY NAME", "user=Person%%20%05d"),
                         ("/api/calls?rating=poor&since=7d", "rating=poor&since=7d&x=%d")):
            ms, rows = [], []
            for u in users:
                qq = q % u if "%" in q else q
                if "&x=" in qq:
                    qq = qq[:qq.index("&x=")]
                t, k = get(qq)
                ms.append(t)
                rows.append(k)
            summary(label + " (mean %.0f rows)" % statistics.mean(rows), ms)
        p.terminate()
        p.wait(timeout=20)
        ms = []
        for u in users[:a.reports]:
            t = time.perf_counter()
            r = run([collector, "report", "--db", db, "--org-key", key, "--since", "52w",
                     "--format", "json", "--user", "USER%05d@contoso.example" % u])
            ms.append((time.perf_counter() - t) * 1000)
            assert r.returncode == 0 and json.loads(r.stdout), r.stderr
        summary("report --user UPN --since 52w --format json", ms)
    finally:
        if a.keep:
            print("store kept:", db)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
