#!/usr/bin/env python3
"""People, meetings, ratings and buildings in the NOC outputs: real
processes on a store written by the collector's own commands (org-keygen,
graph-import of call records, correlate, buildings-import), then
`serve` over HTTP on 127.0.0.1 and `report`. One case per invocation:

  people_test.py COLLECTOR WORKDIR CASE [FIXTURE]
      (CASE: api | report | search | dashboard | live; FIXTURE: tests/noc/noc_fixture,
       which writes the interval records of calls in progress for live and dashboard)

Exit 0 pass, 1 fail, 77 skipped (with a message).
"""
import csv
import datetime
import io
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import noc_chrome  # noqa: E402  (beside this file)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import noc_scenario  # noqa: E402  (tests/lib)

COLLECTOR, WORKDIR, CASE = sys.argv[1:4]
FIXTURE = sys.argv[4] if len(sys.argv) > 4 else None
os.makedirs(WORKDIR, exist_ok=True)
TMP = tempfile.mkdtemp(prefix="people-%s-" % CASE, dir=WORKDIR)
DB = os.path.join(TMP, "collector.db")
ORGKEY = os.path.join(TMP, "org.key")
TOKEN_FILE = os.path.join(TMP, "noc.token")
TOKEN = "t0ken-%032x" % random.getrandbits(128)
VIEWER_FILE = os.path.join(TMP, "wall.token")
VIEWER = "v1ewer-%032x" % random.getrandbits(128)
LOG = os.path.join(TMP, "serve.log")
PROCS, PORT = [], [0]

NOW = noc_scenario.NOW
# the people of the fixture (tests/lib/noc_scenario.py); every personal
# string must stay out of logs
JANE, BOB, ZOE, OLGA, PAT = (noc_scenario.JANE, noc_scenario.BOB, noc_scenario.ZOE,
                             noc_scenario.OLGA, noc_scenario.PAT)
JOIN_URL = noc_scenario.JOIN_URL
JANE_IP, BOB_IP, ZOE_IP = noc_scenario.JANE_IP, noc_scenario.BOB_IP, noc_scenario.ZOE_IP
THREAD = "19:meeting_NjM5YTk4ZDEt@thread.v2"
BUILDINGS = ("10.1.2.0,HQ floor 2,24,HQ Tower,Contoso,Office,Open plan,Paris,75001,FR,IDF,EMEA,1,0\n"
             "10.1.3.0,HQ floor 3,24,HQ Tower,Contoso,Office,Open plan,Paris,75001,FR,IDF,EMEA,1,0\n"
             "10.9.0.0,Lyon LAN,16,Lyon Office,Contoso,Office,Cubicles,Lyon,69001,FR,ARA,EMEA,1,0\n")
SECRETS = [JANE["displayName"], JANE["userPrincipalName"], BOB["displayName"],
           BOB["userPrincipalName"], "Jabra Evolve2 of Jane", "LAPTOP-JANE", JANE_IP, BOB_IP,
           "robotic voice", "Visiting Guest", OLGA["displayName"], OLGA["userPrincipalName"],
           PAT["displayName"], PAT["userPrincipalName"]]


def fail(msg):
    print("FAIL:", msg)
    for p in PROCS:
        if p.poll() is None:
            p.kill()
    print("(work directory kept: %s)" % TMP)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)
    print("ok:", msg)


def skip(msg):
    print("SKIP:", msg)
    sys.exit(77)


iso = noc_scenario.giso  # Graph's times, seven decimals


def run(args, timeout=60):
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout)


# ---- the store: call records in, judged, buildings loaded ----------------------------

endpoint, session, record = noc_scenario.endpoint, noc_scenario.session, noc_scenario.record


def records():
    jane = endpoint(JANE, host="LAPTOP-JANE", rating="poor", text="robotic voice")
    bob = endpoint(BOB, host="MAC-BOB", rating="good", platform="macOS")
    return [
        # Jane (HQ) and Bob (Lyon) in a meeting Jane rated poor; a guest joined too
        record("rec-jane-poor", 90, [
            lambda s, e: session("s-jane", jane, JANE_IP, s, e,
                                 {"captureDeviceName": "Jabra Evolve2 of Jane",
                                  "renderDeviceName": "Speakers (Realtek)"}),
            lambda s, e: session("s-bob", bob, BOB_IP, s, e, wifi=False),
            lambda s, e: session("s-guest", endpoint(guest="Visiting Guest"), "10.77.0.9", s, e)],
            join=JOIN_URL, organizer=JANE),
        # Bob alone with Zoë, peer to peer, not rated
        record("rec-bob-zoe", 60, [
            lambda s, e: session("s-bob2", endpoint(BOB), BOB_IP, s, e, wifi=False),
            lambda s, e: session("s-zoe", endpoint(ZOE, rating="bad"), ZOE_IP, s, e)],
            typ="peerToPeer", dur_s=300),
        # an older call of Jane's, rated good
        record("rec-jane-ok", 30, [
            lambda s, e: session("s-jane3", endpoint(JANE, rating="excellent"), JANE_IP, s, e)],
            organizer=BOB, dur_s=600),
        # a town hall Olga organised without joining, Pat only in participants_v2;
        # the one session a kiosk's (unmapped, not rated), so no other list changes
        record("rec-townhall", 20, [
            lambda s, e: session("s-kiosk", endpoint(guest="Lobby Kiosk"), "10.77.0.10", s, e)],
            organizer=OLGA, v2=[PAT], dur_s=900),
    ]


