#!/usr/bin/env python3
"""bench_noc_scale.py - the NOC API and dashboard on a month of a
20,000-person organisation (issue 13 "At scale", issue 15 item 4).

    bench_noc_scale.py [--build build-dev] [--dir /tmp/callscope-noc-scale]
                       [--calls 1050000] [--regenerate] [--runs 30]
                       [--no-dashboard] [--no-api] [--fresh 5] [--starts 5]
                       [--content-visibility on|off]
                       [--collector PATH] [--pg]

Generates the store with gen_noc_store.py unless DIR already holds one
(--regenerate replaces it), migrates it with the collector under test
('correlate', as 'run' does on start: a store made by an older collector
gets the newer verdict indexes here, and the time it takes is printed),
then starts 'callscope-collector serve' on loopback and times, one request
at a time, RUNS requests of each case (a timeline case asks for a
different call each time): p50, p95 and the largest, after one untimed
warm-up request per case (the first read of a cold store is printed apart).
Then the dashboard's main page in headless Chromium, driven through the
DevTools protocol: the time from navigation start (the page's own
performance.now()) until the page says "ready" (live panel, sites and the
call list loaded), three ways, each with p50, p95 and max of the wall time
and of serve's CPU per load: "fresh browser, running serve" (--fresh
loads, each in a new Chromium), the same browser again (RUNS / 3 loads,
at least 5), and "first load after serve starts" (--starts times: serve
restarted, the page asked for as soon as it listens; serve's CPU counted
from its start: start-up, its warm-up of the main page's answer, the
load; the warm-up's own time from serve's log). --no-api: the dashboard
only.
Goal (issue 13): every API case p95 under 200 ms, the page under 1 s.
"cpu ms" is serve's own CPU time (user + system, /proc, 10 ms ticks) per
request, averaged over the runs: on a shared machine the wall times carry
the wait for a core, the CPU time does not.
Before the fresh-browser loads, one load on the serve just started is
printed apart (the store's pages no request has read yet come from the
disk: the API cases' "cold" column), with how much of the store is in the
OS page cache (fincore).
The timeline and call-page cases ask for calls that have interval records
whatever the store's age: those that ended in the generator's last
--interval-hours before it made the store (bench_meta.generated_at), not
in the last hours before now. The migration on start also backfills the
site views' rollup (verdict_site_hours, collector/correlate/rollup.h) on a
store made before it: its time is printed (copy a store first to keep an
untouched one).
--pg (issue 16): then copies the store into a throw-away PostgreSQL
(tests/pg/pgserver.py; the verdict tables and the rollup made by
'correlate --db URI', the rows by 'store-migrate', both timed) and runs
the same API cases against 'serve --db postgresql://...'; a handler not
yet ported to PostgreSQL answers 501 there (printed as its status). The
live cases on PostgreSQL read the copy's interval records as they were
copied (feed_live writes to SQLite only). A month takes long to copy:
--calls N with a --dir of its own makes a smaller store for it.
Not a test: it prints figures; exit status 0 unless something failed to run.
"""
import argparse
import base64
import calendar
import json
import os
import random
import re
import shutil
import socket
import sqlite3
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench_buildings  # noqa: E402
import gen_noc_store  # noqa: E402


def proc_cpu(pid):
    """A process's CPU seconds so far (user + system, 10 ms ticks); 0 once gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(xs, p):
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))]


class Serve:
    def __init__(self, collector, d, extra=(), db=None, work=None):
        self.db = db or os.path.join(d, "collector.db")
        self.log = open(os.path.join(work or d, "serve.log"), "w+")
        self.p = subprocess.Popen(
            [collector, "serve", "--db", self.db, "--org-key",
             os.path.join(d, "org.key"), "--token-file", os.path.join(d, "noc.token"),
             "--bind", "127.0.0.1:0", "--no-syslog", "--alert-check", "3600"] + list(extra),
            stdout=self.log, stderr=self.log)
        with open(os.path.join(d, "noc.token")) as f:
            self.token = f.readline().strip()
        deadline = time.time() + 60
        while time.time() < deadline:
            self.log.seek(0)
            m = re.search(r"listening on port (\d+)", self.log.read())
            if m:
                self.port = int(m.group(1))
                return
            if self.p.poll() is not None:
                self.log.seek(0)
                sys.exit("serve exited: " + self.log.read())
            time.sleep(0.05)
        sys.exit("serve did not start")

    def cpu(self):
        """serve's CPU seconds so far (user + system, 10 ms ticks), on
        PostgreSQL with its server processes' (pg_backends)."""
        return sum(proc_cpu(p) for p in [self.p.pid] + self.pg_backends)

    pg_backends = []  # PostgreSQL: the server processes of serve's connections

    def get(self, path, timeout=60):
        """(status, seconds, bytes)."""
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.port, path),
                                     headers={"Authorization": "Bearer " + self.token})
        t = time.monotonic()
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                body = r.read()
                st = r.status
        except urllib.error.HTTPError as e:
            body = e.read()
            st = e.code
        return st, time.monotonic() - t, body

    def stop(self):
        if self.p.poll() is None:
            self.p.terminate()
            try:
                self.p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.p.kill()


