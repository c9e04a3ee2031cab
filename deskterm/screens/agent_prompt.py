"""Choosing an agent: who gets a conversation (`a`, for one or the marked ones), or who is at
this keyboard (asked once when the app starts on a desk that does not know).

Never free text: the desk's agents are listed (handle and name) and narrowed as you type,
the handle completes with Tab (the suggestion after the cursor), Down moves into the list
and Enter takes the highlighted agent; Enter in the field answers what was typed, which
`triage.assign` then checks (a handle, an address, `me`; empty for nobody). Names were typed
by people, so they are shown as `Content`, never as markup.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.suggester import SuggestFromList
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from deskterm.desk import agents
from deskterm.sanitize import one_line
from deskterm.screens.prompt import PromptScreen
from deskterm.widgets.completing_input import CompletingInput

NOBODY = ""  # the option that unassigns


class AgentPrompt(PromptScreen):
    """Returns a handle (or what was typed; "" for nobody), or None when cancelled."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="prompt.cancel"),
        Binding("down", "to_list", "The agents", id="agent_prompt.list", show=False),
    ]
    DEFAULT_CSS = """
    AgentPrompt #agents { height: auto; max-height: 10; border: none; padding: 0; }
    """

    def __init__(
        self, question: str, value: str = "", hint: str = "", *, nobody: bool = True
    ) -> None:
        super().__init__(question, value, hint)
        self.nobody = nobody
        self.agents = [(a.handle, one_line(a.name)) for a in agents.all_agents()]

    def compose(self) -> ComposeResult:
        handles = [handle for handle, _ in self.agents]
        with Vertical(classes="box"):
            yield Static(Content(self.question))
            yield CompletingInput(
                value=self.value,
                id="answer",
                suggester=SuggestFromList(handles, case_sensitive=False),
            )
            yield OptionList(*self._options(""), id="agents")
            if self.hint:
                yield Static(Content(self.hint), classes="hint")

    def on_mount(self) -> None:
        self.query_one("#answer", Input).focus()

    def _options(self, typed: str) -> list[Option]:
        """The agents whose handle or name starts with what was typed (all when nothing is),
        and "nobody" to unassign."""
        key = typed.strip().lstrip("@").lower()
        found = [
            Option(Content.assemble((handle.ljust(12), "bold"), " ", name), id=handle)
            for handle, name in self.agents
            if not key or handle.startswith(key) or name.lower().startswith(key)
        ]
        if self.nobody and (not key or "nobody".startswith(key)):
            found.append(Option(Content.styled("nobody (unassigned)", "italic"), id="-"))
        return found

    @on(Input.Changed, "#answer")
    def _narrow(self, event: Input.Changed) -> None:
        listing = self.query_one("#agents", OptionList)
        listing.clear_options()
        listing.add_options(self._options(event.value))

    def action_to_list(self) -> None:
        listing = self.query_one("#agents", OptionList)
        if listing.option_count:
            listing.focus()
            listing.highlighted = 0

    @on(OptionList.OptionSelected, "#agents")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        chosen = event.option.id or "-"
        self.dismiss(NOBODY if chosen == "-" else chosen)
