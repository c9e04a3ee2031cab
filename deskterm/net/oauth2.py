"""OAuth2 for mail logins: the device authorization grant, the refresh grant, SASL strings.

A terminal desk often runs on an SSH server with no browser, so signing in is the device grant
(RFC 8628): the desk shows a URL and a short code, someone opens the URL anywhere and enters
the code, and the desk polls the token endpoint until they have. From then on the refresh grant
(RFC 6749 section 6) turns the stored refresh token into short-lived access tokens, which log
in with XOAUTH2 or OAUTHBEARER (RFC 7628).

What callers can rely on:
- `OAuthError` (an `AuthError`): the server refused, or a device sign-in ended without a token
  (declined, expired, cancelled). Its `code` is the OAuth `error` ("invalid_grant",
  "access_denied", "expired_token", "cancelled", ...); `what` is what happened and the message
  is `what` plus generic advice, which `with_advice` replaces ("run `deskterm channel auth
  NAME`"). Signing in again is the fix.
- any other `DeskError`: the server could not be reached or answered nonsense (network, TLS,
  HTTP 5xx, `temporarily_unavailable`). Trying again later is the fix; the sign-in still holds.
- Tokens, device codes and client secrets never appear in a message, a repr or a log: error
  descriptions from the server are cut to one short line with anything token-like removed.

Endpoints are https, or plain http:// to this machine only (the test suite's server); the
HTTP itself is deskterm/net/oauth2_http.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from deskterm.errors import AuthError, ConfigError, DeskError
from deskterm.net.oauth2_http import Refused, Server
from deskterm.net.tls import is_loopback
from deskterm.sanitize import one_line

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEFAULT_EXPIRES_IN = 3600.0  # RFC 6749 5.1 only recommends expires_in; an hour is the norm
DEFAULT_INTERVAL = 5.0  # RFC 8628 3.2: the poll interval when the server names none
SLOW_DOWN_STEP = 5.0  # RFC 8628 3.5: each slow_down adds 5 s to the interval, for good
TRANSIENT = ("temporarily_unavailable", "server_error")  # the server's trouble, not the sign-in


class OAuthError(AuthError):
    """The OAuth2 server refused, or a device sign-in ended without a token."""

    def __init__(self, code: str, what: str, advice: str = "sign in again") -> None:
        super().__init__(f"{what}; {advice}.")
        self.code = code
        self.what = what

    def with_advice(self, advice: str) -> OAuthError:
        """The same failure with the caller's advice, e.g. "run `deskterm channel auth x`"."""
        return OAuthError(self.code, self.what, advice)


@dataclass(frozen=True)
class Endpoints:
    token: str
    device: str | None


@dataclass(frozen=True, repr=False)
class Token:
    access_token: str
    expires_at: float  # time.time() seconds
    refresh_token: str | None  # a new (rotated) refresh token to store; None: keep the old one
    scope: str

    def __repr__(self) -> str:
        left = self.expires_at - time.time()
        rotated = "a new refresh token" if self.refresh_token else "no new refresh token"
        return f"<Token expiring in {left:.0f} s, {rotated}, scope {self.scope!r}>"

    __str__ = __repr__


@dataclass(frozen=True)
class DeviceCode:
    """What to show the person signing in; `device_code` is the desk's secret half."""

    user_code: str
    verification_uri: str
    verification_uri_complete: str | None
    expires_at: float  # time.time() seconds
    interval: float
    device_code: str = field(repr=False)


def check_endpoint(url: str, what: str) -> str:
    """The URL if it is https (or http to this machine); else a ConfigError naming `what`."""
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), parts.hostname
    if not host or scheme not in ("http", "https"):
        raise ConfigError(f"{what} = {url!r} is not an https:// URL; use https.")
    if parts.username is not None or parts.password is not None:
        raise ConfigError(f"{what} = {url!r} holds a user name or password; remove it.")
    if scheme == "http" and not is_loopback(host):
        raise ConfigError(
            f"{what} = {url!r} is plain http:// to another machine, which would send tokens "
            "unencrypted; use https."
        )
    return url


