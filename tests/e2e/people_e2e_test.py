#!/usr/bin/env python3
"""End to end, people and places:

    people_e2e_test.py BUILD_DIR SOURCE_DIR

The "cloud" verdict scenario (tests/e2e/gen_records.py: our client behind
the probe, a far participant seen only by Graph, at 8 % loss) with what a
NOC starts from: our participant rated the call poor and said why, the
record has a meeting URL, and the tenant's CQD building file places our
client in one building and the far participant in another.
callscope-probe replays the capture into `callscope-collector run`, which
polls the record from tests/graph/fake_graph.py over HTTPS on loopback,
correlates, and serves the API. The call must be found by the user's UPN
and display name (any case), show its participants by name with device,
platform, Wi-Fi and rating, each in its building, and be listed under
rating=poor with its verdict; `report --user` the same. The same call
page asked with a viewer token shows pseudonyms only, and the audit log
holds exactly the investigator's answer (and no personal value). No name,
UPN, device name or address may reach a log.

Reuses e2e_test.py's helpers (keys, collector, probe replay, API client).
"""
import json
import os
import re
import signal
import shutil
import sys
import time
import urllib.error
import urllib.parse

BUILD, SRC = sys.argv[1], sys.argv[2]
sys.argv = [sys.argv[0], BUILD, SRC, "cloud"]
sys.path.insert(0, os.path.join(SRC, "tests", "e2e"))
import e2e_test as e  # noqa: E402  (reads sys.argv: the cloud scenario)

fake_graph, gen_records, check, fail = e.fake_graph, e.gen_records, e.check, e.fail
JOIN_URL = ("https://teams.microsoft.com/l/meetup-join/19%3ameeting_ZTJlLXBlb3BsZQ%40thread.v2/0"
            "?context=%7b%22Tid%22%3a%220d15ea5e%22%7d")
THREAD = "19:meeting_ZTJlLXBlb3BsZQ@thread.v2"
FEEDBACK = "robotic voice, then silence"
VIEWER_TOKEN = "e2e-viewer-token-fedcba9876543210"
PSEUDONYM = re.compile(r"^[a-z]+-[0-9a-f]{8}$")


def audit_lines():
    try:
        with open(e.path("audit.log")) as f:
            return [json.loads(line) for line in f if line.strip()]
    except FileNotFoundError:
        return []


def viewer_and_audit(rec, ours, far, client_ip):
    """The same call page for an investigator and a viewer: pseudonyms only
    for the viewer, and only the investigator's answer in the audit log."""
    page = "/api/calls/" + urllib.parse.quote(rec["id"], safe="")
    before = len(audit_lines())
    inv = e.api(page)
    view = e.api(page, VIEWER_TOKEN)
    body = json.dumps(view)
    clear = [ours["displayName"], ours["userPrincipalName"], far["displayName"], client_ip,
             FEEDBACK, JOIN_URL]
    check(not [v for v in clear if v in body], "the viewer's answer holds no name, UPN, address,"
          " feedback or join URL")
    names = [p["display_name"] for p in view["participants"]]
    check(len(names) == 2 and all(n and PSEUDONYM.match(n) for n in names) and
          len(set(names)) == 2, "the viewer sees each participant as a pseudonym: %s" % names)
    me = [p for p in view["participants"] if p["rating"] == "poor"]
    check(len(me) == 1 and PSEUDONYM.match(me[0]["upn"] or "") and
          PSEUDONYM.match(me[0]["client_ip"] or "") and
          me[0]["feedback_text"] is None and me[0]["rating"] == "poor" and
          me[0]["building"]["building"] == "HQ Tower",
          "the viewer: pseudonymous UPN and address, no feedback text; rating and building kept")
    again = e.api(page, VIEWER_TOKEN)
    check(sorted(p["display_name"] for p in again["participants"]) == sorted(names),
          "pseudonyms are stable across requests")
    check(sorted(p["display_name"] for p in inv["participants"]) ==
          sorted([ours["displayName"], far["displayName"]]), "the investigator sees the names")
    try:
        e.api("/api/calls?user=" + urllib.parse.quote(ours["userPrincipalName"]), VIEWER_TOKEN)
        fail("a viewer may search by person")
    except urllib.error.HTTPError as err:
        check(err.code == 403, "a viewer's search by person is refused (403)")
    lines = audit_lines()[before:]
    check(len(lines) == 1 and lines[0]["token"] == "noc.token" and
          lines[0]["role"] == "investigator" and rec["id"] in lines[0]["call_ids"] and
          {"display_name", "upn", "client_ip"} <= set(lines[0]["fields"]),
          "the audit log has exactly the investigator's answer: %s" % lines)
    with open(e.path("audit.log")) as f:
        text = f.read()
    check(not [v for v in clear + [far["userPrincipalName"]] if v in text],
          "no personal value in the audit log")
    r = e.run([e.COLLECTOR, "audit", "--since", "24h", "--audit-log", e.path("audit.log")])
    check(r.returncode == 0 and rec["id"] in r.stdout, "audit --since 24h lists it")


