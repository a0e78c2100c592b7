#!/usr/bin/env python3
"""Graph call records matching the verdict scenario captures (pcaps/verdict_*.pcap).

    gen_records.py PCAPS_DIR            writes PCAPS_DIR/verdict_<name>.graph.json

Addresses, ports and times are read from each capture itself (its truth file
for the 5-tuple, the pcap's first and last packet for the times), so the
records always agree with what the probe replays. Each record is a meeting
(groupCall): one session per participant, the participant as caller, the
conferencing service as callee, as Graph reports meetings (FACTS.md §1).
Output is deterministic (fixed ids, sorted keys).
"""
import datetime
import json
import os
import struct
import sys

# name -> what Graph says about it, and the verdict the correlation must reach.
# Graph figures: loss fractions, durations in seconds.
SCENARIOS = {
    "healthy": {"expect": ("healthy", "joined"), "rule": "clean"},
    "lan": {"out": {"loss": 0.05}, "expect": ("lan", "joined"), "rule": "between the client and the probe"},
    "wan": {"in": {"loss": 0.05}, "expect": ("wan", "joined"), "rule": "before the site"},
    "wan_beyond": {"out": {"loss": 0.06, "jitter": 0.018}, "expect": ("wan", "joined"),
                   "rule": "beyond the probe"},
    "endpoint": {"device": {"cpuInsufficentEventRatio": 0.35, "deviceGlitchEventRatio": None,
                            "micGlitchRate": 40.0, "lowSpeechLevelEventRatio": 0.2},
                 "expect": ("endpoint", "joined"), "rule": "device events"},
    "cloud": {"far": {"loss": 0.08, "jitter": 0.045}, "expect": ("cloud", "joined"),
              "rule": "far participant"},
    "wire_only": {"graph": False, "expect": ("lan", "wire-only"), "rule": "between the client and the probe"},
}

RELAY_PORT = 3478
NAT_IP = "198.51.100.7"  # the generator's NAT (reflexive) address
FAR_IP = "192.0.2.44"    # a participant at another site, seen by no probe


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"  # 7 fractional digits, as Graph


def dur(s):
    return "PT%.3fS" % s


def pcap_span(path):
    """(first, last) packet time of a classic pcap, as UTC datetimes."""
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    end = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    nano = magic in (0xA1B23C4D, 0x4D3CB2A1)
    off, times = 24, []
    while off + 16 <= len(data):
        sec, frac, caplen, _ = struct.unpack(end + "IIII", data[off:off + 16])
        times.append(sec + frac / (1e9 if nano else 1e6))
        off += 16 + caplen
    utc = datetime.timezone.utc
    return (datetime.datetime.fromtimestamp(min(times), utc),
            datetime.datetime.fromtimestamp(max(times), utc))


def stream(direction, fig):
    fig = fig or {}
    loss, jitter = fig.get("loss", 0.002), fig.get("jitter", 0.004)
    return {"streamId": "%d" % (1000 + (direction == "calleeToCaller")),
            "streamDirection": direction, "startDateTime": None, "endDateTime": None,
            "averageJitter": dur(jitter), "maxJitter": dur(jitter * 2),
            "averageRoundTripTime": dur(0.045), "maxRoundTripTime": dur(0.080),
            "averagePacketLossRate": loss, "maxPacketLossRate": min(1.0, loss * 2),
            "averageRatioOfConcealedSamples": 0.01 + loss / 2, "averageAudioDegradation": None,
            "packetUtilization": 750, "wasMediaBypassed": False, "audioCodec": "silkWide"}


def person(n):
    return {"id": "a11ce000-0000-4000-8000-%012d" % n, "displayName": "Verdict Tester %d" % n,
            "tenantId": "0d15ea5e-0000-4000-8000-00000000c0de",
            "userPrincipalName": "verdict.tester%d@contoso.example" % n}


def client(n):
    return {"@odata.type": "#microsoft.graph.callRecords.participantEndpoint",
            "name": "LAPTOP-VT%d" % n, "associatedIdentity": person(n),
            "userAgent": {"@odata.type": "#microsoft.graph.callRecords.clientUserAgent",
                          "headerValue": "releases/CL2025.R25", "platform": "windows",
                          "productFamily": "teams"},
            "feedback": {"rating": "notRated", "tokens": {}}}


