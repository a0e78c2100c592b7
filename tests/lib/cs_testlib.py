"""What the process tests share (Python standard library only): a free
port on 127.0.0.1, a command's result, a work file's text, the NOC API with
a bearer token, a webhook receiver, waiting for a condition or a log line,
and the keys of a collector and its probes.

Each test keeps its own fail() (what it prints on failure differs: which
logs, which processes to kill); the helpers here return, or raise, and
leave failing to it. Imported from tests/<area>/*.py with

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
    import cs_testlib  # noqa: E402
"""
import http.server
import json
import os
import socket
import subprocess
import threading
import time
import urllib.request


def free_port():
    """A TCP port free on 127.0.0.1 now (the caller binds it next)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run(args, timeout=120, **kw):
    """subprocess.run with its output captured as text."""
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kw)


def read(path, n=None):
    """The text of a file ('' when it does not exist), its last n characters
    when n is given."""
    try:
        with open(path, errors="replace") as f:
            text = f.read()
    except FileNotFoundError:
        return ""
    return text[-n:] if n else text


def api(port, token, url_path, timeout=10):
    """GET http://127.0.0.1:PORT/URL_PATH with a bearer token: the JSON answer
    (urllib's HTTPError on a status other than 2xx)."""
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, url_path),
                                 headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read().decode())


def token_file(path, token):
    """A token file of mode 0600, as serve/run --http-token-file wants it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, (token + "\n").encode())
    os.close(fd)


def wait_until(pred, secs, step=0.1):
    """pred()'s first true value within secs seconds, polled every step; None
    when it stayed false."""
    t_end = time.monotonic() + secs
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() >= t_end:
            return None
        time.sleep(step)


def wait_log(path, text, proc, secs, step=0.05):
    """Waits for text in the log file at path while proc runs: 'ok', 'exited'
    (proc ended first) or 'timeout'."""
    t_end = time.monotonic() + secs
    while time.monotonic() < t_end:
        if text in read(path):
            return "ok"
        if proc.poll() is not None:
            return "exited"
        time.sleep(step)
    return "timeout"


def start(args, log_path, text="listening on", secs=30):
    """Starts args with its output appended to log_path and waits for text in
    that log (a collector's "listening on", a probe's): (process, 'ok' |
    'exited' | 'timeout'). The caller keeps the process to stop or kill."""
    with open(log_path, "a") as logf:
        proc = subprocess.Popen(args, stdout=logf, stderr=logf)
    return proc, wait_log(log_path, text, proc, secs)


def keys(collector, work, probes=("p1",), tenant="contoso.example"):
    """keygen of the collector and each probe into WORK/keys, the probes'
    public keys linked into WORK/probes.d (--authorized-keys), and an
    organisation key WORK/keys/org.key for tenant. None, or what failed with
    its stderr."""
    kdir, adir = os.path.join(work, "keys"), os.path.join(work, "probes.d")
    os.makedirs(kdir, exist_ok=True)
    os.makedirs(adir, exist_ok=True)
    for name in ("collector",) + tuple(probes):
        r = run([collector, "keygen", name, "--dir", kdir], timeout=60)
        if r.returncode != 0:
            return "keygen %s: %s" % (name, r.stderr.strip())
        if name != "collector":
            os.link(os.path.join(kdir, name + ".pub"), os.path.join(adir, name + ".pub"))
    r = run([collector, "org-keygen", "--tenant", tenant, "--out", os.path.join(kdir, "org.key")],
            timeout=60)
    if r.returncode != 0:
        return "org-keygen: %s" % r.stderr.strip()
    return None


class Webhook:
    """An alert receiver on 127.0.0.1 answering 200 to each POST. posts:
    (receive time, Content-Type, parsed JSON body) in the order received;
    url: where to send them; on_post(time, type, body), when given, is also
    called with each (a test's own list in its own shape)."""

    def __init__(self, on_post=None):
        self.posts = []
        self.lock = threading.Lock()
        hook = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                post = (time.time(), self.headers.get("Content-Type"), json.loads(body))
                with hook.lock:
                    hook.posts.append(post)
                if on_post:
                    on_post(*post)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *a):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = "http://127.0.0.1:%d/hook" % self.server.server_address[1]

    def bodies(self, status=None):
        """The bodies received, those of that status only when given."""
        with self.lock:
            return [b for _, _, b in self.posts if status is None or b.get("status") == status]

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
