"""The suite's own OAuth2 authorization server on loopback, for tests of XOAUTH2/OAUTHBEARER.

Why a real one: deskterm's OAuth2 code talks to token endpoints it does not control (refresh
tokens that rotate, device codes that are pending, slowed down, denied or expired), and the
mail servers must check the tokens it sends. tests/servers/oauth_server.py (a copy of the team's
verified test bed's, Python stdlib only) runs as a child process on a free port of 127.0.0.1
with its state in a fresh $TMPDIR/deskterm-oauth-* dir; the suite's Dovecot validates every
token it is given by POSTing it to this server's /introspect (tests/servers/mailservers.py), so
IMAP, POP3 and SMTP AUTH (Postfix through Dovecot SASL) accept exactly the access tokens this
server issued and still holds valid.

Use from pytest: the session fixture ``oauth_server`` (an `OAuthServer`; the ``mail_servers``
fixture depends on it), or ``private_oauth_server(...)`` for a server of one's own with other
settings (short device-code lifetime, auto-approval, a required client secret). Outside pytest::

    with private_oauth_server() as oauth:
        token = oauth.access_token()

As root, the server drops to the suite's mail user, as the test bed runs it; as anyone else it
runs as that user. It needs no package beyond Python.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.servers.mailservers import ensure_mail_user
from tests.servers.proctree import command_line, read_pid, running, signal_and_wait
from tests.servers.serverhost import (
    DAEMON_ENV,
    ServerError,
    checked_state_dir,
    free_ports,
    new_state_dir,
    reap_stale_state_dirs,
    require,
    serve,
    tail,
    unreachable_parent,
)

SCRIPT = Path(__file__).with_name("oauth_server.py")
STATE_PREFIX = "deskterm-oauth-"  # the fixture's state dirs: $TMPDIR/deskterm-oauth-*
CLIENT_ID = "deskterm-test"
CLIENT_SECRET = "deskterm-secret"
USER = "support@desk.test"  # the bootstrap token's owner and the default approver
READY_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
HTTP_TIMEOUT = 10.0
# Straight to 127.0.0.1, whatever http_proxy the caller has.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class OAuthServerError(ServerError):
    """The server could not start or stop, or an admin call failed; the message says why."""


def unavailable_reason() -> str | None:
    """Why the server cannot run on this machine, or None if it can."""
    if not Path("/proc").is_dir():
        return "the OAuth2 test server's fixture needs Linux (/proc)"
    return None


# --- talking to the server --------------------------------------------------------------------


@dataclass
class OAuthServer:
    """A running oauth_server.py, seen as its clients and its "users" see it.

    Every method is one HTTP call (two for access_token); a refused call raises
    OAuthServerError with the server's error. The admin calls affect every client of this
    server: expire_access() expires the access tokens of every test running against it.
    """

    url: str  # "http://127.0.0.1:<port>" (loopback http is allowed by deskterm)
    client_id: str = CLIENT_ID
    client_secret: str = field(default=CLIENT_SECRET, repr=False)
    user: str = USER  # a mailbox of the suite's Dovecot

    def token_url(self) -> str:
        return self.url + "/token"

    def device_url(self) -> str:
        return self.url + "/devicecode"

    def introspection_url(self) -> str:
        """Where Dovecot checks a token (RFC 7662)."""
        return self.url + "/introspect"

    def issue(self, user: str | None = None) -> str:
        """A fresh refresh token for user (a separate grant, like a new sign-in)."""
        return self._call("/admin/issue", {"user": user or self.user})["refresh_token"]

    def approve(self, user_code: str, user: str | None = None) -> None:
        """The user opens the verification URL, enters user_code and signs in as user."""
        self._call("/approve", {"user_code": user_code, "user": user or self.user}, get=True)

    def deny(self, user_code: str) -> None:
        """The user declines the sign-in: the device flow's next poll gets access_denied."""
        self._call("/approve", {"user_code": user_code, "deny": "1"}, get=True)

    def revoke(self, *, token: str | None = None, user: str | None = None) -> None:
        """Revoke one token (refresh or access), or every token of user. Revoking a refresh
        token leaves the access tokens already issued from it valid (user= revokes all)."""
        if (token is None) == (user is None):
            raise ValueError("revoke() takes token= or user=")
        self._call("/admin/revoke", {"token": token} if token else {"user": user or ""})

    def expire_access(self) -> None:
        """Every access token expires now (refresh tokens stay valid)."""
        self._call("/admin/expire-access", {})

    def state(self) -> dict:
        """Everything the server holds (tokens, device codes, settings), as JSON."""
        return self._call("/admin/state", None, get=True)

    def access_token(self, user: str | None = None) -> str:
        """A valid access token for user: a refresh grant on a freshly issued refresh token."""
        grant = {
            "grant_type": "refresh_token",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "refresh_token": self.issue(user),
        }
        return self._call("/token", grant)["access_token"]

    def _call(self, path: str, form: dict[str, str] | None, *, get: bool = False) -> Any:
        """POST form to path (GET with it as the query when get); the JSON answer, or the
        text of an HTML one. Raises OAuthServerError on an HTTP error."""
        url, query = self.url + path, urllib.parse.urlencode(form or {})
        if get:
            request = urllib.request.Request(f"{url}?{query}" if form else url)
        else:
            request = urllib.request.Request(url, data=query.encode(), method="POST")
        try:
            with _OPENER.open(request, timeout=HTTP_TIMEOUT) as response:
                body = response.read().decode()
                is_json = response.headers.get_content_type() == "application/json"
        except urllib.error.HTTPError as e:
            raise OAuthServerError(
                f"{path}: HTTP {e.code} {e.read().decode(errors='replace').strip()}"
            ) from None
        return json.loads(body) if is_json else body


