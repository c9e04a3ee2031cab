"""Errors a user may see.

Every failure that reaches a person (CLI, TUI) is a `DeskError` whose message is one sentence
saying what went wrong and what to do. Anything else escaping is a bug, not a user error.

A sentence that tells the user which of their settings to give or fix (a policy's
first-response target, a field's choices) names the setting by its key, not by how one
interface spells it: `ConfigError.naming("give {setting.first_response} ...", ...)`. Each
interface words those keys once, in its own mapping (the CLI its options, `cli/words.py`;
the TUI its form labels, `screens/words.py`), through `worded`; `str()` gives the keys as
they are (logs, the worker).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Self


class _Words:
    """`{setting.NAME}` in a template: NAME as an interface words it (itself if unmapped)."""

    def __init__(self, words: Mapping[str, str]) -> None:
        self._words = words

    def __getattr__(self, name: str) -> str:
        return self._words.get(name, name)


class DeskError(Exception):
    """A failure with a message fit to show a user as it is."""

    template: str | None = None  # set by `naming`: the sentence with its settings unworded
    values: Mapping[str, object] = {}

    @classmethod
    def naming(cls, template: str, **values: object) -> Self:
        """An error whose sentence names settings as `{setting.KEY}`; its other `{NAME}`s
        are `values` (text from mail or a user goes there, never into `template`, so a
        brace in it is never read as a setting)."""
        error = cls(template.format(setting=_Words({}), **values))
        error.template, error.values = template, dict(values)
        return error

    def worded(self, words: Mapping[str, str]) -> str:
        """The sentence with each setting it names in an interface's words."""
        if self.template is None:
            return str(self)
        return self.template.format(setting=_Words(words), **self.values)


class ConfigError(DeskError):
    """A channel file, setting or environment variable is invalid."""


class SecretError(DeskError):
    """A secret could not be stored or read (no secure keyring, wrong vault passphrase, ...)."""


class NotFound(DeskError):
    """A named thing (channel, conversation, ...) does not exist."""


class AuthError(DeskError):
    """A server refused our credentials: retrying will not help until they are fixed."""
