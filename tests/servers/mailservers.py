"""Real Dovecot and Postfix on loopback, for tests that need an actual mail server.

Why real servers: deskterm talks IMAP, POP3 and SMTP to servers it does not control, and the
bugs that matter (TLS verification, STARTTLS ordering, AUTH rules, keywords, folder names,
servers going away) only show up against a real implementation. Debian's own packages are
used, run as a private instance:

* Dovecot: IMAP (STARTTLS offered), IMAPS, POP3S, and LMTP on a unix socket for Postfix.
* OAuth2: given the URL of the suite's OAuth2 server (tests/servers/oauth.py; the session
  fixture always is), Dovecot also offers XOAUTH2 and OAUTHBEARER and checks each token with
  that server's introspection endpoint (RFC 7662), on IMAP, POP3 and, through Dovecot SASL,
  Postfix's SMTP AUTH. Password logins (PLAIN, LOGIN) are unchanged.
* Postfix: submission (STARTTLS required before AUTH), SMTPS (implicit TLS + AUTH), and an
  unauthenticated "MX" port that accepts only ``@desk.test`` recipients (simulates customers
  mailing support@). Every other recipient given to submission is rewritten to
  ``sink@desk.test``; there is no ``smtp`` client in master.cf, so nothing ever leaves the
  machine.

Everything (config, certificate, mail, queue, logs) lives in one state directory, every
listener is on 127.0.0.1, on ports picked free at run time, so several instances (and the
shared fixed-port test bed) can run side by side. The recipe is copied from the team's
verified test bed; nothing here depends on it at run time.

Use from pytest: ``pytest_plugins = ["tests.servers.mailservers"]`` (or import ``mail_servers``) and
take the session fixture ``mail_servers`` (it starts the session's ``oauth_server`` first).
Outside pytest::

    with MailServers(Path("/tmp/some-dir")) as ms:
        ms.deliver(raw, "support@desk.test")

Needs root (to install packages, create the mail user, start the daemons, which drop
privileges themselves).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import imaplib
import os
import pwd
import re
import secrets
import shutil
import signal
import smtplib
import ssl
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import pytest
from imap_tools.imap_utf7 import utf7_encode

from tests.servers.proctree import (
    all_pids,
    command_line,
    environ,
    group,
    read_pid,
    running,
    signal_and_wait,
    stat,
)
from tests.servers.serverhost import (
    DAEMON_ENV,
    ServerError,
    ServerUnavailable,
    checked_state_dir,
    free_ports,
    install,
    new_state_dir,
    reap_stale_state_dirs,
    require,
    run_logged,
    serve,
    system_user,
    tail,
    unreachable_parent,
)

if TYPE_CHECKING:
    from tests.servers.oauth import OAuthServer

# The mail_servers fixture takes the session's oauth_server (its Dovecot checks those tokens).
pytest_plugins = ["tests.servers.oauth"]

DOMAIN = "desk.test"
USER_NAMES = ("support", "customer", "sink")
MAIL_USER = "desktermtest"  # unix owner of every Maildir (Dovecot refuses to run mail as root)
REQUIRED_PACKAGES = (
    "dovecot-core",
    "dovecot-imapd",
    "dovecot-pop3d",
    "dovecot-lmtpd",
    "postfix",
    "openssl",
)
READY_TIMEOUT = 20.0  # seconds for every listener to come up
STOP_TIMEOUT = 10.0
STATE_PREFIX = "deskterm-mailservers-"  # the fixture's state dirs: $TMPDIR/deskterm-mailservers-*
DOVECOT = "/usr/sbin/dovecot"
POSTFIX = "/usr/sbin/postfix"
POSTQUEUE = "/usr/sbin/postqueue"


class MailServersError(ServerError):
    """The servers could not be installed, started or stopped; the message has the logs."""


# --- sockets and daemons, seen through /proc -----------------------------------------------


def _listening_inodes(port: int) -> set[int]:
    """Socket inodes listening on 127.0.0.1:port, read from /proc/net/tcp: no test
    connection (which would show up in the servers' logs and counters), no `ss` needed."""
    inodes = set()
    try:
        lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return inodes
    for line in lines:
        fields = line.split()
        addr, _, hexport = fields[1].partition(":")
        # 127.0.0.1 as the kernel prints it (host byte order); state 0A = LISTEN
        if fields[3] == "0A" and int(hexport, 16) == port and addr in ("0100007F", "7F000001"):
            inodes.add(int(fields[9]))
    return inodes


def _socket_inodes(pid: int) -> set[int]:
    """Inodes of the sockets pid holds open: proves a listener is ours, not a stranger's."""
    out = set()
    fd_dir = f"/proc/{pid}/fd"
    try:
        names = os.listdir(fd_dir)
    except OSError:
        return out
    for name in names:
        try:
            target = os.readlink(f"{fd_dir}/{name}")
        except OSError:
            continue
        if target.startswith("socket:["):
            out.add(int(target[8:-1]))
    return out


def _terminate(master: int, what: str, timeout: float = STOP_TIMEOUT) -> None:
    """Stop a master and every worker of its process group; only our own masters get here.

    SIGTERM the master and wait for it, then SIGTERM the workers still alive: Dovecot's auth,
    stats and log processes outlive their master while a client holds a connection to them
    (an idle Postfix smtpd keeps its SASL connection to auth for up to 100 s). What is left
    after timeout gets SIGKILL, and that is reported as an error.
    """
    deadline = time.monotonic() + timeout
    signal_and_wait(master, signal.SIGTERM, timeout)
    for pid in group(master):
        if pid != master:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
    while group(master) and time.monotonic() < deadline:
        time.sleep(0.02)
    left = group(master)
    if not left:
        return
    names = ", ".join(f"{pid} {command_line(pid).strip()!r}" for pid in left)
    for pid in left:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 2
    while group(master) and time.monotonic() < deadline:
        time.sleep(0.02)
    raise MailServersError(
        f"{what} (pid {master}) still running {timeout:.0f} s after SIGTERM, killed: {names}"
    )


# --- packages and the mail user -------------------------------------------------------------


def missing_packages() -> list[str]:
    """Required Debian packages not installed (all of them where dpkg is unknown)."""
    try:
        result = subprocess.run(
            ["dpkg-query", "-W", "-f=${Package} ${Status}\n", *REQUIRED_PACKAGES],
            capture_output=True,
            text=True,
            check=False,
        )
    except FileNotFoundError:
        return list(REQUIRED_PACKAGES)
    installed = {
        line.split()[0]
        for line in result.stdout.splitlines()
        if line.endswith(" install ok installed")
    }
    return [p for p in REQUIRED_PACKAGES if p not in installed]


def unavailable_reason() -> str | None:
    """Why the servers cannot run on this machine, or None if they can (or can be installed)."""
    if not Path("/proc/net/tcp").exists():
        return "real mail servers need Linux (/proc)"
    if os.geteuid() == 0:
        if shutil.which("apt-get") is None and missing_packages():
            return f"missing {' '.join(missing_packages())} and no apt-get to install them"
        return None
    missing = missing_packages()
    if missing:
        return f"Dovecot/Postfix packages missing ({' '.join(missing)}) and not root to install"
    return "Dovecot and Postfix need root to start (they bind, then drop privileges)"


def install_packages(log: Path) -> float:
    """Install whatever REQUIRED_PACKAGES are missing; returns the seconds it took.

    As in the test bed's `up`: Postfix's debconf question answered "No configuration", then
    `apt_get_install`, which keeps the package scripts from starting the *system* dovecot and
    postfix (they would listen on 0.0.0.0:25/143/993...).
    """
    return install(
        missing_packages, log, b"postfix postfix/main_mailer_type select No configuration\n"
    )


def ensure_mail_user() -> tuple[int, int]:
    """uid/gid of MAIL_USER, the owner of every Maildir (created if absent)."""
    pw = system_user(MAIL_USER)
    return pw.pw_uid, pw.pw_gid


def _ssha512(password: str) -> str:
    """Dovecot's {SSHA512}: base64(sha512(password + salt) + salt). The users file holds no
    plaintext, so a test can grep the whole state dir for a password and expect no hit."""
    salt = secrets.token_bytes(16)
    digest = hashlib.sha512(password.encode() + salt).digest()
    return "{SSHA512}" + base64.b64encode(digest + salt).decode()


def _imap_quote(name: str) -> str:
    """A mailbox name as an IMAP quoted string, in modified UTF-7 (imaplib quotes nothing)."""
    encoded = utf7_encode(name).decode("ascii")
    return '"' + encoded.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _check(result: tuple[str, list], what: str) -> list:
    typ, data = result
    if typ != "OK":
        raise MailServersError(f"{what}: {typ} {data!r}")
    return data


# --- the servers ------------------------------------------------------------------------------


class MailServers:
    """A private Dovecot + Postfix pair on 127.0.0.1, all state under `state_dir`.

    Users support@, customer@ and sink@desk.test get fresh random passwords per instance
    (`users`). sink@ receives everything submitted for a non-desk.test address, plus
    postmaster@/abuse@. `support+Folder@desk.test` is delivered into Folder. With
    `introspection_url` (an OAuth2 server's, tests/servers/oauth.py), IMAP, POP3 and SMTP AUTH
    also take XOAUTH2 and OAUTHBEARER with the access tokens that server says are active.
    """

    host = "127.0.0.1"

    def __init__(self, state_dir: Path, introspection_url: str | None = None) -> None:
        # Dovecot's unix sockets live in run/dovecot; sun_path holds 107 bytes.
        self.state_dir = checked_state_dir(state_dir, 60)
        # The Dovecot instance name shows in every worker's title (dovecot-<name>/imap).
        self.instance = f"deskterm-{secrets.token_hex(4)}"
        (
            self.imap_port,
            self.imaps_port,
            self.pop3s_port,
            self.submission_port,
            self.smtps_port,
            self.mx_port,
        ) = free_ports(6)
        self.users: dict[str, str] = {
            f"{name}@{DOMAIN}": secrets.token_urlsafe(18) for name in USER_NAMES
        }
        self.introspection_url = introspection_url
        self.cert_file = state_dir / "tls" / "cert.pem"
        self.key_file = state_dir / "tls" / "key.pem"
        self.log_dir = state_dir / "log"
        self.dovecot_conf = state_dir / "etc" / "dovecot.conf"
        self.dovecot_base = state_dir / "run" / "dovecot"
        self.postfix_conf = state_dir / "postfix" / "etc"
        self.postfix_queue = state_dir / "postfix" / "spool"
        self.last_start_seconds: float | None = None
        self.install_seconds = 0.0
        self._prepared = False
        self._masters: set[int] = set()  # every master pid we started (for processes())

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> MailServers:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        """Install what is missing, write the configs (first time), start both servers and
        wait until every listener is up. Mail, queue and certificate survive stop/start."""
        t0 = time.monotonic()
        self.start_dovecot()
        self.start_postfix()
        self.last_start_seconds = time.monotonic() - t0

    def stop(self) -> None:
        """Stop Postfix then Dovecot (and all their workers). Keeps every file."""
        errors = []
        for fn in (self.stop_postfix, self.stop_dovecot):
            try:
                fn()
            except MailServersError as e:
                errors.append(str(e))
        if errors:
            raise MailServersError("; ".join(errors))

    def start_dovecot(self) -> None:
        """Start Dovecot (IMAP, IMAPS, POP3S, LMTP); no-op if it runs. Postfix mail queued
        while it was down is then retried at once instead of after a backoff."""
        self._prepare()
        if self._dovecot_pid() is not None:
            return
        ports = {"IMAP": self.imap_port, "IMAPS": self.imaps_port, "POP3S": self.pop3s_port}
        self._check_free(ports)
        rc = run_logged(
            [DOVECOT, "-c", str(self.dovecot_conf)],
            self.log_dir / "dovecot-start.log",
            DAEMON_ENV,
            start_new_session=True,
        )
        if rc != 0:
            raise MailServersError(f"dovecot exited with {rc}\n{self.log_tail()}")
        pid = self._wait_ready(
            "dovecot",
            self.dovecot_base / "master.pid",
            ports,
            [self.dovecot_base / "lmtp-postfix", self.dovecot_base / "auth-postfix"],
        )
        self._masters.add(pid)
        if self._postfix_pid() is not None:
            self.flush_queue()

    def stop_dovecot(self) -> None:
        """Stop Dovecot: IMAP/POP3 refuse connections, Postfix defers (queues) deliveries."""
        pid = self._dovecot_pid()
        if pid is not None:
            _terminate(pid, "dovecot")

    def start_postfix(self) -> None:
        """Start Postfix (submission, SMTPS, MX); no-op if it runs."""
        self._prepare()
        if self._postfix_pid() is not None:
            return
        ports = {"submission": self.submission_port, "SMTPS": self.smtps_port, "MX": self.mx_port}
        self._check_free(ports)
        log = self.log_dir / "postfix-start.log"
        conf = ["-c", str(self.postfix_conf)]
        # `start` creates missing queue dirs itself (post-install create-missing); an extra
        # `set-permissions`, as the test bed runs, would cost 2.7 s and change nothing here.
        rc = run_logged([POSTFIX, *conf, "start"], log, DAEMON_ENV, start_new_session=True)
        if rc != 0:
            raise MailServersError(f"postfix start exited with {rc}\n{self.log_tail()}")
        self._masters.add(
            self._wait_ready("postfix", self.postfix_queue / "pid" / "master.pid", ports, [])
        )

    def stop_postfix(self) -> None:
        """Stop Postfix: all SMTP ports refuse connections. Queued mail stays queued."""
        pid = self._postfix_pid()
        if pid is not None:
            _terminate(pid, "postfix")

    @property
    def running(self) -> bool:
        return self._dovecot_pid() is not None and self._postfix_pid() is not None

    def processes(self) -> list[int]:
        """Live pids of every daemon process of this instance (empty once stopped)."""
        marker = f"dovecot-{self.instance}/"
        found = []
        for pid in all_pids():
            st = stat(pid)
            if st is None or st.state in "ZX":
                continue
            if (
                st.group in self._masters
                or command_line(pid).startswith(marker)
                or str(self.dovecot_conf) in command_line(pid)
                or environ(pid).get("MAIL_CONFIG") == str(self.postfix_conf)
            ):
                found.append(pid)
        return sorted(found)

    def log_files(self) -> list[Path]:
        """Every log of this instance (kept by the session fixture when it ends)."""
        return sorted(p for p in self.log_dir.glob("*") if p.is_file())

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of every log, for error messages."""
        names = ("dovecot-start.log", "dovecot.log", "postfix-start.log", "postfix.log", "apt.log")
        return "\n".join(
            tail(self.log_dir / n, lines) for n in names if (self.log_dir / n).exists()
        )

    # -- TLS and IMAP ------------------------------------------------------------------------

    def ssl_context(self) -> ssl.SSLContext:
        """A verifying context (hostname checked) that trusts only this instance's cert."""
        return ssl.create_default_context(cafile=str(self.cert_file))

    @contextlib.contextmanager
    def imap(self, user: str) -> Iterator[imaplib.IMAP4_SSL]:
        """A logged-in IMAPS connection for user, certificate verified; logs out after."""
        conn = imaplib.IMAP4_SSL(
            self.host, self.imaps_port, ssl_context=self.ssl_context(), timeout=15
        )
        try:
            conn.login(user, self.users[user])
            yield conn
        finally:
            with contextlib.suppress(Exception):
                conn.logout()

    def append(
        self, user: str, raw: bytes, folder: str = "INBOX", flags: Iterable[str] = ()
    ) -> int | None:
        """APPEND raw to user's folder with flags; returns the new UID (UIDPLUS)."""
        flag_list = " ".join(flags)
        with self.imap(user) as conn:
            data = _check(
                conn.append(
                    _imap_quote(folder), f"({flag_list})" if flag_list else None, None, raw
                ),
                f"APPEND to {folder}",
            )
        m = re.search(rb"APPENDUID \d+ (\d+)", data[0] or b"")
        return int(m.group(1)) if m else None

    def messages(self, user: str, folder: str = "INBOX") -> list[bytes]:
        """Raw RFC 822 bytes of every message in folder, in UID order (read-only: no \\Seen)."""
        with self.imap(user) as conn:
            count = int(
                _check(conn.select(_imap_quote(folder), readonly=True), f"SELECT {folder}")[0]
            )
            if count == 0:
                return []
            data = _check(conn.uid("FETCH", "1:*", "(UID BODY.PEEK[])"), "FETCH")
        found: list[tuple[int, bytes]] = []
        for item in data:
            if isinstance(item, tuple):
                m = re.search(rb"UID (\d+)", item[0])
                if m is None:
                    raise MailServersError(f"FETCH response without UID: {item[0]!r}")
                found.append((int(m.group(1)), item[1]))
        return [raw for _, raw in sorted(found)]

    def wait_for_messages(
        self, user: str, count: int, folder: str = "INBOX", timeout: float = 10
    ) -> list[bytes]:
        """Poll until folder holds at least count messages; returns them all (UID order)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                msgs = self.messages(user, folder)
            except MailServersError:  # folder not created yet (plus-addressing)
                msgs = []
            if len(msgs) >= count:
                return msgs
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"{user} {folder}: {len(msgs)} of {count} messages after {timeout} s; "
                    f"queue: {self.queue_files()}\n{self.log_tail(10)}"
                )
            time.sleep(0.1)

    def sessions(self) -> str:
        """Who is logged in to Dovecot now (`doveadm who`): a test that expects the mailbox to
        itself names any other client in its failure."""
        done = subprocess.run(
            ["doveadm", "-c", str(self.dovecot_conf), "who"], capture_output=True, text=True
        )
        return (done.stdout + done.stderr).strip()

    def clear(self, user: str, folder: str = "INBOX") -> None:
        """Delete and expunge every message in folder (no-op if it does not exist)."""
        with self.imap(user) as conn:
            typ, data = conn.select(_imap_quote(folder))
            if typ != "OK":
                return
            if int(data[0]) > 0:
                _check(conn.uid("STORE", "1:*", "+FLAGS.SILENT", r"(\Deleted)"), "STORE")
                _check(conn.expunge(), "EXPUNGE")

    def create_folder(self, user: str, name: str) -> None:
        """Create and subscribe folder name (as a mail client would); fine if it exists.
        Dovecot's Maildir uses "." as hierarchy separator: "A.B" is B inside A."""
        with self.imap(user) as conn:
            typ, data = conn.create(_imap_quote(name))
            if typ != "OK" and b"ALREADYEXISTS" not in (data[0] or b""):
                raise MailServersError(f"CREATE {name}: {typ} {data!r}")
            _check(conn.subscribe(_imap_quote(name)), f"SUBSCRIBE {name}")

    def delete_folder(self, user: str, name: str) -> None:
        """Unsubscribe and delete folder name; fine if it does not exist."""
        with self.imap(user) as conn:
            conn.unsubscribe(_imap_quote(name))
            typ, data = conn.delete(_imap_quote(name))
            if typ != "OK" and b"NONEXISTENT" not in (data[0] or b""):
                raise MailServersError(f"DELETE {name}: {typ} {data!r}")

    # -- SMTP --------------------------------------------------------------------------------

    def deliver(
        self, raw: bytes, to: str | Sequence[str], mail_from: str = f"customer@{DOMAIN}"
    ) -> None:
        """Hand raw to the MX port, as mail from the internet would arrive: no AUTH, no TLS,
        stored as received. Returns once Postfix accepted it; use wait_for_messages() or
        wait_until_queue_empty() to wait for the delivery. A refused recipient raises
        smtplib.SMTPRecipientsRefused."""
        raw = re.sub(rb"\r?\n", b"\r\n", raw)  # SMTP wants CRLF; smtplib leaves bytes alone
        with smtplib.SMTP(self.host, self.mx_port, timeout=15) as smtp:
            smtp.sendmail(mail_from, [to] if isinstance(to, str) else list(to), raw)

    def queue_files(self, deferred: bool = True) -> list[str]:
        """Queue ids Postfix still holds (incoming, active and, unless told, deferred)."""
        out = []
        for sub in ("maildrop", "incoming", "active") + (("deferred",) if deferred else ()):
            for _dirpath, _dirs, files in os.walk(self.postfix_queue / sub):
                out.extend(files)
        return out

    def wait_until_queue_empty(self, timeout: float = 10, deferred: bool = True) -> None:
        """Wait until every accepted message has been delivered (or bounced); with
        deferred=False, until every message is delivered, bounced or deferred."""
        deadline = time.monotonic() + timeout
        while self.queue_files(deferred):
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"postfix queue not empty after {timeout} s: {self.queue_files()}\n"
                    f"{self.log_tail(10)}"
                )
            time.sleep(0.05)

    def flush_queue(self) -> None:
        """Retry every deferred message now (after Dovecot comes back)."""
        run_logged(
            [POSTQUEUE, "-c", str(self.postfix_conf), "-f"],
            self.log_dir / "postfix-start.log",
            DAEMON_ENV,
        )

    # -- internals ---------------------------------------------------------------------------

    def _dovecot_pid(self) -> int | None:
        """The running Dovecot master named in our pid file. The command line must name our
        config, so a stale pid file can never get another process signalled."""
        pid = read_pid(self.dovecot_base / "master.pid")
        if pid is None or not running(pid) or str(self.dovecot_conf) not in command_line(pid):
            return None
        return pid

    def _postfix_pid(self) -> int | None:
        """The running Postfix master of this instance (its MAIL_CONFIG is our config dir)."""
        pid = read_pid(self.postfix_queue / "pid" / "master.pid")
        if pid is None or not running(pid):
            return None
        if environ(pid).get("MAIL_CONFIG") != str(self.postfix_conf):
            return None
        return pid

    def _check_free(self, ports: dict[str, int]) -> None:
        taken = [f"{name} {port}" for name, port in ports.items() if _listening_inodes(port)]
        if taken:
            raise MailServersError(f"ports already in use by another process: {', '.join(taken)}")

    def _wait_ready(
        self, what: str, pid_file: Path, ports: dict[str, int], paths: list[Path]
    ) -> int:
        """Wait until the master runs, holds a listening socket on every port and the unix
        sockets exist. Returns the master pid; raises with the logs after READY_TIMEOUT."""
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            pid = read_pid(pid_file)
            pending = dict(ports)
            if pid is not None and running(pid):
                mine = _socket_inodes(pid)
                pending = {n: p for n, p in ports.items() if not _listening_inodes(p) & mine}
                missing = [p.name for p in paths if not p.exists()]
                if not pending and not missing:
                    return pid
            if time.monotonic() > deadline:
                raise MailServersError(
                    f"{what} not up after {READY_TIMEOUT:.0f} s (master pid {pid}); "
                    f"not listening: {pending or 'all listening'}\n{self.log_tail()}"
                )
            time.sleep(0.05)

    def _prepare(self) -> None:
        """Everything before the first start: root check, packages, mail user, directories,
        certificate, configs. Done once per object; restarts reuse it all."""
        if self._prepared:
            return
        reason = unavailable_reason()
        if reason:
            raise ServerUnavailable(reason)
        d = self.state_dir
        for sub in (
            "etc",
            "tls",
            "log",
            "run",
            "lib/dovecot",
            "mail",
            "postfix/etc",
            "postfix/data",
            "postfix/spool",
        ):
            (d / sub).mkdir(parents=True, exist_ok=True)
        self.install_seconds = install_packages(self.log_dir / "apt.log")
        uid, gid = ensure_mail_user()
        # postfix, dovecot, dovenull and the mail user only need to traverse, not list.
        for p in (d, d / "postfix", d / "run", d / "mail"):
            p.chmod(0o711)
        for p in (
            d / "etc",
            d / "tls",
            d / "log",
            d / "lib",
            d / "lib" / "dovecot",
            self.postfix_conf,
            self.postfix_queue,
        ):
            p.chmod(0o755)  # whatever the caller's umask
        postfix_pw = pwd.getpwnam("postfix")
        os.chown(d / "postfix" / "data", postfix_pw.pw_uid, 0)  # master.lock, TLS caches
        (d / "postfix" / "data").chmod(0o700)
        if (complaint := unreachable_parent(d)) is not None:
            raise MailServersError(complaint)
        self._write_cert()
        self._write_dovecot_conf(uid, gid)
        self._write_postfix_conf()
        past = time.time() - 60
        for f in (
            self.dovecot_conf,
            *(
                self.postfix_conf / n
                for n in ("main.cf", "master.cf", "foreign.regexp", "vmailbox")
            ),
        ):
            f.chmod(0o644)
            # Postfix re-reads a config file that changed within the last ~2 s, sleeping
            # 0.3 s each time (guards against half-written files): 2.1 s of every first start.
            os.utime(f, (past, past))
        maildirs = d / "mail" / DOMAIN
        maildirs.mkdir(exist_ok=True)
        os.chown(maildirs, uid, gid)
        maildirs.chmod(0o700)
        for name in USER_NAMES:
            for sub in ("", "/Maildir", "/Maildir/cur", "/Maildir/new", "/Maildir/tmp"):
                p = maildirs / f"{name}{sub}"
                p.mkdir(mode=0o700, exist_ok=True)
                os.chown(p, uid, gid)
        self._prepared = True

    def _write_cert(self) -> None:
        """Self-signed cert for localhost / 127.0.0.1 / mail.desk.test, kept across restarts."""
        if self.cert_file.exists() and self.key_file.exists():
            return
        result = subprocess.run(
            [
                "openssl",
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "3650",
                "-sha256",
                "-keyout",
                str(self.key_file),
                "-out",
                str(self.cert_file),
                "-subj",
                "/CN=localhost/O=deskterm test servers",
                "-addext",
                "subjectAltName=DNS:localhost,IP:127.0.0.1,DNS:mail.desk.test",
            ],
            capture_output=True,
            text=True,
            env=DAEMON_ENV,
            check=False,
        )
        if result.returncode != 0:
            raise MailServersError(f"openssl req failed: {result.stderr}")
        self.key_file.chmod(0o600)
        self.cert_file.chmod(0o644)

    def _write_dovecot_conf(self, uid: int, gid: int) -> None:
        d = self.state_dir
        users = d / "etc" / "users"
        users.write_text(
            "".join(f"{addr}:{_ssha512(pw)}::::::\n" for addr, pw in self.users.items())
        )
        os.chown(users, 0, pwd.getpwnam("dovecot").pw_gid)  # read by the auth process
        users.chmod(0o640)
        special = "".join(
            f"  mailbox {name} {{\n    special_use = \\{name}\n    auto = subscribe\n  }}\n"
            for name in ("Drafts", "Sent", "Trash", "Junk")
        )
        mechanisms, passdbs = self._passdbs(users)
        self.dovecot_conf.write_text(f"""\
# written by tests/servers/mailservers.py; rewritten on every fresh start
instance_name = {self.instance}
base_dir = {self.dovecot_base}
state_dir = {d}/lib/dovecot
listen = 127.0.0.1
protocols = imap pop3 lmtp
log_path = {self.log_dir}/dovecot.log
auth_verbose = yes
ssl = yes
ssl_cert = <{self.cert_file}
ssl_key = <{self.key_file}
ssl_dh = </usr/share/dovecot/dh.pem
auth_mechanisms = {mechanisms}
first_valid_uid = {uid}
last_valid_uid = {uid}
{passdbs}userdb {{
  driver = passwd-file
  args = username_format=%Lu {users}
  default_fields = uid={uid} gid={gid} home={d}/mail/%Ld/%Ln
}}
mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
{special}}}
# tests open many connections from one address
protocol imap {{
  mail_max_userip_connections = 500
}}
protocol pop3 {{
  mail_max_userip_connections = 500
}}
# user+Folder@desk.test is delivered into Folder (created and subscribed on demand)
recipient_delimiter = +
lmtp_save_to_detail_mailbox = yes
lda_mailbox_autocreate = yes
lda_mailbox_autosubscribe = yes
protocol lmtp {{
  postmaster_address = postmaster@{DOMAIN}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {self.imaps_port}
    ssl = yes
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = 0
  }}
  inet_listener pop3s {{
    address = 127.0.0.1
    port = {self.pop3s_port}
    ssl = yes
  }}
}}
service lmtp {{
  unix_listener lmtp-postfix {{
    mode = 0600
    user = postfix
    group = postfix
  }}
}}
service auth {{
  unix_listener auth-postfix {{
    mode = 0660
    user = postfix
    group = postfix
  }}
}}
# No per-IP auth penalty: every client is 127.0.0.1, so one test's failed login would
# otherwise delay every later login (2, 4, 8 ... 15 s, remembered for an hour). A failed
# login still takes auth_failure_delay (2 s).
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
""")

    def _passdbs(self, users: Path) -> tuple[str, str]:
        """Dovecot's auth_mechanisms and passdb sections: the users file for passwords and,
        with an introspection URL, the oauth2 passdb for tokens (written as the team's test
        bed does; option names from Dovecot 2.3's dovecot-oauth2.conf.ext). Each passdb answers
        only its own mechanisms, so a password never goes to the OAuth2 server and a token is
        never compared with a password; "none" is a lookup without a login (doveadm)."""
        passwords = f"  args = scheme=SSHA512 username_format=%Lu {users}\n"
        if self.introspection_url is None:
            return "plain login", f"passdb {{\n  driver = passwd-file\n{passwords}}}\n"
        oauth2 = self.state_dir / "etc" / "dovecot-oauth2.conf.ext"
        # A login succeeds only if the server says active=true and the username is the login
        # name; with no auth cache an expired or revoked token stops working at once.
        oauth2.write_text(f"""\
# written by tests/servers/mailservers.py
introspection_mode = post
introspection_url = {self.introspection_url}
username_attribute = username
active_attribute = active
active_value = true
timeout_msecs = 5000
""")
        oauth2.chmod(0o644)
        return "plain login xoauth2 oauthbearer", (
            f"passdb {{\n  driver = passwd-file\n  mechanisms = plain login none\n{passwords}}}\n"
            f"passdb {{\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n"
            f"  args = {oauth2}\n}}\n"
        )

    def _write_postfix_conf(self) -> None:
        d, pf = self.state_dir, self.postfix_conf
        dom_re = re.escape(DOMAIN)
        (pf / "main.cf").write_text(f"""\
# written by tests/servers/mailservers.py
compatibility_level = 3.6
syslog_name = {self.instance}
queue_directory = {self.postfix_queue}
data_directory = {d}/postfix/data
maillog_file_prefixes = {self.log_dir}
maillog_file = {self.log_dir}/postfix.log
myhostname = mail.{DOMAIN}
mydomain = {DOMAIN}
myorigin = $mydomain
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.1/32
mydestination =
relay_domains =
alias_maps =
alias_database =
local_recipient_maps =
smtpd_peername_lookup = no
recipient_delimiter = +
biff = no
message_size_limit = 52428800
# Retry quickly: tests stop Dovecot, queue mail, start it again (start_dovecot flushes too).
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 5s
# Delivery: only @{DOMAIN}, only through Dovecot LMTP. Nothing ever leaves: there is no
# smtp client service in master.cf and every other transport is an error.
virtual_mailbox_domains = {DOMAIN}
virtual_mailbox_maps = texthash:{pf}/vmailbox
virtual_transport = lmtp:unix:{self.dovecot_base}/lmtp-postfix
virtual_alias_maps = regexp:{pf}/foreign.regexp
virtual_alias_domains =
default_transport = error:deskterm test servers never relay
relay_transport = error:deskterm test servers never relay
local_transport = error:deskterm test servers have no local delivery
smtpd_sasl_type = dovecot
smtpd_sasl_path = {self.dovecot_base}/auth-postfix
smtpd_sasl_auth_enable = no
smtpd_tls_cert_file = {self.cert_file}
smtpd_tls_key_file = {self.key_file}
smtpd_tls_security_level = may
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
""")
        # Off-domain recipients (the helpdesk replying to customers) land in sink@.
        (pf / "foreign.regexp").write_text(
            f"/^(postmaster|abuse|mailer-daemon)@{dom_re}$/ sink@{DOMAIN}\n"
            f"if !/@{dom_re}$/\n/^/ sink@{DOMAIN}\nendif\n"
        )
        (pf / "vmailbox").write_text("".join(f"{addr} x\n" for addr in self.users))
        sub = (
            "-o smtpd_sasl_auth_enable=yes -o smtpd_tls_auth_only=yes\n"
            "  -o smtpd_client_restrictions=permit_sasl_authenticated,reject"
        )
        name = self.instance
        (pf / "master.cf").write_text(f"""\
# written by tests/servers/mailservers.py. chroot=n everywhere; no smtp/local delivery agents.
# mx stores inbound mail as received; submission/smtps add missing Message-ID/Date.
127.0.0.1:{self.mx_port} inet n - n - - smtpd -o syslog_name={name}/mx
  -o local_header_rewrite_clients=
127.0.0.1:{self.submission_port} inet n - n - - smtpd -o syslog_name={name}/submission
  -o smtpd_tls_security_level=encrypt {sub}
127.0.0.1:{self.smtps_port} inet n - n - - smtpd -o syslog_name={name}/smtps
  -o smtpd_tls_wrappermode=yes {sub}
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n -  0 cleanup
qmgr      unix  n - n 300 1 qmgr
tlsmgr    unix  - - n 1000? 1 tlsmgr
rewrite   unix  - - n -  - trivial-rewrite
bounce    unix  - - n -  0 bounce
defer     unix  - - n -  0 bounce
trace     unix  - - n -  0 bounce
verify    unix  - - n -  1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -  - proxymap
showq     unix  n - n -  - showq
error     unix  - - n -  - error
retry     unix  - - n -  - error
discard   unix  - - n -  - discard
lmtp      unix  - - n -  - lmtp
anvil     unix  - - n -  1 anvil
scache    unix  - - n -  1 scache
postlog   unix-dgram n - n - 1 postlogd
""")


