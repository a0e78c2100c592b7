#!/usr/bin/env python3
"""/api/clients from the participants' call_end (verdict schema 4) gives the
answers of the join it replaces (label noc; the pg case also pg).

A store at verdict schema 3 is made (the collector's own migrations, then
step 4 taken off again as a collector before it would have left the store:
no call_end, its index and triggers) and filled through noc_fixture: 400
calls over three days, each with one to three participants (60 clients,
some without an address), and participants whose call is not in the store.
'serve' on it answers /api/clients for several windows with since only
(the join: the store has no call_end). Then the store goes to schema 4:

  sqlite  'correlate' upgrades it (the backfill in one statement);
  pg      'store-migrate' copies it into a throw-away PostgreSQL
          (tests/pg/pgserver.py), whose schema is 4: the copied
          participants take their call's end after the copy.

'serve' on the upgraded store must answer the same windows with the same
JSON (the sealed address opened included). Then rows are written as other
writers would (participants without call_end, participants before their
call, calls whose end moves into and out of the window, calls deleted with
their participants left): each answer must equal the join computed here
on the store, and every participant's call_end its call's end (NULL
without a call). pg: the column is then dropped and serve must answer by
the join again.

  clients_end_test.py COLLECTOR FIXTURE WORKDIR sqlite|pg

Exit 0 pass, 1 fail, 77 skipped (pg: no PostgreSQL server binaries).
"""
import datetime
import json
import os
import random
import sqlite3
import sys
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, os.path.join(HERE, "..", "pg"))
import noc_harness  # noqa: E402  (beside this file)
import noc_scenario  # noqa: E402  (tests/lib)

COLLECTOR, FIXTURE, WORKDIR, CASE = sys.argv[1:5]
H = noc_harness.Harness("noc-clients-end-" + CASE, WORKDIR)
DB = os.path.join(H.tmp, "collector.db")
ORGKEY = os.path.join(H.tmp, "org.key")
TOKEN_FILE = os.path.join(H.tmp, "noc.token")
TOKEN = "t0ken-%032x" % random.getrandbits(128)
VERDICTS = ["lan", "wan", "endpoint", "cloud", "healthy", "unknown"]
BAD = ("lan", "wan", "endpoint", "cloud")
NOW = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
rng = random.Random(20261203)
q = noc_scenario.q


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def hours_ago(h):
    return iso(NOW - datetime.timedelta(hours=h))


# windows with since only: 24 h, off the hour, most of the store, none of it
WINDOWS = [hours_ago(24), hours_ago(50.3), hours_ago(80), iso(NOW + datetime.timedelta(hours=1))]

STEP4_OFF = ("DROP TRIGGER verdict_participants_end_ins; DROP TRIGGER verdict_calls_end_ins;"
             " DROP TRIGGER verdict_calls_end_upd; DROP TRIGGER verdict_calls_end_del;"
             " DROP INDEX verdict_participants_end;"
             " ALTER TABLE verdict_participants DROP COLUMN call_end;"
             " UPDATE migrations SET version = 3 WHERE component = 'verdict';")


def fixture(sql):
    path = os.path.join(H.tmp, "fixture.sql")
    with open(path, "w") as f:
        f.write(sql)
    H.run([FIXTURE, DB, ORGKEY, path])


