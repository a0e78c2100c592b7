"""The NOC tests' scenario, shared by tests/noc/people_test.py,
tests/noc/noc_test.py and tests/pg/noc_pg_pair.py (Python standard library
only): the people of the fixture and their Graph call records (endpoint,
session, record: as Graph writes them, times with seven decimals), and the
SQL rows ingest and correlation would write, for noc_fixture to load
(sealed and hashed there with pii_seal / pii_hash).

NOW is the scenario's "now" (UTC, whole seconds, taken at import): a test
uses this one (NOW = noc_scenario.NOW) so that its times and these agree.
Imported with
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
    import noc_scenario  # noqa: E402
"""
import datetime
import json

NOW = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def iso(dt):
    """A time as the store writes it (six decimals)."""
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def giso(dt):
    """A time as Graph writes it (seven decimals)."""
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def ago(minutes):
    return iso(NOW - datetime.timedelta(minutes=minutes))


def q(s):
    """An SQL literal: NULL or a quoted string."""
    return "NULL" if s is None else "'" + str(s).replace("'", "''") + "'"


# ---- the people and their Graph call records -------------------------------------------

# The people of the fixture; every personal string must stay out of logs.
JANE = {"id": "a11ce000-0000-4000-8000-00000000000a", "displayName": "Jane Doe",
        "userPrincipalName": "Jane.Doe@contoso.example"}
BOB = {"id": "b0b00000-0000-4000-8000-00000000000b", "displayName": "Bob Lyon",
       "userPrincipalName": "bob.lyon@contoso.example"}
ZOE = {"id": "20e00000-0000-4000-8000-00000000000c", "displayName": "Zo\u00eb  \u00c5ngstr\u00f6m",
       "userPrincipalName": "zoe@contoso.example"}
OLGA = {"id": "01ca0000-0000-4000-8000-00000000000d", "displayName": "Olga Organiser",
        "userPrincipalName": "olga.org@contoso.example"}
PAT = {"id": "9a700000-0000-4000-8000-00000000000e", "displayName": "Pat Listener",
       "userPrincipalName": "pat.listener@contoso.example"}
JOIN_URL = ("https://teams.microsoft.com/l/meetup-join/19%3ameeting_NjM5YTk4ZDEt%40thread.v2/0"
            "?context=%7b%22Tid%22%3a%220d15ea5e%22%7d")
JANE_IP, BOB_IP, ZOE_IP = "10.1.2.15", "10.9.0.7", "10.1.3.20"


def endpoint(who=None, guest=None, host=None, rating=None, text=None, platform="windows"):
    ep = {"@odata.type": "#microsoft.graph.callRecords.participantEndpoint",
          "userAgent": {"@odata.type": "#microsoft.graph.callRecords.clientUserAgent",
                        "headerValue": "releases/CL2025.R25", "applicationVersion": "25306.805",
                        "platform": platform, "productFamily": "teams"},
          "feedback": {"rating": rating or "notRated", "tokens": {}}}
    if text:
        ep["feedback"]["text"] = text
    if who:
        ep["associatedIdentity"] = dict(who, tenantId="0d15ea5e-0000-4000-8000-00000000c0de")
    if guest:
        ep["identity"] = {"guest": {"displayName": guest, "id": "guest-1"}}
    if host:
        ep["name"] = host
    return ep


SERVICE = {"@odata.type": "#microsoft.graph.callRecords.serviceEndpoint",
           "userAgent": {"@odata.type": "#microsoft.graph.callRecords.serviceUserAgent",
                         "role": "skypeForBusinessAudioVideoMcu"}}


def session(sid, ep, ip, start, end, device=None, wifi=True, loss=0.001):
    net = {"ipAddress": ip, "port": 50010, "subnet": ".".join(ip.split(".")[:3]) + ".0",
           "macAddress": "02-00-00-00-AA-%02X" % int(ip.split(".")[-1])}
    if wifi:
        net.update({"connectionType": "wifi", "wifiBand": "frequency50GHz", "wifiChannel": 36,
                    "wifiSignalStrength": 62, "basicServiceSetIdentifier": "a8:bd:27:00:01:10"})
    else:
        net["connectionType"] = "wired"
    seg = {"id": sid + "-g", "startDateTime": giso(start), "endDateTime": giso(end),
           "caller": ep, "callee": SERVICE,
           "media": [{"label": "main-audio", "callerNetwork": net, "calleeNetwork": {},
                      "callerDevice": device or {}, "calleeDevice": {},
                      "streams": [{"streamId": "1", "streamDirection": "callerToCallee",
                                   "averagePacketLossRate": loss, "averageJitter": "PT0.004S"},
                                  {"streamId": "2", "streamDirection": "calleeToCaller",
                                   "averagePacketLossRate": 0.001, "averageJitter": "PT0.004S"}]}]}
    return {"id": sid, "modalities": ["audio"], "startDateTime": giso(start),
            "endDateTime": giso(end), "caller": ep, "callee": SERVICE, "segments": [seg]}


