"""The desk-wide commands: the screens any screen reaches (`app.channels`, `app.policies`, ...
in the screens' bindings), `?` for the keys, and the command palette that lists them.

Apart from `app.py` so the app itself stays about starting, stopping, toasts and errors;
`DeskApp` mixes in `DeskCommands`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from textual.app import SystemCommand
from textual.screen import Screen

from deskterm.screens.base import DeskScreen
from deskterm.screens.help import HelpScreen, binding_rows

if TYPE_CHECKING:
    from deskterm.engine.worker import Worker
    from deskterm.screens.unlock import TuiSecrets


class DeskCommands:
    """Mixed into `DeskApp`, which has the session's `secrets`, `engine`, `open_secrets` and
    `poll_now` (app_session.DeskSession) and Textual's screen stack."""

    secrets: TuiSecrets
    engine: Worker | None

    def action_channels(self) -> None:
        from deskterm.screens.channels import ChannelsScreen

        self.push_screen(ChannelsScreen())

    def action_reports(self) -> None:
        from deskterm.screens.reports import ReportsScreen

        self.push_screen(ReportsScreen())

    def action_templates(self) -> None:
        from deskterm.screens.templates import TemplatesScreen

        self.push_screen(TemplatesScreen())

    def action_organizations(self) -> None:
        from deskterm.screens.organizations import OrganizationsScreen

        self.push_screen(OrganizationsScreen())

    def action_policies(self, tab: str = "rules") -> None:
        from deskterm.screens.policies import policy_screen

        self.push_screen(policy_screen(tab))

    def action_worker(self) -> None:
        from deskterm.screens.worker_status import WorkerStatusScreen

        self.push_screen(WorkerStatusScreen())

    def unlock_vault(self) -> None:
        self.open_secrets(again=True)

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(binding_rows(self.screen)))

    # --- command palette ---------------------------------------------------------------

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        # Not Textual's defaults (its own Keys panel, Theme, Maximize, Screenshot): the palette
        # says what deskterm does, once, in deskterm's words (issue 14).
        yield SystemCommand("Keys", "Every key that works here", self.action_help)
        yield SystemCommand("Quit", "Leave deskterm (ctrl+q)", self.action_quit)
        yield SystemCommand("Channels", "Add, edit and test channels", self.action_channels)
        yield SystemCommand(
            "Templates", "Canned replies with $variables: add, edit, remove", self.action_templates
        )
        yield SystemCommand(
            "Organizations",
            "Customers by mail domain: their contacts and conversations",
            self.action_organizations,
        )
        yield SystemCommand(
            "Routing rules",
            "Desk policies: what new mail gets before an agent sees it (D)",
            self.action_policies,
        )
        yield SystemCommand(
            "SLA policies",
            "Desk policies: response targets and business hours",
            lambda: self.action_policies("sla"),
        )
        yield SystemCommand(
            "Macros",
            "Desk policies: named sets of actions (x applies one)",
            lambda: self.action_policies("macros"),
        )
        yield SystemCommand(
            "Types and fields",
            "Desk policies: conversation types and their custom fields",
            lambda: self.action_policies("types"),
        )
        yield SystemCommand(
            "Reports", "Volume, response times, backlog, time spent (R)", self.action_reports
        )
        yield SystemCommand(
            "Worker status", "Channel states, recent runs; pause, poll now", self.action_worker
        )
        if self.secrets.locked:
            yield SystemCommand(
                "Unlock the vault", "Give the passphrase skipped at start", self.unlock_vault
            )
        if self.engine is not None:
            yield SystemCommand("Poll now", "Fetch new mail from every channel", self.poll_now)
        if isinstance(screen, DeskScreen):
            yield from screen.palette_commands()

    if TYPE_CHECKING:  # what the app provides
        screen: Screen[Any]

        def push_screen(self, screen: Screen[Any]) -> Any: ...
        def open_secrets(self, again: bool = False) -> None: ...
        def poll_now(self, channel_id: int | None = None, name: str = "") -> None: ...
        async def action_quit(self) -> None: ...
