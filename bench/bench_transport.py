#!/usr/bin/env python3
"""Transport benchmark: several probe processes feed one collector over
loopback (CURVE ZeroMQ, acknowledged batches, SQLite WAL store).

  bench/bench_transport.py [BUILD_DIR] [--probes N] [--records N] [--batch N]
                           [--db sqlite|pg|both|postgresql://...] [--runs N]
                           [--collector-prefix "valgrind --tool=callgrind ..."]

Each probe sends its share of stream records (shaped like the probe's own,
about 1.3 KB each) with `callscope-probe --from-jsonl`, as fast as the
collector acknowledges. Prints records stored per second (first stored to
last stored, from the store's own timestamps), the collector's CPU time
(with the kernel's share; then again with its shutdown, which checkpoints
what is left in the WAL), the bytes it wrote and read through system calls
per record (the WAL and the checkpoints, mostly), peak RSS, and checks that
every record is in the store exactly once.

The ingest figure of issue 16 (<= 20 us of collector CPU per record, the
median of five runs; docs/store.md "Writing fast"):

  bench/bench_transport.py build-dev --runs 5

Instructions instead of time, on a shared machine (one probe; the long ack
timeout keeps callgrind's slowness from causing resends):

  bench/bench_transport.py build-dev --probes 1 --records 30000 \
      --probe-arg=--ack-timeout-ms=600000 \
      --collector-prefix "valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.%p"
  callgrind_annotate --inclusive=yes /tmp/cg.<pid> | head -40

--db pg starts a throw-away PostgreSQL 15 (tests/pg/pgserver.py: initdb in a
temporary directory, Unix socket only) and stores into it; --db both runs
SQLite then PostgreSQL on the same load and prints both rates; a
postgresql:// URI uses that server (its ingest tables are emptied first).
--runs N repeats each and prints the median of the rates and of the
collector's microseconds of CPU per record.

--collectors N (PostgreSQL only) runs N collectors into the one database,
each with its own share of the probes (probe i sends to collector i mod N;
with N collectors give a multiple of N probes, or one collector runs alone
once the others have finished: the default is 4 probes with two collectors);
--db compare runs, interleaved run by run, SQLite with one collector,
PostgreSQL with one and PostgreSQL with two, on the same probes and records.
For the throw-away server the server's own CPU (postmaster and backends)
is printed per record too: on 2 cores the probes, the collectors and the
server share them. The throw-away server runs with the settings
docs/store.md recommends ("Tuning the server"; --pg-default-conf for
PostgreSQL's defaults), plus any --pg-conf lines. On PostgreSQL it also
prints what the collectors' backends were doing, sampled from
pg_stat_activity every 0.1 s: on CPU, waiting for their collector inside
a group ("idle in transaction") or between groups ("idle"), or a wait
event (Lock:extend, IO:DataFileExtend, IO:WALSync, ...).

Issue 16's PostgreSQL figure (two collectors into one PostgreSQL against
one into SQLite), as the lead re-runs it:

  bench/bench_transport.py build-dev --db compare --runs 3

Batches travel LZ4 when the collector reads it (common/wire.h); the
records of the default load differ only in addresses, MACs and ssrc, so
they compress ~35x; --vary gives each record its own figures and times
(~6x, nearer a real capture's).
"""
import argparse
import datetime
import json
import os
import shlex
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

ap = argparse.ArgumentParser()
ap.add_argument("build", nargs="?", default="build")
ap.add_argument("--probes", type=int, default=None,
                help="probe processes (default 3; 4 with --db compare or --collectors 2, so "
                     "each collector gets the same share)")
ap.add_argument("--records", type=int, default=300000)
ap.add_argument("--batch", type=int, default=1000)
ap.add_argument("--probe-arg", action="append", default=[], help="extra probe option (repeatable)")
ap.add_argument("--db", default="sqlite",
                help="sqlite (default), pg (a throw-away PostgreSQL 15), both, or a postgresql:// URI")
ap.add_argument("--runs", type=int, default=1, help="repeat each store N times; medians printed")
ap.add_argument("--collectors", type=int, default=1,
                help="collectors into one PostgreSQL database (probes shared out among them)")
ap.add_argument("--type", choices=("stream", "interval"), default="stream",
                help="the records sent: stream (947 bytes) or interval (~520 bytes) records")
ap.add_argument("--vary", action="store_true",
                help="each record with its own figures and times (compresses like a capture's)")
