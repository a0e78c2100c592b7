#!/usr/bin/env python3
"""A throw-away PostgreSQL store for the tests and benchmarks.

  import pgserver
  srv = pgserver.start()         # a fresh, empty database of the test's own
  srv.uri                        # postgresql://callscope:...@/DBNAME?host=DIR&port=P
  srv.query("SELECT 1")          # rows as lists of strings (psql -At)
  srv.stop()                     # database dropped (or server stopped, directory removed)

Shared or private. Under ctest, one server serves the whole run: the
fixture test pg_server_start (tests/pg/CMakeLists.txt) runs
'pgserver.py --setup BUILD/pg-shared', which starts it and writes
BUILD/pg-shared/server.json; pg_server_stop stops it. start() then makes the
test a database of its own on it (CREATE DATABASE cs_t_<pid>_<random>,
owner 'callscope'; srv.dbname) and stop() drops it (WITH (FORCE)): the
test sees an empty store as before, without an initdb and a server start
of its own (0.5-3 s of CPU each, 10-20 s of wall time on a loaded
machine). The shared server is found from the directory the test started
in (ctest runs each test in its build directory: the nearest parent with a
CMakeCache.txt is the build tree) or from $CALLSCOPE_PG_SHARED (a directory
holding server.json; "0" turns sharing off).

A private server (initdb + postgres in a temporary directory, stopped and
removed by stop()) is started instead when no shared one answers (a test
run by hand, outside a build tree), when extra_conf is given, when
start(private=True) asks for it, or when $CALLSCOPE_PG_PRIVATE=1 (set by the
CMake registration of tests that restart the server or read cluster-wide
state such as pg_locks). restart() on a shared database raises: such a
test must ask for a private server.

Debian 12's PostgreSQL 15 binaries (/usr/lib/postgresql/15/bin, or $PG_BIN).
initdb refuses to run as root, so as root (CI) the cluster belongs to
'nobody' (runuser). The server listens on a Unix socket in its own
directory only (listen_addresses = ''), never on TCP, and asks every client
for a password (scram-sha-256): the role 'callscope' owns the database
'callscope'. missing() says why no server can be started (the tests then
exit 77 = skipped, with that message; with CALLSCOPE_PG_REQUIRED=1, as
scripts/test.sh sets, they fail instead).

As a program: pgserver.py [SECONDS] starts a private one, prints its URI,
keeps it SECONDS (default 3600) or until interrupted (SIGINT or SIGTERM).
pgserver.py --setup DIR / --cleanup DIR: the ctest fixture's two steps.
"""
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time

PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")
# 77 = skipped; 1 = failed when CALLSCOPE_PG_REQUIRED=1 (scripts/test.sh,
# which installs the server first: CI never skips the PostgreSQL tests)
REQUIRED = os.environ.get("CALLSCOPE_PG_REQUIRED") == "1"
SKIP = 1 if REQUIRED else 77
PASSWORD = "callscope-test-pw"
STATE = "server.json"
# where the test started: ctest's working directory for it (a test may chdir later)
_START_CWD = os.getcwd()


def missing():
    """Why no server can be run here, or None."""
    for b in ("initdb", "pg_ctl", "postgres"):
        if not os.access(os.path.join(PG_BIN, b), os.X_OK):
            return ("PostgreSQL server binaries not found in %s (Debian: apt-get install "
                    "postgresql-15, or run scripts/install-deps.sh)" % PG_BIN)
    if shutil.which("psql") is None:
        return "psql not found (Debian: apt-get install postgresql-client-15)"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root and runuser (util-linux) is missing"
    return None


