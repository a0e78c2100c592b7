#!/usr/bin/env python3
"""Hostile inputs through the command line (label hostile plus the area's).

  cli_test.py BUILD_DIR PCAPS_DIR CASE
    graph_nul     6. graph-import of a record whose names hold \\u0000: stored
    report_csv    7. report --format csv neutralises cells read as formulas
    report_table  8. report --format table shows no control character
    key_perms     10. authorised-keys directory/files, TLS key, Graph secret:
                  loose permissions, foreign owners and symlinks refused
    file_modes    11. the store and the probe's --json file are created 0600
"""
import json
import os
import sqlite3
import stat
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hostile_lib import Env, Fail, check, main, free_port  # noqa: E402

HOSTILE_ID = "x\x1b]0;owned\x07\x1b[2J\ncallscope-collector: error: FAKE LOG LINE"
FORMULA_IDS = ["=HYPERLINK(\"http://evil.example/\",\"x\")", "+1+1", "-2+3", "@SUM(A1)", "\tx"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS verdict_calls(call_id TEXT PRIMARY KEY, source TEXT NOT NULL, site TEXT,
  start TEXT NOT NULL, end TEXT NOT NULL, verdict TEXT NOT NULL, confidence REAL NOT NULL,
  graph_record_id TEXT, graph_version INTEGER, evaluated TEXT NOT NULL, evidence TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS verdict_participants(call_id TEXT NOT NULL, participant TEXT NOT NULL,
  site TEXT, client_ip_hmac BLOB, client_ip_enc BLOB, verdict TEXT NOT NULL, confidence REAL NOT NULL,
  evidence TEXT NOT NULL, PRIMARY KEY(call_id, participant));
CREATE TABLE IF NOT EXISTS verdict_streams(id INTEGER PRIMARY KEY, call_id TEXT NOT NULL,
  participant TEXT NOT NULL, stream_id INTEGER, graph_stream_rid INTEGER, direction TEXT,
  media TEXT, verdict TEXT NOT NULL, confidence REAL NOT NULL, evidence TEXT NOT NULL);
"""


def q(s):
    return "'" + s.replace("'", "''") + "'"


def hostile_store(env):
    """A store whose verdicts carry hostile record ids (as an imported Graph
    record could), through the collector's own store code (noc_fixture)."""
    env.setup(probes=())
    sql = SCHEMA
    for i, cid in enumerate([HOSTILE_ID] + FORMULA_IDS):
        sql += ("INSERT INTO verdict_calls VALUES(%s, 'joined', 'hq', strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ',"
                " 'now', '-%d minutes'), strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ', 'now'), 'lan', 0.9, %s, 1,"
                " '2026-01-01T00:00:00Z', %s);\n" %
                (q(cid), 10 + i, q(cid), q(json.dumps({"rule": cid}))))
        sql += ("INSERT INTO verdict_participants(call_id, participant, site, client_ip_hmac, client_ip_enc, verdict, confidence, evidence)"
                " VALUES(%s, %s, 'hq', NULL, NULL, 'lan', 0.8, '{}');\n"
                % (q(cid), q("caller" + cid)))
    path = os.path.join(env.tmp, "fixture.sql")
    with open(path, "w") as f:
        f.write(sql)
    fixture = os.path.join(env.build, "tests", "noc", "noc_fixture")
    r = env.run([fixture, env.db, env.orgkey, path])
    check(r.returncode == 0, "hostile verdicts written " + r.stderr.strip())


def report(env, fmt):
    r = subprocess.run([env.collector, "report", "--db", env.db, "--org-key", env.orgkey, "--since", "7d",
                        "--format", fmt], capture_output=True, timeout=60)
    check(r.returncode == 0, "report --format %s exits 0 (%s)" % (fmt, r.stderr[-200:]))
    return r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


def case_report_csv(argv):
    env = Env(argv[0])
    try:
        hostile_store(env)
        out, _ = report(env, "csv")
        import csv
        import io
        rows = list(csv.reader(io.StringIO(out)))
        ids = [r[0] for r in rows[1:]]
        print("call_id cells:", ids)
        check(len(ids) == 1 + len(FORMULA_IDS), "every call is a row")
        for cid in FORMULA_IDS:
            check("'" + cid in ids, "%r is neutralised with a leading quote" % cid)
        bad = [c for r in rows[1:] for c in r if c[:1] in ("=", "+", "@", "\t", "\r")
               or (c[:1] == "-" and not c[1:2].isdigit())]
        check(not bad, "no text cell starts like a formula %s" % bad[:3])
        check(rows[1][6] == "0.90" or any(r[6] == "0.90" for r in rows[1:]), "numbers stay numbers")
    finally:
        env.close()


def case_report_table(argv):
    env = Env(argv[0])
    try:
        hostile_store(env)
        out, err = report(env, "table")
        ctl = [c for c in out if (ord(c) < 0x20 and c != "\n") or ord(c) == 0x7f]
        check(not ctl, "no control character in the table (%d)" % len(ctl))
        check("FAKE LOG LINE" in out and "\ncallscope-collector: error: FAKE" not in out,
              "the record id's newline cannot start a forged line")
        check("\\x1b]0;owned\\x07" in out, "control characters shown as \\xHH")
    finally:
        env.close()


def case_graph_nul(argv):
    env = Env(argv[0])
    try:
        env.setup(probes=())
        rec = {"id": "2f1a1100-b174-40a0-aba7-0b405e01ed92", "version": 1, "type": "groupCall",
               "modalities": ["audio"], "lastModifiedDateTime": "2026-01-15T10:06:00Z",
               "startDateTime": "2026-01-15T10:00:00Z", "endDateTime": "2026-01-15T10:05:00Z",
               "organizer": {"user": {"id": "u1", "displayName": "Eve\u0000Mallory"}},
               "participants": [{"user": {"id": "u2", "displayName": "\u0000"}}],
               "sessions": []}
        path = os.path.join(env.tmp, "nul.json")
        with open(path, "w") as f:
            json.dump(rec, f)  # writes the NUL as \\u0000
        check("\\u0000" in open(path).read(), "the file carries \\u0000 escapes")
        r = env.run([env.collector, "graph-import", "--org-key", env.orgkey, "--db", env.db, path])
        print(r.stderr.strip()[-400:])
        check(r.returncode == 0, "graph-import accepts the file")
        n = sqlite3.connect(env.db).execute("SELECT count(*) FROM graph_record").fetchone()[0]
        check(n == 1, "the record is stored (%d)" % n)
    finally:
        env.close()


def expect_refused(env, args, words, what):
    r = env.run(args, timeout=30)
    text = r.stdout + r.stderr
    check(r.returncode != 0 and all(w in text for w in words),
          "%s refused, saying %s (%s)" % (what, " / ".join(words), text.strip().splitlines()[-1:] if text.strip() else "-"))


def case_key_perms(argv):
    env = Env(argv[0])
    try:
        env.setup(probes=("p1",))
        base = [env.collector, "run", "--bind", env.endpoint, "--key", os.path.join(env.keys, "collector.key"),
                "--authorized-keys", env.auth, "--db", env.db, "--org-key", env.orgkey, "--check-config"]
        r = env.run(base)
        check(r.returncode == 0, "the sane configuration passes --check-config (%s)" % r.stderr.strip()[-200:])
        os.chmod(env.auth, 0o777)
        expect_refused(env, base, ["writable by group or others", "chmod go-w"], "authorised-keys dir 0777")
        os.chmod(env.auth, 0o755)
        pub = os.path.join(env.auth, "p1.pub")
        os.chmod(pub, 0o666)
        expect_refused(env, base, ["writable by group or others", "chmod 644"], ".pub at 0666")
        os.chmod(pub, 0o644)
        if os.geteuid() == 0:
            os.chown(pub, 12345, 12345)
            expect_refused(env, base, ["owned by uid 12345", "chown"], ".pub owned by another user")
            os.chown(pub, 0, 0)
        else:
            print("(not root: the foreign-owner case is skipped)")
        link = os.path.join(env.auth, "sneaky.pub")
        os.symlink(os.path.join(env.keys, "collector.key"), link)
        expect_refused(env, base, ["symbolic link"], "a symlink to the collector's own key")
        os.unlink(link)
        # the HTTPS private key
        cert, key = os.path.join(env.tmp, "c.pem"), os.path.join(env.tmp, "k.pem")
        r = env.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                     "-days", "1", "-subj", "/CN=localhost"])
        check(r.returncode == 0, "openssl made a test certificate")
        tok = os.path.join(env.tmp, "noc.token")
        fd = os.open(tok, os.O_WRONLY | os.O_CREAT, 0o600)
        os.write(fd, b"t0ken-0123456789abcdef0123456789abcdef\n")
        os.close(fd)
        env.run([env.collector, "graph-import", "--org-key", env.orgkey, "--db", env.db, os.devnull])
        os.chmod(key, 0o644)
        serve = [env.collector, "serve", "--db", env.db, "--org-key", env.orgkey, "--token-file", tok,
                 "--bind", "127.0.0.1:%d" % free_port(), "--tls-cert", cert, "--tls-key", key, "--no-syslog"]
        expect_refused(env, serve, ["readable by group or others", "chmod 600"], "TLS private key at 0644")
        # the Graph client secret
        sec = os.path.join(env.tmp, "graph.secret")
        with open(sec, "w") as f:
            f.write("s3cret\n")
        os.chmod(sec, 0o644)
        poll = [env.collector, "graph-poll", "--db", env.db, "--org-key", env.orgkey, "--tenant",
                "contoso.example", "--client-id", "00000000-0000-0000-0000-000000000000",
                "--secret-file", sec, "--authority-url", "https://127.0.0.1:1", "--graph-url",
                "https://127.0.0.1:1", "--once"]
        expect_refused(env, poll, ["readable by group or others", "chmod 600"], "Graph secret at 0644")
    finally:
        env.close()


