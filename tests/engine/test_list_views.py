"""The list's orders (newest activity, oldest waiting, priority) and named views saved in the
desk's home (issue 14)."""

from __future__ import annotations

import pytest

from deskterm.desk import list_index, views
from deskterm.errors import ConfigError
from deskterm.store.models import Conversation

pytestmark = pytest.mark.usefixtures("demo_desk")


def test_the_three_orders() -> None:
    newest = list_index.conversation_ids("all")
    assert list_index.conversation_ids("all", order="newest") == newest
    waiting = list_index.conversation_ids("all", order="waiting")
    assert set(waiting) == set(newest)
    stamps = [Conversation.get_by_id(cid).updated_at for cid in waiting]
    assert stamps == sorted(stamps)  # who waited longest first
    by_priority = list_index.conversation_ids("all", order="priority")
    ranks = [
        ("high", "normal", "low").index(Conversation.get_by_id(cid).priority) for cid in by_priority
    ]
    assert ranks == sorted(ranks) and ranks[0] == 0
    with pytest.raises(ConfigError, match="Order 'oldest' is not known"):
        list_index.conversation_ids("all", order="oldest")


def test_views_are_saved_by_name_in_the_home_and_read_back() -> None:
    assert views.load() == {}
    view = views.View("all", "refund", {"tag": "vip"}, "priority")
    assert views.save(" Refunds ", view) == "Refunds"
    views.save("mine", views.View(filters={"assignee": "kim"}))
    assert views.load() == {"Refunds": view, "mine": views.View(filters={"assignee": "kim"})}
    assert views.get("Refunds") == view
    assert views.views_file().stat().st_mode & 0o077 == 0
    with pytest.raises(ConfigError, match="There is no view 'nope'"):
        views.get("nope")
    with pytest.raises(ConfigError, match="needs a name"):
        views.save("  ", view)
    views.views_file().write_text("[1, 2]")
    with pytest.raises(ConfigError, match="is not a list of views"):
        views.load()
