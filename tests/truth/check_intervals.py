#!/usr/bin/env python3
"""Interval records against a reference computed here, independently of the
probe, from the packets of a generated capture (pcaps/<case>.pcap) and its
ground truth (the clock rate of each stream).

Per stream and --interval window [start, end) (windows start at the first
packet of the capture): packets, bytes, expected, lost, loss_pct,
burst_loss_max and loss_runs (runs of lost sequence numbers among those the
window added), jitter_ms_max / jitter_ms_mean / jitter_ms (RFC 3550 A.8,
first/marker/comfort-noise packets out of the maxima, as docs/metrics.md),
network_jitter_ms_max / network_jitter_ms (the same filter on arrival minus
abs-send-time), bitrate_kbps, frames and frame_rate (video), mos and r_factor
(audio, G.107 as docs/emodel.md). Counts exact, jitter within 0.002 ms, MOS
within 0.01.

With --expect-bursts a,b,c the windows that hold losses must show exactly
those longest bursts in that order: the impairment known by construction
(impair_loss_burst drops seq 100, 200-204, 300-309).

Usage: check_intervals.py PROBE CAPTURE INTERVAL_S [--expect-bursts 1,5,10]
"""
import json
import struct
import subprocess
import sys

AST_MOD = 1 << 24


def packets(path):
    """(ts_us, src, sport, dst, dport, udp payload) of the IPv4/UDP frames."""
    data = open(path, "rb").read()
    magic = struct.unpack("<I", data[:4])[0]
    assert magic == 0xA1B2C3D4, "classic little-endian microsecond pcap expected"
    linktype = struct.unpack("<I", data[20:24])[0]
    assert linktype == 1, "Ethernet captures only"
    off = 24
    while off + 16 <= len(data):
        sec, usec, incl, _ = struct.unpack("<IIII", data[off:off + 16])
        frame = data[off + 16:off + 16 + incl]
        off += 16 + incl
        eth = 12
        etype = struct.unpack(">H", frame[eth:eth + 2])[0]
        while etype in (0x8100, 0x88A8):
            eth += 4
            etype = struct.unpack(">H", frame[eth:eth + 2])[0]
        yield_ts = sec * 1000000 + usec
        if etype != 0x0800:
            yield yield_ts, None
            continue
        ip = frame[eth + 2:]
        ihl = (ip[0] & 15) * 4
        if ip[9] != 17:
            yield yield_ts, None
            continue
        src = ".".join(map(str, ip[12:16]))
        dst = ".".join(map(str, ip[16:20]))
        udp = ip[ihl:]
        sport, dport, ulen = struct.unpack(">HHH", udp[:6])
        yield yield_ts, (src, sport, dst, dport, udp[8:ulen])


class Jitter:
    """RFC 3550 A.8 filter (ms) with per-window max/sum/n of counted values."""

    def __init__(self):
        self.primed = False
        self.j = 0.0
        self.last = 0.0
        self.wmax, self.wsum, self.wn = 0.0, 0.0, 0

    def add(self, arrival_ms, media_ms, count):
        transit = arrival_ms - media_ms
        if self.primed:
            self.j += (abs(transit - self.last) - self.j) / 16.0
            if count:
                self.wmax = max(self.wmax, self.j)
                self.wsum += self.j
                self.wn += 1
        self.primed = True
        self.last = transit

    def take(self):
        r = (self.wmax, self.wsum / self.wn if self.wn else None, self.wn)
        self.wmax, self.wsum, self.wn = 0.0, 0.0, 0
        return r


