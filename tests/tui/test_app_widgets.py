"""Pure pieces of the UI: column layout, ages, fitting text, quote folding."""

from __future__ import annotations

from datetime import datetime

from deskterm.widgets.list_columns import Extras, age, cells, columns_for, fit, header_text
from deskterm.widgets.message_view import human_size, message_content, split_quotes

NOW = datetime(2024, 3, 11, 12, 0)


SEVERAL_CHANNELS = Extras(channel=True)


def test_columns_fit_80_and_grow_the_subject() -> None:
    for width in (79, 80, 120, 200):  # 79: an 80-column terminal less the scrollbar
        columns = columns_for(width, SEVERAL_CHANNELS)
        assert sum(c.width for c in columns) + len(columns) - 1 == width
        assert [c.key for c in columns] == [
            "unread",
            "id",
            "status",
            "priority",
            "contact",
            "assignee",
            "subject",
            "age",
            "messages",
            "channel",
        ]
    assert columns_for(120)[6].width > columns_for(80)[6].width
    assert columns_for(40)[6].width == 8  # narrower than that, the line is cropped
    # The assignee's handle: narrow at 80 columns, wider from 100, out of the subject's width.
    assert [columns_for(w)[5].width for w in (79, 99, 100, 200)] == [5, 5, 10, 10]
    assert columns_for(79, SEVERAL_CHANNELS)[6].width == 18  # was 24 before the assignee
    assert len(header_text(79, SEVERAL_CHANNELS)) <= 79


def test_the_channel_column_only_when_the_desk_has_several_and_its_cells_go_to_the_subject() -> (
    None
):
    one, several = columns_for(79), columns_for(79, SEVERAL_CHANNELS)
    assert "channel" not in [c.key for c in one]
    assert sum(c.width for c in one) + len(one) - 1 == 79
    assert one[6].width == several[6].width + 8  # the channel's 7 cells and its space
    with_due = columns_for(79, Extras(due=True))
    assert [c.key for c in with_due][-3:] == ["due", "age", "messages"]
    assert with_due[6].width == 20


def test_fit_counts_wide_characters_and_marks_cuts() -> None:
    assert fit("abc", 5) == "abc  "
    assert fit("abc", 5, right=True) == "  abc"
    assert fit("abcdef", 4) == "abc…"
    assert fit("請求書の再発行", 6) in ("請求…", "請求 …")
    assert fit("x", 0) == ""


def test_age_in_four_cells() -> None:
    def at(**delta: float) -> str:
        from datetime import timedelta

        return (NOW - timedelta(**delta)).isoformat() + "+00:00"

    assert age(at(seconds=20), NOW) == "now"
    assert age(at(minutes=35), NOW) == "35m"
    assert age(at(hours=5), NOW) == "5h"
    assert age(at(days=3), NOW) == "3d"
    assert age(at(days=20), NOW) == "2w"
    assert age(at(days=100), NOW) == "3mo"
    assert age(at(days=800), NOW) == "2y"
    assert age(None, NOW) == ""


def test_cells_make_mail_text_one_clean_line() -> None:
    row = {
        "id": 7,
        "unread": True,
        "status": "open",
        "priority": "normal",
        "contact_name": "Eve\x1b]52;c;x\x07\nEvil",
        "contact": "eve@x.example",
        "subject": "Hi\u202e\r\nthere",
        "updated_at": None,
        "messages": 2,
        "channel": "demo",
    }
    values = cells(row, NOW)
    assert values["contact"] == "Eve]52;c;x Evil"
    assert values["subject"] == "Hi there"
    assert values["priority"] == "" and values["unread"] == "●"


def test_quoted_history_is_found() -> None:
    text = (
        "Thanks!\n\nOn Fri, 8 Mar 2024 at 14:02, Sam <sam@x.example>\nwrote:\n> first\n>\n"
        "> second\n\n>> older\nBye\n-----Original Message-----\nFrom: someone\nold text"
    )
    blocks = split_quotes(text)
    assert [(b.quoted, len(b.lines)) for b in blocks] == [
        (False, 2),
        (True, 7),
        (False, 1),
        (True, 3),
    ]
    assert blocks[1].lines[0].startswith("On Fri")


def test_blank_lines_only_join_a_quote_between_quoted_lines() -> None:
    blocks = split_quotes("> a\n\nreply\n\n> b")
    assert [b.quoted for b in blocks] == [True, False, True]
    assert split_quotes("\n" * 100_000)[0].quoted is False  # linear, even for this


def test_a_message_renders_folded_and_unfolded() -> None:
    message = {
        "direction": "in",
        "from": "a@x.example",
        "from_name": "[b]A[/b]",
        "to": ["s@x"],
        "cc": [],
        "date": "2024-03-08T06:00:00+00:00",
        "text": "Hi\n> old\n> older",
        "attachments": [{"filename": "f.pdf", "content_type": "application/pdf", "size": 4200}],
    }
    folded = message_content(message, show_quotes=False).plain
    assert "[b]A[/b] <a@x.example>  Fri 08 Mar 2024 06:00 UTC" in folded
    assert "Attached: f.pdf (4.1 KB, application/pdf)" in folded
    assert "··· 2 quoted lines hidden (t shows them) ···" in folded
    assert "> older" in message_content(message, show_quotes=True).plain


def test_a_message_says_what_its_text_does_not_show() -> None:
    message = {
        "direction": "in",
        "from": "a@x.example",
        "text": "Hi",
        "notes": {
            "remote_images": 3,
            "dropped_parts": 1,
            "truncated": True,
            "repairs": ["bad base64 padding", "x\x1b[31m\nred"],
        },
    }
    shown = message_content(message, show_quotes=False).plain
    assert "3 remote images in the HTML, never loaded" in shown
    assert "1 tiny image(s) or empty part(s) left out (tracking pixels)" in shown
    assert "The text was cut at the size limit; the raw message is kept whole" in shown
    assert "Repaired: bad base64 padding; x[31m red" in shown  # one clean line each
    assert "\x1b" not in shown
    plain = message_content({**message, "notes": {}}, show_quotes=False).plain
    assert "remote" not in plain and "Repaired" not in plain


def test_sizes_read_like_a_person_would_say_them() -> None:
    assert [human_size(n) for n in (12, 4200, 5_000_000, 3 * 1024**3)] == [
        "12 B",
        "4.1 KB",
        "4.8 MB",
        "3.0 GB",
    ]