def case_file_modes(argv):
    build, pcaps = argv[0], argv[1]
    env = Env(build)
    old = os.umask(0o022)
    try:
        env.setup(probes=())
        out = os.path.join(env.tmp, "out.jsonl")
        r = env.run([env.probe, "-q", "-r", os.path.join(pcaps, "teams_audio_p2p_relay.pcap"), "--json", out])
        check(r.returncode == 0, "probe replay")
        m = stat.S_IMODE(os.stat(out).st_mode)
        check(m == 0o600, "--json file created %04o under umask 022" % m)
        with open(out, "w"):
            pass
        os.chmod(out, 0o644)
        r = env.run([env.probe, "-q", "-r", os.path.join(pcaps, "teams_audio_p2p_relay.pcap"), "--json", out])
        m = stat.S_IMODE(os.stat(out).st_mode)
        check(m == 0o600, "an existing 0644 --json file is made %04o" % m)
        r = env.run([env.collector, "graph-import", "--org-key", env.orgkey, "--db", env.db, os.devnull])
        check(os.path.exists(env.db), "graph-import created the store")
        m = stat.S_IMODE(os.stat(env.db).st_mode)
        check(m == 0o600, "the store is created %04o under umask 022" % m)
        db2 = os.path.join(env.tmp, "run.db")
        env.db = db2
        c = env.start_collector()
        c.terminate()
        c.wait(timeout=30)
        for f in (db2, db2 + "-wal", db2 + "-shm"):
            if os.path.exists(f):
                m = stat.S_IMODE(os.stat(f).st_mode)
                check(m == 0o600, "%s created %04o by 'run'" % (os.path.basename(f), m))
    finally:
        os.umask(old)
        env.close()


if __name__ == "__main__":
    sys.exit(main({"graph_nul": case_graph_nul, "report_csv": case_report_csv,
                   "report_table": case_report_table, "key_perms": case_key_perms,
                   "file_modes": case_file_modes}))
