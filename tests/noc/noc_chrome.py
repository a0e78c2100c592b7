"""Headless Chromium for the NOC dashboard tests: the rendered DOM with the
console's errors, and full-page screenshots.

Screenshots go through the DevTools protocol on a pipe
(--remote-debugging-pipe: NUL-terminated JSON on fds 3 and 4, standard
library only), not through --screenshot: the dashboard scrolls a call page
into view, and --screenshot of a scrolled page captures the window at the
scroll offset again (Chromium 156, headless), which left a blank band as
tall as the scroll above the sticky header, or a blank picture with a
normal window height (checked on a plain page with a sticky header and
scrollIntoView). Here the page is scrolled back to the top and the whole
document captured (captureBeyondViewport), so a picture shows the page as
it is laid out, header first.
"""
import base64
import json
import os
import re
import shutil
import subprocess
import time

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--no-first-run", "--disable-extensions", "--disable-background-networking",
         "--disable-sync", "--disable-component-update", "--hide-scrollbars",
         "--proxy-server=direct://", "--proxy-bypass-list=*"]


def find():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def dump_dom(exe, url, profile, size="1400,1800", budget_ms=8000, timeout=90):
    """(exit status, DOM text, console lines) of url after budget_ms of virtual time."""
    r = subprocess.run([exe] + FLAGS + ["--user-data-dir=" + profile, "--enable-logging=stderr",
                                        "--v=0", "--virtual-time-budget=%d" % budget_ms,
                                        "--window-size=" + size, "--dump-dom", url],
                       capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout, [l for l in r.stderr.splitlines() if "CONSOLE" in l]


def console_errors(lines):
    return [l for l in lines if re.search(r"error|Uncaught", l, re.I)]


class _Pipe:
    def __init__(self, exe, profile):
        to_r, self._to_w = os.pipe()     # our commands -> chromium's fd 3
        self._from_r, from_w = os.pipe()  # chromium's fd 4 -> our replies
        os.set_inheritable(to_r, True)
        os.set_inheritable(from_w, True)

        def fds():
            os.dup2(to_r, 3)
            os.dup2(from_w, 4)
        self.proc = subprocess.Popen([exe] + FLAGS + ["--user-data-dir=" + profile,
                                                      "--remote-debugging-pipe", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     preexec_fn=fds, pass_fds=(3, 4))
        os.close(to_r)
        os.close(from_w)
        self._buf = b""
        self._id = 0
        self.events = []

    def _read_one(self, deadline):
        while b"\0" not in self._buf:
            if time.monotonic() > deadline:
                raise TimeoutError("chromium did not answer")
            chunk = os.read(self._from_r, 1 << 20)
            if not chunk:
                raise EOFError("chromium closed its pipe")
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None, session=None, timeout=60):
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_w, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            m = self._read_one(deadline)
            if m.get("id") == self._id:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            self.events.append(m)

    def close(self):
        try:
            self.call("Browser.close", timeout=10)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_w)
        os.close(self._from_r)


# The dashboard's status once a refresh (lists, and the call when one is open) ended.
READY = "(document.getElementById('status') || {dataset: {}}).dataset.state === 'ready'"


def screenshot(exe, url, path, profile, width=1400, height=1000, ready=READY, settle_s=15.0,
               timeout=90, probe=None):
    """A PNG of the whole page at url (width px wide, laid out for a window
    height px tall), once the JS expression ready is true (or settle_s
    passed), scrolled to the top. Returns the JS expression probe's value,
    evaluated before that scroll (as the page left itself), or the page's
    height in px without one."""
    p = _Pipe(exe, profile)
    try:
        tgt = p.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        s = p.call("Target.attachToTarget", {"targetId": tgt, "flatten": True})["sessionId"]
        p.call("Page.enable", session=s)
        p.call("Emulation.setDeviceMetricsOverride",
               {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
               session=s)
        p.call("Page.navigate", {"url": url}, session=s)
        t_end = time.monotonic() + settle_s
        while time.monotonic() < t_end:
            r = p.call("Runtime.evaluate", {"expression": "document.readyState === 'complete' && "
                                            "!!(%s)" % ready, "returnByValue": True}, session=s)
            if r.get("result", {}).get("value") is True:
                break
            time.sleep(0.2)
        time.sleep(0.5)  # the last paint after the answers arrived
        seen = None
        if probe:
            seen = p.call("Runtime.evaluate", {"expression": probe, "returnByValue": True},
                          session=s).get("result", {}).get("value")
        r = p.call("Runtime.evaluate", {"expression": "window.scrollTo(0, 0);"
                                        " document.documentElement.scrollHeight",
                                        "returnByValue": True}, session=s)
        full = int(r["result"]["value"])
        time.sleep(0.2)
        shot = p.call("Page.captureScreenshot",
                      {"format": "png", "captureBeyondViewport": True,
                       "clip": {"x": 0, "y": 0, "width": width, "height": full, "scale": 1}},
                      session=s, timeout=timeout)
        with open(path, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        return seen if probe else full
    finally:
        p.close()


def png_rows(path, rows):
    """The first rows of an 8-bit RGB or RGBA PNG as lists of (r, g, b)."""
    import struct
    import zlib
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            width, _, depth, ctype = struct.unpack(">IIBB", body[:10])
            if depth != 8 or ctype not in (2, 6):
                raise ValueError("PNG not 8-bit RGB(A)")
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw, stride, out, prev = zlib.decompress(idat), width * bpp, [], bytearray(width * bpp)
    for y in range(rows):
        line = raw[y * (stride + 1):(y + 1) * (stride + 1)]
        ftype, cur = line[0], bytearray(line[1:])
        for i in range(stride):  # PNG filters (RFC 2083 6)
            a = cur[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                cur[i] = (cur[i] + a) & 255
            elif ftype == 2:
                cur[i] = (cur[i] + b) & 255
            elif ftype == 3:
                cur[i] = (cur[i] + (a + b) // 2) & 255
            elif ftype == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                cur[i] = (cur[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        out.append([tuple(cur[i:i + 3]) for i in range(0, stride, bpp)])
        prev = cur
    return out


def starts_with_header(path, rgb=(0x1f, 0x2d, 0x3d)):
    """Is the picture's top row the dashboard's header (its background
    colour across most of the width), not a blank band?"""
    row = png_rows(path, 1)[0]
    return sum(1 for px in row if px == rgb) > len(row) // 2