class Stream:
    def __init__(self, clock, pt):
        self.clock, self.pt = clock, pt
        self.first_us = None
        self.jit, self.net = Jitter(), Jitter()
        self.first_ts = self.last_ts = None
        self.media_ms = 0.0
        self.last_cn = False
        self.ast_id = None
        self.ast_base = self.ast_last = None
        self.send = 0
        self.received = set()  # extended sequence numbers
        self.base = self.high = None
        self.cut = None  # first sequence number the current window adds
        self.lost_mark = 0
        self.w = dict(packets=0, bytes=0, frames=0)
        self.win_high = None
        self.pending, self.decided = [], False

    def ext(self, seq):
        if self.high is None:
            return seq
        e = (self.high & ~0xFFFF) | seq
        if e < self.high - 32768:
            e += 65536
        elif e > self.high + 32768:
            e -= 65536
        return e

    def packet(self, t_us, rtp, nbytes):
        b1 = rtp[1]
        marker, pt = b1 >> 7, b1 & 0x7F
        seq, ts = struct.unpack(">HI", rtp[2:8])
        cc = rtp[0] & 15
        ext_vals = {}
        hdr = 12 + 4 * cc
        if rtp[0] & 0x10:
            prof, words = struct.unpack(">HH", rtp[hdr:hdr + 4])
            body = rtp[hdr + 4:hdr + 4 + 4 * words]
            i = 0
            while prof == 0xBEDE and i < len(body):
                if body[i] == 0:
                    i += 1
                    continue
                eid, ln = body[i] >> 4, (body[i] & 15) + 1
                if ln == 3:
                    ext_vals[eid] = int.from_bytes(body[i + 1:i + 4], "big")
                i += 1 + ln
        if self.first_us is None:
            self.first_us = t_us
            if ext_vals:
                self.ast_id = min(ext_vals)  # the generator writes one: abs-send-time
        self.w["packets"] += 1
        self.w["bytes"] += nbytes
        self.w["frames"] += marker
        e = self.ext(seq)
        if self.base is None:
            self.base = self.cut = e
        self.received.add(e)
        self.high = e if self.high is None else max(self.high, e)
        # Jitter waits for the clock: the probe buffers the first 64 packets
        # (RTP_PENDING_MAX) and replays them when it decides (rtp_stream.h).
        self.pending.append((t_us, ts, marker, pt, ext_vals))
        if self.decided:
            self.feed(*self.pending.pop())
        elif len(self.pending) == 64:
            self.decided = True
            for x in self.pending:
                self.feed(*x)
            self.pending = []

    def feed(self, t_us, ts, marker, pt, ext_vals):
        arrival_ms = (t_us - self.first_us) / 1000.0
        cn = pt in (13, 19, 118)
        first = self.first_ts is None
        if first:
            self.first_ts = ts
        if ((ts - self.first_ts) & 0xFFFFFFFF) >= 0x80000000:
            self.last_cn = cn
            return
        flagged = first or marker or cn or self.last_cn
        if not first:
            d = (ts - self.last_ts) & 0xFFFFFFFF
            d = d - (1 << 32) if d >= 1 << 31 else d
            self.media_ms += d * 1000.0 / self.clock
        self.jit.add(arrival_ms, self.media_ms, not flagged)
        if self.ast_id is not None and self.ast_id in ext_vals:
            raw = ext_vals[self.ast_id]
            if self.ast_last is None:
                self.send = 0
            else:
                d = (raw - self.ast_last) & (AST_MOD - 1)
                self.send += d if d < AST_MOD // 2 else d - AST_MOD
            self.ast_last = raw
            self.net.add(arrival_ms, self.send * 1000.0 / (1 << 18), True)
        self.last_ts = ts
        self.last_cn = cn

    def take(self):
        """The window's figures, as the probe's interval record would hold."""
        exp_from = self.base if self.win_high is None else self.win_high + 1
        expected = self.high - exp_from + 1
        holes = sum(1 for e in range(self.base, self.high + 1) if e not in self.received)
        lost = max(holes - self.lost_mark, 0)
        self.lost_mark = holes
        runs, longest, run = 0, 0, 0
        for e in range(max(self.cut, self.base), self.high + 1):
            if e not in self.received:
                run += 1
            elif run:
                runs, longest, run = runs + 1, max(longest, run), 0
        self.cut = self.high + 1
        self.win_high = self.high
        jmax, jmean, jn = self.jit.take()
        nmax, _, nn = self.net.take()
        has, net = self.decided and self.jit.primed, self.decided and self.net.primed
        r = dict(self.w, expected=expected, lost=lost, burst_loss_max=longest, loss_runs=runs,
                 jitter_ms_max=jmax if has else None, jitter_ms_mean=jmean if has else None,
                 jitter_ms=self.jit.j if has else None,
                 network_jitter_ms_max=nmax if net and nn else None,
                 network_jitter_ms=self.net.j if net else None, decided=self.decided)
        self.w = dict(packets=0, bytes=0, frames=0)
        return r


