"""One form POST to an OAuth2 endpoint, its failures as sentences, its answer as JSON.

urllib over the desk's TLS rules (certificates verified, TLS 1.2 or later; deskterm/net/tls.py).
Responses are bounded (a token response is a few kilobytes), and redirects are refused: a token
endpoint that redirects is misconfigured, and following one would send the form, refresh token
included, somewhere no one configured. Whether plain http:// may be used at all is decided
before (`oauth2.check_endpoint`: only to this machine).

An OAuth error answer (RFC 6749 5.2) comes back as `Refused`, its description cut to one short
line with anything token-like removed, so it can be shown; the grant that asked decides what it
means.
"""

from __future__ import annotations

import functools
import json
import re
import socket
import ssl
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from deskterm.errors import DeskError
from deskterm.net import tls
from deskterm.net.tls import CertificateError, is_loopback
from deskterm.sanitize import one_line

if TYPE_CHECKING:
    import urllib.request

# http.client and urllib.request (15 ms) are imported where a form is sent, not above: every
# `deskterm` start imports this module (channels.fields checks endpoints with net.oauth2).

MAX_RESPONSE = 1 << 20  # bytes
DESCRIPTION_LIMIT = 160  # characters of the server's error_description a user sees
_TOKENISH = re.compile(r"[A-Za-z0-9_\-+=]{28,}")  # a run this long in a description: a token
_ERROR_CODE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


class Refused(Exception):
    """An OAuth error answer: `code` is its `error`, `description` safe to show (or "")."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(code)
        self.code, self.description = code, description


@functools.cache
def _no_redirect() -> type[urllib.request.HTTPRedirectHandler]:
    import urllib.request

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any) -> None:
            return None  # urllib then raises the 3xx as an HTTPError

    return NoRedirect


class Server:
    """One endpoint (`what` names its key in the channel file, for messages)."""

    def __init__(self, url: str, what: str, timeout: float) -> None:
        parts = urlsplit(url)
        self.url, self.what, self.timeout = url, what, timeout
        self.host = parts.hostname or ""
        https = parts.scheme.lower() == "https"
        self.where = f"{self.host}:{parts.port or (443 if https else 80)}"
        import urllib.request

        context = tls.client_context(tls.Endpoint("OAuth2", self.host, 443, "ssl"))
        handlers: list[urllib.request.BaseHandler] = [
            _no_redirect()(),
            urllib.request.HTTPSHandler(context=context),
        ]
        if is_loopback(self.host):
            handlers.append(urllib.request.ProxyHandler({}))  # no proxy can reach our loopback
        self.opener = urllib.request.build_opener(*handlers)

    def post(self, form: dict[str, str], secrets: tuple[str | None, ...]) -> dict[str, Any]:
        """The JSON answer to the form; `Refused` for an OAuth error answer. `secrets` (what
        the form carries) are cut out of any description the server sends back."""
        import http.client
        import urllib.error
        import urllib.request

        request = urllib.request.Request(
            self.url,
            data=urlencode(form).encode(),
            method="POST",
            headers={"Accept": "application/json", "User-Agent": "deskterm"},
        )
        try:
            status, body = self._exchange(request)
        except urllib.error.URLError as exc:
            reason = exc.reason if isinstance(exc.reason, BaseException) else exc
            raise self._explain(reason) from None
        except (OSError, http.client.HTTPException) as exc:
            raise self._explain(exc) from None
        data = _json(body)
        if data is not None and isinstance(data.get("error"), str):
            code = data["error"] if _ERROR_CODE.fullmatch(data["error"]) else "invalid_response"
            raise Refused(code, _describe(data.get("error_description"), secrets))
        if 300 <= status < 400:
            raise DeskError(
                f"The OAuth2 server {self.where} answered {self.what} with a redirect (HTTP "
                f"{status}); set {self.what} to the address it redirects to."
            )
        if status != 200 or data is None:
            raise self.malformed(f"with HTTP {status}")
        return data

    def _exchange(self, request: urllib.request.Request) -> tuple[int, bytes]:
        """The status and body of the answer, an HTTP error's (an OAuth error answer is a
        400) read like any other, so that a failure while reading it is explained too."""
        import urllib.error

        try:
            response = self.opener.open(request, timeout=self.timeout)
        except urllib.error.HTTPError as answer:
            response = answer
        with response:
            return response.status, self._read(response)

    def malformed(self, how: str) -> DeskError:
        return DeskError(
            f"The OAuth2 server {self.where} answered {self.what} {how} and no OAuth2 "
            f"response; check {self.what}, or try again later."
        )

    def _read(self, response: Any) -> bytes:
        body = response.read(MAX_RESPONSE + 1)
        if len(body) > MAX_RESPONSE:
            raise DeskError(
                f"The OAuth2 server {self.where} sent more than {MAX_RESPONSE >> 20} MB for "
                f"{self.what}; check {self.what}."
            )
        return bytes(body)

    def _explain(self, exc: BaseException) -> DeskError:
        """A network or TLS failure as one sentence (no URL: it is in the channel file)."""
        where = self.where
        if isinstance(exc, ssl.SSLCertVerificationError):
            return CertificateError(
                f"The certificate of the OAuth2 server {where} is not trusted "
                f"({exc.verify_message or exc.reason}); check {self.what}, or add the CA that "
                "signed it to this machine's trusted certificates."
            )
        if isinstance(exc, ssl.SSLError):
            return DeskError(
                f"The TLS handshake with the OAuth2 server {where} failed ({exc.reason or exc}); "
                f"check {self.what}."
            )
        if isinstance(exc, socket.gaierror):
            return DeskError(
                f"The host name {self.host!r} could not be resolved; check {self.what}."
            )
        if isinstance(exc, ConnectionRefusedError):
            return DeskError(
                f"The OAuth2 server {where} refused the connection; check {self.what}."
            )
        if isinstance(exc, TimeoutError):
            return DeskError(
                f"The OAuth2 server {where} did not answer within {self.timeout:g} s; check the "
                "network and try again."
            )
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        return DeskError(f"Cannot reach the OAuth2 server {where} ({reason}); try again later.")


def _json(body: bytes) -> dict[str, Any] | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _describe(description: Any, secrets: tuple[str | None, ...]) -> str:
    """The server's error description, safe to show: its first line, short, no tokens."""
    if not isinstance(description, str) or not description.strip():
        return ""
    text = description.strip().splitlines()[0]  # Microsoft adds trace and correlation ids
    for secret in secrets:
        if secret:
            text = text.replace(secret, "…")
    text = _TOKENISH.sub("…", one_line(text))
    if len(text) <= DESCRIPTION_LIMIT:
        return text
    return text[: DESCRIPTION_LIMIT - 1].rstrip() + "…"
