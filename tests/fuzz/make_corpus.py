#!/usr/bin/env python3
"""Seed inputs for the fuzz harnesses from the project's own captures.

    tests/fuzz/make_corpus.py OUTDIR [PCAP...]     (default: pcaps/*.pcap)

Writes OUTDIR/<harness>/<capture>-<n> in each harness's input layout
(see the comment at the top of each fuzz_<name>.c and fuzz_input.h):

  decode     link-type byte + one frame (a few frames of each flow)
  demux      one UDP payload, or one TCP payload of a framed flow
  rtp        one UDP payload that starts like RTP/RTCP, or ChannelData's data
  tcp_frame  u32 initial seq + the segments of one TCP direction
  probe      link-type byte + a run of frames with their time deltas

These are raw seeds, many and redundant. The committed corpora are them
minimised by libFuzzer (bench/fuzz.sh --merge; docs/fuzzing.md).
"""
import collections
import glob
import hashlib
import os
import struct
import sys

# Index in fuzz_dlt.c's table for each DLT.
DLT_INDEX = {1: 0, 113: 1, 276: 2, 12: 3, 14: 4, 101: 5, 228: 6, 229: 7, 0: 8, 108: 9}
SNAPPED, TAG_UNIT_US = 0x1, 100
FRAMES_PER_FLOW = 3       # decode seeds per flow
PROBE_RUN = 72            # frames per probe seed
PROBE_KEEP = 24           # probe seeds keep this much of RTP payloads (flag: snapped)
PROBE_OTHER = 200         # and this much of frames that are not media
TCP_SEGMENTS = 24


