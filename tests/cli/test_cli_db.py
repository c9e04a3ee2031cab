"""`deskterm db migrate`: a SQLite desk moved into the suite's real PostgreSQL through the
command, its output, and a worker that carries on there (real Dovecot) reading raw mail from
the team's shared DESKTERM_BLOB_DIR."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from deskterm.store import blobs, connection
from deskterm.store.models import Message
from tests.cli.test_completion import complete
from tests.conftest import Desk, channel_toml
from tests.mailfactory import make_mail

SUPPORT = "support@desk.test"


def _password(url: str) -> str:
    password = connection.url_password(url)
    assert password
    return password


@pytest.mark.postgres
def test_the_command_prints_each_table_and_never_the_password(
    desk: Desk, demo_desk: None, pg_desk_url: str
) -> None:
    connection.close_database()
    first = desk.run("db", "migrate", "--to", pg_desk_url)
    assert _password(pg_desk_url) not in first.output
    assert "a password in --to shows in the process list" in first.stderr
    assert connection.shown_url(pg_desk_url) in first.stdout
    lines = {line.split()[0]: line.split()[1:4] for line in first.stdout.splitlines()[1:21]}
    assert lines["conversation"][0] == lines["conversation"][2] != "0"
    assert lines["message"][0] == lines["message"][2] != "0"
    assert "Verified: every table" in first.stdout

    again = desk.run("db", "migrate", "--to", pg_desk_url)
    assert "already holds this desk; nothing was missing" in again.stdout
    assert _password(pg_desk_url) not in again.output


@pytest.mark.postgres
def test_json_and_the_url_from_the_environment(
    desk: Desk, demo_desk: None, pg_desk_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    connection.close_database()
    monkeypatch.setenv("DESKTERM_DATABASE_URL", pg_desk_url)
    result = desk.run("db", "migrate", "--json")
    assert "process list" not in result.stderr  # the password was never on the command line
    report = json.loads(result.stdout)
    assert report["verified"] and not report["resumed"] and report["copied"] > 0
    assert report["target"] == connection.shown_url(pg_desk_url)
    assert {t["table"] for t in report["tables"] if t["source"]} >= {"message", "channel"}
    assert _password(pg_desk_url) not in result.stdout


def test_without_a_target_it_says_how_to_give_one(desk: Desk) -> None:
    result = desk.run("db", "migrate", ok=False)
    assert result.exit_code == 1
    assert "deskterm db migrate --to postgresql://" in result.stderr


def test_db_is_completed_by_the_shell() -> None:
    assert complete("db", "mi") == ["plain,migrate"]


@pytest.mark.postgres
@pytest.mark.mailserver
def test_the_worker_on_the_moved_desk_fetches_nothing_again_and_reads_the_shared_files(
    desk: Desk, boxes, pg_desk_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    password = boxes.users[SUPPORT]
    desk.add_channel(channel_toml(boxes), inbound=password, outbound=password)
    for n in range(3):
        boxes.deliver(make_mail(f"Question {n}", body=f"Body {n}.\n"), SUPPORT)
    boxes.wait_for_messages(SUPPORT, 3)
    desk.run("poll", "--once")
    assert desk.json("jobs")["runs"][0]["ingested"] == 3

    shared = tmp_path / "team-blobs"
    shared.mkdir()
    shared.chmod(0o2770)  # the team's group shares it; nobody else
    moved = desk.run("db", "migrate", "--to", pg_desk_url, "--blob-dir", str(shared))
    assert "files copied to" in moved.stdout
    # The home's own files go: every read must now come from the shared directory.
    (desk.home / "mail").rename(desk.home / "mail.old")
    monkeypatch.setenv("DESKTERM_DATABASE_URL", pg_desk_url)
    monkeypatch.setenv("DESKTERM_BLOB_DIR", str(shared))

    desk.run("poll", "--once")
    run = desk.json("jobs")["runs"][0]
    assert (run["fetched"], run["ingested"]) == (0, 0)
    assert len(desk.json("conversations")) == 3

    boxes.deliver(make_mail("After the move", body="New.\n"), SUPPORT)
    boxes.wait_for_messages(SUPPORT, 4)
    desk.run("poll", "--once")
    assert desk.json("jobs")["runs"][0]["ingested"] == 1
    subjects = sorted(c["subject"] for c in desk.json("conversations"))
    assert subjects == ["After the move", "Question 0", "Question 1", "Question 2"]

    connection.open_database()
    raws = [blobs.read_raw(m.raw_path) for m in Message.select().order_by(Message.id)]
    assert [b"Question 0" in raws[0], b"After the move" in raws[3]] == [True, True]
    for folder, _, files in os.walk(shared):
        assert stat.S_IMODE(os.stat(folder).st_mode) & 0o077 == 0o070 & os.stat(shared).st_mode
        for name in files:
            assert stat.S_IMODE(os.stat(Path(folder) / name).st_mode) == 0o640
