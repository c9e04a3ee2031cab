"""Reading a desk that does not exist says so, and does not create it (issue 14)."""

from __future__ import annotations

from tests.conftest import DRAFT_CHANNEL, Desk


def test_reading_a_desk_not_made_yet_says_how_to_make_one(desk: Desk) -> None:
    for args in (
        ["conversations"],
        ["conversations", "--json"],
        ["show", "1"],
        ["jobs"],
        ["skipped"],
    ):
        result = desk.run(*args, ok=False)
        assert result.exit_code == 1
        assert result.stdout == ""
        sentence = result.stderr.strip()
        assert str(desk.home) in sentence
        assert "deskterm channel add" in sentence
        assert "\n" not in sentence
    assert not desk.home.exists()  # no desk made as a side effect


def test_an_existing_empty_desk_lists_nothing(desk: Desk) -> None:
    desk.add_channel(DRAFT_CHANNEL)
    assert desk.json("conversations") == []
    assert desk.json("skipped") == []
    assert desk.run("conversations").output == ""
