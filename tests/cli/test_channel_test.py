"""`deskterm channel test` against the suite's real Dovecot and Postfix."""

from __future__ import annotations

import json
import logging
import socket
import sys
import threading
from collections.abc import Iterator
from email import message_from_bytes

import pytest

from deskterm.channels import registry as channels
from deskterm.store import connection
from tests.conftest import Desk, channel_toml

pytestmark = pytest.mark.mailserver

SUPPORT = "support@desk.test"


@pytest.fixture
def password(mail_servers) -> str:
    return mail_servers.users[SUPPORT]


def steps(desk: Desk, *args: str) -> tuple[int, dict]:
    result = desk.run("channel", "test", "support", "--json", *args, ok=False)
    return result.exit_code, json.loads(result.stdout)


def failed_step(report: dict) -> dict:
    failures = [s for s in report["steps"] if not s["ok"]]
    assert failures, report
    return failures[0]


# What a full test of an IMAP + SMTP channel runs, in order (the UI shows the same steps).
EVERY_STEP = [
    "IMAP connect",
    "IMAP TLS handshake",
    "IMAP greeting",
    "IMAP credentials",
    "IMAP login",
    "IMAP folders",
    "SMTP connect",
    "SMTP greeting",
    "SMTP STARTTLS",
    "SMTP credentials",
    "SMTP AUTH",
]


def test_pinned_self_signed_servers_pass_every_step(desk: Desk, mail_servers, password) -> None:
    desk.add_channel(channel_toml(mail_servers), inbound=password, outbound=password)
    result = desk.run("channel", "test", "support")
    lines = result.stdout.splitlines()
    names = [line.split("  ")[1].strip() for line in lines if line.startswith("PASS")]
    assert names == EVERY_STEP
    assert "pinned now" in result.stdout
    assert " ms " in lines[0]
    assert lines[-1] == "All steps passed."
    connection.open_database()
    pin = channels.get("support").inbound_pin
    assert pin and len(pin) == 95  # 32 bytes as hex pairs with colons
    # The second connection checks the pin instead of pinning again.
    code, report = steps(desk)
    assert code == 0
    assert "matches the pin" in report["steps"][1]["detail"]


def test_private_ca_and_implicit_tls_smtp_pass(desk: Desk, mail_servers, password) -> None:
    toml = channel_toml(mail_servers, pinned=False, outbound_security="ssl")
    desk.add_channel(toml, inbound=password, outbound=password)
    code, report = steps(desk)
    assert code == 0, report
    assert "(verified)" in report["steps"][1]["detail"]
    assert any(s["name"] == "SMTP TLS handshake" and s["ok"] for s in report["steps"])


def test_imap_starttls_and_pop3s_pass(desk: Desk, mail_servers, password) -> None:
    desk.add_channel(
        channel_toml(mail_servers, security="starttls"), inbound=password, outbound=password
    )
    code, report = steps(desk)
    assert code == 0, report
    assert "IMAP STARTTLS" in [s["name"] for s in report["steps"]]
    desk.run("channel", "remove", "support", "--yes")
    desk.add_channel(
        channel_toml(mail_servers, protocol="pop3"), inbound=password, outbound=password
    )
    code, report = steps(desk)
    assert code == 0, report
    assert "POP3 login" in [s["name"] for s in report["steps"]]


