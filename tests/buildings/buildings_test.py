#!/usr/bin/env python3
"""callscope-collector buildings-import: good and bad CQD building files
into a real SQLite store, checked through the store's own table.

    buildings_test.py COLLECTOR CASE [pg]

With "pg" the store is a throw-away PostgreSQL 15 (tests/pg/pgserver.py)
given as a postgresql:// --db, read with psql; exit 77 (skipped) when no
server can run here.
"""
import os
import sqlite3
import subprocess
import sys
import tempfile

COLLECTOR, CASE = sys.argv[1], sys.argv[2]
PG = sys.argv[3:] == ["pg"]
SRV = None
if PG:
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pg"))
    import pgserver  # noqa: E402

# Two buildings in Lyon (a /16 and a /24 inside it), a VPN pool, IPv6.
GOOD = (
    "10.1.0.0,Lyon-HQ,16,Lyon HQ,Own,Office,Open,Lyon,69002,FR,ARA,EMEA,1,1,0\n"
    "10.1.2.0,Lyon-F2,24,Lyon HQ floor 2,Own,Office,Open,Lyon,69002,FR,ARA,EMEA,1,1,0\n"
    "192.168.7.0,VPN,24,VPN pool,Leased,Virtual,,Paris,75001,FR,IDF,EMEA,1,0,1\n"
    "2001:db8:1::,Paris-v6,48,Paris,Own,Office,Open,Paris,75001,FR,IDF,EMEA,1,0,0\n"
)


