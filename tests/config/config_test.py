#!/usr/bin/env python3
"""Configuration files and --check-config, for the probe and the collector:
every setting has one typed table; a bad one is named with its file and
line, and the allowed range.

  config_test.py BUILD_DIR CASE
"""
import os
import subprocess
import sys
import tempfile

BUILD, CASE = sys.argv[1], sys.argv[2]
PROBE = os.path.join(BUILD, "probe", "callscope-probe")
COLL = os.path.join(BUILD, "collector", "callscope-collector")
TMP = tempfile.mkdtemp(prefix="cs-config-")


def run(args):
    return subprocess.run(args, capture_output=True, text=True, timeout=60)


def check(cond, msg):
    print(("ok: " if cond else "FAIL: ") + msg)
    if not cond:
        sys.exit(1)


def conf(name, text):
    p = os.path.join(TMP, name)
    with open(p, "w") as f:
        f.write(text)
    return p


def keys():
    k = os.path.join(TMP, "keys")
    os.makedirs(os.path.join(TMP, "probes.d"))
    os.makedirs(k)
    for n in ("collector", "p1"):
        r = run([COLL, "keygen", n, "--dir", k])
        check(r.returncode == 0, "keygen " + n)
    os.rename(os.path.join(k, "p1.pub"), os.path.join(TMP, "probes.d", "p1.pub"))
    r = run([COLL, "org-keygen", "--tenant", "t.example", "--out", os.path.join(k, "org.key")])
    check(r.returncode == 0, "org-keygen")
    return k


def case_probe():
    k = keys()
    good = conf("probe.conf", "# a probe on eth1\ninterval = 10\nmax-flows = 100000\n"
                "collector = tcp://127.0.0.1:7600\nkey = %s/p1.key\n"
                "collector-key = %s/collector.pub\nsite = hq\nno-promisc\n" % (k, k))
    r = run([PROBE, "--config", good, "-i", "lo", "--check-config"])
    check(r.returncode == 0 and "configuration OK" in r.stdout, "a valid file passes: " + r.stdout.strip())
    bad = conf("range.conf", "interval = 10\nmax-flows = 5\n")
    r = run([PROBE, "--config", bad, "-i", "lo", "--check-config"])
    check(r.returncode == 2 and "--max-flows" in r.stderr and "1024 to 16777216" in r.stderr
          and "range.conf:2" in r.stderr, "out of range: named with the range and file:line: " + r.stderr.strip())
    bad = conf("unknown.conf", "intervall = 10\n")
    r = run([PROBE, "--config", bad, "-i", "lo", "--check-config"])
    check(r.returncode == 2 and "unknown.conf:1: 'intervall' is not a setting" in r.stderr,
          "unknown key named: " + r.stderr.strip())
    bad = conf("novalue.conf", "interval\n")
    r = run([PROBE, "--config", bad, "-i", "lo", "--check-config"])
    check(r.returncode == 2 and "needs a value" in r.stderr, "missing value named")
    os.chmod(os.path.join(k, "p1.key"), 0o644)
    r = run([PROBE, "--config", good, "-i", "lo", "--check-config"])
    check(r.returncode == 2 and "chmod 600" in r.stderr, "readable secret key refused: " + r.stderr.strip())
    r = run([PROBE, "--config", good, "--interval", "99999", "-i", "lo", "--check-config"])
    check(r.returncode == 2 and "--interval" in r.stderr, "command line checked the same way")
    r = run([PROBE, "--config", os.path.join(TMP, "missing.conf"), "-i", "lo"])
    check(r.returncode == 2 and "cannot read configuration" in r.stderr, "missing file named")


def case_collector():
    k = keys()
    db = os.path.join(TMP, "c.db")
    good = conf("collector.conf", "bind = tcp://127.0.0.1:7600\nkey = %s/collector.key\n"
                "authorized-keys = %s/probes.d\norg-key = %s/org.key\ndb = %s\n"
                "retention-days = 14\n" % (k, TMP, k, db))
    r = run([COLL, "run", "--config", good, "--check-config"])
    check(r.returncode == 0 and "1 authorised probe keys" in r.stdout, "a valid file passes: " + r.stdout.strip())
    check(not os.path.exists(db), "--check-config creates no database")
    bad = conf("bad.conf", "retention-days = 0\n")
    r = run([COLL, "run", "--config", bad, "--check-config"])
    check(r.returncode == 2 and "--retention-days" in r.stderr and "1 to 3650" in r.stderr,
          "out of range named: " + r.stderr.strip())
    bad = conf("nokeys.conf", "key = %s/collector.key\nauthorized-keys = %s/nowhere\norg-key = %s/org.key\n"
               % (k, TMP, k))
    r = run([COLL, "run", "--config", bad, "--check-config"])
    check(r.returncode == 1 and "nowhere" in r.stderr, "missing authorised-keys directory named: " + r.stderr.strip())