# --- pytest -----------------------------------------------------------------------------------


def _stop_leftovers(state_dir: Path) -> None:
    old = MailServers(state_dir)
    for pid in (old._postfix_pid(), old._dovecot_pid()):
        if pid is not None:
            with contextlib.suppress(MailServersError):
                _terminate(pid, "stale mail server")


ServersT = TypeVar("ServersT", bound="MailServers")


@contextlib.contextmanager
def private_dovecot(kind: type[ServersT]) -> Iterator[ServersT]:
    """A Dovecot of its own (a subclass changing its configuration) for one test module.

    Its state dir has the suite's prefix and owner mark, so a later session reaps it if this
    one dies without tearing down. Skips the test where the servers cannot run here (fails
    it under CI).
    """
    require(unavailable_reason())
    servers = kind(new_state_dir(STATE_PREFIX))
    try:
        servers.start_dovecot()
        yield servers
    finally:
        try:
            servers.stop_dovecot()
        finally:
            shutil.rmtree(servers.state_dir, ignore_errors=True)


def start_for_session(
    keep_logs: Callable[[], Path] | None = None, introspection_url: str | None = None
) -> Iterator[MailServers]:
    """Generator behind the fixture (usable without pytest): reap what dead sessions left,
    then `serve` a MailServers in a fresh state dir."""
    reap_stale_state_dirs(STATE_PREFIX, _stop_leftovers)
    yield from serve(MailServers(new_state_dir(STATE_PREFIX), introspection_url), keep_logs)


@pytest.fixture(scope="session")
def mail_servers(
    tmp_path_factory: pytest.TempPathFactory, oauth_server: OAuthServer
) -> Iterator[MailServers]:
    """Running Dovecot + Postfix for the whole session; skipped where they cannot run, and
    failed there under CI (`serverhost.cannot_run`). They take oauth_server's access tokens
    (XOAUTH2, OAUTHBEARER) besides the users' passwords; that server is up before Dovecot
    starts and stops after it.

    The state dir is a fresh $TMPDIR/deskterm-mailservers-* rather than a tmp_path: the
    daemons run as other users and must traverse to it, and pytest keeps its temp root at
    0700 (re-applied by every pytest start, so loosening it would break a concurrent
    session). The logs are copied into tmp_path_factory's "mailservers-logs" at the end.
    """
    require(unavailable_reason())
    yield from start_for_session(
        lambda: tmp_path_factory.mktemp("mailservers-logs"), oauth_server.introspection_url()
    )
