"""HTML mail as text in bounded memory, whatever the markup (issue 10, finding 4).

inscriptis turned CSS lengths and table padding into characters: a 12 KB mail took gigabytes
and the worker was OOM-killed on every poll, so the mail behind it never arrived. These check
the bound the way the project allows (no wall-clock): the size of what comes out and the peak
memory tracemalloc sees while converting, on each hostile shape; that the agent is told when
the layout was bounded or replaced; and that a batch holding such a mail ingests the mail
behind it too.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from email.message import EmailMessage

import pytest

from deskterm.inbound.ingest import Ingestor
from deskterm.inbound.prepare import prepare_batch
from deskterm.inbound.stages import Fetched
from deskterm.mail import html_text
from deskterm.mail.parse import TRUNCATION_MARKER, parse
from deskterm.settings import DEFAULT_MAX_BODY_BYTES
from deskterm.store.models import Channel, Message
from tests.mailfactory import make_mail

PEAK_LIMIT = 50_000_000  # bytes of Python memory one conversion may take at its peak


def nested_divs(size: int) -> str:
    """FACTS.md's shape: nested blocks whose CSS indentation in em became spaces on every line."""
    unit = '<div style="margin-left:10em;padding-left:5000em">line '
    count = size // (len(unit) + 10)
    return "".join(f"{unit}{i}" for i in range(count)) + "</div>" * count


def nested_tables(size: int) -> str:
    """Tables in tables, each cell indented by CSS: every level pads the one around it."""
    unit = '<table><tr><td><div style="padding-left:9999em">a<br>b<br>c</div></td><td>'
    count = size // (len(unit) + 18)
    return unit * count + "x" + "</td></tr></table>" * count


def nested_lists(size: int) -> str:
    unit = '<ul style="padding-left:9999em"><li>item'
    count = size // (len(unit) + 10)
    return unit * count + "</li></ul>" * count


