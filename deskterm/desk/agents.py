"""The desk's agents: who they are, and which one is at this keyboard.

A team desk knows its agents by handle (see `Agent`): a conversation is assigned to one, a
note is written by one and mentions others. Which agent runs this app or command is
`DESKTERM_AGENT` (a handle or an address), else the one chosen on this machine for this desk
(the app asks once, `remember`), else the agent whose login is this machine's login name,
else nobody: a desk with no agents (one person's SQLite desk) keeps working, and replies are
then signed with the login name.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import json
import re
from pathlib import Path

import peewee

from deskterm import paths, settings
from deskterm.errors import ConfigError, NotFound
from deskterm.mail import addresses
from deskterm.sanitize import one_line
from deskterm.store.db import database
from deskterm.store.models import Agent, Conversation

HANDLE = re.compile(r"[a-z0-9][a-z0-9._-]{0,31}")
MAX_NAME = 100
# Words that mean someone else wherever a handle is typed (`assign 42 me`, `assignee:none`),
# so no agent may be called so.
ME = "me"
NOBODY = ("none", "nobody")
RESERVED = (ME, *NOBODY)
HOW_TO_BE_ONE = (
    "you are not one of this desk's agents; set DESKTERM_AGENT to your handle "
    "(`deskterm agent list` shows them)"
)


def add(
    email: str,
    name: str,
    *,
    handle: str | None = None,
    login: str | None = None,
    admin: bool = False,
) -> Agent:
    """A new agent; the handle defaults to the address's local part (made free if taken).
    Adding one is an admin's part (`may_administer`): an agent added may assign, reply and be
    invited, so a non-admin adding themselves a colleague would bypass the admins. A desk
    with no admin yet lets anyone, which is how a desk is set up."""
    require_admin("make an agent an admin" if admin else "add agents")
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
        local = address.partition("@")[0]
        handle = Agent.free_handle(f"{local}-1" if local.lower() in RESERVED else local)
    else:
        handle = checked_handle(handle)
        if Agent.select().where(Agent.handle == handle).exists():
            raise ConfigError(f"The handle {handle!r} is taken; choose another with --handle.")
    if login is not None and Agent.select().where(Agent.login == login).exists():
        raise ConfigError(f"The login {login!r} is already another agent's.")
    agent = Agent.create(email=address, name=shown, handle=handle, login=login, admin=admin)
    forget()  # the new agent may be the one whose login is ours
    return agent


def checked_handle(text: str) -> str:
    handle = text.strip().lstrip("@").lower()
    if not HANDLE.fullmatch(handle):
        raise ConfigError(
            f"{one_line(text)!r} is not a handle; use up to 32 letters, digits, '.', '_' or '-'."
        )
    if handle in RESERVED:
        raise ConfigError(
            f"{handle!r} means someone else wherever a handle is typed; choose another."
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


# --- the agent at this keyboard, read once per process ------------------------------------
# current() is asked on hot paths (every reply, note, presence beat, the list's `me`): it
# read agent.json and queried the database each time. It is kept per process, under a key
# of everything it was read from that can change without the desk knowing (the variables,
# agent.json's stat, which database); a change of the agents themselves is told by
# `forget`: this module's own writers call it, and an app calls it when it hears that
# another connection changed the desk's agents (store/live.py).
_Key = tuple[object, ...]
_known: tuple[_Key, Agent | None] | None = None
reads = 0  # how many times current() read its sources: what the tests count


def forget() -> None:
    """The agents changed (added, removed, renamed, made admin, chosen): read again."""
    global _known
    _known = None


def _key() -> _Key:
    chosen = settings.current()
    try:
        found = chosen_file().stat()
        stamp: tuple[int, int, int] | None = (found.st_mtime_ns, found.st_size, found.st_ino)
    except OSError:
        stamp = None
    db = database.obj
    return (chosen.agent, chosen.database_url, id(db), getattr(db, "database", None), stamp)


def current() -> Agent | None:
    """The agent at this keyboard: DESKTERM_AGENT, else the one chosen on this machine for
    this desk (`remember`), else the one whose login is ours. Read once until one of its
    sources changes or `forget` is called; a DESKTERM_AGENT naming nobody raises each time."""
    global _known, reads
    key = _key()
    known = _known
    if known is not None and known[0] == key:
        return known[1]
    reads += 1
    agent = _read_current()
    _known = (key, agent)
    return agent


def _read_current() -> Agent | None:
    chosen = settings.current().agent
    if chosen:
        return get(chosen)
    remembered = _remembered().get(_desk_key())
    if remembered:  # an agent removed since is forgotten: the app then asks again
        agent = Agent.get_or_none(Agent.handle == remembered)
        if agent is not None:
            return agent
    login = getpass.getuser()
    return Agent.get_or_none((Agent.login == login) | (Agent.handle == login.lower()))


def me() -> Agent:
    """The agent at this keyboard, for "assign to me": one sentence when there is none."""
    agent = current()
    if agent is None:
        raise ConfigError(f'There is no "me" here: {HOW_TO_BE_ONE}.')
    return agent


def assignee(who: str | None) -> str | None:
    """What a conversation's assignee becomes for what was typed: an agent's handle (by
    handle, `@handle` or address, any case; `me` is the agent at this keyboard), or None
    for nobody (empty, `none`, `nobody`). Anything else is refused: never free text."""
    key = (who or "").strip().lstrip("@").lower()
    if not key or key in NOBODY:
        return None
    return me().handle if key == ME else get(who or "").handle


def remove(who: str) -> int:
    """Remove an agent: their conversations become unassigned, their notes stay (without an
    author), their mentions and presence go. Returns how many conversations were theirs.
    An admin's part; the last admin stays (`_keep_an_admin`)."""
    require_admin("remove agents")
    agent = get(who)
    with database.atomic():
        _keep_an_admin(agent, "remove")
        freed = (
            Conversation.update(assignee=None)
            .where(Conversation.assignee == agent.handle)
            .execute()
        )
        # Notes: SET NULL, mentions: CASCADE (schema); presence: CASCADE on PostgreSQL, and
        # on SQLite (its own file, store/presence_file.py) the rows drop out of `others`.
        agent.delete_instance()
    forget()
    return freed


