"""System notifications (a failing channel, ...) through the desk's own SMTP account.

Configured only by environment, never with a channel's credentials: SMTP_HOST, SMTP_PORT,
SMTP_USER, SMTP_PASS, SMTP_SECURE (ssl | starttls | none; true/false also accepted),
SMTP_FROM (default noreply@ + this host's domain), SMTP_CA_FILE (a private CA to trust),
SMTP_ALLOW_INSECURE (1 to allow SMTP_SECURE=none to a host that is not loopback, as a channel's
allow_insecure does) and DESKTERM_NOTIFY_TO, the agent address that receives them.
"""

from __future__ import annotations

import asyncio
import os
import socket
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from deskterm.channels.config import plaintext_allowed
from deskterm.errors import ConfigError
from deskterm.net import smtp as smtp_conn
from deskterm.net.tls import Endpoint

_YES = ("1", "true", "yes")


def configured() -> bool:
    return bool(os.environ.get("SMTP_HOST") and os.environ.get("DESKTERM_NOTIFY_TO"))


def sender() -> str:
    explicit = os.environ.get("SMTP_FROM")
    if explicit:
        return explicit
    fqdn = socket.getfqdn()
    domain = fqdn.partition(".")[2] or fqdn or "localhost"
    return f"deskterm <noreply@{domain}>"


def endpoint() -> Endpoint:
    host = os.environ.get("SMTP_HOST", "")
    if not host:
        raise ConfigError("SMTP_HOST is not set; system notifications need their own SMTP server.")
    secure = os.environ.get("SMTP_SECURE", "starttls").strip().lower()
    secure = {
        "true": "ssl",
        "1": "ssl",
        "yes": "ssl",
        "false": "starttls",
        "0": "starttls",
        "no": "starttls",
    }.get(secure, secure)
    if secure not in ("ssl", "starttls", "none"):
        raise ConfigError("SMTP_SECURE must be ssl, starttls or none.")
    allow_insecure = os.environ.get("SMTP_ALLOW_INSECURE", "").strip().lower() in _YES
    if secure == "none" and not plaintext_allowed(host, allow_insecure):
        raise ConfigError(
            f"SMTP_SECURE=none would send SMTP_PASS and the notifications in clear to {host}; "
            "set SMTP_SECURE to ssl or starttls, or SMTP_ALLOW_INSECURE=1 if you really mean it."
        )
    try:
        port = int(os.environ.get("SMTP_PORT") or {"ssl": 465, "starttls": 587, "none": 25}[secure])
    except ValueError:
        raise ConfigError("SMTP_PORT must be a port number.") from None
    return Endpoint(
        "SMTP",
        host,
        port,
        secure,
        timeout=30.0,
        tls_ca_file=os.environ.get("SMTP_CA_FILE") or None,
        channel="(notifications)",
    )


def send_notification(subject: str, body: str, to: str | None = None) -> None:
    """Send one notification; raises a DeskError sentence when it cannot."""
    to = to or os.environ.get("DESKTERM_NOTIFY_TO")
    if not to:
        raise ConfigError("DESKTERM_NOTIFY_TO is not set; say where notifications go.")
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
    asyncio.run(_send(message))


async def _send(message: EmailMessage) -> None:
    target = endpoint()
    smtp = await smtp_conn.connect(target)
    try:
        user = os.environ.get("SMTP_USER")
        if user:
            await smtp_conn.login(smtp, target, user, os.environ.get("SMTP_PASS", ""))
        await smtp.send_message(message)
    finally:
        smtp.close()
