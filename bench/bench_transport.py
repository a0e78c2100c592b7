#!/usr/bin/env python3
"""Transport benchmark: several probe processes feed one collector over
loopback (CURVE ZeroMQ, acknowledged batches, SQLite WAL store).

  bench/bench_transport.py [BUILD_DIR] [--probes N] [--records N] [--batch N]

Each probe sends its share of stream records (shaped like the probe's own,
about 1.3 KB each) with `callscope-probe --from-jsonl`, as fast as the
collector acknowledges. Prints records stored per second (first stored to
last stored, from the store's own timestamps), the collector's CPU time and
peak RSS, and checks that every record is in the store exactly once.
"""
import argparse
import json
import os
import signal
import socket
import sqlite3
import subprocess
import tempfile
import time

ap = argparse.ArgumentParser()
ap.add_argument("build", nargs="?", default="build")
ap.add_argument("--probes", type=int, default=3)
ap.add_argument("--records", type=int, default=300000)
ap.add_argument("--batch", type=int, default=1000)
ap.add_argument("--probe-arg", action="append", default=[], help="extra probe option (repeatable)")
a = ap.parse_args()

PROBE = os.path.join(a.build, "probe", "callscope-probe")
COLL = os.path.join(a.build, "collector", "callscope-collector")
tmp = tempfile.mkdtemp(prefix="cs-bench-transport-")
s = socket.socket()
s.bind(("127.0.0.1", 0))
port = s.getsockname()[1]
s.close()
ep = "tcp://127.0.0.1:%d" % port
keys, auth, db = os.path.join(tmp, "keys"), os.path.join(tmp, "auth"), os.path.join(tmp, "c.db")
os.makedirs(keys)
os.makedirs(auth)
names = ["bench%d" % i for i in range(a.probes)]
for n in ["collector"] + names:
    subprocess.run([COLL, "keygen", n, "--dir", keys], check=True, capture_output=True)
    if n != "collector":
        os.link(os.path.join(keys, n + ".pub"), os.path.join(auth, n + ".pub"))

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
per = a.records // a.probes
for i, n in enumerate(names):
    with open(os.path.join(tmp, n + ".jsonl"), "w") as f:
        for k in range(per):
            # 5000 clients, each with its own address and MAC
            c = (i * per + k) % 5000
            ip = "10.%d.%d.%d" % (1 + c // 62500, (c // 250) % 250, 1 + c % 250)
            mac = "02:00:00:%02x:%02x:%02x" % (c >> 16, (c >> 8) & 255, c & 255)
            f.write(json.dumps(dict(template, ssrc=i * per + k, src_ip=ip, client_ip=ip,
                                    client_mac=mac), separators=(",", ":")) + "\n")
size = os.path.getsize(os.path.join(tmp, names[0] + ".jsonl")) / per

clog = open(os.path.join(tmp, "collector.log"), "w")
subprocess.run([COLL, "org-keygen", "--tenant", "bench.example", "--out",
                os.path.join(keys, "org.key")], check=True, capture_output=True)
coll = subprocess.Popen([COLL, "run", "--bind", ep, "--key", os.path.join(keys, "collector.key"),
                         "--authorized-keys", auth, "--db", db, "--stats", "0",
                         "--org-key", os.path.join(keys, "org.key")],
                        stdout=clog, stderr=clog)
time.sleep(0.5)
t0 = time.time()
probes = [subprocess.Popen([PROBE, "--collector", ep, "--key", os.path.join(keys, n + ".key"),
                            "--collector-key", os.path.join(keys, "collector.pub"),
                            "--spool-dir", os.path.join(tmp, "spool-" + n), "--site", "bench",
                            "--from-jsonl", os.path.join(tmp, n + ".jsonl"),
                            "--batch-records", str(a.batch), "--drain", "300"] + a.probe_arg,
                           stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, n + ".log"), "w"))
          for n in names]
probe_cpu = 0.0
for p in probes:
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    probe_cpu += ru.ru_utime + ru.ru_stime
wall = time.time() - t0


def proc_figures(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    tick = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / tick
    with open("/proc/%d/status" % pid) as f:
        hwm = [l for l in f if l.startswith("VmHWM")][0].split()[1]
    return cpu, int(hwm) / 1024


cpu, rss = proc_figures(coll.pid)
coll.send_signal(signal.SIGTERM)
coll.wait()
con = sqlite3.connect(db)
n, distinct = con.execute("SELECT COUNT(*), COUNT(DISTINCT ssrc) FROM streams").fetchone()
first, last = con.execute("SELECT MIN(received), MAX(received) FROM streams").fetchone()
con.close()


def iso(t):
    import datetime
    return datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()


span = iso(last) - iso(first)
print("transport benchmark: %d probes -> 1 collector on loopback, %d stream records of %.0f bytes, "
      "batches of %d" % (a.probes, per * a.probes, size, a.batch))
print("  stored            %d records, %d distinct (expected %d)" % (n, distinct, per * a.probes))
print("  store rate        %.0f records/s (first to last stored: %.2f s)" % (n / span if span else 0, span))
print("  end-to-end wall   %.2f s (probe start to last acknowledgement) = %.0f records/s" %
      (wall, n / wall))
print("  collector CPU     %.2f s (%.0f %% of one core over the wall time; %.1f us per record)" %
      (cpu, 100 * cpu / wall, 1e6 * cpu / max(n, 1)))
print("  probes CPU        %.2f s in all (%.1f us per record)" % (probe_cpu, 1e6 * probe_cpu / max(n, 1)))
print("  collector RSS     %.1f MB peak" % rss)
print("  database          %.1f MB" % (os.path.getsize(db) / 1e6))
ok = n == distinct == per * a.probes
print("  exactly once      %s" % ("yes" if ok else "NO"))
subprocess.run(["rm", "-rf", tmp])
raise SystemExit(0 if ok else 1)