ap.add_argument("--pg-conf", action="append", default=[],
                help="a postgresql.conf line for the throw-away server (repeatable), e.g. "
                     "--pg-conf 'max_wal_size = 4GB'")
ap.add_argument("--pg-default-conf", action="store_true",
                help="the throw-away server with PostgreSQL's defaults, not the recommended "
                     "settings of docs/store.md (\"Tuning the server\")")
ap.add_argument("--collector-prefix", default="",
                help="command put before the collector (e.g. valgrind --tool=callgrind)")
a = ap.parse_args()
if a.probes is None:
    a.probes = 4 if a.db == "compare" or a.collectors > 1 else 3
# The throw-away server's settings beside pgserver.py's: those docs/store.md
# recommends for a store ("Tuning the server"; each safe for production:
# every commit still waits for its WAL flush), then --pg-conf's.
PG_RECOMMENDED = ["max_wal_size = 4GB", "checkpoint_timeout = 15min", "wal_buffers = 64MB"]
pg_conf = ([] if a.pg_default_conf else PG_RECOMMENDED) + a.pg_conf

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "pg"))
PROBE = os.path.join(a.build, "probe", "callscope-probe")
COLL = os.path.join(a.build, "collector", "callscope-collector")
tmp = tempfile.mkdtemp(prefix="cs-bench-transport-")
keys, auth = os.path.join(tmp, "keys"), os.path.join(tmp, "auth")
os.makedirs(keys)
os.makedirs(auth)
names = ["bench%d" % i for i in range(a.probes)]
for n in ["collector"] + names:
    subprocess.run([COLL, "keygen", n, "--dir", keys], check=True, capture_output=True)
    if n != "collector":
        os.link(os.path.join(keys, n + ".pub"), os.path.join(auth, n + ".pub"))
subprocess.run([COLL, "org-keygen", "--tenant", "bench.example", "--out",
                os.path.join(keys, "org.key")], check=True, capture_output=True)

# A realistic stream record: every key the probe writes.
template = {"type": "stream", "src_ip": "10.1.20.15", "src_port": 50010, "dst_ip": "52.113.10.20",
            "dst_port": 3478, "proto": "udp", "ssrc": 0, "payload_type": 104, "codec": "SILK",
            "app": "teams", "ndpi": "STUN.Azure", "client_ip": "10.1.20.15", "client_port": 50010,
            "client_mac": "02:00:00:00:00:15", "vlan": None, "vlan_inner": None, "media": "audio",
            "direction": "outbound", "encap": "raw", "first_seen": "2026-11-27T10:00:00.300200Z",
            "last_seen": "2026-11-27T10:00:15.280200Z", "packets": 750, "bytes": 89960,
            "expected": 750, "lost": 3, "loss_pct": 0.4, "duplicates": 0, "out_of_order": 0,
            "max_burst_loss": 2, "burst_count": 1, "loss_runs": 2, "seq_restarts": 0,
            "seq_jumps": 0, "jitter_ms_max": 4.125, "jitter_ms_mean": 1.031,
            "jitter_ms_final": 0.872, "max_delta_ms": 41.5, "clock_rate": 16000,
            "clock_inferred": False, "abs_send_time_ext_id": 3, "network_jitter_ms_max": 2.001,
            "network_jitter_ms_mean": 0.501, "network_jitter_ms_final": 0.401,
            "bitrate_kbps": 48.043, "mos": 4.21, "r_factor": 88.2, "rtcp": None,
            "end_reason": "idle"}
# An interval record as the probe writes it (--interval), about 520 bytes.
itemplate = {"type": "interval", "src_ip": "52.113.10.20", "src_port": 3478, "dst_ip": "10.1.20.15",
             "dst_port": 50010, "proto": "udp", "ssrc": 0, "app": "teams", "direction": "inbound",
             "start": "2026-01-15T10:00:00.000000Z", "end": "2026-01-15T10:00:10.000000Z",
             "packets": 500, "bytes": 60480, "expected": 500, "lost": 1, "loss_pct": 0.2,
             "duplicates": 0, "out_of_order": 0, "jitter_ms_max": 2.125, "jitter_ms": 1.5,
             "media": "audio", "burst_loss_max": 1, "loss_runs": 1, "jitter_ms_mean": 1.031,
             "network_jitter_ms_max": 0.801, "network_jitter_ms": 0.4, "bitrate_kbps": 40.636,
             "frame_rate": None, "frames": None, "mos": 4.37, "r_factor": 91.2}
