#!/usr/bin/env python3
"""Probe -> collector transport tests: real processes, real ZeroMQ (CURVE),
real SQLite or a real PostgreSQL. One case per invocation:

  transport_test.py BUILD_DIR PCAPS_DIR CASE [--db sqlite|pg]   (or a last word sqlite|pg)

Each case makes its own keys, spool and database in a temporary directory
and asserts on the store's contents and the processes' logs. With pg the
store is a fresh PostgreSQL 15 database (tests/pg/pgserver.py: under ctest
a database of the case's own on the run's shared server, else a server of
its own, initdb'd as an unprivileged user, Unix socket only, stopped at the
end); without the server binaries the case exits 77 (skipped) and says why.
The cases not named pg_* run on both backends (ctest registers each once
per backend); the pg_* ones are PostgreSQL's own.
"""
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

BUILD, PCAPS, CASE = sys.argv[1], sys.argv[2], sys.argv[3]
BACKEND = sys.argv[5] if sys.argv[4:5] == ["--db"] and len(sys.argv) > 5 else \
    (sys.argv[4] if len(sys.argv) > 4 else "sqlite")
if BACKEND not in ("sqlite", "pg"):
    print("unknown backend %r: sqlite or pg" % BACKEND)
    sys.exit(2)
PG = BACKEND == "pg"
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "pg"))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import cs_testlib  # noqa: E402
PROBE = os.path.join(BUILD, "probe", "callscope-probe")
COLLECTOR = os.path.join(BUILD, "collector", "callscope-collector")
ZSEND = os.path.join(BUILD, "tests", "transport", "zsend")
TMP = tempfile.mkdtemp(prefix="cs-transport-")
PROCS = []


def fail(msg):
    print("FAIL:", msg)
    for p in PROCS:
        if p.poll() is None:
            p.kill()
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)
    print("ok:", msg)


free_port = cs_testlib.free_port


PORT = free_port()
ENDPOINT = "tcp://127.0.0.1:%d" % PORT
KEYS = os.path.join(TMP, "keys")
AUTH = os.path.join(TMP, "probes.d")
DB = os.path.join(TMP, "collector.db")
SRV = None
if PG:
    import pgserver
    # pg_restart restarts the server: a server of its own, not the shared one
    SRV = pgserver.start_or_skip(private=CASE == "pg_restart")
    DB = SRV.uri
# correlation (and the NOC, Graph) are not on PostgreSQL yet: ingest only
PG_ARGS = ["--correlate-interval", "0"] if PG else []
ORGKEY = os.path.join(TMP, "keys", "org.key")


def run(args, **kw):
    return subprocess.run(args, capture_output=True, text=True, timeout=kw.pop("timeout", 120), **kw)


def keygen(name):
    r = run([COLLECTOR, "keygen", name, "--dir", KEYS])
    if r.returncode != 0:
        fail("keygen %s: %s" % (name, r.stderr))


def setup(probes=("p1",)):
    os.makedirs(KEYS)
    os.makedirs(AUTH)
    keygen("collector")
    r = run([COLLECTOR, "org-keygen", "--tenant", "contoso.example", "--out", ORGKEY])
    if r.returncode != 0:
        fail("org-keygen: " + r.stderr)
    for p in probes:
        keygen(p)
        os.link(os.path.join(KEYS, p + ".pub"), os.path.join(AUTH, p + ".pub"))


def start_collector(extra=(), log="collector.log"):
    seen = len(read(log))
    logf = open(os.path.join(TMP, log), "a")
    p = subprocess.Popen([COLLECTOR, "run", "--bind", ENDPOINT, "--key",
                          os.path.join(KEYS, "collector.key"), "--authorized-keys", AUTH,
                          "--db", DB, "--org-key", ORGKEY, "--stats", "0"] + PG_ARGS + list(extra),
                         stdout=logf, stderr=logf)
    PROCS.append(p)
    deadline = time.time() + 20
    while time.time() < deadline:
        if "listening on" in read(log)[seen:]:
            return p
        if p.poll() is not None:
            fail("collector exited at start: " + read(log))
        time.sleep(0.05)
    fail("collector did not start listening")


def stop(p, sig=signal.SIGTERM):
    if p.poll() is None:
        p.send_signal(sig)
    p.wait(timeout=30)


def read(name):
    return cs_testlib.read(os.path.join(TMP, name))


def probe_args(name="p1", spool="spool", extra=()):
    return [PROBE, "--collector", ENDPOINT, "--key", os.path.join(KEYS, name + ".key"),
            "--collector-key", os.path.join(KEYS, "collector.pub"),
            "--spool-dir", os.path.join(TMP, spool), "--site", "site-" + name] + list(extra)


def start_probe(args, log):
    logf = open(os.path.join(TMP, log), "a")
    p = subprocess.Popen(args, stdout=logf, stderr=logf)
    PROCS.append(p)
    return p