# --- running it -------------------------------------------------------------------------------


class OAuthProcess:
    """oauth_server.py as a child process, all its state under `state_dir`.

    Settings (what a private server may change; the session's uses the defaults): `ttl` access
    token lifetime (s), `interval` device poll interval (s, the server's minimum is 1),
    `device_ttl` device code lifetime (s), `auto_approve` (approve every device code for
    USER after that many pending polls; 0: never), `require_secret` (refresh needs the client
    secret; otherwise it is checked only when sent, as for public clients).
    """

    def __init__(
        self,
        state_dir: Path,
        *,
        ttl: int = 300,
        interval: int = 1,
        device_ttl: int = 600,
        auto_approve: int = 0,
        require_secret: bool = False,
    ) -> None:
        self.state_dir = checked_state_dir(state_dir, 200)
        (self.port,) = free_ports(1)
        self.server = OAuthServer(f"http://127.0.0.1:{self.port}")
        self.script = self.state_dir / "lib" / "oauth_server.py"
        self.data_dir = self.state_dir / "oauth"  # state.json, refresh_token, server.pid
        self.pid_file = self.data_dir / "server.pid"
        self.log_file = self.state_dir / "log" / "oauth.log"
        self.args = ["--port", str(self.port), "--dir", str(self.data_dir)]
        self.args += ["--ttl", str(ttl), "--auto-approve", str(auto_approve)]
        self.args += ["--pidfile", str(self.pid_file)]
        self.env = {
            **DAEMON_ENV,
            "DESKBED_OAUTH_CLIENT_ID": self.server.client_id,
            "DESKBED_OAUTH_CLIENT_SECRET": self.server.client_secret,
            "DESKBED_OAUTH_USER": self.server.user,
            "DESKBED_OAUTH_INTERVAL": str(interval),
            "DESKBED_OAUTH_DEVICE_TTL": str(device_ttl),
            "DESKBED_OAUTH_REQUIRE_SECRET": "1" if require_secret else "0",
        }
        self._child: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the server (no-op if it runs) and wait until it listens. Its tokens are
        saved in its state dir, so they survive stop/start."""
        if self.pid() is not None:
            return
        for sub, mode in (("lib", 0o755), ("log", 0o755), ("oauth", 0o755)):
            (self.state_dir / sub).mkdir(exist_ok=True)
            (self.state_dir / sub).chmod(mode)
        self.state_dir.chmod(0o711)  # the server's user only traverses it
        shutil.copyfile(SCRIPT, self.script)  # a root-owned copy it can read wherever we live
        self.script.chmod(0o644)
        self.pid_file.unlink(missing_ok=True)
        drop: dict[str, Any] = {}
        if os.geteuid() == 0:
            if (complaint := unreachable_parent(self.state_dir)) is not None:
                raise OAuthServerError(complaint)
            uid, gid = ensure_mail_user()
            os.chown(self.data_dir, uid, gid)
            drop = {"user": uid, "group": gid, "extra_groups": []}
        python = shutil.which("python3", path="/usr/bin:/usr/local/bin:/bin") or sys.executable
        with self.log_file.open("ab") as log:
            self._child = subprocess.Popen(
                [python, "-I", str(self.script), *self.args],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.data_dir,
                start_new_session=True,  # a terminal's Ctrl-C reaches pytest, which stops it
                **drop,
            )
        self._wait_ready(self._child)

    def stop(self) -> None:
        """Stop the server (SIGTERM; SIGKILL after STOP_TIMEOUT, reported). Keeps its state."""
        pid = self.pid()
        if pid is not None and not signal_and_wait(pid, signal.SIGTERM, STOP_TIMEOUT):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            self._reap()
            raise OAuthServerError(f"oauth server (pid {pid}) ignored SIGTERM, killed")
        self._reap()

    def pid(self) -> int | None:
        """The running server named in our pid file. Its command line must name our copy of
        the script, so a stale pid file can never get another process signalled."""
        pid = read_pid(self.pid_file)
        if pid is None or not running(pid) or str(self.script) not in command_line(pid):
            return None
        return pid

    def log_files(self) -> list[Path]:
        """The server's log (kept by the session fixture when it ends)."""
        return [self.log_file] if self.log_file.exists() else []

    def _wait_ready(self, child: subprocess.Popen[bytes]) -> None:
        """The server writes its pid file once it listens: wait for that, or for it to die."""
        deadline = time.monotonic() + READY_TIMEOUT
        while self.pid() != child.pid:
            if child.poll() is not None or time.monotonic() > deadline:
                with contextlib.suppress(ProcessLookupError):
                    child.kill()
                child.wait()
                raise OAuthServerError(
                    f"oauth server not up after {READY_TIMEOUT:.0f} s (exit code "
                    f"{child.returncode}) on port {self.port}\n{tail(self.log_file)}"
                )
            time.sleep(0.02)

    def _reap(self) -> None:
        if self._child is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._child.wait(timeout=STOP_TIMEOUT)
            self._child = None


