#!/usr/bin/env python3
"""deskbed OAuth2 authorization server: a small local stand-in for Microsoft 365 / Google.

Loopback only, Python stdlib only. It issues opaque bearer tokens for the bed's users.
Dovecot checks each token by RFC 7662 introspection, so XOAUTH2/OAUTHBEARER logins on IMAP and
on SMTP AUTH (Postfix -> Dovecot SASL) can be tested end to end.

  POST /token               grant_type=refresh_token (RFC 6749 6; refresh tokens are ROTATED)
                            grant_type=urn:ietf:params:oauth:grant-type:device_code (RFC 8628 3.4)
  POST /devicecode          client_id, scope -> device_code, user_code, verification_uri, ...
  GET  /approve             ?user_code=XXXX-XXXX [&user=customer@desk.test] [&deny=1];
                            no code: a form
  POST /introspect          token=... -> {"active": true, "username": ..., "exp": ...}
                                       | {"active": false}
  POST /admin/revoke        token=<token> | user=<user> (every token of that user)
  POST /admin/expire-access every access token expires now
  POST /admin/issue         user=... [scope=...] -> a new refresh token (to seed another client)
  GET  /admin/state         the whole state, as JSON

Settings come from the environment (flags override): DESKBED_OAUTH_PORT / --port (10080),
DESKBED_DIR / --dir (state in $DESKBED_DIR/oauth), DESKBED_OAUTH_TTL / --ttl (access tokens,
300 s), DESKBED_OAUTH_AUTO_APPROVE / --auto-approve N (approve a device code after N pending
polls; 0 = off),
DESKBED_OAUTH_CLIENT_ID / _CLIENT_SECRET (deskterm-test / deskterm-secret), DESKBED_OAUTH_USER
(bootstrap token owner and default approver, support@desk.test), DESKBED_OAUTH_INTERVAL (device
poll interval, 1 s), DESKBED_OAUTH_DEVICE_TTL (600 s), DESKBED_OAUTH_REQUIRE_SECRET (0: a client
secret is checked when sent but may be left out, as public clients do; 1: required to refresh).

This copy is the test suite's: tests/servers/oauth.py runs it for a session on a free port
(--port), with its state in the session's state dir (--dir) and a pid file (--pidfile), and
points the suite's Dovecot at its /introspect. The original is ../shared/testbed/oauth_server.py;
this copy differs from it only in layout (ruff's) and this paragraph.
"""

import argparse
import base64
import html
import json
import os
import secrets
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote_plus, urlsplit

env = os.environ.get
ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
ap.add_argument("--port", type=int, default=int(env("DESKBED_OAUTH_PORT", "10080")))
ap.add_argument("--dir", default=os.path.join(env("DESKBED_DIR", "/tmp/deskbed"), "oauth"))
ap.add_argument("--ttl", type=int, default=int(env("DESKBED_OAUTH_TTL", "300")))
ap.add_argument("--auto-approve", type=int, default=int(env("DESKBED_OAUTH_AUTO_APPROVE") or 0))
ap.add_argument("--pidfile", help="write our pid here once listening")
A = ap.parse_args()

CLIENT_ID = env("DESKBED_OAUTH_CLIENT_ID", "deskterm-test")
CLIENTS = {
    CLIENT_ID: env("DESKBED_OAUTH_CLIENT_SECRET", "deskterm-secret")
}  # the one registered client
REQUIRE_SECRET = env("DESKBED_OAUTH_REQUIRE_SECRET", "0") == "1"
USER = env("DESKBED_OAUTH_USER", "support@desk.test")
INTERVAL = int(env("DESKBED_OAUTH_INTERVAL", "1"))  # real providers say 5
DEVICE_TTL = int(env("DESKBED_OAUTH_DEVICE_TTL", "600"))
SCOPE = "mail offline_access"  # used when a client asks for no scope
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
BASE = f"http://127.0.0.1:{A.port}"
STATE_FILE, RT_FILE = os.path.join(A.dir, "state.json"), os.path.join(A.dir, "refresh_token")

# The state: token -> details. Every change happens under `lock` and is saved to STATE_FILE.
#   refresh: {user, client_id, scope, iat}     access: {user, client_id, scope, exp}
#   device:  {user_code, client_id, scope, exp, interval, polls, last_poll, status, user}
#   bootstrap: the unused refresh token for USER that is also in RT_FILE
lock = threading.Lock()