def exit_report(p, log):
    """A process's exit status and, from its log (stdout and stderr), the
    sanitizer's report if it wrote one: a failed check on how a process
    ended then says what it was (a leak, a crash, an error of ours)."""
    code = p.returncode
    what = "exit %s" % code if code is None or code >= 0 else \
        "killed by signal %d" % -code
    lines = read(log).splitlines()
    start = next((i for i, l in enumerate(lines)
                  if re.search(r"==\d+==ERROR: \w+Sanitizer|runtime error:", l)), None)
    if start is None:
        tail = [l for l in lines[-5:] if l.strip()]
        return "%s; no sanitizer report; the log ends: %s" % (what, " | ".join(tail) or "(empty)")
    report = lines[start:]
    end = next((i for i, l in enumerate(report) if l.startswith("SUMMARY:")), len(report) - 1)
    report = report[:end + 1]
    if len(report) > 60:
        report = report[:50] + ["... (%d lines)" % (len(report) - 51)] + report[-1:]
    return "%s; sanitizer report:\n  %s" % (what, "\n  ".join(report))


def pg_value(v):
    try:
        return int(v)
    except ValueError:
        return None if v == "" else v


def query(sql, args=()):
    if PG:
        for a in args:  # only the tests' own constants
            sql = sql.replace("?", "'%s'" % str(a).replace("'", "''"), 1)
        return [tuple(pg_value(v) for v in row) for row in SRV.query(sql)]
    con = sqlite3.connect(DB, timeout=10)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def execute(sql):
    """A statement on the store (the tests' own SQL, valid on both)."""
    if PG:
        SRV.psql(sql)
        return
    con = sqlite3.connect(DB, timeout=10)
    try:
        con.execute(sql)
        con.commit()
    finally:
        con.close()


def counters(log="collector.log"):
    """The collector's last counters line, as a dict."""
    lines = [l for l in read(log).splitlines() if " counters {" in l]
    if not lines:
        fail("no counters line in " + log)
    return json.loads(lines[-1].split(" counters ", 1)[1])


PII_KEYS = ("client_ip", "client_mac", "src_ip", "dst_ip", "remote_ip")


def canon(rec, strip=False):
    """Canonical text; strip: without the keys the store keeps sealed."""
    if strip and rec.get("type") != "stats":
        rec = {k: v for k, v in rec.items() if k not in PII_KEYS}
    return json.dumps(rec, sort_keys=True)


def stored_records():
    out = []
    for t in ("streams", "intervals", "flows", "clients", "probe_stats"):
        out += [canon(json.loads(r[0])) for r in query("SELECT record FROM %s" % t)]
    return sorted(out)


def synthetic(path, streams, intervals=0, tag="s"):
    """JSON lines shaped like the probe's, each stream with its own SSRC."""
    base = {"src_ip": "10.9.0.1", "src_port": 50010, "dst_ip": "52.113.0.9", "dst_port": 3478,
            "proto": "udp", "direction": "outbound", "app": "teams", "media": "audio",
            "client_ip": "10.9.0.1", "client_port": 50010, "encap": "raw", "lost": 0,
            "loss_pct": 0.0, "jitter_ms_max": 1.25, "note": tag * 200}
    with open(path, "w") as f:
        for i in range(max(streams, intervals)):
            if i < intervals:
                r = dict(base, type="interval", ssrc=1000000 + i, packets=250,
                         start="2026-11-27T10:00:00.000000Z", end="2026-11-27T10:00:05.000000Z")
                r.pop("note")
                f.write(json.dumps(r) + "\n")
            if i < streams:
                f.write(json.dumps(dict(base, type="stream", ssrc=i + 1, packets=1000 + i,
                                        first_seen="2026-11-27T10:00:00.000000Z",
                                        last_seen="2026-11-27T10:01:00.000000Z")) + "\n")


def spooled_records(spool):
    d = os.path.join(TMP, spool)
    n = 0
    for f in os.listdir(d) if os.path.isdir(d) else []:
        if f.endswith(".batch"):
            n += int(f.split("-")[3].split(".")[0])
    return n


# ---- cases ------------------------------------------------------------------

def case_deliver():
    """Every record of several replays is in the store exactly once, equal to --json."""
    setup()
    c = start_collector()
    expect = []
    for i, cap in enumerate(["teams_audio_p2p_relay", "impair_loss_burst", "teams_tcp_fallback",
                             "rtcp_plain", "teams_ipv6"]):
        out = os.path.join(TMP, "out%d.jsonl" % i)
        r = run(probe_args(extra=["-r", os.path.join(PCAPS, cap + ".pcap"), "--interval", "2",
                                  "--json", out, "--batch-records", "7"]))
        check(r.returncode == 0, "probe replay of %s exits 0 (%s)" % (cap, r.stderr.strip()[-200:]))
        check("0 batches (0 bytes) left in the spool, 0 records lost" in r.stderr,
              "%s: spool empty and nothing lost at exit" % cap)
        with open(out) as f:
            expect += [json.loads(l) for l in f]
    stop(c)
    got = stored_records()
    check(len(got) == len(expect), "store holds %d records, --json wrote %d" % (len(got), len(expect)))
    check(got == sorted(canon(r, strip=True) for r in expect),
          "stored records equal the --json records (addresses and MACs taken out), each once")
    # every file of the store: the SQLite file and its WAL, or on PostgreSQL
    # the database's own directory (tables, indexes) and the server's WAL
    # (shared with other tests' databases under ctest), one file at a time
    if PG:
        oid = SRV.scalar("SELECT oid FROM pg_database WHERE datname = current_database()")
        where = [w for sub in ("base/" + oid, "pg_wal") for w in os.walk(os.path.join(SRV.data, sub))]
    else:
        where = [(TMP, [], ["collector.db", "collector.db-wal"])]
    secrets = {r[k] for r in expect for k in PII_KEYS if isinstance(r.get(k), str)}
    find = re.compile(b"|".join(re.escape(x.encode()) for x in sorted(secrets, key=len, reverse=True)))
    leaked, searched = set(), 0
    for d, _, files in where:
        for fn in files:
            try:
                with open(os.path.join(d, fn), "rb") as f:
                    raw = f.read()
            except OSError:
                continue
            searched += len(raw)
            leaked.update(m.group().decode() for m in find.finditer(raw))
    check(secrets and searched and not leaked, "none of %d addresses/MACs is in the database in clear "
          "(%d bytes searched) %s" % (len(secrets), searched, sorted(leaked)[:3]))
    clients = {r["client_ip"] for r in expect if r["type"] == "stream"}
    hashes = query("SELECT COUNT(DISTINCT client_ip_hmac), COUNT(*) FROM streams WHERE client_ip_enc IS NOT NULL")[0]
    check(hashes[0] == len(clients), "one lookup hash per client address (%d)" % len(clients))
    check(query("SELECT site FROM probes WHERE probe_id='p1'") == [("site-p1",)],
          "probe p1 filed under its site")
    check(query("SELECT COUNT(*) FROM streams WHERE site='site-p1'")[0][0] > 0,
          "stream rows carry the site")
    k = counters()
    check(k["auth"]["accepted"] >= 5 and k["auth"]["refused"] == 0, "5 probe runs authenticated")


