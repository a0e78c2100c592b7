#!/usr/bin/env python3
"""End to end on both backends, one verdict scenario per invocation:

    e2e_pg_test.py BUILD_DIR SOURCE_DIR SCENARIO [--import]

The same run twice: callscope-probe replays pcaps/verdict_<SCENARIO>.pcap
into `callscope-collector run` over ZeroMQ, once with a SQLite --db file and
once with a throw-away PostgreSQL 15 (tests/pg/pgserver.py); the collector
polls the scenario's call record from tests/graph/fake_graph.py over HTTPS
(no record for wire_only) and correlates every second; with --import the
record is read by `graph-import --db` once the call is judged wire-only, so
the wire-only call is superseded by the joined one and hands it its
history. Then:
  - both stores hold the same verdicts: every row of verdict_calls,
    verdict_participants (with bssid/subnet, which the SQLite triggers and
    the PL/pgSQL trigger fill from the evidence) and verdict_streams, the
    evidence JSON included, and the same client address hashes; the
    verdict is the scenario's expected one;
  - with --import, both histories are: wire-only (provisional), joined;
  - `correlate --db postgresql://...` run twice more judges nothing twice:
    the verdict rows stay the same, no duplicate call, no history row added;
  - `buildings-import` and `buildings-unmapped` give the same answer on both
    stores (the client's /24 unmapped, then mapped after an import).
The tables are read directly (sqlite3 and psql). Exit 77 (skipped) when no PostgreSQL server can run here.
"""
import atexit
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time

BUILD, SRC, NAME = sys.argv[1], sys.argv[2], sys.argv[3]
IMPORT = "--import" in sys.argv[4:]
sys.argv = [sys.argv[0], BUILD, SRC, NAME]
sys.path.insert(0, os.path.join(SRC, "tests", "e2e"))
sys.path.insert(0, os.path.join(SRC, "tests", "pg"))
import e2e_test as e  # noqa: E402  (its helpers: keys, work directory, checks)
import pgserver  # noqa: E402

fake_graph, gen_records = e.fake_graph, e.gen_records
PROBE, COLLECTOR, PCAP, SC = e.PROBE, e.COLLECTOR, e.PCAP, e.SC
TENANT, CLIENT, SECRET = e.TENANT, e.CLIENT, e.SECRET
TMP, PROCS = e.TMP, e.PROCS
fail, check, path, run, read, free_port, setup = (e.fail, e.check, e.path, e.run, e.read,
                                                  e.free_port, e.setup)
SRV = None


@atexit.register
def _stop_server():
    """The throw-away server goes with the test, whichever way it ends."""
    if SRV:
        SRV.stop()


# ---- the two stores, read the same way ---------------------------------------------

CALLS = ("SELECT call_id, source, coalesce(site, ''), start, \"end\", verdict, confidence,"
         " coalesce(graph_record_id, ''), coalesce(graph_version, -1), evidence"
         " FROM verdict_calls ORDER BY call_id")
PARTS = ("SELECT call_id, participant, coalesce(site, ''), %s, verdict, confidence,"
         " coalesce(bssid, ''), coalesce(subnet, ''), evidence FROM verdict_participants"
         " ORDER BY call_id, participant")
STREAMS = ("SELECT call_id, participant, coalesce(direction, ''), coalesce(media, ''), verdict,"
           " confidence, evidence FROM verdict_streams"
           " ORDER BY call_id, participant, direction, media")
HISTORY = "SELECT call_id, verdict, source, provisional, coalesce(rule, '') FROM verdict_history ORDER BY id"


# the columns holding figures (confidence), per query; the last is the evidence
REAL_COLS = {CALLS: (6,), PARTS: (5,), STREAMS: (5,), HISTORY: ()}


def norm(sql, row):
    """Every value as text, figures to 9 significant digits, evidence parsed."""
    out = []
    for i, v in enumerate(row):
        if i in REAL_COLS[sql]:
            v = "%.9g" % float(v)
        elif i == len(row) - 1 and sql != HISTORY:
            v = json.loads(v)
        else:
            v = "" if v is None else str(v)
        out.append(v)
    return out


class SqliteStore:
    def __init__(self, file):
        self.target = file

    def rows(self, sql):
        q = sql % "lower(hex(client_ip_hmac))" if "%s" in sql else sql
        c = sqlite3.connect("file:%s?mode=ro" % self.target, uri=True)
        try:
            return [norm(sql, r) for r in c.execute(q).fetchall()]
        except sqlite3.OperationalError:
            return []  # no verdict tables yet
        finally:
            c.close()


