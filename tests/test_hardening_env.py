"""Secrets stay in deskterm's process: not in its children, not in clear on the wire, not in a
core dump (issue 10, findings 10, 12 and 15b)."""

from __future__ import annotations

import pytest

from deskterm import notify
from deskterm.errors import ConfigError

# --- finding 12: system notifications follow the channels' rule for security "none" ------------


def notifications_via(monkeypatch: pytest.MonkeyPatch, host: str, **extra: str) -> None:
    monkeypatch.setenv("SMTP_HOST", host)
    monkeypatch.setenv("SMTP_SECURE", "none")
    monkeypatch.setenv("SMTP_USER", "desk")
    monkeypatch.setenv("SMTP_PASS", "hunter2-notify")
    monkeypatch.delenv("SMTP_PORT", raising=False)
    monkeypatch.delenv("SMTP_ALLOW_INSECURE", raising=False)
    for name, value in extra.items():
        monkeypatch.setenv(name, value)


def test_notifications_refuse_plaintext_to_a_host_that_is_not_loopback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    notifications_via(monkeypatch, "mail.example.com")
    with pytest.raises(ConfigError) as refused:
        notify.endpoint()
    message = str(refused.value)
    assert ". " not in message and message.endswith(".")  # one sentence
    assert "in clear to mail.example.com" in message
    assert "SMTP_SECURE" in message and "SMTP_ALLOW_INSECURE" in message
    assert "hunter2" not in message


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_notifications_may_use_plaintext_to_loopback(
    monkeypatch: pytest.MonkeyPatch, host: str
) -> None:
    notifications_via(monkeypatch, host)
    assert notify.endpoint().security == "none"


def test_notifications_plaintext_elsewhere_only_when_asked_for(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    notifications_via(monkeypatch, "mail.example.com", SMTP_ALLOW_INSECURE="1")
    assert notify.endpoint().port == 25
