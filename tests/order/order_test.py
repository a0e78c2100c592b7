#!/usr/bin/env python3
"""Capture files given out of time order (a shell glob in name order) are
read in the order of their first packet, and say so; packets that go back
in time inside a file are counted and logged, never clamped silently.

A generated capture is cut in two at a packet boundary (one call's packets
in both halves); the probe is given the halves in reverse order and must
report what it reports for the whole file. Then a file with packets moved
back in time must be named in a warning with the count.
Usage: order_test.py PROBE CAPTURE WORKDIR"""
import json
import os
import re
import shutil
import struct
import subprocess
import sys


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    head, recs, off = data[:24], [], 24
    endian = "<" if struct.unpack("<I", data[:4])[0] in (0xa1b2c3d4, 0xa1b23c4d) else ">"
    while off + 16 <= len(data):
        sec, usec, incl, orig = struct.unpack(endian + "IIII", data[off:off + 16])
        recs.append([sec, usec, data[off + 16:off + 16 + incl], orig])
        off += 16 + incl
    return head, recs, endian


def write_pcap(path, head, recs, endian):
    with open(path, "wb") as f:
        f.write(head)
        for sec, usec, pkt, orig in recs:
            f.write(struct.pack(endian + "IIII", sec, usec, len(pkt), orig) + pkt)


def run(probe, files):
    args = [probe]
    for f in files:
        args += ["-r", f]
    p = subprocess.run(args + ["--json", "-"], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, TZ="UTC"))
    if p.returncode != 0:
        raise AssertionError("probe exit %d: %s" % (p.returncode, p.stderr))
    recs = [json.loads(l) for l in p.stdout.splitlines()]
    return recs, p.stderr


def streams(recs):
    keep = ("ssrc", "packets", "first_seen", "last_seen", "lost", "media")
    return sorted(json.dumps({k: r.get(k) for k in keep}, sort_keys=True)
                  for r in recs if r["type"] == "stream")


def check(cond, what):
    if not cond:
        raise AssertionError(what)
    print("ok: " + what)


def main():
    probe, cap, work = sys.argv[1:4]
    work = os.path.join(work, "order")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    head, recs, endian = read_pcap(cap)
    half = len(recs) // 2
    first, second = os.path.join(work, "b-first.pcap"), os.path.join(work, "a-second.pcap")
    write_pcap(first, head, recs[:half], endian)
    write_pcap(second, head, recs[half:], endian)

    whole, _ = run(probe, [cap])
    check(len(streams(whole)) > 0, "the whole capture has streams (%d)" % len(streams(whole)))
    given, err = run(probe, [second, first])  # name order: a-second before b-first
    print(err.strip())
    check(streams(given) == streams(whole),
          "halves given in reverse order report what the whole file does")
    check(re.search(r"out of time order .*/b-first\.pcap first", err) is not None,
          "the log says the files were reordered")
    check("earlier than a packet already read" not in err, "no packet went back in time")

    # inside one file: move 5 packets 2 s into the past
    moved = [list(r) for r in recs]
    for r in moved[half:half + 5]:
        r[0] -= 2
    back = os.path.join(work, "backwards.pcap")
    write_pcap(back, head, moved, endian)
    _, err = run(probe, [back])
    print(err.strip())
    m = re.search(r"backwards\.pcap: (\d+) packets earlier than a packet already read "
                  r"\(up to ([0-9.]+) s back\)", err)
    check(m is not None, "packets back in time are logged with the file's name")
    check(int(m.group(1)) == 5 and 1.9 < float(m.group(2)) <= 2.0 + 1e-6,
          "counted: 5 packets, up to 2 s back")
    print("PASS")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except AssertionError as e:
        print("FAIL: %s" % e)
        sys.exit(1)
