#!/usr/bin/env python3
"""Alert evaluation on one collector at a time (issue 16, DUTY_ALERTS):
two `callscope-collector run` on one throw-away PostgreSQL (pgserver.py;
exit 77 = skipped with the reason when its binaries are missing), each with
--http-bind and the same --alert-webhook, a receiver on loopback.

  alerts_duty_test.py BUILD_DIR

A site's ended calls cross the LAN share threshold (verdict_calls rows
written into the shared store). Asserted:
  - exactly one collector sends the alert: one "firing" POST, never a
    second while both run; /metrics of both show who holds 'alerts'
    (callscope_collector_duty{duty="alerts"} 1 on one, 0 on the other) and
    only the holder counts the alert (callscope_alerts_fired_total);
  - kill -9 of the holder: the other takes the duty within 10 s (its
    /metrics says so; the time is printed);
  - the new holder starts from the store, not from the dead one's memory:
    a condition still above when it takes over is announced again, once
    ("firing", the same labels: Alertmanager and most receivers treat it as
    the same alert) - docs/failover.md "Alerts";
  - when the share falls below the threshold, the "resolved" message comes
    once.
"""
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

BUILD = sys.argv[1]
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import pgserver  # noqa: E402
import cs_testlib  # noqa: E402

COLLECTOR = os.path.join(BUILD, "collector", "callscope-collector")
TMP = tempfile.mkdtemp(prefix="cs-alertduty-")
PROCS = {}
SRV = None
TENANT = "0d15ea5e-0000-4000-8000-00000000fa11"
HOOK = cs_testlib.Webhook()  # the alerts' receiver: HOOK.posts (time, type, body)


def fail(msg):
    print("FAIL:", msg)
    for name in ("A", "B"):
        print("---- %s.log (tail)" % name)
        print("\n".join(read(name + ".log").splitlines()[-20:]))
    print("---- posts:", HOOK.posts)
    for p in PROCS.values():
        if p.poll() is None:
            p.kill()
    if SRV:
        SRV.stop()
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)
    print("ok:", msg)


def read(name):
    return cs_testlib.read(os.path.join(TMP, name))


free_port = cs_testlib.free_port
posts = HOOK.bodies


def post_times(status=None):
    return [t for t, _, b in list(HOOK.posts) if status is None or b.get("status") == status]