class PgStore:
    def __init__(self, srv):
        self.srv = srv
        self.target = srv.uri

    def rows(self, sql):
        q = sql % "encode(client_ip_hmac, 'hex')" if "%s" in sql else sql
        r = self.srv.psql(q, check=False)
        if r.returncode != 0:
            return []  # no verdict tables yet
        return [norm(sql, l.split("\x1f")) for l in r.stdout.splitlines()]


def verdicts(store):
    return {"calls": store.rows(CALLS), "participants": store.rows(PARTS),
            "streams": store.rows(STREAMS)}


def pipeline(store, label):
    """probe -> collector run (--db store) -> Graph -> correlation, until the
    scenario's verdict is in the store."""
    rec = gen_records.record(os.path.join(SRC, "pcaps"), NAME) if SC.get("graph", True) else None
    fake = None
    if rec and not IMPORT:
        os.makedirs(path(label), exist_ok=True)
        fake = fake_graph.FakeGraph(path(label), TENANT, CLIENT, SECRET)
        fake.records[rec["id"]] = rec
    endpoint = "tcp://127.0.0.1:%d" % free_port()
    log = path(label + "-collector.log")
    args = [COLLECTOR, "run", "-v", "--bind", endpoint, "--key", path("keys", "collector.key"),
            "--authorized-keys", path("probes.d"), "--db", store.target,
            "--org-key", path("keys", "org.key"), "--stats", "0", "--correlate-interval", "1"]
    if fake:
        args += ["--graph-tenant", TENANT, "--graph-client-id", CLIENT,
                 "--graph-secret-file", path("secret"), "--graph-authority-url", fake.base,
                 "--graph-url", fake.base + "/v1.0", "--graph-ca-bundle", fake.ca,
                 "--graph-interval", "10", "--graph-timeout", "5"]
    logf = open(log, "a")
    p = subprocess.Popen(args, stdout=logf, stderr=logf)
    PROCS.append(p)
    deadline = time.time() + 30
    while "listening on" not in read(log):
        if p.poll() is not None or time.time() > deadline:
            fail("%s: collector did not start: %s" % (label, read(log)[-2000:]))
        time.sleep(0.05)
    r = run([PROBE, "--collector", endpoint, "--key", path("keys", "p1.key"),
             "--collector-key", path("keys", "collector.pub"),
             "--spool-dir", path("spool-" + label), "--site", "site-hq", "-r", PCAP])
    check(r.returncode == 0 and "0 records lost" in r.stderr, "%s: probe delivered every record" % label)
    if rec and IMPORT:
        wait_for(store, label, p, log, None, "wire-only")
        with open(path("record.json"), "w") as f:
            json.dump(rec, f)
        r = run([COLLECTOR, "graph-import", "--db", store.target, "--org-key",
                 path("keys", "org.key"), path("record.json")])
        check(r.returncode == 0, "%s: graph-import exits 0 %s" % (label, r.stderr.strip()[-300:]))
    wait_for(store, label, p, log, *SC["expect"])
    time.sleep(2)  # one more correlation step or two: nothing may change
    p.send_signal(signal.SIGTERM)
    rc = p.wait(timeout=30)
    logf.close()
    check(rc == 0, "%s: the collector stops cleanly on SIGTERM (exit %d)%s" %
          (label, rc, "" if rc == 0 else ": " + read(log)[-2000:]))
    if fake:
        fake.stop()
    bad = [l for l in read(log).splitlines() if "correlation" in l and "rror" in l]
    check(not bad, "%s: no correlation error logged %s" % (label, bad[:2]))
    return verdicts(store)


def wait_for(store, label, p, log, verdict, source):
    """Until the store holds a call with this verdict and source."""
    deadline, v = time.time() + 60, {}
    while time.time() < deadline:
        v = verdicts(store)
        if any(c[1] == source and verdict in (None, c[5]) for c in v["calls"]):
            break
        if p.poll() is not None:
            fail("%s: collector exited: %s" % (label, read(log)[-2000:]))
        time.sleep(0.5)
    else:
        fail("%s: no %s call with verdict %s within 60 s: %s\nlog: %s" %
             (label, source, verdict, json.dumps(v)[:2000], read(log)[-3000:]))
    check(True, "%s: a %s call with verdict %s" % (label, source, verdict or "any"))


def correlate(store):
    r = run([COLLECTOR, "correlate", "--db", store.target, "--org-key", path("keys", "org.key"),
             "--since", "520w"])
    check(r.returncode == 0 and "calls evaluated" in r.stdout,
          "correlate --db %s exits 0: %s" % ("postgresql://..." if "postgresql" in store.target
                                              else "FILE", (r.stdout + r.stderr).strip()[-300:]))
    return r.stdout