def setup():
    r = run([COLLECTOR, "org-keygen", "--tenant", "contoso.example", "--out", ORGKEY])
    check(r.returncode == 0, "org-keygen")
    for path, tok in ((TOKEN_FILE, TOKEN), (VIEWER_FILE, VIEWER)):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, (tok + "\n").encode())
        os.close(fd)
    os.makedirs(os.path.join(TMP, "records"))
    for i, rec in enumerate(records()):
        with open(os.path.join(TMP, "records", "%02d.json" % i), "w") as f:
            json.dump(rec, f)
    r = run([COLLECTOR, "graph-import", "--org-key", ORGKEY, "--db", DB,
             os.path.join(TMP, "records")])
    check(r.returncode == 0, "graph-import of 4 call records: " + r.stderr.strip()[-200:])
    r = run([COLLECTOR, "correlate", "--db", DB, "--org-key", ORGKEY, "--since", "1d"])
    check(r.returncode == 0, "correlate: " + r.stderr.strip()[-200:])
    with open(os.path.join(TMP, "buildings.csv"), "w") as f:
        f.write(BUILDINGS)
    r = run([COLLECTOR, "buildings-import", os.path.join(TMP, "buildings.csv"), "--db", DB])
    check(r.returncode == 0, "buildings-import: " + r.stderr.strip()[-200:])


# ---- the server -------------------------------------------------------------------------

def read_log():
    try:
        with open(LOG) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def serve():
    logf = open(LOG, "a")
    p = subprocess.Popen([COLLECTOR, "serve", "--db", DB, "--org-key", ORGKEY, "--token-file",
                          TOKEN_FILE, "--viewer-token-file", VIEWER_FILE, "--bind", "127.0.0.1:0",
                          "--no-syslog"],
                         stdout=logf, stderr=logf)
    PROCS.append(p)
    deadline = time.time() + 20
    while time.time() < deadline:
        m = re.search(r"listening on port (\d+)", read_log())
        if m:
            PORT[0] = int(m.group(1))
            return p
        if p.poll() is not None:
            fail("serve exited at start: " + read_log())
        time.sleep(0.05)
    fail("serve did not start")


def stop(p):
    p.terminate()
    check(p.wait(timeout=20) == 0, "serve exits 0 on SIGTERM")


def get(path):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (PORT[0], path),
                                 headers={"Authorization": "Bearer " + TOKEN})
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def ids(path):
    st, body = get(path)
    check(st == 200, "%s answers 200 (%s)" % (path, body.get("error") if st != 200 else "ok"))
    return [c["call_id"] for c in body["calls"]]


def no_pii_in_logs():
    logs = read_log()
    leaked = [s for s in SECRETS if s in logs]
    check(not leaked, "no name, UPN, device, host, feedback or address in serve's log %s" % leaked)


def by_name(parts, name):
    m = [p for p in parts if p.get("display_name") == name or p.get("guest_name") == name]
    check(len(m) == 1, "participant %s present once" % name)
    return m[0]


# ---- cases -----------------------------------------------------------------------------------

def case_api():
    setup()
    p = serve()
    st, body = get("/api/calls/rec-jane-poor")
    check(st == 200, "call detail answers")
    call, parts = body["call"], body["participants"]
    check(call["organizer_name"] == "Jane Doe" and
          call["organizer_upn"] == "Jane.Doe@contoso.example" and
          call["organizer_id"] == JANE["id"], "organiser: name, UPN, object id")
    check(call["join_url"] == JOIN_URL and call["thread_id"] == THREAD,
          "meeting: join URL and its thread id %s" % call["thread_id"])
    check(call["type"] == "groupCall" and call["modalities"] == ["audio", "video"],
          "type and modalities")
    check(abs(call["duration_s"] - 1830) < 0.01, "duration %.1f s" % call["duration_s"])
    check(len(parts) == 3, "three participants (%d)" % len(parts))
    j = by_name(parts, "Jane Doe")
    check(j["upn"] == "Jane.Doe@contoso.example" and j["user_id"] == JANE["id"], "Jane's UPN, id")
    check(j["platform"] == "windows" and j["product"] == "teams" and j["version"] == "25306.805",
          "Jane's client: windows teams 25306.805")
    check(j["capture_device"] == "Jabra Evolve2 of Jane" and
          j["render_device"] == "Speakers (Realtek)", "Jane's capture and render devices")
    check(j["host"] == "LAPTOP-JANE", "Jane's host name")
    check(j["connection_type"] == "wifi" and j["wifi_band"] == "frequency50GHz" and
          j["wifi_channel"] == 36 and j["wifi_signal"] == 62 and j["bssid"] == "a8:bd:27:00:01:10",
          "Jane's Wi-Fi: band, channel, signal, BSSID")
    check(j["rating"] == "poor" and j["rated_poor"] is True and j["feedback_text"] == "robotic voice",
          "Jane's rating and feedback text")
    check(j["client_ip"] == JANE_IP and j["client_mac"] == "02:00:00:00:aa:0f",
          "Jane's address and MAC opened (%s)" % j["client_mac"])
    check(j["building"] and j["building"]["building"] == "HQ Tower" and
          j["building"]["city"] == "Paris", "Jane in HQ Tower, Paris")
    b = by_name(parts, "Bob Lyon")
    check(b["building"]["building"] == "Lyon Office", "Bob in the Lyon Office")
    check(b["connection_type"] == "wired" and b["wifi_band"] is None and b["wifi_channel"] is None
          and b["wifi_signal"] is None and b["bssid"] is None,
          "Bob wired: Wi-Fi fields null, not 0")
    check(b["rating"] == "good" and b["rated_poor"] is False and b["feedback_text"] is None,
          "Bob rated good, no text (null)")
    check(b["capture_device"] is None and b["render_device"] is None, "no device names: null")
    g = by_name(parts, "Visiting Guest")
    check(g["display_name"] is None and g["upn"] is None and g["building"] is None,
          "the guest: a guest name, no UPN, no building (unmapped)")
    # a call without a join URL or organiser: null, and a peer-to-peer type
    st, body = get("/api/calls/rec-bob-zoe")
    check(body["call"]["type"] == "peerToPeer" and body["call"]["join_url"] is None and
          body["call"]["thread_id"] is None and body["call"]["organizer_name"] is None,
          "peer-to-peer call: no meeting, no organiser (null)")
    no_pii_in_logs()
    stop(p)


