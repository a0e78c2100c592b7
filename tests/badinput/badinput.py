#!/usr/bin/env python3
"""Bad input must end in a clear error or counted drops: never a crash, a
hang or silent loss. One case per invocation (each its own ctest).
Usage: badinput.py PROBE PCAPS_DIR CASE"""
import json
import os
import random
import struct
import subprocess
import sys
import tempfile


def run(probe, args, timeout=60):
    r = subprocess.run([probe, "-q", "--json", "-"] + args, capture_output=True, text=True,
                       timeout=timeout)
    recs = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
    if r.returncode < 0 or r.returncode > 2:
        raise SystemExit("probe died: rc=%d stderr=%s" % (r.returncode, r.stderr[-2000:]))
    return r, recs


def stats_of(recs):
    s = [x for x in recs if x["type"] == "stats"]
    assert len(s) == 1, "expected exactly one stats record, got %d" % len(s)
    return s[0]


def pcap_header(snaplen=65535, linktype=1):
    return struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, linktype)


def record(data, ts=1700000000, wirelen=None):
    return struct.pack("<IIII", ts, 0, len(data), wirelen or len(data)) + data


def case_malformed(probe, d):
    cap = os.path.join(d, "malformed.pcap")
    truth = json.load(open(cap + ".truth.json"))["malformed"]
    r, recs = run(probe, ["-r", cap])
    st = stats_of(recs)
    want = {"ipv4_bad_ihl": truth["ipv4_ihl_lt_5"],
            "ipv4_bad_total_length": truth["ipv4_total_length_gt_captured"],
            "udp_bad_length": truth["udp_length_gt_datagram"],
            "tcp_bad_offset": truth["tcp_data_offset_lt_5"]}
    for k, v in want.items():
        assert st["drops"][k] == v, "%s: %d, want %d" % (k, st["drops"][k], v)
    assert st["skipped"]["ip_fragment"] == truth["ipv4_fragment"]
    assert st["drops"]["ipv6_bad_payload_length"] + st["drops"]["ipv6_ext_truncated"] == \
        truth["ipv6_truncated_ext_chain"]
    assert st["demux"]["rtp_malformed"] == truth["rtp_csrc_overrun"] + truth["rtp_ext_overrun"]
    assert st["demux"]["wrapper_malformed"] == \
        truth["turn_chdata_len_overrun"] + truth["stun_attr_overrun"]
    streams = [x for x in recs if x["type"] == "stream"]
    assert len(streams) == 1 and streams[0]["packets"] == 40, streams
    print("malformed: drops %s, skipped %s, demux malformed %d/%d; the valid stream kept "
          "all 40 packets" % (st["drops"], st["skipped"], st["demux"]["rtp_malformed"],
                              st["demux"]["wrapper_malformed"]))


def case_missing(probe, d):
    r, _ = run(probe, ["-r", "/nonexistent/call.pcap"])
    assert r.returncode == 2, r.returncode
    assert "/nonexistent/call.pcap" in r.stderr, r.stderr
    print("missing file: exit 2, %s" % r.stderr.strip())


def case_not_a_pcap(probe, d):
    with tempfile.NamedTemporaryFile(suffix=".pcap") as f:
        f.write(bytes(random.Random(7).getrandbits(8) for _ in range(4096)))
        f.flush()
        r, _ = run(probe, ["-r", f.name])
        assert r.returncode == 2 and f.name in r.stderr, (r.returncode, r.stderr)
        print("random bytes as a file: exit 2, %s" % r.stderr.strip())