class Fail(Exception):
    """An RFC 6749 5.2 error response: {"error": ..., "error_description": ...}."""

    def __init__(self, error, desc, status=400):
        super().__init__(desc)
        self.error, self.desc, self.status = error, desc, status


def read(path):
    """The file's text, stripped; None if there is no such file."""
    try:
        with open(path) as f:
            return f.read().strip()
    except FileNotFoundError:
        return None


def write(path, text, mode):  # atomic: readers never see half a file
    tmp = path + ".tmp"
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "w") as f:
        f.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def save():
    old = time.time() - 3600  # forget tokens and device codes that died over an hour ago
    for kind in ("access", "device"):
        S[kind] = {k: v for k, v in S[kind].items() if v["exp"] > old}
    write(STATE_FILE, json.dumps(S, indent=1), 0o600)


def new_refresh(user, client_id, scope):
    rt = "deskbed-rt-" + secrets.token_urlsafe(32)
    S["refresh"][rt] = {
        "user": user,
        "client_id": client_id,
        "scope": scope,
        "iat": int(time.time()),
    }
    return rt


def issue(user, client_id, scope):
    """A token response (RFC 6749 5.1): a new access token and a new refresh token."""
    at = "deskbed-at-" + secrets.token_urlsafe(32)
    S["access"][at] = {
        "user": user,
        "client_id": client_id,
        "scope": scope,
        "exp": time.time() + A.ttl,
    }
    return {
        "access_token": at,
        "token_type": "Bearer",
        "expires_in": A.ttl,
        "refresh_token": new_refresh(user, client_id, scope),
        "scope": scope,
    }


def ensure_bootstrap():
    """RT_FILE always holds a valid, unused refresh token for USER: once that one is redeemed
    or revoked, a new one (a separate grant, like a fresh sign-in) takes its place."""
    grant = S["refresh"].get(S.get("bootstrap"))
    if grant is None or (grant["user"], grant["client_id"]) != (
        USER,
        CLIENT_ID,
    ):  # used, or settings changed
        S["bootstrap"] = new_refresh(USER, CLIENT_ID, SCOPE)
        print(f"new bootstrap refresh token for {USER} in {RT_FILE}", flush=True)
    if read(RT_FILE) != S["bootstrap"]:
        write(RT_FILE, S["bootstrap"] + "\n", 0o644)  # readable by tests that run as any user