def scenario():
    sql = []
    for i in range(400):
        start = NOW - datetime.timedelta(seconds=rng.randrange(3 * 86400))
        end = start + datetime.timedelta(seconds=rng.randrange(60, 7200))
        cid = "call-%04d" % i
        sql.append("INSERT INTO verdict_calls(call_id, source, site, start, \"end\", verdict,"
                   " confidence, evaluated, evidence) VALUES(%s, 'joined', %s, %s, %s, %s, 0.9,"
                   " %s, '{}');\n" % (q(cid), q(rng.choice(["hq", "branch", None])),
                                      q(iso(start)), q(iso(end)), q(rng.choice(VERDICTS)),
                                      q(iso(NOW))))
        for k, c in enumerate(rng.sample(range(64), rng.randint(1, 3))):
            ip = "10.50.%d.%d" % (c // 8, c % 8 + 1) if c < 60 else None  # 60 clients
            sql.append(noc_scenario.participant_sql(cid, "p%d" % k, None, ip,
                                                    rng.choice(VERDICTS), "{}"))
    for i in range(6):  # participants whose call is not in the store
        sql.append(noc_scenario.participant_sql("gone-%d" % i, "p0", None, "10.50.0.%d" % (i + 1),
                                                "wan", "{}"))
    return "".join(sql)


# ---- the two backends ----------------------------------------------------------------

class Lite:
    name = "SQLite"

    def __init__(self):
        self.target = DB

    def exec(self, sql):
        con = sqlite3.connect(DB)
        con.executescript(sql)
        con.commit()
        con.close()

    def rows(self, sql, args=()):
        con = sqlite3.connect(DB)
        out = [list(r) for r in con.execute(sql, args)]
        con.close()
        return out

    def hexpr(self, col):
        return "lower(hex(%s))" % col


class Pg:
    name = "PostgreSQL"

    def __init__(self, srv):
        self.srv = srv
        self.target = srv.uri

    def exec(self, sql):
        self.srv.psql(sql)

    def rows(self, sql, args=()):
        for a in args:  # literal text only (the windows' times)
            sql = sql.replace("?", q(a), 1)
        return [[int(v) if v.lstrip("-").isdigit() else v for v in r]
                for r in self.srv.query(sql)]

    def hexpr(self, col):
        return "encode(%s, 'hex')" % col


def want(be, since, limit):
    """The answer of the join (the path before schema 4), computed here."""
    n = ", ".join("sum(CASE WHEN p.verdict = '%s' THEN 1 ELSE 0 END)" % v for v in VERDICTS)
    rows = be.rows("SELECT %s, count(DISTINCT p.call_id), sum(CASE WHEN p.verdict IN"
                   " ('lan','wan','endpoint','cloud') THEN 1 ELSE 0 END), %s"
                   " FROM verdict_calls c JOIN verdict_participants p ON p.call_id = c.call_id"
                   " WHERE p.client_ip_hmac IS NOT NULL AND c.\"end\" >= ? GROUP BY 1"
                   " ORDER BY 3 DESC, 2 DESC, 1 LIMIT %d" % (be.hexpr("p.client_ip_hmac"), n, limit),
                   (since,))
    return [{"client_id": r[0][:16], "calls": int(r[1]), "bad": int(r[2]),
             "verdicts": {v: int(r[3 + i]) for i, v in enumerate(VERDICTS)}} for r in rows]


def get(path):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (H.port, path),
                                 headers={"Authorization": "Bearer " + TOKEN})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def answers(target, tag):
    """serve on target: /api/clients for each window, {path: JSON}."""
    H.log = os.path.join(H.tmp, "serve-%s.log" % tag)
    p = H.serve(COLLECTOR, ["--db", target, "--org-key", ORGKEY, "--token-file", TOKEN_FILE,
                            "--bind", "127.0.0.1:0", "--no-syslog",
                            "--audit-log", os.path.join(H.tmp, "audit.log")])
    out = {}
    for since in WINDOWS:
        for limit in (10, 200):
            path = "/api/clients?" + urllib.parse.urlencode({"since": since, "limit": limit})
            code, body = get(path)
            H.check(code == 200, "%s: %s answered %d" % (tag, path, code))
            out[path] = body
    code, body = get("/api/clients?since=24h")
    H.check(code == 200 and len(body["clients"]) > 0, "%s: since=24h answered" % tag)
    H.stop(p)
    return out


def shown(body):
    return [{k: c[k] for k in ("client_id", "calls", "bad", "verdicts")} for c in body["clients"]]


def compare_with_join(be, got, when):
    for path, body in got.items():
        qs = urllib.parse.parse_qs(path.split("?", 1)[1])
        w = want(be, qs["since"][0], int(qs["limit"][0]))
        if shown(body) != w:
            print("  got: ", json.dumps(shown(body))[:600])
            print("  want:", json.dumps(w)[:600])
        H.check(shown(body) == w, "%s: %s equals the join (%d clients)" % (when, path, len(w)))
        H.check(all(c["client_ip"] and c["client_ip"].startswith("10.50.")
                    for c in body["clients"]), "%s: %s: every address opened" % (when, path))


def call_end_right(be, when):
    wrong = be.rows("SELECT p.call_id, p.participant FROM verdict_participants p"
                    " LEFT JOIN verdict_calls c ON c.call_id = p.call_id"
                    " WHERE COALESCE(p.call_end, '-') <> COALESCE(c.\"end\", '-')")
    H.check(not wrong, "%s: every participant's call_end is its call's end (%s)" %
            (when, wrong[:5]))


