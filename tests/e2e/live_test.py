#!/usr/bin/env python3
"""End to end, calls in progress: live_test.py BUILD_DIR SOURCE_DIR

callscope-probe measures pcaps/verdict_wan.pcap (inbound loss of about 5 %
at the probe from the start) with --interval 5 into a saved --json file;
its records are then sent to a running `callscope-collector run` paced, a
few seconds apart, one interval window at a time (`--from-jsonl`), the
stream records last, as a live probe sends them during and at the end of
a call. The collector runs with --live-hold 5: with 5 s intervals a
stream stays live 2.5 intervals (12.5 s) after its last record, not the
default 30 s. While the records arrive, the collector's /api/live must count the
call in progress at its site, degraded on the WAN side, with a provisional
'wan' verdict before any verdict of the ended call exists; once the stream
records are in, the ended call's timeline must show the loss in the
inbound stream's intervals (not the outbound's), its verdict history the
wire verdict, and the live panel must empty when the records stop; the
site's WAN alert (live_wan, here at one call) must fire while the loss
lasts and resolve after it.
Exit 0 pass, 1 fail.
"""
import json
import os
import re
import shutil
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import cs_testlib  # noqa: E402

BUILD, SRC = sys.argv[1], sys.argv[2]
PROBE = os.path.join(BUILD, "probe", "callscope-probe")
COLLECTOR = os.path.join(BUILD, "collector", "callscope-collector")
PCAP = os.path.join(SRC, "pcaps", "verdict_wan.pcap")
TMP = tempfile.mkdtemp(prefix="cs-e2e-live-")
TOKEN = "e2e-live-token-0123456789abcdef"
SITE = "site-hq"
PROCS = []


def fail(msg):
    print("FAIL:", msg)
    for p in PROCS:
        if p.poll() is None:
            p.kill()
    print("(work directory kept: %s)" % TMP)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)
    print("ok:", msg)


def path(*p):
    return os.path.join(TMP, *p)


run = cs_testlib.run
HTTP_PORT = cs_testlib.free_port()


def api(url_path):
    return cs_testlib.api(HTTP_PORT, TOKEN, url_path)


def setup():
    err = cs_testlib.keys(COLLECTOR, TMP)
    check(err is None, "keys of the collector and the probe, the organisation key (%s)" % err)
    cs_testlib.token_file(path("noc.token"), TOKEN)


def start_collector(endpoint):
    args = [COLLECTOR, "run", "-v", "--bind", endpoint, "--key", path("keys", "collector.key"),
            "--authorized-keys", path("probes.d"), "--db", path("store.db"),
            "--org-key", path("keys", "org.key"), "--stats", "0", "--correlate-interval", "1",
            "--http-bind", "127.0.0.1:%d" % HTTP_PORT, "--http-token-file", path("noc.token"),
            # the live site alerts: one call is enough here, checked every second
            # over the last 15 s of interval records
            "--alert-check", "1", "--alert-live-calls", "1", "--alert-live-window", "15",
            # a call leaves the live panel 2.5 intervals (12.5 s) after its
            # last record rather than the default 30 s hold
            "--live-hold", "5"]
    p, got = cs_testlib.start(args, path("collector.log"), "listening on", 20)
    PROCS.append(p)
    if got != "ok":
        fail("collector exited at start" if got == "exited" else
             "collector did not start listening")
    return p


def send(endpoint, lines, name):
    with open(path(name), "w") as f:
        f.write("".join(lines))
    r = run([PROBE, "--from-jsonl", path(name), "--collector", endpoint, "--key",
             path("keys", "p1.key"), "--collector-key", path("keys", "collector.pub"),
             "--spool-dir", path("spool"), "--site", SITE])
    with open(path("probe.log"), "a") as f:
        f.write(r.stderr)
    check(r.returncode == 0, "%s sent (%d records)" % (name, len(lines)))


def log():
    return cs_testlib.read(path("collector.log"))


def wait(cond, secs, what):
    v = cs_testlib.wait_until(cond, secs, 0.3)
    if not v:
        fail("timed out waiting for " + what)
    return v


def live_site():
    for s in api("/api/live")["sites"]:
        if s["site"] == SITE:
            return s
    return None