TABLE = "streams" if a.type == "stream" else "intervals"
per = a.records // a.probes
for i, n in enumerate(names):
    with open(os.path.join(tmp, n + ".jsonl"), "w") as f:
        for k in range(per):
            # 5000 clients, each with its own address and MAC
            c = (i * per + k) % 5000
            ip = "10.%d.%d.%d" % (1 + c // 62500, (c // 250) % 250, 1 + c % 250)
            mac = "02:00:00:%02x:%02x:%02x" % (c >> 16, (c >> 8) & 255, c & 255)
            rec = dict(template, ssrc=i * per + k, src_ip=ip, client_ip=ip, client_mac=mac)
            if a.type == "interval":
                rec = dict(itemplate, ssrc=i * per + k, dst_ip=ip)
                if a.vary:
                    n = i * per + k
                    rng = (n * 2654435761) & 0xffffffff
                    t0 = n % 86400
                    rec.update(start="2026-11-27T%02d:%02d:%02d.000000Z" % (t0 // 3600, t0 // 60 % 60,
                                                                            t0 % 60),
                               end="2026-11-27T%02d:%02d:%02d.500000Z" % (t0 // 3600, t0 // 60 % 60,
                                                                          t0 % 60),
                               packets=400 + rng % 200, bytes=50000 + rng % 20000,
                               expected=400 + rng % 200, lost=rng % 5, loss_pct=round(rng % 5 / 4.5, 3),
                               jitter_ms_max=round(rng % 9000 / 1000.0, 3),
                               jitter_ms=round(rng % 3000 / 1000.0, 3), mos=round(3 + rng % 150 / 100, 2),
                               network_jitter_ms_max=round(rng % 5000 / 1000.0, 3),
                               bitrate_kbps=round(30 + rng % 40000 / 1000.0, 3))
            elif a.vary:
                n = i * per + k
                rng = (n * 2654435761) & 0xffffffff
                t0 = 1764237600 + n % 86400
                rec.update(
                    first_seen="2026-11-27T%02d:%02d:%02d.%06dZ" % (t0 // 3600 % 24, t0 // 60 % 60,
                                                                    t0 % 60, rng % 1000000),
                    last_seen="2026-11-27T%02d:%02d:%02d.%06dZ" % ((t0 + 15) // 3600 % 24,
                                                                   (t0 + 15) // 60 % 60,
                                                                   (t0 + 15) % 60, rng % 999983),
                    src_port=49152 + rng % 16384, client_port=49152 + rng % 16384,
                    packets=500 + rng % 1000, bytes=60000 + rng % 40000, expected=500 + rng % 1000,
                    lost=rng % 13, loss_pct=round((rng % 13) / 7.5, 3),
                    jitter_ms_max=round((rng % 9000) / 1000.0, 3),
                    jitter_ms_mean=round((rng % 3000) / 1000.0, 3),
                    jitter_ms_final=round((rng % 2000) / 1000.0, 3),
                    max_delta_ms=round((rng % 90000) / 1000.0, 1),
                    network_jitter_ms_max=round((rng % 5000) / 1000.0, 3),
                    network_jitter_ms_mean=round((rng % 1700) / 1000.0, 3),
                    network_jitter_ms_final=round((rng % 1300) / 1000.0, 3),
                    bitrate_kbps=round(30 + (rng % 40000) / 1000.0, 3),
                    mos=round(3 + (rng % 150) / 100.0, 2), r_factor=round(70 + (rng % 230) / 10.0, 1))
            f.write(json.dumps(rec, separators=(",", ":")) + "\n")
size = os.path.getsize(os.path.join(tmp, names[0] + ".jsonl")) / per


def proc_figures(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    user, system = int(fields[11]) / tick, int(fields[12]) / tick
    with open("/proc/%d/status" % pid) as f:
        hwm = [l for l in f if l.startswith("VmHWM")][0].split()[1]
    try:  # bytes through read()/write() calls: the WAL, the checkpoints, the sockets
        with open("/proc/%d/io" % pid) as f:
            io = dict(l.split(": ") for l in f.read().splitlines())
        rw = int(io["rchar"]), int(io["wchar"])
    except (OSError, KeyError, ValueError):
        rw = 0, 0
    return user + system, system, int(hwm) / 1024, rw


def server_cpu():
    """CPU seconds of the throw-away PostgreSQL so far: the postmaster (with
    its reaped backends) and its live children; None for another server."""
    if PgStore.server is None:
        return None
    try:
        with open(os.path.join(PgStore.server.data, "postmaster.pid")) as f:
            pm = int(f.readline())
    except (OSError, ValueError):
        return None
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(pid) == pm:
            total += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
        elif int(fields[1]) == pm:
            total += int(fields[11]) + int(fields[12])
    return total / tick


class WaitSampler:
    """What the collectors' PostgreSQL backends are doing, sampled every
    0.1 s from pg_stat_activity through one psql session (no process per
    sample): on CPU (active, no wait event: running or runnable), waiting
    for their collector inside a group ("idle in transaction": the
    collector reading, parsing, sealing) or between groups ("idle"), or a
    wait event (Lock:extend for the table's extension lock, IO:WALSync for
    the commit's flush, ...). Shares of all samples are printed."""
    SQL = ("SELECT CASE WHEN state = 'active' THEN coalesce(wait_event_type || ':' || wait_event,"
           " 'on CPU') ELSE coalesce(state, '?') END FROM pg_stat_activity"
           " WHERE application_name = 'callscope-collector';\nSELECT 'END';\n")

    def __init__(self, store):
        import collections
        import threading
        self.counts = collections.Counter()
        self.samples = 0
        self.stop_ = threading.Event()
        # the store's URI carries its password
        self.p = subprocess.Popen(["psql", "-X", "-q", "-At", "-d", store.db], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        try:
            while not self.stop_.wait(0.1):
                self.p.stdin.write(self.SQL)
                self.p.stdin.flush()
                rows = []
                for line in self.p.stdout:
                    if line.strip() == "END":
                        break
                    rows.append(line.strip())
                self.counts.update(rows)
                self.samples += 1
        except (OSError, ValueError):
            pass

    def done(self):
        self.stop_.set()
        self.t.join(timeout=5)
        try:
            self.p.stdin.close()
        except OSError:
            pass
        self.p.wait(timeout=10)
        total = sum(self.counts.values())
        if not total:
            return "no samples"
        return "%d samples of %d backends: %s" % (
            self.samples, round(total / max(self.samples, 1)),
            ", ".join("%s %.0f %%" % (k, 100.0 * v / total) for k, v in self.counts.most_common(8)))


def iso(t):
    return datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()


class SqliteStore:
    name = "SQLite"

    def __init__(self, run):
        self.path = os.path.join(tmp, "c%d.db" % run)
        self.db = self.path

    def figures(self):
        con = sqlite3.connect(self.path)
        n, distinct = con.execute("SELECT COUNT(*), COUNT(DISTINCT ssrc) FROM %s" % TABLE).fetchone()
        first, last = con.execute("SELECT MIN(received), MAX(received) FROM %s" % TABLE).fetchone()
        con.close()
        con = sqlite3.connect(self.path)
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.close()
        # the file, all but the table and its indexes being a few pages
        return n, distinct, first, last, os.path.getsize(self.path) / 1e6

    def done(self):
        for ext in ("", "-wal", "-shm"):
            if os.path.exists(self.path + ext):
                os.unlink(self.path + ext)


class PgStore:
    name = "PostgreSQL"
    server = None

    def __init__(self, run):
        if a.db.startswith("postgresql://"):
            self.db = a.db
            self.psql = lambda sql: subprocess.run(["psql", "-X", "-At", "-F", "\x1f", "-d", a.db,
                                                    "-c", sql],
                                                   check=True, capture_output=True,
                                                   text=True).stdout
        else:
            import pgserver
            if PgStore.server is None:
                PgStore.server = pgserver.start_or_skip(tuple(pg_conf), private=True)
            self.db = PgStore.server.uri
            self.psql = lambda sql: PgStore.server.psql(sql).stdout
        # each run starts from an empty store
        self.psql("DROP TABLE IF EXISTS streams, intervals, flows, clients, probe_stats, batches,"
                  " probes, migrations CASCADE; DROP SEQUENCE IF EXISTS streams_id_seq,"
                  " intervals_id_seq, flows_id_seq")

    def figures(self):
        row = self.psql("SELECT COUNT(*), COUNT(DISTINCT ssrc), MIN(received), MAX(received),"
                        " (SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN"
                        " pg_inherits i ON i.inhrelid = c.oid WHERE i.inhparent = '%s'::regclass)"
                        " FROM %s" % (TABLE, TABLE)).strip().split("\x1f")
        # the table's partitions with their indexes and TOAST
        return int(row[0]), int(row[1]), row[2], row[3], int(row[4] or 0) / 1e6

    def wal(self):
        """WAL bytes, full-page images, times a backend found the WAL
        buffers full, checkpoints so far (cluster-wide counters)."""
        row = self.psql("SELECT wal_bytes, wal_fpi, wal_buffers_full, (SELECT checkpoints_timed +"
                        " checkpoints_req FROM pg_stat_bgwriter) FROM pg_stat_wal")
        return [float(x) for x in row.strip().split("\x1f")]

    def done(self):
        pass


def start_collector(store, k):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    ep = "tcp://127.0.0.1:%d" % port
    logname = os.path.join(tmp, "collector%d.log" % k)
    clog = open(logname, "w")
    coll = subprocess.Popen(shlex.split(a.collector_prefix) +
                            [COLL, "run", "--bind", ep, "--key", os.path.join(keys, "collector.key"),
                             "--authorized-keys", auth, "--db", store.db, "--stats", "0",
                             "--correlate-interval", "0",
                             "--org-key", os.path.join(keys, "org.key")],
                            stdout=clog, stderr=clog)
    deadline = time.time() + 120
    while "listening on" not in open(logname).read():
        if coll.poll() is not None or time.time() > deadline:
            print(open(logname).read())
            raise SystemExit("collector did not start")
        time.sleep(0.05)
    return coll, ep


def run_once(store, ncoll=1):
    # one after the other: two collectors migrating one new database at once
    # take turns on the advisory lock anyway
    colls = [start_collector(store, k) for k in range(ncoll)]
    load1 = os.getloadavg()[0]
    wal0 = store.wal() if hasattr(store, "wal") else None
    pg = isinstance(store, PgStore)
    # the throw-away server stays up through the SQLite runs of --db compare
    srv0 = server_cpu() if pg else None
    waits = WaitSampler(store) if pg else None
    t0 = time.time()
    probes = [subprocess.Popen([PROBE, "--collector", colls[i % ncoll][1], "--key",
                                os.path.join(keys, n + ".key"),
                                "--collector-key", os.path.join(keys, "collector.pub"),
                                "--spool-dir", os.path.join(tmp, "spool-" + n), "--site", "bench",
                                "--from-jsonl", os.path.join(tmp, n + ".jsonl"),
                                "--batch-records", str(a.batch), "--drain", "300"] + a.probe_arg,
                               stdout=subprocess.DEVNULL,
                               stderr=open(os.path.join(tmp, n + ".log"), "w"))
              for i, n in enumerate(names)]
    probe_cpu = 0.0
    for p in probes:
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        probe_cpu += ru.ru_utime + ru.ru_stime
    wall = time.time() - t0
    srv1 = server_cpu() if pg else None
    waits = waits.done() if waits else None
    cpu, sys_cpu, rss, cpu_exit, rchar, wchar = 0.0, 0.0, 0.0, 0.0, 0, 0
    for coll, _ in colls:
        c, k, r, (rc, wc) = proc_figures(coll.pid)
        cpu, sys_cpu, rss = cpu + c, sys_cpu + k, max(rss, r)
        rchar, wchar = rchar + rc, wchar + wc
        coll.send_signal(signal.SIGTERM)
        # with its shutdown: closing the store checkpoints what is left in
        # the WAL (all of it, when the checkpoint thread did not run)
        _, status, ru = os.wait4(coll.pid, 0)
        coll.returncode = os.waitstatus_to_exitcode(status)
        cpu_exit += ru.ru_utime + ru.ru_stime
    n, distinct, first, last, dbsize = store.figures()
    wal1 = store.wal() if wal0 else None
    span = iso(last) - iso(first) if n else 0
    print("transport benchmark into %s: %d probes -> %d collector%s on loopback, %d %s records "
          "of %.0f bytes, batches of %d (load average %.1f at start)" %
          (store.name, a.probes, ncoll, "s" if ncoll > 1 else "", per * a.probes, a.type, size,
           a.batch, load1))
    print("  stored            %d records, %d distinct (expected %d)" % (n, distinct, per * a.probes))
    print("  store rate        %.0f records/s (first to last stored: %.2f s)" %
          (n / span if span else 0, span))
    print("  end-to-end wall   %.2f s (probe start to last acknowledgement) = %.0f records/s" %
          (wall, n / wall))
    print("  collector CPU     %.2f s (%.0f %% of one core over the wall time; %.1f us per record,"
          " %.1f of them in the kernel)" %
          (cpu, 100 * cpu / wall, 1e6 * cpu / max(n, 1), 1e6 * sys_cpu / max(n, 1)))
    print("  with its shutdown %.2f s (%.1f us per record)" % (cpu_exit, 1e6 * cpu_exit / max(n, 1)))
    print("  collector I/O     %.0f bytes written, %.0f read per record (system calls)" %
          (wchar / max(n, 1), rchar / max(n, 1)))
    if srv0 is not None and srv1 is not None:
        print("  server CPU        %.2f s (%.0f %% of one core; %.1f us per record)" %
              (srv1 - srv0, 100 * (srv1 - srv0) / wall, 1e6 * (srv1 - srv0) / max(n, 1)))
    if wal0 and wal1:
        print("  server WAL        %.0f bytes per record, %.2f full-page images per 1,000 records,"
              " WAL buffers full %.0f times, %.0f checkpoints" %
              ((wal1[0] - wal0[0]) / max(n, 1), 1000 * (wal1[1] - wal0[1]) / max(n, 1),
               wal1[2] - wal0[2], wal1[3] - wal0[3]))
    if waits:
        print("  server backends   %s" % waits)
    print("  probes CPU        %.2f s in all (%.1f us per record)" %
          (probe_cpu, 1e6 * probe_cpu / max(n, 1)))
    print("  collector RSS     %.1f MB peak%s" % (rss, " (the largest)" if ncoll > 1 else ""))
    print("  database          %.1f MB (%s: %.0f bytes per row, indexes included)" %
          (dbsize, "the file" if store.name == "SQLite" else TABLE + " partitions",
           1e6 * dbsize / max(n, 1)))
    ok = n == distinct == per * a.probes
    print("  exactly once      %s" % ("yes" if ok else "NO"), flush=True)
    for n_ in names:
        subprocess.run(["rm", "-rf", os.path.join(tmp, "spool-" + n_)])
    store.done()
    srv = (1e6 * (srv1 - srv0) / max(n, 1)) if srv0 is not None and srv1 is not None else None
    return (ok, (n / span if span else 0), 1e6 * cpu / max(n, 1), load1, 1e6 * cpu_exit / max(n, 1),
            srv)


nc = a.collectors
kinds = {"sqlite": [(SqliteStore, 1)], "pg": [(PgStore, nc)],
         "both": [(SqliteStore, 1), (PgStore, nc)],
         "compare": [(SqliteStore, 1), (PgStore, 1), (PgStore, 2)]}
kinds = kinds.get(a.db, [(PgStore, nc)] if a.db.startswith("postgresql://") else None)
if kinds is None:
    raise SystemExit("--db: sqlite, pg, both, compare or a postgresql:// URI")
if a.db == "sqlite" and nc > 1:
    raise SystemExit("--collectors: several collectors share a PostgreSQL store, not a SQLite file")
ok = True
summary = [("%s, %d collector%s" % (k.name, c, "s" if c > 1 else ""), [], [], [], [], [])
           for k, c in kinds]
try:
    # interleaved, so a change in the machine's load spreads over every kind
    for run in range(a.runs):
        for (kind, c), (_, rates, cpus, loads, exits, srvs) in zip(kinds, summary):
            good, rate, us, load, us_exit, us_srv = run_once(kind(run), c)
            if us_srv is not None:
                srvs.append(us_srv)
            ok = ok and good
            rates.append(rate)
            cpus.append(us)
            loads.append(load)
            exits.append(us_exit)
finally:
    if PgStore.server:
        PgStore.server.stop()
    subprocess.run(["rm", "-rf", tmp])
if a.runs > 1 or len(summary) > 1:
    print("summary (%d records, %d probes, batches of %d):" % (per * a.probes, a.probes, a.batch))
    for name, rates, cpus, loads, exits, srvs in summary:
        print("  %-24s median %6.0f records/s, %5.1f us collector CPU per record "
              "(runs: %s us; load average %s); with shutdown median %.1f us (runs: %s)%s" %
              (name, statistics.median(rates), statistics.median(cpus),
               ", ".join("%.1f" % c for c in cpus), ", ".join("%.1f" % l for l in loads),
               statistics.median(exits), ", ".join("%.1f" % c for c in exits),
               "; server median %.1f us per record (runs: %s)" %
               (statistics.median(srvs), ", ".join("%.1f" % c for c in srvs)) if srvs else ""))
raise SystemExit(0 if ok else 1)