def case_unknown_key():
    """A probe whose key is not authorised is refused; nothing reaches the store."""
    setup(probes=("p1",))
    keygen("intruder")
    c = start_collector()
    out = os.path.join(TMP, "o.jsonl")
    r = run(probe_args("intruder", extra=["-r", os.path.join(PCAPS, "teams_audio_p2p_relay.pcap"),
                                           "--json", out, "--drain", "3"]))
    check("refused this probe's key" in r.stderr, "probe logs the refusal: " +
          [l for l in r.stderr.splitlines() if "refused" in l][:1].__repr__())
    check(spooled_records("spool") > 0, "its records stay in its spool (%d)" % spooled_records("spool"))
    stop(c)
    check(query("SELECT COUNT(*) FROM batches")[0][0] == 0, "no batch stored")
    check(query("SELECT COUNT(*) FROM probes")[0][0] == 0, "no probe row")
    k = counters()
    check(k["auth"]["refused"] >= 1 and k["auth"]["accepted"] == 0,
          "collector counted %d refusals" % k["auth"]["refused"])
    check("is not in the authorised-keys directory" in read("collector.log"),
          "collector logs which key it refused")


def case_malformed():
    """Broken frames from an authorised peer are rejected and counted; a real
    probe sending at the same time loses nothing."""
    setup(probes=("p1", "p2"))
    c = start_collector(["--max-frame-mb", "1"])
    synthetic(os.path.join(TMP, "good.jsonl"), 3000)
    good = start_probe(probe_args("p2", extra=["--from-jsonl", os.path.join(TMP, "good.jsonl"),
                                               "--from-jsonl-rate", "1500", "--batch-records", "50"]),
                       "p2.log")
    frames = {
        "notjson": b"this is not json {",
        "schema2": b'{"schema":2,"kind":"batch"}',
        "nokind": b'{"schema":1}',
        "missing": b'{"schema":1,"kind":"batch","probe_id":"p1","site":"x","epoch":1,"records":0}',
        "impostor": b'{"schema":1,"kind":"batch","probe_id":"p2","site":"x","epoch":1,"seq":1,"records":0}',
        "ack": b'{"schema":1,"kind":"ack","epoch":1,"seq":1,"status":"stored"}',
        "nobody": b'{"schema":1,"kind":"batch","probe_id":"p1","site":"x","epoch":1,"seq":1,"records":0}',
    }
    # two-frame batches: header, then record lines
    badrec_body = (b'{"type":"stream"}\n{"type":"nope"}\nnot json\n{"type":"client","client_ip":"10.0.0.1",'
                   b'"first_seen":"2026-11-27T10:00:00.000000Z","last_seen":"2026-11-27T10:00:01.000000Z"}')
    two = {
        "badrec": (b'{"schema":1,"kind":"batch","probe_id":"p1","site":"x","epoch":7,"seq":1,"records":4}',
                   badrec_body),
        "miscount": (b'{"schema":1,"kind":"batch","probe_id":"p1","site":"x","epoch":7,"seq":2,"records":9}',
                     badrec_body),
    }
    args = []
    for name, data in frames.items():
        p = os.path.join(TMP, name)
        with open(p, "wb") as f:
            f.write(data)
        args.append(p)
    for name, (head, body) in two.items():
        for part, data in (("", head), (".body", body)):
            with open(os.path.join(TMP, name + part), "wb") as f:
                f.write(data)
        args.append("@two:%s:%s" % (os.path.join(TMP, name), os.path.join(TMP, name + ".body")))
    args.append(args[-2])  # the same batch again: a duplicate
    args += ["@big:%d" % (2 << 20), "@three:" + os.path.join(TMP, "notjson")]
    r = run([ZSEND, ENDPOINT, os.path.join(KEYS, "p1.key"), os.path.join(KEYS, "collector.pub")] + args)
    print(r.stdout)
    check(r.returncode == 0, "every broken frame was answered")
    replies = {}
    for l in r.stdout.splitlines():
        name, reply = l.split(": ", 1)
        replies.setdefault(name, []).append(reply)
    badrec = "@two:%s:%s" % (os.path.join(TMP, "badrec"), os.path.join(TMP, "badrec.body"))
    miscount = "@two:%s:%s" % (os.path.join(TMP, "miscount"), os.path.join(TMP, "miscount.body"))
    again = json.loads(replies[badrec][1])
    check(again["status"] == "duplicate", "the same batch sent twice is stored once (duplicate)")
    replies = {k: v[0] for k, v in replies.items()}
    for name in ("notjson", "schema2", "nokind", "missing", "impostor", "ack", "nobody"):
        check('"kind":"error"' in replies[os.path.join(TMP, name)], name + " answered with an error")
    check('"kind":"error"' in replies["@three:" + os.path.join(TMP, "notjson")], "three frames refused")
    check("over the 1 MiB limit" in replies["@big:%d" % (2 << 20)], "oversized frame refused")
    br = json.loads(replies[badrec])
    check(br["status"] == "stored" and br["stored"] == 1 and br["rejected"] == 3,
          "a batch's bad records are rejected, its good one stored")
    mc = json.loads(replies[miscount])
    check(mc["status"] == "rejected" and "9 records" in mc["error"], "a batch with a wrong count is rejected whole")
    good.wait(timeout=60)
    check(good.returncode == 0, "the real probe finished cleanly")
    stop(c)
    k = counters()
    check(k["malformed"] == 8, "malformed counted: %d" % k["malformed"])
    check(k["oversized"] == 1 and k["identity_mismatch"] == 1, "oversized and impostor counted")
    check(k["records_rejected"] == 3, "bad records counted")
    n = query("SELECT COUNT(*), COUNT(DISTINCT ssrc) FROM streams WHERE probe_id='p2'")[0]
    check(n == (3000, 3000), "the real probe's 3000 records stored once each: %s" % (n,))


