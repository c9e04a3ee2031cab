"""The desk's agents: added by address with a handle, and which one is at this keyboard."""

from __future__ import annotations

import getpass

import pytest

from deskterm.desk import agents
from deskterm.errors import ConfigError, NotFound
from deskterm.store import connection


@pytest.fixture(autouse=True)
def _desk() -> None:
    connection.open_database()


def test_an_agent_gets_the_address_local_part_as_handle_made_free_if_taken() -> None:
    sam = agents.add("Sam.Lee@Desk.example", "Sam Lee")
    other = agents.add("sam.lee@other.example", "Sam Lee (nights)")
    assert (sam.email, sam.handle, sam.name) == ("sam.lee@desk.example", "sam.lee", "Sam Lee")
    assert other.handle == "sam.lee-2"
    assert agents.handles() == ["sam.lee", "sam.lee-2"]
    assert agents.get("@SAM.LEE").id == sam.id
    assert agents.get("sam.lee@desk.example").id == sam.id


@pytest.mark.parametrize(
    ("email", "name", "handle", "refused"),
    [
        ("not an address", "Sam", None, "not an email address"),
        ("sam@desk.example", "", None, "1 to 100 characters"),
        ("sam@desk.example", "x" * 101, None, "1 to 100 characters"),
        ("sam@desk.example", "Sam", "no spaces", "not a handle"),
        ("sam@desk.example", "Sam", "@" + "s" * 33, "not a handle"),
    ],
)
def test_what_is_not_an_agent_is_refused(
    email: str, name: str, handle: str | None, refused: str
) -> None:
    with pytest.raises(ConfigError, match=refused):
        agents.add(email, name, handle=handle)
    assert agents.handles() == []


def test_the_same_address_handle_or_login_is_not_given_twice() -> None:
    agents.add("sam@desk.example", "Sam", handle="sam", login="sam")
    with pytest.raises(ConfigError, match="already an agent"):
        agents.add("SAM@desk.example", "Sam again")
    with pytest.raises(ConfigError, match="handle 'sam' is taken"):
        agents.add("samuel@desk.example", "Samuel", handle="Sam")
    with pytest.raises(ConfigError, match="already another agent's"):
        agents.add("samuel@desk.example", "Samuel", login="sam")


def test_a_name_from_a_mail_or_a_terminal_is_one_plain_line() -> None:
    agent = agents.add("kim@desk.example", "Kim\x1b[2J\nLee")
    assert "\x1b" not in agent.name and "\n" not in agent.name


