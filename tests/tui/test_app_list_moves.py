"""The conversation list's moves (issue 14): `#N` finds a conversation whatever the tab or
filter, `0` clears every filter, and the header keeps the search term and its hit count whole
at 80 columns even with 5-digit counts."""

from __future__ import annotations

from textual.pilot import Pilot

from deskterm.app import DeskApp
from deskterm.desk import list_index, triage
from deskterm.screens.conversations import SEARCH_DELAY, ConversationsScreen
from deskterm.store.models import Conversation
from deskterm.widgets.filter_bar import FilterBar
from tests.tui.test_app import OPEN_IDS_TOP, drive, notices, screen_text, settle, the_list


def _closed_id() -> int:
    return Conversation.get(Conversation.status == "closed").id


def test_hash_number_finds_the_conversation_whatever_the_tab_or_filter(demo_desk: None) -> None:
    closed = _closed_id()

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        # The Open tab and a tag filter nobody has: #closed is still found.
        screen = app.screen
        assert isinstance(screen, ConversationsScreen)
        screen.filters = {"tag": "nothing-has-this"}
        screen.reload()
        await settle(pilot)
        assert the_list(app).ids == []
        await pilot.press("slash", *f"#{closed}")
        await pilot.pause(SEARCH_DELAY)
        await settle(pilot)
        assert the_list(app).ids == [closed]
        assert f"/#{closed}: 1" in screen_text(app)

    drive(scenario)


def test_hash_number_ignores_the_filters_in_the_engine(demo_desk: None) -> None:
    closed = _closed_id()
    assert list_index.conversation_ids("open", search=f"#{closed}") == [closed]
    assert list_index.conversation_ids("pending", tag="none", search=f"#{closed}") == [closed]
    assert list_index.conversation_ids("open", search="#999999") == []


