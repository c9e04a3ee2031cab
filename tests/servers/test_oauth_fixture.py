"""Proof that the `oauth_server` fixture is a working OAuth2 server and that the `mail_servers`
Dovecot and Postfix take its access tokens (XOAUTH2, OAUTHBEARER) and nothing else, with plain
stdlib, imap-tools and aiosmtplib clients (deskterm's own OAuth2 code is tested elsewhere).

A refused login costs Dovecot's auth_failure_delay (2 s), so the refusals run side by side.
"""

from __future__ import annotations

import asyncio
import base64
import imaplib
import json
import poplib
import smtplib
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from email.message import EmailMessage

import aiosmtplib
import pytest
from imap_tools import MailBox

from tests.servers.mailservers import MailServers
from tests.servers.oauth import OAuthServer, OAuthServerError, private_oauth_server

SUPPORT = "support@desk.test"
CUSTOMER = "customer@desk.test"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


# --- raw clients ------------------------------------------------------------------------------


def xoauth2(user: str, token: str) -> str:
    return f"user={user}\x01auth=Bearer {token}\x01\x01"


def oauthbearer(user: str, token: str, host: str, port: int) -> str:
    """RFC 7628's initial client response (a GS2 header, then key=value pairs)."""
    return f"n,a={user},\x01host={host}\x01port={port}\x01auth=Bearer {token}\x01\x01"


def responder(sasl: str) -> Callable[[bytes], bytes]:
    """imaplib's authobject: the SASL string at the server's first (empty) challenge; an empty
    line at the error challenge Dovecot sends for a refused token (Gmail's format)."""
    return lambda challenge: b"" if challenge else sasl.encode()


def imap_auth(ms: MailServers, mechanism: str, sasl: str, *, starttls: bool = False) -> str:
    """AUTHENTICATE on IMAPS (or on IMAP after STARTTLS); the OK text, else raises
    imaplib.IMAP4.error."""
    if starttls:
        conn: imaplib.IMAP4 = imaplib.IMAP4(ms.host, ms.imap_port, timeout=15)
        conn.starttls(ms.ssl_context())
    else:
        conn = imaplib.IMAP4_SSL(ms.host, ms.imaps_port, ssl_context=ms.ssl_context(), timeout=15)
    try:
        assert f"AUTH={mechanism}" in conn.capabilities
        typ, data = conn.authenticate(mechanism, responder(sasl))
        assert conn.select("INBOX", readonly=True)[0] == "OK"
        return f"{typ} {data[0].decode()}"
    finally:
        conn.logout()


def pop3_auth(ms: MailServers, sasl: str) -> bytes:
    """AUTH XOAUTH2 on POP3S (RFC 5034, initial response); the server's last line."""
    conn = poplib.POP3_SSL(ms.host, ms.pop3s_port, context=ms.ssl_context(), timeout=15)
    try:
        assert "XOAUTH2" in conn.capa()["SASL"]
        conn._putcmd("AUTH XOAUTH2 " + base64.b64encode(sasl.encode()).decode())
        line, _ = conn._getline()
        if line.startswith(b"+ "):  # the error challenge: an empty line ends the exchange
            conn._putcmd("")
            line, _ = conn._getline()
        if line.startswith(b"+OK"):
            conn.stat()
        return line
    finally:
        conn.close()


async def _submit(ms: MailServers, user: str, token: str, msg: EmailMessage | None) -> str:
    smtp = aiosmtplib.SMTP(hostname=ms.host, port=ms.submission_port, start_tls=False, timeout=15)
    await smtp.connect()
    try:
        await smtp.ehlo()
        assert not smtp.supports_extension("auth")  # no AUTH before STARTTLS
        await smtp.starttls(tls_context=ms.ssl_context())
        await smtp.ehlo()
        offered = smtp.esmtp_extensions["auth"]
        await smtp.auth_xoauth2(user, token)
        if msg is not None:
            await smtp.send_message(msg)
        return offered
    finally:
        smtp.close()


def submit(ms: MailServers, user: str, token: str, msg: EmailMessage | None = None) -> str:
    """AUTH XOAUTH2 on submission after STARTTLS (then send msg); the AUTH mechanisms offered.
    A refused token raises aiosmtplib.SMTPAuthenticationError."""
    return asyncio.run(_submit(ms, user, token, msg))


