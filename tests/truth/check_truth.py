#!/usr/bin/env python3
"""Replay a generated capture through callscope-probe and compare every RTP
stream with the generator's ground truth (pcaps/<case>.pcap.truth.json).

Counts must be exact; jitter within 5 % or 0.1 ms of the reference the
generator computed (RFC 3550 A.8 over the on-wire order).
Usage: check_truth.py PROBE CAPTURE [probe options...]
"""
import json
import subprocess
import sys

EXACT = ["packets", "expected", "lost", "duplicates", "max_burst_loss", "burst_count",
         "payload_type", "app", "media", "encap", "vlan"]
NEAR = [("jitter_ms_max", "jitter_ms_max_ref"), ("jitter_ms_final", "jitter_ms_final_ref"),
        ("network_jitter_ms_max", "network_jitter_ms_max_ref")]


def key(r):
    return (r["src_ip"], r["src_port"], r["dst_ip"], r["dst_port"], r["ssrc"])


def near(got, want):
    if got is None:
        return False
    return abs(got - want) <= max(0.05 * abs(want), 0.1)


def main():
    probe, cap = sys.argv[1], sys.argv[2]
    truth = json.load(open(cap + ".truth.json"))
    out = subprocess.run([probe, "-r", cap, "--json", "-", "-q"] + sys.argv[3:],
                         capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        print("probe failed (%d): %s" % (out.returncode, out.stderr))
        return 1
    recs = [json.loads(l) for l in out.stdout.splitlines() if l.strip()]
    streams = {key(r): r for r in recs if r["type"] == "stream"}
    bad = 0
    for t in truth:
        k = key(t)
        s = streams.pop(k, None)
        if s is None:
            print("MISSING stream %s" % (k,))
            bad += 1
            continue
        for f in EXACT:
            if f in t and s.get(f) != t[f]:
                print("%s: %s = %r, truth %r" % (k, f, s.get(f), t[f]))
                bad += 1
        for f, ref in NEAR:
            if ref in t and t[ref] is not None and not near(s.get(f), t[ref]):
                print("%s: %s = %r, reference %r" % (k, f, s.get(f), t[ref]))
                bad += 1
    for k in streams:
        print("EXTRA stream %s" % (k,))
        bad += 1
    print("%s: %d streams checked, %d mismatches" % (cap, len(truth), bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