def test_the_agent_at_the_keyboard_is_deskterm_agent_else_the_login(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert agents.current() is None
    assert agents.display_name() == getpass.getuser()  # a desk without agents signs as before
    kim = agents.add("kim@desk.example", "Kim", login=getpass.getuser())
    assert agents.current() == kim and agents.display_name() == "Kim"
    sam = agents.add("sam@desk.example", "Sam")
    monkeypatch.setenv("DESKTERM_AGENT", "sam@DESK.example")
    assert agents.current() == sam
    monkeypatch.setenv("DESKTERM_AGENT", "nobody")
    with pytest.raises(NotFound, match="No agent is called 'nobody'"):
        agents.current()


def test_the_agent_at_the_keyboard_is_read_once_until_something_it_came_from_changes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from deskterm.store.db import database

    kim = agents.add("kim@desk.example", "Kim Lee", handle="kim")
    agents.add("sam@desk.example", "Sam Berg", handle="sam")
    monkeypatch.setattr(getpass, "getuser", lambda: "nobody-here")
    agents.remember(kim)
    queries: list[str] = []
    real = database.obj.execute_sql

    def counted(sql: str, params: object = None) -> object:
        queries.append(sql)
        return real(sql, params)

    monkeypatch.setattr(database.obj, "execute_sql", counted)
    start = agents.reads
    assert agents.current().handle == "kim"
    assert (agents.reads, len(queries)) == (start + 1, 1)
    for _ in range(50):  # every reply, note and beat asks again: no file read, no query
        assert agents.current().handle == "kim"
    assert (agents.reads, len(queries)) == (start + 1, 1)

    monkeypatch.setenv("DESKTERM_AGENT", "sam")  # the variable wins, and is read again
    assert agents.current().handle == "sam"
    monkeypatch.delenv("DESKTERM_AGENT")
    assert agents.current().handle == "kim"
    before = agents.reads
    agents.chosen_file().write_text("{}")  # agent.json edited by hand: read again
    assert agents.current() is None and agents.reads == before + 1

    agents.remember(kim)
    agents.set_admin("kim")  # a change through this module is told at once
    assert agents.current().admin is True
    agents.set_admin("sam")  # kim, the only admin, could not be removed
    agents.remove("kim")
    assert agents.current() is None


def test_forget_makes_a_change_by_another_connection_seen(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the app does when it hears the desk's agents changed (DeskApp, store/live.py)."""
    from deskterm.store.models import Agent

    monkeypatch.setenv("DESKTERM_AGENT", "kim")
    agents.add("kim@desk.example", "Kim Lee", handle="kim")
    assert agents.current().name == "Kim Lee"
    Agent.update(name="Kim Lee-Park").where(Agent.handle == "kim").execute()
    assert agents.current().name == "Kim Lee"  # kept: nothing said the agents changed
    agents.forget()
    assert agents.current().name == "Kim Lee-Park"


@pytest.fixture
def team(engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A desk on each engine (tests/conftest.py `engine`) whose admin is kim; sam is not one
    and is at the keyboard."""
    connection.open_database()
    agents.add("kim@desk.example", "Kim Lee", handle="kim", admin=True)
    monkeypatch.setenv("DESKTERM_AGENT", "kim")
    agents.add("sam@desk.example", "Sam Roe", handle="sam")
    monkeypatch.setenv("DESKTERM_AGENT", "sam")


def test_a_desk_with_no_admin_yet_lets_anyone_set_it_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DESKTERM_AGENT", raising=False)
    agents.add("kim@desk.example", "Kim Lee", handle="kim")
    monkeypatch.setenv("DESKTERM_AGENT", "kim")
    agents.add("sam@desk.example", "Sam Roe", handle="sam")
    assert agents.remove("sam") == 0
    assert agents.set_admin("kim").admin is True


def test_only_an_admin_adds_removes_invites_and_names_admins(
    team: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from deskterm.outbound import invitations

    refusals = {
        "add agents": lambda: agents.add("eve@desk.example", "Eve"),
        "make an agent an admin": lambda: agents.add("eve@desk.example", "Eve", admin=True),
        "remove agents": lambda: agents.remove("kim"),
        "invite agents": lambda: invitations.invite("sam"),
        "change who is an admin": lambda: agents.set_admin("sam"),
    }
    for what, attempt in refusals.items():
        with pytest.raises(ConfigError, match=f"^Only an admin may {what}; set DESKTERM_AGENT"):
            attempt()
    assert [(a.handle, a.admin) for a in agents.all_agents()] == [("kim", True), ("sam", False)]
    monkeypatch.setenv("DESKTERM_AGENT", "kim")
    eve = agents.add("eve@desk.example", "Eve")
    assert agents.set_admin("sam").admin is True
    assert agents.remove(eve.handle) == 0


def test_the_last_admin_is_neither_removed_nor_demoted(
    team: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DESKTERM_AGENT", "kim")
    only = "^kim is the desk's only admin, so you cannot {} them; make another agent an admin"
    with pytest.raises(ConfigError, match=only.format("remove")):
        agents.remove("kim")
    with pytest.raises(ConfigError, match=only.format("demote")):
        agents.set_admin("kim", False)
    assert agents.get("kim").admin is True
    agents.set_admin("sam")
    assert agents.set_admin("kim", False).admin is False  # sam is still one
    monkeypatch.setenv("DESKTERM_AGENT", "sam")
    assert agents.remove("kim") == 0
    with pytest.raises(ConfigError, match=only.replace("kim", "sam").format("remove")):
        agents.remove("sam")
    assert [(a.handle, a.admin) for a in agents.all_agents()] == [("sam", True)]