# --- the choice remembered on this machine ---------------------------------------------------


def chosen_file() -> Path:
    """Which agent this machine's person is, per desk (the app asks once): owner-only, like
    every file of the desk's home, and not in the database, which other machines share."""
    return paths.home() / "agent.json"


def remember(agent: Agent) -> None:
    """This machine's person is `agent` on this desk, from now on (DESKTERM_AGENT still wins)."""
    chosen = _remembered()
    chosen[_desk_key()] = agent.handle
    paths.replace_private(chosen_file(), json.dumps(chosen, indent=2).encode())
    forget()


def _remembered() -> dict[str, str]:
    with contextlib.suppress(OSError, ValueError):
        found = json.loads(chosen_file().read_text(encoding="utf-8"))
        if isinstance(found, dict):
            return {str(k): str(v) for k, v in found.items()}
    return {}  # missing or edited into nonsense: as if nothing was chosen (the app asks)


def _desk_key() -> str:
    """Which desk the choice is for: the embedded one, or a digest of the shared database's
    URL (never the URL itself, which may hold a password)."""
    url = settings.current().database_url
    return "embedded" if not url else hashlib.sha256(url.encode()).hexdigest()[:16]


# --- admins --------------------------------------------------------------------------------


def may_administer() -> bool:
    """Whether the person at this keyboard may do an admin's part: define conversation types
    and their fields, and change a field restricted to admins.

    On a desk without agents, whoever runs it (it is one person's desk). On a team desk that
    has named no admin yet, every agent (nobody has been chosen to hold the part); once one
    agent is an admin (`deskterm agent add --admin`, `deskterm agent admin HANDLE`), only the
    agents marked so. This is the desk's policy, not a lock: anyone who can write the
    database can change anything in it, which is what the database's own roles guard.
    """
    if not Agent.select().where(Agent.admin == True).exists():  # noqa: E712 (SQL)
        return True
    agent = current()
    return agent is not None and bool(agent.admin)


def require_admin(what: str) -> None:
    """One sentence when `may_administer` says no: what was refused and how to be an admin."""
    if not may_administer():
        raise ConfigError(
            f"Only an admin may {what}; set DESKTERM_AGENT to an admin's handle "
            "(`deskterm agent list` shows who is one)."
        )


def set_admin(who: str, admin: bool = True) -> Agent:
    """Make an agent an admin, or no longer one (an admin's task). With no admin left, every
    agent is one again, as on a desk that never named one."""
    require_admin("change who is an admin")
    agent = get(who)
    with database.atomic():
        if not admin:
            _keep_an_admin(agent, "demote")
        agent.admin = admin
        agent.save()
    forget()
    return agent


def _keep_an_admin(agent: Agent, what: str) -> None:
    """Refuse to remove or demote the desk's only admin: with none left every agent would
    be one again (`may_administer`), so a demotion would hand the desk to everyone. Called
    in the change's transaction; on PostgreSQL the admins' rows are locked, so two admins
    demoting each other at once cannot both pass (the second waits, then counts one)."""
    if not agent.admin:
        return
    admins = Agent.select(Agent.id).where(Agent.admin == True)  # noqa: E712 (SQL)
    if isinstance(database.obj, peewee.PostgresqlDatabase):
        admins = admins.for_update()  # SQLite has no FOR UPDATE: its writers are serialized
    if len(list(admins)) <= 1:
        raise ConfigError(
            f"{agent.handle} is the desk's only admin, so you cannot {what} them; make another "
            f"agent an admin first (`deskterm agent admin HANDLE`)."
        )


def any_agents() -> bool:
    return Agent.select().exists()


def display_name(agent: Agent | None = None) -> str:
    """How replies are signed ($agent_name): the agent's name, or the login name on a desk
    with no agents."""
    agent = agent or current()
    return agent.name if agent else getpass.getuser()


def handles() -> list[str]:
    return [h for (h,) in Agent.select(Agent.handle).order_by(Agent.handle).tuples()]
