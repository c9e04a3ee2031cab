"""Assignment and the Mine / Unassigned filter on a PostgreSQL team desk (issue 15): two
agents at two keyboards (DESKTERM_AGENT) share one database; each one's `me` and Mine are
their own, and removing an agent frees their conversations for everyone."""

from __future__ import annotations

import pytest

from deskterm.desk import agents, list_index, triage
from deskterm.desk.undo import History
from deskterm.errors import NotFound
from deskterm.inbound.ingest import Ingestor
from deskterm.store.models import Channel, Conversation
from tests.engine.test_postgres import channel, fetched, kettle, printer  # noqa: F401

pytestmark = pytest.mark.postgres


@pytest.fixture
def team(channel: Channel) -> tuple[int, int]:  # noqa: F811
    """The printer and kettle conversations, and two agents, Sam and Kim."""
    agents.add("sam@desk.example", "Sam Carter", handle="sam")
    agents.add("kim@desk.example", "Kim Lee", handle="kim")
    outcomes = Ingestor(channel).apply(fetched(printer(), kettle()))
    return outcomes[0].conversation_id, outcomes[1].conversation_id


def test_each_agents_mine_is_their_own(
    team: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    printer_id, kettle_id = team
    monkeypatch.setenv("DESKTERM_AGENT", "sam")
    assert triage.assign(printer_id, "me") == "sam"
    monkeypatch.setenv("DESKTERM_AGENT", "kim@desk.example")
    history = History()
    assert triage.assign(kettle_id, "me", history=history) == "kim"
    assert list_index.conversation_ids("all", assignee="me") == [kettle_id]
    assert list_index.conversation_ids("all", assignee="none") == []
    monkeypatch.setenv("DESKTERM_AGENT", "sam")
    assert list_index.conversation_ids("all", assignee="me") == [printer_id]
    assert triage.undo(history) == f"#{kettle_id} is unassigned again."
    assert list_index.conversation_ids("all", assignee="none") == [kettle_id]
    with pytest.raises(NotFound, match="`deskterm agent list` shows them"):
        triage.assign(kettle_id, "Kim Lee")
    assert agents.remove("sam") == 1
    assert Conversation.get_by_id(printer_id).assignee is None
    assert set(list_index.conversation_ids("all", assignee="none")) == {kettle_id, printer_id}