def unmapped(store):
    r = run([COLLECTOR, "buildings-unmapped", "--db", store.target, "--org-key",
             path("keys", "org.key"), "--since", "520w", "--format", "json"])
    check(r.returncode == 0, "buildings-unmapped exits 0: %s" % r.stderr.strip()[-300:])
    return json.loads(r.stdout)


def main():
    global SRV
    why = pgserver.missing()
    if why:
        print("SKIP:", why)
        sys.exit(pgserver.SKIP)
    setup()
    SRV = pgserver.start()
    lite, pg = SqliteStore(path("store.db")), PgStore(SRV)
    a = pipeline(lite, "sqlite")
    b = pipeline(pg, "pg")
    verdict, source = SC["expect"]
    check(len(a["calls"]) >= 1 and any(c[1] == source and c[5] == verdict for c in a["calls"]),
          "SQLite: %s / %s" % (verdict, source))
    for t in ("calls", "participants", "streams"):
        if a[t] != b[t]:
            fail("%s differ between SQLite and PostgreSQL:\n SQLite: %s\n PG:     %s" %
                 (t, json.dumps(a[t])[:3000], json.dumps(b[t])[:3000]))
        check(True, "verdict_%s: the same %d rows on both backends (evidence included)" %
              (t, len(a[t])))
    if source == "joined":
        check(any(p[6] and p[7] for p in b["participants"]),
              "PostgreSQL: bssid and subnet filled from the evidence by the trigger")
    check(all(p[3] and len(p[3]) == 64 for p in b["participants"] if p[3]),
          "PostgreSQL: client address hashes are 32 bytes, the same as SQLite's")

    # correlate twice more on PostgreSQL: the same verdicts, nothing judged twice
    hist = pg.rows(HISTORY)
    if IMPORT:
        steps = [(h[2], h[3]) for h in hist]
        check(steps == [("wire-only", "1"), ("joined", "0")] and len({h[0] for h in hist}) == 1,
              "PostgreSQL history: the wire-only verdict (provisional), then joined, one call")
        check([h[1:] for h in lite.rows(HISTORY)] == [h[1:] for h in hist],
              "the same history on SQLite")
    check(len(hist) >= 1 and hist[-1][1] == verdict and hist[-1][2] == source,
          "PostgreSQL history ends with the verdict: %s" % hist[-1:])
    for i in (1, 2):
        out = correlate(pg)
        check("0 calls evaluated" not in out, "correlate %d re-evaluated the call: %s" % (i, out.strip()))
        again = verdicts(pg)
        for t in ("calls", "participants", "streams"):
            if again[t] != b[t]:
                fail("correlate %d changed verdict_%s:\n before: %s\n after:  %s" %
                     (i, t, json.dumps(b[t])[:2000], json.dumps(again[t])[:2000]))
        check(True, "correlate %d: the same verdict rows, no call twice" % i)
        check(pg.rows(HISTORY) == hist, "correlate %d: no verdict history row added" % i)
    ids = [c[0] for c in pg.rows(CALLS)]
    check(len(ids) == len(set(ids)), "each call once")

    # buildings: unmapped, then mapped once the client's subnet has a building
    ua, ub = unmapped(lite), unmapped(pg)
    check(ua == ub and ub["clients"] >= 1 and ub["subnets"],
          "buildings-unmapped: the same on both (%s)" % [s["subnet"] for s in ub["subnets"]])
    subnet = ub["subnets"][0]["subnet"]
    net, bits = subnet.split("/")
    with open(path("b.csv"), "w") as f:
        f.write("%s,Site,%s,Site HQ,Own,Office,Open,Lyon,69002,FR,ARA,EMEA,1,1,0\n" % (net, bits))
    for store in (lite, pg):
        r = run([COLLECTOR, "buildings-import", path("b.csv"), "--db", store.target])
        check(r.returncode == 0 and "1 networks" in r.stdout, "buildings-import: %s" % r.stdout.strip())
    ua, ub = unmapped(lite), unmapped(pg)
    check(ua == ub and subnet not in [s["subnet"] for s in ub["subnets"]] and ub["mapped"] >= 1,
          "buildings-unmapped after the import: %s mapped on both" % subnet)
    SRV.stop()
    SRV = None
    shutil.rmtree(TMP, ignore_errors=True)
    print("%s: ok" % NAME)


if __name__ == "__main__":
    main()
