"""The composer's attached files, one a line: the name, then its size and folder, dimmed.

The paths were typed by the agent, yet shown like any other text: `one_line`, as `Content`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import ClassVar

from textual.binding import Binding, BindingType
from textual.content import Content
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from deskterm.sanitize import one_line
from deskterm.widgets.message_view import human_size


class AttachmentList(OptionList):
    """The files attached so far; Delete removes the highlighted one (`remove_at(index)`)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("delete,backspace,x", "remove", "Remove the attachment", id="compose.detach"),
    ]

    def __init__(self, remove_at: Callable[[int], None], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.remove_at = remove_at

    def show(self, files: Iterable[tuple[str, int]]) -> None:
        """List the (path, size) of every attached file again; hidden while there is none."""
        self.clear_options()
        for path, size in files:
            where = Path(path)
            self.add_option(
                Option(
                    Content.assemble(
                        (one_line(where.name), "underline"),
                        (f" ({human_size(size)})  {one_line(str(where.parent))}", "dim"),
                    )
                )
            )
        self.set_class(not self.option_count, "-empty")

    def on_focus(self) -> None:
        if self.highlighted is None and self.option_count:
            self.highlighted = 0  # Delete must act on something visible

    def action_remove(self) -> None:
        if self.highlighted is not None:
            index = self.highlighted
            self.remove_at(index)
            if self.option_count:
                self.highlighted = min(index, self.option_count - 1)