# --- pytest -----------------------------------------------------------------------------------


def _stop_leftovers(state_dir: Path) -> None:
    with contextlib.suppress(OAuthServerError, ValueError):
        OAuthProcess(state_dir).stop()


def _served(process: OAuthProcess, keep_logs: Callable[[], Path] | None) -> Iterator[OAuthServer]:
    """`serve` the process, yielding what its clients see."""
    running_server = serve(process, keep_logs)
    with contextlib.closing(running_server):
        yield next(running_server).server


def start_for_session(keep_logs: Callable[[], Path] | None = None) -> Iterator[OAuthServer]:
    """Generator behind the fixture (usable without pytest): reap what dead sessions left,
    then serve an OAuth2 server in a fresh state dir."""
    reap_stale_state_dirs(STATE_PREFIX, _stop_leftovers)
    yield from _served(OAuthProcess(new_state_dir(STATE_PREFIX)), keep_logs)


@contextlib.contextmanager
def private_oauth_server(**settings: Any) -> Iterator[OAuthServer]:
    """An OAuth2 server of one's own, with OAuthProcess's settings changed (for a test that
    needs a device code to expire in 2 s, say); stopped and deleted after."""
    require(unavailable_reason())
    yield from _served(OAuthProcess(new_state_dir(STATE_PREFIX), **settings), None)


@pytest.fixture(scope="session")
def oauth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OAuthServer]:
    """The session's OAuth2 server (default settings; the suite's Dovecot trusts its tokens).
    Its log is copied into tmp_path_factory's "oauth-logs" at the end."""
    require(unavailable_reason())
    yield from start_for_session(lambda: tmp_path_factory.mktemp("oauth-logs"))
