#!/usr/bin/env python3
"""Roles, pseudonyms and the audit log of the NOC API (docs/noc.md "Roles,
pseudonyms and the audit log"): real 'callscope-collector serve' processes on
127.0.0.1 over a store whose tables come from the collector's own migrations
and whose rows are written through its own sealing (noc_fixture). One case
per invocation:

  roles_test.py COLLECTOR FIXTURE WORKDIR CASE     (CASE: roles, audit, config)

Exit 0 pass, 1 fail.
"""
import datetime
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

COLLECTOR, FIXTURE, WORKDIR, CASE = sys.argv[1:5]
os.makedirs(WORKDIR, exist_ok=True)
TMP = tempfile.mkdtemp(prefix="roles-%s-" % CASE, dir=WORKDIR)
DB = os.path.join(TMP, "collector.db")
ORGKEY = os.path.join(TMP, "org.key")
INV_FILE = os.path.join(TMP, "inv.token")
VIEW_FILE = os.path.join(TMP, "wall.token")
INV = "inv-%032x" % random.getrandbits(128)
VIEW = "view-%032x" % random.getrandbits(128)
LOG = os.path.join(TMP, "serve.log")
AUDIT = os.path.join(TMP, "audit.log")  # serve's default: beside the store
PROCS = []
PORT = [0]

# Every personal value the fixture holds: none may reach a viewer, the
# audit log, the application log or /metrics.
ALICE, BOB, CAROL, DAVE = "10.9.0.11", "10.9.0.12", "10.9.0.13", "10.9.0.14"
ADDRESSES = [ALICE, BOB, CAROL, DAVE]


def fail(msg):
    print("FAIL:", msg)
    for p in PROCS:
        if p.poll() is None:
            p.kill()
    print("--- serve log ---\n" + read(LOG))
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)
    print("ok:", msg)


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return ""


def iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


NOW = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def ago(minutes):
    return iso(NOW - datetime.timedelta(minutes=minutes))


# ---- fixture ----------------------------------------------------------------------

def q(s):
    return "NULL" if s is None else "'" + str(s).replace("'", "''") + "'"


EV = json.dumps({"rule": "fixture", "wire": None, "graph": None, "thresholds": {}})


def call(cid, site, verdict, start_min):
    return ("INSERT INTO verdict_calls(call_id, source, site, start, end, verdict, confidence,"
            " graph_record_id, graph_version, evaluated, evidence) VALUES(%s, 'joined', %s, %s,"
            " %s, %s, 0.9, NULL, NULL, %s, %s);\n" %
            (q(cid), q(site), q(ago(start_min)), q(ago(start_min - 5)), q(verdict), q(iso(NOW)),
             q(EV)))


def participant(cid, part, site, ip):
    hm = "pii_hash('ip', %s)" % q(ip) if ip else "NULL"
    enc = "pii_seal('verdict_participants.client_ip', %s)" % q(ip) if ip else "NULL"
    return ("INSERT INTO verdict_participants(call_id, participant, site, client_ip_hmac,"
            " client_ip_enc, verdict, confidence, evidence) VALUES(%s, %s, %s, %s, %s, 'lan', 0.8,"
            " %s);\n" % (q(cid), q(part), q(site), hm, enc, q(EV)))


def stream(sid, cid, part, site, ip, first_min):
    rec = json.dumps({"type": "stream", "ssrc": sid, "packets": 3000, "lost": 90})
    return ("INSERT INTO streams(id, probe_id, site, received, first_seen, last_seen, client_port,"
            " ssrc, direction, media, app, packets, lost, loss_pct, jitter_ms_max, mos,"
            " client_ip_enc, client_ip_hmac, record) VALUES(%d, 'probe-%s', %s, %s, %s, %s, 50010,"
            " %d, 'outbound', 'audio', 'teams', 3000, 90, 3.0, 20.0, 3.5,"
            " pii_seal('streams.client_ip', %s), pii_hash('ip', %s), %s);\n"
            "INSERT INTO verdict_streams(call_id, participant, stream_id, graph_stream_rid,"
            " direction, media, verdict, confidence, evidence) VALUES(%s, %s, %d, NULL,"
            " 'outbound', 'audio', 'lan', 0.8, %s);\n" %
            (sid, site, q(site), q(iso(NOW)), q(ago(first_min)), q(ago(first_min - 5)), sid,
             q(ip), q(ip), q(rec), q(cid), q(part), sid, q(EV)))