def case_search():
    setup()
    p = serve()
    both = ["rec-jane-ok", "rec-jane-poor"]
    for who in ("Jane.Doe@contoso.example", "JANE.DOE@CONTOSO.EXAMPLE", JANE["id"],
                JANE["id"].upper(), "Jane Doe", "  jane   DOE ", "jane doe"):
        got = ids("/api/calls?since=1d&user=" + urllib.parse.quote(who))
        check(sorted(got) == both, "user=%r finds Jane's two calls %s" % (who, got))
    # the organiser who joined no session, and a participant of participants_v2 only
    for who in (OLGA["userPrincipalName"], OLGA["userPrincipalName"].upper(), OLGA["id"],
                "olga  ORGANISER", PAT["userPrincipalName"], PAT["id"].upper(), "pat listener"):
        got = ids("/api/calls?since=1d&user=" + urllib.parse.quote(who))
        check(got == ["rec-townhall"], "user=%r: the town hall (organiser / participants_v2) %s"
              % (who, got))
    check(sorted(ids("/api/calls?since=1d&user=bob.lyon%40contoso.example")) ==
          ["rec-bob-zoe", "rec-jane-ok", "rec-jane-poor"],
          "Bob: his two calls and the one he organised")
    check(ids("/api/calls?since=1d&user=Olga") == [], "a partial organiser name finds nothing")
    check(ids("/api/calls?since=1d&user=" + urllib.parse.quote("zo\u00cb \u00e5ngstr\u00d6m")) ==
          ["rec-bob-zoe"], "a Latin-1 name in another case and spacing")
    check(ids("/api/calls?since=1d&user=Visiting%20Guest") == ["rec-jane-poor"], "a guest's name")
    check(ids("/api/calls?since=1d&user=Jane") == [], "a partial name finds nothing")
    check(ids("/api/calls?since=1d&user=nobody%40contoso.example") == [], "an unknown UPN: none")
    check(ids("/api/calls?since=1d&user=bob.lyon%40contoso.example&rating=poor") ==
          ["rec-bob-zoe", "rec-jane-poor"], "user and rating together, newest first")
    # rated poor: 1-2 stars (poor, bad), newest first, each with its verdict
    st, body = get("/api/calls?since=1d&rating=poor")
    check([c["call_id"] for c in body["calls"]] == ["rec-bob-zoe", "rec-jane-poor"],
          "rating=poor: the two calls rated bad or poor, newest first")
    check(all(c["verdict"] for c in body["calls"]), "each with its verdict")
    check(ids("/api/calls?since=1d&rating=good") == ["rec-jane-ok", "rec-jane-poor"],
          "rating=good: good and excellent")
    # buildings
    check(sorted(ids("/api/calls?since=1d&building=Lyon%20Office")) ==
          ["rec-bob-zoe", "rec-jane-poor"], "building=Lyon Office: Bob's calls")
    check(ids("/api/calls?since=1d&building=HQ%20Tower&rating=poor") == ["rec-bob-zoe",
                                                                       "rec-jane-poor"],
          "building and rating together")
    check(ids("/api/calls?since=1d&building=Nowhere") == [], "an unknown building: none")
    # each row's buildings: its participants' (address, else Graph subnet), sorted, once each
    st, body = get("/api/calls?since=1d")
    rows = {c["call_id"]: c["buildings"] for c in body["calls"]}
    want = {"rec-jane-poor": ["HQ Tower", "Lyon Office"],  # Jane, Bob, and an unmapped guest
            "rec-bob-zoe": ["HQ Tower", "Lyon Office"],  # Zoe's 10.1.3.0/24 is HQ Tower too
            "rec-jane-ok": ["HQ Tower"],  # Jane alone
            "rec-townhall": []}  # the kiosk's 10.77.0.10 is in no building
    check(rows == want, "the list's buildings column: the participants' buildings, [] for an"
          " unmapped one (%s)" % rows)
    for name in ("HQ Tower", "Lyon Office"):
        st, body = get("/api/calls?since=1d&building=" + urllib.parse.quote(name))
        check(body["calls"] and all(name in c["buildings"] for c in body["calls"]),
              "building=%s: each row found lists it" % name)
    pages = [get("/api/calls?since=1d&limit=1&offset=%d" % k)[1]["calls"] for k in range(4)]
    check([(c["call_id"], c["buildings"]) for pg in pages for c in pg] ==
          [(c, rows[c]) for c in rows], "pages of one call: each row with the same buildings")
    # a new import while serve runs: the NOC's cached map follows it
    with open(os.path.join(TMP, "buildings2.csv"), "w") as f:
        f.write(BUILDINGS.replace("Lyon Office", "Lyon Campus"))
    r = run([COLLECTOR, "buildings-import", os.path.join(TMP, "buildings2.csv"), "--db", DB])
    check(r.returncode == 0, "re-import with the Lyon network renamed")
    check(sorted(ids("/api/calls?since=1d&building=Lyon%20Campus")) ==
          ["rec-bob-zoe", "rec-jane-poor"] and
          ids("/api/calls?since=1d&building=Lyon%20Office") == [],
          "the building filter sees the new map at once, the old name no more")
    st, body = get("/api/calls/rec-jane-poor")
    check(by_name(body["participants"], "Bob Lyon")["building"]["building"] == "Lyon Campus",
          "the call page too")
    st, body = get("/api/calls?since=1d&user=bob.lyon%40contoso.example")
    check({c["call_id"]: c["buildings"] for c in body["calls"]}.get("rec-bob-zoe") ==
          ["HQ Tower", "Lyon Campus"], "and the list's buildings column")
    # bad values are named
    for q, name in (("rating=awful", "rating"), ("user=%20%20", "user"),
                    ("building=a%01b", "building")):
        st, body = get("/api/calls?" + q)
        check(st == 400 and name in body.get("error", ""), "%s: 400 naming it" % q)
    st, body = get("/api/sites?user=jane")
    check(st == 400, "user= only on the call list")
    no_pii_in_logs()
    stop(p)