def emodel_mos(pt, clock, teams, loss, burst_ratio, jitter_ms):
    """G.107 as probe/emodel.c (docs/emodel.md), one-way delay 40 ms (no RTCP)."""
    codecs = {"G.711": (0, 25.1, 20, 0), "SILK": (0, 20, 20, 5), "Opus": (0, 20, 20, 5),
              "generic": (10, 15, 20, 5), "G.722": (0, 13, 20, 2)}
    if pt in (0, 8):
        c = codecs["G.711"]
    elif pt == 9:
        c = codecs["G.722"]
    elif teams and pt in (103, 104):
        c = codecs["SILK"]
    elif clock == 48000:
        c = codecs["Opus"]
    else:
        c = codecs["generic"]
    ie, bpl, frame, look = c
    jb = max(2 * jitter_ms, frame)
    ta = 40.0 + jb + frame + look
    idd = 0.024 * ta + (0.11 * (ta - 177.3) if ta > 177.3 else 0)
    burst_ratio = max(burst_ratio, 1.0)
    ie_eff = ie + (95 - ie) * loss / (loss / burst_ratio + bpl)
    r = 93.2 - idd - ie_eff
    if r <= 0:
        m = 1.0
    elif r >= 100:
        m = 4.5
    else:
        m = max(1.0, 1 + 0.035 * r + 7e-6 * r * (r - 60) * (100 - r))
    return round(m * 100) / 100, round(max(r, 0) * 10) / 10