def setup():
    r = subprocess.run([COLLECTOR, "org-keygen", "--tenant", "contoso.example", "--out", ORGKEY],
                       capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        fail("org-keygen: " + r.stderr)
    for path, tok in ((INV_FILE, INV), (VIEW_FILE, VIEW)):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, (tok + "\n").encode())
        os.close(fd)
    # The tables come from the collector's own migrations (correlate on an
    # empty store creates them), never from a copy of their schema.
    r = subprocess.run([COLLECTOR, "correlate", "--db", DB, "--org-key", ORGKEY, "--since", "60s"],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        fail("correlate (schema): " + r.stderr)
    # Alice is in both hq calls (same address: same pseudonym); Bob, Carol
    # and Dave once each; a branch call has a participant without address.
    sql = (call("call-a", "hq", "lan", 30) + participant("call-a", "caller", "hq", ALICE) +
           participant("call-a", "callee", "hq", BOB) + stream(1, "call-a", "caller", "hq", ALICE, 30) +
           call("call-b", "hq", "wan", 60) + participant("call-b", "caller", "hq", ALICE) +
           participant("call-b", "callee", "hq", CAROL) + stream(2, "call-b", "callee", "hq", CAROL, 60) +
           call("call-c", "branch", "healthy", 90) + participant("call-c", "caller", "branch", None) +
           participant("call-c", "callee", "branch", DAVE))
    path = os.path.join(TMP, "fixture.sql")
    with open(path, "w") as f:
        f.write(sql)
    r = subprocess.run([FIXTURE, DB, ORGKEY, path], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        fail("fixture: " + r.stderr)


# ---- the server --------------------------------------------------------------------

def start(args, expect_ok=True):
    logf = open(LOG, "a")
    seen = len(read(LOG))
    p = subprocess.Popen([COLLECTOR, "serve", "--db", DB, "--org-key", ORGKEY, "--bind",
                          "127.0.0.1:0", "--no-syslog"] + list(args), stdout=logf, stderr=logf)
    PROCS.append(p)
    deadline = time.time() + 20
    while time.time() < deadline:
        m = re.search(r"listening on port (\d+)", read(LOG)[seen:])
        if m:
            PORT[0] = int(m.group(1))
            return p
        if p.poll() is not None:
            if expect_ok:
                fail("serve exited at start (%d)" % p.returncode)
            return p
        time.sleep(0.05)
    fail("serve did not start")


def serve(extra=()):
    return start(["--token-file", INV_FILE, "--viewer-token-file", VIEW_FILE] + list(extra))


def stop(p):
    if p.poll() is None:
        p.terminate()
    check(p.wait(timeout=20) == 0, "serve exits 0 on SIGTERM")


def get(path, token, method="GET"):
    """(status, body bytes)."""
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (PORT[0], path), method=method,
                                 headers={"Authorization": "Bearer " + token} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=15) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def get_json(path, token):
    st, body = get(path, token)
    try:
        return st, json.loads(body), body
    except ValueError:
        fail("%s: not JSON (%d): %r" % (path, st, body[:200]))


PSEUDO = re.compile(r"^ip-[0-9a-f]{8}$")


def no_address(body, what):
    text = body.decode() if isinstance(body, bytes) else body
    hits = [a for a in ADDRESSES if a in text]
    check(not hits, "%s holds no fixture address (%s)" % (what, hits))


def parts(body):
    return {p["participant"]: p for p in body["participants"]}


# ---- cases ---------------------------------------------------------------------------

def case_roles():
    setup()
    p = serve()
    st, b, _ = get_json("/api/whoami", INV)
    check(st == 200 and b == {"role": "investigator", "token": "inv.token"}, "whoami: investigator")
    st, b, _ = get_json("/api/whoami", VIEW)
    check(st == 200 and b == {"role": "viewer", "token": "wall.token"}, "whoami: viewer")
    for tok in (None, INV + "x", VIEW[:-1], "x" * 40):
        st, b, _ = get_json("/api/whoami", tok)
        check(st == 401 and b.get("status") == 401, "whoami with a wrong or no token: 401")
        st, _, _ = get_json("/api/calls/call-a", tok)
        check(st == 401, "/api/calls/call-a with a wrong or no token: 401")

    # the investigator sees the addresses
    st, b, _ = get_json("/api/calls/call-a", INV)
    check(st == 200 and parts(b)["caller"]["client_ip"] == ALICE and
          parts(b)["callee"]["client_ip"] == BOB, "investigator: participants' addresses in clear")
    check(b["streams"][0]["probe"]["client_ip"] == ALICE, "investigator: stream address in clear")

    # the viewer sees pseudonyms, the same for the same address
    st, a, raw_a = get_json("/api/calls/call-a", VIEW)
    check(st == 200, "viewer: call answered")
    alice, bob = parts(a)["caller"]["client_ip"], parts(a)["callee"]["client_ip"]
    check(PSEUDO.match(alice) and PSEUDO.match(bob), "viewer: ip-xxxxxxxx pseudonyms (%s, %s)" %
          (alice, bob))
    check(alice != bob, "different addresses: different pseudonyms")
    check(a["streams"][0]["probe"]["client_ip"] == alice,
          "the stream's address has its participant's pseudonym")
    check(parts(a)["caller"]["client_id"] == parts(b)["caller"]["client_id"],
          "client_id (already pseudonymous) unchanged")
    st, bb, raw_b = get_json("/api/calls/call-b", VIEW)
    check(parts(bb)["caller"]["client_ip"] == alice, "same address in another call: same pseudonym")
    check(parts(bb)["callee"]["client_ip"] not in (alice, bob), "Carol has her own pseudonym")
    st, c, raw_c = get_json("/api/calls/call-c", VIEW)
    check(parts(c)["caller"]["client_ip"] is None, "no address stays null")
    st, cl, raw_cl = get_json("/api/clients", VIEW)
    by_ip = {x["client_ip"]: x for x in cl["clients"]}
    check(st == 200 and alice in by_ip and by_ip[alice]["calls"] == 2,
          "/api/clients: Alice's pseudonym with her 2 calls")
    st, site, raw_site = get_json("/api/sites/hq", VIEW)
    check(alice in [w["client_ip"] for w in site["worst_clients"]],
          "/api/sites/hq: worst clients by pseudonym")
    for path, raw in (("call-a", raw_a), ("call-b", raw_b), ("call-c", raw_c),
                      ("/api/clients", raw_cl), ("/api/sites/hq", raw_site)):
        no_address(raw, "viewer's " + path)
    for path in ("/api/calls", "/api/sites", "/api/live", "/api/calls/call-a/timeline"):
        st, raw = get(path, VIEW)
        check(st == 200, "viewer: %s answered" % path)
        no_address(raw, "viewer's " + path)

    # no search by person for a viewer, checked on the raw query
    for query in ({"user": "alice@contoso.example"}, {"client": ALICE},
                  {"since": "24h", "user": "Alice Example"}):
        st, b, _ = get_json("/api/calls?" + urllib.parse.urlencode(query), VIEW)
        check(st == 403 and "investigator" in b["error"] and b["status"] == 403,
              "viewer searching by %s: 403 (%s)" % (list(query)[-1], b.get("error")))
        no_address(json.dumps(b), "the 403")
    # the live panel's person filter too (the building filter is not a person's)
    st, b, _ = get_json("/api/live?" + urllib.parse.urlencode({"user": "alice@contoso.example"}),
                        VIEW)
    check(st == 403 and "investigator" in b["error"], "viewer: /api/live?user= 403")
    st, b, _ = get_json("/api/live?building=HQ", VIEW)
    check(st == 200, "viewer: /api/live?building= answered (%d)" % st)
    st, b, _ = get_json("/api/calls?" + urllib.parse.urlencode({"client": ALICE}), INV)
    check(st == 200 and sorted(x["call_id"] for x in b["calls"]) == ["call-a", "call-b"],
          "the investigator may search by address")
    st, _, _ = get_json("/api/calls?user=alice", INV)
    check(st != 403, "the investigator is not refused user= (%d)" % st)

    # pseudonyms survive a restart (derived from the organisation key)
    stop(p)
    p = serve()
    st, a2, _ = get_json("/api/calls/call-a", VIEW)
    check(parts(a2)["caller"]["client_ip"] == alice, "same pseudonym after a restart")
    log = read(LOG)
    no_address(log, "the server's log")
    check(INV not in log and VIEW not in log, "no token in the server's log")
    stop(p)


def audit_lines():
    return [json.loads(l) for l in read(AUDIT).splitlines()]


def metrics(token):
    st, body = get("/metrics", token)
    out = {}
    for line in body.decode().splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            out[k] = float(v)
    return out, body


def case_audit():
    setup()
    p = serve()
    # Of these, only the investigator's answers holding an address are recorded.
    requests = [("/api/calls/call-a", INV, "GET"),     # addresses: recorded
                ("/api/calls", INV, "GET"),            # no personal field
                ("/api/sites", INV, "GET"),            # no personal field
                ("/api/calls/call-c/timeline", INV, "GET"),  # no personal field
                ("/api/clients?site=hq", INV, "GET"),  # addresses: recorded
                ("/api/calls/call-b", INV, "HEAD"),    # no body sent
                ("/api/calls/call-b", VIEW, "GET"),    # pseudonyms only
                ("/api/clients", VIEW, "GET"),
                ("/api/whoami", INV, "GET"),
                ("/healthz", None, "GET"),
                ("/api/calls/call-a", INV + "x", "GET"),  # 401
                ("/api/calls/nope", INV, "GET")]       # 404
    for path, tok, method in requests:
        st, _ = get(path, tok, method)
        check(st in (200, 401, 404), "%s %s as %s: %d" % (method, path, tok and tok[:4], st))
    lines = audit_lines()
    check([l["endpoint"] for l in lines] == ["/api/calls/call-a", "/api/clients"],
          "the audit log has exactly the investigator's two answers with addresses (%s)" %
          [l["endpoint"] for l in lines])
    a, c = lines
    check(a["token"] == "inv.token" and a["role"] == "investigator", "token named by its file")
    check(a["call_ids"] == ["call-a"] and a["call_ids_total"] == 1, "the call id recorded")
    check(a["fields"] == ["client_ip"] and a["values"] == 3,
          "which personal field, how many values (2 participants, 1 stream)")
    check(c["call_ids"] == [] and c["call_ids_total"] == 0 and c["fields"] == ["client_ip"],
          "/api/clients: no call ids, client_ip")
    t = datetime.datetime.strptime(a["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc)
    check(abs((t - datetime.datetime.now(datetime.timezone.utc)).total_seconds()) < 120,
          "record time is now (%s)" % a["time"])
    text = read(AUDIT)
    no_address(text, "the audit log")
    check("site=hq" not in text, "no query string in the audit log")
    check(INV not in text and VIEW not in text, "no token in the audit log")
    check(oct(os.stat(AUDIT).st_mode & 0o777) == "0o600", "audit log mode 0600")

    m, raw = metrics(INV)
    check(m.get("callscope_noc_audit_writes_total") == 2, "/metrics: 2 audit writes")
    check(m.get("callscope_noc_audit_failures_total") == 0, "/metrics: no audit failure")
    no_address(raw, "/metrics")

    # the audit command reads it back
    r = subprocess.run([COLLECTOR, "audit", "--since", "24h", "--audit-log", AUDIT],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 0, "audit --since 24h exits 0 (%s)" % r.stderr)
    rows = r.stdout.splitlines()
    check(rows[0].split() == ["TIME", "TOKEN", "ENDPOINT", "CALLS", "FIELDS"], "table header")
    check(len(rows) == 3 and "/api/calls/call-a" in rows[1] and "inv.token" in rows[1] and
          "1 call-a" in rows[1] and rows[1].endswith("client_ip") and "/api/clients" in rows[2],
          "audit table: the two records\n" + r.stdout)
    r = subprocess.run([COLLECTOR, "audit", "--since", "24h", "--db", DB, "--format", "json"],
                       capture_output=True, text=True, timeout=30)
    recs = json.loads(r.stdout)
    check(r.returncode == 0 and recs == lines, "--format json (log found beside --db): the records")
    r = subprocess.run([COLLECTOR, "audit", "--audit-log", AUDIT, "--call", "call-a", "--format",
                        "json"], capture_output=True, text=True, timeout=30)
    check([x["endpoint"] for x in json.loads(r.stdout)] == ["/api/calls/call-a"], "--call")
    r = subprocess.run([COLLECTOR, "audit", "--audit-log", AUDIT, "--token", "wall.token"],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 0 and "no audit record since" in r.stdout, "--token of the viewer: none")
    # an old record and a torn line
    with open(AUDIT, "a") as f:
        old = dict(a, time="2020-01-01T00:00:00.000000Z", endpoint="/api/calls/old")
        f.write(json.dumps(old) + "\n{\"torn\n")
    r = subprocess.run([COLLECTOR, "audit", "--since", "24h", "--audit-log", AUDIT],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 0 and "/api/calls/old" not in r.stdout and len(r.stdout.splitlines()) == 3,
          "--since 24h leaves the 2020 record out")
    check("1 line(s) that are not audit records skipped" in r.stderr, "torn line counted")
    r = subprocess.run([COLLECTOR, "audit", "--since", "520w", "--audit-log", AUDIT],
                       capture_output=True, text=True, timeout=30)
    check("/api/calls/old" in r.stdout, "--since 520w shows it")
    for bad in (["--since", "forever"], ["--format", "xml"], ["extra"]):
        r = subprocess.run([COLLECTOR, "audit", "--audit-log", AUDIT] + bad,
                           capture_output=True, text=True, timeout=30)
        check(r.returncode == 2, "audit %s: usage error" % bad)
    r = subprocess.run([COLLECTOR, "audit", "--audit-log", os.path.join(TMP, "none.log")],
                       capture_output=True, text=True, timeout=30)
    check(r.returncode == 1 and "none.log" in r.stderr, "missing log: exit 1 naming it")

    # fail closed: when the record cannot be written, the investigator gets no data
    os.rename(AUDIT, AUDIT + ".old")
    os.mkdir(AUDIT)
    st, b, raw = get_json("/api/calls/call-a", INV)
    check(st == 503 and "audit log" in b["error"], "audit log unwritable: 503, no data")
    no_address(raw, "the 503")
    st, _, _ = get_json("/api/calls/call-a", VIEW)
    check(st == 200, "the viewer is still answered (nothing to record)")
    st, _, _ = get_json("/api/sites", INV)
    check(st == 200, "an investigator's answer without personal data is still answered")
    m, _ = metrics(INV)
    check(m.get("callscope_noc_audit_failures_total") == 1, "/metrics: the failure counted")
    os.rmdir(AUDIT)
    st, _, _ = get_json("/api/calls/call-a", INV)
    check(st == 200 and len(audit_lines()) == 1, "a removed log is started afresh")
    log = read(LOG)
    no_address(log, "the server's log")
    stop(p)


def case_config():
    setup()
    # the same token in both files is refused
    same = os.path.join(TMP, "same.token")
    fd = os.open(same, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, (INV + "\n").encode())
    os.close(fd)
    p = start(["--token-file", INV_FILE, "--viewer-token-file", same], expect_ok=False)
    check(p.wait(timeout=20) == 1 and "same token" in read(LOG), "the same token for both roles: refused")
    check(INV not in read(LOG), "the token is not in the message")
    # an audit log that cannot be opened stops the start
    p = start(["--token-file", INV_FILE, "--audit-log", os.path.join(TMP, "no", "such", "a.log")],
              expect_ok=False)
    check(p.wait(timeout=20) == 1 and "audit log" in read(LOG), "unwritable --audit-log: refused")
    # no token at all
    p = start(["--token-file", ""], expect_ok=False)
    check(p.wait(timeout=20) == 1 and "no token file" in read(LOG), "no token file: refused")
    # viewers only: no investigator, no audit log needed
    alt = os.path.join(TMP, "alt.log")
    p = start(["--token-file", "", "--viewer-token-file", VIEW_FILE, "--audit-log", alt])
    st, b, _ = get_json("/api/whoami", VIEW)
    check(st == 200 and b["role"] == "viewer", "viewer-only server: viewer answered")
    st, _, _ = get_json("/api/whoami", INV)
    check(st == 401, "viewer-only server: the investigator's token is refused")
    st, b, raw = get_json("/api/calls/call-a", VIEW)
    check(st == 200 and PSEUDO.match(parts(b)["caller"]["client_ip"]), "pseudonyms")
    no_address(raw, "viewer-only answer")
    check(not os.path.exists(alt), "no audit log without an investigator")
    stop(p)
    # investigator only, --audit-log elsewhere
    p = start(["--token-file", INV_FILE, "--audit-log", alt])
    st, _, _ = get_json("/api/calls/call-a", INV)
    check(st == 200 and len(read(alt).splitlines()) == 1, "--audit-log FILE written")
    st, _, _ = get_json("/api/whoami", VIEW)
    check(st == 401, "no viewer token configured: the viewer's token is refused")
    stop(p)
    # help
    r = subprocess.run([COLLECTOR, "serve", "--help"], capture_output=True, text=True, timeout=30)
    for opt in ("--token-file", "--viewer-token-file", "--audit-log"):
        check(opt in r.stdout, "serve --help: " + opt)
    r = subprocess.run([COLLECTOR, "run", "--help"], capture_output=True, text=True, timeout=30)
    for opt in ("--http-token-file", "--http-viewer-token-file", "--http-audit-log"):
        check(opt in r.stdout, "run --help: " + opt)
    r = subprocess.run([COLLECTOR, "audit", "--help"], capture_output=True, text=True, timeout=30)
    for word in ("SYNOPSIS", "DESCRIPTION", "OPTIONS", "--since", "--format", "--audit-log",
                 "EXIT STATUS", "EXAMPLES", "FILES"):
        check(word in r.stdout, "audit --help: " + word)
    check(r.returncode == 0 and max(len(l) for l in r.stdout.splitlines()) <= 80,
          "audit --help lines fit 80 columns")
    r = subprocess.run([COLLECTOR, "--help"], capture_output=True, text=True, timeout=30)
    check(re.search(r"^  audit ", r.stdout, re.M), "audit in the command list")


CASES = {n[5:]: f for n, f in globals().items() if n.startswith("case_")}
if CASE not in CASES:
    print("unknown case", CASE)
    sys.exit(2)
try:
    CASES[CASE]()
finally:
    for proc in PROCS:
        if proc.poll() is None:
            proc.kill()
shutil.rmtree(TMP, ignore_errors=True)
print("PASS")
