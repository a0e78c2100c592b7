#!/usr/bin/env python3
"""gen_noc_store.py - a collector store for a month of a 20,000-person
organisation, for bench_noc_scale.py (issue 13, "At scale").

    gen_noc_store.py COLLECTOR NOC_FIXTURE DIR [--calls N] [--interval-hours H]
                     [--live-calls N] [--seed S]

DIR receives collector.db, org.key and noc.token. The tables come from the
collector's own migrations ('correlate' on the empty store), never from a
copy of their schema here; the rows are written by SQL run through
tests/noc/noc_fixture, which opens the store with the organisation key so
addresses are hashed and sealed as the collector does (pii_hash, pii_seal).

What it writes (defaults):
  - 20,000 people at 40 sites (a client address each, an access point and a
    subnet of their site);
  - 1,050,000 ended calls over the last 30 days (5-60 min, two people each;
    4 % cloud-only, 8 % wire-only, the rest joined), their participants (2
    each), verdict streams (4 each: each side's inbound and outbound),
    history rows and verdict claims;
  - a probe stream for every verdict stream of a call a probe saw: about
    4,030,000 rows;
  - interval records (10 s) of every probe stream that ended in the last
    --interval-hours (3): about 3.4 million;
  - --live-calls (1,500) calls in progress now, 4 streams each, with their
    interval records from their start (1-40 min ago) to now: about 0.75
    million more, the last 300 s of which /api/live reads.
Indexes are dropped for the load and rebuilt after it (the same SQL the
migrations made), which is several times faster than inserting into them.
"""
import argparse
import os
import random
import sqlite3
import subprocess
import sys
import time

DAY = 86400
SITES = 40
PEOPLE = 20000


def iso(col):
    """The store's ISO text of epoch seconds col (SQL)."""
    return "(strftime('%%Y-%%m-%%dT%%H:%%M:%%S', %s, 'unixepoch') || '.000000Z')" % col