def case_reload():
    """SIGHUP: the collector reads its settings again; a bad file keeps the old ones."""
    import signal, socket, time
    k = keys()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    text = ("bind = tcp://127.0.0.1:%d\nkey = %s/collector.key\nauthorized-keys = %s/probes.d\n"
            "org-key = %s/org.key\ndb = %s/c.db\nretention-days = 30\n" % (port, k, TMP, k, TMP))
    cf = conf("collector.conf", text)
    log = open(os.path.join(TMP, "collector.log"), "w")
    p = subprocess.Popen([COLL, "run", "--config", cf], stdout=log, stderr=log)

    def wait_for(what, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if what in open(os.path.join(TMP, "collector.log")).read():
                return True
            time.sleep(0.1)
        return False
    try:
        check(wait_for("listening on"), "collector started from the file")
        conf("collector.conf", text.replace("retention-days = 30", "retention-days = 7"))
        p.send_signal(signal.SIGHUP)
        check(wait_for("settings reloaded (retention 7 days"), "SIGHUP applied the new retention")
        conf("collector.conf", text + "retention-days = 0\n")
        p.send_signal(signal.SIGHUP)
        check(wait_for("settings not reloaded"), "a bad file on SIGHUP keeps the old settings")
        check(p.poll() is None, "the collector keeps running")
    finally:
        p.terminate()
        p.wait(timeout=30)


def case_run_serve_options():
    """'run --http-bind' is 'serve' in the collector's process: run accepts
    every option of serve (the HTTP ones with an "http-" prefix), each
    with the value serve's help gives as its default."""
    import re
    k = keys()
    r = run([COLL, "serve", "--help"])
    check(r.returncode == 0, "serve --help")
    opts = re.findall(r"^ +(?:-\w, )?--([a-z-]+)(?: ([A-Z:]+))?\n((?:        .*\n)+)", r.stdout, re.M)
    check(len(opts) >= 18, "serve lists %d options" % len(opts))
    http = {"bind": "http-bind", "token-file": "http-token-file", "tls-cert": "http-tls-cert",
            "tls-key": "http-tls-key", "viewer-token-file": "http-viewer-token-file",
            "audit-log": "http-audit-log"}
    given = {"db": os.path.join(TMP, "c.db"), "org-key": os.path.join(k, "org.key"),
             "tls-cert": os.path.join(TMP, "noc.pem"), "tls-key": os.path.join(TMP, "noc.key"),
             "alert-webhook": "https://127.0.0.1:9/hook",
             "viewer-token-file": os.path.join(TMP, "viewer.token"),
             "audit-log": os.path.join(TMP, "audit.log")}
    base = ["run", "--key", os.path.join(k, "collector.key"), "--authorized-keys",
            os.path.join(TMP, "probes.d"), "--org-key", os.path.join(k, "org.key"),
            "--http-bind", "127.0.0.1:0"]
    tried = 0
    for name, arg, help_text in opts:
        if name == "help":
            continue
        args = ["--" + http.get(name, name)]
        if arg:
            m = re.search(r"\(default ([^)\s]+)\)", " ".join(help_text.split()))
            value = given.get(name) or (m.group(1) if m else None)
            check(value is not None, "a value to give --%s" % name)
            args.append(value)
        r = run([COLL] + base + args + ["--check-config"])
        check(r.returncode == 0 and "configuration OK" in r.stdout,
              "run accepts serve's --%s as %s (%s)" % (name, " ".join(args), r.stderr.strip()))
        tried += 1
    check(tried >= 17, "%d serve options tried on run" % tried)


def case_live_hold():
    """--live-hold (serve and run) and its file key: 1-300 seconds; a bad
    value is refused naming the option and the range."""
    k = keys()
    base = ["--key", os.path.join(k, "collector.key"), "--authorized-keys",
            os.path.join(TMP, "probes.d"), "--org-key", os.path.join(k, "org.key"),
            "--http-bind", "127.0.0.1:0"]
    good = conf("hold.conf", "live-hold = 5\n")
    r = run([COLL, "run", "--config", good, "--check-config"] + base)
    check(r.returncode == 0 and "configuration OK" in r.stdout,
          "live-hold = 5 in the file passes: " + (r.stdout + r.stderr).strip())
    for value in ("0", "301", "-1", "5s", ""):
        bad = conf("hold-bad.conf", "live-hold = %s\n" % value)
        r = run([COLL, "run", "--config", bad, "--check-config"] + base)
        check(r.returncode == 2 and "live-hold" in r.stderr and "1 to 300" in r.stderr,
              "live-hold = %r refused, named with its range: %s" % (value, r.stderr.strip()))
    for cmd in (["serve", "--db", os.path.join(TMP, "c.db")], ["run"] + base):
        for value in ("0", "301", "thirty"):
            r = run([COLL] + cmd + ["--live-hold", value, "--check-config"]
                    if cmd[0] == "run" else [COLL] + cmd + ["--live-hold", value])
            check(r.returncode == 2 and "--live-hold" in r.stderr and "1 to 300" in r.stderr,
                  "%s --live-hold %s refused: %s" % (cmd[0], value, r.stderr.strip()))
    r = run([COLL, "serve", "--help"])
    text = " ".join(r.stdout.split())
    check("--live-hold SECONDS" in text and "(default 30)" in text.split("--live-hold", 1)[1][:600]
          and "hold_s" in text, "serve --help documents --live-hold, its default and hold_s")


{"probe": case_probe, "collector": case_collector, "reload": case_reload,
 "run_serve_options": case_run_serve_options, "live_hold": case_live_hold}[CASE]()
print("PASS", CASE)
