#!/usr/bin/env python3
"""Stream-by-stream parity of callscope-probe against tshark 4.0 `-z rtp,streams`.

Usage: tshark_parity.py PROBE CAPTURE [-v]

Streams are keyed on (src ip, src port, dst ip, dst port, SSRC), as tshark
keys them. For every stream both tools report:

  * packets:  probe `packets` == tshark Pkts
  * loss:     probe `lost - duplicates` == tshark Lost (tshark: expected - received,
              so duplicates make it negative; probe: sequence numbers never seen)
  * jitter:   only where tshark knows the clock from its static table (it then
              prints a Min Jitter other than -1) and the probe uses the same
              static clock: probe `jitter_ms_max` within 5 % or 0.1 ms of
              tshark's Max Jitter.

Known, documented differences (docs/metrics.md) are excused one by one, only
when the evidence for them is found in the capture; every excuse is printed
with the numbers it excused. Anything else is a mismatch: exit status 1.
Exit 77 (ctest SKIP_RETURN_CODE) if tshark or the capture is missing.

The last line is the table row:
  PARITY <capture> streams=T/P matched=M pkts_eq=a/M loss_eq=b/M jitter=w/c exc=E FAIL|ok
"""
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys

JIT_REL, JIT_ABS = 0.05, 0.1
# tshark 4.0's static clock table (payload types < 96); others give 0.
STATIC = {0: 8000, 1: 8000, 2: 8000, 3: 8000, 4: 8000, 5: 8000, 6: 16000, 7: 8000, 8: 8000,
          9: 8000, 10: 44100, 11: 44100, 12: 8000, 13: 8000, 14: 90000, 15: 8000, 16: 11025,
          17: 22050, 18: 8000, 19: 8000, 25: 90000, 26: 90000, 28: 90000, 31: 90000,
          32: 90000, 33: 90000, 34: 90000}
ROW = re.compile(r'^\s*([\d.]+)\s+([\d.]+)\s+(\S+)\s+(\d+)\s+(\S+)\s+(\d+)\s+0x([0-9A-F]{8})\s+'
                 r'(.*?)\s+(\d+)\s+(-?\d+) \((-?[\d.]+)%\)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)'
                 r'\s+(\S+)\s+(\S+)\s*(X?)$')
ENV = dict(os.environ, LC_ALL='C')


def ip(s):
    try:
        return str(ipaddress.ip_address(s))
    except ValueError:
        return s


def decode_as(cap):
    """`-d` options of the reference variant recorded next to the capture
    (F.tshark-rtp-streams.txt, "REFERENCE variant used in MANIFEST: decode-as...")."""
    ref = cap + '.tshark-rtp-streams.txt'
    if not os.path.isfile(ref):
        return []
    text = open(ref, encoding='utf-8', errors='replace').read()
    m = re.search(r'^## REFERENCE variant used in MANIFEST: (decode-as\S*)', text, re.M)
    if not m:
        return []
    blk = re.search(r'^## Variant: %s\n## Command: (.*)$' % re.escape(m.group(1)), text, re.M)
    if not blk:
        return []
    args = blk.group(1).split()
    return [x for i, x in enumerate(args) if x == '-d' or (i and args[i - 1] == '-d')]


def tshark_streams(cap, extra=()):
    cmd = ['tshark', '-q', '-n', '-o', 'rtp.heuristic_rtp:TRUE'] + list(extra) + \
          ['-r', cap, '-z', 'rtp,streams']
    r = subprocess.run(cmd, capture_output=True, text=True, env=ENV)
    if r.returncode != 0:
        sys.exit('tshark failed (%d): %s' % (r.returncode, r.stderr.strip()))
    out = {}
    for line in r.stdout.splitlines():
        m = ROW.match(line)
        if not m:
            continue
        g = m.groups()
        key = (ip(g[2]), int(g[3]), ip(g[4]), int(g[5]), int(g[6], 16))
        out[key] = dict(payload=g[7], pkts=int(g[8]), lost=int(g[9]), min_jit=float(g[14]),
                        mean_jit=float(g[15]), max_jit=float(g[16]), problem=g[17] == 'X',
                        max_delta=float(g[13]))
    return out


