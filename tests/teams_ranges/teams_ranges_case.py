#!/usr/bin/env python3
"""`callscope-collector teams-ranges update` against a local stand-in for
Microsoft 365's IP address and URL web service: real HTTPS on 127.0.0.1
with a test CA made by openssl now (tests/graph/fake_graph.py's), serving
endpoints_worldwide.json, written by hand from Microsoft's documentation
of the /endpoints answer. Python standard library only.

Usage: teams_ranges_case.py COLLECTOR PROBE CAPTURE WORKDIR CASE
"""
import copy
import json
import os
import re
import select
import shutil
import socket
import socketserver
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "graph"))
from fake_graph import make_certs  # noqa: E402

GUID = "0f3bd6d1-5a0e-4a6b-9e65-2d1c0b7a9e11"
V1, V2 = "2024100100", "2024110100"
NEW_PREFIX = "52.120.0.0/14"


class Service:
    """Answers /version/Worldwide and /endpoints/Worldwide; `faults` maps a
    path prefix to a list of (status, headers, body) served first."""

    def __init__(self, workdir):
        with open(os.path.join(HERE, "endpoints_worldwide.json")) as f:
            self.endpoints = json.load(f)
        self.version = V1
        self.faults = {}
        self.log = []  # (time, path, status, query)
        self.lock = threading.Lock()
        self.ca, pem, key = make_certs(workdir)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(pem, key)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), type("H", (Handler,), {"svc": self}))
        self.httpd.daemon_threads = True
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.base = "https://127.0.0.1:%d" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def answer(self, path):
        with self.lock:
            for prefix, queue in self.faults.items():
                if path.startswith(prefix) and queue:
                    return queue.pop(0)
        if path == "/version/Worldwide":
            return 200, {}, json.dumps({"instance": "Worldwide", "latest": self.version})
        if path == "/endpoints/Worldwide":
            return 200, {}, json.dumps(self.endpoints)
        return 404, {}, '{"error":"not found"}'

    def requests(self, prefix):
        return [e for e in self.log if e[1].startswith(prefix)]


class Handler(BaseHTTPRequestHandler):
    svc = None

    def log_message(self, *a):
        pass

    def do_GET(self):
        u = urllib.parse.urlsplit(self.path)
        status, headers, body = self.svc.answer(u.path)
        self.svc.log.append((time.monotonic(), u.path, status, urllib.parse.parse_qs(u.query)))
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)


class ConnectProxy(socketserver.ThreadingTCPServer):
    """An HTTP CONNECT proxy on 127.0.0.1 that records what it tunnelled."""
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self):
        self.tunnels = []
        super().__init__(("127.0.0.1", 0), ProxyHandler)
        threading.Thread(target=self.serve_forever, daemon=True).start()


class ProxyHandler(socketserver.StreamRequestHandler):
    def handle(self):
        line = self.rfile.readline().decode("latin-1")
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass
        m = re.match(r"CONNECT (127\.0\.0\.1):(\d+) ", line)
        if not m:
            self.wfile.write(b"HTTP/1.1 403 Forbidden\r\n\r\n")
            return
        self.server.tunnels.append(line.strip())
        up = socket.create_connection((m.group(1), int(m.group(2))))
        self.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        self.wfile.flush()
        socks = [self.connection, up]
        while True:
            r, _, _ = select.select(socks, [], [], 10)
            if not r:
                break
            for s in r:
                data = s.recv(65536)
                if not data:
                    up.close()
                    return
                (up if s is self.connection else self.connection).sendall(data)


class Env:
    def __init__(self, collector, probe, capture, workdir, case):
        self.collector, self.probe, self.capture = collector, probe, capture
        self.dir = os.path.join(workdir, case)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.svc = Service(self.dir)
        self.out = os.path.join(self.dir, "teams-media.protos")
        self.env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}

    def update(self, *extra, ca=True, env=None):
        args = [self.collector, "teams-ranges", "update", "--out", self.out, "--base-url",
                self.svc.base, "--client-request-id", GUID, "--timeout", "5"]
        if ca:
            args += ["--ca-bundle", self.svc.ca]
        p = subprocess.run(args + list(extra), capture_output=True, text=True, timeout=120,
                           env=env or self.env)
        print("$ teams-ranges update%s -> %d\n%s%s" % (
            "".join(" " + a for a in extra), p.returncode, p.stdout, p.stderr))
        return p

    def read(self):
        with open(self.out) as f:
            return f.read()

    def prefixes(self):
        return sorted(re.findall(r"^(?:ip|#ipv6):(\S+)@Teams$", self.read(), re.M))


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print("ok: " + what)


