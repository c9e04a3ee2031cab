"""deskterm/settings.py: every environment variable parsed in one place, once per environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from deskterm import settings
from deskterm.errors import ConfigError, SecretError

pytestmark = pytest.mark.without_database


def test_the_same_environment_is_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESKTERM_POLL_INTERVAL", "30")
    first = settings.current()
    assert first.poll_interval == 30.0
    assert settings.current() is first
    monkeypatch.setenv("DESKTERM_POLL_INTERVAL", "45")
    assert settings.current() is not first
    assert settings.current().poll_interval == 45.0


def test_a_bad_value_stops_only_what_reads_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMTP_HOST", "smtp.example.com")
    monkeypatch.setenv("SMTP_PORT", "twenty-five")
    monkeypatch.setenv("DESKTERM_HOME", "~/desk")
    current = settings.current()
    assert current.home == Path("~/desk").expanduser()  # unaffected by SMTP_PORT
    with pytest.raises(ConfigError, match="SMTP_PORT must be a port number"):
        current.notifications  # noqa: B018


@pytest.mark.parametrize(
    ("name", "value", "error", "sentence"),
    [
        ("DESKTERM_POLL_INTERVAL", "often", ConfigError, "set it to a number of seconds"),
        ("DESKTERM_MAX_AGE_DAYS", "week", ConfigError, "whole number of days"),
        ("DESKTERM_MAX_AGE_DAYS", "-1", ConfigError, "must not be negative"),
        ("DESKTERM_MAX_BODY_BYTES", "0", ConfigError, "must be at least 1"),
        ("DESKTERM_SECRET_BACKEND", "plaintext", SecretError, "not a secret backend"),
        ("SMTP_SECURE", "maybe", ConfigError, "must be ssl, starttls or none"),
    ],
)
def test_each_refusal_names_the_variable_and_what_to_set(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, error: type, sentence: str
) -> None:
    monkeypatch.setenv(name, value)
    monkeypatch.setenv("SMTP_HOST", "smtp.example.com")
    current = settings.current()
    with pytest.raises(error, match=sentence):
        for attribute in (
            "poll_interval",
            "max_age_days",
            "parse_limits",
            "secret_backend",
            "notifications",
        ):
            getattr(current, attribute)


def test_defaults_without_any_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in settings.NAMES:
        monkeypatch.delenv(name, raising=False)
    current = settings.current()
    assert current.home is None and current.database_url is None
    assert current.poll_interval is None and current.max_age_days is None
    assert current.parse_limits == (100_000, 1024)
    assert current.secret_backend == "" and not current.debug
    assert not current.notify_configured
    monkeypatch.setenv("SMTP_HOST", "smtp.example.com")
    monkeypatch.setenv("SMTP_SECURE", "true")
    assert (settings.current().notifications.secure, settings.current().notifications.port) == (
        "ssl",
        465,
    )
