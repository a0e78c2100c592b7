#!/usr/bin/env python3
"""pcap_pace.py IFACE FILE.pcap: sends a classic Ethernet pcap's frames on
IFACE (an AF_PACKET socket; run it inside the test's network namespace) at
the capture's own pace, each frame at start + its offset in the file.

Why not tcpreplay: tcpreplay 4.4.3 falls behind the capture's clock on a
loaded machine (late wake-ups seem to add up rather than catch up): on the
shared 2-core machine (load 7) it played 20.71 s of live_site's capture in
22.15 s (--timer nano) to 23.33 s (gtod), 7-13 % slow, which moved a burst placed 60 s in by 5 s and more. Here each
frame's time is absolute: a late wake-up sends the frames that are due at
once and the next ones are on time again.

Prints one JSON line: frames, the capture's span, the wall time it took, the
largest lateness of a frame (s), how many were over 10 ms late, and whether
it ran at real-time priority. Exit 0, or 1 on a bad file or socket.
Test tool: trusts its own input file (callscope-pcapgen's).
"""
import gc
import json
import os
import socket
import struct
import sys
import time


def frames(path):
    with open(path, "rb") as f:
        head = f.read(24)
        magic, = struct.unpack("<I", head[:4])
        if magic != 0xA1B2C3D4 or struct.unpack("<I", head[20:24])[0] != 1:
            sys.exit("pcap_pace: %s is not a little-endian microsecond Ethernet pcap" % path)
        out = []
        while True:
            h = f.read(16)
            if len(h) < 16:
                return out
            sec, usec, incl, _ = struct.unpack("<IIII", h)
            out.append((sec + usec / 1e6, f.read(incl)))


def main():
    iface, path = sys.argv[1], sys.argv[2]
    fs = frames(path)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    # A frame sent late is jitter on the wire: the probe timestamps it when
    # it arrives. At the normal priority, on the shared machine, one wake-up
    # came 0.33 s late, and the frames sent in its catch-up gave the clean
    # streams 35 ms of RFC 3550 jitter (over Teams' 30 ms). Real-time
    # priority (root; it sleeps nearly all the time) keeps the wake-ups on
    # time; the garbage collector is off in the loop (the frames are loaded).
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))
        rt = True
    except (OSError, AttributeError):
        rt = False
    gc.disable()
    t0 = fs[0][0]
    start = time.monotonic() + 0.1
    late, late10 = 0.0, 0
    for ts, data in fs:
        due = start + (ts - t0)
        now = time.monotonic()
        if due > now:
            time.sleep(due - now)
            now = time.monotonic()
        late = max(late, now - due)
        late10 += now - due > 0.010
        s.send(data)
    print(json.dumps({"frames": len(fs), "span_s": round(fs[-1][0] - t0, 3),
                      "wall_s": round(time.monotonic() - start, 3), "max_late_s": round(late, 4),
                      "late_over_10ms": late10, "realtime": rt}))


if __name__ == "__main__":
    main()
