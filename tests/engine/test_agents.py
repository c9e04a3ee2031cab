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
