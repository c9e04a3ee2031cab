"""The Textual application (placeholder until the UI lands)."""

from __future__ import annotations


def run_app() -> None:
    from deskterm.errors import DeskError

    raise DeskError("The terminal UI is not built yet; use the CLI (`deskterm --help`).")
