"""The TUI's words for what the engine says: the sentences of its errors, written for the
CLI's users and for no interface in particular, as the TUI's users need them.

Two things are translated, each through one mapping: a `deskterm ...` command the TUI has a
key for becomes that key (`tui_words`), and a setting an error names by its key
(`{setting.first_response}`, errors.py `DeskError.naming`) becomes the label of the form
field that gives it (`TUI_WORDS`; the CLI words the same keys as options, cli/words.py).
Every screen shows an engine's refusal through `tui_sentence`; no screen matches sentences of
its own.
"""

from __future__ import annotations

import re

from deskterm.errors import DeskError
from deskterm.sanitize import one_line

# A setting's key, and the label of the form field that gives it (quoted, as the form shows
# it). A key means one setting in every form that has it (`type` in the SLA and macro forms).
TUI_WORDS = {
    "first_response": '"first response"',
    "resolution": '"resolution"',
    "choices": '"choices" (separated by commas)',
    "status": '"status"',
    "priority": '"priority"',
    "tags": '"tags"',
    "assign": '"assign"',
    "type": '"type"',
    "fields": '"fields"',
    "template": '"template"',
    "send": '"send"',
}

# The CLI command an engine sentence names, and what the TUI offers for it instead (a key).
# The engine keeps the CLI's words (its tests and the CLI print them); the TUI translates at
# the point it shows one. Keyed by "noun verb", or by the noun alone for the rest of its verbs.
_TUI_WAYS = {
    "channel secret": "the password box of the channel's form (e on the channel screen)",
    "channel auth": "O on the channel screen",
    "channel trust": "P on the channel screen",
    "channel test": "t on the channel screen",
    "channel edit": "the channel's form (e on the channel screen)",
    "channel add": "a on the channel screen",
    "channel list": "the channel screen (C)",
    "template list": "the templates screen (M in the list)",
    "template add": "a on the templates screen (M in the list)",
    "skipped": "the skipped-mail screen (S in the list)",
    "agent list": "the assign prompt (a)",
    "org list": "the organizations screen (U in the list)",
    "org domain": "press - on that organization's page (U in the list)",
    "type set": "F in the thread, then type NAME",
    "type list": "the F prompt in the thread",
    "time list": "the time entries (E in the thread)",
    "sla add": "a on the SLA policies (D in the list, then 2)",
}
# The command's words end at a non-word character: \w+ cannot give back what [^`]* would take,
# so a long unclosed "`deskterm channel xxx..." from a server costs linear, not quadratic, time.
_CLI_COMMAND = re.compile(r"`deskterm (\w+)(?: (\w+))?(?:[^`\w][^`]*)?`")


def _tui_way(match: re.Match[str]) -> str:
    noun, verb = match.group(1), match.group(2)
    return _TUI_WAYS.get(f"{noun} {verb}") or _TUI_WAYS.get(noun) or match.group(0)


def tui_words(sentence: str) -> str:
    """An engine sentence with each `deskterm ...` command the TUI has a key for replaced by
    that key."""
    return _CLI_COMMAND.sub(_tui_way, sentence)


def tui_sentence(error: BaseException | str) -> str:
    """What the TUI shows for an engine's error: its sentence on one line, naming the TUI's
    keys and form fields."""
    said = error.worded(TUI_WORDS) if isinstance(error, DeskError) else str(error)
    return one_line(tui_words(said))