def people_record():
    rec = gen_records.record(os.path.join(SRC, "pcaps"), "cloud")
    rec["joinWebUrl"] = JOIN_URL
    ours = rec["sessions"][0]["segments"][0]
    ours["caller"]["feedback"] = {"rating": "poor", "text": FEEDBACK, "tokens": {"Echo": True}}
    ours["media"][0]["callerNetwork"]["wifiChannel"] = 44
    far = rec["sessions"][1]["segments"][0]
    far["caller"]["userAgent"] = dict(far["caller"]["userAgent"], platform="macOS")
    return rec


def buildings(client_ip):
    net = ".".join(client_ip.split(".")[:3]) + ".0"
    far = ".".join(gen_records.FAR_IP.split(".")[:3]) + ".0"
    text = ("%s,HQ LAN,24,HQ Tower,Contoso,Office,Open plan,Paris,75001,FR,IDF,EMEA,1,0\n"
            "%s,Lyon LAN,24,Lyon Office,Contoso,Office,Cubicles,Lyon,69001,FR,ARA,EMEA,1,0\n"
            % (net, far))
    with open(e.path("buildings.csv"), "w") as f:
        f.write(text)
    r = e.run([e.COLLECTOR, "buildings-import", e.path("buildings.csv"), "--db", e.path("store.db")])
    check(r.returncode == 0, "buildings-import of the CQD building file")


def calls(query):
    return [c for c in e.api("/api/calls?since=2020-01-01T00:00:00Z&" + query)["calls"]]


