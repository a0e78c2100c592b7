#!/usr/bin/env python3
"""One Graph client test case against a real HTTPS server on 127.0.0.1.

    graph_case.py CALLSCOPE_GRAPH WORKDIR CASE [pg]

Starts fake_graph.FakeGraph with the case's records and faults, runs
`callscope-graph poll --once` (secrets and keys in files, never on the
command line), then checks the exit code, the store and the log. Every
case also checks that no name, IP or MAC it fed in reached the log or lies
in clear in the database's files.

With "pg" the store is a throw-away PostgreSQL 15 (tests/pg/pgserver.py;
exit 77 = skipped when its binaries are missing): --db is its URI, the
checks read it through psql, and the clear-text search covers the whole
cluster directory (tables, WAL, the server's log).
"""
import json
import hashlib
import hmac
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pg"))
import fake_graph  # noqa: E402
import gen_records  # noqa: E402
import pgserver  # noqa: E402

TENANT = "0d15ea5e-0000-4000-8000-00000000c0de"
CLIENT = "c11e47a0-0000-4000-8000-000000000001"
SECRET = "s3cr3t~value.of-the_client"

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def walk_files(paths):
    """The files under each path (a path may be a file itself)."""
    for w in paths:
        if os.path.isfile(w):
            yield w
        for root, _, files in os.walk(w):
            for name in files:
                yield os.path.join(root, name)


def pg_literal(v):
    if isinstance(v, int):
        return str(v)
    return "'" + str(v).replace("'", "''") + "'"


def pg_value(v):
    """A JSON value of row_to_json as sqlite3 would give it: bytea as bytes."""
    if isinstance(v, str) and v.startswith("\\x"):
        return bytes.fromhex(v[2:])
    return v