def cases(db, runs):
    """[(name, [paths])]: the dashboard's requests and the API's filters."""
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    now = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    # the calls with interval records: those that ended in the generator's
    # last interval hours before it made the store, whatever its age now
    try:
        gen = con.execute("SELECT generated_at FROM bench_meta").fetchone()[0]
    except sqlite3.OperationalError:
        gen = time.time()
    at = lambda t: time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t))  # noqa: E731
    recent = [r[0] for r in con.execute(
        "SELECT call_id FROM verdict_calls WHERE \"end\" >= ? AND \"end\" <= ?"
        " AND source <> 'cloud-only' ORDER BY random() LIMIT ?",
        (at(gen - 2.5 * 3600), at(gen), runs))]
    older = [r[0] for r in con.execute(
        "SELECT call_id FROM verdict_calls WHERE \"end\" < ? ORDER BY random() LIMIT ?",
        (at(gen - 4 * 3600), runs))]
    site = con.execute("SELECT site FROM verdict_calls WHERE site IS NOT NULL LIMIT 1").fetchone()[0]
    con.close()
    client = "10.0.3.7"  # one of the generator's 20,000 people (10.i/65536.i/256.i)
    rep = lambda p: [p] * runs  # noqa: E731
    return [
        ("calls: dashboard default (since=24h)", rep("/api/calls?since=24h")),
        ("calls: no parameters", rep("/api/calls")),
        ("calls: since=30d&verdict=lan", rep("/api/calls?since=30d&verdict=lan")),
        ("calls: since=24h&site=S", rep("/api/calls?since=24h&site=" + site)),
        ("calls: since=30d&site=S&verdict=wan", rep("/api/calls?since=30d&site=%s&verdict=wan" % site)),
        ("calls: since=30d&client=IP", rep("/api/calls?since=30d&client=" + client)),
        ("calls: offset=5000", rep("/api/calls?since=30d&offset=5000")),
        ("sites: since=24h (main page)", rep("/api/sites?since=24h")),
        ("sites: since=30d", rep("/api/sites?since=30d")),
        ("site summary: since=24h", rep("/api/sites/%s?since=24h&bucket=3600" % site)),
        ("site summary: since=7d", rep("/api/sites/%s?since=7d&bucket=21600" % site)),
        ("site summary: since=30d", rep("/api/sites/%s?since=30d&bucket=86400" % site)),
        ("call timeline: with intervals", ["/api/calls/%s/timeline" % c for c in recent]),
        ("call timeline: older (no intervals)", ["/api/calls/%s/timeline" % c for c in older]),
        ("call page: /api/calls/ID", ["/api/calls/%s" % c for c in recent]),
        ("live", rep("/api/live")),
        ("live: site=S", rep("/api/live?site=" + site)),
        ("live: building=B", rep("/api/live?building=" + urllib.parse.quote(BUILDING))),
        ("live: offset=1000&limit=100", rep("/api/live?offset=1000&limit=100")),
        ("clients: since=24h", rep("/api/clients?since=24h&limit=100")),
        # a different instant each time: made, not served from the kept answer
        ("buildings: since=24h, made each time",
         ["/api/buildings?since=%sZ" % at(time.time() - 86400 + i) for i in range(runs)]),
    ], now


def bench_api(srv, db, runs, only=None, feed=True):
    print("\n%-40s %4s %8s %8s %8s %8s %8s  %s" % ("case", "n", "p50 ms", "p95 ms", "max ms",
                                                  "cold ms", "cpu ms", "status / size"))
    worst95 = {}
    todo, _ = cases(db, runs)
    for name, paths in todo:
        if only and not re.search(only, name):
            continue
        if name.startswith("live") and paths and feed:
            feed() if callable(feed) else feed_live(db)
        if not paths:
            print("%-40s (no data for it)" % name)
            continue
        st, cold, body = srv.get(paths[0])
        times, codes, size = [], set(), len(body)
        cpu0 = srv.cpu()
        for p in paths:
            st, dt, body = srv.get(p)
            times.append(dt)
            codes.add(st)
        cpu = (srv.cpu() - cpu0) / len(paths)
        p95 = pct(times, 95)
        worst95[name] = p95
        print("%-40s %4d %8.1f %8.1f %8.1f %8.1f %8.1f  %s %d B%s" %
              (name, len(times), pct(times, 50) * 1e3, p95 * 1e3, max(times) * 1e3, cold * 1e3,
               cpu * 1e3,
               "/".join(str(c) for c in sorted(codes)), size,
               "  OVER 200 ms" if p95 >= 0.2 else ""), flush=True)
    return worst95


# ---- the dashboard in headless Chromium, through the DevTools protocol -------------------