SERVICE = {"@odata.type": "#microsoft.graph.callRecords.serviceEndpoint",
           "userAgent": {"@odata.type": "#microsoft.graph.callRecords.serviceUserAgent",
                         "headerValue": None, "role": "skypeForBusinessAudioVideoMcu"}}


def session(sid, n, ip, port, refl, relay, start, end, out, inn, device):
    net = {"ipAddress": ip, "port": port, "reflexiveIPAddress": refl, "relayIPAddress": relay,
           "relayPort": RELAY_PORT, "subnet": ".".join(ip.split(".")[:3]) + ".0",
           "macAddress": "02-00-00-00-%02X-%02X" % (n, n), "connectionType": "wifi",
           "basicServiceSetIdentifier": "a8:bd:27:00:%02x:10" % (n % 4),
           "wifiBand": "frequency50GHz", "wifiSignalStrength": 80, "linkSpeed": 866000000}
    seg = {"id": sid, "startDateTime": iso(start), "endDateTime": iso(end),
           "caller": client(n), "callee": SERVICE,
           "media": [{"label": "main-audio", "callerNetwork": net,
                      "calleeNetwork": {"ipAddress": "", "port": None},
                      "callerDevice": dict({"captureDeviceName": "Headset of Tester %d" % n,
                                            "renderDeviceName": "Headset of Tester %d" % n},
                                           **(device or {})),
                      "calleeDevice": {},
                      "streams": [stream("callerToCallee", out), stream("calleeToCaller", inn)]}]}
    return {"id": sid, "modalities": ["audio"], "startDateTime": iso(start),
            "endDateTime": iso(end), "isTest": False, "caller": seg["caller"],
            "callee": SERVICE, "segments": [seg]}


def record(pcaps, name, version=1):
    sc = SCENARIOS[name]
    cap = os.path.join(pcaps, "verdict_%s.pcap" % name)
    truth = json.load(open(cap + ".truth.json"))
    out = next(t for t in truth if t["dst_port"] == RELAY_PORT)
    first, last = pcap_span(cap)
    start = first - datetime.timedelta(seconds=2)
    end = last + datetime.timedelta(seconds=1)
    n = list(SCENARIOS).index(name) + 1
    rid = "e2e0000%d-0000-4000-8000-%012d" % (n, n)
    sessions = [session(rid + "-s0", 10 + n, out["src_ip"], out["src_port"], NAT_IP,
                        out["dst_ip"], start, end, sc.get("out"), sc.get("in"), sc.get("device"))]
    if "far" in sc:
        sessions.append(session(rid + "-s1", 60 + n, FAR_IP, 50012, FAR_IP, "52.113.10.99",
                                start, end, sc["far"], sc["far"], None))
    return {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#communications/"
                              "callRecords/$entity",
            "id": rid, "version": version, "type": "groupCall", "modalities": ["audio"],
            "lastModifiedDateTime": iso(end + datetime.timedelta(minutes=15 * version)),
            "startDateTime": iso(start), "endDateTime": iso(end), "joinWebUrl": None,
            "organizer_v2": {"id": person(10 + n)["id"],
                             "identity": {"user": person(10 + n)}},
            "sessions": sessions}


def pii_of(rec):
    """Every personal string a record carries (for the no-PII-in-logs checks)."""
    found = set()

    def walk(x, key=""):
        if isinstance(x, dict):
            for k, v in x.items():
                walk(v, k)
        elif isinstance(x, list):
            for v in x:
                walk(v, key)
        elif isinstance(x, str) and key in ("displayName", "userPrincipalName", "ipAddress",
                                            "reflexiveIPAddress", "macAddress", "name",
                                            "captureDeviceName", "renderDeviceName") and x:
            found.add(x)
    walk(rec)
    return found


def main():
    pcaps = sys.argv[1]
    for name, sc in SCENARIOS.items():
        if sc.get("graph", True):
            path = os.path.join(pcaps, "verdict_%s.graph.json" % name)
            with open(path, "w") as f:
                json.dump(record(pcaps, name), f, indent=1, sort_keys=True)
                f.write("\n")


if __name__ == "__main__":
    main()