class Server:
    """A private server (dbname 'callscope'), or with shared=True a database
    of its own on the shared server: the same attributes either way (data,
    log and sock are the server's; query() and psql() use dbname)."""

    def __init__(self, base, user, port, dbname="callscope", shared=False):
        self.base, self.user, self.port = base, user, port
        self.data = os.path.join(base, "data")
        self.sock = base
        self.log = os.path.join(base, "postgres.log")
        self.dbname, self.shared = dbname, shared
        self.uri = self.uri_for("callscope", PASSWORD, dbname)

    def uri_for(self, role, password, db):
        auth = role if password is None else "%s:%s" % (role, password)
        return "postgresql://%s@/%s?host=%s&port=%d" % (auth, db, self.sock, self.port)

    def _as_owner(self, args, **kw):
        if os.geteuid() == 0:
            args = ["runuser", "-u", self.user, "--"] + args
        return subprocess.run(args, capture_output=True, text=True, **kw)

    def psql(self, sql, db=None, role="callscope", check=True):
        db = db or self.dbname
        env = dict(os.environ, PGPASSWORD=PASSWORD)
        r = subprocess.run(["psql", "-X", "-q", "-At", "-F", "\x1f", "-v", "ON_ERROR_STOP=1",
                            "-h", self.sock,
                            "-p", str(self.port), "-U", role, "-d", db, "-c", sql],
                           capture_output=True, text=True, env=env, timeout=120)
        if check and r.returncode != 0:
            raise RuntimeError("psql: %s: %s" % (sql[:80], r.stderr.strip()))
        return r

    def query(self, sql, db=None):
        """Rows of the result, each a list of strings ('' for NULL)."""
        out = self.psql(sql, db=db).stdout
        return [l.split("\x1f") for l in out.splitlines()]

    def scalar(self, sql):
        rows = self.query(sql)
        return rows[0][0] if rows else None

    def stop(self):
        if self.shared:
            # FORCE: a collector a failed test left connected does not keep it
            r = self.psql('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % self.dbname,
                          db="postgres", role="postgres", check=False)
            if r.returncode != 0:
                print("pgserver: could not drop database %s: %s" % (self.dbname, r.stderr.strip()),
                      file=sys.stderr)
            self.shared = None  # dropped: a second stop() does nothing
            return
        if self.shared is None:
            return
        if os.path.isdir(self.data):
            self._as_owner([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-m", "fast", "-w",
                            "stop"], timeout=60)
        shutil.rmtree(self.base, ignore_errors=True)

    def restart(self):
        if self.shared:
            raise RuntimeError("restart() on the shared test server: register this test with "
                               "CALLSCOPE_PG_PRIVATE=1 or call start(private=True)")
        # -l: the new server's output goes to the log, not to our pipe
        r = self._as_owner([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-l", self.log,
                            "-m", "fast", "-w", "restart"], timeout=60)
        if r.returncode != 0:
            raise RuntimeError("pg_ctl restart: " + r.stderr + r.stdout)


def _free_port():
    # The socket file is named after the port; no TCP listener is opened, so
    # any number free of other servers' sockets in our own directory will do.
    return 5432


def shared_dir():
    """The directory of the shared server's server.json, or None."""
    env = os.environ.get("CALLSCOPE_PG_SHARED")
    if env is not None:
        return None if env in ("", "0", "off", "no") else env
    d = _START_CWD
    while True:
        if os.path.exists(os.path.join(d, "CMakeCache.txt")):
            return os.path.join(d, "pg-shared")
        up = os.path.dirname(d)
        if up == d:
            return None
        d = up


