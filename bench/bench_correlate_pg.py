#!/usr/bin/env python3
"""Correlation on both backends, printed: calls/s and statements per call.

  bench/bench_correlate_pg.py BUILD_DIR [CALLS]   (default 1000)

Builds nothing: run `cmake --build BUILD_DIR --target bench_correlate`
first. Runs bench_correlate CALLS on a SQLite file, then on a throw-away
PostgreSQL 15 (tests/pg/pgserver.py, Unix socket, with pg_stat_statements
loaded so the statements the correlation sent can be counted: each one is
a round trip). Prints the two lines of bench_correlate (best of 5 steps,
wall and CPU time per call) and the machine's load average, which on this
shared machine moves the wall figures; the CPU time is the steadier one.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "pg"))
import pgserver  # noqa: E402


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    build = sys.argv[1]
    calls = sys.argv[2] if len(sys.argv) > 2 else "1000"
    exe = os.path.join(build, "tests", "unit", "bench_correlate")
    if not os.access(exe, os.X_OK):
        print("no %s: cmake --build %s --target bench_correlate" % (exe, build))
        return 2
    print("load average: %.1f %.1f %.1f" % os.getloadavg())
    r = subprocess.run([exe, calls], capture_output=True, text=True, timeout=1800)
    print("SQLite: " + (r.stdout.strip().splitlines() or [r.stderr.strip()])[0])
    srv = pgserver.start_or_skip(["shared_preload_libraries = 'pg_stat_statements'"])
    try:
        srv.psql("CREATE EXTENSION pg_stat_statements", role="postgres")
        srv.psql("GRANT EXECUTE ON FUNCTION pg_stat_statements_reset(oid, oid, bigint)"
                 " TO callscope", role="postgres")
        r = subprocess.run([exe, calls, srv.uri], capture_output=True, text=True, timeout=3600)
        print("PostgreSQL: " + (r.stdout.strip() or r.stderr.strip()))
        # the last step's costliest statements on the server
        for calls, ms, q in srv.query(
                "SELECT calls, round(total_exec_time::numeric, 1), left(regexp_replace(query,"
                " '\\s+', ' ', 'g'), 90) FROM pg_stat_statements WHERE query NOT LIKE"
                " '%pg_stat_statements%' ORDER BY total_exec_time DESC LIMIT 8"):
            print("  server: %8s calls %9s ms  %s" % (calls, ms, q))
    finally:
        srv.stop()
    print("load average: %.1f %.1f %.1f" % os.getloadavg())
    return r.returncode


if __name__ == "__main__":
    sys.exit(main())
