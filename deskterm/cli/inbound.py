"""`deskterm poll`, `jobs` and `skipped`: mail coming in, the runs that fetched it, and the
mail set aside."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TextIO

import click

from deskterm.cli.console import echo_json, handle_errors, json_option, open_existing_desk, say
from deskterm.cli.secrets import secret_store
from deskterm.engine.startup import open_desk
from deskterm.errors import DeskError
from deskterm.sanitize import one_line

if TYPE_CHECKING:
    from deskterm.engine.events import Event


@click.command("poll")
@click.option("--once", is_flag=True, help="Run one cycle and exit (non-zero if a channel failed).")
@click.option("--channel", "channel_name", help="Only this channel (with --once).")
@handle_errors
def poll(once: bool, channel_name: str | None) -> None:
    """Run the worker: fetch mail into conversations until stopped (Ctrl+C)."""
    import signal

    store = secret_store()
    store.unlock_ahead()  # the vault's key is derived while the rest starts up
    from deskterm.engine.flag import Flag
    from deskterm.engine.sd_notify import ServiceNotifier, heartbeat
    from deskterm.engine.worker import Worker

    open_desk()
    report = ProgressReport.for_stream(sys.stderr)
    systemd = ServiceNotifier()  # a no-op unless run by a Type=notify unit (`service install`)
    # A Flag, not a plain threading.Event: the signal handlers below set it (see Flag).
    worker = Worker(store=store, on_event=heartbeat(systemd, report), stop=Flag())

    def stop(*_: object) -> None:
        systemd.stopping()
        worker.request_stop()  # ends the sleep at once

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop)
    # Whichever thread the kernel hands the signal to, its byte wakes the loop's sleep.
    signal.set_wakeup_fd(worker.wake.signal_fd(), warn_on_full_buffer=False)
    if not once:
        if channel_name:
            raise DeskError("--channel works with --once; the worker polls every active channel.")
        report.log("deskterm: polling" + ("; stop with Ctrl+C." if report.live else "."))
        worker.run_forever()
        return
    try:
        # The same lock as the long-running worker, `deskterm send` and the app: a cron run
        # overlapping one of them is refused in one sentence instead of failing on the
        # database and counting toward the channel's max_tries.
        with worker.claim_desk(channel_name):
            runs = worker.run_once(channel_name)
    finally:
        worker.close()
    sys.exit(1 if any(run.error for run in runs) else 0)


# syslog levels (sd-daemon(3)'s SD_INFO, SD_NOTICE, SD_WARNING, SD_ERR), written `<N>` before
# a line for journald, which files the line at that level.
INFO, NOTICE, WARNING, ERROR = 6, 5, 4, 3


class ProgressReport:
    """Worker events for a person: one live line on a terminal, log lines otherwise.

    Each event is one line: the server's words in it (an error, an SMTP reply) are folded by
    one_line, so a reply spanning lines cannot print lines that look like the worker's own.
    Off a terminal (a log file, cron's mail, journald under `deskterm service install`) there
    are no redraws; to journald each line starts with its syslog level as sd-daemon(3) writes
    it (only there: a log file or cron's mail would show the `<6>` as noise).
    """

    def __init__(self, live: bool, levels: bool = False) -> None:
        self.live = live
        self.levels = levels and not live
        self.started: dict[str, float] = {}

    @classmethod
    def for_stream(cls, stream: TextIO) -> ProgressReport:
        return cls(live=cls.on_terminal(stream), levels=cls.on_journal(stream))

    @staticmethod
    def on_journal(stream: TextIO) -> bool:
        """Whether `stream` is journald's, which systemd names in JOURNAL_STREAM (device:inode,
        compared as systemd.exec(5) says)."""
        import os

        try:
            info = os.fstat(stream.fileno())
        except (OSError, ValueError):
            return False
        return os.environ.get("JOURNAL_STREAM") == f"{info.st_dev}:{info.st_ino}"

    @classmethod
    def on_terminal(cls, stream: TextIO) -> bool:
        """Whether `stream` is a terminal a person watches; the journal's stream never is,
        checked as well in case isatty is fooled."""
        try:
            if not stream.isatty():
                return False
        except (OSError, ValueError):
            return False
        return not cls.on_journal(stream)

    def __call__(self, event: Event) -> None:
        import time

        from deskterm.engine.events import (
            DeliveryResult,
            Note,
            Notice,
            RunFinished,
            SyncProgress,
        )

        match event:
            case SyncProgress(channel=channel, folder=folder, done=done, total=total):
                key = f"{channel}/{folder}"
                start = self.started.setdefault(key, time.monotonic())
                rate = done / max(time.monotonic() - start, 1e-6)
                line = f"{channel} {folder}: {done}/{total} ({rate:.0f} msg/s)"
                if self.live:
                    click.echo(f"\r{one_line(line)}\x1b[K", nl=False, err=True)  # ours: \r, erase
                elif done in (0, total) or done % 2000 < 500:
                    self.log(line)
            case RunFinished(channel=channel, run=run):
                if self.live:
                    click.echo("\r\x1b[K", nl=False, err=True)
                outcome = f"error: {run.error}" if run.error else "ok"
                self.log(
                    f"{channel}: fetched {run.fetched}, ingested {run.ingested}, skipped "
                    f"{run.skipped}, failed {run.failed}; {outcome}",
                    ERROR if run.error else INFO,
                )
            case DeliveryResult(state=state):
                level = {"sent": INFO, "queued": WARNING}.get(state, ERROR)
                self.log(f"#{event.conversation_id}: {event.summary}", level)
            case Notice(channel=channel, message=message) if message:
                self.log(f"{channel}: {message}", WARNING)
            case Note(channel=channel, message=message) if message:
                self.log(f"{channel}: {message}", NOTICE)

    def log(self, line: str, level: int = INFO) -> None:
        """One line on stderr; its level as a `<N>` prefix for journald."""
        text = one_line(line)
        say(f"<{level}>{text}" if self.levels else text, err=True)


@click.command("jobs")
@json_option
@click.option("--limit", default=20, show_default=True, help="Show the N most recent runs.")
@handle_errors
def jobs(as_json: bool, limit: int) -> None:
    """Recent poll runs and each channel's state."""
    from deskterm.desk import queries

    open_existing_desk()
    report = queries.job_report(limit)
    if as_json:
        echo_json(report)
        return
    for row in report["channels"]:
        say(f"{row['name']:<20} {row['state']:<12} {one_line(row['detail'])}")
    if report["runs"]:
        say("")
    for run in report["runs"]:
        error = f"  error: {one_line(run['error'])}" if run["error"] else ""
        say(
            f"{run['started_at']}  {run['channel'] or '-':<16} fetched {run['fetched']:>5}  "
            f"ingested {run['ingested']:>5}  skipped {run['skipped']:>4}  failed "
            f"{run['failed']:>3}{error}"
        )


@click.group("skipped", invoke_without_command=True)
@json_option
@click.option("--limit", default=100, show_default=True, help="Show the N most recent.")
@click.pass_context
@handle_errors
def skipped(ctx: click.Context, as_json: bool, limit: int) -> None:
    """Mail fetched but not turned into a conversation message, with the reason (its ID
    first); `deskterm skipped ingest ID` ingests one anyway."""
    if ctx.invoked_subcommand is not None:
        return
    from deskterm.desk import queries

    open_existing_desk()
    rows = queries.skipped_list(limit)
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        twin = row["twin_message"]
        reason = f"{row['reason']} of message {twin}" if twin else row["reason"]
        say(
            f"{row['id']:>6}  {row['channel']:<12} {one_line(reason)[:34]:<34} "
            f"{one_line(row['from'])[:28]:<28} {one_line(row['subject'])[:50]}"
        )


@skipped.command("ingest")
@click.argument("skipped_id", metavar="ID", type=int)
@json_option
@handle_errors
def ingest_anyway(skipped_id: int, as_json: bool) -> None:
    """Ingest skipped mail ID anyway (a real customer a filter took for a robot): threaded as
    usual, no acknowledgement sent; it leaves the skipped list. Needs its raw message kept."""
    from deskterm.inbound import rescue

    open_existing_desk()
    done = rescue.rescue(skipped_id)
    if as_json:
        echo_json(
            {
                "skipped_id": done.skipped_id,
                "conversation_id": done.conversation_id,
                "message_id": done.message_id,
                "was_skipped_for": done.reason,
            }
        )
        return
    say(
        f"Skipped mail {done.skipped_id} ingested as message {done.message_id} in conversation "
        f"#{done.conversation_id} (it had been skipped: {one_line(done.reason)})."
    )