class Env:
    def __init__(self, binary, workdir, pg=None):
        self.bin = binary
        self.dir = workdir
        self.pg = pg
        shutil.rmtree(workdir, ignore_errors=True)
        os.makedirs(workdir)
        self.db = pg.uri if pg else os.path.join(workdir, "store.db")
        self.key = os.path.join(workdir, "org.key")
        self.secret = os.path.join(workdir, "secret")
        with open(os.open(self.secret, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
            f.write(SECRET + "\n")
        subprocess.run([binary, "orgkey", "--tenant", TENANT, "--out", self.key], check=True,
                       capture_output=True)
        self.fake = fake_graph.FakeGraph(workdir, TENANT, CLIENT, SECRET)
        self.pii = []
        self.logs = []
        self.own_tables_only = True  # 'run' adds ingest's tables

    def add(self, n, **kw):
        rec, pii = gen_records.record(n, **kw)
        self.fake.records[rec["id"]] = rec
        self.pii.extend(pii)
        return rec["id"]

    def poll(self, *extra, tenant=TENANT, secret_file=None, key=None, timeout=60, authority=None,
             graph=None, wrap=(), db=None):
        args = list(wrap) + [
            self.bin, "poll", "--once", "-v", "--db", db or self.db, "--tenant", tenant,
            "--client-id", CLIENT, "--secret-file", secret_file or self.secret,
            "--org-key", key or self.key, "--authority-url", authority or self.fake.base,
            "--graph-url", graph or self.fake.base + "/v1.0", "--ca-bundle", self.fake.ca,
            "--timeout", "2", "--min-gap", "0", "--pending-retry", "1"] + list(extra)
        # no proxy from the environment: every request stays on this machine
        env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
        p = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env)
        self.logs.append(p.stderr)
        sys.stderr.write(p.stderr)
        return p.returncode, p.stderr

    def sql(self, q, *a):
        if self.pg:
            return self.pg_sql(q, *a)
        con = sqlite3.connect(self.db)
        try:
            return con.execute(q, a).fetchall()
        finally:
            con.close()

    def pg_sql(self, q, *a):
        """Rows as tuples, typed as sqlite3 gives them: each row through
        row_to_json (numbers, NULL as None, bytea as bytes)."""
        parts = q.split("?")
        if len(parts) - 1 != len(a):
            raise ValueError("%d parameters for %r" % (len(a), q))
        text = parts[0] + "".join(pg_literal(v) + p for v, p in zip(a, parts[1:]))
        out = self.pg.psql("SELECT row_to_json(q) FROM (%s) q" % text).stdout
        return [tuple(pg_value(v) for _, v in json.loads(l, object_pairs_hook=list))
                for l in out.splitlines()]

    def pg_finish(self):
        # every page and WAL record on disk before the files are searched
        self.pg.psql("CHECKPOINT", role="postgres")
        # the search must see the rows: record ids are stored in clear
        ids = {r[0] for r in self.pg.query("SELECT record_id FROM graph_record")} \
            if self.pg.query("SELECT to_regclass('graph_record')")[0][0] else set()
        seen = set()
        # the store's database, the WAL and the server's log (the template
        # databases and catalogs of the rest hold none of our rows); runs of
        # zeros (free space, unwritten WAL) dropped before the search
        oid = self.pg.query("SELECT oid FROM pg_database WHERE datname = current_database()")[0][0]
        where = [os.path.join(self.pg.data, "base", oid), os.path.join(self.pg.data, "pg_wal"),
                 self.pg.log]
        zeros = re.compile(rb"\0{64,}")
        pii = [s.encode() for s in set(self.pii)]
        for path in walk_files(where):
            try:
                with open(path, "rb") as f:
                    raw = zeros.sub(b"\0", f.read())
            except OSError:
                continue
            for s in pii:
                check(s not in raw, "PII %r in clear in %s" % (s, path))
            seen.update(i for i in ids if i.encode() in raw)
        check(seen == ids, "the files searched hold every stored id in clear "
              "(%d of %d found)" % (len(seen), len(ids)))
        tables = self.pg.query("SELECT table_name FROM information_schema.tables "
                               "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'")
        for (t,) in tables if self.own_tables_only else ():
            check(t.startswith("graph_") or t == "migrations", "foreign table %s" % t)

    def finish(self):
        self.fake.stop()
        log = "".join(self.logs)
        for s in set(self.pii):
            check(s not in log, "PII %r appears in the log" % s)
        if self.pg:
            self.pg_finish()
        elif os.path.exists(self.db):
            raw = b""
            for suffix in ("", "-wal"):
                if os.path.exists(self.db + suffix):
                    with open(self.db + suffix, "rb") as f:
                        raw += f.read()
            for s in set(self.pii):
                check(s.encode() not in raw, "PII %r stored in clear" % s)
            for (t,) in self.sql("SELECT name FROM sqlite_master WHERE type='table'") \
                    if self.own_tables_only else ():
                check(t.startswith("graph_") or t == "migrations", "foreign table %s" % t)
        check(SECRET not in log, "the client secret appears in the log")


def no_duplicates(env, ids):
    rows = env.sql("SELECT record_id, COUNT(*) FROM graph_record GROUP BY record_id")
    check(sorted(r[0] for r in rows) == sorted(ids), "stored ids %s, want %s" % (rows, ids))
    check(all(r[1] == 1 for r in rows), "a record stored twice: %s" % rows)


def case_paging(env):
    ids = [env.add(n) for n in range(1, 6)]
    env.fake.list_page = 2
    rc, log = env.poll()
    check(rc == 0, "exit %d" % rc)
    check(len(env.fake.requests(r"/callRecords\?")) == 3, "3 list pages requested")
    check("$filter=startDateTime%20ge%20" in env.fake.requests(r"/callRecords\?")[0][2],
          "list filtered by startDateTime")
    check("listing done: 5 record(s) to fetch" in log, "log: listing done")
    no_duplicates(env, ids)
    check(env.sql("SELECT COUNT(*) FROM graph_stream")[0][0] == 10, "10 streams")


def case_sessions_paging(env):
    rid = env.add(1, sessions=5)
    env.fake.sessions_page = 2
    rc, log = env.poll()
    check(rc == 0, "exit %d" % rc)
    check(len(env.fake.requests(r"/sessions\?")) == 2, "2 further sessions pages")
    no_duplicates(env, [rid])
    check(env.sql("SELECT COUNT(*) FROM graph_session")[0][0] == 5, "5 sessions")
    check(env.sql("SELECT COUNT(*) FROM graph_segment")[0][0] == 5, "5 segments")
    check(env.sql("SELECT complete FROM graph_record")[0][0] == 1, "record complete")
    check("5 sessions, 5 segments, 10 streams" in log, "log: counts")


def case_version_update(env):
    rid = env.add(1)
    rc, _ = env.poll()
    check(rc == 0 and env.sql("SELECT version FROM graph_record") == [(1,)], "v1 stored")
    env.add(1, version=2, sessions=2, degraded=True)
    rc, log = env.poll()
    check(rc == 0, "exit %d" % rc)
    check("changed (version 1 -> 2)" in log and "version 2 updated" in log, "log: update")
    no_duplicates(env, [rid])
    check(env.sql("SELECT version FROM graph_record") == [(2,)], "v2 stored")
    check(env.sql("SELECT COUNT(*) FROM graph_session")[0][0] == 2, "sessions of v2 only")
    check(env.sql("SELECT MAX(avg_jitter_ms) FROM graph_stream")[0][0] == 45.0, "v2 jitter")
    before = len(env.fake.requests(r"/callRecords/"))
    rc, log = env.poll()
    check(rc == 0 and len(env.fake.requests(r"/callRecords/")) == before,
          "unchanged record not fetched again")


def case_throttle_429(env):
    rid = env.add(1)
    env.fake.rules.append(fake_graph.Rule(r"/callRecords/", ("status", 429, "2.128")))
    rc, log = env.poll()
    check(rc == 0, "exit %d" % rc)
    reqs = env.fake.requests(r"/callRecords/[^/?]+\?")
    check(len(reqs) == 2 and reqs[0][3] == 429 and reqs[1][3] == 200, "429 then 200: %s" % reqs)
    if len(reqs) == 2:
        check(reqs[1][0] - reqs[0][0] >= 2.128, "waited %.3f s, want >= 2.128" % (reqs[1][0] - reqs[0][0]))
    check("HTTP 429 throttled; retry 1 of 5 in 2.128 s (Retry-After)" in log, "log: 429")
    no_duplicates(env, [rid])


def case_server_503(env):
    rid = env.add(1)
    env.fake.rules.append(fake_graph.Rule(r"/callRecords\?", ("status", 503, None), count=2))
    rc, log = env.poll()
    check(rc == 0, "exit %d" % rc)
    check(log.count("HTTP 503") == 2 and "(back-off)" in log, "log: 503 back-off")
    codes = [r[3] for r in env.fake.requests(r"/callRecords\?")]
    check(codes == [503, 503, 200], "list attempts %s" % codes)
    no_duplicates(env, [rid])


def case_timeout(env):
    rid = env.add(1)
    env.fake.rules.append(fake_graph.Rule(r"/callRecords/", ("sleep", 3.5)))
    rc, log = env.poll()
    check(rc == 0, "exit %d" % rc)
    check("timed out" in log and "retry 1 of 5" in log, "log: timeout and retry")
    no_duplicates(env, [rid])


def case_truncated(env):
    rid = env.add(1)
    env.fake.rules.append(fake_graph.Rule(r"/callRecords/", ("cut",)))
    rc, log = env.poll()
    check(rc == 0, "exit %d" % rc)
    check("record %s: failed" % rid in log, "log: cut transfer")
    no_duplicates(env, [rid])


def case_malformed(env):
    good = env.add(1)
    bad = env.add(2)
    env.fake.rules.append(fake_graph.Rule(bad, ("malformed",), count=100))
    rc, log = env.poll("--max-attempts", "2")
    check(rc == 1, "exit %d, want 1 (partial)" % rc)
    check("record %s: malformed or truncated JSON" % bad in log, "log: malformed")
    check("record %s not stored" % bad in log, "log: not stored")
    no_duplicates(env, [good])
    check(env.sql("SELECT record_id FROM graph_pending") == [(bad,)], "bad id kept pending")
    env.fake.rules.clear()
    time.sleep(1.1)
    rc, log = env.poll()
    check(rc == 0, "second run exit %d" % rc)
    no_duplicates(env, [good, bad])
    check(env.sql("SELECT COUNT(*) FROM graph_pending")[0][0] == 0, "pending emptied")


def case_token_expiry(env):
    ids = [env.add(n) for n in range(1, 4)]
    env.fake.rules.append(fake_graph.Rule(ids[1], ("expire_token",)))
    rc, log = env.poll()
    check(rc == 0, "exit %d" % rc)
    check("access token rejected (HTTP 401" in log, "log: 401")
    check(len(env.fake.requests(r"/token$", "POST")) == 2, "a second token fetched")
    no_duplicates(env, ids)


def case_token_lifetime(env):
    ids = [env.add(n) for n in range(1, 4)]
    env.fake.token_lifetime = 2  # renewed after 1 s
    env.fake.rules.append(fake_graph.Rule(r"/callRecords/", ("status", 503, "1.2")))
    rc, log = env.poll()
    check(rc == 0, "exit %d" % rc)
    check(len(env.fake.requests(r"/token$", "POST")) >= 2, "token renewed before expiry")
    check(not [r for r in env.fake.log if r[3] == 401], "no request with an expired token")
    no_duplicates(env, ids)


def case_invalid_client(env):
    env.add(1)
    bad = os.path.join(env.dir, "wrong-secret")
    with open(os.open(bad, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
        f.write("not-the-secret\n")
    rc, log = env.poll(secret_file=bad)
    check(rc == 3, "exit %d, want 3" % rc)
    check("invalid_client: the client secret was refused" in log, "log: invalid_client")
    check(env.sql("SELECT COUNT(*) FROM graph_record")[0][0] == 0, "nothing stored")
    check(not env.fake.requests(r"/v1\.0/"), "no Graph request without a token")


def case_wrong_tenant(env):
    env.add(1)
    wrong = "0bad0bad-0000-4000-8000-000000000000"
    key = os.path.join(env.dir, "wrong.key")
    subprocess.run([env.bin, "orgkey", "--tenant", wrong, "--out", key], check=True,
                   capture_output=True)
    rc, log = env.poll(tenant=wrong, key=key)
    check(rc == 3 and "wrong tenant" in log, "exit %d, log names the wrong tenant" % rc)


def case_consent_403(env):
    env.add(1)
    env.fake.forbidden = True
    rc, log = env.poll()
    check(rc == 4, "exit %d, want 4" % rc)
    check("CallRecords.Read.All" in log and "admin" in log, "log: consent")


def case_not_found(env):
    rid = env.add(1)
    rec = env.fake.records.pop(rid)
    # Listed but not yet fetchable: Graph's fresh-id 404.
    env.fake.rules.append(fake_graph.Rule(r"/callRecords/", ("status", 404, None)))
    env.fake.records[rid] = rec
    rc, log = env.poll()
    check("not available yet (404)" in log, "log: 404 pending")
    check(env.sql("SELECT record_id, last_status FROM graph_pending") == [(rid, 404)], "pending 404")
    check(env.sql("SELECT COUNT(*) FROM graph_record")[0][0] == 0, "nothing stored yet")
    time.sleep(1.1)
    rc, log = env.poll()
    check(rc == 0, "exit %d" % rc)
    no_duplicates(env, [rid])
    check(env.sql("SELECT COUNT(*) FROM graph_pending")[0][0] == 0, "pending emptied")


def case_pii_pipeline(env):
    ids = [env.add(n, sessions=2, degraded=n % 2 == 0) for n in range(1, 4)]
    env.fake.list_page = 2
    env.fake.sessions_page = 1
    env.fake.rules.append(fake_graph.Rule(ids[0], ("status", 429, "0.2")))
    rc, _ = env.poll()
    check(rc == 0, "exit %d" % rc)
    exported = os.path.join(env.dir, "export")
    os.makedirs(exported)
    import json
    for rid, rec in env.fake.records.items():
        with open(os.path.join(exported, rid + ".json"), "w") as f:
            json.dump(dict(rec, version=rec["version"] + 1), f)
    p = subprocess.run([env.bin, "import", "-v", "--db", env.db, "--org-key", env.key, exported],
                       capture_output=True, text=True, timeout=60)
    env.logs.append(p.stderr)
    check(p.returncode == 0, "import exit %d" % p.returncode)
    no_duplicates(env, ids)
    rows = env.sql("SELECT caller_ip_enc, caller_ip_hmac, caller_mac_enc, caller_port, "
                   "caller_relay_ip FROM graph_media")
    check(all(r[0] and r[1] and r[2] and r[3] for r in rows), "sealed columns filled")
    check(all(r[0][:4] == rows[0][0][:4] for r in rows), "one key id on every ciphertext")


def lookup(env, domain, value):
    """The store's lookup hash of value (docs/graph.md): HMAC-SHA256 under the
    HKDF-SHA256 key of the org key file (salt = tenant), over domain, NUL,
    lower-case value. Computed here independently of the C code."""
    kv = dict(l.split("=", 1) for l in open(env.key).read().split("\n") if "=" in l)
    master = bytes.fromhex(kv["key"].strip())
    prk = hmac.new(kv["tenant"].strip().encode(), master, hashlib.sha256).digest()
    mac_key = hmac.new(prk, b"callscope graph pii hmac-sha256 v1\x01", hashlib.sha256).digest()
    return hmac.new(mac_key, domain.encode() + b"\0" + value.lower().encode(),
                    hashlib.sha256).digest()


def stored_participants(env, rid):
    return env.sql("SELECT user_upn_hmac, user_id_hmac, participant_id_hmac, user_name_enc, "
                   "user_tenant FROM graph_participant WHERE record_id = ? ORDER BY idx", rid)


def check_participants(env, rid, served):
    """Every participant served is stored, in order, by its own UPN and id."""
    rows = stored_participants(env, rid)
    check(len(rows) == len(served), "%d participants stored, want %d" % (len(rows), len(served)))
    want_upn = [lookup(env, "upn", u["userPrincipalName"]) for u in served]
    want_id = [lookup(env, "id", u["id"]) for u in served]
    check([r[0] for r in rows] == want_upn[: len(rows)], "participants' UPN hashes in order")
    check([r[1] for r in rows] == want_id[: len(rows)], "participants' user id hashes")
    check(all(r[3] for r in rows), "participants' names sealed")
    parent = env.sql("SELECT DISTINCT p.parent_rid = r.rid FROM graph_participant p JOIN "
                     "graph_record r ON r.record_id = p.record_id WHERE p.record_id = ?", rid)
    check(parent == [(1,)], "participants hang under their record: %s" % parent)


def check_organizer(env, rid, org):
    row = env.sql("SELECT organizer_id_hmac, organizer_upn_hmac, organizer_name_enc, "
                  "organizer_tenant FROM graph_record WHERE record_id = ?", rid)[0]
    check(row[0] == lookup(env, "id", org["id"]), "organizer id stored")
    check(row[1] == lookup(env, "upn", org["userPrincipalName"]), "organizer UPN stored")
    check(row[2] is not None and row[3] == org["tenantId"], "organizer name and tenant stored")


def v2_people(env, rid):
    rec = env.fake.records[rid]
    check("participants" not in rec and "organizer" not in rec, "a v2-only record")
    return [p["identity"]["user"] for p in rec["participants_v2"]], \
        rec["organizer_v2"]["identity"]["user"]


def case_participants_v2(env):
    """A v2-only meeting of 300 participants, paged 130 by /participants_v2."""
    rid = env.add(1, participants=300)
    people, org = v2_people(env, rid)
    rc, log = env.poll()
    check(rc == 0, "exit %d" % rc)
    pages = [r[2] for r in env.fake.requests(r"/participants_v2")]
    check(len(pages) == 3 and pages[0].endswith("/participants_v2") and
          pages[1].endswith("$skiptoken=130") and pages[2].endswith("$skiptoken=260"),
          "3 participants pages: %s" % pages)
    check("1 sessions, 1 segments, 2 streams, 300 participants" in log, "log: 300 participants")
    no_duplicates(env, [rid])
    check_participants(env, rid, people)
    check_organizer(env, rid, org)
    check(env.sql("SELECT complete FROM graph_record") == [(1,)], "record complete")
    before = len(env.fake.requests(r"/callRecords/"))
    rc, _ = env.poll()
    check(rc == 0 and len(env.fake.requests(r"/callRecords/")) == before,
          "a complete record is not fetched again")


def case_participants_v2_expanded(env):
    """participants_v2 expanded in the record: its nextLink is followed."""
    rid = env.add(1, participants=300)
    people, org = v2_people(env, rid)
    env.fake.expand_participants = True
    rc, log = env.poll()
    check(rc == 0, "exit %d" % rc)
    pages = [r[2] for r in env.fake.requests(r"/participants_v2")]
    check(len(pages) == 2 and pages[0].endswith("$skiptoken=130"), "2 further pages: %s" % pages)
    check_participants(env, rid, people)
    check_organizer(env, rid, org)


def case_participants_v1(env):
    """A record with only the retired organizer/participants: the fallback."""
    rid = env.add(1, participants=50, v2=False)
    rec = env.fake.records[rid]
    rc, log = env.poll()
    check(rc == 0, "exit %d" % rc)
    check("participants_v2 not available (HTTP 404)" in log, "log: fallback to participants")
    check_participants(env, rid, [p["user"] for p in rec["participants"]])
    check_organizer(env, rid, rec["organizer"]["user"])
    check(env.sql("SELECT complete FROM graph_record") == [(1,)], "record complete")


def case_participants_cap(env):
    """More participants than --max-participants: the first N, said so."""
    rid = env.add(1, participants=300)
    people, _ = v2_people(env, rid)
    rc, log = env.poll("--max-participants", "200")
    check(rc == 0, "exit %d" % rc)
    check("more than 200 participants; kept the first 200" in log, "log: cap")
    check(len(env.fake.requests(r"/participants_v2")) == 2, "no page fetched past the cap")
    check_participants(env, rid, people[:200])


def case_same_store(env):
    """One poll into PostgreSQL and one into a SQLite file (pg only): every
    table holds the same rows, the same lookup hashes, the same plain values
    and sealed values of the same length under the same key id."""
    if not env.pg:
        print("same_store compares PostgreSQL with SQLite: run it with 'pg'", file=sys.stderr)
        sys.exit(pgserver.SKIP)
    rid = env.add(1, participants=5, sessions=2, degraded=True)
    rc, _ = env.poll()
    check(rc == 0, "exit %d (PostgreSQL)" % rc)
    lite = os.path.join(env.dir, "store.db")
    rc, _ = env.poll(db=lite)
    check(rc == 0, "exit %d (SQLite)" % rc)
    con = sqlite3.connect(lite)
    tables = [t for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                        "AND name LIKE 'graph_%' ORDER BY name")]
    check(len(tables) == 7, "7 graph tables: %s" % tables)
    compared = sealed = hashes = 0
    for t in tables:
        cols = [c[1] for c in con.execute("PRAGMA table_info(%s)" % t)
                if c[1] != "stored_at_us"]  # the time of the write
        q = "SELECT %s FROM %s ORDER BY %s" % (", ".join(cols), t,
                                               "rid" if "rid" in cols else "record_id")
        a, b = con.execute(q).fetchall(), env.sql(q)
        check(len(a) == len(b), "%s: %d rows on SQLite, %d on PostgreSQL" % (t, len(a), len(b)))
        for ra, rb in zip(a, b):
            for c, va, vb in zip(cols, ra, rb):
                if c.endswith("_enc") and va is not None:
                    # a fresh nonce per seal: same length, same key id
                    ok = vb is not None and len(va) == len(vb) and va[:4] == vb[:4]
                    sealed += 1
                else:
                    ok = va == vb
                    hashes += c.endswith("_hmac") and va is not None
                compared += 1
                check(ok, "%s.%s differs: %r / %r" % (t, c, va, vb))
    con.close()
    print("same_store: %d values compared, %d sealed, %d lookup hashes" % (compared, sealed, hashes),
          file=sys.stderr)
    check(sealed > 10 and hashes > 10, "sealed values and hashes compared")
    no_duplicates(env, [rid])


def case_run(env):
    """'callscope-collector run --graph-tenant ...' polls in its thread and
    stores the records (on PostgreSQL too: --db URI), then stops on SIGTERM."""
    ids = [env.add(n, participants=3) for n in range(1, 3)]
    env.own_tables_only = False
    collector = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(env.bin))),
                             "collector", "callscope-collector")
    keys, auth = os.path.join(env.dir, "keys"), os.path.join(env.dir, "probes.d")
    os.makedirs(keys)
    os.makedirs(auth)
    subprocess.run([collector, "keygen", "collector", "--dir", keys], check=True,
                   capture_output=True)
    log_path = os.path.join(env.dir, "collector.log")
    env_vars = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    with open(log_path, "w") as logf:
        coll = subprocess.Popen(
            [collector, "run", "--bind", "tcp://127.0.0.1:%d" % closed_port(),
             "--key", os.path.join(keys, "collector.key"), "--authorized-keys", auth,
             "--db", env.db, "--org-key", env.key, "--stats", "0", "--correlate-interval", "0",
             "--graph-tenant", TENANT, "--graph-client-id", CLIENT,
             "--graph-secret-file", env.secret, "--graph-authority-url", env.fake.base,
             "--graph-url", env.fake.base + "/v1.0", "--graph-ca-bundle", env.fake.ca,
             "--graph-timeout", "5", "--graph-min-gap", "0"],
            stdout=logf, stderr=logf, env=env_vars)
    try:
        stored, deadline = [], time.time() + 90
        while time.time() < deadline and coll.poll() is None:
            try:
                stored = env.sql("SELECT record_id FROM graph_record")
            except (sqlite3.Error, RuntimeError):
                stored = []  # not created yet
            if len(stored) == len(ids):
                break
            time.sleep(0.5)
        check(len(stored) == len(ids), "run stored %d of %d records" % (len(stored), len(ids)))
    finally:
        coll.send_signal(15)
        try:
            coll.wait(timeout=30)
        except subprocess.TimeoutExpired:
            coll.kill()
            coll.wait()
    with open(log_path) as f:
        log = f.read()
    env.logs.append(log)
    check(coll.returncode == 0, "collector exit %s" % coll.returncode)
    check("polling Microsoft Graph" in log, "log: polling started")
    no_duplicates(env, ids)
    check(env.sql("SELECT COUNT(*) FROM graph_participant")[0][0] == 6, "6 participants")


