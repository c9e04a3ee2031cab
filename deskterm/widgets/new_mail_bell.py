"""Telling the agent that new mail arrived: the terminal bell or a desktop notification.

Off by default; `DESKTERM_NEW_MAIL` (see `deskterm.settings`) switches it on:
- `bell`: the terminal's bell (BEL), which most terminals turn into a sound, a flash or an
  urgency hint on the window;
- `osc9`: `ESC ] 9 ; text ST`, a desktop notification in iTerm2, WezTerm, Windows Terminal,
  kitty, foot, ...;
- `osc777`: `ESC ] 777 ; notify ; title ; text ST`, the same in urxvt, VTE terminals (GNOME
  Terminal, Tilix), Ghostty, ...

The app hears new mail from the worker: a poll that ingested mail ends with `RunFinished`
(`run.ingested`). The text names the channel and the newest subject, and a subject is
mail, so hostile: it goes through `sanitize.one_line` (every control sequence dropped), and
then every character that could end the OSC string or start another one (BEL, ESC, C1 such as
ST U+009C) is removed, as is `;` (OSC 777's field separator), so nothing from a mail can reach
the terminal as a sequence of its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from deskterm import settings
from deskterm.sanitize import one_line
from deskterm.store.models import Channel, Conversation, Message

TITLE = "deskterm"
MAX_TEXT = 160  # characters of the notification text: a desktop pop-up, not the mail
# Anything that can end an OSC string or begin another: C0 (BEL, ESC, ...), DEL and C1 (ST).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f;]")
ST = "\x1b\\"  # the String Terminator that ends our OSC sequences


def safe_text(text: str) -> str:
    """`text` as one plain line that cannot end or start a terminal sequence."""
    line = _UNSAFE.sub(" ", one_line(text))
    line = " ".join(line.split())
    return line if len(line) <= MAX_TEXT else line[: MAX_TEXT - 1] + "…"


def message_text(channel: str, count: int, subject: str | None) -> str:
    """What the notification says: how many new mails on which channel, the newest subject."""
    mails = "a new mail" if count == 1 else f"{count} new mails"
    text = f"{mails} on {channel}"
    if subject:
        text += f": {subject}"
    return safe_text(text)


def sequence(mode: str, text: str) -> str:
    """What is written to the terminal for `text` (already safe) in `mode` ("" for off)."""
    if mode == "bell":
        return "\a"
    if mode == "osc9":
        return f"\x1b]9;{text}{ST}"
    if mode == "osc777":
        return f"\x1b]777;notify;{TITLE};{text}{ST}"
    return ""


def newest_subject(channel: str) -> str | None:
    """The subject of the newest mail received on `channel` (None: there is none)."""
    row = (
        Message.select(Message.subject)
        .join(Conversation)
        .join(Channel)
        .where(Channel.name == channel, Message.direction == "in")
        .order_by(Message.id.desc())
        .first()
    )
    return row.subject if row is not None else None


class NewMailBell:
    """Rings (or notifies) once per poll that brought new mail, if the setting asks for it."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self.write = write  # writes straight to the terminal (the app's driver)

    def heard(self, channel: str, ingested: int) -> str:
        """A poll of `channel` ingested `ingested` mails; returns what was written ("")."""
        mode = settings.current().new_mail
        if mode == "off" or ingested <= 0:
            return ""
        subject = newest_subject(channel) if mode != "bell" else None
        written = sequence(mode, message_text(channel, ingested, subject))
        self.write(written)
        return written