def test_zero_clears_the_tab_the_filters_and_the_search(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        screen = app.screen
        assert isinstance(screen, ConversationsScreen)
        await pilot.press("4")
        await settle(pilot)
        screen.filters = {"assignee": "nobody"}
        await pilot.press("slash", *"ord", "enter")
        await pilot.pause(SEARCH_DELAY)
        await settle(pilot)
        assert the_list(app).ids == []
        await pilot.press("0")
        await settle(pilot)
        assert (screen.status, screen.filters, screen.search) == ("open", {}, "")
        assert the_list(app).ids[:5] == OPEN_IDS_TOP
        assert len(the_list(app).ids) == 17
        assert the_list(app).has_focus
        text = screen_text(app)
        assert "/ord" not in text and "assignee:" not in text

    drive(scenario)


def test_the_header_keeps_the_search_and_its_count_with_big_counts(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        bar = app.screen.query_one(FilterBar)
        bar.counts = {
            "open": 61234,
            "pending": 12345,
            "resolved": 23456,
            "closed": 34567,
            "all": 131602,
        }
        bar.filters = "channel:support tag:billing"
        bar.search = "invoice refund"
        bar.shown = 12345
        await pilot.pause()
        line = screen_text(app).splitlines()[0]
        assert "/invoice refund: 12345" in line, line
        assert "channel:support tag:billing" in line, line
        assert "61234" in line  # the current tab's count stays
        bar.search = ""
        bar.filters = ""
        bar.shown = None
        await pilot.pause()
        line = screen_text(app).splitlines()[0]
        assert "1 Open 61234" in line and "…" not in line, line

    drive(scenario)


# --- bulk triage -----------------------------------------------------------------------------


def _fields(ids: list[int], field: str) -> list[object]:
    return [getattr(Conversation.get_by_id(cid), field) for cid in ids]


def test_space_and_t_mark_and_s_then_one_u_changes_and_restores_them_all(
    demo_desk: None,
) -> None:
    first, second, third = OPEN_IDS_TOP[:3]

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        listing = the_list(app)
        await pilot.press("space", "t")  # marks #first, then #second (each moves on)
        await settle(pilot)
        assert listing.marked == {first, second}
        assert listing.current_id == third
        text = screen_text(app)
        assert "2 marked" in text and f"*{first}" in text and f"*{second}" in text
        await pilot.press("s", "p")
        await settle(pilot)
        assert _fields([first, second, third], "status") == ["pending", "pending", "open"]
        assert notices(app)[-1] == "2 conversations now pending."
        assigned = _fields([first, second], "assignee")  # #4 is sam's in the demo
        await pilot.press("a")
        await settle(pilot)
        await pilot.press(*"kim", "enter")
        await settle(pilot)
        assert _fields([first, second], "assignee") == ["kim", "kim"]
        await pilot.press("u")
        await settle(pilot)
        assert _fields([first, second], "assignee") == assigned
        await pilot.press("u")  # ONE u undoes the whole bulk status change
        await settle(pilot)
        assert _fields([first, second, third], "status") == ["open", "open", "open"]
        assert notices(app)[-1] == "Undone: 2 conversations are open again."

    drive(scenario)


def test_star_marks_what_the_search_matches_and_bulk_priority_and_tags(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        listing = the_list(app)
        await pilot.press("5", "slash", *"ord", "enter")
        await pilot.pause(SEARCH_DELAY)
        await settle(pilot)
        matching = set(listing.ids)
        assert matching == {1, 14, 17, 22}
        await pilot.press("asterisk")
        await settle(pilot)
        assert listing.marked == matching
        await pilot.press("p", "l")
        await settle(pilot)
        assert set(_fields(sorted(matching), "priority")) == {"low"}
        await pilot.press("T")
        await settle(pilot)
        await pilot.press(*"+refund", "enter")
        await settle(pilot)
        assert all("refund" in triage.tags(cid) for cid in matching)
        await pilot.press("u")
        await settle(pilot)
        assert not any("refund" in triage.tags(cid) for cid in matching)
        await pilot.press("asterisk")  # all marked already: unmarks them
        await settle(pilot)
        assert listing.marked == set()
        assert "marked" not in screen_text(app).splitlines()[0]

    drive(scenario)


# --- sort and views ----------------------------------------------------------------------------


def test_o_cycles_the_sort_and_the_header_names_it(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        listing = the_list(app)
        assert listing.ids[:5] == OPEN_IDS_TOP
        await pilot.press("o")
        await settle(pilot)
        assert listing.ids == list_index.conversation_ids("open", order="waiting")
        assert listing.ids[-1] == OPEN_IDS_TOP[0]
        assert "oldest waiting" in screen_text(app).splitlines()[0]
        await pilot.press("o")
        await settle(pilot)
        assert listing.ids == list_index.conversation_ids("open", order="priority")
        assert "priority" in screen_text(app).splitlines()[0]
        await pilot.press("o")
        await settle(pilot)
        assert listing.ids[:5] == OPEN_IDS_TOP
        assert "↕" not in screen_text(app).splitlines()[0]

    drive(scenario)


def test_v_saves_a_view_and_switches_back_to_it(demo_desk: None) -> None:
    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        screen = app.screen
        assert isinstance(screen, ConversationsScreen)
        listing = the_list(app)
        await pilot.press("v")
        await settle(pilot)
        assert "No view saved yet" in notices(app)[-1]
        await pilot.press("5", "o", "o", "slash", *"ord", "enter")
        await pilot.pause(SEARCH_DELAY)
        await settle(pilot)
        wanted = list(listing.ids)
        assert set(wanted) == {1, 14, 17, 22}
        await pilot.press("V")
        await settle(pilot)
        await pilot.press(*"orders", "enter")
        await settle(pilot)
        assert notices(app)[-1] == "View 'orders' saved."
        await pilot.press("0")
        await settle(pilot)
        assert len(listing.ids) == 17
        await pilot.press("v")
        await settle(pilot)
        assert "Saved: orders" in screen_text(app)
        await pilot.press(*"orders", "enter")
        await settle(pilot)
        assert (screen.status, screen.search, screen.order) == ("all", "ord", "priority")
        assert listing.ids == wanted
        line = screen_text(app).splitlines()[0]
        assert "/ord: 4" in line and "priority" in line

    drive(scenario)


def test_the_channel_column_shows_once_the_desk_has_a_second_channel(demo_desk: None) -> None:
    """At 80 columns the subject gets the channel's cells while every row would say "demo";
    a second channel brings the column back at the next load."""
    from deskterm.channels import config as channel_config
    from deskterm.channels import registry as channels
    from deskterm.demo import desk as demo

    async def scenario(app: DeskApp, pilot: Pilot[None]) -> None:
        header = screen_text(app).splitlines()[1]
        assert "subject" in header and "channel" not in header
        assert the_list(app).extras.channel is False
        channels.add(channel_config.validate({**demo.CHANNEL_CONFIG, "name": "sales"}))
        screen = app.screen
        assert isinstance(screen, ConversationsScreen)
        screen.reload()
        await settle(pilot)
        assert the_list(app).extras.channel is True
        text = screen_text(app)
        assert text.splitlines()[1].rstrip().endswith("channel")
        top = next(
            line
            for line in text.splitlines()
            if line.lstrip(" ●").startswith(f"{OPEN_IDS_TOP[0]} ")
        )
        assert top.rstrip().endswith("demo")

    drive(scenario)
