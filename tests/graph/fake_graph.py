"""A fake Microsoft identity platform + Graph callRecords API over HTTPS on
127.0.0.1, for callscope's Graph tests. Python standard library only.

Scenario state lives in FakeGraph: the records (by id, current version),
paging sizes, the client secret it accepts, token lifetimes, and fault
rules that fire on the first N matching requests. Every request is logged
(method, path, status, time) so tests can assert on what the client did.
"""
import json
import os
import re
import ssl
import subprocess
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def make_certs(workdir):
    """Test CA and a server certificate for 127.0.0.1, made with the openssl CLI."""
    ca_key, ca_pem = os.path.join(workdir, "ca.key"), os.path.join(workdir, "ca.pem")
    key, csr, pem = (os.path.join(workdir, n) for n in ("server.key", "server.csr", "server.pem"))
    ext = os.path.join(workdir, "server.ext")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run = lambda args: subprocess.run(["openssl"] + args, check=True, capture_output=True)
    run(["req", "-x509"] + ec + ["-days", "2", "-subj", "/CN=callscope test CA",
         "-addext", "basicConstraints=critical,CA:TRUE",
         "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-keyout", ca_key, "-out", ca_pem])
    run(["req"] + ec + ["-subj", "/CN=127.0.0.1", "-keyout", key, "-out", csr])
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n"
                "extendedKeyUsage=serverAuth\n")
    run(["x509", "-req", "-in", csr, "-CA", ca_pem, "-CAkey", ca_key, "-CAcreateserial",
         "-days", "2", "-extfile", ext, "-out", pem])
    return ca_pem, pem, key


class Rule:
    """On the first `count` requests whose path matches `pattern`, do `action`:
    ('status', code, retry_after|None) | ('sleep', seconds) | ('cut',) |
    ('malformed',) | ('expire_token',)."""

    def __init__(self, pattern, action, count=1):
        self.pattern, self.action, self.left = re.compile(pattern), action, count


