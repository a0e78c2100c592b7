#!/usr/bin/env python3
"""Runs a C unit test against a throw-away PostgreSQL server.

  db_unit.py TEST_BINARY [ARGS...]

Starts tests/pg/pgserver.py's server, runs TEST_BINARY ARGS... URI (the
server's URI as the last argument) and exits with its status; 77 (skipped,
with the reason) when no server can run here.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pgserver  # noqa: E402


def main():
    srv = pgserver.start_or_skip()
    try:
        r = subprocess.run(sys.argv[1:] + [srv.uri], timeout=300)
        return r.returncode
    finally:
        srv.stop()


if __name__ == "__main__":
    sys.exit(main())
