"""The desk's agents: who they are, and which one is at this keyboard.

A team desk knows its agents by handle (see `Agent`): a conversation is assigned to one, a
note is written by one and mentions others. Which agent runs this app or command is
`DESKTERM_AGENT` (a handle or an address), else the agent whose login is this machine's login
name, else nobody: a desk with no agents (one person's SQLite desk) keeps working, and replies
are then signed with the login name.
"""

from __future__ import annotations

import getpass
import re

from deskterm import settings
from deskterm.errors import ConfigError, NotFound
from deskterm.mail import addresses
from deskterm.sanitize import one_line
from deskterm.store.models import Agent

HANDLE = re.compile(r"[a-z0-9][a-z0-9._-]{0,31}")
MAX_NAME = 100


def add(email: str, name: str, *, handle: str | None = None, login: str | None = None) -> Agent:
    """A new agent; the handle defaults to the address's local part (made free if taken)."""
    address = addresses.normal(email)
    if not addresses.valid(address):
        raise ConfigError(
            f"{one_line(email)!r} is not an email address; give one like sam@example.com."
        )
    shown = one_line(name)
    if not shown or len(shown) > MAX_NAME:
        raise ConfigError(f"An agent's name must be 1 to {MAX_NAME} characters long.")
    if Agent.select().where(Agent.email == address).exists():
        raise ConfigError(f"{address} is already an agent; `deskterm agent list` shows them.")
    if handle is None:
        handle = Agent.free_handle(address.partition("@")[0])
    else:
        handle = checked_handle(handle)
        if Agent.select().where(Agent.handle == handle).exists():
            raise ConfigError(f"The handle {handle!r} is taken; choose another with --handle.")
    if login is not None and Agent.select().where(Agent.login == login).exists():
        raise ConfigError(f"The login {login!r} is already another agent's.")
    return Agent.create(email=address, name=shown, handle=handle, login=login)


def checked_handle(text: str) -> str:
    handle = text.strip().lstrip("@").lower()
    if not HANDLE.fullmatch(handle):
        raise ConfigError(
            f"{one_line(text)!r} is not a handle; use up to 32 letters, digits, '.', '_' or '-'."
        )
    return handle


def all_agents() -> list[Agent]:
    return list(Agent.select().order_by(Agent.handle))


def get(who: str) -> Agent:
    """The agent with this handle or address (any case)."""
    key = who.strip().lstrip("@").lower()
    agent = Agent.get_or_none((Agent.handle == key) | (Agent.email == key))
    if agent is None:
        raise NotFound(f"No agent is called {one_line(who)!r}; `deskterm agent list` shows them.")
    return agent


def current() -> Agent | None:
    """The agent at this keyboard: DESKTERM_AGENT, else the one whose login is ours."""
    chosen = settings.current().agent
    if chosen:
        return get(chosen)
    login = getpass.getuser()
    return Agent.get_or_none((Agent.login == login) | (Agent.handle == login.lower()))


def any_agents() -> bool:
    return Agent.select().exists()


def display_name(agent: Agent | None = None) -> str:
    """How replies are signed ($agent_name): the agent's name, or the login name on a desk
    with no agents."""
    agent = agent or current()
    return agent.name if agent else getpass.getuser()


def handles() -> list[str]:
    return [h for (h,) in Agent.select(Agent.handle).order_by(Agent.handle).tuples()]
