"""Signing in, the same for IMAP, POP3 and SMTP: with a password, or with an OAuth2 access
token over SASL XOAUTH2 (or OAUTHBEARER, RFC 7628, where the server offers only that).

A refused password and a refused token are different failures: the password is set again with
`deskterm channel secret`, while a refused token is first refreshed and tried once more by the
caller (`TokenRefused`), and after that needs the person to sign in again (`channel auth`).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from deskterm.errors import AuthError
from deskterm.net import oauth2
from deskterm.net.steps import Step, Steps
from deskterm.net.tls import Endpoint

# In the order we prefer them: XOAUTH2 is what Microsoft 365 and Gmail document.
MECHANISMS = ("XOAUTH2", "OAUTHBEARER")
# What a client answers to the error challenge of a refused token, so that the server ends the
# exchange with its NO / -ERR / 535: an empty line for XOAUTH2 (Google's documentation), %x01
# for OAUTHBEARER (RFC 7628, 3.2.3).
_ABORT = {"XOAUTH2": b"", "OAUTHBEARER": b"\x01"}


@dataclass(frozen=True)
class Credentials:
    """Who signs in, and with what: a password, or an OAuth2 access token (`oauth2`)."""

    username: str
    secret: str = field(repr=False)
    oauth2: bool = False
    expires_at: float | None = None  # an access token's expiry (time.time()); None: a password


class TokenRefused(AuthError):
    """The server refused an OAuth2 access token: refresh it and try once more."""


def mechanism(offered: Collection[str], endpoint: Endpoint) -> str:
    """The SASL mechanism to send a token with: XOAUTH2, else OAUTHBEARER, among `offered`
    (upper-case names); a server that lists neither is asked for XOAUTH2 only when it lists no
    mechanism at all (old POP3 servers without CAPA)."""
    for name in MECHANISMS:
        if name in offered:
            return name
    if not offered:
        return MECHANISMS[0]
    raise AuthError(
        f"The {endpoint.label} server {endpoint.where} does not offer OAuth2 sign-in (XOAUTH2 or "
        f'OAUTHBEARER, it offers {", ".join(sorted(offered))}); use auth = "password" for this '
        "side of the channel."
    )


def initial_response(name: str, credentials: Credentials, endpoint: Endpoint) -> bytes:
    """The client's first SASL message for `name`, before base64."""
    if name == "OAUTHBEARER":
        text = oauth2.oauthbearer(
            credentials.username, credentials.secret, endpoint.host, endpoint.port
        )
    else:
        text = oauth2.xoauth2(credentials.username, credentials.secret)
    return text.encode()


def responder(name: str, credentials: Credentials, endpoint: Endpoint) -> Callable[[bytes], bytes]:
    """What a line protocol's client answers to each server challenge (imaplib's
    `authenticate` calls it): the token first, then to the error challenge of a refused
    token, the answer that lets the server say NO."""
    sent: list[bool] = []

    def answer(_challenge: bytes) -> bytes:
        if sent:
            return _ABORT[name]
        sent.append(True)
        return initial_response(name, credentials, endpoint)

    return answer


def encoded(data: bytes) -> str:
    """A SASL message as it goes on the wire (one base64 line, possibly empty)."""
    return base64.b64encode(data).decode("ascii")


@contextmanager
def login_step(
    steps: Steps | None,
    endpoint: Endpoint,
    credentials: Credentials,
    refused: type[Exception] | tuple[type[Exception], ...],
    *,
    name: str = "login",
    reason: Callable[[Any], str] | None = None,
) -> Iterator[Step]:
    """The last step of every protocol: the body logs in and says so (`Step.detail`).

    `refused` is what the protocol's library raises when the server refuses the credentials;
    it becomes the one sentence that says how to set them again (`wrong_login`), or for a
    token, the `TokenRefused` that has the caller refresh it (`wrong_token`), with the
    server's own `reason` where the protocol gives one.
    """
    with (steps or Steps()).step(name, endpoint) as found:
        try:
            yield found
        except refused as exc:
            said = reason(exc) if reason else ""
            if credentials.oauth2:
                raise wrong_token(endpoint, credentials.username, said) from None
            raise wrong_login(endpoint, credentials.username, said) from None


def wrong_login(endpoint: Endpoint, username: str, reason: str = "") -> AuthError:
    """The one sentence for refused credentials, naming the command that fixes them."""
    side = "--outbound" if endpoint.side == "outbound" else "--inbound"
    why = f" ({reason})" if reason else ""
    return AuthError(
        f"The {endpoint.label} server {endpoint.where} refused the login for {username}{why}: "
        f"wrong user name or password; set it again with `deskterm channel secret "
        f"{endpoint.channel} {side} --stdin`."
    )


def wrong_token(endpoint: Endpoint, username: str, reason: str = "") -> TokenRefused:
    """The one sentence for a refused OAuth2 token (after a refresh, it is the account's)."""
    why = f" ({reason})" if reason else ""
    return TokenRefused(
        f"The {endpoint.label} server {endpoint.where} refused the OAuth2 sign-in for "
        f"{username}{why}: the account signed in must be this mailbox and be allowed "
        f"{endpoint.label}; sign in again with `deskterm channel auth {endpoint.channel}`."
    )
