"""A one-line field for a file's path that completes like a shell: Tab takes the suggestion.

The completion itself is `composer.complete_path` (plain Python, tested without a terminal);
it reads the file system, so it runs in a thread and never holds the UI up on a slow or
network mount. Results are not cached: the folder may change while the composer is open.
"""

from __future__ import annotations

import asyncio
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.suggester import Suggester

from deskterm.outbound import composer
from deskterm.widgets.completing_input import CompletingInput


class PathSuggester(Suggester):
    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        return await asyncio.to_thread(composer.complete_path, value)


class PathInput(CompletingInput):
    """Tab completes the shown suggestion, or moves on when there is none (as Tab does)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "complete", "Complete the path", id="path.complete", show=False),
    ]

    def __init__(self, *, placeholder: str = "", id: str | None = None) -> None:
        super().__init__(placeholder=placeholder, id=id, suggester=PathSuggester())
