"""Errors a user may see.

Every failure that reaches a person (CLI, TUI) is a `DeskError` whose message is one sentence
saying what went wrong and what to do. Anything else escaping is a bug, not a user error.
"""

from __future__ import annotations


class DeskError(Exception):
    """A failure with a message fit to show a user as it is."""


class ConfigError(DeskError):
    """A channel file, setting or environment variable is invalid."""


class SecretError(DeskError):
    """A secret could not be stored or read (no secure keyring, wrong vault passphrase, ...)."""


class NotFound(DeskError):
    """A named thing (channel, conversation, ...) does not exist."""


class AuthError(DeskError):
    """A server refused our credentials: retrying will not help until they are fixed."""