def report(*args):
    r = run([COLLECTOR, "report", "--db", DB, "--org-key", ORGKEY, "--since", "1d"] + list(args))
    if r.returncode != 0:
        fail("report %s: exit %d: %s" % (args, r.returncode, r.stderr))
    return r.stdout


def case_report():
    setup()
    calls = json.loads(report("--format", "json", "--user", "jane.doe@CONTOSO.example"))
    check([c["call_id"] for c in calls] == ["rec-jane-poor", "rec-jane-ok"],
          "report --user UPN: Jane's calls, oldest first")
    c = calls[0]
    check(c["organizer_name"] == "Jane Doe" and c["thread_id"] == THREAD and
          c["type"] == "groupCall", "report json: organiser, thread id, type")
    j = by_name(c["participants"], "Jane Doe")
    check(j["capture_device"] == "Jabra Evolve2 of Jane" and j["rating"] == "poor" and
          j["building"]["building"] == "HQ Tower", "report json: device, rating, building")
    check([c["call_id"] for c in json.loads(report("--format", "json", "--user", "Jane  DOE"))] ==
          ["rec-jane-poor", "rec-jane-ok"], "report --user display name")
    check([c["call_id"] for c in json.loads(report("--format", "json", "--user", JANE["id"]))] ==
          ["rec-jane-poor", "rec-jane-ok"], "report --user object id")
    for who in (OLGA["userPrincipalName"], "Olga Organiser", PAT["id"], "PAT LISTENER"):
        got = [c["call_id"] for c in json.loads(report("--format", "json", "--user", who))]
        check(got == ["rec-townhall"], "report --user %r: organiser / participants_v2 %s"
              % (who, got))
    check([c["call_id"] for c in json.loads(report("--format", "json", "--rating", "poor"))] ==
          ["rec-jane-poor", "rec-bob-zoe"], "report --rating poor")
    check([c["call_id"] for c in json.loads(report("--format", "json", "--building",
                                                   "lyon office"))] ==
          ["rec-jane-poor", "rec-bob-zoe"], "report --building (any case)")
    table = report("--user", "Jane Doe")
    check("who Jane Doe <Jane.Doe@contoso.example> host LAPTOP-JANE client windows teams 25306.805"
          in table, "table: who, UPN, host, client")
    check("capture Jabra Evolve2 of Jane, render Speakers (Realtek); network wifi frequency50GHz"
          " ch 36 signal 62% a8:bd:27:00:01:10" in table, "table: devices and Wi-Fi")
    check("rated poor (poor): robotic voice" in table, "table: rating and feedback")
    check("building HQ Tower, Paris" in table, "table: building")
    check("organiser Jane Doe <Jane.Doe@contoso.example>; thread " + THREAD in table,
          "table: organiser and thread")
    check(re.search(r"\bnan\b", table) is None, "no nan in the table")
    rows = list(csv.DictReader(io.StringIO(report("--format", "csv", "--rating", "poor"))))
    check([r["call_id"] for r in rows] == ["rec-jane-poor", "rec-bob-zoe"], "csv --rating poor")
    check(rows[0]["rated_poor_by"] == "Jane Doe" and "Bob Lyon" in rows[0]["participant_names"]
          and rows[0]["organizer_upn"] == "Jane.Doe@contoso.example" and
          rows[0]["thread_id"] == THREAD, "csv: who rated it poor, names, organiser, thread")
    r = run([COLLECTOR, "report", "--db", DB, "--org-key", ORGKEY, "--rating", "awful"])
    check(r.returncode == 2 and "--rating" in r.stderr, "report --rating awful: usage error")
    leaked = [s for s in SECRETS if s in r.stderr]
    check(not leaked, "nothing personal on report's stderr")


chromium = noc_chrome.find