def probe_streams(probe, cap):
    # tshark never closes a stream; the probe ends idle flows, so raise its
    # timeouts to the maximum to keep one record per stream.
    cmd = [probe, '-r', cap, '--json', '-', '-q', '--min-stream-packets', '1',
           '--udp-timeout', '3600', '--tcp-timeout', '3600']
    r = subprocess.run(cmd, capture_output=True, text=True, env=ENV)
    if r.returncode != 0:
        sys.exit('probe failed (%d): %s' % (r.returncode, r.stderr.strip()))
    out, split = {}, {}
    for line in r.stdout.splitlines():
        rec = json.loads(line)
        if rec.get('type') != 'stream':
            continue
        key = (ip(rec['src_ip']), rec['src_port'], ip(rec['dst_ip']), rec['dst_port'], rec['ssrc'])
        if key in out:
            split.setdefault(key, [out[key]]).append(rec)
        out[key] = rec
    return out, split


class Packets:
    """Per-packet RTP fields from tshark, fetched only to check an excuse."""

    def __init__(self, cap, extra=()):
        self.cap, self.by_key, self.extra = cap, None, list(extra)

    def get(self, key):
        if self.by_key is None:
            self.by_key = {}
            flds = ['frame.time_relative', 'ip.src', 'ipv6.src', 'udp.srcport', 'tcp.srcport',
                    'ip.dst', 'ipv6.dst', 'udp.dstport', 'tcp.dstport', 'rtp.ssrc', 'rtp.seq',
                    'rtp.timestamp', 'rtp.p_type', 'rtp.marker', 'icmp.type', 'icmpv6.type']
            cmd = ['tshark', '-n', '-o', 'rtp.heuristic_rtp:TRUE'] + self.extra + \
                  ['-r', self.cap, '-Y', 'rtp',
                   '-T', 'fields', '-E', 'separator=;', '-E', 'occurrence=a',
                   '-E', 'aggregator=|']
            for f in flds:
                cmd += ['-e', f]
            out = subprocess.run(cmd, capture_output=True, text=True, env=ENV).stdout
            for line in out.splitlines():
                p = line.split(';')
                if len(p) != len(flds):
                    continue
                first = [x.split('|')[0] for x in p]
                src, dst = ip(first[1] or first[2]), ip(first[5] or first[6])
                sp, dp = first[3] or first[4], first[7] or first[8]
                icmp = bool(p[14] or p[15])
                sec, _, frac = p[0].partition('.')
                t = int(sec) * 1000.0 + int(frac.ljust(9, '0')) / 1e6
                for ssrc, seq, ts, pt, mk in zip(*(x.split('|') for x in p[9:14])):
                    if not seq or not sp:
                        continue
                    k = (src, int(sp), dst, int(dp), int(ssrc, 16))
                    self.by_key.setdefault(k, []).append(
                        dict(t=t, seq=int(seq), ts=int(ts), pt=int(pt),
                             marker=mk in ('1', 'True'), icmp=icmp))
        return self.by_key.get(key, [])


def ext_seqs(pkts):
    """Extend 16-bit sequence numbers (nearest to the previous one)."""
    out, last = [], None
    for p in pkts:
        s = p['seq']
        if last is None:
            e = s + 65536
        else:
            d = (s - (last & 0xFFFF) + 32768) % 65536 - 32768
            e = last + d
        out.append(e)
        last = e
    return out


class Check:
    def __init__(self, cap, verbose):
        self.cap, self.verbose = os.path.basename(cap), verbose
        self.mismatches, self.exceptions = [], []

    def fail(self, key, msg):
        self.mismatches.append('MISMATCH %s %s: %s' % (self.cap, fmt(key), msg))

    def excuse(self, key, what, msg):
        self.exceptions.append('EXCUSED  %s %s [%s]: %s' % (self.cap, fmt(key), what, msg))


def fmt(key):
    if key is None:
        return '(capture)'
    return '%s:%d>%s:%d/0x%08x' % key


