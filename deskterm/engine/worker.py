"""The background worker: polls every active channel, keeps IMAP IDLE open, records each run.

An engine component with no UI imports: `deskterm poll` runs it in the foreground and the TUI
in a thread, both listening through `on_event`. It stops on a `threading.Event`, finishing
the batch in hand, so SIGINT/SIGTERM never cut a commit in half (and SIGKILL is covered by the
order of operations in imap_sync; the run it leaves unfinished is closed by the next worker).
The worker schedules; its helpers do the rest: the IDLE threads (engine.idle), the parsing
processes (engine.pool), who leads each channel (engine.leadership).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import BrokenExecutor
from datetime import timedelta

from deskterm import settings
from deskterm.channels import registry as channels
from deskterm.channels import signin
from deskterm.channels.health import channel_state, eligible, poll_interval
from deskterm.channels.typed import ChannelConfig
from deskterm.engine import leadership
from deskterm.engine.events import (
    ChannelSkipped,
    DeliveryResult,
    Listener,
    LoopPass,
    Notice,
    RunFinished,
    SyncProgress,
)
from deskterm.engine.faults import NETWORK_ERRORS
from deskterm.engine.flag import Flag
from deskterm.engine.idle import IdleWatchers
from deskterm.engine.leadership import INTERRUPTED  # noqa: F401 - where callers look for it
from deskterm.engine.pool import POOL_DIED, ParsingPool
from deskterm.errors import DeskError
from deskterm.inbound import imap_remote, imap_sync, pop3_sync
from deskterm.inbound.stages import Counts
from deskterm.net import imap as imap_conn
from deskterm.net import pop3 as pop3_conn
from deskterm.net.tls import explain
from deskterm.outbound import delivery, notify, sla_notices
from deskterm.store.db import iso, utcnow
from deskterm.store.models import Channel, JobRun

log = logging.getLogger("deskterm.engine.worker")


# What a run's outcome writes on its channel, and nothing else of the row.
HEALTH_FIELDS = [
    Channel.fail_count,
    Channel.failing_since,
    Channel.cool_off_until,
    Channel.last_error,
    Channel.last_ok_at,
]


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
        self.on_event = on_event or (lambda event: None)
        self.stop = stop or threading.Event()
        self.wake = Flag()  # set by poll_now() and request_stop(), maybe in a signal handler
        self._due: dict[int, float] = {}
        # When poll_now() was last asked for, per channel id (None: every channel).
        self._asked: dict[int | None, float] = {}
        self.pool = ParsingPool(niceness)
        # Every channel is this worker's until claim_desk says otherwise (tests drive poll()).
        self.lead = leadership.Leadership()
        self.idle = IdleWatchers(
            lambda: self.store, lambda event: self.on_event(event), self.poll_now, self.stop
        )

    def request_stop(self) -> None:
        """Stop after the batch in hand, at once: the loop may be asleep for seconds, so wake
        it too. Safe to call from a signal handler (`deskterm poll`'s SIGINT/SIGTERM)."""
        self.stop.set()
        self.wake.set()

    @contextlib.contextmanager
    def claim_desk(self, name: str | None = None) -> Iterator[None]:
        """Hold this worker's leadership for the run (engine.leadership): the desk's lock on
        SQLite, tidying what a killed worker left behind (only the named channel's runs when
        `name` is given: `deskterm poll --once --channel`); on a team desk, the channels'
        locks, each taken (and tidied) as the loop asks for it."""
        with leadership.claim(lambda: self.store, self.on_event, name) as lead:
            self.lead = lead
            try:
                yield
            finally:
                self.lead = leadership.Leadership()

    # --- one cycle ---------------------------------------------------------------------------

    def run_once(self, name: str | None = None) -> list[JobRun]:
        """Poll each eligible active channel (or the named one) once, then send what is due."""
        targets = [channels.get(name)] if name else channels.all_channels()
        runs = []
        for channel in targets:
            if self.stop.is_set():
                break
            if not self.lead.leads(channel):
                self.on_event(ChannelSkipped(channel.name, self.lead.why_not(channel)))
                continue
            if not eligible(channel):
                _state, detail = channel_state(channel)
                self.on_event(ChannelSkipped(channel.name, detail))
                continue
            runs.append(self.poll(channel))
        self.send(name)
        self.sla_pass()
        return runs

    def send(
        self, name: str | None = None, *, force: bool = False, tell_skipped: bool = False
    ) -> list[delivery.Delivery]:
        """Deliver the due replies of the channels this worker leads (asked right before
        each channel's: a lost lead sends nothing); each result becomes an event, and with
        `tell_skipped` (`deskterm send`) so does each channel left to its leader (the loop
        stays quiet about them: it would say so at every pass)."""

        def may_send(channel: Channel) -> bool:
            if self.lead.leads(channel):
                return True
            if tell_skipped:
                self.on_event(ChannelSkipped(channel.name, self.lead.why_not(channel)))
            return False

        return delivery.flush(
            self.store,
            channel_name=name,
            force=force,
            may_send=may_send,
            on_delivery=lambda d: self.on_event(
                DeliveryResult(d.conversation_id, d.state, d.detail)
            ),
        )

    def sla_pass(self) -> int:
        """Mail the SLA warnings and breach notices that fell due, when this worker has the
        desk's SLA duty (engine.leadership); returns how many were sent. A failure is told
        and never stops the loop."""
        if self.stop.is_set() or not self.lead.sends_sla_notices():
            return 0
        try:
            sent = sla_notices.run_pass()
        except Exception as exc:
            log.exception("SLA notices failed")
            self.on_event(Notice("(desk)", f"SLA notices failed: {type(exc).__name__}"))
            return 0
        if sent:
            self.on_event(Notice("(desk)", f"{sent} SLA notice(s) mailed"))
        return sent

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
            self.pool.discard()
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
        self.on_event(RunFinished(channel.name, run))
        return run

    def _sync(self, channel: Channel, counts: Counts) -> None:
        # Stops with the worker, and as soon as this worker no longer leads the channel.
        stop = self.lead.stop_for(channel, self.stop)
        inbound = channels.side_config(channel, "inbound")
        endpoint = channels.endpoint(channel, "inbound")
        # The connection (TCP, TLS, greeting) is made before the secret is read: a vault's key
        # (scrypt, 0.27 s) is then still being derived in the background (see cli.poll); an
        # OAuth2 token is refreshed meanwhile as well.

        def progress(folder: str, done: int, total: int) -> None:
            self.on_event(SyncProgress(channel.name, folder, done, total))

        if inbound.protocol == "pop3":
            client = pop3_conn.connect(endpoint)
            try:
                signin.sign_in(
                    channel, "inbound", self.store, lambda c: pop3_conn.login(client, endpoint, c)
                )
                pop3_sync.sync(channel, client, counts, progress=progress, stop=stop)
                client.quit()  # POP3 deletes take effect only here
            finally:
                with contextlib.suppress(Exception):
                    client.close()
            return
        mailbox = imap_conn.connect(endpoint)
        try:
            credentials = signin.sign_in(
                channel, "inbound", self.store, lambda c: imap_conn.login(mailbox, endpoint, c)
            )
            source = imap_remote.Source(dataclasses.replace(endpoint, on_pin=None), credentials)
            imap_sync.sync(
                channel,
                mailbox,
                counts,
                pool=self.pool.executor,
                progress=progress,
                stop=stop,
                source=source,
            )
        finally:
            with contextlib.suppress(Exception):
                mailbox.logout()

    def _record_health(self, channel: Channel, error: str | None) -> None:
        """A run's outcome in the channel's health fields (channels/health.py reads them)."""
        channel = Channel.get_by_id(channel.id)
        now = utcnow()
        if error is None:
            channel.fail_count = 0
            channel.failing_since = None
            channel.cool_off_until = None
            channel.last_error = None
            channel.last_ok_at = now
        else:
            inbound = ChannelConfig.of(channel).inbound
            channel.fail_count += 1
            channel.last_error = error
            channel.failing_since = channel.failing_since or now
            if channel.fail_count >= inbound.max_tries:
                channel.cool_off_until = now + timedelta(minutes=inbound.cool_off_minutes)
                channel.fail_count = 0
                self._warn_failing(channel, error)
        # Only the health fields: the row may be older than an admin's edit of the channel
        # (its settings, name, status), which a whole-row save would write back over.
        channel.save(only=HEALTH_FIELDS)

    def _warn_failing(self, channel: Channel, error: str) -> None:
        """Tell the agent by mail (system SMTP) that a channel stopped working."""
        if not settings.current().notify_configured:
            return
        tries = ChannelConfig.of(channel).inbound.max_tries
        try:
            notify.send_notification(
                f"deskterm: channel {channel.name} is failing",
                f"Channel {channel.name} failed {tries} times "
                f"in a row and cools off until {iso(channel.cool_off_until)}.\n\n"
                f"Last error: {error}\n",
            )
        except DeskError as exc:
            self.on_event(Notice(channel.name, f"notification failed: {exc}"))

    # --- the long-running loop -----------------------------------------------------------

    def run_forever(self) -> None:
        """Poll channels as they fall due, woken early by IDLE, until `stop` is set."""
        with self.claim_desk():
            try:
                while not self.stop.is_set():
                    self.on_event(LoopPass())  # alive, for systemd's watchdog (sd_notify)
                    # The channels this worker leads (on a team desk, those whose lock it
                    # holds or has just taken over); the others are another worker's.
                    rows = [c for c in channels.all_channels() if self.lead.leads(c)]
                    self.idle.start(rows)
                    now = time.monotonic()
                    for channel in rows:
                        if self.stop.is_set():
                            break
                        if self._due.get(channel.id, 0) <= now and eligible(channel):
                            self.poll(channel)
                    self.send()
                    self.sla_pass()
                    # Cleared before stop is asked: a stop requested during the pass set
                    # `stop` (seen here), one requested from now on sets `wake` (ends the
                    # wait). Asked the other way round, clear() would swallow the wake-up of a
                    # stop that came in the pass, and the loop would sleep its whole time.
                    self.wake.clear()
                    if self.stop.is_set():
                        break
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

    def recheck(self) -> None:
        """Read the channels again now (one was resumed, activated, or trusts a new pin),
        making none of them due: the loop polls those whose time has come."""
        self.wake.set()

    def idle_status(self, channel_id: int) -> str:
        """What the channel's IDLE session is doing: "connected", "not offered by the server",
        "lost: <why>", or "" (none)."""
        return self.idle.status.get(channel_id, "")

    # --- resources ---------------------------------------------------------------------------

    @property
    def store(self) -> object:
        if self._store is None:
            from deskterm.secrets.store import open_secret_store

            self._store = open_secret_store()
        return self._store

    def close(self) -> None:
        self.stop.set()
        self.pool.close()
        # The IDLE threads see the stop within a read (2 s) and log out: a worker that has
        # returned leaves no session on the server (a stray one would go on taking mail).
        self.idle.join(timeout=5.0)