class FakeGraph:
    def __init__(self, workdir, tenant, client_id, secret):
        self.tenant, self.client_id, self.secret = tenant, client_id, secret
        self.records = {}          # id -> record JSON (current version)
        self.list_page = 60
        self.sessions_page = 60
        self.participants_page = 130   # Graph's participants_v2 page
        self.expand_participants = False  # first page inside the record, as $expand does
        self.token_lifetime = 3599
        self.forbidden = False     # 403 on Graph: no CallRecords.Read.All
        self.rules = []
        self.log = []              # (time, method, path, status)
        self.tokens = {}           # token -> expiry (monotonic)
        self.lock = threading.Lock()
        ca, pem, key = make_certs(workdir)
        self.ca = ca
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(pem, key)
        handler = type("H", (Handler,), {"fake": self})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.base = "https://127.0.0.1:%d" % self.port
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()

    def rule_for(self, path):
        with self.lock:
            for r in self.rules:
                if r.left > 0 and r.pattern.search(path):
                    r.left -= 1
                    return r.action
        return None

    def requests(self, pattern, method="GET"):
        rx = re.compile(pattern)
        return [e for e in self.log if e[1] == method and rx.search(e[2])]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fake = None

    def log_message(self, *args):
        pass

    def reply(self, status, body, headers=None, cut=False):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.fake.log.append((time.monotonic(), self.command, self.path, status))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if cut:  # promise the whole body, send half, hang up
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(data)

    def fault(self):
        action = self.fake.rule_for(self.path)
        if not action:
            return None
        if action[0] == "status":
            hdr = {"Retry-After": action[2]} if action[2] else {}
            code = "TooManyRequests" if action[1] == 429 else "serviceNotAvailable"
            self.reply(action[1], {"error": {"code": code, "message": "fake fault"}}, hdr)
            return True
        if action[0] == "sleep":
            time.sleep(action[1])
            return None  # then answer normally (the client has gone)
        return action

    # ---- identity platform
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        form = urllib.parse.parse_qs(self.rfile.read(n).decode())
        m = re.match(r"^/([^/]+)/oauth2/v2\.0/token$", self.path)
        if not m:
            return self.reply(404, {"error": "not_found"})
        if self.fault():
            return
        f = self.fake
        if m.group(1) != f.tenant:
            return self.reply(400, {
                "error": "invalid_request",
                "error_description": "AADSTS90002: Tenant '%s' not found.\r\nTrace ID: 0" % m.group(1),
                "error_codes": [90002]})
        if form.get("client_id") != [f.client_id]:
            return self.reply(400, {
                "error": "unauthorized_client",
                "error_description": "AADSTS700016: Application not found in the directory.\r\n",
                "error_codes": [700016]})
        if form.get("client_secret") != [f.secret] or form.get("grant_type") != ["client_credentials"]:
            return self.reply(401, {
                "error": "invalid_client",
                "error_description": "AADSTS7000215: Invalid client secret provided.\r\nTrace ID: 0",
                "error_codes": [7000215]})
        if form.get("scope") != [f.base + "/.default"]:
            return self.reply(400, {"error": "invalid_scope", "error_description": "bad scope"})
        tok = "tok-%d" % (len(f.tokens) + 1)
        f.tokens[tok] = time.monotonic() + f.token_lifetime
        self.reply(200, {"token_type": "Bearer", "expires_in": f.token_lifetime,
                         "ext_expires_in": f.token_lifetime, "access_token": tok})

    # ---- Graph
    def authorised(self):
        auth = self.headers.get("Authorization", "")
        tok = auth[7:] if auth.startswith("Bearer ") else ""
        exp = self.fake.tokens.get(tok)
        if exp is None or exp < time.monotonic():
            self.reply(401, {"error": {"code": "InvalidAuthenticationToken",
                                       "message": "Access token has expired or is not yet valid."}})
            return False
        return True

    def do_GET(self):
        f = self.fake
        action = self.fault()
        if action is True:
            return
        if not self.authorised():
            return
        if action and action[0] == "expire_token":
            f.tokens[self.headers["Authorization"][7:]] = 0
            return self.authorised()
        if f.forbidden:
            return self.reply(403, {"error": {"code": "Forbidden", "message": ""}})
        u = urllib.parse.urlsplit(self.path)
        q = urllib.parse.parse_qs(u.query)
        skip = int(q.get("$skiptoken", ["0"])[0])
        m = re.match(r"^/v1\.0/communications/callRecords(?:/([^/]+))?(/sessions|/participants_v2)?$",
                     u.path)
        if not m:
            return self.reply(404, {"error": {"code": "NotFound", "message": ""}})
        if m.group(1) is None:
            body = self.list_body(skip)
        else:
            rec = f.records.get(m.group(1))
            if rec is None:
                return self.reply(404, {"error": {"code": "NotFound", "message": ""}})
            if m.group(2) == "/participants_v2":
                if "participants_v2" not in rec:  # a record from before participants_v2
                    return self.reply(404, {"error": {"code": "NotFound", "message": ""}})
                body = self.participants_body(rec, skip)
            else:
                body = self.sessions_body(rec, skip) if m.group(2) else self.record_body(rec)
        data = json.dumps(body).encode()
        if action and action[0] == "malformed":
            data = b'{"id": "' + data[8:40] + b'", "version": 1, "sessions": [ {,,,'
        self.reply(200, data, cut=bool(action and action[0] == "cut"))

    def list_body(self, skip):
        f = self.fake
        ids = sorted(f.records)
        page = ids[skip: skip + f.list_page]
        keys = ("id", "version", "type", "modalities", "lastModifiedDateTime",
                "startDateTime", "endDateTime", "organizer_v2")
        body = {"@odata.context": f.base + "/v1.0/$metadata#communications/callRecords",
                "value": [{k: f.records[i].get(k) for k in keys} for i in page]}
        if skip + f.list_page < len(ids):
            body["@odata.nextLink"] = "%s/v1.0/communications/callRecords?$skiptoken=%d" % (
                f.base, skip + f.list_page)
        return body

    def record_body(self, rec):
        f = self.fake
        body = dict(rec)
        body.pop("participants_v2", None)  # a relationship: only when expanded
        if f.expand_participants and "participants_v2" in rec:
            parts = rec["participants_v2"]
            body["participants_v2"] = parts[: f.participants_page]
            if len(parts) > f.participants_page:
                body["participants_v2@odata.nextLink"] = (
                    "%s/v1.0/communications/callRecords/%s/participants_v2?$skiptoken=%d"
                    % (f.base, rec["id"], f.participants_page))
        sessions = rec.get("sessions", [])
        body["sessions"] = sessions[: f.sessions_page]
        if len(sessions) > f.sessions_page:
            body["sessions@odata.nextLink"] = (
                "%s/v1.0/communications/callRecords/%s/sessions?$expand=segments&$skiptoken=%d"
                % (f.base, rec["id"], f.sessions_page))
        return body

    def sessions_body(self, rec, skip):
        f = self.fake
        sessions = rec.get("sessions", [])
        body = {"value": sessions[skip: skip + f.sessions_page]}
        if skip + f.sessions_page < len(sessions):
            body["@odata.nextLink"] = (
                "%s/v1.0/communications/callRecords/%s/sessions?$expand=segments&$skiptoken=%d"
                % (f.base, rec["id"], skip + f.sessions_page))
        return body

    def participants_body(self, rec, skip):
        f = self.fake
        parts = rec["participants_v2"]
        body = {"@odata.context": f.base + "/v1.0/$metadata#communications/callRecords('%s')"
                "/participants_v2" % rec["id"],
                "value": parts[skip: skip + f.participants_page]}
        if skip + f.participants_page < len(parts):
            body["@odata.nextLink"] = (
                "%s/v1.0/communications/callRecords/%s/participants_v2?$skiptoken=%d"
                % (f.base, rec["id"], skip + f.participants_page))
        return body
