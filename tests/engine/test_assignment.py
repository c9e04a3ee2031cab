"""Assignment (issue 15): a conversation goes to one of the desk's agents or to nobody, never
to free text; `me` is the agent at this keyboard; the Mine / Unassigned / All filter; and
removing an agent, whose conversations become unassigned and whose notes keep their text."""

from __future__ import annotations

import getpass

import pytest

from deskterm.desk import agents, filters, list_index, triage
from deskterm.desk.undo import History
from deskterm.errors import ConfigError, NotFound
from deskterm.store.models import Conversation, Note

FIRST = 1  # "Where is my order #48213?": open, normal, unassigned

pytestmark = pytest.mark.usefixtures("demo_desk")  # agents sam, alex and kim


@pytest.fixture(autouse=True)
def _nobody_at_the_keyboard(demo_desk: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DESKTERM_AGENT", raising=False)


def assignee() -> str | None:
    return Conversation.get_by_id(FIRST).assignee


def test_an_agent_is_found_by_handle_at_handle_or_address_and_stored_by_handle() -> None:
    assert triage.assign(FIRST, "ALEX") == "alex"
    assert triage.assign(FIRST, "@sam") == "sam"
    assert triage.assign(FIRST, "Kim@Acme.Example") == "kim"
    assert assignee() == "kim"
    for nobody in ("", None, "none", "Nobody"):
        triage.assign(FIRST, "kim")
        assert triage.assign(FIRST, nobody) is None
        assert assignee() is None


@pytest.mark.parametrize("typed", ["Kim Lee", "robin", "kim\x1b[31m", "x" * 200])
def test_free_text_is_refused_with_how_to_see_the_agents(typed: str) -> None:
    triage.assign(FIRST, "sam")
    with pytest.raises(NotFound) as refused:
        triage.assign(FIRST, typed)
    sentence = str(refused.value)
    assert sentence.endswith("`deskterm agent list` shows them.")
    assert "\x1b" not in sentence and sentence.count(".") >= 1
    assert assignee() == "sam"  # nothing changed


def test_me_is_the_agent_at_the_keyboard(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="set DESKTERM_AGENT to your handle"):
        triage.assign(FIRST, "me")
    assert assignee() is None
    monkeypatch.setenv("DESKTERM_AGENT", "alex@acme.example")
    assert triage.assign(FIRST, "me") == "alex"


def test_undo_puts_the_agent_back_unless_they_were_removed_since() -> None:
    history = History()
    triage.assign(FIRST, "sam")
    triage.assign(FIRST, "kim", history=history)
    assert triage.undo(history) == "#1 is assigned to sam again."
    assert assignee() == "sam"
    triage.assign(FIRST, "alex", history=history)
    agents.remove("sam")
    with pytest.raises(ConfigError, match="sam is no longer an agent"):
        triage.undo(history)
    assert assignee() == "alex"


def test_removing_an_agent_unassigns_their_conversations_and_keeps_their_notes() -> None:
    sams = {c.id for c in Conversation.select().where(Conversation.assignee == "sam")}
    assert sams  # the demo gives sam two
    sam = agents.get("sam")
    note = Note.create(conversation=FIRST, author=sam, text="Called the customer.")
    assert agents.remove("@SAM") == len(sams)
    assert Conversation.select().where(Conversation.assignee == "sam").count() == 0
    assert all(Conversation.get_by_id(cid).assignee is None for cid in sams)
    kept = Note.get_by_id(note.id)
    assert (kept.text, kept.author) == ("Called the customer.", None)
    assert "sam" not in agents.handles()
    with pytest.raises(NotFound, match="No agent is called 'sam'"):
        agents.remove("sam")


def test_mine_unassigned_and_all(monkeypatch: pytest.MonkeyPatch) -> None:
    everyone = list_index.conversation_ids("all")
    alexs = [cid for cid in everyone if Conversation.get_by_id(cid).assignee == "alex"]
    nobodys = [cid for cid in everyone if Conversation.get_by_id(cid).assignee is None]
    assert alexs and nobodys
    monkeypatch.setenv("DESKTERM_AGENT", "alex")
    assert list_index.conversation_ids("all", assignee="me") == alexs
    assert list_index.conversation_ids("all", assignee="none") == nobodys
    assert list_index.conversation_ids("all", assignee="alex") == alexs
    assert list_index.conversation_ids("all", assignee=None) == everyone
    steps = [filters.next_owner("")]
    while steps[-1]:
        steps.append(filters.next_owner(steps[-1]))
    assert [filters.OWNERS[key] for key in steps] == ["Mine", "Unassigned", "All"]


def test_the_assignee_filter_takes_a_known_handle_me_or_none() -> None:
    assert filters.parse_filters("assignee:@SAM tag:vip") == {"assignee": "sam", "tag": "vip"}
    assert filters.parse_filters("assignee:me")["assignee"] == "me"
    assert filters.parse_filters("assignee:nobody")["assignee"] == "none"
    with pytest.raises(NotFound, match="`deskterm agent list` shows them"):
        filters.parse_filters("assignee:robin")


def test_the_mine_filter_without_an_agent_says_how_to_become_one() -> None:
    with pytest.raises(ConfigError, match="set DESKTERM_AGENT"):
        list_index.conversation_ids("all", assignee="me")


def test_the_choice_made_on_this_machine_is_remembered_per_desk(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(getpass, "getuser", lambda: "somebody-else")
    assert agents.current() is None
    agents.remember(agents.get("kim"))
    assert agents.current().handle == "kim"
    assert agents.chosen_file().stat().st_mode & 0o077 == 0  # private, as the desk's home
    monkeypatch.setenv("DESKTERM_AGENT", "alex")  # the environment still wins
    assert agents.current().handle == "alex"
    monkeypatch.delenv("DESKTERM_AGENT")
    monkeypatch.setenv("DESKTERM_DATABASE_URL", "postgresql://desk@db.example/other")
    assert agents.current() is None  # another desk: not chosen there
    monkeypatch.delenv("DESKTERM_DATABASE_URL")
    agents.remove("kim")
    assert agents.current() is None  # a removed agent is forgotten, and asked again


@pytest.mark.parametrize("handle", ["me", "none", "nobody"])
def test_words_that_mean_someone_else_are_no_handles(handle: str) -> None:
    with pytest.raises(ConfigError, match="means someone else"):
        agents.add("robin@acme.example", "Robin", handle=handle)
    assert agents.add(f"{handle}@acme.example", "Robin").handle == f"{handle}-1"