def main():
    args = [a for a in sys.argv[1:] if a != '-v']
    verbose = '-v' in sys.argv[1:]
    if len(args) != 2:
        sys.exit(__doc__)
    probe, cap = args
    name = os.path.basename(cap)
    if shutil.which('tshark') is None:
        print('SKIP %s: tshark not installed' % name)
        return 77
    if not os.path.isfile(cap):
        print('SKIP %s: capture absent (%s)' % (name, cap))
        return 77
    dec = decode_as(cap)
    T = tshark_streams(cap, dec)
    P, split = probe_streams(probe, cap)
    pk = Packets(cap, dec)
    c = Check(cap, verbose)
    if dec:
        c.excuse(None, 'decode-as', 'tshark finds no RTP here by heuristics; the '
                 'reference variant (%s.tshark-rtp-streams.txt) adds %s' % (name, ' '.join(dec)))
    for key, recs in split.items():
        c.fail(key, 'probe reported the stream %d times (flow closed and reopened)' % len(recs))

    # ---- stream sets ------------------------------------------------------
    for key in sorted(set(T) - set(P), key=str):
        t = T[key]
        c.fail(key, 'only tshark has it (%d pkts, %s)' % (t['pkts'], t['payload']))
    for key in sorted(set(P) - set(T), key=str):
        p = P[key]
        pkts = pk.get(key)
        if pkts and all(x['icmp'] for x in pkts) and p['packets'] == len(pkts):
            c.excuse(key, 'icmp-quoted', 'probe stream of %d pkt(s) is RTP quoted inside ICMP '
                     'errors; tshark does not tap in-error packets' % len(pkts))
            continue
        if p.get('encap') == 'tcp_rfc4571' and p.get('proto') == 'tcp' and not pkts \
                and p['packets'] >= 2:
            n = rfc4571_count(cap, key)
            if n == p['packets']:
                c.excuse(key, 'tcp-rfc4571', 'RTP in RFC 4571 framing over TCP (%d pkts, pt %d); '
                         'tshark 4.0 has no RFC 4571 dissector, the byte stream parsed here has '
                         '%d RTP frames of this SSRC' % (p['packets'], p['payload_type'], n))
                continue
        c.fail(key, 'only the probe has it (%d pkts, pt %d, %s/%s, nDPI %s)'
               % (p['packets'], p['payload_type'], p.get('proto'), p.get('encap'), p.get('ndpi')))

    matched = sorted(set(T) & set(P), key=str)
    n_pk = n_loss = n_jc = n_jw = 0
    for key in matched:
        t, p = T[key], P[key]
        # ---- packets --------------------------------------------------------
        if t['pkts'] == p['packets']:
            n_pk += 1
        else:
            c.fail(key, 'packets tshark %d probe %d' % (t['pkts'], p['packets']))
        # ---- loss -----------------------------------------------------------
        ours = p['lost'] - p['duplicates']
        if ours == t['lost']:
            n_loss += 1
        else:
            why = explain_loss(key, t, p, pk)
            if why:
                c.excuse(key, why[0], why[1])
            else:
                c.fail(key, 'loss: tshark Lost %d, probe lost %d - duplicates %d = %d'
                       % (t['lost'], p['lost'], p['duplicates'], ours))
        # ---- jitter ---------------------------------------------------------
        if t['min_jit'] == -1.0:
            continue  # tshark has no clock for this stream: nothing to compare
        pt = p['payload_type']
        if pt >= 96 or pt not in STATIC:
            c.excuse(key, 'sdp-clock', 'tshark has a clock for payload "%s" (from SDP), the probe '
                     'cannot know it (pt %d, probe clock %s%s); jitter not compared'
                     % (t['payload'], pt, p['clock_rate'],
                        ' inferred' if p['clock_inferred'] else ''))
            continue
        if p['jitter_ms_max'] is None:
            c.fail(key, 'jitter: tshark Max Jitter %.3f, probe has none (clock %s)'
                   % (t['max_jit'], p['clock_rate']))
            continue
        n_jc += 1
        a, b = t['max_jit'], p['jitter_ms_max']
        if abs(a - b) <= max(JIT_ABS, JIT_REL * abs(a)):
            n_jw += 1
            continue
        why = explain_jitter(key, t, p, pk)
        if why:
            c.excuse(key, why[0], why[1])
        else:
            c.fail(key, 'jitter: tshark Max Jitter %.3f, probe jitter_ms_max %.3f' % (a, b))

    for line in c.exceptions + c.mismatches:
        print(line)
    status = 'FAIL' if c.mismatches else 'ok'
    print('PARITY %s streams=%d/%d matched=%d pkts_eq=%d/%d loss_eq=%d/%d jitter=%d/%d exc=%d %s'
          % (name, len(T), len(P), len(matched), n_pk, len(matched), n_loss, len(matched),
             n_jw, n_jc, len(c.exceptions), status))
    return 1 if c.mismatches else 0