# --- the two grants -------------------------------------------------------------------------


def start_device_flow(
    endpoints: Endpoints,
    client_id: str,
    scope: str,
    client_secret: str | None = None,
    *,
    timeout: float = 30.0,
) -> DeviceCode:
    """Ask for a device code (RFC 8628 3.1): what the person signing in needs to see."""
    if endpoints.device is None:
        raise ConfigError("This OAuth2 provider has no device_endpoint; set device_endpoint.")
    server = _server(endpoints.device, "device_endpoint", timeout)
    form = _client_form(client_id, client_secret) | ({"scope": scope} if scope else {})
    try:
        data = server.post(form, (client_secret,))
    except Refused as refused:
        raise _refusal(refused, server, "refused to start a sign-in") from None
    device_code = data.get("device_code")
    user_code = _text(data.get("user_code"), 64)
    uri = _url(data.get("verification_uri") or data.get("verification_url"))  # Google's name
    if not isinstance(device_code, str) or not device_code or not user_code or not uri:
        raise server.malformed("without a device code")
    now = time.time()
    return DeviceCode(
        user_code=user_code,
        verification_uri=uri,
        verification_uri_complete=_url(data.get("verification_uri_complete")),
        expires_at=now + _seconds(data.get("expires_in"), 900.0),  # RFC 8628's example
        interval=max(1.0, _seconds(data.get("interval"), DEFAULT_INTERVAL)),  # never a busy loop
        device_code=device_code,
    )


def poll_device_flow(
    endpoints: Endpoints,
    client_id: str,
    device: DeviceCode,
    client_secret: str | None = None,
    *,
    sleep: Callable[[float], object] = time.sleep,
    cancelled: Callable[[], bool] = lambda: False,
    timeout: float = 30.0,
) -> Token:
    """Poll until someone signs in (RFC 8628 3.4, 3.5); OAuthError when it ends otherwise.

    `sleep` waits between polls: a UI passes `threading.Event().wait` of its cancel event so
    that cancelling takes effect at once, tests pass a recorder. `cancelled` is asked before
    and after each wait; a cancelled sign-in raises OAuthError with code "cancelled".
    """
    server = _server(endpoints.token, "token_endpoint", timeout)
    form = _client_form(client_id, client_secret) | {
        "grant_type": DEVICE_GRANT,
        "device_code": device.device_code,
    }
    interval = device.interval
    while True:
        _unless_cancelled(cancelled)
        sleep(max(0.0, min(interval, device.expires_at - time.time())))
        _unless_cancelled(cancelled)
        if time.time() >= device.expires_at:
            raise _expired()
        try:
            return _token(server, server.post(form, (client_secret, device.device_code)), "")
        except Refused as refused:
            if refused.code == "authorization_pending":
                continue
            if refused.code == "slow_down":
                interval += SLOW_DOWN_STEP
                continue
            if refused.code == "expired_token":
                raise _expired() from None
            if refused.code == "access_denied":
                raise OAuthError(
                    "access_denied",
                    "The sign-in was declined",
                    "start it again and approve it, or ask your administrator whether this "
                    "app may sign in",
                ) from None
            raise _refusal(refused, server, "refused the sign-in") from None


def _unless_cancelled(cancelled: Callable[[], bool]) -> None:
    if cancelled():
        raise OAuthError("cancelled", "The sign-in was cancelled", "start it again")