# other writers: what the triggers keep right
def mutations(be):
    # participants without call_end (a writer that does not know the column)
    be.exec("INSERT INTO verdict_participants(call_id, participant, site, client_ip_hmac,"
            " client_ip_enc, verdict, confidence, evidence) SELECT p.call_id, 'late', NULL,"
            " p.client_ip_hmac, p.client_ip_enc, 'wan', 0.5, '{}' FROM verdict_participants p"
            " WHERE p.participant = 'p0' AND p.call_id LIKE 'call-%3' AND"
            " p.client_ip_hmac IS NOT NULL;")
    # participants written before their call
    be.exec("INSERT INTO verdict_participants(call_id, participant, site, client_ip_hmac,"
            " client_ip_enc, verdict, confidence, evidence) SELECT 'new-' || p.call_id, 'p0',"
            " NULL, p.client_ip_hmac, p.client_ip_enc, 'endpoint', 0.5, '{}'"
            " FROM verdict_participants p WHERE p.participant = 'p1' AND p.call_id LIKE 'call-%%7'"
            " AND p.client_ip_hmac IS NOT NULL;"
            "INSERT INTO verdict_calls(call_id, source, site, start, \"end\", verdict, confidence,"
            " evaluated, evidence) SELECT DISTINCT p.call_id, 'joined', NULL, %s, %s, 'endpoint',"
            " 0.9, %s, '{}' FROM verdict_participants p WHERE p.call_id LIKE 'new-%%';"
            % (q(hours_ago(3)), q(hours_ago(2)), q(iso(NOW))))
    # ends moved into and out of the windows; calls deleted, participants left
    be.exec("UPDATE verdict_calls SET \"end\" = %s WHERE call_id LIKE 'call-%%1';"
            "UPDATE verdict_calls SET \"end\" = %s WHERE call_id LIKE 'call-%%2';"
            "DELETE FROM verdict_calls WHERE call_id LIKE 'call-%%5';"
            % (q(hours_ago(1)), q(hours_ago(70))))


def main():
    H.run([COLLECTOR, "org-keygen", "--tenant", "contoso.example", "--out", ORGKEY])
    H.token_file(TOKEN_FILE, TOKEN)
    # the tables by the collector's migrations, then as schema 3 left them
    H.run([COLLECTOR, "correlate", "--db", DB, "--org-key", ORGKEY, "--since", "60s"])
    lite = Lite()
    H.check(lite.rows("SELECT version FROM migrations WHERE component = 'verdict'") == [[4]],
            "correlate made verdict schema 4")
    lite.exec(STEP4_OFF)
    fixture(scenario())
    H.check(not any(r[1] == "call_end" for r in lite.rows("PRAGMA table_info(verdict_participants)")),
            "the store is at schema 3 (no call_end)")
    before = answers(DB, "schema3")
    compare_with_join(lite, before, "schema 3")

    srv = None
    if CASE == "sqlite":
        H.run([COLLECTOR, "correlate", "--db", DB, "--org-key", ORGKEY, "--since", "60s"])
        be = lite
        H.check(be.rows("SELECT version FROM migrations WHERE component = 'verdict'") == [[4]],
                "correlate upgraded the store to verdict schema 4")
        plan = " ".join(str(r) for r in be.rows(
            "EXPLAIN QUERY PLAN SELECT p.client_ip_hmac, count(*) FROM verdict_participants p"
            " INDEXED BY verdict_participants_end WHERE p.call_end >= ? AND p.client_ip_hmac"
            " IS NOT NULL GROUP BY 1", (WINDOWS[0],)))
        H.check("COVERING INDEX verdict_participants_end" in plan,
                "the since-only read is the covering index's range: %s" % plan)
    else:
        import pgserver  # noqa: E402  (tests/pg)
        if pgserver.missing():
            print("SKIP:", pgserver.missing())
            H.cleanup()
            sys.exit(77)
        srv = pgserver.start()
        r = H.run([COLLECTOR, "store-migrate", "--from", DB, "--to", srv.uri], timeout=300)
        H.check("DIFFERENT" not in r.stdout, "store-migrate: every table's counts equal")
        be = Pg(srv)
        H.check(be.rows("SELECT version FROM migrations WHERE component = 'verdict'") == [[4]],
                "the PostgreSQL store is at verdict schema 4")
    try:
        call_end_right(be, "upgraded")
        after = answers(be.target, "schema4")
        for path in before:
            H.check(after[path] == before[path],
                    "%s: %s the same JSON as at schema 3" % (be.name, path))
        mutations(be)
        call_end_right(be, "other writers")
        compare_with_join(be, answers(be.target, "written"), "%s, other writers" % be.name)
        if srv:
            # serve on a PostgreSQL store without call_end (a collector
            # before schema 4 wrote it): the join, as on SQLite above
            be.exec("ALTER TABLE verdict_participants DROP COLUMN call_end CASCADE")
            compare_with_join(be, answers(be.target, "pg-schema3"), "PostgreSQL without call_end")
    finally:
        if srv:
            srv.stop()
    H.cleanup()
    print("PASS")


if __name__ == "__main__":
    main()
