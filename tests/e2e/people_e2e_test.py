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
rating=poor with its verdict; `report --user` the same. No name, UPN,
device name or address may reach a log.

Reuses e2e_test.py's helpers (keys, collector, probe replay, API client).
"""
import json
import os
import signal
import shutil
import sys
import time
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
    col = e.start_collector(endpoint, fake)
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