def run(args):
    r = subprocess.run(args, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        fail("%s: %s" % (" ".join(args[:3]), r.stderr))


HTTP = {"A": free_port(), "B": free_port()}


def start_collector(name, hook):
    logf = open(os.path.join(TMP, name + ".log"), "a")
    keys = os.path.join(TMP, "keys")
    p = subprocess.Popen([COLLECTOR, "run", "--bind", "tcp://127.0.0.1:%d" % free_port(),
                          "--key", os.path.join(keys, "collector.key"), "--authorized-keys",
                          os.path.join(TMP, "probes.d"), "--db", SRV.uri, "--org-key",
                          os.path.join(keys, "org.key"), "--stats", "0", "--collector-name", name,
                          "--http-bind", "127.0.0.1:%d" % HTTP[name], "--http-token-file",
                          os.path.join(TMP, "token"), "--http-audit-log",
                          os.path.join(TMP, name + "-audit.log"), "--metrics-open",
                          "--no-syslog", "--alert-webhook", hook, "--alert-check", "1",
                          "--alert-window", "600", "--alert-min-calls", "5",
                          "--alert-threshold", "30", "--alert-interval", "0",
                          "--alert-live-calls", "0", "--alert-surge-calls", "0", "-v"],
                         stdout=logf, stderr=logf)
    PROCS[name] = p
    return p


def metrics(name):
    """{series line without value: value} of the collector's /metrics, or None."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % HTTP[name], timeout=5) as r:
            text = r.read().decode()
    except OSError:
        return None
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            k, _, v = line.rpartition(" ")
            out[k] = float(v)
    return out


def duty(name):
    m = metrics(name)
    return None if m is None else m.get('callscope_collector_duty{duty="alerts"}')


def wait(cond, timeout, step=0.1):
    end = time.time() + timeout
    while time.time() < end:
        v = cond()
        if v:
            return v
        time.sleep(step)
    return cond()


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%06dZ" % int((t % 1) * 1e6)


def main():
    global SRV
    SRV = pgserver.start_or_skip()
    os.makedirs(os.path.join(TMP, "keys"))
    os.makedirs(os.path.join(TMP, "probes.d"))
    run([COLLECTOR, "keygen", "collector", "--dir", os.path.join(TMP, "keys")])
    run([COLLECTOR, "org-keygen", "--tenant", TENANT, "--out",
         os.path.join(TMP, "keys", "org.key")])
    tok = os.path.join(TMP, "token")
    with open(tok, "w") as f:
        f.write("alert-duty-test-token-0123456789\n")
    os.chmod(tok, 0o600)
    hook = HOOK.url

    start_collector("A", hook)
    check(wait(lambda: duty("A") == 1, 30), "A up and holding 'alerts' (/metrics)")
    start_collector("B", hook)
    check(wait(lambda: duty("B") is not None, 30), "B up, serving /metrics")
    check(duty("B") == 0 and duty("A") == 1,
          "/metrics: A holds 'alerts' (1), B does not (0)")

    # six calls of site hq ended just now, four judged lan: 67 % >= 30 %
    now = time.time()
    rows = ",".join("('c%d', 'wire', 'hq', '%s', '%s', '%s', 0.9, '%s', '{}')" %
                    (i, iso(now - 300), iso(now - 5), "lan" if i < 4 else "healthy", iso(now))
                    for i in range(6))
    SRV.psql("INSERT INTO verdict_calls(call_id, source, site, start, \"end\", verdict,"
             " confidence, evaluated, evidence) VALUES " + rows)
    t_cross = time.time()
    check(wait(lambda: posts("firing"), 15), "a firing alert posted")
    first = posts("firing")[0]
    print("first alert %.2f s after the crossing was stored" % (post_times()[0] - t_cross))
    check(first.get("site") == "hq" and first.get("kind") == "lan",
          "the alert names site hq, kind lan: %s" % first)
    time.sleep(5)  # five more checks on the holder; B must stay silent
    check(len(posts()) == 1, "exactly one alert while both run (%d posts)" % len(posts()))
    ma, mb = metrics("A"), metrics("B")
    key = 'callscope_alerts_fired_total{site="hq",kind="lan"}'
    check(ma.get(key) == 1 and not mb.get(key),
          "only the holder A counted it (A %s, B %s)" % (ma.get(key), mb.get(key)))

    # kill -9 the holder: B takes the duty and evaluates from the store
    PROCS["A"].send_signal(signal.SIGKILL)
    PROCS["A"].wait()
    t_kill = time.time()
    check(wait(lambda: duty("B") == 1, 10, 0.05), "B took 'alerts' within 10 s")
    print("duty 'alerts' on B %.2f s after kill -9 of A" % (time.time() - t_kill))
    check(wait(lambda: len(posts("firing")) >= 2, 10), "B announces the condition still above")
    print("B's firing alert %.2f s after the kill" % (post_times()[1] - t_kill))
    time.sleep(4)
    check(len(posts("firing")) == 2 and not posts("resolved"),
          "B announced it once (no repeat while above)")

    # the share falls: one resolved message
    SRV.psql("UPDATE verdict_calls SET verdict = 'healthy'")
    t_clear = time.time()
    check(wait(lambda: posts("resolved"), 10), "resolved posted")
    print("resolved %.2f s after the share fell" % (post_times("resolved")[0] - t_clear))
    time.sleep(4)
    res = posts("resolved")
    check(len(res) == 1 and res[0].get("site") == "hq" and res[0].get("kind") == "lan",
          "the resolved message came once: %s" % res)
    check(len(posts()) == 3, "three posts in all (firing from A, firing from B, resolved)")
    PROCS["B"].terminate()
    PROCS["B"].wait(timeout=30)
    HOOK.stop()
    SRV.stop()
    print("PASS")


if __name__ == "__main__":
    try:
        main()
    except SystemExit:
        raise
    except Exception as e:  # noqa: BLE001
        fail("%s: %s" % (type(e).__name__, e))
