"""A one-line field that completes like a shell: Tab takes the suggestion drawn after the
cursor (its suggester's), or moves on when there is none, as Tab does elsewhere. The file
path of an attachment (path_input) and an agent's handle (screens/agent_prompt) use it."""

from __future__ import annotations

from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.widgets import Input


class CompletingInput(Input):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("tab", "complete", "Complete", id="input.complete", show=False),
    ]

    def action_complete(self) -> None:
        # `_suggestion` is what Input draws after the cursor and what its right arrow takes.
        if self._suggestion and self._suggestion != self.value:
            self.value = self._suggestion
            self.cursor_position = len(self.value)
        else:
            self.screen.focus_next()
