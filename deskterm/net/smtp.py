"""Opening an SMTP submission session: TCP, TLS (pin checked), greeting, STARTTLS, AUTH."""

from __future__ import annotations

import ssl

import aiosmtplib

from deskterm.errors import AuthError
from deskterm.net import tls
from deskterm.net.steps import Steps, login_step, open_tcp
from deskterm.net.tls import Endpoint


async def connect(endpoint: Endpoint, steps: Steps | None = None) -> aiosmtplib.SMTP:
    steps = steps or Steps()
    sock = open_tcp(endpoint, steps)
    context = tls.client_context(endpoint)
    smtp = aiosmtplib.SMTP(
        hostname=endpoint.host,
        sock=sock,
        timeout=endpoint.timeout,
        use_tls=endpoint.security == "ssl",
        start_tls=False,
        tls_context=context,
    )
    try:
        name = "TLS handshake" if endpoint.security == "ssl" else "greeting"
        with steps.step(name, endpoint) as found:
            await smtp.connect()
            if endpoint.security == "ssl":
                found.detail = _check(endpoint, smtp)
            else:
                found.detail = "SMTP server ready"
        if endpoint.security == "starttls":
            with steps.step("STARTTLS", endpoint) as found:
                await smtp.starttls(tls_context=context)
                found.detail = _check(endpoint, smtp)
    except BaseException:
        smtp.close()
        sock.close()
        raise
    return smtp


async def login(
    smtp: aiosmtplib.SMTP,
    endpoint: Endpoint,
    username: str,
    password: str,
    steps: Steps | None = None,
) -> None:
    refused = aiosmtplib.SMTPAuthenticationError
    with login_step(steps, endpoint, username, refused, name="AUTH", reason=_said) as found:
        try:
            await smtp.login(username, password)
        except refused:
            raise  # the credentials: login_step's sentence
        except aiosmtplib.SMTPException as exc:
            raise AuthError(
                f"The SMTP server {endpoint.where} did not accept a login ({exc}); check that "
                "security is starttls or ssl, since most servers only offer AUTH over TLS."
            ) from None
        found.detail = f"authenticated as {username}"


def _said(exc: aiosmtplib.SMTPAuthenticationError) -> str:
    """The server's own reply to a refused AUTH, for the end of the sentence."""
    return f"{exc.code} {exc.message.strip()}"


def _check(endpoint: Endpoint, smtp: aiosmtplib.SMTP) -> str:
    assert smtp.transport is not None
    ssl_object = smtp.transport.get_extra_info("ssl_object")
    assert isinstance(ssl_object, ssl.SSLObject)
    tls.check_peer(endpoint, ssl_object)
    return tls.describe(endpoint, ssl_object)
