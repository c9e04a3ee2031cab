"""Proof that the `mail_servers` fixture gives real, correctly wired mail servers.

Every test isolates itself with a unique token in the subject (and clear() where it counts
messages), so the order of the tests does not matter.
"""

from __future__ import annotations

import asyncio
import email
import imaplib
import os
import poplib
import re
import smtplib
import socket
import ssl
import tempfile
import time
import uuid
from email.message import EmailMessage

import aiosmtplib
import pytest

from tests.servers.mailservers import MailServers
from tests.servers.serverhost import new_state_dir, stale_state_dirs

pytest_plugins = ["tests.servers.mailservers"]
pytestmark = pytest.mark.mailserver

SUPPORT = "support@desk.test"
CUSTOMER = "customer@desk.test"
SINK = "sink@desk.test"


def make_message(subject: str, to: str = SUPPORT, sender: str = CUSTOMER) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(f"Body of {subject}\n")
    return msg


def token() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


def subjects(raws: list[bytes]) -> list[str]:
    return [str(email.message_from_bytes(raw)["Subject"]) for raw in raws]


def refused(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def test_imaps_login_verifies_against_the_fixture_cert(mail_servers: MailServers) -> None:
    ms = mail_servers
    conn = imaplib.IMAP4_SSL(ms.host, ms.imaps_port, ssl_context=ms.ssl_context(), timeout=10)
    try:
        assert conn.login(SUPPORT, ms.users[SUPPORT])[0] == "OK"
        assert "IDLE" in conn.capabilities
    finally:
        conn.logout()
    # The system trust store does not know the self-signed cert: verification must fail.
    with pytest.raises(ssl.SSLCertVerificationError):
        imaplib.IMAP4_SSL(
            ms.host, ms.imaps_port, ssl_context=ssl.create_default_context(), timeout=10
        )


def test_cert_names_localhost_and_mail_desk_test(mail_servers: MailServers) -> None:
    ctx = mail_servers.ssl_context()
    for name in ("localhost", "mail.desk.test"):
        with (
            socket.create_connection((mail_servers.host, mail_servers.imaps_port), 5) as raw,
            ctx.wrap_socket(raw, server_hostname=name) as tls,
        ):
            assert tls.version() in ("TLSv1.2", "TLSv1.3")
    with (
        pytest.raises(ssl.SSLCertVerificationError),
        socket.create_connection((mail_servers.host, mail_servers.imaps_port), 5) as raw,
    ):
        ctx.wrap_socket(raw, server_hostname="example.com")


def test_imap_starttls_login(mail_servers: MailServers) -> None:
    ms = mail_servers
    conn = imaplib.IMAP4(ms.host, ms.imap_port, timeout=10)
    try:
        assert "STARTTLS" in conn.capabilities
        assert conn.starttls(ssl_context=ms.ssl_context())[0] == "OK"
        assert conn.login(CUSTOMER, ms.users[CUSTOMER])[0] == "OK"
    finally:
        conn.logout()


def test_pop3s_login(mail_servers: MailServers) -> None:
    ms = mail_servers
    pop = poplib.POP3_SSL(ms.host, ms.pop3s_port, context=ms.ssl_context(), timeout=10)
    try:
        pop.user(SUPPORT)
        assert pop.pass_(ms.users[SUPPORT]).startswith(b"+OK")
        count, _size = pop.stat()
        assert count >= 0
    finally:
        pop.quit()


def test_submission_starttls_auth_delivers_to_customer(mail_servers: MailServers) -> None:
    ms = mail_servers
    subject = token()

    async def send() -> None:
        smtp = aiosmtplib.SMTP(
            hostname=ms.host,
            port=ms.submission_port,
            start_tls=True,
            tls_context=ms.ssl_context(),
            timeout=10,
        )
        async with smtp:
            await smtp.login(SUPPORT, ms.users[SUPPORT])
            await smtp.send_message(make_message(subject, to=CUSTOMER, sender=SUPPORT))

    asyncio.run(send())
    ms.wait_until_queue_empty()
    assert subject in subjects(ms.messages(CUSTOMER))


def test_submission_refuses_auth_before_starttls(mail_servers: MailServers) -> None:
    ms = mail_servers

    async def probe() -> tuple[bool, int]:
        smtp = aiosmtplib.SMTP(
            hostname=ms.host, port=ms.submission_port, start_tls=False, timeout=10
        )
        async with smtp:
            await smtp.ehlo()
            offers_auth = smtp.supports_extension("auth")
            reply = await smtp.execute_command(b"MAIL", b"FROM:<customer@desk.test>")
            return offers_auth, reply.code

    offers_auth, code = asyncio.run(probe())
    assert not offers_auth
    assert code == 530  # "Must issue a STARTTLS command first"


def test_smtps_implicit_tls_auth(mail_servers: MailServers) -> None:
    ms = mail_servers
    subject = token()
    asyncio.run(
        aiosmtplib.send(
            make_message(subject, to=SUPPORT),
            hostname=ms.host,
            port=ms.smtps_port,
            use_tls=True,
            tls_context=ms.ssl_context(),
            username=CUSTOMER,
            password=ms.users[CUSTOMER],
            timeout=10,
        )
    )
    ms.wait_until_queue_empty()
    assert subject in subjects(ms.messages(SUPPORT))


def test_off_domain_recipient_lands_in_sink(mail_servers: MailServers) -> None:
    ms = mail_servers
    ms.clear(SINK)
    subject = token()
    asyncio.run(
        aiosmtplib.send(
            make_message(subject, to="jane@example.com", sender=SUPPORT),
            hostname=ms.host,
            port=ms.submission_port,
            start_tls=True,
            tls_context=ms.ssl_context(),
            username=SUPPORT,
            password=ms.users[SUPPORT],
            timeout=10,
        )
    )
    raws = ms.wait_for_messages(SINK, 1)
    assert subjects(raws) == [subject]
    # Rewritten only in the envelope: the header still names the real customer.
    assert email.message_from_bytes(raws[0])["To"] == "jane@example.com"


def test_mx_accepts_desk_test_only(mail_servers: MailServers) -> None:
    ms = mail_servers
    ms.clear(SUPPORT)
    subject = token()
    ms.deliver(make_message(subject).as_bytes(), SUPPORT)
    raw = ms.wait_for_messages(SUPPORT, 1)[0]
    assert subjects([raw]) == [subject]
    assert b"Message-ID" not in raw  # the MX stores mail as received: nothing added
    with pytest.raises(smtplib.SMTPRecipientsRefused) as err:
        ms.deliver(make_message(token()).as_bytes(), "someone@example.com")
    assert err.value.recipients["someone@example.com"][0] == 554
    with pytest.raises(smtplib.SMTPRecipientsRefused) as err:
        ms.deliver(make_message(token()).as_bytes(), "nobody@desk.test")
    assert err.value.recipients["nobody@desk.test"][0] == 550


def test_plus_address_delivers_into_folder(mail_servers: MailServers) -> None:
    ms = mail_servers
    subject = token()
    ms.deliver(make_message(subject).as_bytes(), "support+Billing@desk.test")
    assert subject in subjects(ms.wait_for_messages(SUPPORT, 1, folder="Billing"))
    ms.delete_folder(SUPPORT, "Billing")


def test_special_use_folders_and_folder_helpers(mail_servers: MailServers) -> None:
    ms = mail_servers
    with ms.imap(SUPPORT) as conn:
        listing = b"\n".join(conn.list()[1])
    for name in ("Drafts", "Sent", "Trash", "Junk"):  # e.g. (\HasNoChildren \Sent) "." Sent
        assert re.search(rf'^\(.*\\{name}\) "\." {name}$'.encode(), listing, re.MULTILINE)
    folder = "Réclamations & co"  # non-ASCII and spaces: modified UTF-7 + quoting
    ms.create_folder(SUPPORT, folder)
    ms.create_folder(SUPPORT, folder)  # idempotent
    uid = ms.append(SUPPORT, make_message("first").as_bytes(), folder=folder, flags=[r"\Seen"])
    ms.append(SUPPORT, make_message("second").as_bytes(), folder=folder)
    assert uid == 1
    assert subjects(ms.messages(SUPPORT, folder)) == ["first", "second"]
    ms.clear(SUPPORT, folder)
    assert ms.messages(SUPPORT, folder) == []
    ms.delete_folder(SUPPORT, folder)
    ms.delete_folder(SUPPORT, folder)  # idempotent
    with pytest.raises(Exception, match="SELECT"):
        ms.messages(SUPPORT, folder)


def test_keyword_desk_processed_is_storable(mail_servers: MailServers) -> None:
    ms = mail_servers
    ms.clear(CUSTOMER)
    uid = ms.append(CUSTOMER, make_message(token(), to=CUSTOMER).as_bytes())
    with ms.imap(CUSTOMER) as conn:
        conn.select("INBOX")
        permanent = conn.untagged_responses.get("OK", [])
        assert any(rb"PERMANENTFLAGS" in line and rb"\*" in line for line in permanent)
        assert conn.uid("STORE", str(uid), "+FLAGS", "($DeskProcessed)")[0] == "OK"
    with ms.imap(CUSTOMER) as conn:
        conn.select("INBOX", readonly=True)
        assert conn.uid("SEARCH", "KEYWORD", "$DeskProcessed")[1][0].split() == [str(uid).encode()]
        assert b"$DeskProcessed" in conn.uid("FETCH", str(uid), "(FLAGS)")[1][0]


def test_passwords_are_random_and_never_stored_in_clear(mail_servers: MailServers) -> None:
    ms = mail_servers
    assert len(set(ms.users.values())) == 3
    with ms.imap(SINK):
        pass
    for path in ms.state_dir.rglob("*"):
        if path.is_file() and not path.is_socket():
            data = path.read_bytes()
            for password in ms.users.values():
                assert password.encode() not in data, path


def test_dovecot_down_mail_waits_in_queue(mail_servers: MailServers) -> None:
    ms = mail_servers
    subject = token()
    try:
        ms.stop_dovecot()
        assert refused(ms.host, ms.imaps_port)
        assert refused(ms.host, ms.pop3s_port)
        ms.deliver(make_message(subject).as_bytes(), SUPPORT)  # Postfix still accepts
    finally:
        ms.start_dovecot()  # also flushes the queue
    ms.wait_until_queue_empty()
    assert subject in subjects(ms.messages(SUPPORT))


def test_postfix_down_refuses_smtp(mail_servers: MailServers) -> None:
    ms = mail_servers
    try:
        ms.stop_postfix()
        for port in (ms.submission_port, ms.smtps_port, ms.mx_port):
            assert refused(ms.host, port)
        with ms.imap(SUPPORT) as conn:  # Dovecot is unaffected
            assert conn.noop()[0] == "OK"
    finally:
        ms.start_postfix()
    subject = token()
    ms.deliver(make_message(subject).as_bytes(), SUPPORT)
    ms.wait_until_queue_empty()
    assert subject in subjects(ms.messages(SUPPORT))


def test_restart_keeps_mail_and_keywords(mail_servers: MailServers) -> None:
    ms = mail_servers
    subject = token()
    uid = ms.append(SUPPORT, make_message(subject).as_bytes(), flags=["$DeskProcessed"])
    before = ms.messages(SUPPORT)
    ms.stop()
    assert ms.processes() == []
    assert all(refused(ms.host, p) for p in (ms.imaps_port, ms.submission_port, ms.mx_port))
    ms.start()
    # The configs are dated in the past: Postfix re-reads (and sleeps 0.3 s on) a config file
    # changed within the last ~2 s, which made every start 2.1 s slower.
    configs = [ms.dovecot_conf, *(ms.postfix_conf / n for n in ("main.cf", "master.cf"))]
    assert all(time.time() - path.stat().st_mtime > 2 for path in configs)
    assert ms.messages(SUPPORT) == before
    with ms.imap(SUPPORT) as conn:
        conn.select("INBOX", readonly=True)
        assert b"$DeskProcessed" in conn.uid("FETCH", str(uid), "(FLAGS)")[1][0]


def test_only_dirs_of_dead_sessions_are_stale(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    ours = new_state_dir("deskterm-x-")
    dead = tmp_path / "deskterm-x-dead"
    dead.mkdir()
    (dead / "owner").write_text(f"{2**22 + 17} 0")  # no such process
    reused = tmp_path / "deskterm-x-reused"
    reused.mkdir()
    (reused / "owner").write_text(f"{os.getpid()} 1")  # our pid, another start time
    (tmp_path / "deskterm-x-unmarked").mkdir()  # still being made: never touched
    (tmp_path / "other-dead").mkdir()
    (tmp_path / "other-dead" / "owner").write_text(f"{2**22 + 17} 0")
    assert ours.parent == tmp_path
    assert sorted(stale_state_dirs("deskterm-x-")) == [dead, reused]