def load_sql(a, now):
    """The whole load as one SQL script (run by noc_fixture)."""
    month = 30 * DAY
    return f"""
PRAGMA journal_mode = OFF;
PRAGMA synchronous = OFF;
PRAGMA cache_size = -1000000;
PRAGMA temp_store = FILE;
BEGIN;
CREATE TEMP TABLE people(i INTEGER PRIMARY KEY, site TEXT, ip TEXT, hmac BLOB, enc BLOB,
                         bssid TEXT, subnet TEXT, src_enc BLOB, dst_enc BLOB);
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {PEOPLE - 1})
INSERT INTO temp.people(i, site, ip, bssid, subnet)
  SELECT i, printf('site-%02d', i % {SITES}),
    '10.' || (i / 65536) || '.' || (i / 256 % 256) || '.' || (i % 256),
    printf('02:00:00:%02x:%02x:%02x', i % {SITES}, (i / {SITES}) % 25, 1),
    '10.' || (100 + i % {SITES}) || '.' || ((i / {SITES}) % 8) || '.0/24'
  FROM n;
UPDATE temp.people SET hmac = pii_hash('ip', ip),
  enc = pii_seal('verdict_participants.client_ip', ip),
  src_enc = pii_seal('intervals.src_ip', ip), dst_enc = pii_seal('intervals.dst_ip', ip);

-- the calls: start, duration, two people, source, verdict
CREATE TEMP TABLE calls(i INTEGER PRIMARY KEY, p1 INT, p2 INT, start_s INT, dur_s INT,
                        source TEXT, verdict TEXT, r INT);
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {a.calls - 1})
INSERT INTO temp.calls
  SELECT i, abs(random()) % {PEOPLE}, abs(random()) % {PEOPLE},
    {now - month} + abs(random()) % ({month} - 4000), 300 + abs(random()) % 3300,
    NULL, NULL, abs(random()) % 1000 FROM n;
UPDATE temp.calls SET
  source = CASE WHEN r < 40 THEN 'cloud-only' WHEN r < 120 THEN 'wire-only' ELSE 'joined' END,
  verdict = CASE WHEN r % 100 < 80 THEN 'healthy' WHEN r % 100 < 85 THEN 'lan'
    WHEN r % 100 < 90 THEN 'wan' WHEN r % 100 < 94 THEN 'endpoint'
    WHEN r % 100 < 97 THEN 'cloud' ELSE 'unknown' END;

INSERT INTO verdict_calls(call_id, source, site, start, "end", verdict, confidence,
    graph_record_id, graph_version, evaluated, evidence)
  SELECT printf('call-%07d', c.i), c.source,
    CASE WHEN c.source = 'cloud-only' THEN NULL ELSE p.site END,
    {iso('c.start_s')}, {iso('c.start_s + c.dur_s')}, c.verdict, 0.5 + (c.r % 50) / 100.0,
    CASE WHEN c.source = 'wire-only' THEN NULL ELSE printf('%08x-0000-4000-8000-%012d', c.i, c.i) END,
    CASE WHEN c.source = 'wire-only' THEN NULL ELSE 1 END,
    {iso('c.start_s + c.dur_s + 900')},
    json_object('rule', 'scale bench: ' || c.verdict || ' from the generator',
      'thresholds', json('{{"wire_loss_pct":1.0,"wire_jitter_ms":30.0,"graph_loss_pct":1.0,"graph_jitter_ms":30.0,"graph_rtt_ms":100.0,"min_packets":50,"endpoint_cpu_pct":80.0}}'),
      'wire', json_object('loss_pct', (c.r % 37) / 10.0, 'jitter_ms_max', 3 + c.r % 60,
                          'packets', c.dur_s * 50, 'probes', 1),
      'graph', json_object('avg_loss_pct', (c.r % 29) / 10.0, 'avg_jitter_ms', 2 + c.r % 40,
                           'avg_rtt_ms', 20 + c.r % 150, 'bssid', p.bssid, 'subnet', p.subnet,
                           'connection', CASE WHEN c.r % 3 = 0 THEN 'wired' ELSE 'wifi' END))
  FROM temp.calls c JOIN temp.people p ON p.i = c.p1;

INSERT INTO verdict_participants(call_id, participant, site, client_ip_hmac, client_ip_enc,
    verdict, confidence, evidence)
  SELECT printf('call-%07d', c.i), CASE k.k WHEN 0 THEN 'caller' ELSE 'callee' END, p.site,
    p.hmac, p.enc,
    CASE WHEN k.k = 0 THEN c.verdict WHEN c.r % 7 = 0 THEN 'lan' ELSE 'healthy' END, 0.8,
    json_object('rule', 'scale bench participant',
      'wire', json_object('loss_pct', (c.r % 23) / 10.0, 'jitter_ms_max', 4 + c.r % 50),
      'graph', json_object('bssid', p.bssid, 'subnet', p.subnet, 'avg_loss_pct',
                           (c.r % 19) / 10.0, 'avg_jitter_ms', 3 + c.r % 45,
                           'connection', CASE WHEN c.r % 3 = 0 THEN 'wired' ELSE 'wifi' END))
  FROM temp.calls c, (SELECT 0 AS k UNION ALL SELECT 1) k
  JOIN temp.people p ON p.i = CASE k.k WHEN 0 THEN c.p1 ELSE c.p2 END;

-- four streams a call: each side's outbound (k even) and inbound
INSERT INTO streams(id, probe_id, site, received, first_seen, last_seen, client_port,
    src_port, dst_port, proto, ssrc, direction, media, app, encap, packets, lost, loss_pct,
    jitter_ms_max, network_jitter_ms_max, mos, client_ip_enc, client_ip_hmac, src_ip_hmac,
    dst_ip_hmac, record)
  SELECT c.i * 4 + k.k + 1, 'probe-' || p.site, p.site, {iso('c.start_s + c.dur_s + 5')},
    {iso('c.start_s')}, {iso('c.start_s + c.dur_s')}, 50000 + (c.i * 4 + k.k) % 10000,
    CASE WHEN k.k % 2 = 0 THEN 50000 + (c.i * 4 + k.k) % 10000 ELSE 3478 + k.k END,
    CASE WHEN k.k % 2 = 0 THEN 3478 + k.k ELSE 50000 + (c.i * 4 + k.k) % 10000 END,
    'udp', abs(random()) % 4294967296,
    CASE WHEN k.k % 2 = 0 THEN 'outbound' ELSE 'inbound' END, 'audio', 'teams', 'none',
    c.dur_s * 50, (c.dur_s * 50 * ((c.r + k.k) % 31)) / 1000,
    ((c.r + k.k) % 31) / 10.0, 2.0 + (c.r * 7 + k.k) % 70, 1.5 + (c.r * 7 + k.k) % 50,
    4.4 - ((c.r + k.k) % 31) / 15.0, p.enc, p.hmac,
    CASE WHEN k.k % 2 = 0 THEN p.hmac ELSE randomblob(32) END,
    CASE WHEN k.k % 2 = 0 THEN randomblob(32) ELSE p.hmac END,
    json_object('type', 'stream', 'app', 'teams', 'media', 'audio', 'codec', 'SATIN',
      'packets', c.dur_s * 50, 'bytes', c.dur_s * 50 * 120, 'loss_pct', ((c.r + k.k) % 31) / 10.0,
      'jitter_ms_max', 2.0 + (c.r * 7 + k.k) % 70, 'dscp', 46)
  FROM temp.calls c, (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) k
  JOIN temp.people p ON p.i = CASE WHEN k.k < 2 THEN c.p1 ELSE c.p2 END
  WHERE c.source <> 'cloud-only';

INSERT INTO verdict_streams(call_id, participant, stream_id, graph_stream_rid, direction, media,
    verdict, confidence, evidence)
  SELECT printf('call-%07d', c.i), CASE WHEN k.k < 2 THEN 'caller' ELSE 'callee' END,
    CASE WHEN c.source = 'cloud-only' THEN NULL ELSE c.i * 4 + k.k + 1 END,
    CASE WHEN c.source = 'wire-only' THEN NULL ELSE k.k END,
    CASE WHEN k.k % 2 = 0 THEN 'outbound' ELSE 'inbound' END, 'audio',
    CASE WHEN k.k = 0 THEN c.verdict ELSE 'healthy' END, 0.7,
    json_object('rule', 'scale bench stream', 'graph',
      json_object('avg_loss_pct', ((c.r + k.k) % 29) / 10.0, 'avg_jitter_ms', 2 + (c.r + k.k) % 40,
                  'avg_rtt_ms', 20 + c.r % 150))
  FROM temp.calls c, (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) k;

INSERT INTO verdict_claims(stream_id, call_id)
  SELECT stream_id, call_id FROM verdict_streams WHERE stream_id IS NOT NULL;

INSERT INTO verdict_history(call_id, at, verdict, confidence, source, provisional, rule)
  SELECT call_id, evaluated, verdict, confidence, source, source = 'wire-only', 'scale bench'
  FROM verdict_calls;

-- interval records (10 s) of the probe streams that ended in the last hours
CREATE TEMP TABLE nums(j INTEGER PRIMARY KEY);
WITH RECURSIVE k(j) AS (SELECT 0 UNION ALL SELECT j + 1 FROM k WHERE j < 719)
INSERT INTO temp.nums SELECT j FROM k;
CREATE TEMP TABLE recent AS SELECT *, CAST(strftime('%s', first_seen) AS INTEGER) AS t0,
    CAST(strftime('%s', last_seen) AS INTEGER) - CAST(strftime('%s', first_seen) AS INTEGER) AS dur
  FROM streams WHERE last_seen >= {iso(now - a.interval_hours * 3600)};
INSERT INTO intervals(probe_id, site, received, start, "end", src_port, dst_port, ssrc,
    direction, packets, lost, loss_pct, jitter_ms_max, src_ip_hmac, dst_ip_hmac, record)
  SELECT s.probe_id, s.site, {iso('t0 + 10 * k.j + 11')}, {iso('t0 + 10 * k.j')},
    {iso('t0 + 10 * k.j + 10')}, s.src_port, s.dst_port, s.ssrc, s.direction, 500,
    (s.id + k.j) % 13 = 0, ((s.id + k.j) % 13 = 0) / 5.0, 2.0 + (s.id * 3 + k.j) % 40,
    s.src_ip_hmac, s.dst_ip_hmac,
    json_object('type', 'interval', 'app', 'teams', 'packets', 500, 'bytes', 60000,
                'jitter_ms', 1.0 + (s.id + k.j) % 20)
  FROM temp.recent s CROSS JOIN temp.nums k WHERE k.j < s.dur / 10;

-- calls in progress: intervals up to now, no stream rows yet (the probe
-- writes a stream's row when it ends); the client's end sealed as ingest
-- seals it (src_ip of an outbound stream, dst_ip of an inbound one)
-- (bench_noc_scale.py feeds these one more minute of records, ending at its own "now", before it measures them)
CREATE TABLE bench_meta(generated_at INT, first_live_interval INT);
INSERT INTO bench_meta SELECT {now}, COALESCE(max(id), 0) + 1 FROM intervals;
CREATE TEMP TABLE live(i INTEGER PRIMARY KEY, p INT, start_s INT, bad INT);
WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < {a.live_calls - 1})
INSERT INTO temp.live SELECT i, abs(random()) % {PEOPLE}, {now} - 60 - abs(random()) % 2340,
  abs(random()) % 100 < 5 FROM n;
INSERT INTO intervals(probe_id, site, received, start, "end", src_port, dst_port, ssrc,
    direction, packets, lost, loss_pct, jitter_ms_max, src_ip_hmac, dst_ip_hmac, src_ip_enc,
    dst_ip_enc, record)
  SELECT 'probe-' || p.site, p.site, {iso('l.start_s + 10 * k.j + 11')},
    {iso('l.start_s + 10 * k.j')}, {iso('l.start_s + 10 * k.j + 10')},
    CASE WHEN d.d % 2 = 0 THEN 40000 + l.i ELSE 3478 END,
    CASE WHEN d.d % 2 = 0 THEN 3478 ELSE 40000 + l.i END,
    l.i * 4 + d.d + 7, CASE WHEN d.d % 2 = 0 THEN 'outbound' ELSE 'inbound' END, 500,
    CASE WHEN l.bad AND d.d = 1 THEN 20 ELSE 0 END,
    CASE WHEN l.bad AND d.d = 1 THEN 4.0 ELSE 0.0 END, 3.0 + (l.i + k.j) % 20,
    CASE WHEN d.d % 2 = 0 THEN p.hmac ELSE x'00' END,
    CASE WHEN d.d % 2 = 0 THEN x'00' ELSE p.hmac END,
    CASE WHEN d.d % 2 = 0 THEN p.src_enc END, CASE WHEN d.d % 2 = 1 THEN p.dst_enc END,
    json_object('type', 'interval', 'app', 'teams', 'packets', 500, 'bytes', 60000)
  FROM temp.live l JOIN temp.people p ON p.i = l.p
    CROSS JOIN (SELECT 0 AS d UNION ALL SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3) d
    CROSS JOIN temp.nums k WHERE k.j < ({now} - l.start_s) / 10;
COMMIT;
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("collector")
    ap.add_argument("fixture")
    ap.add_argument("dir")
    ap.add_argument("--calls", type=int, default=1050000)
    ap.add_argument("--interval-hours", type=float, default=3.0)
    ap.add_argument("--live-calls", type=int, default=1500)
    a = ap.parse_args()
    generate(a.collector, a.fixture, a.dir, a.calls, a.interval_hours, a.live_calls)


def generate(collector, fixture, d, calls, interval_hours=3.0, live_calls=1500):
    """Writes d/collector.db (replacing it), d/org.key, d/noc.token; returns
    (db, org key, token file, token, counts)."""
    os.makedirs(d, exist_ok=True)
    db, key, tok = (os.path.join(d, n) for n in ("collector.db", "org.key", "noc.token"))
    for f in (db, db + "-wal", db + "-shm", key, tok):
        if os.path.exists(f):
            os.unlink(f)
    token = "bench-%032x" % random.getrandbits(128)
    fd = os.open(tok, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, (token + "\n").encode())
    os.close(fd)
    run([collector, "org-keygen", "--tenant", "bench.example", "--out", key])
    run([collector, "correlate", "--db", db, "--org-key", key, "--since", "60s"])
    t0 = time.monotonic()
    con = sqlite3.connect(db)
    tables = ("verdict_calls", "verdict_participants", "verdict_streams", "verdict_claims",
              "verdict_history", "streams", "intervals")
    idx = con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
                      " AND tbl_name IN (%s)" % ",".join("?" * len(tables)), tables).fetchall()
    for name, _ in idx:
        con.execute("DROP INDEX %s" % name)
    con.commit()
    con.close()
    ns = argparse.Namespace(calls=calls, interval_hours=interval_hours, live_calls=live_calls)
    sql = os.path.join(d, "load.sql")
    with open(sql, "w") as f:
        f.write(load_sql(ns, int(time.time())))
    run([fixture, db, key, sql])
    t1 = time.monotonic()
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode = OFF")
    con.execute("PRAGMA cache_size = -1000000")
    for _, s in idx:
        con.execute(s)
    con.commit()
    counts = {t: con.execute("SELECT count(*) FROM %s" % t).fetchone()[0]
              for t in tables + ("verdict_participants",)}
    con.execute("PRAGMA journal_mode = WAL")  # as the collector keeps it
    con.close()
    t2 = time.monotonic()
    os.unlink(sql)
    print("generated in %.0f s (rows %.0f s, %d indexes %.0f s): %s; %.2f GB" %
          (t2 - t0, t1 - t0, len(idx), t2 - t1,
           ", ".join("%s %d" % kv for kv in counts.items()), os.path.getsize(db) / 1e9), flush=True)
    return db, key, tok, token, counts


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("%s: %s" % (os.path.basename(cmd[0]), r.stderr.strip()))


if __name__ == "__main__":
    main()
