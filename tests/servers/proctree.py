"""Processes read from /proc (no extra tools, works in a bare container): what a test of
`deskterm poll` measures (memory of the whole tree) or expects to end with it (nothing left
after a SIGKILL), and how the suite's server fixtures find and stop their own daemons."""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple


@dataclass(frozen=True)
class Proc:
    """A process as /proc showed it: its start time tells it from a later one with its pid."""

    pid: int
    started: int
    command: str


class Stat(NamedTuple):
    """The fields of /proc/<pid>/stat the tests read."""

    state: str  # R, S, D, Z (zombie), X (dead)...
    parent: int
    group: int  # process group
    started: int  # start time in clock ticks since boot


def stat(pid: int) -> Stat | None:
    """The process's stat fields, or None if there is no such process."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()  # the command name may hold spaces and ")"
    return Stat(fields[0], int(fields[1]), int(fields[2]), int(fields[19]))


def running(pid: int) -> bool:
    """True if pid runs. A zombie counts as gone: init may take seconds to reap orphans."""
    st = stat(pid)
    return st is not None and st.state not in "ZX"


def read_pid(pid_file: Path) -> int | None:
    """The pid a daemon wrote to its pid file (its first word), or None without a readable
    one. Whether that pid is still the daemon is the caller's to check."""
    try:
        return int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def signal_and_wait(pid: int, sig: int, within: float) -> bool:
    """Send sig to pid (gone already is fine) and wait up to `within` seconds for it to end.
    True if it has ended."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
    deadline = time.monotonic() + within
    while running(pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    return not running(pid)


def all_pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def group(pgrp: int) -> list[int]:
    """Live members of process group pgrp: a daemon that leads its own group and every child
    it forked."""
    return [
        pid
        for pid in all_pids()
        if (st := stat(pid)) is not None and st.group == pgrp and st.state not in "ZX"
    ]


def command_line(pid: int) -> str:
    """The process's arguments joined by spaces; empty once it is gone."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode("utf-8", "replace")


def environ(pid: int) -> dict[str, str]:
    """The environment the process started with (empty once it is gone)."""
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return {}
    pairs = (item.decode(errors="replace").partition("=") for item in raw.split(b"\0") if item)
    return {k: v for k, _, v in pairs}


def descendants(pid: int) -> list[Proc]:
    """The processes below pid: children, their children, and so on."""
    children: dict[int, list[int]] = {}
    for entry in all_pids():
        if (st := stat(entry)) is not None:
            children.setdefault(st.parent, []).append(entry)
    found: list[Proc] = []
    todo = list(children.get(pid, []))
    while todo:
        child = todo.pop()
        st = stat(child)
        if st is not None:
            found.append(Proc(child, st.started, command_line(child).strip()[:200] or "?"))
        todo.extend(children.get(child, []))
    return found


def alive(proc: Proc) -> bool:
    """Whether this very process still runs (a zombie has ended: it only waits to be reaped
    by whoever inherited it)."""
    st = stat(proc.pid)
    return st is not None and st.started == proc.started and st.state != "Z"


def survivors(procs: list[Proc], within: float) -> list[Proc]:
    """Those of procs still running after waiting up to `within` seconds for them to end."""
    deadline = time.monotonic() + within
    while True:
        left = [p for p in procs if alive(p)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def status_kb(pid: int, field: str) -> int:
    """A field of /proc/<pid>/status in kB (VmRSS, VmHWM); 0 once the process is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0