# Where the page left the call's title after scrolling the call into view:
# below the sticky header (px; negative: hidden under it).
TITLE_CLEAR = ("document.querySelector('#call-view h2').getBoundingClientRect().top -"
               " document.querySelector('header').getBoundingClientRect().bottom")


# The call list sorted by the Building column: a click on its header, then
# another; the calls' order after each.
SORT_BY_BUILDING = (
    "(() => { const th = document.querySelector('#calls th[data-key=\"buildings\"]');"
    " const order = () => Array.from(document.querySelectorAll('#calls tbody tr[data-call]'),"
    " r => r.dataset.call); th.click(); const up = order(); th.click();"
    " return [up, order(), th.dataset.sort]; })()")


def chrome(exe, url, shot=None, size="1400,2200", want=None, probe=None):
    """The rendered DOM of url; or, with shot, a picture of it whose panels
    in want (noc_chrome.PANELS: the elements each must show) are checked in
    the DOM and in the picture (not blank); returns the JS expression
    probe's value then (on a call page: TITLE_CLEAR, checked here)."""
    if shot:
        w, h = (int(x) for x in size.split(","))
        # the whole page through the DevTools protocol (noc_chrome.py: --screenshot
        # of the scrolled call page left a blank band above the header)
        bad, figs, clear = noc_chrome.check_page(exe, url, shot, os.path.join(TMP, "chrome-shot"),
                                                 want or {}, w, h,
                                                 probe=TITLE_CLEAR if "call=" in url else probe)
        check(os.path.exists(shot) and os.path.getsize(shot) > 10000, "screenshot kept: " + shot)
        check(noc_chrome.starts_with_header(shot), "the picture starts with the header, no band")
        check(not bad, "%s: each panel holds what the fixture gives, and is not blank in the"
              " picture: %s %s" % (os.path.basename(shot), figs, bad))
        if "call=" in url:
            check(clear is not None and clear >= 0,
                  "the opened call's title is below the sticky header, not under it (%s px)"
                  % clear)
        return clear
    rc, dom, console = noc_chrome.dump_dom(exe, url, os.path.join(TMP, "chrome"), size)
    check(rc == 0 and "<html" in dom, "chromium dumped the page")
    check(not noc_chrome.console_errors(console), "no console errors %s" % console[:3])
    return dom


# ---- calls in progress: by building, by person --------------------------------------------

UNMAPPED_IP = "10.7.7.7"


IV_S = 100  # a long interval: a stream stays live 2.5 intervals, 250 s, on a loaded machine


def interval_sql(site, ssrc, client, direction, secs_ago, loss):
    """One IV_S interval record as ingest stores it, received secs_ago
    before now: both ends sealed and hashed, the client the sender of an
    outbound stream, the receiver of an inbound one."""
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    t = lambda s: iso(now - datetime.timedelta(seconds=s))  # noqa: E731
    far = "52.112.0.9"
    src, dst = (client, far) if direction == "outbound" else (far, client)
    q = lambda v: "'%s'" % v  # noqa: E731
    rec = json.dumps({"type": "interval", "app": "teams", "packets": 500})
    return ("INSERT INTO intervals(probe_id, site, received, start, \"end\", src_port, dst_port,"
            " ssrc, direction, packets, lost, loss_pct, jitter_ms_max, src_ip_enc, src_ip_hmac,"
            " dst_ip_enc, dst_ip_hmac, record) VALUES('probe-%s', %s, %s, %s, %s, 50000, 3478, %d,"
            " %s, 500, %d, %s, 5.0, pii_seal('intervals.src_ip', %s), pii_hash('ip', %s),"
            " pii_seal('intervals.dst_ip', %s), pii_hash('ip', %s), %s);\n" %
            (site, q(site), q(t(secs_ago)), q(t(secs_ago + IV_S + 1)), q(t(secs_ago + 1)), ssrc,
             q(direction), int(5 * loss), loss, q(src), q(src), q(dst), q(dst), q(rec)))


def live_fixture():
    """Calls in progress: Jane (HQ Tower, outbound loss: lan) and Zoe (HQ
    Tower, clean) at hq, Bob (Lyon Office) at lyon, an address in no
    building at hq; three intervals each, the newest received 4 s ago."""
    if not FIXTURE:
        fail("the live cases need tests/noc/noc_fixture as the 4th argument")
    calls = [("hq", JANE_IP, 8.0), ("hq", ZOE_IP, 0.0), ("lyon", BOB_IP, 0.0),
             ("hq", UNMAPPED_IP, 0.0)]
    sql = ""
    for n, (site, ip, loss) in enumerate(calls):
        for k in range(3):
            sql += interval_sql(site, 700 + 2 * n, ip, "outbound", 4 + IV_S * k, loss)
            sql += interval_sql(site, 701 + 2 * n, ip, "inbound", 4 + IV_S * k, 0.0)
    path = os.path.join(TMP, "live.sql")
    with open(path, "w") as f:
        f.write(sql)
    r = run([FIXTURE, DB, ORGKEY, path])
    check(r.returncode == 0, "fixture (intervals): " + r.stderr.strip()[-300:])


def live(query=""):
    st, b = get("/api/live" + query)
    check(st == 200, "/api/live%s answers 200 (%s)" % (query, b.get("error") if st != 200 else "ok"))
    return b