def record(rid, minutes_ago, sessions, typ="groupCall", join=None, organizer=None, dur_s=1830,
           v2=None):
    start = NOW - datetime.timedelta(minutes=minutes_ago)
    end = start + datetime.timedelta(seconds=dur_s)
    r = {"id": rid, "version": 1, "type": typ, "modalities": ["audio", "video"],
         "lastModifiedDateTime": giso(end), "startDateTime": giso(start), "endDateTime": giso(end),
         "joinWebUrl": join, "sessions": [s(start, end) for s in sessions]}
    if organizer:
        r["organizer_v2"] = {"id": organizer["id"], "identity": {"user": organizer}}
    if v2:
        r["participants_v2"] = [{"id": "p-%d" % i, "identity": {"user": u}}
                                for i, u in enumerate(v2)]
    return r



# ---- rows as ingest and correlation write them (noc_fixture seals and hashes) ----------

def evidence(rule, wire=None, graph=None):
    return json.dumps({"rule": rule, "wire": wire, "graph": graph,
                       "thresholds": {"loss_pct": 2.0, "jitter_ms": 30.0}})


def call_sql(cid, site, verdict, start_min, conf=0.9, source="joined", ev=None, dur_min=5):
    ev = ev if ev is not None else evidence("fixture-" + verdict)
    return ("INSERT INTO verdict_calls(call_id, source, site, start, \"end\", verdict, confidence,"
            " graph_record_id, graph_version, evaluated, evidence) VALUES(%s,%s,%s,%s,%s,%s,%s,%s,"
            "%s,%s,%s);\n" %
            (q(cid), q(source), q(site), q(ago(start_min)), q(ago(start_min - dur_min)),
             q(verdict), conf, q("rec-" + cid), 1, q(iso(NOW)), q(ev)))


def participant_sql(cid, part, site, ip, verdict, ev):
    hm = "pii_hash('ip', %s)" % q(ip) if ip else "NULL"
    enc = "pii_seal('verdict_participants.client_ip', %s)" % q(ip) if ip else "NULL"
    return ("INSERT INTO verdict_participants(call_id, participant, site, client_ip_hmac,"
            " client_ip_enc, verdict, confidence, evidence) VALUES(%s,%s,%s,%s,%s,%s,0.8,%s);\n" %
            (q(cid), q(part), q(site), hm, enc, q(verdict), q(ev)))


def stream_sql(sid, site, ip, first_min, loss, jitter, mos, direction="outbound"):
    rec = json.dumps({"type": "stream", "ssrc": sid, "packets": 3000, "lost": int(loss * 30),
                      "loss_pct": loss, "jitter_ms_max": jitter, "mos": mos,
                      "direction": direction, "media": "audio"})
    return ("INSERT INTO streams(id, probe_id, site, received, first_seen, last_seen, client_port,"
            " ssrc, direction, media, app, packets, lost, loss_pct, jitter_ms_max,"
            " network_jitter_ms_max, mos, client_ip_enc, client_ip_hmac, record) VALUES("
            "%d, 'probe-%s', %s, %s, %s, %s, 50010, %d, %s, 'audio', 'teams', 3000, %d, %s, %s,"
            " %s, %s, pii_seal('streams.client_ip', %s), pii_hash('ip', %s), %s);\n" %
            (sid, site, q(site), q(iso(NOW)), q(ago(first_min)), q(ago(first_min - 5)), sid,
             q(direction), int(loss * 30), loss, jitter, jitter / 2, mos, q(ip), q(ip), q(rec)))


def vstream_sql(cid, part, sid, verdict, ev, direction="outbound"):
    return ("INSERT INTO verdict_streams(call_id, participant, stream_id, graph_stream_rid,"
            " direction, media, verdict, confidence, evidence) VALUES(%s,%s,%s,7,%s,'audio',%s,"
            "0.85,%s);\n" % (q(cid), q(part), sid if sid else "NULL", q(direction), q(verdict),
                             q(ev)))


def interval_sql(probe, site, ssrc, start, secs, loss, jitter, received, direction="outbound",
                 src_ip=None, dst_ip=None, packets=500, ports=(50000, 3478),
                 seal="intervals."):
    """One interval record as the collector stores it (src/dst sealed and
    hashed; seal: the prefix of the sealing label, the product's is
    "intervals."; noc_test.py's scenario seals with the bare column name, as
    it always did)."""
    end = start + datetime.timedelta(seconds=secs)
    rec = json.dumps({"type": "interval", "ssrc": ssrc, "app": "teams", "direction": direction,
                      "packets": packets, "bytes": packets * 120, "lost": int(packets * loss / 100),
                      "loss_pct": loss, "jitter_ms_max": jitter, "jitter_ms": jitter / 2})
    ip = lambda col, v: ("pii_seal('%s', %s), pii_hash('ip', %s)" % (col, q(v), q(v))  # noqa
                         if v else "NULL, NULL")
    return ("INSERT INTO intervals(probe_id, site, received, start, \"end\", src_port, dst_port,"
            " ssrc, direction, packets, lost, loss_pct, jitter_ms_max, src_ip_enc, src_ip_hmac,"
            " dst_ip_enc, dst_ip_hmac, record) VALUES(%s, %s, %s, %s, %s, %s, %s, %d, %s,"
            " %d, %d, %s, %s, %s, %s, %s);\n" %
            (q(probe), q(site), q(iso(received)), q(iso(start)), q(iso(end)), q(ports[0]),
             q(ports[1]), ssrc, q(direction),
             packets, int(packets * loss / 100), loss, jitter, ip(seal + "src_ip", src_ip),
             ip(seal + "dst_ip", dst_ip), q(rec)))