def first_fetch(env):
    """No file yet: version, then the list; the Teams media set only."""
    p = env.update()
    check(p.returncode == 0, "exit 0")
    check(env.prefixes() == sorted(["13.107.64.0/18", "52.112.0.0/14", "52.122.0.0/15",
                                    "2603:1063::/38"]),
          "only set 11 (Skype, Optimize, UDP 3478-3481): 3 IPv4 + 1 IPv6 prefixes")
    check("# version: %s\n" % V1 in env.read(), "version recorded in the header")
    paths = [e[1] for e in env.svc.log]
    check(paths == ["/version/Worldwide", "/endpoints/Worldwide"], "version asked first")
    check(all(e[3].get("ClientRequestId") == [GUID] for e in env.svc.log),
          "ClientRequestId sent on every request")
    check(oct(os.stat(env.out).st_mode & 0o777) == "0o644", "file mode 0644")
    check(not [n for n in os.listdir(env.dir) if n.startswith("teams-media.protos.")],
          "no temporary file left")
    # the probe (and nDPI inside it) loads what was written
    r = subprocess.run([env.probe, "-q", "--ranges", env.out, "-r", env.capture, "--json", "-"],
                       capture_output=True, text=True, timeout=120)
    check(r.returncode == 0, "callscope-probe --ranges FILE loads the written file: %s" %
          r.stderr.strip()[:200])
    check(any('"app":"teams"' in l.replace(" ", "") for l in r.stdout.splitlines()),
          "and finds Teams flows with it")


def unchanged(env):
    """Same version: the list is not fetched and the file is left alone."""
    check(env.update().returncode == 0, "first run")
    before, mtime = env.read(), os.stat(env.out).st_mtime_ns
    env.svc.log.clear()
    p = env.update()
    check(p.returncode == 0 and "current (version %s)" % V1 in p.stdout, "says current")
    check([e[1] for e in env.svc.log] == ["/version/Worldwide"], "only /version asked")
    check(env.read() == before and os.stat(env.out).st_mtime_ns == mtime, "file untouched")
    env.svc.log.clear()
    check(env.update("--force").returncode == 0, "--force")
    check([e[1] for e in env.svc.log] == ["/version/Worldwide", "/endpoints/Worldwide"],
          "--force fetches the list")


def changed_version(env):
    """A new version with one more prefix replaces the file."""
    check(env.update().returncode == 0, "first run at %s" % V1)
    env.svc.version = V2
    for e in env.svc.endpoints:
        if e["id"] == 11:
            e["ips"].insert(1, NEW_PREFIX)
    env.svc.log.clear()
    p = env.update()
    check(p.returncode == 0 and "updated to version %s (was %s)" % (V2, V1) in p.stdout,
          "says updated from %s to %s" % (V1, V2))
    check(NEW_PREFIX in env.prefixes() and len(env.prefixes()) == 5, "new prefix written")
    check("# version: %s\n" % V2 in env.read(), "new version recorded")
    check(len(env.svc.requests("/endpoints")) == 1, "list fetched once")


def throttle_429(env):
    """429 with Retry-After: waited, then the request is made again."""
    env.svc.faults["/endpoints"] = [(429, {"Retry-After": "2"}, '{"error":"throttled"}')]
    t0 = time.monotonic()
    p = env.update()
    check(p.returncode == 0, "exit 0 after the retry")
    ends = env.svc.requests("/endpoints")
    check([e[2] for e in ends] == [429, 200], "429 then 200")
    check(ends[1][0] - ends[0][0] >= 1.9, "Retry-After: 2 honoured (%.2f s)" %
          (ends[1][0] - ends[0][0]))
    check("HTTP 429" in p.stderr, "the 429 is logged")
    check(len(env.prefixes()) == 4, "file written")
    print("elapsed %.2f s" % (time.monotonic() - t0))


