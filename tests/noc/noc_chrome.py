"""Headless Chromium for the NOC dashboard tests: the rendered DOM with the
console's errors, and full-page screenshots.

Screenshots go through the DevTools protocol on a pipe
(--remote-debugging-pipe: NUL-terminated JSON on fds 3 and 4, standard
library only), not through --screenshot: the dashboard scrolls a call page
into view, and --screenshot of a scrolled page captures the window at the
scroll offset again (Chromium 156, headless), which left a blank band as
tall as the scroll above the sticky header, or a blank picture with a
normal window height (checked on a plain page with a sticky header and
scrollIntoView). Here the page is scrolled back to the top, the window
made as tall as the page and captured, so a picture shows the page as it
is laid out, header first. (captureBeyondViewport, used before, paints the
page below the window without making it "near": a panel with
content-visibility: auto stayed blank there.)

A picture is checked panel by panel (check_page): the elements each panel
must hold, counted in the DOM (rows, bars, charts: what the test's fixture
gives), and its box in the picture, which must not be blank (the PNG
decoded here with zlib, its ink counted: MIN_INK). The header's colour
alone (starts_with_header) passed a page whose panels were white.
"""
import base64
import json
import os
import re
import shutil
import struct
import subprocess
import time
import zlib

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


# The dashboard's panels as the tests check them: the elements a panel's
# content is counted by (rows, bars, charts...), and the box whose picture
# must not be blank. Rows that only say "loading…" or "none" (class note)
# are not counted.
PANELS = {
    "live": ("#live tbody tr:not(.note)", "#live tbody"),
    "live_buildings": ("#live-buildings tbody tr:not(.note)", "#live-buildings tbody"),
    "sites": ("#sites tbody tr:not(.note)", "#sites tbody"),
    "buildings": ("#buildings tbody tr:not(.note)", "#buildings tbody"),
    "timeline": ("#timeline svg rect", "#timeline"),
    "rated_poor": ("#rated-poor tbody tr[data-call]", "#rated-poor tbody"),
    "calls": ("#calls tbody tr[data-call]", "#calls tbody"),
    "people": ("#call-people .person", "#call-people"),
    "history": ("#call-history li:not(.muted)", "#call-history"),
    "charts": ("#call-charts svg.chart-svg", "#call-charts"),
}

# A panel box whose picture has less ink than this share of its pixels is
# blank: a table's rows of text are 5-20 %, a chart's axes, labels and
# series 3-10 %, the row lines alone (#dde3ea on white) none.
MIN_INK = 0.004


def _layout_js(names):
    """JS: per panel the count of its elements and its box in page pixels
    ([x, y, width, height]; null when the page has no such box)."""
    return ("(() => { const out = {}; for (const [k, [items, box]] of Object.entries(%s)) {"
            " const b = document.querySelector(box); const r = b && b.getBoundingClientRect();"
            " out[k] = {n: document.querySelectorAll(items).length, box: r ?"
            " [r.left + scrollX, r.top + scrollY, r.width, r.height] : null}; } return out; })()"
            % json.dumps({k: PANELS[k] for k in names}))


def _eval(p, s, expr, wait=False):
    r = p.call("Runtime.evaluate", {"expression": expr, "returnByValue": True,
                                    "awaitPromise": wait}, session=s)
    return r.get("result", {}).get("value")


# Two animation frames: the page has laid out and painted what changed.
FRAMES = ("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() =>"
          " r(document.documentElement.scrollHeight))))")

# Is every shown section with content-visibility: auto rendered (its
# content not skipped)? Chromium decides that by an intersection observer
# after a frame, so a section the window just reached is painted a frame
# or more later.
RENDERED = ("Array.from(document.querySelectorAll('section')).filter(e => e.checkVisibility() &&"
            " getComputedStyle(e).contentVisibility === 'auto' && e.firstElementChild)"
            ".every(e => e.firstElementChild.checkVisibility({contentVisibilityAuto: true}))")


