"""Channel administration from the command line, as an admin or a script does it."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Desk
from tests.engine.test_channel_config import CONTRACT


def test_add_list_show_edit_remove_round_trip(desk: Desk) -> None:
    desk.add_channel(CONTRACT)
    listed = desk.json("channel", "list")
    assert [c["name"] for c in listed] == ["support"]
    shown = desk.json("channel", "show", "support")
    assert shown["inbound"]["port"] == 10993
    assert shown["outbound"]["from"] == "Desk Support <support@desk.test>"

    edited = desk.home.parent / "edited.toml"
    edited.write_text(
        CONTRACT.replace("port = 10993", "port = 993").replace(
            'status = "active"', 'status = "disabled"'
        )
    )
    desk.run("channel", "edit", "support", "--file", str(edited))
    shown = desk.json("channel", "show", "support")
    assert (shown["inbound"]["port"], shown["status"]) == (993, "disabled")

    result = desk.run("channel", "remove", "support", ok=False)
    assert result.exit_code == 1
    assert "needs confirmation; add --yes" in result.stderr
    desk.run("channel", "remove", "support", "--yes")
    assert desk.json("channel", "list") == []


def test_adding_a_channel_twice_is_refused(desk: Desk) -> None:
    desk.add_channel(CONTRACT)
    path = desk.home.parent / "again.toml"
    path.write_text(CONTRACT)
    result = desk.run("channel", "add", "--file", str(path), ok=False)
    assert result.exit_code == 1
    assert "already exists" in result.stderr


def test_validation_errors_are_one_sentence_without_traceback(desk: Desk, tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    for text, expected in [
        (CONTRACT.replace("port = 10993", "port = 0"), "inbound.port = 0 is out of range"),
        (CONTRACT.replace('security = "ssl"', 'security = "tls"'), "'tls' is not known"),
        (
            CONTRACT.replace('host = "127.0.0.1"\nport = 10993', "port = 10993"),
            "inbound.host is missing",
        ),
    ]:
        path.write_text(text)
        result = desk.run("channel", "add", "--file", str(path), ok=False)
        assert result.exit_code == 1
        assert expected in result.stderr
        assert "Traceback" not in result.output
        assert len(result.stderr.strip().splitlines()) == 1


def test_missing_file_and_unknown_channel_are_clear(desk: Desk, tmp_path: Path) -> None:
    result = desk.run("channel", "add", "--file", str(tmp_path / "nope.toml"), ok=False)
    assert "Cannot read" in result.stderr
    result = desk.run("channel", "show", "nosuch", ok=False)
    assert "There is no channel named 'nosuch'" in result.stderr


def test_a_secret_is_stored_in_the_vault_and_nowhere_else(desk: Desk) -> None:
    password = "Tr0ub4dor-and-3-horses"
    desk.add_channel(CONTRACT, inbound=password, outbound=password)
    status = desk.run("secrets", "status").stdout
    assert "vault" in status
    for path in desk.home.rglob("*"):
        if path.is_file():
            assert password.encode() not in path.read_bytes(), path
    shown = desk.run("channel", "show", "support", "--json").stdout
    assert password not in shown


def test_secret_needs_a_side_and_a_non_empty_value(desk: Desk) -> None:
    desk.add_channel(CONTRACT)
    result = desk.run("channel", "secret", "support", "--stdin", input="x\n", ok=False)
    assert "--inbound or --outbound" in result.stderr
    result = desk.run("channel", "secret", "support", "--inbound", "--stdin", input="\n", ok=False)
    assert "empty" in result.stderr


def test_wrong_vault_passphrase_is_a_clear_error(desk: Desk, monkeypatch) -> None:
    desk.add_channel(CONTRACT, inbound="first-secret")
    vault = desk.home / "vault.bin"
    before = vault.read_bytes()
    monkeypatch.setenv("DESKTERM_PASSPHRASE", "not the passphrase")
    result = desk.run(
        "channel", "secret", "support", "--inbound", "--stdin", input="second-secret\n", ok=False
    )
    assert result.exit_code == 1
    assert "passphrase is wrong" in result.stderr
    assert vault.read_bytes() == before
