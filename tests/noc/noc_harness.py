"""What the NOC's process tests share: a work directory, pass/fail lines,
a 'callscope-collector serve' started on 127.0.0.1 (its port read from its
log), and a webhook receiver on 127.0.0.1 recording what it is sent.

    h = Harness("noc-surge-alerts", WORKDIR)
    p = h.serve(COLLECTOR, ["--db", DB, ...])   # fails the test if it does not start
    srv, url = h.webhook()                       # h.posts: [(content type, parsed body)]
    h.check(cond, "what it shows"); h.wait_for(pred, 10, "what")
    h.stop(p); h.cleanup()
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import cs_testlib  # noqa: E402


class Harness:
    def __init__(self, prefix, workdir):
        os.makedirs(workdir, exist_ok=True)
        self.tmp = tempfile.mkdtemp(prefix=prefix + "-", dir=workdir)
        self.log = os.path.join(self.tmp, "serve.log")
        self.procs = []
        self.port = 0
        self.posts = []  # (content type, parsed body) the webhook received

    # ---- outcome ------------------------------------------------------------------

    def read_log(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def kill_all(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()

    def fail(self, msg):
        print("FAIL:", msg)
        self.kill_all()
        print("--- serve log (tail) ---\n" + self.read_log()[-3000:])
        sys.exit(1)

    def check(self, cond, msg):
        if not cond:
            self.fail(msg)
        print("ok:", msg)

    def wait_for(self, pred, secs, what):
        t_end = time.monotonic() + secs
        while time.monotonic() < t_end:
            if pred():
                return
            time.sleep(0.1)
        self.fail("timed out waiting for " + what)

    def cleanup(self):
        self.kill_all()
        shutil.rmtree(self.tmp, ignore_errors=True)

    # ---- processes ------------------------------------------------------------------

    def run(self, cmd, timeout=60):
        """cmd's result; a non-zero exit fails the test with its stderr."""
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            self.fail("%s: %s" % (" ".join(cmd[:2]), r.stderr))
        return r

    def token_file(self, path, token):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, (token + "\n").encode())
        os.close(fd)

    def serve(self, collector, args, start_s=30):
        """'collector serve ARGS' (give it --bind 127.0.0.1:0), its output
        appended to self.log; returns once it logged its port (self.port)."""
        logf = open(self.log, "a")
        p = subprocess.Popen([collector, "serve"] + args, stdout=logf, stderr=logf)
        self.procs.append(p)
        t_end = time.time() + start_s
        while time.time() < t_end:
            m = re.findall(r"listening on port (\d+)", self.read_log())
            if m:
                self.port = int(m[-1])
                return p
            if p.poll() is not None:
                self.fail("serve exited at start")
            time.sleep(0.05)
        self.fail("serve did not start")

    def stop(self, p):
        p.terminate()
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            self.fail("serve did not stop on SIGTERM")

    # ---- webhook ------------------------------------------------------------------------

    def webhook(self):
        """A receiver on 127.0.0.1 answering 200 to each POST; (server, URL)."""
        hook = cs_testlib.Webhook(lambda t, ctype, body: self.posts.append((ctype, body)))
        return hook.server, hook.url
