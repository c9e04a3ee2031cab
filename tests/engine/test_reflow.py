"""deskterm.mail.reflow: plain mail text re-flowed to the view's width (issue 14, bug 6)."""

from __future__ import annotations

import pytest

from deskterm.mail.reflow import MARK, Line, cells, reflow

pytestmark = pytest.mark.without_database


def shown(lines: list[Line]) -> list[str]:
    """The lines as the view draws them (the mark in the first column)."""
    return [(MARK if line.wrapped else "") + line.prefix + line.text for line in lines]


PARAGRAPH = (
    "Thanks for writing in. We looked at the invoice you sent on Monday and\n"
    "found that the second line was charged twice, once in March and again\n"
    "in April. The refund is on its way and should reach you within a week.\n"
)


def test_a_hard_wrapped_paragraph_is_one_paragraph_wrapped_to_the_width() -> None:
    for width in (40, 80, 120):
        lines = shown(reflow(PARAGRAPH.rstrip("\n"), width))
        assert " ".join(lines) == " ".join(PARAGRAPH.split())
        assert all(cells(line) <= width for line in lines)
        assert not any(line.startswith(MARK) for line in lines)  # prose re-flows unmarked
    assert len(reflow(PARAGRAPH.rstrip("\n"), 120)) == 2  # not three ragged lines as sent


def test_flowed_text_joins_soft_breaks_and_keeps_hard_ones() -> None:
    text = "Hello, this line \nflows on.\nThis one stands alone.\n -- a stuffed line\n-- \nSam"
    lines = shown(reflow(text, 80, flowed=True))
    assert lines == [
        "Hello, this line flows on.",
        "This one stands alone.",
        "-- a stuffed line",  # space-stuffing undone
        "-- ",  # the signature separator is never flowed
        "Sam",
    ]


def test_flowed_delsp_drops_the_space_of_the_soft_break() -> None:
    text = "Donau\u00addampf \nschiff \nfahrt.\n"
    assert shown(reflow(text, 80, flowed=True, delsp=True))[0] == "Donau\u00addampfschifffahrt."
    assert shown(reflow(text, 80, flowed=True))[0] == "Donau\u00addampf schiff fahrt."


def test_flowed_quotes_join_within_one_depth() -> None:
    text = "> quoted and \n> flowed\n>> deeper \n>> too\n> back\n"
    lines = reflow(text, 80, flowed=True)
    assert [(line.depth, line.text) for line in lines] == [
        (1, "quoted and flowed"),
        (2, "deeper too"),
        (1, "back"),
        (0, ""),
    ]


def test_wrapped_quoted_lines_keep_their_markers_at_two_depths() -> None:
    one = "> " + PARAGRAPH.replace("\n", "\n> ").rstrip("> ")
    two = ">> " + PARAGRAPH.replace("\n", "\n>> ").rstrip("> ")
    lines = reflow(f"{one}\n{two}", 40)
    words = [line for line in lines if line.text]
    assert {line.depth for line in words} == {1, 2}
    for line in words:
        assert line.prefix == ("> " if line.depth == 1 else ">> ")
        assert cells(line.prefix + line.text) <= 40
    # each depth is its own paragraph: the two quotes are not run together
    assert [line.depth for line in words] == sorted(line.depth for line in words)
    assert " ".join(line.text for line in words if line.depth == 2) == " ".join(PARAGRAPH.split())


def test_a_ragged_requote_becomes_one_paragraph() -> None:
    """A quoting client broke 72-column lines again at 70: a long line and a tail in turn."""
    text = (
        "> Thanks for writing in. We looked at the invoice you sent on Monday\n"
        "> and\n"
        "> found that the second line was charged twice, once in March and\n"
        "> again\n"
        "> in April. The refund is on its way.\n"
    )
    texts = [line.text for line in reflow(text, 300) if line.text]
    assert texts == [" ".join(text.replace(">", "").split())]


def test_lists_signatures_code_and_tables_are_kept_as_sent() -> None:
    text = (
        "Please check the following points before you write back to us again:\n"
        "- the cable is plugged in at both ends of the machine and the wall\n"
        "- the light on the front panel is green and does not blink at all\n"
        "1. restart the router\n"
        "    if ping 10.0.0.1; then echo the router answers to pings on the lan; fi\n"
        "| port | state |\n"
        "| 22   | open  |\n"
        "-- \n"
        "Sam Example, Support Engineer at Example Corporation Ltd, London\n"
        "Phone +44 20 7946 0000, and we answer between nine and five o'clock\n"
    )
    assert shown(reflow(text, 80)) == text.split("\n")


def test_short_lines_are_never_joined() -> None:
    text = "Sam Example\n12 Long Street Name Avenue\nSpringfield\nPhone 555 0100\n"
    assert shown(reflow(text, 80)) == text.split("\n")


def test_a_line_kept_as_sent_is_cut_with_mutts_mark() -> None:
    code = "    " + "x = compute(alpha, beta, gamma) " * 4
    lines = reflow("> " + code, 60)
    assert lines[0].prefix == "> " and not lines[0].wrapped
    assert all(line.wrapped and line.prefix == "> " for line in lines[1:])
    assert all(cells(text) <= 60 for text in shown(lines))
    assert len(lines) > 1


def test_a_word_longer_than_the_width_is_cut_and_marked() -> None:
    url = "https://example.com/" + "a" * 200
    lines = reflow(f"see {url} please", 40)
    assert shown(lines)[0] == "see"
    assert "".join(line.text for line in lines if line.text not in ("see", "please")) == url
    assert [line.wrapped for line in lines] == [False, False] + [True] * (len(lines) - 3) + [False]
    assert all(cells(text) <= 40 for text in shown(lines))


def test_wide_characters_count_two_cells() -> None:
    lines = reflow("字" * 50, 20)
    assert all(cells(text) <= 20 for text in shown(lines))
    assert "".join(line.text for line in lines) == "字" * 50


def test_bytes_in_and_a_crlf_body() -> None:
    lines = reflow(PARAGRAPH.replace("\n", "\r\n").encode(), 300)
    assert shown(lines)[0] == " ".join(PARAGRAPH.split())


def test_hostile_input_is_bounded() -> None:
    """Linear in the size of the text: these finish (no timing asserted) and give lines no
    wider than the view, whatever the shape."""
    hostile = [
        "x" * 300_000,
        "字" * 100_000,
        ">" * 200_000 + " deep",
        "a\n" * 100_000,
        "-" * 200_000 + "x",
        " " * 200_000 + "x",
        "| a " * 50_000,
        ("> " * 500 + "w \n") * 200,
        "e\u0301" * 100_000,
    ]
    for text in hostile:
        for flowed in (False, True):
            lines = reflow(text, 80, flowed=flowed)
            assert lines
            assert all(cells(text) <= 80 for text in shown(lines))
    deep = reflow(">" * 200_000 + " deep", 80)
    assert deep[0].depth == 20 and len(deep[0].prefix) == 40


def test_many_lines_are_joined_into_one_paragraph() -> None:
    """A paragraph joined from many lines (soft breaks, or hard-wrapped prose) is built once:
    appending each line to the text so far copied it per line, quadratic in the paragraph
    (400,000 soft breaks took seconds; bench/hostile_text measures how the time grows)."""
    flowed = "ab \n" * 400_000
    line = " ".join(["word"] * 14)  # 69 cells: every line goes on in the next
    prose = (line + "\n") * 40_000
    assert shown(reflow(flowed, 80, flowed=True))[0] == " ".join(["ab"] * 27)
    assert len(reflow(prose, 80)) > 30_000