def capture(exe, url, path, profile, width=1400, height=1000, ready=READY, settle_s=15.0,
            timeout=90, probe=None, panels=()):
    """A PNG of the whole page at url, width px wide, once the JS expression
    ready is true (or settle_s passed). The page is first laid out for a
    window height px tall (the JS expression probe is evaluated then, as the
    page left itself), then scrolled to the top and the window made as tall
    as the page, so that every part of it is on screen and painted (a panel
    with content-visibility: auto is rendered only near the window: waited
    for, RENDERED), and the window captured. Returns {"probe": its value,
    "full": the page's height in px, "panels": {name: {"n": elements,
    "box": [x, y, w, h]}} of the PANELS named, measured as captured}."""
    p = _Pipe(exe, profile)
    try:
        tgt = p.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        s = p.call("Target.attachToTarget", {"targetId": tgt, "flatten": True})["sessionId"]
        p.call("Page.enable", session=s)
        metrics = {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False}
        p.call("Emulation.setDeviceMetricsOverride", metrics, session=s)
        p.call("Page.navigate", {"url": url}, session=s)
        t_end = time.monotonic() + settle_s
        while time.monotonic() < t_end:
            if _eval(p, s, "document.readyState === 'complete' && !!(%s)" % ready) is True:
                break
            time.sleep(0.2)
        time.sleep(0.5)  # the last paint after the answers arrived
        seen = _eval(p, s, probe) if probe else None
        full = int(_eval(p, s, "window.scrollTo(0, 0); document.documentElement.scrollHeight"))
        for _ in range(3):  # the page as tall as the window: a height that holds
            p.call("Emulation.setDeviceMetricsOverride", dict(metrics, height=max(height, full)),
                   session=s)
            now = int(_eval(p, s, FRAMES, wait=True))
            if now == full:
                break
            full = now
        t_end = time.monotonic() + 5  # on screen now: rendered (else the ink check says so)
        while not _eval(p, s, RENDERED) and time.monotonic() < t_end:
            _eval(p, s, FRAMES, wait=True)
        full = int(_eval(p, s, "document.documentElement.scrollHeight"))
        time.sleep(0.2)
        layout = _eval(p, s, _layout_js(panels)) if panels else {}
        shot = p.call("Page.captureScreenshot",
                      {"format": "png", "captureBeyondViewport": False, "optimizeForSpeed": True,
                       "clip": {"x": 0, "y": 0, "width": width, "height": full, "scale": 1}},
                      session=s, timeout=timeout)
        with open(path, "wb") as f:
            f.write(base64.b64decode(shot["data"]))
        return {"probe": seen, "full": full, "panels": layout}
    finally:
        p.close()


def screenshot(exe, url, path, profile, width=1400, height=1000, ready=READY, settle_s=15.0,
               timeout=90, probe=None):
    """capture()'s picture; returns the JS expression probe's value, or the
    page's height in px without one."""
    got = capture(exe, url, path, profile, width, height, ready, settle_s, timeout, probe)
    return got["probe"] if probe else got["full"]


def ink_share(lines, bpp, box, diff=40):
    """The share of the pixels of box (x, y, w, h in the picture's pixels,
    clipped to it) that are ink: a channel more than diff away from the
    box's background (its commonest colour, from a sample). 0.0 for an
    empty box. A row at a time: each channel's bytes made 0/1 by a table,
    the three or'ed as integers and their bits counted."""
    if not lines or not box:
        return 0.0
    width = len(lines[0]) // bpp
    x0, y0 = max(0, int(box[0])), max(0, int(box[1]))
    x1, y1 = min(width, int(box[0] + box[2])), min(len(lines), int(box[1] + box[3]))
    if x1 <= x0 or y1 <= y0:
        return 0.0
    seen = {}
    for y in range(y0, y1, 3):
        for x in range(x0, x1, 5):
            px = lines[y][x * bpp:x * bpp + 3]
            seen[px] = seen.get(px, 0) + 1
    bg = max(seen, key=seen.get)
    tabs = [bytes(1 if abs(v - bg[c]) > diff else 0 for v in range(256)) for c in range(3)]
    ink = 0
    for y in range(y0, y1):
        seg = lines[y][x0 * bpp:x1 * bpp]
        m = 0
        for c in range(3):
            m |= int.from_bytes(seg[c::bpp].translate(tabs[c]), "big")
        ink += m.bit_count()
    return ink / float((x1 - x0) * (y1 - y0))