def closed_port():
    """A loopback TCP port nobody listens on (bound, then released)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def netns_wrapper():
    """A command prefix running a program in a network namespace of its own
    (loopback only), so a DNS query cannot leave the machine; None if the
    system refuses one."""
    for w in (["unshare", "-n"], ["unshare", "-rn"]):
        try:
            if subprocess.run(w + ["true"], capture_output=True, timeout=10).returncode == 0:
                return w
        except (OSError, subprocess.TimeoutExpired):
            pass
    return None


def case_network(env):
    """Unreachable hosts exit 7 with the host and the failure named; a
    record that failed on a reachable server stays exit 1."""
    rid = env.add(1)
    port = closed_port()
    # token endpoint: a closed loopback port (connection refused)
    t0 = time.monotonic()
    rc, log = env.poll("--max-attempts", "2", authority="https://127.0.0.1:%d" % port)
    check(rc == 7, "closed token port: exit %d, want 7" % rc)
    check("cannot reach 127.0.0.1:%d: no connection" % port in log, "log names host and failure")
    check(time.monotonic() - t0 < 30, "closed port: gave up in %.1f s" % (time.monotonic() - t0))
    # Graph itself unreachable, the token endpoint fine
    rc, log = env.poll("--max-attempts", "2", "--scope", env.fake.base + "/.default",
                       graph="https://127.0.0.1:%d/v1.0" % port)
    check(rc == 7, "closed Graph port: exit %d, want 7" % rc)
    check("cannot reach 127.0.0.1:%d" % port in log and "exit 7" in log, "log: Graph unreachable")
    check(env.sql("SELECT COUNT(*) FROM graph_record")[0][0] == 0, "nothing stored")
    # a name that never resolves (.invalid, RFC 6761), asked in an empty network namespace
    wrap = netns_wrapper()
    if wrap is None:
        print("network: no network namespace here (unshare refused); .invalid part skipped",
              file=sys.stderr)
    else:
        t0 = time.monotonic()
        rc, log = env.poll("--max-attempts", "2", authority="https://nonexistent.invalid",
                           graph="https://nonexistent.invalid/v1.0", wrap=wrap, timeout=60)
        check(rc == 7, "unresolvable name: exit %d, want 7" % rc)
        check("cannot reach nonexistent.invalid: the host name does not resolve (DNS)" in log,
              "log: DNS failure named")
        check(time.monotonic() - t0 < 30, ".invalid: gave up in %.1f s" % (time.monotonic() - t0))
    # reachable but every answer to the list too slow: a failed cycle, exit 1
    env.fake.rules.append(fake_graph.Rule(r"/callRecords\?", ("sleep", 2.5), count=2))
    rc, log = env.poll("--max-attempts", "2")
    check(rc == 1, "stalled server: exit %d, want 1" % rc)
    check("cannot reach" not in log, "a stalled server is not called unreachable")
    # and with the network back, the record is fetched
    rc, _ = env.poll()
    check(rc == 0, "network back: exit %d" % rc)
    no_duplicates(env, [rid])


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}


def main():
    binary, workdir, case = sys.argv[1:4]
    pg = pgserver.start_or_skip() if sys.argv[4:5] == ["pg"] else None
    try:
        env = Env(binary, os.path.join(workdir, ("pg_" if pg else "") + case), pg)
        try:
            CASES[case](env)
        finally:
            env.finish()
    finally:
        if pg:
            pg.stop()
    print("%s%s: %s" % ("pg " if pg else "", case,
                         "FAILED: " + "; ".join(failures) if failures else "ok"))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