def test_wrong_password_fails_clearly_and_is_never_printed(
    desk: Desk, mail_servers, password, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-" + password
    desk.add_channel(channel_toml(mail_servers), inbound=wrong, outbound=wrong)
    result = desk.run("channel", "test", "support", ok=False)
    assert result.exit_code == 1
    assert "FAIL  IMAP login" in result.stdout
    assert "refused the login for support@desk.test: wrong user name or password" in result.stdout
    assert "deskterm channel secret support --inbound --stdin" in result.stdout
    assert "FAIL  SMTP AUTH" in result.stdout
    assert "The test failed." in result.stdout
    assert wrong not in result.output
    assert wrong not in caplog.text
    for log in desk.home.glob("*.log*"):
        assert wrong not in log.read_text()
    assert wrong.encode() not in (desk.home / "desk.sqlite3").read_bytes()


def test_untrusted_self_signed_certificate_is_named(desk: Desk, mail_servers, password) -> None:
    toml = channel_toml(mail_servers).replace("allow_self_signed = true\n", "")
    desk.add_channel(toml, inbound=password, outbound=password)
    code, report = steps(desk)
    assert code == 1
    step = failed_step(report)
    assert step["name"] == "IMAP TLS handshake"
    assert "is not trusted (self-signed certificate)" in step["detail"]
    assert "allow_self_signed = true" in step["detail"]
    smtp = next(s for s in report["steps"] if s["name"] == "SMTP STARTTLS")
    assert not smtp["ok"] and "is not trusted" in smtp["detail"]


def test_changed_certificate_is_refused_until_trusted(desk: Desk, mail_servers, password) -> None:
    desk.add_channel(channel_toml(mail_servers), inbound=password, outbound=password)
    stale = ":".join(["AB"] * 32)
    connection.open_database()
    channels.trust(channels.get("support"), "inbound", stale)
    connection.close_database()
    code, report = steps(desk)
    assert code == 1
    step = failed_step(report)
    assert step["name"] == "IMAP TLS handshake"
    assert f"pinned {stale}, now " in step["detail"]
    assert "deskterm channel trust support" in step["detail"]
    # No credential was sent to the unknown certificate.
    assert "IMAP login" not in [s["name"] for s in report["steps"]]

    result = desk.run("channel", "trust", "support", "--inbound", "--yes")
    assert "certificate pinned" in result.stdout
    code, report = steps(desk)
    assert code == 0, report


def test_closed_port_is_connection_refused(desk: Desk, mail_servers, password) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    desk.add_channel(channel_toml(mail_servers, port=closed), inbound=password, outbound=password)
    code, report = steps(desk)
    assert code == 1
    step = failed_step(report)
    assert step["name"] == "IMAP connect"
    assert f"127.0.0.1:{closed} was refused" in step["detail"]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A server that accepts TCP connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_a_silent_server_times_out(desk: Desk, mail_servers, password, silent_port) -> None:
    toml = channel_toml(mail_servers, port=silent_port).replace("timeout = 10", "timeout = 1", 1)
    desk.add_channel(toml, inbound=password, outbound=password)
    code, report = steps(desk)
    assert code == 1
    step = failed_step(report)
    assert step["name"] == "IMAP TLS handshake"
    assert "did not answer within 1 s" in step["detail"]
    assert step["seconds"] >= 0.9  # it waited out the timeout (a busy machine only adds to it)


def test_missing_folder_is_named(desk: Desk, mail_servers, password) -> None:
    toml = channel_toml(mail_servers, inbound_extra='folders = ["INBOX", "Tickets"]')
    desk.add_channel(toml, inbound=password, outbound=password)
    code, report = steps(desk)
    step = failed_step(report)
    assert step["name"] == "IMAP folders"
    assert "Folder Tickets does not exist" in step["detail"]
    assert code == 1


def test_cleartext_on_loopback_passes_with_a_warning(desk: Desk, mail_servers, password) -> None:
    desk.add_channel(
        channel_toml(mail_servers, security="none"), inbound=password, outbound=password
    )
    code, report = steps(desk)
    assert code == 0, report
    warning = report["steps"][0]
    assert warning["name"] == "IMAP security"
    assert "password travels in clear" in warning["warning"]


def test_password_command_is_used(desk: Desk, mail_servers, password, tmp_path) -> None:
    secret_file = tmp_path / "pw"
    secret_file.write_text(password + "\n")
    command = json.dumps([sys.executable, "-c", f"print(open({str(secret_file)!r}).read())"])
    toml = channel_toml(mail_servers, inbound_extra=f"password_command = {command}")
    desk.add_channel(toml, outbound=password)
    code, report = steps(desk)
    assert code == 0, report
    assert (
        "from password_command"
        in next(s for s in report["steps"] if s["name"] == "IMAP credentials")["detail"]
    )


def test_send_to_delivers_a_test_email(desk: Desk, mail_servers, password) -> None:
    mail_servers.clear("customer@desk.test")
    desk.add_channel(channel_toml(mail_servers), inbound=password, outbound=password)
    code, report = steps(desk, "--send-to", "customer@desk.test")
    assert code == 0, report
    assert report["steps"][-1]["name"] == "SMTP send test email"
    mail_servers.wait_for_messages("customer@desk.test", 1)
    received = message_from_bytes(mail_servers.messages("customer@desk.test")[0])
    assert received["Subject"] == "deskterm test message from channel support"
    assert received["From"] == "Desk Support <support@desk.test>"
    assert received["Auto-Submitted"] == "auto-generated"