def case_kill9_collector():
    """kill -9 of the collector mid-stream, restart: every record stored exactly once."""
    setup()
    c = start_collector()
    synthetic(os.path.join(TMP, "in.jsonl"), 20000)
    p = start_probe(probe_args(extra=["--from-jsonl", os.path.join(TMP, "in.jsonl"),
                                      "--from-jsonl-rate", "5000", "--batch-records", "200",
                                      "--ack-timeout-ms", "1000", "--drain", "60"]), "probe.log")
    # Kill once the first batches are stored (a loaded machine, or the ASan
    # build, may take longer than the usual second to get there).
    deadline = time.time() + 30
    stored_before = 0
    while time.time() < deadline and stored_before == 0:
        time.sleep(0.5)
        stored_before = query("SELECT COUNT(*) FROM streams")[0][0]
    c.kill()
    c.wait()
    check(0 < stored_before < 20000, "collector killed mid-stream (%d of 20000 stored)" % stored_before)
    time.sleep(1.5)
    c = start_collector()
    p.wait(timeout=90)
    check(p.returncode == 0, "probe drained and exited 0 (%s)" % exit_report(p, "probe.log"))
    stop(c)
    check(c.returncode == 0, "restarted collector stopped cleanly (%s)" %
          exit_report(c, "collector.log"))
    n = query("SELECT COUNT(*), COUNT(DISTINCT ssrc) FROM streams")[0]
    check(n == (20000, 20000), "20000 records stored exactly once: %s" % (n,))
    log = read("probe.log")
    check("0 records lost" in log, "probe reports nothing lost")
    print("duplicates dropped by the collector:", counters()["batches_duplicate"])


def case_probe_restart():
    """kill -9 of the probe with a non-empty spool, restart: the spooled records
    arrive exactly once."""
    setup()
    synthetic(os.path.join(TMP, "in.jsonl"), 5000)
    p = start_probe(probe_args(extra=["--from-jsonl", os.path.join(TMP, "in.jsonl"),
                                      "--from-jsonl-rate", "2500", "--batch-records", "100",
                                      "--batch-ms", "100"]), "probe.log")
    time.sleep(1.5)
    p.kill()
    p.wait()
    spooled = spooled_records("spool")
    check(spooled > 0, "probe killed with %d records in its spool" % spooled)
    c = start_collector()
    empty = os.path.join(TMP, "empty.jsonl")
    open(empty, "w").close()
    r = run(probe_args(extra=["--from-jsonl", empty]))
    check(r.returncode == 0, "restarted probe drains its spool (%s)" % r.stderr.strip()[-300:])
    check("by an earlier run" in r.stderr, "probe says it found an earlier run's batches")
    stop(c)
    n = query("SELECT COUNT(*), COUNT(DISTINCT ssrc) FROM streams")[0]
    check(n == (spooled, spooled), "the %d spooled records stored exactly once: %s" % (spooled, n))


