"""Commands that open the terminal UI: the desk itself and the demo desk."""

from __future__ import annotations

import click


def register(main: click.Group) -> None:
    """Add the UI's commands to the `deskterm` group (kept apart from the engine's CLI)."""