def panel_problems(path, layout, want, min_ink=MIN_INK):
    """What is wrong with the panels of a capture() (its picture at path,
    its layout): per panel of want (name -> the element count the page must
    show: an int, exactly, or (least, most), most None for no bound), the
    count, its box on screen, and the box's ink (>= min_ink). Returns
    (problems, figures): problems a list of texts naming the panel,
    figures {name: (count, ink share)}."""
    _, _, bpp, lines = png_decode(path)
    problems, figures = [], {}
    for name, need in want.items():
        got = layout.get(name) or {"n": 0, "box": None}
        lo, hi = (need, need) if isinstance(need, int) else need
        ink = ink_share(lines, bpp, got["box"])
        figures[name] = (got["n"], round(ink, 4))
        if got["n"] < lo or (hi is not None and got["n"] > hi):
            problems.append("%s: %d elements in the DOM, want %s" % (name, got["n"], need))
        if not got["box"] or got["box"][2] < 1 or got["box"][3] < 1:
            problems.append("%s: not on screen (box %s)" % (name, got["box"]))
        elif ink < min_ink:
            problems.append("%s: blank in the picture (%.2f %% ink in %s)" %
                            (name, 100 * ink, [int(v) for v in got["box"]]))
    return problems, figures


def check_page(exe, url, path, profile, want, width=1400, height=1000, probe=None):
    """capture() and panel_problems() of the panels in want; returns
    (problems, figures, the probe's value)."""
    got = capture(exe, url, path, profile, width, height, probe=probe, panels=tuple(want))
    problems, figures = panel_problems(path, got["panels"], want)
    return problems, figures, got["probe"]


def _png_read(path):
    """(width, height, bytes per pixel, inflated filtered scanlines) of an
    8-bit RGB or RGBA PNG (standard library: zlib)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, width, height, bpp = 8, [], 0, 0, 0
    while pos + 8 <= len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            width, height, depth, ctype = struct.unpack(">IIBB", body[:10])
            if depth != 8 or ctype not in (2, 6) or body[12] != 0:
                raise ValueError("PNG not 8-bit RGB(A), not interlaced")
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + n
    return width, height, bpp, zlib.decompress(b"".join(idat))


def _add_bytes(a, b, lo, hi):
    """a + b per byte, modulo 256, on whole scanlines as integers (SWAR:
    the low 7 bits added apart, the top bits put back with xor)."""
    return ((a & lo) + (b & lo)) ^ ((a ^ b) & hi)


def png_decode(path, rows=None):
    """(width, height, bpp, scanlines) of an 8-bit RGB or RGBA PNG: the
    first `rows` rows (all without it), each as bytes of bpp per pixel.
    The None, Sub and Up filters (all that Chromium's optimizeForSpeed
    capture writes) are undone a whole line at a time on integers; Average
    and Paeth (RFC 2083 6) byte by byte, slowly."""
    width, height, bpp, raw = _png_read(path)
    stride = width * bpp
    lo = int.from_bytes(b"\x7f" * stride, "big")
    hi = lo ^ int.from_bytes(b"\xff" * stride, "big")  # 0x8080...
    out, prev = [], bytes(stride)
    for y in range(height if rows is None else min(rows, height)):
        ftype, line = raw[y * (stride + 1)], raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)]
        if ftype == 0:
            cur = line
        elif ftype == 2:
            cur = _add_bytes(int.from_bytes(line, "big"), int.from_bytes(prev, "big"), lo,
                             hi).to_bytes(stride, "big")
        elif ftype == 1:  # a prefix sum per channel: shifts of bpp, 2 bpp, 4 bpp...
            v, k = int.from_bytes(line, "big"), bpp
            while k < stride:
                v = _add_bytes(v, v >> (8 * k), lo, hi)
                k *= 2
            cur = v.to_bytes(stride, "big")
        else:
            cur = bytearray(line)
            for i in range(stride):
                a = cur[i - bpp] if i >= bpp else 0
                b, c = prev[i], prev[i - bpp] if i >= bpp else 0
                if ftype == 3:
                    cur[i] = (cur[i] + (a + b) // 2) & 255
                elif ftype == 4:
                    pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                    cur[i] = (cur[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
                else:
                    raise ValueError("PNG filter %d" % ftype)
            cur = bytes(cur)
        out.append(cur)
        prev = cur
    return width, height, bpp, out


def png_rows(path, rows):
    """The first rows of an 8-bit RGB or RGBA PNG as lists of (r, g, b)."""
    _, _, bpp, lines = png_decode(path, rows)
    return [[tuple(line[i:i + 3]) for i in range(0, len(line), bpp)] for line in lines]


def starts_with_header(path, rgb=(0x1f, 0x2d, 0x3d)):
    """Is the picture's top row the dashboard's header (its background
    colour across most of the width), not a blank band?"""
    row = png_rows(path, 1)[0]
    return sum(1 for px in row if px == rgb) > len(row) // 2
