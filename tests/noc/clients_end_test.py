#!/usr/bin/env python3
"""/api/clients from the participants' call_end (verdict schema 4) and
/api/buildings from the same range with subnet (schema 5) give the answers
of the joins they replace (label noc; the pg case also pg).

A store at verdict schema 3 is made (the collector's own migrations, then
step 4 taken off again as a collector before it would have left the store:
no call_end, its index and triggers) and filled through noc_fixture: 400
calls over three days, each with one to three participants (60 clients,
some without an address), and participants whose call is not in the store.
'serve' on it answers /api/clients for several windows with since only
and /api/buildings (a map of two buildings by address, one reached by Graph's
subnet alone; calls that end at the same instant, whose rows the range
interleaves) (the join: the store has no call_end). Then the store goes to
schema 5:

  sqlite  'correlate' upgrades it (the backfill in one statement);
  pg      'store-migrate' copies it into a throw-away PostgreSQL
          (tests/pg/pgserver.py), whose schema is 5: the copied
          participants take their call's end after the copy.

'serve' on the upgraded store must answer the same windows with the same
JSON (the sealed address opened included). Then rows are written as other
writers would (participants without call_end, participants before their
call, calls whose end moves into and out of the window, calls deleted with
their participants left): each answer must equal the join computed here
on the store (buildings: computed here from the addresses the scenario
gave), and every participant's call_end its call's end (NULL without a
call). pg: the column is then dropped and serve must answer by the join
again.

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


# the buildings: 10.50.0-3.x by address, 10.50.4.x by address or by the
# Graph subnet of a participant without one; 10.50.5-7.x in none
MAP = ("10.50.0.0,North LAN,22,North Block,Contoso,Office,Open plan,Lyon,69001,FR,ARA,EMEA,1,0\n"
       "10.50.4.0,South LAN,24,South Block,Contoso,Office,Open plan,Oslo,0150,NO,,NORDICS,1,0\n")
SUBNET = "10.50.4.0"
IPS = {}  # (call_id, participant) -> address the scenario gave (None: none)
SUBNETS = {}  # (call_id, participant) -> Graph subnet the scenario gave


def scenario():
    sql = []
    end = None
    for i in range(400):
        start = NOW - datetime.timedelta(seconds=rng.randrange(3 * 86400))
        if i % 7 != 3 or end is None:  # one call in seven ends as the call before it
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
            IPS[(cid, "p%d" % k)] = ip
            if ip is None and i % 2 == 0:
                SUBNETS[(cid, "p%d" % k)] = SUBNET
                sql.append("UPDATE verdict_participants SET subnet = %s WHERE call_id = %s AND"
                           " participant = %s;\n" % (q(SUBNET), q(cid), q("p%d" % k)))
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


def ip_of(cid, part):
    """The address a participant row carries: the scenario's, or the one the
    mutations below copied (a 'late' row: its call's p0; a 'new-' call's p0:
    the p1 of the call it was made from)."""
    if (cid, part) in IPS:
        return IPS[(cid, part)]
    if part == "late":
        return IPS[(cid, "p0")]
    if cid.startswith("new-") and part == "p0":
        return IPS[(cid[4:], "p1")]
    raise AssertionError("no address known for %s/%s" % (cid, part))


def building_of(ip, subnet):
    if ip:
        a, b, c, _ = (int(x) for x in ip.split("."))
        if (a, b) == (10, 50) and c < 4:
            return "North Block"
        if (a, b, c) == (10, 50, 4):
            return "South Block"
    if subnet == SUBNET:
        return "South Block"
    return ""


def want_buildings(be, since):
    """/api/buildings' counts computed here: each call once per building of
    its participants, under the worst verdict of that building's ones."""
    worst = {}
    for cid, part, verdict in be.rows(
            "SELECT c.call_id, p.participant, p.verdict FROM verdict_calls c JOIN"
            " verdict_participants p ON p.call_id = c.call_id WHERE c.\"end\" >= ?", (since,)):
        k = (building_of(ip_of(cid, part), SUBNETS.get((cid, part))), cid)
        worst[k] = min(worst.get(k, 9), VERDICTS.index(verdict))
    out = {}
    for (b, _), r in worst.items():
        calls, verdicts = out.setdefault(b, [0, {v: 0 for v in VERDICTS}])
        out[b][0] += 1
        verdicts[VERDICTS[r]] += 1
    return {b: (n, v) for b, (n, v) in out.items()}


def shown_buildings(body):
    out = {b["building"]: (b["calls"], b["verdicts"]) for b in body["buildings"]}
    if body["unmapped"]["calls"]:
        out[""] = (body["unmapped"]["calls"], body["unmapped"]["verdicts"])
    return out


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
        path = "/api/buildings?" + urllib.parse.urlencode({"since": since})
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
        if path.startswith("/api/buildings"):
            w = want_buildings(be, qs["since"][0])
            if shown_buildings(body) != w:
                print("  got: ", json.dumps(shown_buildings(body))[:600])
                print("  want:", json.dumps(w)[:600])
            H.check(shown_buildings(body) == w, "%s: %s equals the join (%s)" %
                    (when, path, {b: n for b, (n, _) in sorted(w.items())}))
            continue
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
    H.check(lite.rows("SELECT version FROM migrations WHERE component = 'verdict'") == [[5]],
            "correlate made verdict schema 5")
    lite.exec(STEP4_OFF)
    with open(os.path.join(H.tmp, "buildings.csv"), "w") as f:
        f.write(MAP)
    H.run([COLLECTOR, "buildings-import", os.path.join(H.tmp, "buildings.csv"), "--db", DB])
    fixture(scenario())
    H.check(not any(r[1] == "call_end" for r in lite.rows("PRAGMA table_info(verdict_participants)")),
            "the store is at schema 3 (no call_end)")
    before = answers(DB, "schema3")
    compare_with_join(lite, before, "schema 3")

    srv = None
    if CASE == "sqlite":
        H.run([COLLECTOR, "correlate", "--db", DB, "--org-key", ORGKEY, "--since", "60s"])
        be = lite
        H.check(be.rows("SELECT version FROM migrations WHERE component = 'verdict'") == [[5]],
                "correlate upgraded the store to verdict schema 5")
        plan = " ".join(str(r) for r in be.rows(
            "EXPLAIN QUERY PLAN SELECT p.client_ip_hmac, count(*) FROM verdict_participants p"
            " INDEXED BY verdict_participants_end WHERE p.call_end >= ? AND p.client_ip_hmac"
            " IS NOT NULL GROUP BY 1", (WINDOWS[0],)))
        H.check("COVERING INDEX verdict_participants_end" in plan,
                "the since-only read is the covering index's range: %s" % plan)
        plan = " ".join(str(r) for r in be.rows(
            "EXPLAIN QUERY PLAN SELECT p.call_end, p.call_id, p.verdict, p.client_ip_enc,"
            " p.subnet FROM verdict_participants p INDEXED BY verdict_participants_end"
            " WHERE p.call_end >= ? ORDER BY p.call_end", (WINDOWS[0],)))
        H.check("COVERING INDEX verdict_participants_end" in plan and "TEMP" not in plan,
                "the buildings' read is the covering index's range, in its order: %s" % plan)
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
        H.check(be.rows("SELECT version FROM migrations WHERE component = 'verdict'") == [[5]],
                "the PostgreSQL store is at verdict schema 5")
    try:
        call_end_right(be, "upgraded")
        after = answers(be.target, "schema5")
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