class Handler(BaseHTTPRequestHandler):
    server_version = "deskbed-oauth/1"

    def log_message(self, fmt, *args):  # to stdout (the log file), with a timestamp
        print(time.strftime("%Y-%m-%d %H:%M:%S"), self.address_string(), fmt % args, flush=True)

    def send(self, status, body, ctype="application/json", headers=()):
        data = (body if isinstance(body, str) else json.dumps(body, indent=1)).encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype + "; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")  # RFC 6749 5.1
        for h in headers:
            self.send_header(*h)
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        path = urlsplit(self.path).path
        size = int(self.headers.get("Content-Length") or 0)
        form = {
            k: v[0] for k, v in parse_qs(self.rfile.read(size).decode("utf-8", "replace")).items()
        }
        route = {
            "/token": self.token,
            "/devicecode": self.devicecode,
            "/introspect": self.introspect,
            "/admin/revoke": self.revoke,
            "/admin/expire-access": self.expire_access,
            "/admin/issue": self.admin_issue,
        }.get(path)
        if route is None:
            return self.send(404, {"error": "not_found", "error_description": f"no POST {path}"})
        with lock:
            try:
                status, body = 200, route(form)
            except Fail as e:
                status, body = e.status, {"error": e.error, "error_description": e.desc}
            if path != "/introspect":
                save()  # a failed device poll changes state too (poll count, slow_down interval)
        self.send(
            status,
            body,
            headers=[("WWW-Authenticate", 'Basic realm="deskbed"')] if status == 401 else [],
        )

    def do_GET(self):
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == "/admin/state":
            with lock:  # serialize under the lock: other threads change S
                body = json.dumps(
                    dict(
                        S,
                        now=time.time(),
                        settings={
                            "token_endpoint": f"{BASE}/token",
                            "device_endpoint": f"{BASE}/devicecode",
                            "clients": list(CLIENTS),
                            "access_ttl": A.ttl,
                            "auto_approve": A.auto_approve,
                            "interval": INTERVAL,
                            "require_secret": REQUIRE_SECRET,
                        },
                    ),
                    indent=1,
                )
            return self.send(200, body)
        if url.path == "/approve":
            with lock:
                status, text = self.approve(query)
                save()
            return self.send(
                status, f"<!doctype html><title>deskbed sign-in</title><p>{text}</p>\n", "text/html"
            )
        self.send(404, {"error": "not_found", "error_description": f"no GET {url.path}"})

    def client(self, form, need_secret):
        """Client authentication (RFC 6749 2.3.1): HTTP Basic, or client_id/client_secret in
        the form."""
        cid, secret = form.get("client_id"), form.get("client_secret")
        auth = self.headers.get("Authorization", "")
        if auth[:6].lower() == "basic ":
            try:
                cid, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
            except ValueError:
                raise Fail("invalid_client", "malformed Basic credentials", 401) from None
            cid, secret = unquote_plus(cid), unquote_plus(secret)
        if cid not in CLIENTS:
            raise Fail("invalid_client", f"unknown client_id {cid!r}", 401)
        if secret is None and need_secret:
            raise Fail("invalid_client", "client_secret is required", 401)
        if secret is not None and not secrets.compare_digest(secret, CLIENTS[cid]):
            raise Fail("invalid_client", "wrong client_secret", 401)
        return cid

    def token(self, form):
        grant = form.get("grant_type")
        if grant == "refresh_token":
            cid = self.client(form, REQUIRE_SECRET)
            rt = form.get("refresh_token", "")
            grant_info = S["refresh"].get(rt)
            if grant_info is None or grant_info["client_id"] != cid:
                raise Fail(
                    "invalid_grant", "refresh token is unknown, already used (rotated), or revoked"
                )
            del S["refresh"][rt]  # rotation: every refresh token works exactly once
            ensure_bootstrap()  # if it was the bootstrap token, RT_FILE gets a fresh one
            return issue(grant_info["user"], cid, form.get("scope") or grant_info["scope"])
        if grant == DEVICE_GRANT:
            cid = self.client(form, False)  # device flow clients are public: no secret needed
            return issue(*self.poll(form.get("device_code", ""), cid))
        raise Fail("unsupported_grant_type", f"grant_type {grant!r} is not supported here")

    def poll(self, code, cid):
        """One device-flow poll (RFC 8628 3.5). Returns (user, client_id, scope) once approved."""
        d, now = S["device"].get(code), time.time()
        if d is None or d["client_id"] != cid:
            raise Fail("invalid_grant", "unknown device_code")
        if now > d["exp"]:
            raise Fail("expired_token", "the device code expired; request a new one")
        if d["status"] == "used":
            raise Fail("invalid_grant", "the device code was already redeemed")
        too_fast = now - d["last_poll"] < d["interval"] - 0.2  # a little slack for timer jitter
        d["last_poll"], d["polls"] = now, d["polls"] + 1
        if too_fast:
            d["interval"] += 5  # the client must now wait 5 s longer, for this and all later polls
            raise Fail("slow_down", f"polling too fast; poll at most every {d['interval']} s")
        if d["status"] == "pending" and A.auto_approve and d["polls"] > A.auto_approve:
            d["status"], d["user"] = "approved", USER  # unattended tests
        if d["status"] == "denied":
            raise Fail("access_denied", "the user declined the sign-in")
        if d["status"] == "pending":
            raise Fail(
                "authorization_pending",
                f"waiting for the user to enter {d['user_code']} at {BASE}/approve",
            )
        d["status"] = "used"
        return d["user"], cid, d["scope"]

    def devicecode(self, form):
        cid = self.client(form, False)
        code = "deskbed-dc-" + secrets.token_urlsafe(24)
        # RFC 8628 6.1: consonants only (no vowels -> no words, no 0/O or 1/I confusion)
        user_code = "-".join(
            "".join(secrets.choice("BCDFGHJKLMNPQRSTVWXZ") for _ in range(4)) for _ in range(2)
        )
        S["device"][code] = {
            "user_code": user_code,
            "client_id": cid,
            "scope": form.get("scope") or SCOPE,
            "exp": time.time() + DEVICE_TTL,
            "interval": INTERVAL,
            "polls": 0,
            "last_poll": 0,
            "status": "pending",
            "user": None,
        }
        return {
            "device_code": code,
            "user_code": user_code,
            "verification_uri": f"{BASE}/approve",
            "verification_url": f"{BASE}/approve",  # Google's name for it
            "verification_uri_complete": f"{BASE}/approve?user_code={user_code}",
            "expires_in": DEVICE_TTL,
            "interval": INTERVAL,
            "message": f"To sign in, open {BASE}/approve and enter the code {user_code}.",
        }

    def approve(self, query):
        """The "user visits verification_uri" step. Returns (status, html text)."""
        want = query.get("user_code", "").upper().replace("-", "").strip()
        if not want:
            return 200, (
                '<form>Code: <input name="user_code"> Sign in as: <input name="user" '
                f'value="{html.escape(USER)}"> <button>Approve</button></form>'
            )
        for d in S["device"].values():
            if (
                d["user_code"].replace("-", "") == want
                and d["status"] == "pending"
                and d["exp"] > time.time()
            ):
                d["status"] = "denied" if query.get("deny") else "approved"
                d["user"] = (query.get("user") or USER).lower()
                return 200, html.escape(
                    f"{d['status']}: {d['user_code']} for {d['user']} ({d['client_id']})"
                )
        return 404, html.escape(f"no pending device code {query['user_code']!r}")

    def introspect(self, form):
        """RFC 7662. Only access tokens are ever active: a refresh token must not log in."""
        t = S["access"].get(form.get("token", ""))
        if t is None or t["exp"] <= time.time():
            return {"active": False}
        return {
            "active": True,
            "username": t["user"],
            "sub": t["user"],
            "client_id": t["client_id"],
            "scope": t["scope"],
            "token_type": "Bearer",
            "exp": int(t["exp"]),
        }

    def revoke(self, form):
        token, user = form.get("token"), (form.get("user") or "").lower()
        if not token and not user:
            raise Fail("invalid_request", "give token=<token> or user=<user>")
        n = 0
        for kind in ("refresh", "access"):
            for k in [k for k, v in S[kind].items() if k == token or v["user"] == user]:
                del S[kind][k]
                n += 1
        ensure_bootstrap()
        return {"revoked": n}

    def expire_access(self, form):
        now = time.time()
        live = [t for t in S["access"].values() if t["exp"] > now]
        for t in live:
            t["exp"] = now
        return {"expired": len(live)}

    def admin_issue(self, form):
        user, cid = (form.get("user") or "").lower(), form.get("client_id", CLIENT_ID)
        if not user or cid not in CLIENTS:
            raise Fail(
                "invalid_request", "user= is required; client_id= must be a registered client"
            )
        return {
            "refresh_token": new_refresh(user, cid, form.get("scope") or SCOPE),
            "user": user,
            "client_id": cid,
        }


if __name__ == "__main__":
    os.makedirs(A.dir, exist_ok=True)
    S = json.loads(read(STATE_FILE) or "{}")  # what a previous run saved: tokens survive restarts
    for kind in ("refresh", "access", "device"):
        S.setdefault(kind, {})
    with lock:
        ensure_bootstrap()
        save()
    ThreadingHTTPServer.request_queue_size = 64  # listen backlog; the default 5 is small for bursts
    server = ThreadingHTTPServer(("127.0.0.1", A.port), Handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # so `finally` removes the pid file
    if A.pidfile:
        write(A.pidfile, f"{os.getpid()}\n", 0o644)
    print(
        f"deskbed oauth: listening on {BASE} (token {BASE}/token, device {BASE}/devicecode, "
        f"client {CLIENT_ID}, access ttl {A.ttl}s, auto-approve {A.auto_approve or 'off'})",
        flush=True,
    )
    print(f"bootstrap refresh token for {USER}: {S['bootstrap']}  (in {RT_FILE})", flush=True)
    try:
        server.serve_forever()
    finally:
        if A.pidfile and read(A.pidfile) == str(os.getpid()):
            os.remove(A.pidfile)