def case_truncated_file(probe, d):
    src = open(os.path.join(d, "teams_audio_p2p_relay.pcap"), "rb").read()
    with tempfile.NamedTemporaryFile(suffix=".pcap") as f:
        f.write(src[: len(src) // 2 + 7])  # cut inside a record
        f.flush()
        r, recs = run(probe, ["-r", f.name])
        st = stats_of(recs)
        assert st["packets"] > 100, st["packets"]
        assert any(x["type"] == "stream" for x in recs)
        print("file cut mid-record: exit %d, %d packets before the cut reported, stderr: %s"
              % (r.returncode, st["packets"], r.stderr.strip()[:200]))


def case_corrupt_record(probe, d):
    src = bytearray(open(os.path.join(d, "teams_audio_p2p_relay.pcap"), "rb").read())
    # the 11th record's caplen field becomes huge: libpcap refuses the rest
    off = 24
    for _ in range(10):
        caplen = struct.unpack_from("<I", src, off + 8)[0]
        off += 16 + caplen
    struct.pack_into("<I", src, off + 8, 0x7FFFFFF0)
    with tempfile.NamedTemporaryFile(suffix=".pcap") as f:
        f.write(src)
        f.flush()
        r, recs = run(probe, ["-r", f.name])
        st = stats_of(recs)
        assert r.returncode == 1, r.returncode
        assert f.name in r.stderr, r.stderr
        assert st["packets"] == 10 and st["pcap"]["files_failed"] == 1, st
        print("bogus record length: exit 1, 10 good packets kept, error: %s" % r.stderr.strip())


def case_snaplen64(probe, d):
    src = open(os.path.join(d, "teams_audio_p2p_relay.pcap"), "rb").read()
    truth = json.load(open(os.path.join(d, "teams_audio_p2p_relay.pcap.truth.json")))
    out = bytearray(pcap_header(64))
    off = 24
    while off + 16 <= len(src):
        ts, us, caplen, wirelen = struct.unpack_from("<IIII", src, off)
        data = src[off + 16: off + 16 + caplen][:64]
        out += struct.pack("<IIII", ts, us, len(data), wirelen) + data
        off += 16 + caplen
    with tempfile.NamedTemporaryFile(suffix=".pcap") as f:
        f.write(out)
        f.flush()
        r, recs = run(probe, ["-r", f.name])
        st = stats_of(recs)
        assert r.returncode == 0 and st["snaplen_truncated"] > 0 and st["dropped"] == 0, st
        got = {(x["src_port"], x["ssrc"]): x["packets"] for x in recs if x["type"] == "stream"}
        for t in truth:
            assert got.get((t["src_port"], t["ssrc"])) == t["packets"], (got, t)
        print("snaplen 64: %d packets cut by snaplen, 0 dropped, both streams complete (%s)"
              % (st["snaplen_truncated"], sorted(got.values())))


def case_random_frames(probe, d):
    rng = random.Random(2026)
    out = bytearray(pcap_header())
    n = 20000
    for i in range(n):
        size = rng.choice([0, 1, 13, 14, 33, 54, 60, 200, 1500])
        frame = bytearray(rng.getrandbits(8) for _ in range(size))
        if size >= 14 and i % 2 == 0:  # half of them claim IPv4 or IPv6
            frame[12:14] = rng.choice([b"\x08\x00", b"\x86\xdd", b"\x81\x00"])
            if size > 14:
                frame[14] = rng.choice([0x45, 0x46, 0x4f, 0x60, 0x40])
        out += record(bytes(frame), ts=1700000000 + i // 100,
                      wirelen=size + rng.choice([0, 0, 100]))
    with tempfile.NamedTemporaryFile(suffix=".pcap") as f:
        f.write(out)
        f.flush()
        r, recs = run(probe, ["-r", f.name, "--min-stream-packets", "1"], timeout=300)
        st = stats_of(recs)
        assert r.returncode == 0 and st["packets"] == n, (r.returncode, st["packets"])
        accounted = st["decoded"] + st["dropped"] + sum(st["skipped"].values())
        assert accounted == n, "%d packets, %d accounted for" % (n, accounted)
        print("%d random frames: decoded %d, dropped %d %s, skipped %s" % (
            n, st["decoded"], st["dropped"],
            {k: v for k, v in st["drops"].items() if v}, st["skipped"]))


def case_empty_file(probe, d):
    with tempfile.NamedTemporaryFile(suffix=".pcap") as f:
        f.write(pcap_header())
        f.flush()
        r, recs = run(probe, ["-r", f.name])
        st = stats_of(recs)
        assert r.returncode == 0 and st["packets"] == 0
        print("header-only capture: exit 0, stats record with 0 packets")


def case_bad_option(probe, d):
    r = subprocess.run([probe, "-r", "x.pcap", "--udp-timeout", "0"], capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 2 and "--udp-timeout" in r.stderr and "1 to 3600" in r.stderr, r.stderr
    print("bad option value: exit 2, %s" % r.stderr.strip())


CASES = {k[5:]: v for k, v in globals().items() if k.startswith("case_")}

if __name__ == "__main__":
    probe, d, case = sys.argv[1], sys.argv[2], sys.argv[3]
    CASES[case](probe, d)