def case_link_cut():
    """Collector away for longer than the spool holds: the probe goes on, drops
    interval records first, counts every loss, and says so in log and heartbeat."""
    setup()
    synthetic(os.path.join(TMP, "in.jsonl"), 400, intervals=12000)
    p = start_probe(probe_args(extra=["--from-jsonl", os.path.join(TMP, "in.jsonl"),
                                      "--spool-max-mb", "1", "--batch-records", "100",
                                      "--heartbeat", "1", "--drain", "60",
                                      "--no-spool-fsync"]), "probe.log")
    deadline = time.time() + 30
    while "spool full" not in read("probe.log") and time.time() < deadline:
        time.sleep(0.2)
    check("spool full" in read("probe.log"), "probe logs that its spool is full")
    time.sleep(1)
    c = start_collector()
    p.wait(timeout=90)
    time.sleep(0.5)
    stop(c)
    log = read("probe.log")
    line = [l for l in log.splitlines() if "records lost" in l][-1]
    print(line)
    streams = query("SELECT COUNT(*) FROM streams")[0][0]
    intervals = query("SELECT COUNT(*) FROM intervals")[0][0]
    check(streams == 400, "all 400 final records kept (interval records went first): %d" % streams)
    check(intervals < 12000, "interval records were dropped: %d of 12000 stored" % intervals)
    health = json.loads(query("SELECT health FROM probes WHERE probe_id='p1'")[0][0])
    ev = health["export"]["spool"]["evicted_interval_records"]
    check(ev > 0, "heartbeat reports %d interval records dropped" % ev)
    lost = int(line.split(" records lost")[0].split(", ")[-1])
    check(intervals + lost == 12000, "stored %d + counted lost %d = 12000 interval records" % (intervals, lost))


def case_key_perms():
    """A secret key readable by others is refused, with the fix in the message."""
    setup()
    os.chmod(os.path.join(KEYS, "p1.key"), 0o644)
    r = run(probe_args(extra=["-r", os.path.join(PCAPS, "teams_audio_p2p_relay.pcap")]))
    check(r.returncode == 2, "probe refuses to start (exit %d)" % r.returncode)
    check("chmod 600" in r.stderr, "message says how to fix it: " + r.stderr.strip())
    os.chmod(os.path.join(KEYS, "collector.key"), 0o640)
    r = run([COLLECTOR, "run", "--bind", ENDPOINT, "--key", os.path.join(KEYS, "collector.key"),
             "--authorized-keys", AUTH, "--db", DB, "--org-key", ORGKEY] + PG_ARGS)
    check(r.returncode == 1 and "chmod 600" in r.stderr, "collector refuses too: " + r.stderr.strip())


def case_retention():
    """Rows stored longer ago than --retention-days go at start; newer ones stay."""
    setup()
    c = start_collector()
    r = run(probe_args(extra=["-r", os.path.join(PCAPS, "teams_audio_p2p_relay.pcap"), "--interval", "5"]))
    check(r.returncode == 0, "replay delivered")
    stop(c)
    total = query("SELECT COUNT(*) FROM streams")[0][0]
    check(total > 1 and query("SELECT COUNT(*) FROM intervals")[0][0] > 0, "streams and intervals stored")
    # on PostgreSQL both rows move into the default partition (no day
    # partition for 2020): deleted row by row there (pg_retention: whole days)
    execute("UPDATE streams SET received='2020-01-01T00:00:00.000000Z' WHERE id = (SELECT MIN(id) FROM streams)")
    execute("UPDATE intervals SET received='2020-01-01T00:00:00.000000Z'")
    c = start_collector(["--retention-days", "7"])
    stop(c)
    check(query("SELECT COUNT(*) FROM streams")[0][0] == total - 1, "the old stream row was deleted")
    check(query("SELECT COUNT(*) FROM intervals")[0][0] == 0, "old interval rows deleted")
    check("retention:" in read("collector.log"), "retention logged")


def case_schema_newer():
    """A store from a newer collector is refused with a clear message, and left as it is."""
    setup()
    c = start_collector()
    stop(c)
    execute("UPDATE migrations SET version = 99 WHERE component = 'ingest'")
    r = run([COLLECTOR, "run", "--bind", ENDPOINT, "--key", os.path.join(KEYS, "collector.key"),
             "--authorized-keys", AUTH, "--db", DB, "--org-key", ORGKEY] + PG_ARGS)
    check(r.returncode == 1 and "database schema 'ingest' is version 99, newer than this collector "
          "knows" in r.stderr, r.stderr.strip())
    check(query("SELECT version FROM migrations WHERE component = 'ingest'") == [(99,)],
          "the version row is untouched")


# ---- PostgreSQL only ----------------------------------------------------------

def run_collector(db, extra=()):
    """run with --db db until it exits (a refusal) or 20 s; its result."""
    return run([COLLECTOR, "run", "--bind", ENDPOINT, "--key", os.path.join(KEYS, "collector.key"),
                "--authorized-keys", AUTH, "--db", db, "--org-key", ORGKEY] + list(extra),
               timeout=60)


def case_pg_bad_uri():
    """A URI that is malformed, points nowhere, or names a missing database:
    the collector refuses to start and says which and why (no password shown)."""
    setup()
    r = run_collector("postgresql://callscope:s3cret@/callscope?host=%s&port=5432&nosuch=1" % SRV.sock,
                      PG_ARGS)
    check(r.returncode == 1 and "invalid PostgreSQL URI" in r.stderr and "s3cret" not in r.stderr,
          "malformed URI refused: " + r.stderr.strip())
    r = run_collector("postgresql://callscope:s3cret@/callscope?host=%s&port=5999" %
                      os.path.join(TMP, "nowhere"), PG_ARGS)
    check(r.returncode == 1 and "cannot connect to PostgreSQL callscope@" in r.stderr and
          "s3cret" not in r.stderr and "No such file" in r.stderr,
          "unreachable server refused: " + r.stderr.strip())
    r = run_collector(SRV.uri_for("callscope", pgserver.PASSWORD, "nosuchdb"), PG_ARGS)
    check(r.returncode == 1 and '"nosuchdb" does not exist' in r.stderr,
          "missing database refused: " + r.stderr.strip())
    check(SRV.scalar("SELECT count(*) FROM pg_tables WHERE tablename = 'streams'") == "0",
          "nothing created by the refused starts")