def oauth_call(url: str, form: dict[str, str]) -> tuple[int, dict]:
    """POST form to the OAuth2 server; (status, JSON answer), errors included."""
    data = urllib.parse.urlencode(form).encode()
    try:
        with _OPENER.open(urllib.request.Request(url, data=data), timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


# --- the mail servers take the server's tokens ------------------------------------------------


@pytest.mark.mailserver
def test_imap_xoauth2_on_imaps_and_after_starttls(
    mail_servers: MailServers, oauth_server: OAuthServer
) -> None:
    ms, token = mail_servers, oauth_server.access_token()
    assert imap_auth(ms, "XOAUTH2", xoauth2(SUPPORT, token)).startswith("OK")
    assert imap_auth(ms, "XOAUTH2", xoauth2(SUPPORT, token), starttls=True).startswith("OK")
    # imap-tools' own XOAUTH2 login, the certificate verified
    with MailBox(ms.host, ms.imaps_port, ssl_context=ms.ssl_context()).xoauth2(
        SUPPORT, token
    ) as mailbox:
        assert mailbox.folder.get() == "INBOX"


@pytest.mark.mailserver
def test_imap_oauthbearer(mail_servers: MailServers, oauth_server: OAuthServer) -> None:
    ms, token = mail_servers, oauth_server.access_token(CUSTOMER)
    sasl = oauthbearer(CUSTOMER, token, ms.host, ms.imaps_port)
    assert imap_auth(ms, "OAUTHBEARER", sasl).startswith("OK")


@pytest.mark.mailserver
def test_pop3s_xoauth2(mail_servers: MailServers, oauth_server: OAuthServer) -> None:
    line = pop3_auth(mail_servers, xoauth2(SUPPORT, oauth_server.access_token()))
    assert line.startswith(b"+OK"), line


@pytest.mark.mailserver
def test_submission_xoauth2_after_starttls_delivers(
    mail_servers: MailServers, oauth_server: OAuthServer
) -> None:
    ms, folder = mail_servers, f"oauth-{uuid.uuid4().hex[:8]}"
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = SUPPORT, f"support+{folder}@desk.test", folder
    msg.set_content("sent with an access token\n")
    offered = submit(ms, SUPPORT, oauth_server.access_token(), msg)
    assert set(offered.upper().split()) >= {"PLAIN", "LOGIN", "XOAUTH2", "OAUTHBEARER"}
    try:
        assert folder in ms.wait_for_messages(SUPPORT, 1, folder)[0].decode()
    finally:
        ms.delete_folder(SUPPORT, folder)


@pytest.mark.mailserver
def test_smtps_oauthbearer(mail_servers: MailServers, oauth_server: OAuthServer) -> None:
    ms, token = mail_servers, oauth_server.access_token()
    sasl = oauthbearer(SUPPORT, token, ms.host, ms.smtps_port)
    with smtplib.SMTP_SSL(ms.host, ms.smtps_port, context=ms.ssl_context(), timeout=15) as smtp:
        assert smtp.auth("OAUTHBEARER", lambda challenge=None: sasl)[0] == 235


@pytest.mark.mailserver
def test_revoked_expired_and_foreign_tokens_are_refused(
    mail_servers: MailServers, oauth_server: OAuthServer
) -> None:
    ms, oauth = mail_servers, oauth_server
    revoked = oauth.access_token()
    oauth.revoke(token=revoked)
    expired = oauth.access_token()
    oauth.expire_access()
    customers = oauth.access_token(CUSTOMER)  # issued after the expiry: valid, for customer@
    refresh = oauth.issue()  # a refresh token is no access token

    def imap_refused(user: str, token: str) -> str:
        with pytest.raises(imaplib.IMAP4.error) as refusal:
            imap_auth(ms, "XOAUTH2", xoauth2(user, token))
        return str(refusal.value)

    def smtp_refused(token: str) -> int:
        with pytest.raises(aiosmtplib.SMTPAuthenticationError) as refusal:
            submit(ms, SUPPORT, token)
        return refusal.value.code

    with ThreadPoolExecutor(max_workers=8) as pool:
        imap = [
            pool.submit(imap_refused, SUPPORT, revoked),
            pool.submit(imap_refused, SUPPORT, expired),
            pool.submit(imap_refused, SUPPORT, customers),
            pool.submit(imap_refused, SUPPORT, refresh),
        ]
        pop3 = pool.submit(pop3_auth, ms, xoauth2(SUPPORT, expired))
        smtp = [pool.submit(smtp_refused, revoked), pool.submit(smtp_refused, expired)]
        for refusal in imap:
            assert "AUTHENTICATIONFAILED" in refusal.result()
        assert pop3.result().startswith(b"-ERR")
        assert [s.result() for s in smtp] == [535, 535]
    # the refusals were the tokens' fault: fresh ones work, and so does customer's own
    assert imap_auth(ms, "XOAUTH2", xoauth2(SUPPORT, oauth.access_token())).startswith("OK")
    assert imap_auth(ms, "XOAUTH2", xoauth2(CUSTOMER, customers)).startswith("OK")


@pytest.mark.mailserver
def test_password_logins_still_work(mail_servers: MailServers, oauth_server: OAuthServer) -> None:
    ms = mail_servers
    with ms.imap(SUPPORT) as conn:
        assert conn.select("INBOX", readonly=True)[0] == "OK"
    pop = poplib.POP3_SSL(ms.host, ms.pop3s_port, context=ms.ssl_context(), timeout=15)
    try:
        pop.user(CUSTOMER)
        assert pop.pass_(ms.users[CUSTOMER]).startswith(b"+OK")
    finally:
        pop.quit()
    with smtplib.SMTP(ms.host, ms.submission_port, timeout=15) as smtp:
        smtp.starttls(context=ms.ssl_context())
        assert smtp.login(SUPPORT, ms.users[SUPPORT])[0] == 235
    # each passdb answers only its own mechanisms: a valid token is no password
    with smtplib.SMTP_SSL(ms.host, ms.smtps_port, context=ms.ssl_context(), timeout=15) as smtp:
        smtp.user, smtp.password = SUPPORT, oauth_server.access_token()
        with pytest.raises(smtplib.SMTPAuthenticationError) as refusal:
            smtp.auth("PLAIN", smtp.auth_plain)
    assert refusal.value.smtp_code == 535


# --- the server and the fixture's helpers -----------------------------------------------------


def test_refresh_tokens_rotate_and_introspection_names_the_owner(
    oauth_server: OAuthServer,
) -> None:
    oauth, user = oauth_server, f"rotation-{uuid.uuid4().hex[:8]}@desk.test"

    def refresh(token: str) -> tuple[int, dict]:
        grant = {"grant_type": "refresh_token", "refresh_token": token}
        grant |= {"client_id": oauth.client_id, "client_secret": oauth.client_secret}
        return oauth_call(oauth.token_url(), grant)

    def introspect(token: str) -> dict:
        return oauth_call(oauth.introspection_url(), {"token": token})[1]

    first = oauth.issue(user)
    status, tokens = refresh(first)
    assert status == 200 and tokens["token_type"] == "Bearer" and tokens["expires_in"] == 300
    seen = introspect(tokens["access_token"])
    assert seen["active"] is True and seen["username"] == user
    assert refresh(first) == (
        400,
        {
            "error": "invalid_grant",
            "error_description": "refresh token is unknown, already used (rotated), or revoked",
        },
    )
    status, again = refresh(tokens["refresh_token"])  # the rotated one works, once
    assert status == 200
    assert introspect(again["refresh_token"]) == {"active": False}  # no bearer token
    oauth.revoke(user=user)  # every token of that user
    assert introspect(again["access_token"]) == {"active": False}
    assert refresh(again["refresh_token"])[0] == 400
    with pytest.raises(ValueError):
        oauth.revoke()
    assert oauth.client_secret not in repr(oauth)


def test_device_flow_through_approve_and_deny(oauth_server: OAuthServer) -> None:
    oauth = oauth_server

    def device_code() -> dict:
        status, code = oauth_call(oauth.device_url(), {"client_id": oauth.client_id})
        assert status == 200 and code["verification_uri"].startswith(oauth.url)
        return code

    def poll(code: dict) -> dict:
        form = {"grant_type": DEVICE_GRANT, "client_id": oauth.client_id}
        return oauth_call(oauth.token_url(), {**form, "device_code": code["device_code"]})[1]

    approved, denied = device_code(), device_code()
    oauth.approve(approved["user_code"], CUSTOMER)
    tokens = poll(approved)
    assert "access_token" in tokens
    seen = oauth_call(oauth.introspection_url(), {"token": tokens["access_token"]})[1]
    assert seen["username"] == CUSTOMER
    oauth.deny(denied["user_code"])
    assert poll(denied)["error"] == "access_denied"
    with pytest.raises(OAuthServerError, match="no pending device code"):
        oauth.approve(denied["user_code"])  # decided already
    codes = {d["user_code"]: d["status"] for d in oauth.state()["device"].values()}
    assert codes[approved["user_code"]] == "used" and codes[denied["user_code"]] == "denied"


def test_a_private_server_with_its_own_settings() -> None:
    with private_oauth_server(device_ttl=1, auto_approve=1, require_secret=True) as oauth:
        settings = oauth.state()["settings"]
        assert settings["auto_approve"] == 1 and settings["require_secret"] is True
        public = {"grant_type": "refresh_token", "client_id": oauth.client_id}
        status, answer = oauth_call(oauth.token_url(), {**public, "refresh_token": oauth.issue()})
        assert (status, answer["error"]) == (401, "invalid_client")  # the secret is required
        status, code = oauth_call(oauth.device_url(), {"client_id": oauth.client_id})
        form = {"grant_type": DEVICE_GRANT, "client_id": oauth.client_id}
        form["device_code"] = code["device_code"]
        assert oauth_call(oauth.token_url(), form)[1]["error"] == "authorization_pending"
        time.sleep(1.1)
        assert oauth_call(oauth.token_url(), form)[1]["error"] == "expired_token"
    with pytest.raises(urllib.error.URLError, match="Connection refused"):
        oauth.state()  # stopped with its context