def huge_line(size: int) -> str:
    """One huge line in a table: inscriptis pads every one of its many rows to that width."""
    rows = "<tr><td>y</td></tr>" * (size // 2 // 18)
    return f"<table><tr><td>{'x' * (size // 2)}</td></tr>{rows}</table>"


def pre_lines(size: int) -> str:
    """A <pre> of many lines inside indented blocks: the indentation is repeated per line."""
    depth = 100
    return (
        '<div style="padding-left:100em">' * depth
        + "<pre>"
        + "a\n" * ((size - depth * 40) // 2)
        + "</pre>"
        + "</div>" * depth
    )


def block_margins(size: int) -> str:
    """Blocks with top and bottom margins in em: each became 100,000 blank lines."""
    unit = '<div style="margin-top:99999em;margin-bottom:99999em">para</div>'
    return unit * (size // len(unit))


HOSTILE: list[tuple[str, Callable[[int], str], int]] = [
    ("nested divs, 12 KB", nested_divs, 12_000),
    ("nested divs, 60 KB", nested_divs, 60_000),
    ("nested tables", nested_tables, 60_000),
    ("nested lists", nested_lists, 60_000),
    ("huge line", huge_line, 100_000),
    ("pre with many lines", pre_lines, 100_000),
    ("block margins", block_margins, 60_000),
]


def html_mail(html: str, subject: str = "Newsletter") -> bytes:
    mail = EmailMessage()
    mail["From"] = "Sender <sender@customer.example>"
    mail["To"] = "support@desk.test"
    mail["Subject"] = subject
    mail["Message-ID"] = f"<{subject.replace(' ', '.')}@customer.example>"
    mail.set_content(html, subtype="html", cte="base64")
    return bytes(mail)


def peak_while(call: Callable[[], object]) -> tuple[object, int]:
    """The call's result and the peak Python memory it allocated beyond what was there."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        result = call()
        return result, tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize(
    ("shape", "size"), [(h[1], h[2]) for h in HOSTILE], ids=[h[0] for h in HOSTILE]
)
def test_hostile_html_converts_in_bounded_memory_and_size(
    shape: Callable[[int], str], size: int
) -> None:
    raw = html_mail(shape(size))
    mail, peak = peak_while(lambda: parse(raw))
    assert peak < PEAK_LIMIT, f"peak {peak / 1e6:.0f} MB"
    text = mail.text  # type: ignore[attr-defined]
    marker = TRUNCATION_MARKER.format(n=10**9)
    assert len(text.encode()) <= DEFAULT_MAX_BODY_BYTES + len(marker) + 4
    assert text.strip()  # the agent still sees the mail's words


@pytest.mark.parametrize(
    "shape",
    [nested_divs, nested_tables, nested_lists, huge_line, pre_lines],
    ids=["nested divs", "nested tables", "nested lists", "huge line", "pre with many lines"],
)
def test_a_bounded_or_replaced_layout_is_noted_on_the_mail(shape: Callable[[int], str]) -> None:
    mail = parse(html_mail(shape(60_000)))
    notes = [d for d in mail.defects if d.startswith("HTML ")]
    assert notes, mail.defects
    assert any("indentation capped" in n or "tags stripped" in n for n in notes)


def test_css_lengths_are_ignored_but_display_none_still_hides() -> None:
    html = (
        '<div style="margin-top:50em;padding-left:40em;display:block">Hello</div>'
        '<div style="margin-bottom:50em">there</div>'
        '<span style="display:none">preheader junk</span><p style="white-space:pre">a  b</p>'
    )
    converted = html_text.to_text(html)
    assert converted.text == "  Hello\n  there\n\na  b\n"  # a div's own 2, not 40 em
    assert converted.notes == ()


def test_ordinary_layout_is_kept_and_not_noted() -> None:
    html = (
        "<p>Hello <b>there</b></p><ul><li>one</li><li>two</li></ul>"
        "<table><tr><td>Order</td><td>Total</td></tr><tr><td>Kettle, blue</td><td>24 EUR</td></tr>"
        '</table><a href="https://example.com/help">help page</a>'
        "<blockquote><div><div><p>quoted</p></div></div></blockquote>"
    )
    converted = html_text.to_text(html)
    assert converted.notes == ()
    assert "Hello there\n\n  * one\n  * two\n" in converted.text
    assert "Order         Total\nKettle, blue  24 EUR\n" in converted.text  # still a table
    assert "[help page](https://example.com/help)" in converted.text
    assert "    quoted" in converted.text


def test_indentation_stops_at_the_cap_and_says_so() -> None:
    html = "<ul><li>level" * 30 + "</li></ul>" * 30
    converted = html_text.to_text(html)
    widest = max(len(line) - len(line.lstrip()) for line in converted.text.splitlines())
    assert widest <= html_text.MAX_INDENT
    assert converted.notes == (html_text.NOTE_INDENT.format(n=html_text.MAX_INDENT),)
    assert converted.text.count("level") == 30


def test_a_layout_over_budget_falls_back_to_the_stripped_text_with_a_note() -> None:
    html = huge_line(20_000)
    converted = html_text.to_text(html, max_chars=50_000)
    assert converted.notes == (html_text.NOTE_TOO_BIG.format(n=50_000),)
    assert len(converted.text) <= len(html)
    assert "x" * 10_000 in converted.text and "y" in converted.text


def test_the_tag_stripper_never_writes_more_than_it_reads() -> None:
    for shape in (nested_divs, nested_tables, nested_lists, huge_line, pre_lines, block_margins):
        html = shape(20_000)
        assert len(html_text.strip_tags(html)) <= len(html)


def test_a_batch_with_a_hostile_html_mail_ingests_the_mail_behind_it(
    draft_channel: Channel,
) -> None:
    """The worker's own path: parse in prepare_batch, then the batch; before the fix the
    worker was killed on the first mail and the second never arrived."""
    raws = [
        html_mail(nested_divs(60_000), "Hostile newsletter"),
        html_mail(pre_lines(100_000), "Second hostile"),
        make_mail("Printer on fire", "Jane Doe <jane@customer.example>"),
    ]
    items = [Fetched(str(uid), raw, None) for uid, raw in enumerate(raws, 1)]
    _, peak = peak_while(lambda: prepare_batch(items, None, DEFAULT_MAX_BODY_BYTES, 1024)())
    assert peak < PEAK_LIMIT, f"peak {peak / 1e6:.0f} MB"
    outcomes = Ingestor(draft_channel).apply(items)
    assert [o.kind for o in outcomes] == ["ingested"] * 3
    stored = {m.subject: m for m in Message.select()}
    assert set(stored) == {"Hostile newsletter", "Second hostile", "Printer on fire"}
    assert "line 0" in stored["Hostile newsletter"].text
    for subject in ("Hostile newsletter", "Second hostile"):
        repairs = (stored[subject].notes or {}).get("repairs", [])
        assert any(r.startswith("HTML ") for r in repairs), repairs
    assert stored["Printer on fire"].text == "Hello, my printer is on fire.\n"
    assert stored["Printer on fire"].notes is None


def test_text_after_the_document_end_is_kept() -> None:
    # MTAs append disclaimers after </html>; lxml drops what follows the document's end.
    html = "<html><body><p>Please help.</p></body></html>\n<p>Confidential.</p>\nDelete it.\n"
    text = html_text.to_text(html).text
    assert "Please help." in text
    assert "Confidential." in text and "Delete it." in text
    assert html_text.to_text("<html><body><p>x</p></body></html>\n\n").text == "x\n"


def test_spent_reports_the_layout_budget_used() -> None:
    converted = html_text.to_text("<p>" + "word " * 100 + "</p>", max_chars=10_000)
    assert 500 <= converted.spent <= 10_000
    assert html_text.to_text("<p>" + "x" * 5000 + "</p>", max_chars=100).spent == 100