def case_pg_bad_credentials():
    """A wrong password or an unknown role: refused at start, with the server's reason."""
    setup()
    for role, pw in (("callscope", "wrong-password"), ("intruder", "no-such-Secret-7381")):
        r = run_collector(SRV.uri_for(role, pw, SRV.dbname), PG_ARGS)
        check(r.returncode == 1 and 'password authentication failed for user "%s"' % role in r.stderr
              and pw not in r.stderr, "%s refused: %s" % (role, r.stderr.strip()))


def case_pg_retention():
    """Day partitions: made ahead at start; a day older than --retention-days
    is dropped whole; old rows of unpartitioned tables are deleted."""
    setup()
    c = start_collector()
    r = run(probe_args(extra=["-r", os.path.join(PCAPS, "teams_audio_p2p_relay.pcap"), "--interval", "5"]))
    check(r.returncode == 0, "replay delivered")
    stop(c)
    parts = [x[0] for x in SRV.query("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON"
                                     " c.oid = i.inhrelid WHERE i.inhparent = 'streams'::regclass")]
    check(len([p for p in parts if p.startswith("streams_p2")]) >= 4 and "streams_pdefault" in parts,
          "streams has day partitions from yesterday to two days ahead and a default: %s" % parts)
    total = query("SELECT COUNT(*) FROM streams")[0][0]
    intervals = query("SELECT COUNT(*) FROM intervals")[0][0]
    check(total > 1 and intervals > 0, "%d streams, %d intervals stored" % (total, intervals))
    SRV.psql("CREATE TABLE streams_p20200101 PARTITION OF streams FOR VALUES FROM ('2020-01-01') TO"
             " ('2020-01-02')")
    # the oldest stream moves into 2020's partition, all intervals into the default one
    SRV.psql("UPDATE streams SET received = '2020-01-01T10:00:00.000000Z' WHERE id ="
             " (SELECT MIN(id) FROM streams)")
    SRV.psql("UPDATE intervals SET received = '2019-06-01T00:00:00.000000Z'")
    SRV.psql("UPDATE batches SET received = '2019-06-01T00:00:00.000000Z' WHERE seq = 1")
    batches = query("SELECT COUNT(*) FROM batches")[0][0]
    c = start_collector(["--retention-days", "7"])
    stop(c)
    check(query("SELECT COUNT(*) FROM streams")[0][0] == total - 1, "the old stream row is gone")
    check(SRV.scalar("SELECT count(*) FROM pg_class WHERE relname = 'streams_p20200101'") == "0",
          "with its whole day partition (dropped)")
    check(query("SELECT COUNT(*) FROM intervals")[0][0] == 0, "old interval rows deleted")
    check(query("SELECT COUNT(*) FROM batches")[0][0] == batches - 1, "the old batch row deleted")
    check("retention:" in read("collector.log"), "retention logged")


def case_pg_restart():
    """PostgreSQL restarted under load: the collector reconnects, the probe
    resends what was not acknowledged, every record is stored exactly once."""
    setup()
    c = start_collector()
    synthetic(os.path.join(TMP, "in.jsonl"), 20000)
    p = start_probe(probe_args(extra=["--from-jsonl", os.path.join(TMP, "in.jsonl"),
                                      "--from-jsonl-rate", "4000", "--batch-records", "200",
                                      "--ack-timeout-ms", "1000", "--drain", "90"]), "probe.log")
    deadline = time.time() + 30
    stored_before = 0
    while time.time() < deadline and stored_before == 0:
        time.sleep(0.5)
        stored_before = query("SELECT COUNT(*) FROM streams")[0][0]
    SRV.restart()
    p.wait(timeout=150)
    check(p.returncode == 0, "probe drained and exited 0 (%s)" % exit_report(p, "probe.log"))
    stop(c)
    log = read("collector.log")
    check(0 < stored_before < 20000, "server restarted mid-stream (%d of 20000 stored)" % stored_before)
    check("connection lost" in log and "reconnected to PostgreSQL" in log,
          "collector logged the lost connection and the reconnection")
    n = query("SELECT COUNT(*), COUNT(DISTINCT ssrc) FROM streams")[0]
    check(n == (20000, 20000), "20000 records stored exactly once: %s" % (n,))
    check("0 records lost" in read("probe.log"), "probe reports nothing lost")


