"""IDLE watchers: one thread per eligible IMAP channel, making the channel due when mail comes.

Each thread opens the channel's mailbox, holds IDLE on its first folder (net.imap_idle) and
asks the poll loop for a poll of that channel on new mail; a lost session is opened again
after a growing wait. The threads never fetch: the poll loop does, one poll at a time.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable

from deskterm.channels import registry as channels
from deskterm.channels import signin
from deskterm.channels.health import eligible
from deskterm.channels.typed import ChannelConfig, InboundConfig
from deskterm.engine.events import IdleChanged, Listener
from deskterm.engine.faults import NETWORK_ERRORS
from deskterm.errors import DeskError
from deskterm.net import imap as imap_conn
from deskterm.net import imap_idle
from deskterm.net.tls import explain
from deskterm.store.models import Channel

IDLE_RECHECK_SECONDS = 10  # a channel paused (or disabled) leaves IDLE within this time
# An IDLE session lost after this long retries after 1 s again; one lost sooner keeps the
# doubling wait, so a server that drops every session at once is not asked every second.
IDLE_STABLE_SECONDS = 60


class IdleWatchers:
    """The IDLE threads of one worker, and what each session is doing."""

    def __init__(
        self,
        store: Callable[[], object],
        on_event: Listener,
        poll_now: Callable[[int], None],
        stop: threading.Event,
    ) -> None:
        """`store` gives the secret store (opened on first use); `poll_now(channel_id)`
        makes a channel due at once; `stop` ends every thread."""
        self._store = store
        self._on_event = on_event
        self._poll_now = poll_now
        self._stop = stop
        self._threads: dict[int, threading.Thread] = {}
        # Per channel id, what its IDLE session is doing: "connected", "not offered by the
        # server" or "lost: <why>"; read by the UI's worker screen.
        self.status: dict[int, str] = {}
        # Channels whose server does not offer IDLE, with the inbound settings they had then:
        # no new watcher (a TLS connection and a login) every loop pass, until they change.
        self._no_idle: dict[int, InboundConfig] = {}

    def start(self, rows: list[Channel]) -> None:
        """A thread for each of the channels (the loop's pass has just read them all) that
        wants IDLE and has none running."""
        for channel in rows:
            inbound = ChannelConfig.of(channel).inbound
            wanted = inbound.protocol == "imap" and inbound.idle and eligible(channel)
            if self._no_idle.get(channel.id) not in (None, inbound):
                del self._no_idle[channel.id]  # edited (another server?): ask again
                self.status.pop(channel.id, None)
            if channel.id in self._no_idle:
                continue  # polling at the interval alone does the job
            thread = self._threads.get(channel.id)
            if wanted and (thread is None or not thread.is_alive()):
                thread = threading.Thread(
                    target=self._loop,
                    args=(channel.id,),
                    daemon=True,
                    name=f"idle-{channel.name}",
                )
                self._threads[channel.id] = thread
                thread.start()

    def join(self, timeout: float) -> None:
        """Wait, at most `timeout` seconds in all, for the threads to end once `stop` is set."""
        deadline = time.monotonic() + timeout
        for thread in list(self._threads.values()):
            if thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))

    def _loop(self, channel_id: int) -> None:
        """Hold an IDLE session; any untagged EXISTS/RECENT makes the channel due at once.

        A lost session is reported (an "IDLE lost" event, the status) and opened again after
        a wait that doubles up to 5 minutes while the server stays unreachable.
        """
        backoff = 1.0
        while not self._stop.is_set():
            channel = Channel.get_or_none(Channel.id == channel_id)
            if channel is None or not eligible(channel):
                self.status.pop(channel_id, None)
                return
            began = time.monotonic()
            try:
                if self._session(channel) is False:
                    self.status[channel_id] = "not offered by the server"
                    self._no_idle[channel_id] = ChannelConfig.of(channel).inbound
                    self._on_event(IdleChanged(channel.name, "IDLE is not offered by the server"))
                    return
                backoff = 1.0
            except (DeskError, *NETWORK_ERRORS) as exc:
                worked = self.status.get(channel_id) == "connected"
                if worked and time.monotonic() - began >= IDLE_STABLE_SECONDS:
                    backoff = 1.0  # it had worked for a while: the first retry comes soon
                message = str(explain(exc, channels.endpoint(channel, "inbound")))
                self.status[channel_id] = f"lost: {message}"
                self._on_event(IdleChanged(channel.name, f"IDLE lost: {message}"))
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 300)
        self.status.pop(channel_id, None)

    def _session(self, channel: Channel) -> bool:
        """One IDLE connection, held until stop, renewal time, or the channel is paused.

        False: the server does not offer IDLE. A lost connection raises (IdleLost, or the
        network error) so that _loop reconnects.
        """
        inbound = ChannelConfig.of(channel).inbound
        endpoint = channels.endpoint(channel, "inbound")
        mailbox = imap_conn.connect(endpoint)

        def connected() -> None:
            self.status[channel.id] = "connected"
            self._on_event(IdleChanged(channel.name, "IDLE connected"))
            # Mail that came while no IDLE was open (before this start, or while the server
            # was away) would otherwise wait for the poll interval.
            self._poll_now(channel.id)

        def still_wanted() -> bool:
            fresh = Channel.get_or_none(Channel.id == channel.id)
            return fresh is not None and eligible(fresh)

        try:
            credentials = signin.sign_in(
                channel, "inbound", self._store(), lambda c: imap_conn.login(mailbox, endpoint, c)
            )
            held = imap_idle.hold(
                mailbox,
                endpoint,
                inbound.folders[0],
                stop=self._stop,
                connected=connected,
                arrived=lambda: self._poll_now(channel.id),
                wanted=still_wanted,
                recheck_seconds=IDLE_RECHECK_SECONDS,
                login_expires=signin.good_for(credentials),
            )
            if held:
                self.status.pop(channel.id, None)
            return held
        finally:
            with contextlib.suppress(Exception):
                mailbox.logout()