def main():
    probe, cap, interval = sys.argv[1], sys.argv[2], int(sys.argv[3])
    want_bursts = None
    if "--expect-bursts" in sys.argv:
        want_bursts = [int(x) for x in sys.argv[sys.argv.index("--expect-bursts") + 1].split(",")]
    truth = {(t["src_ip"], t["src_port"], t["dst_ip"], t["dst_port"], t["ssrc"]): t
             for t in json.load(open(cap + ".truth.json"))}
    out = subprocess.run([probe, "-q", "-r", cap, "--json", "-", "--interval", str(interval)],
                         capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        print("probe failed (%d): %s" % (out.returncode, out.stderr))
        return 1
    recs = [json.loads(l) for l in out.stdout.splitlines() if l.strip()]
    key = lambda r: (r["src_ip"], r["src_port"], r["dst_ip"], r["dst_port"], r["ssrc"])
    streams = {key(r): r for r in recs if r["type"] == "stream"}
    got = {}
    for r in recs:
        if r["type"] == "interval":
            got.setdefault(key(r), []).append(r)
    # reference
    ref = {k: Stream(truth[k]["clock_rate"], truth[k]["payload_type"]) for k in truth}
    windows = {k: [] for k in truth}
    t0 = nxt = None
    step = interval * 1000000
    last_t = None
    for t, p in packets(cap):
        if t0 is None:
            t0, nxt = t, t + step
        while t >= nxt:
            for k, s in ref.items():
                if s.w["packets"]:
                    windows[k].append((nxt - step, nxt, s.take()))
            nxt += step
        last_t = t
        if not p or len(p[4]) < 12 or p[4][0] >> 6 != 2 or 72 <= (p[4][1] & 0x7F) <= 76:
            continue
        k = (p[0], p[1], p[2], p[3], struct.unpack(">I", p[4][8:12])[0])
        if k in ref:
            ref[k].packet(t, p[4], len(p[4]))
    for k, s in ref.items():
        if s.w["packets"]:
            windows[k].append((nxt - step, last_t, s.take()))
    bad = checked = 0

    def fail(msg):
        nonlocal bad
        print("FAIL " + msg)
        bad += 1

    def near(a, b, tol):
        return (a is None and b is None) or (a is not None and b is not None and abs(a - b) <= tol)

    bursts_seen = []
    for k, wins in windows.items():
        recs_k = got.get(k, [])
        st = streams.get(k)
        if not st:
            fail("%s: no stream record" % (k,))
            continue
        if len(recs_k) != len(wins):
            fail("%s: %d interval records, reference %d" % (k, len(recs_k), len(wins)))
            continue
        media = truth[k]["media"]
        for r, (ws, we, w) in zip(recs_k, wins):
            checked += 1
            where = "%s [%s, %s)" % (k[1], r["start"], r["end"])
            secs = (we - ws) / 1e6
            if w["lost"]:
                bursts_seen.append(w["burst_loss_max"])
            if r["media"] != media:
                fail("%s: media %r, truth %r" % (where, r["media"], media))
            exact = ["packets", "bytes", "expected", "lost", "burst_loss_max", "loss_runs"]
            for f in exact:
                if r[f] != w[f]:
                    fail("%s: %s = %r, reference %r" % (where, f, r[f], w[f]))
            want_pct = round(100.0 * w["lost"] / w["expected"] * 1000) / 1000 if w["expected"] else 0
            if r["loss_pct"] != want_pct:
                fail("%s: loss_pct %r, reference %r" % (where, r["loss_pct"], want_pct))
            for f in ["jitter_ms_max", "jitter_ms_mean", "jitter_ms", "network_jitter_ms_max",
                      "network_jitter_ms"]:
                if not near(r[f], w[f], 0.002):
                    fail("%s: %s = %r, reference %r" % (where, f, r[f], w[f]))
            if r["bitrate_kbps"] != round(w["bytes"] * 8.0 / secs) / 1000.0:
                fail("%s: bitrate_kbps %r, reference %r" % (
                    where, r["bitrate_kbps"], round(w["bytes"] * 8.0 / secs) / 1000.0))
            if media in ("video", "screenshare"):
                want_fr = round(w["frames"] / secs * 100) / 100
                if r["frames"] != w["frames"] or r["frame_rate"] != want_fr:
                    fail("%s: frames %r frame_rate %r, reference %r %r" % (
                        where, r["frames"], r["frame_rate"], w["frames"], want_fr))
                if r["mos"] is not None:
                    fail("%s: mos %r on video" % (where, r["mos"]))
            else:
                if r["frame_rate"] is not None:
                    fail("%s: frame_rate %r on audio" % (where, r["frame_rate"]))
                if not w["decided"]:  # no clock yet: no MOS
                    if r["mos"] is not None:
                        fail("%s: mos %r before the clock is known" % (where, r["mos"]))
                    continue
                loss = 100.0 * w["lost"] / w["expected"]
                br = 1.0
                if w["loss_runs"] and loss < 100:
                    br = (w["lost"] / w["loss_runs"]) * (1 - loss / 100.0)
                mos, rf = emodel_mos(truth[k]["payload_type"], truth[k]["clock_rate"],
                                     truth[k]["app"] == "teams", loss, br,
                                     w["jitter_ms_mean"] or 0.0)
                if not near(r["mos"], mos, 0.0100001) or not near(r["r_factor"], rf, 0.10001):
                    fail("%s: mos %r r %r, reference %r %r" % (where, r["mos"], r["r_factor"],
                                                               mos, rf))
        # the windows add up to the stream record
        for f in ["packets", "bytes", "lost"]:
            if sum(x[f] for x in recs_k) != st[f]:
                fail("%s: intervals' %s sum %d, stream %d" % (k, f, sum(x[f] for x in recs_k),
                                                               st[f]))
    if want_bursts is not None and bursts_seen != want_bursts:
        fail("bursts per lossy window %r, known by construction %r" % (bursts_seen, want_bursts))
    print("%s --interval %d: %d interval records checked against the reference, %d failures"
          % (cap.split("/")[-1], interval, checked, bad))
    return 1 if bad or not checked else 0


if __name__ == "__main__":
    sys.exit(main())