def case_live():
    setup()
    live_fixture()
    p = serve()
    b = live()
    check(b["calls_total"] == 4 and len(b["calls"]) == 4 and b["limit"] == 25 and not b["more"],
          "4 calls in progress, one page of 25 by default (%s)" % {k: b[k] for k in ("calls_total", "limit", "more")})
    by_b = {(x["site"], x["building"]): x for x in b["buildings"]}
    check(set(by_b) == {("hq", "HQ Tower"), ("hq", None), ("lyon", "Lyon Office")},
          "per building: HQ Tower, Lyon Office, and hq's unmapped client (%s)" % sorted(by_b, key=str))
    tower = by_b[("hq", "HQ Tower")]
    check(tower["active_calls"] == 2 and tower["degraded_calls"] == 1 and
          tower["lan_degraded"] == 1 and tower["wan_degraded"] == 0 and tower["streams"] == 4,
          "HQ Tower: 2 calls, 1 degraded on the LAN side, 4 streams (%s)" % tower)
    check(by_b[("hq", None)]["active_calls"] == 1 and by_b[("lyon", "Lyon Office")]["active_calls"] == 1,
          "1 unmapped call at hq, 1 in Lyon Office")
    sites = {x["site"]: x["active_calls"] for x in b["sites"]}
    check(sites == {"hq": 3, "lyon": 1}, "per site: hq 3, lyon 1 (%s)" % sites)
    jane = [c for c in b["calls"] if c["verdict"] == "lan"]
    check(len(jane) == 1 and jane[0]["building"] == "HQ Tower" and jane[0]["site"] == "hq",
          "Jane's call: provisional lan, in HQ Tower")
    text = json.dumps(b)
    check(not any(x in text for x in (JANE_IP, BOB_IP, ZOE_IP, UNMAPPED_IP, "Jane", "Bob")),
          "no address or name in the live answer")

    b = live("?building=" + urllib.parse.quote("HQ Tower"))
    check(b["calls_total"] == 2 and {c["building"] for c in b["calls"]} == {"HQ Tower"},
          "building=HQ Tower: its 2 calls")
    check([(x["site"], x["active_calls"], x["degraded_calls"]) for x in b["sites"]] == [("hq", 2, 1)],
          "building=HQ Tower: the site rollup counts those only (%s)" % b["sites"])
    check([x["building"] for x in b["buildings"]] == ["HQ Tower"], "building=HQ Tower: its rollup only")
    b = live("?building=Lyon%20Office&site=hq")
    check(b["calls_total"] == 0 and b["sites"] == [], "building and site both apply: none")
    b = live("?building=Nowhere")
    check(b["calls_total"] == 0 and b["buildings"] == [], "an unknown building: none")

    for who in ("Jane.Doe@contoso.example", "jane doe", JANE["id"]):
        b = live("?user=" + urllib.parse.quote(who))
        check(b["calls_total"] == 1 and b["calls"][0]["client_id"] == jane[0]["client_id"] and
              b["calls"][0]["verdict"] == "lan",
              "user=%s: Jane's call in progress only (from her Graph records' address)" % who)
    b = live("?user=" + urllib.parse.quote(BOB["userPrincipalName"]) + "&site=lyon")
    check(b["calls_total"] == 1 and b["sites"][0]["site"] == "lyon", "user=Bob at lyon: his call")
    b = live("?user=nobody%40contoso.example")
    check(b["calls_total"] == 0 and b["sites"] == [], "an unknown person: no call")

    b = live("?limit=1")
    check(len(b["calls"]) == 1 and b["calls_total"] == 4 and b["more"] and b["limit"] == 1,
          "limit=1: one call, more")
    all4 = [c["live_id"] for c in live("?limit=10")["calls"]]
    pages = [c["live_id"] for k in range(4) for c in live("?limit=1&offset=%d" % k)["calls"]]
    check(pages == all4 and len(set(all4)) == 4, "pages of one call: the same 4 calls in order")
    b = live("?limit=1&offset=3")
    check(len(b["calls"]) == 1 and not b["more"], "the last page: more false")
    check(live("?offset=10")["calls"] == [], "offset past the end: no call")
    for q in ("?rating=poor", "?since=1h", "?limit=0", "?verdict=lan"):
        st, b = get("/api/live" + q)
        check(st == 400, "/api/live%s refused (400)" % q)

    # a record arriving now is read by the next request (only the new records are)
    sql = interval_sql("lyon", 900, "10.9.0.8", "inbound", 1, 9.0)
    path = os.path.join(TMP, "live2.sql")
    with open(path, "w") as f:
        f.write(sql)
    r = run([FIXTURE, DB, ORGKEY, path])
    check(r.returncode == 0, "fixture (one more interval)")
    b = live("?building=" + urllib.parse.quote("Lyon Office"))
    check(b["calls_total"] == 2 and b["sites"][0]["wan_degraded"] == 1,
          "a new call's first record, inbound loss: counted at once, WAN side (%s)" % b["sites"])
    no_pii_in_logs()
    stop(p)


# What the pictures' panels must hold (noc_chrome.PANELS), from the
# fixture: one site row (Graph's calls have none: no site view, no
# timeline), HQ Tower and Lyon Office, the two calls rated poor, the four
# calls; on the call page Jane's meeting's three people and its verdict.
# The calls in progress (live_fixture) are the dashboard case's only.
MAIN_PANELS = {"sites": 1, "buildings": 2, "rated_poor": 2, "calls": 4}
CALL_PANELS = dict(MAIN_PANELS, people=3, history=(1, None))