class WebSocket:
    """Just enough of RFC 6455 for the DevTools protocol on loopback."""

    def __init__(self, url):
        m = re.match(r"ws://([^:/]+):(\d+)(/.*)", url)
        self.s = socket.create_connection((m.group(1), int(m.group(2))), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.s.sendall(("GET %s HTTP/1.1\r\nHost: %s:%s\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                        "Sec-WebSocket-Version: 13\r\n\r\n" %
                        (m.group(3), m.group(1), m.group(2), key)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.s.recv(1)
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise RuntimeError("websocket: " + head.decode(errors="replace"))
        self.next_id = 0
        self.events = []

    def _read(self, n):
        b = b""
        while len(b) < n:
            c = self.s.recv(n - len(b))
            if not c:
                raise RuntimeError("websocket closed")
            b += c
        return b

    def send(self, obj):
        data = json.dumps(obj).encode()
        mask = os.urandom(4)
        n = len(data)
        hdr = struct.pack("!B", 0x81)
        if n < 126:
            hdr += struct.pack("!B", 0x80 | n)
        elif n < 65536:
            hdr += struct.pack("!BH", 0x80 | 126, n)
        else:
            hdr += struct.pack("!BQ", 0x80 | 127, n)
        self.s.sendall(hdr + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def recv(self):
        msg = b""
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._read(8))[0]
            msg += self._read(n)
            if b0 & 0x80:
                return json.loads(msg)

    def call(self, method, **params):
        self.next_id += 1
        self.send({"id": self.next_id, "method": method, "params": params})
        while True:
            r = self.recv()
            if "method" in r and "id" not in r:
                self.events.append(r)  # Network.* etc., read by waterfall()
                continue
            if r.get("id") == self.next_id:
                if "error" in r:
                    raise RuntimeError("%s: %s" % (method, r["error"]))
                return r.get("result", {})


READY_JS = ("(() => { const s = document.getElementById('status');"
            " return JSON.stringify([s ? s.dataset.state : null, performance.now(),"
            " document.querySelectorAll('#calls tbody tr, table tbody tr').length,"
            " s ? s.textContent : '']); })()")


def waterfall(events):
    """The page load's requests from the DevTools Network events: [(path,
    start, headers, end, bytes, from_cache)], ms after the document's
    request; the page's own work shows as the gaps between them."""
    reqs, t0 = {}, None
    for e in events:
        m, p = e["method"], e.get("params", {})
        rid = p.get("requestId")
        if m == "Network.requestWillBeSent":
            if t0 is None and p.get("type") == "Document":
                t0 = p["timestamp"]
            reqs[rid] = {"url": p["request"]["url"], "start": p["timestamp"], "hdr": None,
                         "end": None, "bytes": 0, "cached": False}
        elif rid in reqs and m == "Network.responseReceived":
            tm = p["response"].get("timing")
            if tm:
                reqs[rid]["hdr"] = tm["requestTime"] + tm["receiveHeadersEnd"] / 1e3
            reqs[rid]["cached"] = bool(p["response"].get("fromDiskCache") or
                                       p["response"].get("fromMemoryCache"))
        elif rid in reqs and m == "Network.requestServedFromCache":
            reqs[rid]["cached"] = True
        elif rid in reqs and m in ("Network.loadingFinished", "Network.loadingFailed"):
            reqs[rid]["end"] = p["timestamp"]
            reqs[rid]["bytes"] = p.get("encodedDataLength", 0)
    if t0 is None:
        return []
    ms = lambda t: (t - t0) * 1e3 if t else float("nan")  # noqa: E731
    out = []
    for r in reqs.values():
        u = urllib.parse.urlsplit(r["url"])
        if u.scheme not in ("http", "https"):
            continue
        path = u.path + ("?" + u.query if u.query else "")
        out.append((path, ms(r["start"]), ms(r["hdr"]), ms(r["end"]), r["bytes"], r["cached"]))
    return sorted(out, key=lambda x: x[1])


def print_waterfall(title, wf, ready_ms, perf):
    print("  %s: ready at %.0f ms; the page's main thread: script %.0f ms, layout %.0f ms,"
          " style %.0f ms, all tasks %.0f ms" % (title, ready_ms, perf.get("ScriptDuration", 0) * 1e3,
                                                   perf.get("LayoutDuration", 0) * 1e3,
                                                   perf.get("RecalcStyleDuration", 0) * 1e3,
                                                   perf.get("TaskDuration", 0) * 1e3))
    print("    %-58s %7s %7s %7s %8s" % ("request (ms after the document's)", "sent", "headers",
                                         "done", "bytes"))
    for path, st, hd, en, n, cached in wf:
        print("    %-58s %7.0f %7.0f %7.0f %8d%s" % (path[:58], st, hd, en, n,
                                                    " (cache)" if cached else ""))


class Chrome:
    """A headless Chromium of its own (a fresh profile), driven through the
    DevTools protocol."""

    def __init__(self, exe, workdir, cv_off=False):
        self.exe = exe
        self.prof = tempfile.mkdtemp(prefix="chrome-", dir=workdir)
        self.p = subprocess.Popen(
            [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
             "--no-first-run", "--disable-extensions", "--disable-background-networking",
             "--disable-sync", "--disable-component-update", "--user-data-dir=" + self.prof,
             "--proxy-server=direct://", "--proxy-bypass-list=*", "--window-size=1600,1000",
             "--remote-debugging-port=0", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            start_new_session=True)  # its helpers in its group: close() ends them all
        port = None
        deadline = time.time() + 60
        while time.time() < deadline and port is None:
            line = self.p.stderr.readline()
            m = re.search(r"DevTools listening on ws://[^:]+:(\d+)/", line)
            if m:
                port = int(m.group(1))
            elif not line and self.p.poll() is not None:
                break
        if port is None:
            self.close()
            sys.exit("chromium did not start")
        threading.Thread(target=lambda: [None for _ in self.p.stderr], daemon=True).start()
        targets = json.load(urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port))
        page = next(t for t in targets if t["type"] == "page")
        self.ws = WebSocket(page["webSocketDebuggerUrl"])
        self.ws.call("Network.enable")
        self.ws.call("Performance.enable")
        if cv_off:
            self.ws.call("Page.enable")
            self.ws.call("Page.setBypassCSP", enabled=True)  # serve's CSP: no inline style
            self.ws.call("Page.addScriptToEvaluateOnNewDocument", source=CV_OFF_JS)

    def load(self, srv, keep_waterfall=False):
        """One load of the main page: {ms, cpu (serve's, s), rows, state,
        text, shown}; ms is inf when it did not get to "ready"."""
        ws = self.ws
        ws.call("Page.navigate", url="about:blank")
        time.sleep(0.2)
        perf0 = {m["name"]: m["value"] for m in ws.call("Performance.getMetrics")["metrics"]}
        ws.events.clear()
        cpu0 = srv.cpu()
        ws.call("Page.navigate", url="http://127.0.0.1:%d/#token=%s" % (srv.port, srv.token))
        t_end = time.monotonic() + 30
        state, ms, rows, text = None, 0, 0, ""
        while time.monotonic() < t_end:
            v = ws.call("Runtime.evaluate", expression=READY_JS, returnByValue=True)
            state, ms, rows, text = json.loads(v["result"]["value"])
            if state in ("ready", "error"):
                break
            time.sleep(0.005)
        out = {"ms": ms, "cpu": srv.cpu() - cpu0, "rows": rows, "state": state, "text": text,
               "shown": None, "layout": None}
        if state == "ready":
            # the main thread's layout time of this load so far (a new
            # renderer for the page starts at 0)
            lay = {m["name"]: m["value"] for m in ws.call("Performance.getMetrics")["metrics"]}
            l0 = perf0.get("LayoutDuration", 0)
            l1 = lay.get("LayoutDuration", 0)
            out["layout"] = (l1 - l0 if l1 >= l0 else l1) * 1e3
            out["cv"] = ws.call("Runtime.evaluate", expression=CV_JS,
                                returnByValue=True)["result"].get("value")
        if state != "ready":
            # counted and shown, then the next load (the first error used to
            # end the bench: no warm figures on a loaded machine)
            print("\ndashboard: page state %s (%s) after %.1f s" % (state, text, ms / 1e3))
            time.sleep(0.3)
            ws.call("Runtime.evaluate", expression="1")
            print_waterfall("that load", waterfall(ws.events), ms, {})
            out["ms"] = float("inf")
        elif keep_waterfall:
            time.sleep(0.3)  # the last loadingFinished events
            ws.call("Runtime.evaluate", expression="1")
            # cumulative per renderer; a new one for the page starts at 0
            perf = {m["name"]: m["value"] - perf0.get(m["name"], 0)
                    if m["value"] >= perf0.get(m["name"], 0) else m["value"]
                    for m in ws.call("Performance.getMetrics")["metrics"]}
            out["shown"] = (waterfall(ws.events), ms, perf)
        return out

    def close(self):
        # the whole group: a renderer or zygote left behind kept writing
        # into the profile, and its folder stayed in --dir
        try:
            os.killpg(self.p.pid, 9)
        except ProcessLookupError:
            pass
        self.p.wait()
        for _ in range(50):
            shutil.rmtree(self.prof, ignore_errors=True)
            if not os.path.exists(self.prof):
                break
            time.sleep(0.1)


def load_line(title, loads, cpu_title="serve's CPU per load"):
    """One kind of load's figures: p50, p95, max of the wall time to
    "ready" and of serve's CPU; returns the p95 (inf with an error)."""
    ms = [x["ms"] for x in loads]
    cpu = [x["cpu"] for x in loads]
    errors = sum(1 for x in ms if x == float("inf"))
    p95 = pct(ms, 95)
    print("  %s: %d load(s): p50 %.0f ms, p95 %.0f ms, max %.0f ms%s" %
          (title, len(ms), pct(ms, 50), p95, max(ms), "  OVER 1 s" if p95 >= 1000 else ""))
    print("    %s (10 ms ticks): p50 %.0f ms, p95 %.0f ms, max %.0f ms; in error: %d" %
          (cpu_title, pct(cpu, 50) * 1e3, pct(cpu, 95) * 1e3, max(cpu) * 1e3, errors))
    lay = [x["layout"] for x in loads if x.get("layout") is not None]
    if lay:
        print("    the page's layout until ready: p50 %.0f ms, p95 %.0f ms (call list's"
              " content-visibility: %s)" % (pct(lay, 50), pct(lay, 95),
                                             ", ".join(sorted({str(x.get("cv")) for x in loads}))))
    return p95 / 1e3


def warm_up_ms(srv, secs):
    """The start-up's warm-up time from serve's log ("noc: warm-up: ... made
    in N ms"), waiting up to secs for it; None when not logged (a collector
    without the warm-up)."""
    deadline = time.monotonic() + secs
    while True:
        srv.log.seek(0)
        m = re.search(r"warm-up: /api/buildings\S* made in (\d+) ms", srv.log.read())
        if m or time.monotonic() >= deadline:
            return int(m.group(1)) if m else None
        time.sleep(0.1)


# --content-visibility off: every element rendered as without the
# stylesheet's content-visibility (the panels below the fold laid out at
# once), to measure what it saves
CV_OFF_JS = """(function () {
  function put() {
    var s = document.createElement('style');
    s.textContent = '* { content-visibility: visible !important; }';
    (document.head || document.documentElement).appendChild(s);
  }
  if (document.documentElement) put();
  else new MutationObserver(function (m, o) {
    if (document.documentElement) { o.disconnect(); put(); }
  }).observe(document, {childList: true});
})();"""
CV_JS = ("(function () { var e = document.getElementById('calls-panel');"
         " return e ? getComputedStyle(e).contentVisibility : 'no panel'; })()")


def bench_dashboard(srv, runs, workdir, restart, fresh=5, starts=5, cv_off=False):
    """The main page three ways (issue 13): a fresh browser on a running
    serve (fresh times, each a new Chromium), then runs loads in that
    browser, then the first load after serve starts (starts times: serve
    restarted, the page asked for as soon as it listens, in the open
    browser; serve's CPU counted from its start: start-up, warm-up and the
    load). Returns (the worst p95 in seconds, the serve now running)."""
    exe = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")
                if shutil.which(n)), None)
    if not exe:
        print("\ndashboard: skipped, chromium not installed")
        return None, srv
    version = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.strip()
    # a running serve: the main page's kept answer and the live look-back
    # made (by the API cases, or here when they did not run)
    srv.get("/api/buildings?since=24h")
    srv.get("/api/live?limit=1")
    load = os.getloadavg()
    print("\ndashboard main page in headless Chromium %s (navigation start to \"ready\":"
          " live panel, sites, call list); load average %.1f %.1f %.1f" % ((version,) + load))
    cached = resident(srv.db)
    if cached:
        print("  the store's pages in the OS page cache: %s" % cached)
    cold, shown = [], []
    chrome = None
    try:
        # the first load on this serve: the store's pages that no request
        # has read yet come from the disk (a store just made or copied, a
        # machine just started): printed apart, as the API cases' "cold"
        chrome = Chrome(exe, workdir, cv_off)
        x = chrome.load(srv)
        print("  first load on this serve (not in the figures below): %s at %.0f ms, serve's"
              " CPU %.0f ms" % (x["state"], x["ms"], x["cpu"] * 1e3))
        for i in range(fresh):
            if chrome:
                chrome.close()
            chrome = Chrome(exe, workdir, cv_off)
            cold.append(chrome.load(srv, keep_waterfall=i == 0))
        warm = [chrome.load(srv, keep_waterfall=i == runs - 1) for i in range(runs)]
        first = []
        for i in range(starts):
            feed_live(srv.db)  # the probes keep sending while serve restarts
            srv.stop()
            srv = restart()
            x = chrome.load(srv, keep_waterfall=i == 0)
            x["cpu"] = srv.cpu()  # since its start
            x["warm_up_ms"] = warm_up_ms(srv, 5)
            first.append(x)
        rows = warm[-1]["rows"] if warm else 0
        print("  (%d call rows; waits for a core included in the wall times, not in the CPU)"
              % rows)
        worst = max(load_line("fresh browser, running serve", cold),
                    load_line("the same browser again, running serve", warm),
                    load_line("first load after serve starts (page asked at once)", first,
                              "serve's CPU from its start to ready"))
        made = [x["warm_up_ms"] for x in first if x["warm_up_ms"] is not None]
        if made:
            print("    serve's start-up warm-up (/api/buildings?since=24h) made in: p50 %d ms,"
                  " max %d ms (from its log)" % (pct(made, 50), max(made)))
        else:
            print("    no warm-up logged (a collector without it)")
        print("  load average after: %.1f %.1f %.1f" % os.getloadavg())
        for title, loads in (("fresh browser (first)", cold), ("same browser (last)", warm),
                             ("first load after serve starts (first)", first)):
            sh = next((x["shown"] for x in loads if x["shown"]), None)
            if sh:
                print_waterfall(title, *sh)
        return worst, srv
    finally:
        if chrome:
            chrome.close()


def resident(path):
    """How much of a file is in the OS page cache (util-linux fincore), as
    "R of S"; None without fincore."""
    if not shutil.which("fincore"):
        return None
    r = subprocess.run(["fincore", "--bytes", "--noheadings", "--output", "RES,SIZE", path],
                       capture_output=True, text=True)
    f = r.stdout.split()
    if r.returncode != 0 or len(f) != 2:
        return None
    return "%.1f of %.1f GB" % (int(f[0]) / 1e9, int(f[1]) / 1e9)


LIVE_STREAMS = []  # the generator's live streams, read once (feed_live)


LIVE_FED = []  # the end (epoch s) of the newest interval fed to the live streams
LIVE_LOOKBACK_S = 300  # NOC_LIVE_LOOKBACK_S (collector/noc/noc_api.h)


def feed_live(db):
    """The probes' side of the calls in progress: the interval records
    (10 s each, on a 10 s grid, the newest ending at most 10 s ago) that
    each of the generator's live streams has sent since the last feed, at
    most the live look-back's 300 s of them (the first feed of a run fills
    it), as their probes would have sent them: one record per stream per
    10 s, so the look-back holds what 1,500 calls in progress make (6,000
    streams x 30 = 180,000 records), however often the bench feeds (each
    feed used to add a whole minute: the look-back held 48,000 records at
    the first load and 3-4 times 180,000 after the API cases). Run before
    the live cases and the dashboard: /api/live counts a stream only while
    its records keep arriving (docs/noc.md)."""
    t = time.monotonic()
    con = sqlite3.connect(db)
    if not LIVE_STREAMS:
        first = con.execute("SELECT first_live_interval FROM bench_meta").fetchone()[0]
        LIVE_STREAMS.extend(con.execute(
            "SELECT probe_id, site, src_port, dst_port, ssrc, direction, packets, lost, loss_pct,"
            " jitter_ms_max, src_ip_hmac, dst_ip_hmac, src_ip_enc, dst_ip_enc, record"
            " FROM intervals WHERE id >= ?"
            " GROUP BY ssrc, src_port, dst_port", (first,)))
        newest = con.execute("SELECT max(\"end\") FROM intervals WHERE id >= ?",
                             (first,)).fetchone()[0]
        LIVE_FED.append(calendar.timegm(time.strptime(newest[:19], "%Y-%m-%dT%H:%M:%S"))
                        if newest else 0)
    now = time.time()
    grid = int(now) // 10 * 10
    ends = [grid - 10 * k for k in range(LIVE_LOOKBACK_S // 10 - 1, -1, -1)
            if grid - 10 * k > LIVE_FED[0]]
    if ends:
        LIVE_FED[0] = ends[-1]
    iso = lambda x: time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(x))  # noqa: E731
    rows = [(s[0], s[1], iso(min(e + 1, now)), iso(e - 10), iso(e)) + s[2:]
            for e in ends for s in LIVE_STREAMS]
    con.executemany(
        "INSERT INTO intervals(probe_id, site, received, start, \"end\", src_port, dst_port,"
        " ssrc, direction, packets, lost, loss_pct, jitter_ms_max, src_ip_hmac, dst_ip_hmac,"
        " src_ip_enc, dst_ip_enc, record) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    con.commit()
    con.close()
    print("  (fed %d interval records of %d streams in progress, the newest ending %.0f s ago,"
          " in %.1f s)" % (len(rows), len(LIVE_STREAMS), now - LIVE_FED[0],
                           time.monotonic() - t), flush=True)


BUILDING = "Building 00001"  # bench_buildings.make_file's: 10.0.64-127.0/24, 3,616 of the people


def import_buildings(collector, d, db):
    """A tenant's CQD building file of 50,000 networks (bench_buildings.py's,
    which maps the generator's people 10.0.0.0-10.0.78.255 to four buildings)
    into the store, unless it has a map: the live rollup per building and its
    filter read it on every request."""
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    try:
        n = con.execute("SELECT count(*) FROM buildings").fetchone()[0]
    except sqlite3.OperationalError:
        n = 0
    con.close()
    if n:
        return
    path = os.path.join(d, "buildings.csv")
    bench_buildings.make_file(path, 50000)
    t = time.monotonic()
    gen_noc_store.run([collector, "buildings-import", path, "--db", db])
    print("imported a building file of 50,000 networks in %.1f s" % (time.monotonic() - t))


LIVE_FED_PG = []  # feed_live's LIVE_FED, for the PostgreSQL copy


def feed_live_pg(pg, db):
    """feed_live on the PostgreSQL copy: the interval records each live
    stream has sent since the last feed (one per 10 s on a 10 s grid, at
    most the 300 s look-back), made on the server from the stream's newest
    copied record, its times moved to the grid's."""
    t = time.monotonic()
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    first = con.execute("SELECT first_live_interval FROM bench_meta").fetchone()[0]
    con.close()
    if not LIVE_FED_PG:
        newest = pg.scalar("SELECT max(\"end\") FROM intervals WHERE id >= %d" % first)
        LIVE_FED_PG.append(calendar.timegm(time.strptime(newest[:19], "%Y-%m-%dT%H:%M:%S"))
                           if newest and newest != "" else 0)
    now = time.time()
    grid = int(now) // 10 * 10
    ends = [grid - 10 * k for k in range(LIVE_LOOKBACK_S // 10 - 1, -1, -1)
            if grid - 10 * k > LIVE_FED_PG[0]]
    if not ends:
        print("  (fed 0 interval records into PostgreSQL)", flush=True)
        return
    LIVE_FED_PG[0] = ends[-1]
    iso = lambda x: time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime(x))  # noqa: E731
    times = ", ".join("('%s', '%s', '%s')" % (iso(min(e + 1, now)), iso(e - 10), iso(e))
                      for e in ends)
    n = pg.scalar(
        "WITH s AS (SELECT DISTINCT ON (ssrc, src_port, dst_port) * FROM intervals WHERE id >= %d"
        " ORDER BY ssrc, src_port, dst_port, id DESC), i AS (INSERT INTO intervals(probe_id, site,"
        " received, start, \"end\", src_port, dst_port, ssrc, direction, packets, lost, loss_pct,"
        " jitter_ms_max, src_ip_hmac, dst_ip_hmac, src_ip_enc, dst_ip_enc, record)"
        " SELECT probe_id, site, k.r, k.s, k.e, src_port, dst_port, ssrc, direction, packets, lost,"
        " loss_pct, jitter_ms_max, src_ip_hmac, dst_ip_hmac, src_ip_enc, dst_ip_enc, record"
        " FROM s CROSS JOIN (VALUES %s) AS k(r, s, e) RETURNING 1) SELECT count(*) FROM i"
        % (first, times))
    print("  (fed %s interval records of the streams in progress into PostgreSQL, the newest"
          " ending %.0f s ago, in %.1f s)" % (n, now - ends[-1], time.monotonic() - t), flush=True)


class GivenPg:
    """--pg-uri: a database of the user's (kept at the end)."""

    def __init__(self, uri):
        self.uri = uri

    def psql(self, sql):
        r = subprocess.run(["psql", "-X", "-q", "-At", "-F", "\x1f", "-v", "ON_ERROR_STOP=1",
                            self.uri, "-c", sql], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("psql: %s: %s" % (sql[:80], r.stderr.strip()))
        return r

    def query(self, sql):
        return [l.split("\x1f") for l in self.psql(sql).stdout.splitlines()]

    def scalar(self, sql):
        rows = self.query(sql)
        return rows[0][0] if rows else None

    def stop(self):
        pass


def bench_pg(collector, a, db):
    """The same API cases on a PostgreSQL copy of the store (issue 16)."""
    sys.path.insert(0, os.path.join(HERE, "..", "tests", "pg"))
    import pgserver  # noqa: E402
    try:
        # a month takes minutes to copy: --pg-uri keeps the copy for the next run
        pg = GivenPg(a.pg_uri) if a.pg_uri else pgserver.start(private=True)
    except RuntimeError as e:
        print("\nPostgreSQL: skipped (%s)" % e)
        return
    try:
        if not a.pg_reuse:
            copy_to_pg(collector, a, db, pg)
        srv = Serve(collector, a.dir, db=pg.uri, work=a.work,
                    extra=["--audit-log", os.path.join(a.work, "audit-pg.log")])
        try:
            # the server processes of serve's connections (same machine): their
            # CPU is counted with serve's in "cpu ms" (the queries run there)
            srv.get("/api/live")
            srv.pg_backends = [int(x[0]) for x in pg.query(
                "SELECT pid FROM pg_stat_activity WHERE application_name = 'callscope-noc'")]
            print("PostgreSQL: serve --db postgresql://... (cpu ms: serve and its %d server"
                  " processes; 501: a handler not ported yet)" % len(srv.pg_backends))
            bench_api(srv, db, a.runs, a.only, feed=lambda: feed_live_pg(pg, db))
        finally:
            srv.stop()
    finally:
        pg.stop()


def copy_to_pg(collector, a, db, pg):
    """The verdict tables made by 'correlate --db URI', the rows copied by
    store-migrate, then VACUUM ANALYZE; each timed."""
    key = os.path.join(a.dir, "org.key")
    t = time.monotonic()
    gen_noc_store.run([collector, "correlate", "--db", pg.uri, "--org-key", key,
                       "--since", "60s"])
    print("\nPostgreSQL %s: verdict tables and rollup made in %.1f s" %
          (pg.scalar("SHOW server_version"), time.monotonic() - t), flush=True)
    t = time.monotonic()
    c0 = os.times()
    # its progress (rows/s per table and in all) to a log beside the store
    log = os.path.join(a.work, "store-migrate.log")
    with open(log, "w") as f:
        r = subprocess.run([collector, "store-migrate", "--from", db, "--to", pg.uri],
                           stdout=f, stderr=f)
    if r.returncode != 0:
        sys.exit("store-migrate failed (exit %d): see %s" % (r.returncode, log))
    c1 = os.times()
    rows = pg.scalar("SELECT sum(rows) FROM store_migrate_marks")
    wall = time.monotonic() - t
    q = "SELECT count(*), sum(calls) FROM verdict_site_hours"
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    lite = "%d|%d" % con.execute(q).fetchone()
    con.close()
    on_pg = "|".join(pg.query(q)[0])
    print("copied the store (store-migrate): %s rows in %.1f s, %.0f rows/s (store-migrate"
          " CPU %.1f s; progress in %s); rollup rows|calls %s, SQLite's %s: %s" %
          (rows, wall, int(rows) / wall,
           (c1.children_user + c1.children_system) - (c0.children_user + c0.children_system),
           log, on_pg, lite, "equal" if on_pg == lite else "DIFFERENT"), flush=True)
    t = time.monotonic()
    pg.psql("VACUUM ANALYZE")  # as autovacuum would after a bulk load
    print("VACUUM ANALYZE in %.1f s; database %s" %
          (time.monotonic() - t, pg.scalar("SELECT pg_size_pretty(pg_database_size("
                                           "current_database()))")), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(HERE, "..", "build-dev"))
    ap.add_argument("--collector", help="the collector to measure (default: BUILD's)")
    ap.add_argument("--dir", default=os.path.join(tempfile.gettempdir(), "callscope-noc-scale"))
    ap.add_argument("--calls", type=int, default=1050000)
    ap.add_argument("--interval-hours", type=float, default=3.0)
    ap.add_argument("--live-calls", type=int, default=1500)
    ap.add_argument("--regenerate", action="store_true")
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--no-dashboard", action="store_true")
    ap.add_argument("--no-api", action="store_true", help="the dashboard's loads only")
    ap.add_argument("--fresh", type=int, default=5,
                    help="dashboard loads each in a fresh browser, serve running (default 5)")
    ap.add_argument("--starts", type=int, default=5,
                    help="dashboard first loads each after a restart of serve (default 5)")
    ap.add_argument("--content-visibility", choices=("on", "off"), default="on",
                    help="off: the dashboard's panels rendered as without the stylesheet's"
                    " content-visibility (forced visible in the browser), to measure its saving")
    ap.add_argument("--only", help="the API cases whose name matches this regular expression")
    ap.add_argument("--pg", action="store_true",
                    help="also copy the store into a throw-away PostgreSQL and run the API"
                    " cases there")
    ap.add_argument("--pg-only", action="store_true", help="--pg without the SQLite cases")
    ap.add_argument("--no-migrate", action="store_true",
                    help="serve the store as it is (measure an older schema)")
    ap.add_argument("--pg-uri", help="with --pg or --pg-only: copy into this database (kept;"
                    " store-migrate resumes, so a second run copies only what is new) instead of"
                    " a throw-away server")
    ap.add_argument("--pg-reuse", action="store_true",
                    help="with --pg-uri: the database holds the copy already (no copy, no VACUUM)")
    ap.add_argument("--work", help="where the bench writes its logs (default: DIR); with"
                    " --pg-only and --no-migrate the store in DIR is only read, never written")
    a = ap.parse_args()
    collector = a.collector or os.path.join(a.build, "collector", "callscope-collector")
    fixture = os.path.join(a.build, "tests", "noc", "noc_fixture")
    db = os.path.join(a.dir, "collector.db")
    a.work = a.work or a.dir
    os.makedirs(a.work, exist_ok=True)
    if a.pg_only and a.no_migrate and os.path.exists(db):
        # the SQLite store read only (others may be serving it): copied, and the
        # live streams fed on the PostgreSQL side (feed_live_pg)
        print("store %s (read only)" % db)
        print("machine: %d cores, load average %.1f" % (os.cpu_count(), os.getloadavg()[0]))
        bench_pg(collector, a, db)
        return
    if a.regenerate or not os.path.exists(db):
        gen_noc_store.generate(collector, fixture, a.dir, a.calls, a.interval_hours, a.live_calls)
    if not a.no_migrate:
        t = time.monotonic()
        gen_noc_store.run([collector, "correlate", "--db", db, "--org-key",
                           os.path.join(a.dir, "org.key"), "--since", "60s"])
        print("migrated (correlate on the store: new verdict indexes, the site views' rollup"
              " backfilled when missing) in %.1f s" % (time.monotonic() - t))
    import_buildings(collector, a.dir, db)
    feed_live(db)  # reads the live streams once, before serve starts
    con = sqlite3.connect("file:%s?mode=ro" % db, uri=True)
    counts = {t: con.execute("SELECT count(*) FROM %s" % t).fetchone()[0]
              for t in ("verdict_calls", "verdict_participants", "verdict_streams", "streams",
                        "intervals")}
    ver = con.execute("SELECT version FROM migrations WHERE component = 'verdict'").fetchone()
    con.close()
    print("store %s: %.2f GB, verdict schema %s; %s" %
          (db, os.path.getsize(db) / 1e9, ver[0] if ver else "?",
           ", ".join("%s %d" % kv for kv in counts.items())))
    print("machine: %d cores, load average %.1f" % (os.cpu_count(), os.getloadavg()[0]))
    api, dash = {}, None
    srv = Serve(collector, a.dir, work=a.work) if not a.pg_only else None
    try:
        if srv and not a.no_api:
            api = bench_api(srv, db, a.runs, a.only)
        if srv and not a.no_dashboard:
            feed_live(db)
            dash, srv = bench_dashboard(srv, max(5, a.runs // 3), a.dir,
                                        lambda: Serve(collector, a.dir, work=a.work),
                                        a.fresh, a.starts, a.content_visibility == "off")
    finally:
        if srv:
            srv.stop()
    if a.pg or a.pg_only:
        bench_pg(collector, a, db)
    over = [n for n, v in api.items() if v >= 0.2]
    print("\nAPI cases with p95 at or over 200 ms: %s" % (", ".join(over) if over else "none"))
    if dash is not None:
        print("dashboard main page: %s" % ("under 1 s" if dash < 1.0 else "OVER 1 s"))


if __name__ == "__main__":
    main()