def case_pg_same_hashes():
    """The same replay into SQLite and PostgreSQL gives the same lookup hashes
    and the same stored records: sealing is the collector's, not the database's."""
    global DB, PG_ARGS
    setup()
    pcap = os.path.join(PCAPS, "teams_audio_p2p_relay.pcap")
    got = {}
    for kind, db in (("pg", SRV.uri), ("sqlite", os.path.join(TMP, "same.db"))):
        DB = db
        c = start_collector(PG_ARGS, log="collector-%s.log" % kind)
        r = run(probe_args(spool="spool-" + kind, extra=["-r", pcap, "--interval", "5"]))
        check(r.returncode == 0, "replay into %s delivered" % kind)
        stop(c)
        if kind == "pg":
            rows = [(r[0], r[1]) for r in SRV.query(
                "SELECT encode(client_ip_hmac, 'hex'), length(client_ip_enc) FROM streams")]
        else:
            con = sqlite3.connect(db)
            rows = [(r[0] or "", str(r[1]) if r[1] is not None else "") for r in con.execute(
                "SELECT lower(hex(client_ip_hmac)), length(client_ip_enc) FROM streams")]
            con.close()
        got[kind] = (sorted(rows), sorted(stored_records_from(kind, db)))
    check(got["pg"][0] and got["pg"][0] == got["sqlite"][0],
          "same client hashes and sealed lengths in both stores (%d streams)" % len(got["pg"][0]))
    check(got["pg"][1] == got["sqlite"][1],
          "same stored stream, interval, flow and client records in both stores (%d)" %
          len(got["pg"][1]))