def tshark_model(pkts, clock_of, exact=False):
    """tshark 4.0 rtppacket_analyse (see docs/metrics.md): returns (Lost, Max Jitter).
    clock_of(pt) gives the clock; exact=True divides by clock/1000.0 instead of
    tshark's integer clock/1000."""
    st = None
    for p in pkts:
        if p['icmp']:
            continue
        seq, ts, pt, now = p['seq'], p['ts'], p['pt'], p['t']
        if st is None:
            st = dict(start=seq, stop=seq, seqn=seq, time=now, fts=ts, lastnom=0.0, jit=0.0,
                      maxj=0.0, cycles=0, under=False, total=1, pt=pt)
            continue
        ft = st['fts']
        its = (ft <= ts and ts - ft < 0x80000000) or (ft > ts and (0xFFFFFFFF - ft) + ts < 0x80000000)
        if seq < st['start'] and its and not st['under']:
            st['cycles'] += 1
            st['under'] = True
        elif seq == 0 and st['stop'] == 65535 and its and not st['under']:
            st['cycles'] += 1
            st['under'] = True
        elif seq > st['start'] and its and st['under']:
            st['under'] = False
        sn = st['seqn']
        if its and (sn + 1 == seq or (sn == 65535 and seq == 0) or sn + 1 < seq or sn - seq > 0xFF00):
            st['seqn'] = seq
        skip = (not its) or p['marker'] or pt in (13, 19) or st['pt'] in (13, 19)
        st['pt'] = pt
        cr = clock_of(pt)
        if its and cr:
            nom = float((ts - ft) % (1 << 32)) / (cr / 1000.0 if exact else cr // 1000)
            diff = abs(now - (st['time'] + (nom - st['lastnom'])))
            st['jit'] = (15 * st['jit'] + diff) / 16
            st['lastnom'] = nom
        if not skip and cr and st['jit'] > st['maxj']:
            st['maxj'] = st['jit']
        if its:
            st['time'] = now
        st['stop'] = seq
        st['total'] += 1
    if st is None:
        return None, None
    expected = (st['stop'] + st['cycles'] * 0x10000) - st['start'] + 1
    return expected - st['total'], st['maxj']


def near(a, b):
    return abs(a - b) <= max(JIT_ABS, JIT_REL * abs(a))


def jumps(pkts):
    """Sequence discontinuities a source restart or jump would cause."""
    out, last = [], None
    for p in pkts:
        if p['icmp']:
            continue
        if last is not None:
            d = (p['seq'] - last) % 65536
            if 3000 <= d <= 65536 - 100:
                out.append('%d->%d' % (last, p['seq']))
        last = p['seq']
    return out


def explain_loss(key, t, p, pk):
    pkts = pk.get(key)
    ours = p['lost'] - p['duplicates']
    if not pkts:
        return None
    # 1. the probe saw a restart/jump (RFC 3550 A.1 MAX_DROPOUT / bad_seq):
    #    it closes the epoch and does not count the gap; tshark counts a reset
    #    below the first seq as a wrap and a jump forward as lost.
    j = jumps(pkts)
    if j and (p['seq_restarts'] or p['seq_jumps']):
        return ('seq-restart', 'sequence discontinuities %s (probe seq_restarts=%d seq_jumps=%d): '
                'tshark Lost %d, probe lost-duplicates %d' % (', '.join(j[:4]), p['seq_restarts'],
                                                              p['seq_jumps'], t['lost'], ours))
    # 2. the last packet is late: tshark's expected ends at the LAST seq, ours at the highest.
    ext = ext_seqs([x for x in pkts if not x['icmp']])
    short = max(ext) - ext[-1]
    if short > 0 and t['lost'] + short == ours:
        return ('last-late', 'last packet (seq %d) is %d behind the highest: tshark expected '
                'stops at the last seq, ours at the highest; tshark Lost %d + %d = probe %d'
                % (ext[-1] & 0xFFFF, short, t['lost'], short, ours))
    return None


def explain_jitter(key, t, p, pk):
    pkts = pk.get(key)
    if not pkts:
        return None
    audio = p['clock_rate']
    base = lambda pt: STATIC.get(pt, 0) if pt < 96 else 0
    _, m0 = tshark_model(pkts, base)
    if m0 is None or not near(t['max_jit'], m0):
        return None  # the model does not reproduce tshark here: do not excuse
    b = p['jitter_ms_max']
    dyn = sorted({x['pt'] for x in pkts if x['pt'] >= 96})
    # 1. telephone-event (RFC 4733) packets: tshark 4.0 gives them clock 0, so its
    #    arrival reference advances while its RTP-time reference does not; the
    #    probe runs them on the stream clock.
    if dyn and 'telephone-event' in t['payload']:
        _, m1 = tshark_model(pkts, lambda pt: audio if pt >= 96 else base(pt))
        if near(m1, b):
            n = sum(1 for x in pkts if x['pt'] >= 96)
            return ('telephone-event', '%d pkts of pt %s in the stream; tshark Max Jitter %.3f, '
                    'tshark model with those at %d Hz %.3f = probe %.3f'
                    % (n, dyn, t['max_jit'], audio, m1, b))
    # 2. tshark divides the timestamp by clock/1000 in integer arithmetic
    #    (44100 -> 44, 11025 -> 11, 22050 -> 22).
    if any(base(x['pt']) % 1000 for x in pkts):
        _, m2 = tshark_model(pkts, base, exact=True)
        if near(m2, b):
            return ('clock-int-div', 'tshark divides by clock/1000 as an integer; with the exact '
                    'clock its model gives %.3f = probe %.3f (tshark %.3f)' % (m2, b, t['max_jit']))
    return None


def rfc4571_count(cap, key):
    """Count RTP frames of `key` in an RFC 4571 (2-byte length) TCP byte stream."""
    src, sp, dst, dp, ssrc = key
    fam = 'ipv6' if ':' in src else 'ip'
    flt = '%s.src==%s && %s.dst==%s && tcp.srcport==%d && tcp.dstport==%d && tcp.len>0' % (
        fam, src, fam, dst, sp, dp)
    cmd = ['tshark', '-n', '-r', cap, '-Y', flt, '-T', 'fields', '-e', 'tcp.seq_raw',
           '-e', 'tcp.payload']
    out = subprocess.run(cmd, capture_output=True, text=True, env=ENV).stdout
    segs = {}
    for line in out.splitlines():
        sq, _, hexd = line.partition('\t')
        if hexd:
            segs.setdefault(int(sq), bytes.fromhex(hexd))
    data, nxt = b'', None
    for sq in sorted(segs):
        d = segs[sq]
        if nxt is not None and sq < nxt:
            d = d[nxt - sq:]
        data += d
        nxt = max(nxt or 0, sq + len(segs[sq]))
    n, i = 0, 0
    while i + 2 <= len(data):
        ln = int.from_bytes(data[i:i + 2], 'big')
        f = data[i + 2:i + 2 + ln]
        if len(f) >= 12 and f[0] >> 6 == 2 and not 72 <= (f[1] & 0x7F) <= 76 \
                and int.from_bytes(f[8:12], 'big') == ssrc:
            n += 1
        i += 2 + ln
    return n


if __name__ == '__main__':
    sys.exit(main())
