"""Generated call records for the Graph tests, shaped like Graph's
`$expand=sessions($expand=segments)` replies, with the personal data each
one carries listed so tests can look for it in logs and in the store."""
import datetime


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"  # 7 fractional digits, as Graph


def record(n, version=1, sessions=1, start=None, degraded=False, participants=None, v2=True):
    """Record number n; returns (record, pii strings). participants: how many
    in participants_v2 (None: none at all, as before v2); v2=False: the
    retired organizer/participants properties instead (at most 130, as Graph
    capped them)."""
    start = start or datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(hours=1)
    end = start + datetime.timedelta(minutes=5)
    rid = "7e57%04x-0000-4000-8000-%012x" % (n, n)
    pii = []

    def person(k):
        name = "Zelda Quist%d-%d" % (n, k)
        upn = "zelda.quist%d.%d@fabrikam.example" % (n, k)
        uid = "a11ce%03x-0000-4000-8000-%012x" % (n, k)
        host = "LAPTOP-ZQ%d%d" % (n, k)
        pii.extend([name, upn, uid, host])
        return {"id": uid, "displayName": name, "tenantId": "t", "userPrincipalName": upn}, host

    def endpoint(k):
        ident, host = person(k)
        return {"@odata.type": "#microsoft.graph.callRecords.participantEndpoint",
                "name": host, "cpuName": "Test CPU", "cpuCoresCount": 8,
                "userAgent": {"@odata.type": "#microsoft.graph.callRecords.clientUserAgent",
                              "headerValue": "releases/CL2025.R25", "platform": "windows",
                              "productFamily": "teams"},
                "associatedIdentity": ident,
                "feedback": {"rating": "poor" if degraded else "good", "tokens": {"Echo": degraded}}}

    def network(k):
        ip = "10.%d.%d.%d" % (77, n % 250, 10 + k)
        refl = "198.51.100.%d" % ((n * 3 + k) % 250 + 1)
        mac = "3C-22-FB-%02X-%02X-%02X" % (n % 256, k, (n + k) % 256)
        pii.extend([ip, refl, mac, mac.replace("-", ":").lower()])
        return {"ipAddress": ip, "port": 50000 + k, "subnet": "10.77.0.0",
                "reflexiveIPAddress": refl, "relayIPAddress": "52.112.0.%d" % (k + 1),
                "relayPort": 3479, "macAddress": mac, "connectionType": "wifi",
                "linkSpeed": 4294967295, "wifiBand": "frequency50GHz", "wifiSignalStrength": 70,
                "wifiChannel": 36, "sentQualityEventRatio": None}

    def stream(direction):
        return {"streamId": "1%d" % n, "streamDirection": direction,
                "averageJitter": "PT0.045S" if degraded else "PT0.012S", "maxJitter": "PT0.1S",
                "averageRoundTripTime": "PT0.061S", "averagePacketLossRate": 0.05 if degraded else 0.001,
                "averageAudioDegradation": 1.5 if degraded else None,
                "averageRatioOfConcealedSamples": 0.08 if degraded else 0.01,
                "packetUtilization": 1200, "wasMediaBypassed": False, "audioCodec": "satin"}

    def session(s):
        seg = {"id": "%s-s%d" % (rid, s), "startDateTime": iso(start), "endDateTime": iso(end),
               "caller": endpoint(2 * s), "callee": endpoint(2 * s + 1),
               "media": [{"label": "main-audio", "callerNetwork": network(2 * s),
                          "calleeNetwork": network(2 * s + 1),
                          "callerDevice": {"captureDeviceName": "Headset of Zelda %d" % n,
                                           "cpuInsufficentEventRatio": 0.2 if degraded else 0,
                                           "micGlitchRate": 12},
                          "calleeDevice": {},
                          "streams": [stream("callerToCallee"), stream("calleeToCaller")]}]}
        pii.append("Headset of Zelda %d" % n)
        return {"id": seg["id"], "modalities": ["audio"], "startDateTime": iso(start),
                "endDateTime": iso(end), "isTest": False, "caller": seg["caller"],
                "callee": seg["callee"], "segments": [seg]}

    org, _ = person(99)
    people = [person(1000 + k)[0] for k in range(participants or 0)]
    rec = {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#communications/callRecords/$entity",
           "id": rid, "version": version, "type": "peerToPeer", "modalities": ["audio"],
           "lastModifiedDateTime": iso(end + datetime.timedelta(minutes=10 * version)),
           "startDateTime": iso(start), "endDateTime": iso(end), "joinWebUrl": None,
           "organizer_v2": {"id": org["id"], "identity": {"user": org}},
           "sessions": [session(s) for s in range(sessions)]}
    if not v2:
        del rec["organizer_v2"]
        rec["organizer"] = {"user": org}
        rec["participants"] = [{"user": u} for u in people[:130]]
    elif participants is not None:
        rec["participants_v2"] = [{"id": u["id"], "identity": {"user": u}} for u in people]
    return rec, pii