def main():
    e.setup()
    rec = people_record()
    truth = json.load(open(e.PCAP + ".truth.json"))
    client_ip = next(t["src_ip"] for t in truth if t["dst_port"] == gen_records.RELAY_PORT)
    ours = rec["sessions"][0]["caller"]["associatedIdentity"]
    far = rec["sessions"][1]["caller"]["associatedIdentity"]
    fake = fake_graph.FakeGraph(e.TMP, e.TENANT, e.CLIENT, e.SECRET)
    fake.records[rec["id"]] = rec
    endpoint = "tcp://127.0.0.1:%d" % e.free_port()
    e.HTTP_PORT = e.free_port()
    with open(os.open(e.path("viewer.token"), os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
        f.write(VIEWER_TOKEN + "\n")
    col = e.start_collector(endpoint, fake, ["--http-viewer-token-file", e.path("viewer.token"),
                                             "--http-audit-log", e.path("audit.log")])
    buildings(client_ip)
    e.replay(endpoint)
    e.wait_for_call("cloud", "joined")

    # search by person: UPN in another case, object id, display name respaced
    for who in (ours["userPrincipalName"].upper(), ours["id"],
                "  " + ours["displayName"].lower().replace(" ", "   ") + " "):
        got = calls("user=" + urllib.parse.quote(who))
        check([c["call_id"] for c in got] == [rec["id"]], "the call found by user=%r" % who)
    check(calls("user=" + urllib.parse.quote("someone.else@contoso.example")) == [],
          "another user finds nothing")
    one = e.api("/api/calls/" + urllib.parse.quote(rec["id"], safe=""))
    call, parts = one["call"], one["participants"]
    check(call["thread_id"] == THREAD and call["join_url"] == JOIN_URL,
          "the meeting: thread id and join URL")
    check(call["organizer_name"] == rec["organizer_v2"]["identity"]["user"]["displayName"] and
          call["type"] == "groupCall", "organiser and type")
    me = [p for p in parts if p["display_name"] == ours["displayName"]]
    check(len(me) == 1, "our participant by name: %s" % [p["display_name"] for p in parts])
    me = me[0]
    check(me["client_ip"] == client_ip and me["upn"] == ours["userPrincipalName"],
          "our participant: the probe's client address and the UPN")
    check(me["capture_device"] == "Headset of Tester %s" % ours["displayName"].split()[-1] and
          me["host"].startswith("LAPTOP-VT"), "device and host: %s, %s" %
          (me["capture_device"], me["host"]))
    check(me["platform"] == "windows" and me["product"] == "teams", "client platform and product")
    check(me["connection_type"] == "wifi" and me["wifi_band"] == "frequency50GHz" and
          me["wifi_channel"] == 44 and me["wifi_signal"] == 80 and me["bssid"],
          "Wi-Fi: band, channel 44, signal 80, BSSID %s" % me["bssid"])
    check(me["rating"] == "poor" and me["rated_poor"] and me["feedback_text"] == FEEDBACK,
          "rated poor, with the feedback text")
    check(me["building"] and me["building"]["building"] == "HQ Tower", "our client in HQ Tower")
    them = [p for p in parts if p["display_name"] == far["displayName"]]
    check(len(them) == 1, "the far participant by name")
    them = them[0]
    probe_parts = {s["participant"] for s in one["streams"] if s["probe"]}
    check(them["participant"] not in probe_parts and me["participant"] in probe_parts,
          "the far participant seen only by Graph, ours by the probe")
    check(them["building"] and them["building"]["building"] == "Lyon Office" and
          them["platform"] == "macOS", "the far participant in the Lyon Office, on macOS")
    check(them["verdict"] == "cloud" and them["rating"] == "notRated" and not them["rated_poor"],
          "the far participant: cloud verdict, not rated")
    # rated poor, with the verdict beside it
    poor = calls("rating=poor")
    check([(c["call_id"], c["verdict"]) for c in poor] == [(rec["id"], "cloud")],
          "listed under rated poor with its verdict (cloud)")
    check([c["call_id"] for c in calls("building=Lyon%20Office")] == [rec["id"]],
          "found by the far participant's building")
    viewer_and_audit(rec, ours, far, client_ip)
    # the report, by display name
    r = e.run([e.COLLECTOR, "report", "--db", e.path("store.db"), "--org-key",
               e.path("keys", "org.key"), "--since", "520w", "--format", "json", "--user",
               ours["displayName"].upper()])
    with open(e.path("report.log"), "a") as f:
        f.write(r.stderr)
    got = json.loads(r.stdout) if r.returncode == 0 else fail("report: " + r.stderr)
    check([c["call_id"] for c in got] == [rec["id"]] and
          any(p["display_name"] == ours["displayName"] and p["building"]["building"] == "HQ Tower"
              for p in got[0]["participants"]), "report --user NAME: the call, ours in HQ Tower")
    col.send_signal(signal.SIGTERM)
    col.wait(timeout=30)
    fake.stop()
    e.no_pii(rec, client_ip)
    logs = e.read("collector.log") + e.read("probe.log") + e.read("report.log")
    check(FEEDBACK not in logs and THREAD not in logs, "feedback and meeting not in the logs")
    shutil.rmtree(e.TMP, ignore_errors=True)
    print("people: ok")


if __name__ == "__main__":
    main()