def run(*args):
    p = subprocess.run([COLLECTOR, *args], capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout, p.stderr


def query(db, sql):
    """Rows of sql on the store, as SQLite gives them (integers as int)."""
    if not PG:
        with sqlite3.connect(db) as c:
            return c.execute(sql).fetchall()
    return [tuple(int(v) if v.isdigit() else v for v in r) for r in SRV.query(sql)]


def rows(db):
    return query(db, "SELECT network, prefix_len, family, building, city, country, region,"
                 " inside_corp, express_route, vpn FROM buildings ORDER BY family, network,"
                 " prefix_len")


def expect(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)


def write(d, name, text):
    path = os.path.join(d, name)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    return path


def case_good(d, db):
    f = write(d, "b.csv", GOOD)
    rc, out, err = run("buildings-import", f, "--db", db)
    expect(rc == 0, f"exit {rc}: {err}")
    expect("4 networks (3 IPv4, 1 IPv6, 15 columns), 0 lines skipped" in out, out)
    r = rows(db)
    expect(len(r) == 4, r)
    expect(("10.1.2.0", 24, 4, "Lyon HQ floor 2", "Lyon", "FR", "EMEA", 1, 1, 0) in r, r)
    expect(("192.168.7.0", 24, 4, "VPN pool", "Paris", "FR", "EMEA", 1, 0, 1) in r, r)
    imp = query(db, "SELECT source, networks, skipped FROM buildings_imports")
    expect(imp == [(f, 4, 0)], imp)
    # --check reads and stores nothing
    rc, out, err = run("buildings-import", f, "--check")
    expect(rc == 0 and "not stored (--check)" in out, out + err)


def case_tsv_ipv6(d, db):
    text = GOOD.replace(",", "\t").replace("\n", "\r\n")
    text = "\ufeff" + "\n".join(l.rsplit("\t", 1)[0] for l in text.split("\n") if l) + "\n"
    f = write(d, "b.tsv", text)
    rc, out, err = run("buildings-import", f, "--db", db)
    expect(rc == 0, f"exit {rc}: {err}")
    expect("4 networks (3 IPv4, 1 IPv6, 14 columns)" in out, out)
    expect(("2001:db8:1::", 48, 6, "Paris", "Paris", "FR", "EMEA", 1, 0, 0) in rows(db), rows(db))


def case_bad_lines(d, db):
    bad = GOOD + (
        "10.9.0.300,X,24,X,,,,,,,,,1,0,0\n"  # line 5: address
        "10.9.1.0,Y,40,Y,,,,,,,,,1,0,0\n"  # line 6: range
        "10.9.2.0,Z,24,Z,,,,,,,,,true,0,0\n"  # line 7: InsideCorp
        "10.1.0.0,Dup,16,Dup,,,,,,,,,1,0,0\n"  # line 8: duplicate of line 1
    )
    f = write(d, "bad.csv", bad)
    rc, out, err = run("buildings-import", f, "--db", db)
    expect(rc == 0, f"exit {rc}: {err}")
    for want in (f"{f}:5: column 1 (NetworkIP): not an IPv4 or IPv6 address; line skipped",
                 f"{f}:6: column 3 (NetworkRange): longer than 32 for IPv4; line skipped",
                 f"{f}:7: column 13 (InsideCorp): not 0 or 1; line skipped",
                 f"{f}:8: column 1 (NetworkIP): network already on line 1; line skipped"):
        expect(want in err, f"missing '{want}' in: {err}")
    expect("4 networks" in out and "4 lines skipped (1 duplicates)" in out, out)
    expect(len(rows(db)) == 4, rows(db))
    # --quiet counts but does not name them
    rc, out, err = run("buildings-import", f, "--db", db, "--quiet")
    expect(rc == 0 and "line skipped" not in err and "4 lines skipped" in out, out + err)


def case_wrong_columns(d, db):
    f = write(d, "b.csv", GOOD)
    expect(run("buildings-import", f, "--db", db)[0] == 0, "first import")
    before = rows(db)
    short = GOOD + "10.8.0.0,Short,16,Short,Own,Office,Open,Lyon,69002,FR,ARA,EMEA,1\n"
    g = write(d, "short.csv", short)
    rc, out, err = run("buildings-import", g, "--db", db)
    expect(rc == 1, f"exit {rc}")
    expect(f"{g}:5: 13 columns where line 1 has 15; file refused" in err, err)
    expect("map in force is unchanged" in err, err)
    expect(rows(db) == before, "the previous map must stay")
    # a file of another format entirely (a header-only CSV of 3 columns)
    h = write(d, "other.csv", "subnet,name,site\n10.0.0.0/8,x,y\n")
    rc, out, err = run("buildings-import", h, "--db", db)
    expect(rc == 1 and f"{h}:1: 3 comma-separated columns" in err, err)
    expect(rows(db) == before, "the previous map must stay")


def case_reimport(d, db):
    f = write(d, "b.csv", GOOD)
    expect(run("buildings-import", f, "--db", db)[0] == 0, "first import")
    g = write(d, "b2.csv", "172.16.0.0,Lab,12,Lab,Own,Lab,Closed,Berlin,10115,DE,BE,EMEA,0,0\n")
    rc, out, err = run("buildings-import", g, "--db", db)
    expect(rc == 0, err)
    expect(rows(db) == [("172.16.0.0", 12, 4, "Lab", "Berlin", "DE", "EMEA", 0, 0, 0)], rows(db))
    n = query(db, "SELECT count(*) FROM buildings_imports")[0][0]
    expect(n == 2, n)


def case_missing(d, db):
    rc, out, err = run("buildings-import", os.path.join(d, "nope.csv"), "--db", db)
    expect(rc == 1 and "nope.csv" in err, err)
    e = write(d, "empty.csv", "\n")
    rc, out, err = run("buildings-import", e, "--db", db)
    expect(rc == 1 and "no networks" in err, err)


def case_usage(d, db):
    rc, out, err = run("buildings-import", "--help")
    expect(rc == 0 and "NetworkIP" in out and "--db" in out, out)
    expect(run("buildings-import")[0] == 2, "no FILE")
    f = write(d, "b.csv", GOOD)
    rc, out, err = run("buildings-import", f)
    expect(rc == 2 and "--db" in err, err)
    rc, out, err = run("buildings-import", f, "--db", db, "--no-such")
    expect(rc == 2, err)
    rc, out, err = run("--help")
    expect(rc == 0 and "buildings-import" in out and "buildings-unmapped" in out, out)
    rc, out, err = run("buildings-unmapped", "--help")
    expect(rc == 0 and "missing-subnet" in out and "--min-streams" in out, out)
    expect(run("buildings-unmapped", "--db", db)[0] == 2, "no --org-key")


def case_run_reload(d, db):
    """run --buildings FILE (in a settings file): loaded at start, again on
    SIGHUP; a refused file on SIGHUP keeps the map in force."""
    import signal
    import socket
    import time
    k = os.path.join(d, "keys")
    pd = os.path.join(d, "probes.d")
    os.makedirs(k)
    os.makedirs(pd)
    expect(run("keygen", "collector", "--dir", k)[0] == 0, "keygen")
    expect(run("org-keygen", "--tenant", "t.example", "--out", os.path.join(k, "org.key"))[0] == 0,
           "org-keygen")
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    bf = write(d, "buildings.csv", GOOD)
    cf = write(d, "collector.conf",
               f"bind = tcp://127.0.0.1:{port}\nkey = {k}/collector.key\nauthorized-keys = {pd}\n"
               f"org-key = {k}/org.key\ndb = {db}\ncorrelate-interval = 0\nbuildings = {bf}\n")
    logp = os.path.join(d, "collector.log")
    log = open(logp, "w")
    p = subprocess.Popen([COLLECTOR, "run", "--config", cf], stdout=log, stderr=log)

    def wait_for(what, count=1, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if open(logp).read().count(what) >= count:
                return True
            time.sleep(0.1)
        return False
    try:
        expect(wait_for("buildings: " + bf + ": 4 networks, 0 lines skipped"), open(logp).read())
        expect(len(rows(db)) == 4, rows(db))
        write(d, "buildings.csv",
              GOOD + "10.9.9.300,Bad,24,Bad,,,,,,,,,1,0,0\n"
              "172.16.0.0,Lab,12,Lab,Own,Lab,Closed,Berlin,10115,DE,BE,EMEA,0,0,0\n")
        p.send_signal(signal.SIGHUP)
        expect(wait_for(": 5 networks, 1 lines skipped"), open(logp).read())
        expect(f"{bf}:5: column 1 (NetworkIP)" in open(logp).read(), "the bad line is named")
        expect(len(rows(db)) == 5, rows(db))
        write(d, "buildings.csv", GOOD + "10.8.0.0,Short,16,Short,Own,Office\n")
        p.send_signal(signal.SIGHUP)
        expect(wait_for("the map in force stays"), open(logp).read())
        expect(f"{bf}:5: 6 columns where line 1 has 15; file refused" in open(logp).read(),
               open(logp).read())
        expect(len(rows(db)) == 5, "the previous map stays")
        expect(p.poll() is None, "the collector keeps running")
    finally:
        p.terminate()
        p.wait(timeout=30)
        log.close()


with tempfile.TemporaryDirectory() as d:
    if PG:
        SRV = pgserver.start_or_skip()
    try:
        globals()["case_" + CASE](d, SRV.uri if PG else os.path.join(d, "collector.db"))
    finally:
        if SRV:
            SRV.stop()
print("ok", CASE, "(PostgreSQL)" if PG else "")
