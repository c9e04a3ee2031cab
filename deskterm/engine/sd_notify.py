"""systemd's notification protocol (sd_notify(3)): how `deskterm poll` tells a `Type=notify`
unit that it is ready, that it is still alive, and that it is stopping.

Hand-written: the protocol is one datagram of `KEY=VALUE` lines sent to the socket named by
`$NOTIFY_SOCKET` (a path, or an abstract-namespace name written with a leading `@`). The
libraries add nothing for that but a dependency (systemd-python needs libsystemd's headers to
build; sdnotify is unmaintained). Outside systemd (a terminal, cron, the app) the variable is
unset and every call does nothing.

The watchdog is fed only by the worker's own loop thread (`heartbeat`): a timer thread would
keep petting it while the loop hangs, which is exactly what the watchdog is there to catch.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Mapping

from deskterm.engine.events import Event, IdleChanged, Listener, LoopPass

log = logging.getLogger("deskterm.engine.sd_notify")

NOTIFY_SOCKET = "NOTIFY_SOCKET"
WATCHDOG_USEC = "WATCHDOG_USEC"
WATCHDOG_PID = "WATCHDOG_PID"
# How often, at most, WATCHDOG=1 is sent, as a fraction of the watchdog interval:
# sd_watchdog_enabled(3) asks for "half the time", a quarter leaves room for a late pass.
PET_FRACTION = 0.25


class ServiceNotifier:
    """The messages a `Type=notify` service sends its manager; a no-op without NOTIFY_SOCKET.

    A failed send is logged once and never raised: systemd going away must not stop the
    worker (it would then be restarted for the wrong reason, or not at all).
    """

    def __init__(
        self,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        env = os.environ if environ is None else environ
        self.address = socket_address(env.get(NOTIFY_SOCKET, ""))
        self.watchdog_interval = watchdog_interval(env) if self.address else None
        self._clock = clock
        self._last_pet: float | None = None
        self._warned = False

    @property
    def active(self) -> bool:
        return self.address is not None

    def ready(self, status: str = "") -> None:
        """READY=1: the unit is started (systemctl start returns, dependants may start)."""
        self.send("READY=1", *([f"STATUS={status}"] if status else []))

    def alive(self) -> None:
        """WATCHDOG=1 when the watchdog is on and it is time: systemd restarts a service whose
        pets stop for WatchdogSec."""
        if self.watchdog_interval is None:
            return
        now = self._clock()
        if self._last_pet is not None and now - self._last_pet < (
            self.watchdog_interval * PET_FRACTION
        ):
            return
        self._last_pet = now
        self.send("WATCHDOG=1")

    def stopping(self, status: str = "") -> None:
        """STOPPING=1: the stop is ours, not a crash. Safe in a signal handler (one datagram
        from a fresh socket, no lock)."""
        self.send("STOPPING=1", *([f"STATUS={status}"] if status else []))

    def send(self, *fields: str) -> bool:
        """One datagram of `fields`, one per line; False when there is no socket or it failed."""
        if self.address is None:
            return False
        data = "\n".join(fields).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto(data, self.address)
        except OSError as exc:
            if not self._warned:
                self._warned = True
                log.warning("cannot notify systemd at %s: %s", self.address, exc)
            return False
        return True


def socket_address(value: str) -> str | None:
    """NOTIFY_SOCKET as a socket address: `@name` is the abstract namespace (a leading NUL);
    anything but an absolute path is ignored, as libsystemd does."""
    if value.startswith("@") and len(value) > 1:
        return "\0" + value[1:]
    if value.startswith("/"):
        return value
    return None


def watchdog_interval(environ: Mapping[str, str]) -> float | None:
    """Seconds of WatchdogSec= when systemd set it for this very process (WATCHDOG_PID, when
    present, names the process it is meant for: a child that inherited it must not pet)."""
    try:
        usec = int(environ.get(WATCHDOG_USEC, ""))
    except ValueError:
        return None
    pid = environ.get(WATCHDOG_PID)
    if usec <= 0 or (pid and pid != str(os.getpid())):
        return None
    return usec / 1_000_000


def heartbeat(notifier: ServiceNotifier, listener: Listener) -> Listener:
    """`listener`, with systemd told of the worker's loop on the way: READY=1 at its first pass
    (the worker then holds the desk's lock and has started its loop), WATCHDOG=1 at each event
    made on the loop's own thread (a pass, a batch of a long sync, a delivery). IDLE watchers
    run in threads of their own and send IdleChanged, which never feeds the watchdog."""
    loop: list[threading.Thread] = []

    def heard(event: Event) -> None:
        if isinstance(event, LoopPass) and not loop:
            loop.append(threading.current_thread())
            notifier.ready("Polling the desk's channels.")
        if loop and threading.current_thread() is loop[0] and not isinstance(event, IdleChanged):
            notifier.alive()
        listener(event)

    return heard
