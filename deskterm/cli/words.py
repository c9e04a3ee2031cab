"""How the command line words the settings an engine sentence names (`{setting.KEY}` in a
`DeskError.naming` template): as the option that gives it. The TUI's words for the same keys
are its form labels (screens/words.py); the engine names only the key, so neither interface
rewrites the other's words.

A key means one setting across the commands (`type` is `--type` wherever it is given), so
one mapping serves them all.
"""

from __future__ import annotations

from deskterm.errors import DeskError

CLI_WORDS = {
    # `sla add`
    "first_response": "--first-response",
    "resolution": "--resolution",
    # `field add|edit`
    "choices": "--choice VALUE (once for each)",
    # `macro add`
    "status": "--status",
    "priority": "--priority",
    "tags": "--tags",
    "assign": "--assign",
    "type": "--type",
    "fields": "--field",
    "template": "--template",
    "send": "--send",
}


def cli_sentence(error: DeskError) -> str:
    """An engine's error as the CLI says it: the settings it names as options."""
    return error.worded(CLI_WORDS)
