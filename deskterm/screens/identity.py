"""Who is at this keyboard: on a desk that has agents, an app whose agent is unknown (no
DESKTERM_AGENT, no choice remembered, no agent with this login) asks once, from the list of
agents, and remembers the answer for this machine and desk (`agents.remember`). A desk
without agents asks nothing: one person's desk works as it always did."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from deskterm.desk import agents
from deskterm.sanitize import one_line
from deskterm.screens.agent_prompt import AgentPrompt

if TYPE_CHECKING:
    from deskterm.app import DeskApp

QUESTION = "Which agent are you? (remembered on this machine for this desk)"
HINT = "Tab completes a handle, ↓ picks from the list. Esc: ask again next time."


def ask_who_if_unknown(desk: DeskApp) -> None:
    with desk.reporting("find out which agent you are"):
        if not agents.any_agents() or agents.current() is not None:
            return
        desk.push_screen(AgentPrompt(QUESTION, "", HINT, nobody=False), _chosen(desk))


def _chosen(desk: DeskApp) -> Callable[[str | None], None]:
    def answered(answer: str | None) -> None:
        if not answer:
            return
        with desk.reporting("remember which agent you are"):
            agent = agents.get(answer)
            agents.remember(agent)
            desk.notify(
                f"You are {agent.handle} ({one_line(agent.name)}) on this desk from now on.",
                markup=False,
            )

    return answered
