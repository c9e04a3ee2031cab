"""The background worker: polls every active channel, keeps IMAP IDLE open, records each run.

An engine component with no UI imports: `deskterm poll` runs it in the foreground and the TUI
in a thread, both listening through `on_event`. It stops on a `threading.Event`, finishing
the batch in hand, so SIGINT/SIGTERM never cut a commit in half (and SIGKILL is covered by the
order of operations in imap_sync; the run it leaves unfinished is closed by the next worker).
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import imaplib
import json
import logging
import multiprocessing
import os
import poplib
import select
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import BrokenExecutor, Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from multiprocessing import forkserver, resource_tracker

from deskterm import paths, process
from deskterm.channels import registry as channels
from deskterm.channels.health import channel_state, eligible, poll_interval
from deskterm.errors import AuthError, DeskError
from deskterm.inbound import imap_remote, imap_sync, pop3_sync
from deskterm.inbound.stages import Counts
from deskterm.net import imap as imap_conn
from deskterm.net import pop3 as pop3_conn
from deskterm.net.tls import Endpoint, explain
from deskterm.outbound import delivery, notify, outbox
from deskterm.sanitize import one_line
from deskterm.store.db import iso, utcnow
from deskterm.store.models import Channel, JobRun

log = logging.getLogger("deskterm.engine.worker")

IDLE_RENEW_SECONDS = 24 * 60  # RFC 2177: servers may drop IDLE after 29 minutes
IDLE_RECHECK_SECONDS = 10  # a channel paused (or disabled) leaves IDLE within this time
# An IDLE session lost after this long retries after 1 s again; one lost sooner keeps the
# doubling wait, so a server that drops every session at once is not asked every second.
IDLE_STABLE_SECONDS = 60
# What a server or the network can throw at us mid-sync; anything else is our bug.
NETWORK_ERRORS = (OSError, EOFError, imaplib.IMAP4.error, poplib.error_proto)
# Written into a run that a killed worker left open: the next worker holds the lock, so no
# other run can still be going on.
INTERRUPTED = "The run was interrupted (the worker was killed) before it finished."
POOL_DIED = (
    "A mail-parsing process of deskterm died (perhaps the system ran short of memory); the "
    "mail it was parsing is fetched again by the next poll."
)


class IdleLost(DeskError):
    """The server ended an IDLE session (BYE, or the connection closed): reconnect."""


class Flag(threading.Event):
    """A `threading.Event` over a re-entrant lock, for events a signal handler sets.

    A handler runs in the main thread between two bytecodes, possibly while that thread holds
    the event's own lock (inside `wait` or `clear`); with threading.Event's plain lock the
    handler's `set` would then wait for itself forever. Here it gets the lock again, and at
    worst a wake-up that lands in `wait`'s first bytecodes is noticed one sleep later. Every
    method is overridden, so nothing depends on threading.Event's internals.
    """

    def __init__(self) -> None:
        super().__init__()
        self._reentrant = threading.Condition(threading.RLock())
        self._set = False

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        with self._reentrant:
            self._set = True
            self._reentrant.notify_all()

    def clear(self) -> None:
        with self._reentrant:
            self._set = False

    def wait(self, timeout: float | None = None) -> bool:
        with self._reentrant:
            if not self._set:
                self._reentrant.wait(timeout)
            return self._set


@dataclass
class Event:
    """What the worker tells its listeners (CLI progress, TUI status bar)."""

    kind: str  # progress | run | idle
    channel: str
    folder: str = ""
    done: int = 0
    total: int = 0
    run: JobRun | None = None
    message: str = ""
    at: float = field(default_factory=time.monotonic)


Listener = Callable[[Event], None]


class Worker:
    def __init__(
        self,
        store: object | None = None,
        on_event: Listener | None = None,
        stop: threading.Event | None = None,
        niceness: int = 0,
    ) -> None:
        """`niceness` lowers the CPU priority of the parsing processes (the app sets it, so
        that on two cores a first sync never makes typing wait)."""
        self._store = store
        self.niceness = niceness
        self.on_event = on_event or (lambda event: None)
        self.stop = stop or threading.Event()
        self.wake = Flag()  # set by poll_now() and request_stop(), maybe in a signal handler
        self._due: dict[int, float] = {}
        # When poll_now() was last asked for, per channel id (None: every channel).
        self._asked: dict[int | None, float] = {}
        self._pool: Executor | None = None
        self._idle_threads: dict[int, threading.Thread] = {}
        # Per channel id, what its IDLE session is doing: "connected", "not offered by the
        # server" or "lost: <why>"; read by the UI's worker screen.
        self.idle_status: dict[int, str] = {}
        # Channels whose server does not offer IDLE, with the inbound settings they had then:
        # no new watcher (a TLS connection and a login) every loop pass, until they change.
        self._no_idle: dict[int, str] = {}

    def request_stop(self) -> None:
        """Stop after the batch in hand, at once: the loop may be asleep for seconds, so wake
        it too. Safe to call from a signal handler (`deskterm poll`'s SIGINT/SIGTERM)."""
        self.stop.set()
        self.wake.set()

    @contextlib.contextmanager
    def claim_desk(self, name: str | None = None) -> Iterator[None]:
        """Hold the desk's worker lock, and first tidy what a killed worker left behind.

        Holding the lock means no other worker runs, so replies left `sending` go back in the
        queue and runs still open (a SIGKILL ends a worker between `JobRun.create` and its
        save) are closed with INTERRUPTED; else `deskterm jobs` would show them running forever.
        Only the named channel's runs when `name` is given (`deskterm poll --once --channel`).
        """
        with worker_lock():
            target = channels.get(name) if name else None
            outbox.recover_interrupted()
            stale = JobRun.update(finished_at=utcnow(), error=INTERRUPTED).where(
                JobRun.finished_at.is_null()
            )
            if target is not None:
                stale = stale.where(JobRun.channel == target)
            stale.execute()
            yield

    # --- one cycle ---------------------------------------------------------------------------

    def run_once(self, name: str | None = None) -> list[JobRun]:
        """Poll each eligible active channel (or the named one) once, then send what is due."""
        targets = [channels.get(name)] if name else channels.all_channels()
        runs = []
        for channel in targets:
            if self.stop.is_set():
                break
            if not eligible(channel):
                _state, detail = channel_state(channel)
                self.on_event(Event("skipped", channel.name, message=detail))
                continue
            runs.append(self.poll(channel))
        self.send(name)
        return runs

    def send(self, name: str | None = None) -> None:
        """Deliver the outbox's due replies; each result becomes an event."""
        delivery.flush(
            self.store,
            channel_name=name,
            on_delivery=lambda d: self.on_event(
                Event("delivery", f"#{d.conversation_id}", message=f"{d.state}: {d.detail}")
            ),
        )

    def poll(self, channel: Channel) -> JobRun:
        started = time.monotonic()
        run = JobRun.create(channel=channel, kind="poll")
        counts = Counts()
        error = None
        try:
            self._sync(channel, counts)
        except DeskError as exc:
            error = str(exc)
        except BrokenExecutor:  # a parser process died (OOM killer): the pool is useless now
            log.warning("a parsing process died while polling %s", channel.name, exc_info=True)
            self._discard_pool()
            error = POOL_DIED
        except NETWORK_ERRORS as exc:  # faults from deep inside imaplib/poplib/ssl
            error = str(explain(exc, channels.endpoint(channel, "inbound")))
        except Exception as exc:
            log.exception("poll of %s failed", channel.name)
            error = (
                f"deskterm failed while polling ({type(exc).__name__}); the details are in "
                "deskterm.log in the desk's home."
            )
        run.fetched, run.ingested = counts.fetched, counts.ingested
        run.skipped, run.failed = counts.skipped, counts.failed
        run.error = error
        run.finished_at = utcnow()
        run.save()
        self._record_health(channel, error)
        # A poll_now() that came while this poll ran (IDLE saw mail arrive after the search)
        # must not be lost behind the next interval.
        asked = max(self._asked.get(channel.id, -1.0), self._asked.get(None, -1.0))
        due = 0.0 if asked >= started else time.monotonic() + poll_interval(channel)
        self._due[channel.id] = due
        self.on_event(Event("run", channel.name, run=run, message=error or ""))
        return run

    def _sync(self, channel: Channel, counts: Counts) -> None:
        inbound = channels.side_settings(channel, "inbound")
        endpoint = channels.endpoint(channel, "inbound")
        if inbound["auth"] == "oauth2":
            raise AuthError(
                f"Channel {channel.name!r} uses OAuth2, which this version cannot sign in with."
            )
        # The connection (TCP, TLS, greeting) is made before the secret is read: a vault's key
        # (scrypt, 0.27 s) is then still being derived in the background (see cli.poll).

        def progress(folder: str, done: int, total: int) -> None:
            self.on_event(Event("progress", channel.name, folder, done, total))

        if inbound["protocol"] == "pop3":
            client = pop3_conn.connect(endpoint)
            try:
                secret = channels.password(channel, "inbound", self.store)
                pop3_conn.login(client, endpoint, inbound["username"], secret)
                pop3_sync.sync(channel, client, counts, progress=progress, stop=self.stop)
                client.quit()  # POP3 deletes take effect only here
            finally:
                with contextlib.suppress(Exception):
                    client.close()
            return
        mailbox = imap_conn.connect(endpoint)
        try:
            secret = channels.password(channel, "inbound", self.store)
            imap_conn.login(mailbox, endpoint, inbound["username"], secret)
            source = imap_remote.Source(
                dataclasses.replace(endpoint, on_pin=None), inbound["username"], secret
            )
            imap_sync.sync(
                channel,
                mailbox,
                counts,
                pool=lambda: self.pool,
                progress=progress,
                stop=self.stop,
                source=source,
            )
        finally:
            with contextlib.suppress(Exception):
                mailbox.logout()

    def _record_health(self, channel: Channel, error: str | None) -> None:
        channel = Channel.get_by_id(channel.id)
        now = utcnow()
        if error is None:
            channel.fail_count = 0
            channel.failing_since = None
            channel.cool_off_until = None
            channel.last_error = None
            channel.last_ok_at = now
        else:
            inbound = channel.settings["inbound"]
            channel.fail_count += 1
            channel.last_error = error
            channel.failing_since = channel.failing_since or now
            if channel.fail_count >= inbound["max_tries"]:
                channel.cool_off_until = now + timedelta(minutes=inbound["cool_off_minutes"])
                channel.fail_count = 0
                self._warn_failing(channel, error)
        channel.save()

    def _warn_failing(self, channel: Channel, error: str) -> None:
        """Tell the agent by mail (system SMTP) that a channel stopped working."""
        if not notify.configured():
            return
        try:
            notify.send_notification(
                f"deskterm: channel {channel.name} is failing",
                f"Channel {channel.name} failed {channel.settings['inbound']['max_tries']} times "
                f"in a row and cools off until {iso(channel.cool_off_until)}.\n\n"
                f"Last error: {error}\n",
            )
        except DeskError as exc:
            self.on_event(Event("notice", channel.name, message=f"notification failed: {exc}"))

    # --- the long-running loop -----------------------------------------------------------

    def run_forever(self) -> None:
        """Poll channels as they fall due, woken early by IDLE, until `stop` is set."""
        with self.claim_desk():
            try:
                while not self.stop.is_set():
                    self._start_idle_watchers()
                    now = time.monotonic()
                    for channel in channels.all_channels():
                        if self.stop.is_set():
                            break
                        if self._due.get(channel.id, 0) <= now and eligible(channel):
                            self.poll(channel)
                    self.send()
                    self.wake.clear()
                    self.wake.wait(self._sleep_time())
            finally:
                self.close()

    def _sleep_time(self) -> float:
        now = time.monotonic()
        pending = [due - now for due in self._due.values()]
        return max(0.2, min([5.0, *pending]))  # re-read channels at least every 5 s

    def next_run(self, channel_id: int) -> float:
        """Seconds until the loop polls this channel (0: at its next pass), if eligible."""
        return max(0.0, self._due.get(channel_id, 0) - time.monotonic())

    def poll_now(self, channel_id: int | None = None) -> None:
        self._asked[channel_id or None] = time.monotonic()
        for key in [channel_id] if channel_id else list(self._due):
            self._due[key] = 0
        self.wake.set()

    def _start_idle_watchers(self) -> None:
        for channel in channels.all_channels():
            inbound = channel.settings["inbound"]
            wanted = (
                inbound["protocol"] == "imap" and inbound.get("idle", True) and eligible(channel)
            )
            if self._no_idle.get(channel.id) not in (None, _settings_key(channel)):
                del self._no_idle[channel.id]  # edited (another server?): ask again
                self.idle_status.pop(channel.id, None)
            if channel.id in self._no_idle:
                continue  # polling at the interval alone does the job
            thread = self._idle_threads.get(channel.id)
            if wanted and (thread is None or not thread.is_alive()):
                thread = threading.Thread(
                    target=self._idle_loop,
                    args=(channel.id,),
                    daemon=True,
                    name=f"idle-{channel.name}",
                )
                self._idle_threads[channel.id] = thread
                thread.start()

    def _idle_loop(self, channel_id: int) -> None:
        """Hold an IDLE session; any untagged EXISTS/RECENT makes the channel due at once.

        A lost session is reported (an "IDLE lost" event, the status) and opened again after
        a wait that doubles up to 5 minutes while the server stays unreachable.
        """
        backoff = 1.0
        while not self.stop.is_set():
            channel = Channel.get_or_none(Channel.id == channel_id)
            if channel is None or not eligible(channel):
                self.idle_status.pop(channel_id, None)
                return
            began = time.monotonic()
            try:
                if self._idle_session(channel) is False:
                    self.idle_status[channel_id] = "not offered by the server"
                    self._no_idle[channel_id] = _settings_key(channel)
                    self.on_event(
                        Event("idle", channel.name, message="IDLE is not offered by the server")
                    )
                    return
                backoff = 1.0
            except (DeskError, *NETWORK_ERRORS) as exc:
                worked = self.idle_status.get(channel_id) == "connected"
                if worked and time.monotonic() - began >= IDLE_STABLE_SECONDS:
                    backoff = 1.0  # it had worked for a while: the first retry comes soon
                message = str(explain(exc, channels.endpoint(channel, "inbound")))
                self.idle_status[channel_id] = f"lost: {message}"
                self.on_event(Event("idle", channel.name, message=f"IDLE lost: {message}"))
                self.stop.wait(backoff)
                backoff = min(backoff * 2, 300)
        self.idle_status.pop(channel_id, None)

    def _idle_session(self, channel: Channel) -> bool:
        """One IDLE connection, held until stop, renewal time, or the channel is paused.

        False: the server does not offer IDLE. A lost connection raises (IdleLost, or the
        network error) so that _idle_loop reconnects; returning [] for it, as imap-tools'
        IdleManager.poll does, left this thread spinning on a dead socket for 24 minutes.
        """
        inbound = channel.settings["inbound"]
        endpoint = channels.endpoint(channel, "inbound")
        mailbox = imap_conn.connect(endpoint)
        try:
            secret = channels.password(channel, "inbound", self.store)
            imap_conn.login(mailbox, endpoint, inbound["username"], secret)
            # After login: servers (Dovecot) list more then, and imap_conn.login reads it.
            if "IDLE" not in mailbox.client.capabilities:
                return False
            mailbox.folder.set(inbound["folders"][0])
            mailbox.idle.start()
            self.idle_status[channel.id] = "connected"
            self.on_event(Event("idle", channel.name, message="IDLE connected"))
            # Mail that came while no IDLE was open (before this start, or while the server
            # was away) would otherwise wait for the poll interval.
            self.poll_now(channel.id)
            reader = _IdleReader(mailbox.client, endpoint)
            renew_at = time.monotonic() + IDLE_RENEW_SECONDS
            recheck_at = time.monotonic() + IDLE_RECHECK_SECONDS
            while not self.stop.is_set() and time.monotonic() < renew_at:
                responses = reader.read(timeout=2)
                if any(b"EXISTS" in r or b"RECENT" in r for r in responses):
                    self.poll_now(channel.id)
                if time.monotonic() >= recheck_at:  # paused meanwhile: let go of the server
                    recheck_at = time.monotonic() + IDLE_RECHECK_SECONDS
                    fresh = Channel.get_or_none(Channel.id == channel.id)
                    if fresh is None or not eligible(fresh):
                        break
            with contextlib.suppress(*NETWORK_ERRORS):  # the session ends either way
                mailbox.idle.stop()
            self.idle_status.pop(channel.id, None)
            return True
        finally:
            with contextlib.suppress(Exception):
                mailbox.logout()

    # --- resources ---------------------------------------------------------------------------

    @property
    def store(self) -> object:
        if self._store is None:
            from deskterm.secrets.store import open_secret_store

            self._store = open_secret_store()
        return self._store

    @property
    def pool(self) -> Executor:
        if self._pool is not None and getattr(self._pool, "_broken", False):
            # A process died while the pool was idle (concurrent.futures marks the pool but
            # says so only as the next task fails): start afresh instead of failing a run.
            self._discard_pool()
        if self._pool is None:
            # forkserver: the IDLE threads make plain fork unsafe. The server imports the
            # parsing code once and every worker starts from that copy, instead of each
            # importing it again (0.4 CPU-seconds apiece, on a first sync that is CPU-bound).
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(
                ["deskterm.engine.forkserver_start", "deskterm.inbound.imap_sync"]
            )
            # multiprocessing gives its helper process stderr's descriptor, and inside the app
            # sys.stderr is Textual's capture, whose fileno() is -1: every big first sync in
            # the app failed with "bad value(s) in fds_to_keep". Start it with the real one.
            # Both helpers and every parsing process inherit the environment they start with:
            # started here, without the secrets deskterm was given (process.without_secrets).
            stderr = sys.__stderr__ or sys.stderr
            with contextlib.redirect_stderr(stderr), process.without_secrets():
                resource_tracker.ensure_running()
                forkserver.ensure_running()
            # Each worker ends when this process does, even by SIGKILL: else the workers, the
            # forkserver and the resource tracker outlive it for good (process.end_with).
            self._pool = ProcessPoolExecutor(
                max_workers=2,
                mp_context=context,
                initializer=process.parsing_process_start,
                initargs=(os.getpid(), self.niceness),
            )
        return self._pool

    def close(self) -> None:
        self.stop.set()
        if self._pool is not None:
            self._pool.shutdown(cancel_futures=True)
            self._pool = None

    def _discard_pool(self) -> None:
        """Drop a broken pool; the next `pool` starts a new one. Its surviving processes are
        ended by concurrent.futures itself, so there is nothing to wait for."""
        if self._pool is not None:
            with contextlib.suppress(Exception):
                self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


def _settings_key(channel: Channel) -> str:
    """The inbound settings as one comparable string (host, port, folders, ...)."""
    return json.dumps(channel.settings.get("inbound", {}), sort_keys=True, default=str)


class _IdleReader:
    """The server's lines during IDLE, read without blocking; a lost connection raises.

    imaplib reads whole lines and blocks; here the socket is polled with a timeout, and all
    that has arrived is read at once. A closed connection is told apart from "nothing yet"
    (a plain socket reads b"" for both when non-blocking) by peeking at the TCP socket.
    """

    def __init__(self, client: imaplib.IMAP4, endpoint: Endpoint) -> None:
        self.client = client
        self.endpoint = endpoint
        self.partial = b""  # a line whose end has not arrived yet

    def read(self, timeout: float) -> list[bytes]:
        """Complete lines received within `timeout` seconds (maybe none)."""
        sock: socket.socket = self.client.sock
        # Lines may wait inside imaplib's buffer or the TLS layer, where poll() cannot see them.
        data = self._drain(sock)
        if not data:
            poller = select.poll()
            poller.register(sock.fileno(), select.POLLIN)
            if not poller.poll(timeout * 1000):
                return []
            data = self._drain(sock)
            # Readable yet nothing to read: the end of the connection, or a TLS record whose
            # rest is still on its way (then the socket is not readable again until it comes).
            if not data:
                if _peer_closed(sock):
                    raise self._lost("closed the connection")
                return []
        *complete, self.partial = (self.partial + data).split(b"\n")
        lines = [line.rstrip(b"\r") for line in complete]
        for line in lines:
            if line.startswith(b"* BYE"):
                said = one_line(line[5:].decode("utf-8", "replace"))[:200]
                raise self._lost(f"ended the session ({said})" if said else "ended the session")
        return lines

    def _drain(self, sock: socket.socket) -> bytes:
        """What can be read now, without waiting; b"" if nothing (or the end)."""
        previous = sock.gettimeout()
        sock.settimeout(0)
        chunks = []
        try:
            while True:
                try:
                    chunk = self.client.file.read1(65536)
                except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                    break
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            with contextlib.suppress(OSError):
                sock.settimeout(previous)
        return b"".join(chunks)

    def _lost(self, what: str) -> IdleLost:
        return IdleLost(
            f"The {self.endpoint.label} server {self.endpoint.where} {what}; deskterm "
            "connects again and keeps polling meanwhile."
        )


def _peer_closed(sock: socket.socket) -> bool:
    """Whether the TCP connection has ended (EOF or reset), without consuming anything."""
    try:
        return socket.socket.recv(sock, 1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except (BlockingIOError, InterruptedError):
        return False
    except OSError:
        return True


def status_rows(engine: Worker | None) -> list[dict[str, object]]:
    """Each channel as the UI's worker screen shows it: its state, IDLE and next poll.

    `engine` is the worker running in this process, if any; without it (a separate
    `deskterm poll` does the work) IDLE and the next poll are unknown (None).
    """
    rows: list[dict[str, object]] = []
    for channel in channels.all_channels():
        state, detail = channel_state(channel)
        known = engine is not None
        rows.append(
            {
                "id": channel.id,
                "name": channel.name,
                "state": state,
                "detail": detail,
                "paused": channel.paused,
                "idle": engine.idle_status.get(channel.id, "") if known else None,
                "next_run": engine.next_run(channel.id) if known and eligible(channel) else None,
            }
        )
    return rows


@contextlib.contextmanager
def worker_lock() -> Iterator[None]:
    """One `deskterm poll` per desk: a second would fetch the same mail at the same time."""
    path = paths.home() / "worker.lock"
    handle = open(path, "a+")  # noqa: SIM115 - held for the whole run
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DeskError(
                "Another `deskterm poll` is already running for this desk; stop it first, or "
                "let it do the polling."
            ) from None
        yield
    finally:
        handle.close()


def worker_running() -> bool:
    """Whether a separate worker holds the desk's lock (the TUI then uses its results)."""
    try:
        with worker_lock():
            return False
    except DeskError:
        return True