def case_dashboard():
    exe = chromium()
    if not exe:
        skip("chromium not installed (apt-get install chromium)")
    setup()
    live_fixture()
    p = serve()
    base = "http://127.0.0.1:%d/" % PORT[0]
    # the live panel: per site, per building, and filtered by building
    dom = chrome(exe, base + "#token=%s" % TOKEN)
    box = dom[dom.index('id="live-buildings-box"'):dom.index('id="sites-panel"')]
    check(not re.search(r'id="live-buildings-box"[^>]*hidden', dom), "live: the building table shown")
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", box[box.index("<tbody"):], re.S)
    cells = [re.sub(r"<[^>]+>", "|", r) for r in rows]
    check(len(rows) == 3 and "HQ Tower" in cells[0] and "1 of 2 degraded" in cells[0],
          "live by building: HQ Tower first, 1 of 2 calls degraded (%s)" % cells[:1])
    check(any("Lyon Office" in c for c in cells) and any("not in the building file" in c for c in cells),
          "live by building: Lyon Office, and the unmapped client in words")
    # the Buildings table beside the sites (GET /api/buildings): a building file is imported
    check(not re.search(r'id="buildings-panel"[^>]*hidden', dom), "the Buildings table shown")
    bpanel = dom[dom.index('id="buildings-panel"'):dom.index('id="site-view"')]
    brows = [re.sub(r"<[^>]+>", "|", r) for r in
             re.findall(r"<tr[^>]*>(.*?)</tr>", bpanel[bpanel.index("<tbody"):], re.S)]
    check(any("HQ Tower" in r and "% bad (" in r for r in brows) and
          any("Lyon Office" in r for r in brows),
          "Buildings: HQ Tower with its share of bad calls, and Lyon Office (%s)" % brows[:2])
    # the call list's Building column: the participants' buildings, a dash for none
    calls = dom[dom.index('id="calls"'):]
    heads = re.findall(r"<th[^>]*>([^<]*)</th>", calls[:calls.index("</thead>")])
    check("Building" in heads and heads.index("Building") == heads.index("Site") + 1,
          "the call list has a Building column after Site (%s)" % heads)
    crow = {m.group(1): [re.sub(r"<[^>]+>", "", c) for c in
                         re.findall(r"<td[^>]*>(.*?)</td>", m.group(2), re.S)]
            for m in re.finditer(r'<tr[^>]*data-call="([^"]+)"[^>]*>(.*?)</tr>', calls, re.S)}
    col = heads.index("Building")
    check(crow.get("rec-jane-poor", [""] * 9)[col] == "HQ Tower, Lyon Office" and
          crow.get("rec-jane-ok", [""] * 9)[col] == "HQ Tower" and
          crow.get("rec-townhall", [""] * 9)[col] == "—",
          "Building cells: both buildings of Jane's meeting, a dash for the kiosk's town hall (%s)"
          % {k: v[col] for k, v in crow.items()})
    names = re.findall(r'<option value="([^"]+)">', dom[dom.index('id="building-names"'):]
                       .split("</datalist>")[0])
    check(sorted(names) == ["HQ Tower", "Lyon Office"],
          "the Building filter box offers the list's buildings (%s)" % names)
    sel = dom[dom.index('id="live-building"'):]
    sel = sel[:sel.index("</select>")]
    check("HQ Tower" in sel and "Lyon Office" in sel, "the building filter offers the live buildings")
    dom = chrome(exe, base + "#token=%s&live_building=%s" % (TOKEN, urllib.parse.quote("HQ Tower")))
    live_rows = dom[dom.index('id="live"'):dom.index('id="live-buildings-box"')]
    check("calls in progress in HQ Tower" in dom, "live panel filtered: says by which building")
    check(live_rows.count("<tr") == 2 and ">hq<" in live_rows and "1 of 2 degraded" in live_rows
          and "lyon" not in live_rows,
          "filtered by building: hq only, 1 of its 2 calls degraded (%s)" % re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "|", live_rows))[:600])
    up, down, mark = chrome(exe, base + "#token=%s&live_building=%s" %
                            (TOKEN, urllib.parse.quote("HQ Tower")),
                            os.path.join(WORKDIR, "dashboard-live-building.png"), "1400,1400",
                            dict(MAIN_PANELS, live=1, live_buildings=1),  # hq, HQ Tower: filtered
                            SORT_BY_BUILDING)
    check(up == ["rec-jane-ok", "rec-bob-zoe", "rec-jane-poor", "rec-townhall"] and
          down == ["rec-bob-zoe", "rec-jane-poor", "rec-jane-ok", "rec-townhall"] and
          mark == "desc", "the Building column sorts both ways, calls in no building last"
          " (%s, %s)" % (up, down))
    dom = chrome(exe, base + "#token=%s&call=rec-jane-poor" % TOKEN)
    people = dom[dom.index('id="call-people"'):]
    check("Jane Doe" in people and "Bob Lyon" in people and "Visiting Guest" in people,
          "call page: participants by name")
    check("HQ Tower" in people and "Lyon Office" in people, "call page: buildings")
    check("Jabra Evolve2 of Jane" in people and "LAPTOP-JANE" in people, "call page: device, host")
    check("rated poor" in people and "robotic voice" in people, "call page: rating and feedback")
    check("5 GHz" in people and "channel 36" in people, "call page: Wi-Fi in words")
    check(THREAD in dom and "Jane.Doe@contoso.example" in dom, "call page: meeting and organiser")
    poor = dom[dom.index('id="rated-poor"'):dom.index('id="calls-panel"')]
    rows = re.findall(r'data-call="([^"]+)"', poor)
    check(rows == ["rec-bob-zoe", "rec-jane-poor"], "Rated poor list: the two calls, newest first")
    check(poor.count('class="verdict v-') == 2, "each with its verdict")
    check('id="f-user"' in dom and 'id="f-building"' in dom, "filter boxes for person and building")
    dom = chrome(exe, base + "#token=%s&user=Jane%%20Doe" % TOKEN)
    lst = re.findall(r'data-call="([^"]+)"', dom[dom.index('id="calls"'):])
    check(sorted(lst) == ["rec-jane-ok", "rec-jane-poor"],
          "person filter from the address: Jane's calls only %s" % lst)
    shot = os.path.join(WORKDIR, "dashboard-people.png")
    chrome(exe, base + "#token=%s&call=rec-jane-poor" % TOKEN, shot, "1400,1000",
           dict(CALL_PANELS, live=2, live_buildings=3))  # hq, lyon; 2 buildings and unmapped
    no_pii_in_logs()
    stop(p)