def refresh(
    endpoints: Endpoints,
    client_id: str,
    refresh_token: str,
    scope: str,
    client_secret: str | None = None,
    *,
    timeout: float = 30.0,
) -> Token:
    """A new access token for the refresh token (RFC 6749 6); rotation in `refresh_token`."""
    server = _server(endpoints.token, "token_endpoint", timeout)
    form = _client_form(client_id, client_secret) | {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
    }
    if scope:
        form["scope"] = scope
    try:
        data = server.post(form, (client_secret, refresh_token))
    except Refused as refused:
        if refused.code == "invalid_grant":  # revoked, expired, or already used (rotated)
            raise _refusal(refused, server, "no longer accepts the stored sign-in") from None
        raise _refusal(refused, server, "refused to refresh the sign-in") from None
    token = _token(server, data, scope)
    if token.refresh_token == refresh_token:  # echoed, not rotated: nothing new to store
        return Token(token.access_token, token.expires_at, None, token.scope)
    return token


# --- SASL -----------------------------------------------------------------------------------


def xoauth2(user: str, access_token: str) -> str:
    """The XOAUTH2 initial response (Google's and Microsoft's SASL mechanism)."""
    _check_sasl(user, access_token)
    return f"user={user}\x01auth=Bearer {access_token}\x01\x01"


def oauthbearer(user: str, access_token: str, host: str, port: int) -> str:
    """The OAUTHBEARER initial response (RFC 7628 3.1), with the GS2 header's name escaped."""
    _check_sasl(user, access_token, host)
    name = user.replace("=", "=3D").replace(",", "=2C")
    return f"n,a={name},\x01host={host}\x01port={port}\x01auth=Bearer {access_token}\x01\x01"


def _check_sasl(*parts: str) -> None:
    if any(ch < " " or ch == "\x7f" for part in parts for ch in part):
        raise ConfigError("The user name or host holds a control character; correct it.")


def _server(url: str, what: str, timeout: float) -> Server:
    return Server(check_endpoint(url, what), what, timeout)


def _refusal(refused: Refused, server: Server, verb: str) -> DeskError:
    """`The OAuth2 server HOST <verb> (code: description)`: an OAuthError, or a DeskError when
    the server only has trouble of its own (the sign-in still holds)."""
    detail = f"{refused.code}: {refused.description}" if refused.description else refused.code
    what = f"The OAuth2 server {server.host} {verb} ({detail})"
    if refused.code in TRANSIENT:
        return DeskError(f"{what}; try again later.")
    return OAuthError(refused.code, what)


def _client_form(client_id: str, client_secret: str | None) -> dict[str, str]:
    """Client authentication in the form (RFC 6749 2.3.1), as Microsoft and Google accept it."""
    form = {"client_id": client_id}
    if client_secret:
        form["client_secret"] = client_secret
    return form


def _token(server: Server, data: dict[str, Any], scope: str) -> Token:
    """A successful token response (RFC 6749 5.1)."""
    access = data.get("access_token")
    if not isinstance(access, str) or not access:
        raise server.malformed("without an access token")
    if str(data.get("token_type", "Bearer")).lower() != "bearer":
        raise DeskError(
            f"The OAuth2 server {server.where} issued a token that is not a Bearer token, which "
            "mail servers do not accept; check the provider settings."
        )
    rotated = data.get("refresh_token")
    granted = data.get("scope")
    return Token(
        access_token=access,
        expires_at=time.time() + _seconds(data.get("expires_in"), DEFAULT_EXPIRES_IN),
        refresh_token=rotated if isinstance(rotated, str) and rotated else None,
        scope=granted if isinstance(granted, str) else scope,  # absent: as requested (5.1)
    )


def _expired() -> OAuthError:
    return OAuthError(
        "expired_token", "The code expired before anyone signed in", "start the sign-in again"
    )


def _seconds(value: Any, default: float) -> float:
    """expires_in / interval: a number, or a numeric string (older Microsoft endpoints)."""
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return default
    return seconds if 0 <= seconds < 10**9 else default


def _text(value: Any, limit: int) -> str | None:
    """A short one-line string from the server, control characters removed."""
    if not isinstance(value, str):
        return None
    text = one_line(value)
    return text if 0 < len(text) <= limit else None


def _url(value: Any) -> str | None:
    text = _text(value, 2048)
    return text if text and urlsplit(text).scheme.lower() in ("http", "https") else None
