"""Template names and renames: the rules the CLI and the UI share (deskterm/desk/templates.py)."""

from __future__ import annotations

import pytest

from deskterm.desk import templates
from deskterm.errors import ConfigError, NotFound
from deskterm.store import connection


@pytest.fixture(autouse=True)
def desk() -> None:
    connection.open_database()


@pytest.mark.parametrize("name", ["", "   ", "two\nlines", " padded "])
def test_names_are_one_non_empty_line(name: str) -> None:
    with pytest.raises(ConfigError, match="template"):
        templates.save(name, "Hello $contact_name")
    assert templates.all_templates() == []


def test_an_empty_body_is_refused() -> None:
    with pytest.raises(ConfigError, match="The template is empty"):
        templates.save("hello", " \n")


def test_saving_under_a_name_replaces_that_template() -> None:
    templates.save("hello", "Hi")
    templates.save("hello", "Hello")
    assert [(t.name, t.body) for t in templates.all_templates()] == [("hello", "Hello")]


def test_a_rename_moves_the_template_and_leaves_nothing_behind() -> None:
    templates.save("hello", "Hi")
    templates.save("greeting", "Hi there", renaming="hello")
    assert [(t.name, t.body) for t in templates.all_templates()] == [("greeting", "Hi there")]
    with pytest.raises(NotFound):
        templates.get("hello")


def test_a_rename_onto_another_template_is_refused_and_changes_nothing() -> None:
    templates.save("hello", "Hi")
    templates.save("bye", "Bye")
    with pytest.raises(ConfigError, match="already a template named 'bye'"):
        templates.save("bye", "Hi again", renaming="hello")
    assert [(t.name, t.body) for t in templates.all_templates()] == [
        ("bye", "Bye"),
        ("hello", "Hi"),
    ]