def read_pcap(path):
    """(dlt, [(ts_us, frame)]) of a classic pcap file."""
    with open(path, 'rb') as f:
        data = f.read()
    magic = data[:4]
    endian = {b'\xd4\xc3\xb2\xa1': '<', b'\xa1\xb2\xc3\xd4': '>',
              b'\x4d\x3c\xb2\xa1': '<', b'\xa1\xb2\x3c\x4d': '>'}.get(magic)
    if endian is None:
        raise ValueError('%s: not a classic pcap file' % path)
    nano = magic in (b'\x4d\x3c\xb2\xa1', b'\xa1\xb2\x3c\x4d')
    dlt = struct.unpack(endian + 'I', data[20:24])[0] & 0x0FFFFFFF
    off, frames = 24, []
    while off + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack(endian + 'IIII', data[off:off + 16])
        off += 16
        frames.append((sec * 1000000 + (frac // 1000 if nano else frac), data[off:off + incl]))
        off += incl
    return dlt, frames


def l3_offset(dlt, fr):
    """Offset of the IP header, or None."""
    if dlt == 1:
        off, etype = 14, struct.unpack('>H', fr[12:14])[0] if len(fr) >= 14 else 0
        while etype in (0x8100, 0x88A8, 0x9100) and len(fr) >= off + 4:
            etype = struct.unpack('>H', fr[off + 2:off + 4])[0]
            off += 4
        return off if etype in (0x0800, 0x86DD) else None
    return {113: 16, 276: 20, 0: 4, 108: 4}.get(dlt, 0)


def l4(dlt, fr):
    """(proto, key, seq, payload) of a UDP/TCP frame, or None; payload is a
    memoryview into fr."""
    off = l3_offset(dlt, fr)
    if off is None or len(fr) < off + 20:
        return None
    ver = fr[off] >> 4
    if ver == 4:
        ihl, total, proto = (fr[off] & 15) * 4, struct.unpack('>H', fr[off + 2:off + 4])[0], fr[off + 9]
        addrs, body, end = fr[off + 12:off + 20], off + ihl, off + total
    elif ver == 6 and len(fr) >= off + 40:
        proto, addrs = fr[off + 6], fr[off + 8:off + 40]
        body, end = off + 40, off + 40 + struct.unpack('>H', fr[off + 4:off + 6])[0]
    else:
        return None
    seg = memoryview(fr)[body:end]
    if proto == 17 and len(seg) >= 8:
        return 'udp', addrs + bytes(seg[:4]), 0, seg[8:]
    if proto == 6 and len(seg) >= 20:
        return 'tcp', addrs + bytes(seg[:4]), struct.unpack('>I', seg[4:8])[0], seg[(seg[12] >> 4) * 4:]
    return None


def record(data, tag, flags=0):
    """One fuzz_input.h record."""
    data = data[:0x0FFF]
    return struct.pack('>Hh', (flags << 12) | len(data), max(-32768, min(32767, tag))) + data


class Seeds:
    def __init__(self, outdir):
        self.outdir, self.count = outdir, collections.Counter()

    def add(self, harness, name, data):
        d = os.path.join(self.outdir, harness)
        os.makedirs(d, exist_ok=True)
        h = hashlib.sha1(data).hexdigest()[:12]
        with open(os.path.join(d, '%s-%s' % (name, h)), 'wb') as f:
            f.write(data)
        self.count[harness] += 1


def seed_capture(seeds, path):
    name = os.path.basename(path).rsplit('.', 1)[0]
    dlt, frames = read_pcap(path)
    if dlt not in DLT_INDEX:
        return
    dbyte = bytes([DLT_INDEX[dlt]])
    per_flow = collections.Counter()
    tcp_dirs = collections.defaultdict(list)
    for ts, fr in frames:
        p = l4(dlt, fr)
        key = p[1] if p else fr[:16]
        per_flow[key] += 1
        if per_flow[key] <= FRAMES_PER_FLOW or name == 'malformed':
            seeds.add('decode', name, dbyte + fr)
        if not p or not p[3]:
            continue
        proto, key, seq, payload = p
        if proto == 'udp' and per_flow[key] <= 8:
            seeds.add('demux', name, payload)
            if 128 <= payload[0] <= 191:
                seeds.add('rtp', name, payload)
            elif 64 <= payload[0] <= 79 and len(payload) > 4:
                seeds.add('rtp', name, payload[4:4 + struct.unpack('>H', payload[2:4])[0]])
        if proto == 'tcp':
            tcp_dirs[key].append((seq, payload))
            if len(tcp_dirs[key]) <= 4:
                seeds.add('demux', name, payload[2:])  # past the RFC 4571 length
    for segs in tcp_dirs.values():
        segs = segs[:TCP_SEGMENTS]
        out, nxt = struct.pack('>I', segs[0][0]), segs[0][0]
        for seq, payload in segs:
            out += record(payload, (seq - nxt + 2**31) % 2**32 - 2**31)
            nxt = seq + len(payload)
        seeds.add('tcp_frame', name, out)
    # the whole pipeline: the first frames, RTP cut short to keep seeds small
    # (not the bench capture: big video in ChannelData, nothing new)
    if name.startswith('bench'):
        return
    out, prev = dbyte, None
    for ts, fr in frames[:PROBE_RUN]:
        tag = 0 if prev is None else (ts - prev) // TAG_UNIT_US
        prev = ts
        p = l4(dlt, fr)
        keep = len(fr)
        first = p[3][0] if p and len(p[3]) else None
        if p and p[0] == 'udp' and first is not None and 128 <= first <= 191:
            keep = min(keep, len(fr) - len(p[3]) + PROBE_KEEP)
        elif not (p and (p[0] == 'tcp' or first is None or first <= 3 or 64 <= first <= 79)):
            keep = min(keep, PROBE_OTHER)  # TCP, STUN and ChannelData stay whole
        out += record(fr[:keep], tag, SNAPPED if keep < len(fr) else 0)
    seeds.add('probe', name, out)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..')
    caps = sys.argv[2:] or sorted(glob.glob(os.path.join(root, 'pcaps', '*.pcap')))
    seeds = Seeds(sys.argv[1])
    for cap in caps:
        seed_capture(seeds, cap)
    for h, n in sorted(seeds.count.items()):
        print('%-10s %5d seeds' % (h, n))


if __name__ == '__main__':
    main()
