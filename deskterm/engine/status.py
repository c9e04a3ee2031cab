"""The worker as the UI's worker screen shows it: each channel's state, IDLE and next poll.

A read model over the channels and, when this process runs one, its worker; the screen reads
it in a thread and never touches the worker itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from deskterm.channels import leaders
from deskterm.channels import registry as channels
from deskterm.channels.health import channel_state, eligible

if TYPE_CHECKING:  # the screen reads rows without loading the worker's IMAP, POP3 and SMTP
    from deskterm.engine.worker import Worker


def status_rows(engine: Worker | None) -> list[dict[str, object]]:
    """Each channel as the UI's worker screen shows it: its state, IDLE and next poll.

    `engine` is the worker running in this process, if any; without it (a separate
    `deskterm poll` does the work) IDLE and the next poll are unknown (None), as they are for
    a channel another worker leads on a team desk. `led_here` is whether this process's
    worker leads the channel; when it runs one and does not (a team desk's channel that
    another worker leads, or whose secrets this machine lacks), `detail` says why not in the
    leadership's words, which is what the agent needs rather than the channel's health.
    `leader` is who leads the channel (channels.leaders), `leader_text` the same in words.
    """
    rows: list[dict[str, object]] = []
    leads = leaders.of_channels()
    for channel in channels.all_channels():
        state, detail = channel_state(channel)
        known = engine is not None and engine.lead.holding(channel)
        if engine is not None and not known and channel.status == "active":
            detail = engine.lead.why_not(channel)
        rows.append(
            {
                "id": channel.id,
                "name": channel.name,
                "state": state,
                "detail": detail,
                "paused": channel.paused,
                "led_here": known,
                "idle": engine.idle_status(channel.id) if known else None,
                "next_run": engine.next_run(channel.id) if known and eligible(channel) else None,
                "leader": leads[channel.id],
                "leader_text": leaders.in_words(leads[channel.id]),
            }
        )
    return rows
