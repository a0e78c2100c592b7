#!/usr/bin/env python3
"""Load time of a CQD building file of ROWS networks (default 50,000; issue
12's goal: under 1 s) by `callscope-collector buildings-import`.

The file is generated: 80 % IPv4 (/24 networks under 10.0.0.0/8 with a
/16 per building above them, so longest-prefix matters), 20 % IPv6 /64s,
15 columns, about 100 bytes a line like a real tenant's. Best wall time of
K runs of each of: --check (read + parse + sort), and the import into a
fresh store (the same plus the SQLite transaction). The command's own
own time (read, parse and, without --check, store) is printed from its summary line.

    python3 bench/bench_buildings.py BUILD_DIR [--rows N] [--runs K]
"""
import argparse
import os
import re
import subprocess
import tempfile
import time


def make_file(path, rows):
    cities = [("Lyon", "69002", "FR", "ARA", "EMEA"), ("Paris", "75001", "FR", "IDF", "EMEA"),
              ("Berlin", "10115", "DE", "BE", "EMEA"), ("Austin", "73301", "US", "TX", "AMER"),
              ("Osaka", "530-0001", "JP", "27", "APAC")]
    with open(path, "w") as f:
        v4 = rows * 8 // 10
        for i in range(rows):
            c = cities[i % len(cities)]
            bldg = f"Building {i // 64:05d}"
            if i < v4:
                if i % 256 == 0:
                    net, length = f"10.{(i >> 8) & 255}.0.0", 16
                else:
                    net, length = f"10.{(i >> 8) & 255}.{i & 255}.0", 24
            else:
                j = i - v4
                net, length = f"2001:db8:{j >> 16:x}:{j & 0xffff:x}::", 64
            f.write(f"{net},Net-{i},{length},{bldg},Own,Office,Open,{c[0]},{c[1]},{c[2]},"
                    f"{c[3]},{c[4]},1,{i % 2},{int(i % 10 == 0)}\n")


def best(cmd, runs, fresh_db=None):
    times, out = [], ""
    for _ in range(runs):
        if fresh_db and os.path.exists(fresh_db):
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(fresh_db + suffix):
                    os.unlink(fresh_db + suffix)
        t0 = time.perf_counter()
        p = subprocess.run(cmd, capture_output=True, text=True)
        times.append(time.perf_counter() - t0)
        if p.returncode != 0:
            raise SystemExit(f"bench_buildings: {' '.join(cmd)}: exit {p.returncode}\n{p.stderr}")
        if times[-1] == min(times):
            out = p.stdout.strip()  # the best run's own figures
    return min(times), out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--rows", type=int, default=50000)
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    collector = os.path.join(a.build, "collector", "callscope-collector")
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "buildings.csv")
        make_file(path, a.rows)
        size = os.path.getsize(path)
        db = os.path.join(d, "collector.db")
        print(f"bench_buildings: {a.rows} rows, {size / 1e6:.1f} MB, best of {a.runs}")
        wall, out = best([collector, "buildings-import", path, "--check"], a.runs)
        print(f"  --check (read, parse, sort):  {wall:.3f} s wall   [{out.split(') in ', 1)[1]}]")
        wall2, out2 = best([collector, "buildings-import", path, "--db", db], a.runs, db)
        print(f"  import into a fresh store:    {wall2:.3f} s wall   [{out2.split(') in ', 1)[1]}]")
        m = re.search(r"(\d+) networks", out2)
        ok = m and int(m.group(1)) == a.rows and wall2 < 1.0
        print(f"  goal: {a.rows} rows loaded in under 1 s: {'met' if ok else 'NOT met'}")
        return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