def case_pg_store_migrate():
    """store-migrate: a SQLite store made by a real ingest run (a capture with
    interval records, then 3000 stream records from a JSON-lines file) is
    copied into PostgreSQL; killed (-9) in the middle of the streams table
    (a chunk held up by a row another session is inserting), then run again:
    it resumes after the last committed chunk, every table's counts equal,
    every row equal (records, sealed bytes, hashes, figures), ids kept and
    the id sequence past them; a third run copies nothing."""
    global DB
    setup()
    src = os.path.join(TMP, "source.db")
    DB = src
    c = start_collector(PG_ARGS)
    r = run(probe_args(spool="spool-a", extra=["-r", os.path.join(PCAPS, "teams_audio_p2p_relay.pcap"),
                                               "--interval", "2"]))
    check(r.returncode == 0, "capture replayed into SQLite")
    jl = os.path.join(TMP, "streams.jsonl")
    with open(jl, "w") as f:
        for k in range(3000):
            ip = "10.9.%d.%d" % (k // 250, 1 + k % 250)
            f.write(json.dumps({"type": "stream", "src_ip": ip, "client_ip": ip, "src_port": 50000,
                                "dst_ip": "52.113.10.20", "dst_port": 3478, "proto": "udp",
                                "client_mac": "02:00:00:00:%02x:%02x" % (k >> 8, k & 255),
                                "ssrc": k, "direction": "outbound", "media": "audio",
                                "first_seen": "2026-11-27T10:00:00.300200Z",
                                "last_seen": "2026-11-27T10:00:15.280200Z", "packets": 750 + k,
                                "lost": k % 7, "loss_pct": (k % 7) / 7.5, "mos": 4.21,
                                "jitter_ms_max": 4.125 + k / 1000.0, "note": "tab\there \u00e9"},
                               separators=(",", ":")) + "\n")
    r = run(probe_args(spool="spool-b", extra=["--from-jsonl", jl, "--batch-records", "250"]))
    check(r.returncode == 0, "3000 stream records sent into SQLite")
    stop(c)
    con = sqlite3.connect(src)
    tables = ["batches", "clients", "flows", "intervals", "probe_stats", "probes", "streams"]
    src_counts = {t: con.execute("SELECT count(*) FROM %s" % t).fetchone()[0] for t in tables}
    check(src_counts["streams"] > 3000 and src_counts["intervals"] > 0 and
          src_counts["flows"] > 0 and src_counts["clients"] > 0,
          "source store holds every kind of row: %s" % src_counts)
    # the target's tables, made by a collector that ran against it once
    DB = SRV.uri
    stop(start_collector(PG_ARGS, log="collector-pg.log"))
    # another session inserts (uncommitted) a row with the key of the 1,250th
    # stream: the chunk that holds that stream waits for it
    sid, srec = con.execute("SELECT id, received FROM streams ORDER BY id LIMIT 1 OFFSET 1249").fetchone()
    blocker = subprocess.Popen(["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", SRV.sock, "-p",
                                str(SRV.port), "-U", "callscope", "-d", SRV.dbname],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, env=dict(os.environ, PGPASSWORD=pgserver.PASSWORD))
    PROCS.append(blocker)
    blocker.stdin.write("BEGIN;\nINSERT INTO streams(id, probe_id, site, received, first_seen, last_seen,"
                        " ssrc, record) VALUES (%d, 'blocker', 'x', '%s', '%s', '%s', 0, '{}');\n"
                        "SELECT 'inserted';\n" % (sid, srec, srec, srec))
    blocker.stdin.flush()
    check(blocker.stdout.readline().strip() == "inserted", "the blocking row is in (uncommitted)")
    migrate = [COLLECTOR, "store-migrate", "--from", src, "--to", SRV.uri, "--chunk", "500"]
    logf = open(os.path.join(TMP, "migrate-1.log"), "w")
    m = subprocess.Popen(migrate, stdout=logf, stderr=logf)
    PROCS.append(m)
    deadline = time.time() + 60
    copied = None
    while time.time() < deadline and m.poll() is None:
        r = SRV.psql("SELECT rows FROM store_migrate_marks WHERE source_table = 'streams'",
                     check=False)
        copied = r.stdout.strip() if r.returncode == 0 else None  # table not made yet
        if copied == "1000":
            break
        time.sleep(0.1)
    check(copied == "1000" and m.poll() is None,
          "streams: two chunks of 500 committed, the third waits for the blocking row")
    time.sleep(0.5)
    m.kill()
    m.wait()
    blocker.stdin.write("ROLLBACK;\n\\q\n")
    blocker.stdin.close()
    blocker.wait(timeout=30)
    check(SRV.scalar("SELECT count(*) FROM streams") == "1000",
          "after kill -9: exactly the committed chunks are in the target")
    check(SRV.scalar("SELECT count(*) FROM batches") == str(src_counts["batches"]),
          "tables before streams were copied whole")
    r = run(migrate + ["--quiet"])
    print(r.stdout)
    check(r.returncode == 0, "second run finishes: " + r.stderr.strip()[-500:])
    for t in tables:
        line = [l for l in r.stdout.splitlines() if l.split() and l.split()[0] == t]
        check(line and line[0].split()[1] == line[0].split()[3] == str(src_counts[t]) and
              line[0].endswith("equal"), "%s: %d rows both sides, printed" % (t, src_counts[t]))
    check("batches: 14 of 14 rows (100 %)" in read("migrate-1.log"),
          "progress on standard error: " + read("migrate-1.log").strip()[-300:])
    # every row equal: the common columns, sealed bytes and hashes as hex
    def norm(v):
        if v is None or v == "":
            return None
        for conv in (int, float):
            try:
                return conv(v)
            except ValueError:
                pass
        return v

    def pg_rows(t, cols):
        sel = ", ".join("encode(%s, 'hex')" % c if c.endswith(("_enc", "_hmac")) else c
                        for c in cols)
        return [[norm(v) for v in row] for row in
                SRV.query("SELECT %s FROM %s ORDER BY %s" % (sel, t, cols[0]))]

    def sq_rows(t, cols):
        sel = ", ".join("lower(hex(%s))" % c if c.endswith(("_enc", "_hmac")) else c for c in cols)
        return [[norm(v if v is None else str(v)) for v in row] for row in
                con.execute("SELECT %s FROM %s ORDER BY %s" % (sel, t, cols[0]))]
    for t, cols in (("streams", ["id", "received", "probe_id", "ssrc", "packets", "lost", "loss_pct",
                                 "jitter_ms_max", "mos", "client_ip_enc", "client_ip_hmac",
                                 "client_mac_enc", "src_ip_hmac", "dst_ip_enc", "record"]),
                    ("intervals", ["id", "start", "\"end\"", "packets", "src_ip_enc", "record"]),
                    ("flows", ["id", "first_seen", "remote_ip_enc", "remote_ip_hmac", "record"]),
                    ("clients", ["id", "client_ip_enc", "client_mac_hmac", "record"]),
                    ("batches", ["probe_id || '/' || epoch || '/' || seq", "received", "records"]),
                    ("probes", ["probe_id", "site", "version", "last_heartbeat", "health"])):
        a, b = pg_rows(t, cols), sq_rows(t, cols)
        check(len(a) == src_counts[t] and a == b, "%s: all %d rows equal column by column" % (t, len(a)))
    check(SRV.scalar("SELECT count(*) FROM streams WHERE position('tab\\there \\u00e9' IN record) > 0") == "3000",
          "escaped text (a tab escape) kept as written")
    r = run(migrate)
    check(r.returncode == 0 and "DIFFERENT" not in r.stdout and
          SRV.scalar("SELECT count(*) FROM streams") == str(src_counts["streams"]),
          "third run: nothing left to copy, counts still equal")
    check(SRV.scalar("SELECT rows FROM store_migrate_marks WHERE source_table = 'streams'") ==
          str(src_counts["streams"]), "the mark counts each row once")
    # a collector on the target goes on after the copied ids
    max_id = con.execute("SELECT max(id) FROM streams").fetchone()[0]
    con.close()
    c = start_collector(PG_ARGS, log="collector-pg.log")
    r = run(probe_args(spool="spool-c", extra=["-r", os.path.join(PCAPS, "teams_audio_p2p_relay.pcap")]))
    stop(c)
    check(r.returncode == 0 and int(SRV.scalar("SELECT min(id) FROM streams WHERE received > '%s'" %
                                               con_max_received(src))) > max_id,
          "new streams on PostgreSQL get ids above the copied ones (%d)" % max_id)


def con_max_received(path):
    con = sqlite3.connect(path)
    v = con.execute("SELECT max(received) FROM streams").fetchone()[0]
    con.close()
    return v


def stored_records_from(kind, db):
    """The records of a replay (not probe_stats: each run's own counters and times)."""
    out = []
    for t in ("streams", "intervals", "flows", "clients"):
        if kind == "pg":
            rows = [r[0] for r in SRV.query("SELECT record FROM %s" % t)]
        else:
            con = sqlite3.connect(db)
            rows = [r[0] for r in con.execute("SELECT record FROM %s" % t)]
            con.close()
        out += [canon(json.loads(r)) for r in rows]
    return out


CASES = {k[5:]: v for k, v in globals().items() if k.startswith("case_")}
if CASE not in CASES:
    print("unknown case", CASE, "; have", " ".join(CASES))
    sys.exit(2)
try:
    CASES[CASE]()
finally:
    for p in PROCS:
        if p.poll() is None:
            p.kill()
    if SRV:
        SRV.stop()
print("PASS", CASE, "(work dir %s)" % TMP)
