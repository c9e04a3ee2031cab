"""`deskterm channel example` prints a commented channel file that `channel add` takes."""

from __future__ import annotations

import tomllib
from pathlib import Path

from tests.conftest import Desk

README = Path(__file__).parents[2] / "README.md"


def test_the_example_is_commented_toml_that_channel_add_accepts(desk: Desk) -> None:
    text = desk.run("channel", "example").output
    config = tomllib.loads(text)
    assert {"name", "inbound", "outbound"} <= config.keys()
    assert sum(line.lstrip().startswith("#") or " # " in line for line in text.splitlines()) > 20

    path = desk.home.parent / "channel.toml"
    path.write_text(text)
    added = desk.run("channel", "add", "--file", str(path)).output
    assert f"Channel {config['name']!r} added" in added
    shown = desk.json("channel", "show", config["name"])
    assert shown["inbound"]["host"] == config["inbound"]["host"]
    assert shown["outbound"]["from"] == config["outbound"]["from"]


def test_the_readme_shows_the_same_file(desk: Desk) -> None:
    """One channel file, written once: the README's schema is what the command prints."""
    readme = README.read_text()
    start = readme.index("```toml", readme.index("## The channel file")) + len("```toml\n")
    assert readme[start : readme.index("```", start)] == desk.run("channel", "example").output