def keep_old(env, fault, expect_msg, *extra, ca=True):
    check(env.update().returncode == 0, "first run at %s" % V1)
    before = env.read()
    env.svc.version = V2
    env.svc.faults.update(fault)
    env.svc.log.clear()
    p = env.update(*extra, ca=ca)
    check(p.returncode == 1, "exit 1")
    check(re.search(expect_msg, p.stderr) is not None, "clear error: /%s/" % expect_msg)
    check(env.read() == before, "old file kept byte for byte")
    check(not [n for n in os.listdir(env.dir) if n.startswith("teams-media.protos.")],
          "no temporary file left")


def throttle_exhausted(env):
    """Throttled on every try: the old file stays."""
    keep_old(env, {"/endpoints": [(429, {"Retry-After": "1"}, "{}")] * 3},
             r"throttled by the service \(429\)", "--max-attempts", "3")
    check(len(env.svc.requests("/endpoints")) == 3, "3 attempts")


def retry_after_too_long(env):
    """A Retry-After beyond --max-wait fails at once rather than sleeping."""
    keep_old(env, {"/version": [(429, {"Retry-After": "3600"}, "{}")]},
             r"wait 3600 s, more than --max-wait 60", "--max-wait", "60")


def malformed(env):
    """Malformed JSON: the old file stays, the error says where."""
    keep_old(env, {"/endpoints": [(200, {}, '[{"id": 11, "serviceArea": "Skype", "ips": [')]},
             r"endpoints: the answer is not valid JSON \(line 1: .+\); file kept")


def malformed_version(env):
    keep_old(env, {"/version": [(200, {}, '{"instance": "Worldwide"}')]},
             r'version: no "latest" string in the answer; file kept')


def bad_prefix(env):
    bad = copy.deepcopy(env.svc.endpoints)
    bad[1]["ips"].append("52.999.0.0/14")
    keep_old(env, {"/endpoints": [(200, {}, json.dumps(bad))]},
             r"'52\.999\.0\.0/14' is not an address prefix; file kept")


def no_teams(env):
    """An answer without the Teams media set is refused, not written empty."""
    rest = [e for e in env.svc.endpoints if e["id"] != 11]
    keep_old(env, {"/endpoints": [(200, {}, json.dumps(rest))]},
             r"no Skype/Optimize set with UDP 3478-3481")


def tls_untrusted(env):
    """Without the test CA the server is not trusted: no retries, file kept."""
    keep_old(env, {}, r"certificate not trusted \(--ca-bundle\?\)", ca=False)
    check(env.svc.log == [], "no request completed over an untrusted connection")


def server_down(env):
    check(env.update().returncode == 0, "first run")
    before = env.read()
    env.svc.httpd.shutdown()
    env.svc.httpd.server_close()
    p = env.update("--max-attempts", "2")
    check(p.returncode == 1 and "giving up" in p.stderr, "exit 1, gives up after 2 attempts")
    check(env.read() == before, "old file kept")


def proxy(env):
    """https_proxy is honoured: both requests go through a CONNECT tunnel."""
    px = ConnectProxy()
    e = dict(env.env, https_proxy="http://127.0.0.1:%d" % px.server_address[1])
    p = env.update(env=e)
    check(p.returncode == 0, "exit 0 through the proxy")
    check(len(px.tunnels) >= 1 and all(t.startswith("CONNECT 127.0.0.1:") for t in px.tunnels),
          "tunnelled through the proxy (%d CONNECT)" % len(px.tunnels))
    check(len(env.prefixes()) == 4, "file written")


CASES = {f.__name__: f for f in (first_fetch, unchanged, changed_version, throttle_429,
                                  throttle_exhausted, retry_after_too_long, malformed,
                                  malformed_version, bad_prefix, no_teams, tls_untrusted,
                                  server_down, proxy)}


def main():
    collector, probe, capture, workdir, case = sys.argv[1:6]
    env = Env(collector, probe, capture, workdir, case)
    try:
        CASES[case](env)
    except AssertionError as e:
        print("FAIL: %s" % e)
        return 1
    print("PASS %s" % case)
    return 0


if __name__ == "__main__":
    sys.exit(main())