def main():
    setup()
    r = run([PROBE, "-q", "-r", PCAP, "--interval", "5", "--json", path("capture.jsonl")])
    check(r.returncode == 0, "probe measured the capture with --interval 5")
    lines = open(path("capture.jsonl")).readlines()
    recs = [json.loads(x) for x in lines]
    windows = sorted({x["start"] for x in recs if x["type"] == "interval"})
    check(len(windows) >= 3, "the call spans %d interval windows" % len(windows))
    endpoint = "tcp://127.0.0.1:%d" % cs_testlib.free_port()
    col = start_collector(endpoint)
    # paced: one window's interval records every 2 s, as a live probe sends them
    for k, w in enumerate(windows[:3]):
        send(endpoint, [l for l, x in zip(lines, recs) if x["type"] == "interval" and
                        x["start"] == w], "window-%d.jsonl" % k)
        s = wait(live_site, 10, "the live panel to show the site")
        check(s["active_calls"] == 1 and s["wan_degraded"] == 1 and s["lan_degraded"] == 0,
              "window %d: 1 call in progress, degraded on the WAN side (%s)" % (k, s))
        live = api("/api/live")
        check(live["hold_s"] == 5, "window %d: /api/live holds %s s (--live-hold 5)" %
              (k, live["hold_s"]))
        calls = [c for c in live["calls"] if c["site"] == SITE]
        check(len(calls) == 1 and calls[0]["verdict"] == "wan" and calls[0]["provisional"],
              "window %d: provisional verdict 'wan' while the call runs" % k)
        check(api("/api/calls?since=2020-01-01T00:00:00Z")["calls"] == [],
              "window %d: no verdict of an ended call yet" % k)
        time.sleep(2)
    fired = wait(lambda: re.search(r'alert: site "%s": 1 of 1 calls in progress with inbound loss'
                                   r'[^\n]*WAN side' % SITE, log()), 15,
                 "the site's WAN alert while the loss lasts")
    print("ok: " + fired.group(0))
    check(not re.search(r'alert resolved: site "%s"' % SITE, log()), "not resolved while it lasts")
    # the call ends: the rest of the windows and the stream, flow and client records
    send(endpoint, [l for l, x in zip(lines, recs) if x["type"] != "interval" or
                    x["start"] not in windows[:3]], "end.jsonl")
    calls = wait(lambda: api("/api/calls?since=2020-01-01T00:00:00Z")["calls"], 30,
                 "the ended call's verdict")
    c = calls[0]
    check(c["source"] == "wire-only" and c["verdict"] == "wan" and c["site"] == SITE,
          "the ended call judged wan from the wire (%s %s)" % (c["source"], c["verdict"]))
    tl = api("/api/calls/%s/timeline" % urllib.parse.quote(c["call_id"], safe=""))
    by = {s["direction"]: s for s in tl["streams"]}
    inb = [x["loss_pct"] for x in by["inbound"]["intervals"]]
    outb = [x["loss_pct"] for x in by["outbound"]["intervals"]]
    check(len(inb) >= 3 and all(v > 4 for v in inb[:3]),
          "timeline: the inbound loss in the call's intervals (%s)" % inb)
    check(outb and max(outb) == 0, "timeline: the outbound stream clean (%s)" % outb)
    check(by["inbound"]["intervals"][0]["t"] < by["inbound"]["intervals"][1]["t"],
          "timeline in time order")
    one = api("/api/calls/%s" % urllib.parse.quote(c["call_id"], safe=""))
    check(one["history"] and one["history"][0]["provisional"] and
          one["history"][0]["verdict"] == "wan", "verdict history: the wire verdict, provisional")
    wait(lambda: (live_site() or {"active_calls": 0})["active_calls"] == 0, 60,
         "the live panel to empty when the records stop")
    print("ok: no call in progress once the records stopped")
    resolved = wait(lambda: re.search(r'alert resolved: site "%s": 0 of \d+ calls in progress with '
                                      r'inbound loss' % SITE, log()), 60,
                    "the WAN alert to resolve once the loss is over")
    print("ok: " + resolved.group(0))
    check(len(re.findall(r'alert: site "%s"' % SITE, log())) == 1, "the alert fired once")
    col.terminate()
    col.wait(timeout=30)
    shutil.rmtree(TMP, ignore_errors=True)
    print("PASS")


if __name__ == "__main__":
    main()