# Everything personal the scenario holds, as a viewer must never see it:
# names, UPNs, object ids, addresses, MACs, devices, hosts, feedback, links.
VIEWER_SECRETS = SECRETS + [
    ZOE["displayName"], ZOE["userPrincipalName"], JANE["id"], BOB["id"], ZOE["id"], OLGA["id"],
    PAT["id"], ZOE_IP, "10.77.0.9", "10.77.0.10", "Speakers (Realtek)", "MAC-BOB", "Lobby Kiosk",
    "02:00:00:00:aa:0f", "02-00-00-00-AA-0F", "02:00:00:00:aa:07", JOIN_URL, "meetup-join"]


def viewer_dom(exe, url):
    """The rendered DOM for the viewer; the token itself is left out of it."""
    dom = chrome(exe, url)
    check(VIEWER not in dom, "the token is not in the page")
    html = dom.lower()
    leaked = [s for s in VIEWER_SECRETS if s.lower() in html]
    check(not leaked, "no name, UPN, id, address, MAC, device, host, feedback or link in the"
          " viewer's DOM %s" % leaked)
    return dom


def case_dashboard_viewer():
    exe = chromium()
    if not exe:
        skip("chromium not installed (apt-get install chromium)")
    setup()
    p = serve()
    base = "http://127.0.0.1:%d/" % PORT[0]
    # the main page: lists, rated poor, the filter boxes
    dom = viewer_dom(exe, base + "#token=%s" % VIEWER)
    check(re.search(r'id="f-user-label"[^>]*\shidden', dom) is not None,
          "the Person box is hidden for a viewer")
    check(re.search(r'id="client-label"[^>]*\shidden', dom) is not None,
          "so is the client address box (a viewer's client= is refused)")
    poor = dom[dom.index('id="rated-poor"'):dom.index('id="calls-panel"')]
    check(re.findall(r'data-call="([^"]+)"', poor) == ["rec-bob-zoe", "rec-jane-poor"],
          "the viewer still sees the rated-poor calls with their verdicts")
    check(sorted(set(re.findall(r'data-call="([^"]+)"', dom[dom.index('id="calls"'):]))) ==
          ["rec-bob-zoe", "rec-jane-ok", "rec-jane-poor", "rec-townhall"], "and the call list")
    # the call page: every participant by pseudonym, buildings and ratings kept
    dom = viewer_dom(exe, base + "#token=%s&call=rec-jane-poor" % VIEWER)
    people = dom[dom.index('id="call-people"'):]
    names = set(re.findall(r"\bname-[0-9a-f]{8}\b", people))
    check(len(names) >= 2, "participants shown as name- pseudonyms %s" % sorted(names))
    check(re.search(r"\bupn-[0-9a-f]{8}\b", dom) and re.search(r"\bip-[0-9a-f]{8}\b", people)
          and re.search(r"\bdev-[0-9a-f]{8}\b", people) and
          re.search(r"\bhost-[0-9a-f]{8}\b", people), "UPN, address, device, host pseudonyms")
    check("HQ Tower" in people and "Lyon Office" in people, "buildings shown (not personal)")
    check("rated poor" in people and "5 GHz" in people, "ratings and Wi-Fi in words shown")
    check(THREAD in dom, "the meeting's thread id shown (its join link withheld)")
    shots = [("main", base + "#token=%s" % VIEWER),
             ("call", base + "#token=%s&call=rec-jane-poor" % VIEWER)]
    for name, url in shots:
        chrome(exe, url, os.path.join(WORKDIR, "dashboard-viewer-%s.png" % name), "1400,1000",
               CALL_PANELS if name == "call" else MAIN_PANELS)
    # the audit log: the viewer's pages showed no personal data, so nothing of theirs
    audit = os.path.join(TMP, "audit.log")
    recs = [json.loads(l) for l in open(audit)] if os.path.exists(audit) else []
    check(all(r["token"] != "wall.token" for r in recs), "no audit record for the viewer")
    no_pii_in_logs()
    stop(p)


CASES = {"api": case_api, "search": case_search, "report": case_report,
         "dashboard": case_dashboard, "dashboard_viewer": case_dashboard_viewer,
         "live": case_live}

if __name__ == "__main__":
    if CASE not in CASES:
        fail("unknown case " + CASE)
    CASES[CASE]()
    shutil.rmtree(TMP, ignore_errors=True)
    print("%s: ok" % CASE)
