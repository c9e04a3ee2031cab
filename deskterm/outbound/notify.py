"""System mail (a failing channel, an agent's invitation) through the desk's own SMTP account.

Configured only by environment, never with a channel's credentials: SMTP_HOST, SMTP_PORT,
SMTP_USER, SMTP_PASS, SMTP_SECURE (ssl | starttls | none; true/false also accepted),
SMTP_FROM (default noreply@ + this host's domain), SMTP_CA_FILE (a private CA to trust),
SMTP_ALLOW_INSECURE (1 to allow SMTP_SECURE=none to a host that is not loopback, as a channel's
allow_insecure does) and DESKTERM_NOTIFY_TO, the agent address that receives them. They are
parsed by deskterm.settings; SMTP_PASS, a secret, is read only where the login needs it.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from deskterm import settings
from deskterm.channels.config import plaintext_allowed
from deskterm.errors import ConfigError
from deskterm.net import smtp as smtp_conn
from deskterm.net.login import Credentials
from deskterm.net.tls import Endpoint


def sender() -> str:
    explicit = settings.current().notifications.sender
    if explicit:
        return explicit
    fqdn = socket.getfqdn()
    domain = fqdn.partition(".")[2] or fqdn or "localhost"
    return f"deskterm <noreply@{domain}>"


def endpoint() -> Endpoint:
    server = settings.current().notifications
    if server.secure == "none" and not plaintext_allowed(server.host, server.allow_insecure):
        raise ConfigError(
            f"SMTP_SECURE=none would send SMTP_PASS and the notifications in clear to "
            f"{server.host}; set SMTP_SECURE to ssl or starttls, or SMTP_ALLOW_INSECURE=1 if you "
            "really mean it."
        )
    return Endpoint(
        "SMTP",
        server.host,
        server.port,
        server.secure,
        timeout=30.0,
        tls_ca_file=server.ca_file,
        channel="(notifications)",
    )


def send_notification(subject: str, body: str, to: str | None = None) -> None:
    """Send one notification; raises a DeskError sentence when it cannot."""
    to = to or settings.current().notify_to
    if not to:
        raise ConfigError("DESKTERM_NOTIFY_TO is not set; say where notifications go.")
    # Every value here is the admin's own (the environment, a channel's name): unlike an
    # invitation (outbound/invitations.py), nothing another person typed goes in a header.
    message = EmailMessage()
    message["From"] = sender()
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(
        "deskterm-notice", domain=parseaddr(sender())[1].rpartition("@")[2]
    )
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    message.set_content(body)
    send_system_mail(message)


# Given with `before_data`: the envelope's sender and recipient addresses, as checked by the
# caller, never read back out of the headers (a name there was typed by someone else).
Envelope = tuple[str, str]


def send_system_mail(
    message: EmailMessage,
    before_data: Callable[[], None] | None = None,
    envelope: Envelope | None = None,
) -> None:
    """Send one mail through the desk's own SMTP account (never a channel's); raises a
    DeskError sentence when it cannot (SMTP_HOST unset, ...).

    `before_data` runs once the server has taken the sender and the recipient, right before
    the message itself goes: the last moment at which nothing can have been delivered (the
    SLA notices record it, so that a worker killed after it never sends the notice twice)."""
    asyncio.run(_send(message, before_data, envelope))


async def _send(
    message: EmailMessage,
    before_data: Callable[[], None] | None = None,
    envelope: Envelope | None = None,
) -> None:
    target = endpoint()
    smtp = await smtp_conn.connect(target)
    try:
        user = settings.current().notifications.user
        if user:  # SMTP_PASS is a secret, not a setting: read here, where it is used
            secret = os.environ.get("SMTP_PASS", "")
            await smtp_conn.login(smtp, target, Credentials(user, secret))
        if before_data is None or envelope is None:
            await smtp.send_message(message)
            return
        # send_message's own steps, taken one by one so that `before_data` runs between them.
        utf8 = bool(message.policy.utf8)
        options = ["SMTPUTF8"] if utf8 else []
        if smtp.supports_extension("8bitmime"):
            options.append("BODY=8BITMIME")
        encoding = "utf-8" if utf8 else "ascii"
        await smtp.mail(envelope[0], options=options, encoding=encoding)
        await smtp.rcpt(envelope[1], encoding=encoding)
        before_data()
        await smtp.data(bytes(message))
    finally:
        smtp.close()
