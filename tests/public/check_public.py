#!/usr/bin/env python3
"""A real capture from ../shared/pcaps/public replays without error, and the
classification holds: Teams captures give Teams flows (and streams where
there is RTP); other conferencing apps' captures give nothing labelled
teams. Usage: check_public.py PROBE CAPTURE (exit 77 = skipped)."""
import json
import os
import subprocess
import sys

TEAMS = {"teams.pcap": "stream", "stun_msteams_unidir.pcapng": "flow"}
NOT_TEAMS = {"zoom.pcap": "zoom", "webex.pcap": "webex", "google_meet.pcapng": None,
             "stun_google_meet.pcapng": "meet", "wa_voice.pcap": "whatsapp",
             "stun_dtls_rtp.pcapng": None, "dnscrypt_skype_false_positive.pcapng": None,
             "VCA-sense_feishu-voice_unlimited_1.pcapng": None}
# Every stream of these is audio: G.711 calls whose RFC 4733 telephone-events
# (DTMF) repeat one timestamp over several packets, once labelled video.
ALL_AUDIO = {"SIP_DTMF2.cap", "ms4conference.pcapng", "DTMF.pcapng"}


def main():
    probe, cap = sys.argv[1], sys.argv[2]
    if not os.path.exists(cap):
        print("SKIP: %s absent (../shared not here)" % cap)
        return 77
    name = os.path.basename(cap)
    r = subprocess.run([probe, "-q", "-r", cap, "--json", "-"], capture_output=True, text=True,
                       timeout=300)
    if r.returncode != 0:
        print("probe exit %d: %s" % (r.returncode, r.stderr))
        return 1
    recs = [json.loads(l) for l in r.stdout.splitlines()]
    stats = [x for x in recs if x["type"] == "stats"]
    if len(stats) != 1 or stats[0]["packets"] == 0:
        print("no stats record or no packets")
        return 1
    teams = {t: sum(1 for x in recs if x["type"] == t and x.get("app") == "teams")
             for t in ("stream", "flow")}
    apps = sorted({x.get("app") for x in recs if x["type"] in ("stream", "flow")})
    print("%s: %d packets, %d streams, apps %s, teams flows %d streams %d, dropped %d" % (
        name, stats[0]["packets"], sum(1 for x in recs if x["type"] == "stream"), apps,
        teams["flow"], teams["stream"], stats[0]["dropped"]))
    if name in ALL_AUDIO:
        media = sorted({x.get("media") for x in recs if x["type"] == "stream"})
        if media != ["audio"]:
            print("FAIL: G.711 with DTMF events: media %s, want only audio" % media)
            return 1
    if name in TEAMS and teams[TEAMS[name]] == 0:
        print("FAIL: a Teams capture gave no Teams %s" % TEAMS[name])
        return 1
    if name in NOT_TEAMS:
        if teams["flow"] or teams["stream"]:
            print("FAIL: non-Teams conferencing labelled teams")
            return 1
        want = NOT_TEAMS[name]
        if want and want not in apps:
            print("FAIL: expected app %s among %s" % (want, apps))
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