def _read_state(sdir):
    try:
        with open(os.path.join(sdir, STATE)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _shared_db():
    """A fresh database on the shared server, or None when there is none
    (or it does not answer: a stale server.json from a killed run)."""
    sdir = shared_dir()
    st = _read_state(sdir) if sdir else None
    if not st:
        return None
    name = "cs_t_%d_%s" % (os.getpid(), secrets.token_hex(4))
    srv = Server(st["base"], st["user"], st["port"], dbname=name, shared=True)
    for _ in range(10):
        r = srv.psql('CREATE DATABASE "%s" OWNER callscope' % name, db="postgres", role="postgres",
                     check=False)
        # another session in template1 (a CREATE DATABASE at the same moment): try again
        if r.returncode == 0 or "is being accessed by other users" not in r.stderr:
            break
        time.sleep(0.5)
    if r.returncode != 0:
        print("pgserver: the shared server of %s does not answer (%s): starting a private one" %
              (sdir, r.stderr.strip()), file=sys.stderr)
        return None
    print("pgserver: database %s on the shared server (%s)" % (name, sdir), file=sys.stderr)
    return srv


def start(extra_conf=(), private=False):
    """A fresh empty database 'callscope' can use: on the shared server when
    there is one (and neither extra_conf nor private asks otherwise), else on
    a private server (initdb, start, create role and database). Raises
    RuntimeError on failure."""
    why = missing()
    if why:
        raise RuntimeError(why)
    if not (extra_conf or private or os.environ.get("CALLSCOPE_PG_PRIVATE") == "1"):
        srv = _shared_db()
        if srv:
            return srv
    return _start_server(extra_conf)


def _start_server(extra_conf=(), max_connections=50):
    """initdb, start, create role and database; raises RuntimeError on failure."""
    user = "nobody" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
    base = tempfile.mkdtemp(prefix="cs-pg-")
    if os.geteuid() == 0:
        os.chown(base, pwd.getpwnam(user).pw_uid, pwd.getpwnam(user).pw_gid)
    srv = Server(base, user, _free_port())
    pw = os.path.join(base, "pw")
    with open(pw, "w") as f:
        f.write(PASSWORD + "\n")
    if os.geteuid() == 0:
        os.chown(pw, pwd.getpwnam(user).pw_uid, -1)
    os.chmod(pw, 0o600)
    try:
        r = srv._as_owner([os.path.join(PG_BIN, "initdb"), "-D", srv.data, "-U", "postgres",
                           "--auth=scram-sha-256", "--pwfile=" + pw, "-E", "UTF8",
                           "--locale=C", "--no-sync"], timeout=120)
        if r.returncode != 0:
            raise RuntimeError("initdb failed: " + r.stderr.strip())
        with open(os.path.join(srv.data, "postgresql.conf"), "a") as f:
            f.write("listen_addresses = ''\nunix_socket_directories = '%s'\nport = %d\n"
                    "unix_socket_permissions = 0777\nmax_connections = %d\n"
                    "shared_buffers = 128MB\nlog_min_messages = warning\n" %
                    (srv.sock, srv.port, max_connections))
            for line in extra_conf:
                f.write(line + "\n")
        r = srv._as_owner([os.path.join(PG_BIN, "pg_ctl"), "-D", srv.data, "-l", srv.log, "-w",
                           "-t", "60", "start"], timeout=90)
        if r.returncode != 0:
            log = open(srv.log).read() if os.path.exists(srv.log) else ""
            raise RuntimeError("postgres did not start: %s %s" % (r.stderr.strip(), log[-500:]))
        env = dict(os.environ, PGPASSWORD=PASSWORD)
        for sql in ("CREATE ROLE callscope LOGIN PASSWORD '%s'" % PASSWORD,
                    "CREATE DATABASE callscope OWNER callscope"):
            r = subprocess.run(["psql", "-X", "-q", "-h", srv.sock, "-p", str(srv.port), "-U",
                                "postgres", "-d", "postgres", "-c", sql],
                               capture_output=True, text=True, env=env, timeout=60)
            if r.returncode != 0:
                raise RuntimeError("%s: %s" % (sql.split(" PASSWORD")[0], r.stderr.strip()))
    except Exception:
        srv.stop()
        raise
    return srv


def start_or_skip(extra_conf=(), private=False):
    """start(), or exit 77 (skipped) with the reason when no server can run
    here (exit 1 with CALLSCOPE_PG_REQUIRED=1)."""
    why = missing()
    if why:
        print("FAIL (CALLSCOPE_PG_REQUIRED=1):" if REQUIRED else "SKIP:", why)
        sys.exit(SKIP)
    return start(extra_conf, private)


def _stop_state(sdir):
    """Stop the server a server.json describes (if it still runs), remove it."""
    st = _read_state(sdir)
    if st:
        old = Server(st["base"], st["user"], st["port"])
        left = old.psql("SELECT datname FROM pg_database WHERE datname LIKE 'cs_t_%'",
                        db="postgres", role="postgres", check=False)
        if left.returncode == 0 and left.stdout.strip():
            print("databases no test dropped:", " ".join(left.stdout.split()))
        old.stop()
    try:
        os.unlink(os.path.join(sdir, STATE))
    except FileNotFoundError:
        pass


def fixture_setup(sdir):
    """ctest's FIXTURES_SETUP: one server for the run. Its files live in a
    temporary directory ('nobody' must reach them as root, which a build
    tree under /root does not allow); server.json in sdir says where."""
    why = missing()
    if why:
        print("FAIL (CALLSCOPE_PG_REQUIRED=1):" if REQUIRED else "SKIP:", why)
        return SKIP
    os.makedirs(sdir, exist_ok=True)
    st = _read_state(sdir)
    if st and Server(st["base"], st["user"], st["port"]).psql(
            "SELECT 1", db="postgres", role="postgres", check=False).returncode == 0:
        # an interrupted run's (ctest skips the cleanup on ^C), or another
        # ctest running in this build tree now: stopping it would fail that
        # run's tests, and reusing it costs nothing (each test has its own database)
        print("the shared PostgreSQL server in %s answers: reused" % st["base"])
        return 0
    _stop_state(sdir)  # a stale server.json (server gone)
    t0 = time.time()
    # 200: ctest -j N runs N tests at once, each with a few collectors and psql
    # 128MB of WAL at most: tests search the WAL for personal data in clear,
    # and a run writes some 8 MB per CREATE DATABASE
    srv = _start_server(("max_wal_size = 128MB", "min_wal_size = 32MB"), max_connections=200)
    tmp = os.path.join(sdir, STATE + ".tmp")
    with open(tmp, "w") as f:
        json.dump({"base": srv.base, "user": srv.user, "port": srv.port}, f)
    os.rename(tmp, os.path.join(sdir, STATE))
    print("shared PostgreSQL server in %s (socket port %d), started in %.1f s; %s" %
          (srv.base, srv.port, time.time() - t0, os.path.join(sdir, STATE)))
    return 0


def fixture_cleanup(sdir):
    """ctest's FIXTURES_CLEANUP: stop the shared server, remove its files."""
    if not _read_state(sdir):
        print("no shared server in", sdir)
        return 0
    _stop_state(sdir)
    print("shared PostgreSQL server stopped")
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] in ("--setup", "--cleanup"):
        sys.exit((fixture_setup if sys.argv[1] == "--setup" else fixture_cleanup)(sys.argv[2]))
    # SIGTERM stops the server too (a shell's background job ignores SIGINT)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    srv = start_or_skip(private=True)
    print(srv.uri, flush=True)
    try:
        time.sleep(float(sys.argv[1]) if len(sys.argv) > 1 else 3600)
    except KeyboardInterrupt:
        pass
    finally:
        srv.stop()
