"""`tui_words` rewrites server and engine sentences (a refusal, a greeting) into the TUI's
keys. How its time grows with a hostile server's text is measured by bench/hostile_text
(the quadratic pattern took about a minute on this input)."""

from __future__ import annotations

from deskterm.screens.words import tui_words


def test_an_unclosed_command_is_left_as_it_is() -> None:
    text = "`deskterm channel " + "a" * 400_000  # no closing backtick: nothing to replace
    assert tui_words(text) == text


def test_commands_with_and_without_arguments_are_replaced() -> None:
    said = tui_words("Run `deskterm channel auth`, then `deskterm channel test support --json`.")
    assert said == "Run O on the channel screen, then t on the channel screen."
    assert tui_words("`deskterm channel frobnicate x`") == "`deskterm channel frobnicate x`"


def test_other_nouns_with_a_key_are_replaced_and_the_rest_kept() -> None:
    said = tui_words(
        "See `deskterm skipped --json`, `deskterm template list` and `deskterm agent list`."
    )
    assert said == (
        "See the skipped-mail screen (S in the list), the templates screen (M in the list) "
        "and the assign prompt (a)."
    )
    said = tui_words("Not here; `deskterm org list` shows them.")
    assert said == "Not here; the organizations screen (U in the list) shows them."
    kept = "`deskterm template rename a b`, `deskterm poll --once`"
    assert tui_words(kept) == kept  # no key for them: the command stays, whole
