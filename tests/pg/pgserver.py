#!/usr/bin/env python3
"""A throw-away PostgreSQL server for the tests and benchmarks.

  import pgserver
  srv = pgserver.start()         # initdb + postgres in a temporary directory
  srv.uri                        # postgresql://callscope:...@/callscope?host=DIR&port=P
  srv.query("SELECT 1")          # rows as lists of strings (psql -At)
  srv.stop()                     # fast shutdown, directory removed

Debian 12's PostgreSQL 15 binaries (/usr/lib/postgresql/15/bin, or $PG_BIN).
initdb refuses to run as root, so as root (CI) the cluster belongs to
'nobody' (runuser). The server listens on a Unix socket in its own
directory only (listen_addresses = ''), never on TCP, and asks every client
for a password (scram-sha-256): the role 'callscope' owns the database
'callscope'. missing() says why no server can be started (the tests then
exit 77 = skipped, with that message).

As a program: pgserver.py [SECONDS] starts one, prints its URI, keeps it
SECONDS (default 3600) or until interrupted (SIGINT or SIGTERM).
"""
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time

PG_BIN = os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin")
SKIP = 77
PASSWORD = "callscope-test-pw"


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
    def __init__(self, base, user, port):
        self.base, self.user, self.port = base, user, port
        self.data = os.path.join(base, "data")
        self.sock = base
        self.log = os.path.join(base, "postgres.log")
        self.uri = self.uri_for("callscope", PASSWORD, "callscope")

    def uri_for(self, role, password, db):
        auth = role if password is None else "%s:%s" % (role, password)
        return "postgresql://%s@/%s?host=%s&port=%d" % (auth, db, self.sock, self.port)

    def _as_owner(self, args, **kw):
        if os.geteuid() == 0:
            args = ["runuser", "-u", self.user, "--"] + args
        return subprocess.run(args, capture_output=True, text=True, **kw)

    def psql(self, sql, db="callscope", role="callscope", check=True):
        env = dict(os.environ, PGPASSWORD=PASSWORD)
        r = subprocess.run(["psql", "-X", "-q", "-At", "-F", "\x1f", "-v", "ON_ERROR_STOP=1",
                            "-h", self.sock,
                            "-p", str(self.port), "-U", role, "-d", db, "-c", sql],
                           capture_output=True, text=True, env=env, timeout=120)
        if check and r.returncode != 0:
            raise RuntimeError("psql: %s: %s" % (sql[:80], r.stderr.strip()))
        return r

    def query(self, sql, db="callscope"):
        """Rows of the result, each a list of strings ('' for NULL)."""
        out = self.psql(sql, db=db).stdout
        return [l.split("\x1f") for l in out.splitlines()]

    def scalar(self, sql):
        rows = self.query(sql)
        return rows[0][0] if rows else None

    def stop(self):
        if os.path.isdir(self.data):
            self._as_owner([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-m", "fast", "-w",
                            "stop"], timeout=60)
        shutil.rmtree(self.base, ignore_errors=True)

    def restart(self):
        # -l: the new server's output goes to the log, not to our pipe
        r = self._as_owner([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-l", self.log,
                            "-m", "fast", "-w", "restart"], timeout=60)
        if r.returncode != 0:
            raise RuntimeError("pg_ctl restart: " + r.stderr + r.stdout)


def _free_port():
    # The socket file is named after the port; no TCP listener is opened, so
    # any number free of other servers' sockets in our own directory will do.
    return 5432


def start(extra_conf=()):
    """initdb, start, create role and database; raises RuntimeError on failure."""
    why = missing()
    if why:
        raise RuntimeError(why)
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
                    "unix_socket_permissions = 0777\nmax_connections = 50\n"
                    "shared_buffers = 128MB\nlog_min_messages = warning\n" % (srv.sock, srv.port))
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


def start_or_skip(extra_conf=()):
    """start(), or exit 77 (skipped) with the reason when no server can run here."""
    why = missing()
    if why:
        print("SKIP:", why)
        sys.exit(SKIP)
    return start(extra_conf)


if __name__ == "__main__":
    # SIGTERM stops the server too (a shell's background job ignores SIGINT)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    srv = start_or_skip()
    print(srv.uri, flush=True)
    try:
        time.sleep(float(sys.argv[1]) if len(sys.argv) > 1 else 3600)
    except KeyboardInterrupt:
        pass
    finally:
        srv.stop()
