"""TLS for every connection a desk makes, and what to tell a user when it fails.

Certificates are always verified. imaplib, poplib and imap-tools verify nothing unless given
a context, so every connection takes its context from here. `allow_self_signed` does not
switch verification off: the server's certificate is pinned by SHA-256 fingerprint on first
contact (trust on first use) and checked against that pin on every later handshake, before
any credential is sent.
"""

from __future__ import annotations

import hashlib
import ipaddress
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field

from deskterm.errors import DeskError
from deskterm.sanitize import one_line

SAID_LIMIT = 200  # characters of a server's own words at the end of a sentence


class CertificateError(DeskError):
    """The server's certificate is not trusted (unknown CA, self-signed, changed pin)."""


class CertificateChanged(CertificateError):
    def __init__(self, message: str, old: str, new: str) -> None:
        super().__init__(message)
        self.old = old
        self.new = new


@dataclass
class Endpoint:
    """One server of a channel, with everything needed to reach it safely."""

    label: str  # "IMAP", "POP3", "SMTP": used in messages
    host: str
    port: int
    security: str  # ssl | starttls | none
    timeout: float = 30.0
    allow_self_signed: bool = False
    tls_ca_file: str | None = None
    pin: str | None = None
    channel: str = ""
    side: str = "inbound"
    on_pin: Callable[[str], None] | None = field(default=None, repr=False)
    just_pinned: bool = False

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or localhost: a host no one else can answer for, so the one that may
    be sent things in clear (an http:// token endpoint, a test server)."""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def fingerprint(der: bytes) -> str:
    digest = hashlib.sha256(der).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def client_context(endpoint: Endpoint) -> ssl.SSLContext:
    """A context that verifies, or, for a pinned self-signed server, defers to `check_peer`."""
    if endpoint.allow_self_signed:
        # The chain cannot verify (that is the point of self-signed); the pin check that
        # follows the handshake is what authenticates the server.
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    else:
        ctx = ssl.create_default_context(cafile=endpoint.tls_ca_file)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


def check_peer(endpoint: Endpoint, tls: ssl.SSLSocket | ssl.SSLObject) -> str:
    """Authenticate a pinned server after its handshake; return the certificate fingerprint."""
    der = tls.getpeercert(binary_form=True)
    if der is None:
        raise CertificateError(f"{endpoint.label} server {endpoint.where} sent no certificate.")
    seen = fingerprint(der)
    if not endpoint.allow_self_signed:
        return seen
    if endpoint.pin is None:
        endpoint.pin = seen
        endpoint.just_pinned = True
        if endpoint.on_pin:
            endpoint.on_pin(seen)
    elif endpoint.pin != seen:
        raise CertificateChanged(
            f"The {endpoint.label} certificate of {endpoint.where} changed: pinned {endpoint.pin}, "
            f"now {seen}; if you expected this, run `deskterm channel trust {endpoint.channel}`.",
            old=endpoint.pin,
            new=seen,
        )
    return seen


def open_socket(endpoint: Endpoint) -> socket.socket:
    """DNS and TCP, with the channel's timeout and keep-alive (long IMAP IDLE sessions)."""
    sock = socket.create_connection((endpoint.host, endpoint.port), timeout=endpoint.timeout)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for option, value in (("TCP_KEEPIDLE", 60), ("TCP_KEEPINTVL", 20), ("TCP_KEEPCNT", 3)):
        if hasattr(socket, option):
            sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, option), value)
    return sock


def wrap(endpoint: Endpoint, sock: socket.socket) -> ssl.SSLSocket:
    """Implicit TLS over a connected socket, pin checked."""
    try:
        tls = client_context(endpoint).wrap_socket(sock, server_hostname=endpoint.host)
    except BaseException:
        sock.close()
        raise
    check_peer(endpoint, tls)
    return tls


def describe(endpoint: Endpoint, tls: ssl.SSLSocket | ssl.SSLObject | socket.socket) -> str:
    """The protocol, the certificate's fingerprint and why we trust it, as `channel test` shows."""
    assert isinstance(tls, ssl.SSLSocket | ssl.SSLObject)
    der = tls.getpeercert(binary_form=True) or b""
    if not endpoint.allow_self_signed:
        trust = "verified"
    elif endpoint.just_pinned:
        trust = "self-signed, pinned now"
    else:
        trust = "self-signed, matches the pin"
    return f"{tls.version()}, certificate SHA-256 {fingerprint(der)} ({trust})"


def server_words(text: str) -> str:
    """A server's own words (a refusal, a BYE), for the end of a sentence: one line of
    printable text, cut to SAID_LIMIT characters, whatever the server sent."""
    return one_line(text)[:SAID_LIMIT]


def explain(exc: BaseException, endpoint: Endpoint) -> DeskError:
    """Turn a network or TLS failure into one sentence that says what to do."""
    where, label = endpoint.where, endpoint.label
    if isinstance(exc, DeskError):
        return exc
    # Libraries wrap the socket error (aiosmtplib's SMTPConnectError): explain the cause.
    cause = exc.__cause__
    if cause is not None and isinstance(cause, OSError) and not isinstance(exc, OSError):
        return explain(cause, endpoint)
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = exc.verify_message or str(exc)
        return CertificateError(
            f"The {label} certificate of {where} is not trusted ({reason}); set tls_ca_file to "
            "the CA that signed it, or allow_self_signed = true to pin this certificate."
        )
    if isinstance(exc, ssl.SSLError):
        return DeskError(
            f"The TLS handshake with {label} server {where} failed ({exc.reason or exc}); check "
            "that security (ssl or starttls) matches the port."
        )
    if isinstance(exc, socket.gaierror):
        return DeskError(f"The host name {endpoint.host!r} could not be resolved; check the host.")
    if isinstance(exc, ConnectionRefusedError):
        return DeskError(
            f"The connection to {label} server {where} was refused; check the host and port, "
            "and that the server is running."
        )
    if isinstance(exc, TimeoutError | socket.timeout):
        return DeskError(
            f"The {label} server {where} did not answer within {endpoint.timeout:g} s; check the "
            "host, port and firewall, or raise the channel's timeout."
        )
    import imaplib  # here, not at the top: the read model imports this module for its
    import poplib  # error words, and need not load the mail protocols for them

    if isinstance(exc, ConnectionError | EOFError | imaplib.IMAP4.abort | poplib.error_proto):
        return DeskError(
            f"The {label} server {where} closed the connection unexpectedly; check that "
            "security (ssl or starttls) matches the port, and try again."
        )
    if isinstance(exc, OSError):
        return DeskError(f"Cannot reach {label} server {where} ({exc.strerror or exc}).")
    return DeskError(f"{label} server {where} failed: {type(exc).__name__}.")
