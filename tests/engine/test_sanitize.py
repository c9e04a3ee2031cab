"""The display sanitiser drops what hides or reorders text, and keeps emoji whole (issue 10, 14)."""

from __future__ import annotations

import json
import unicodedata

import pytest

from deskterm import sanitize
from deskterm.desk.attachments import safe_filename
from deskterm.sanitize import clean, one_line, safe_json

pytestmark = pytest.mark.without_database

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # man ZWJ woman ZWJ girl
RAINBOW = "\U0001f3f3\ufe0f\u200d\U0001f308"
HEART_ON_FIRE = "\u2764\ufe0f\u200d\U0001f525"
SMILE_EMOJI_STYLE = "\u263a\ufe0f"
IDEOGRAPH_VARIANT = "\u845b\U000e0100"  # an ideographic variation sequence


@pytest.mark.parametrize(
    "hidden",
    [
        "\u200b",  # zero-width space
        "\u200c",  # zero-width non-joiner
        "\u2060",  # word joiner
        "\u00ad",  # soft hyphen
        "\u061c",  # Arabic letter mark
        "\u180e",  # Mongolian vowel separator
        "\u206a",  # deprecated format character
        "\ufff9",  # interlinear annotation anchor
        "\U000e0001",  # language tag
        "\U000e0041\U000e0042",  # tag characters: invisible "AB"
        "\u3164",  # Hangul filler
        "\u115f",  # Hangul choseong filler
        "\u1160",  # Hangul jungseong filler
        "\uffa0",  # halfwidth Hangul filler
        "\u200d",  # a ZWJ between letters
        "\ufe0f\ufe0f\ufe0f",  # a run of variation selectors (no valid sequence has two)
        "\U000e0100\U000e0101",
    ],
)
def test_invisible_characters_are_dropped(hidden: str) -> None:
    assert clean(f"pay{hidden}pal") == "paypal"
    assert one_line(f"pay{hidden}pal") == "paypal"


def test_every_format_character_of_this_unicode_is_dropped_but_the_emoji_joiner() -> None:
    """The table in sanitize.py is checked against the running unicodedata."""
    missed = [
        f"U+{code:04X}"
        for code in range(0x110000)
        if unicodedata.category(chr(code)) == "Cf"
        and code != 0x200D
        and clean(f"a{chr(code)}b") != "ab"
    ]
    assert missed == []


@pytest.mark.parametrize("emoji", [FAMILY, RAINBOW, HEART_ON_FIRE, SMILE_EMOJI_STYLE])
def test_emoji_sequences_stay_whole(emoji: str) -> None:
    text = f"Thanks {emoji} so much"
    assert clean(text) == text
    assert one_line(text) == text
    assert json.loads(safe_json({"s": text})) == {"s": text}


def test_a_zwj_is_kept_only_between_two_emoji() -> None:
    man, woman = "\U0001f468", "\U0001f469"
    assert clean(f"\u200d{man}") == man
    assert clean(f"{man}\u200d") == man
    assert clean(f"x\u200d{woman}") == f"x{woman}"
    assert clean(f"{man}\u200dx") == f"{man}x"
    assert clean(f"{man}\u200d\u200d{woman}") == f"{man}{woman}"  # no valid sequence


def test_a_single_variation_selector_is_kept() -> None:
    assert clean(IDEOGRAPH_VARIANT) == IDEOGRAPH_VARIANT
    assert clean(f"{SMILE_EMOJI_STYLE}\ufe0f\ufe0f") == "\u263a"


def test_a_subdivision_flag_becomes_the_plain_black_flag() -> None:
    scotland = "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"
    assert clean(scotland) == "\U0001f3f4"


def test_line_and_paragraph_separators_are_line_breaks() -> None:
    assert clean("one\u2028two\u2029three") == "one\ntwo\nthree"
    assert one_line("one\u2028two\u2029three") == "one two three"
    assert "\u2028" not in safe_json({"s": "a\u2028b"})
    assert json.loads(safe_json({"s": "a\u2028b"})) == {"s": "a\u2028b"}


def test_safe_json_escapes_what_clean_drops_and_stays_valid_json() -> None:
    value = {"name": "x\u200b\U000e0041\u3164\x1b[31m\x9b"}
    text = safe_json(value)
    assert json.loads(text) == value  # escaped, not dropped: JSON shows what is there
    assert all(ch not in text for ch in "\u200b\U000e0041\u3164\x1b\x9b")


def test_what_was_dropped_before_still_is() -> None:
    text = "a\x1b]52;c;aGk=\x07b\x9b\u202e\u2066\ufeff\ud800\x7fc\td\ne"
    assert clean(text) == "a]52;c;aGk=bc\td\ne"
    assert sanitize.one_line("  a\r\nb\x85c  ") == "a b c"


@pytest.mark.parametrize(
    "ignorable", ["\u034f", "\u17b4", "\u17b5", "\u180b", "\u180f", "\ufff0", "\U000e0100\u034f"]
)
def test_default_ignorables_beyond_format_characters_are_dropped(ignorable: str) -> None:
    """The review of issue 10: characters that draw nothing without being Cf (the combining
    grapheme joiner, Khmer's inherent vowels, Mongolian selectors, reserved ones) survived,
    and selectors alternating with a CGJ slipped past the rule against runs of them."""
    name = "invoice.pdf" + ignorable * 40 + ".desktop"
    assert one_line(name) == "invoice.pdf.desktop"
    assert clean(name) == "invoice.pdf.desktop"
    assert safe_filename(name) == "invoice.pdf.desktop"
