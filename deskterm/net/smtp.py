"""Opening an SMTP submission session: TCP, TLS (pin checked), greeting, STARTTLS, AUTH."""

from __future__ import annotations

import ssl

import aiosmtplib

from deskterm.errors import AuthError
from deskterm.net import tls
from deskterm.net.login import Credentials, encoded, login_step, mechanism, responder
from deskterm.net.steps import Steps, open_tcp
from deskterm.net.tls import Endpoint, server_words


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
    credentials: Credentials,
    steps: Steps | None = None,
) -> None:
    refused = aiosmtplib.SMTPAuthenticationError
    with login_step(steps, endpoint, credentials, refused, name="AUTH", reason=_said) as found:
        try:
            if credentials.oauth2:
                await _authenticate(smtp, endpoint, credentials)
            else:
                await smtp.login(credentials.username, credentials.secret)
        except refused:
            raise  # the credentials: login_step's sentence
        except aiosmtplib.SMTPException as exc:
            raise AuthError(
                f"The SMTP server {endpoint.where} did not accept a login "
                f"({server_words(str(exc))}); check that "
                "security is starttls or ssl, since most servers only offer AUTH over TLS."
            ) from None
        found.detail = f"authenticated as {credentials.username}"


async def _authenticate(
    smtp: aiosmtplib.SMTP, endpoint: Endpoint, credentials: Credentials
) -> None:
    """AUTH with the token (XOAUTH2, else OAUTHBEARER, as the server offers), its initial
    response on the command line; to the error challenge (334) of a refused token comes the
    answer that makes the server say 535, raised as SMTPAuthenticationError."""
    if smtp.is_ehlo_or_helo_needed:
        await smtp.ehlo()
    if not smtp.supports_extension("auth"):
        raise aiosmtplib.SMTPException("the server offers no AUTH here")
    offered = {m.upper() for m in smtp.server_auth_methods}
    name = mechanism(offered, endpoint)
    answer = responder(name, credentials, endpoint)
    response = await smtp.execute_command(
        b"AUTH", name.encode(), encoded(answer(b"")).encode("ascii")
    )
    if response.code == aiosmtplib.SMTPStatus.auth_continue:
        response = await smtp.execute_command(encoded(answer(b"")).encode("ascii"))
    if response.code != aiosmtplib.SMTPStatus.auth_successful:
        raise aiosmtplib.SMTPAuthenticationError(response.code, response.message)


def _said(exc: aiosmtplib.SMTPAuthenticationError) -> str:
    """The server's own reply to a refused AUTH, for the end of the sentence."""
    return server_words(f"{exc.code} {exc.message}")


def _check(endpoint: Endpoint, smtp: aiosmtplib.SMTP) -> str:
    assert smtp.transport is not None
    ssl_object = smtp.transport.get_extra_info("ssl_object")
    assert isinstance(ssl_object, ssl.SSLObject)
    tls.check_peer(endpoint, ssl_object)
    return tls.describe(endpoint, ssl_object)
