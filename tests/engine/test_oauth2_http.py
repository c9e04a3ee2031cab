"""The OAuth2 client against what no real authorization server sends on purpose.

A small real HTTP(S) server on 127.0.0.1 gives each test the answer it sets: redirects,
oversized or broken answers, server trouble, a token echoed in an error description, an
untrusted certificate, silence. It also keeps the forms the client sent.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

from deskterm.errors import DeskError
from deskterm.net import oauth2, oauth2_http
from deskterm.net.oauth2 import Endpoints, OAuthError
from deskterm.net.tls import CertificateError

pytestmark = pytest.mark.without_database


class Canned:
    """A real HTTP server on 127.0.0.1 that gives the answer a test sets, and keeps the forms."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        self.status, self.body, self.headers, self.delay = 200, b"{}", dict[str, str](), 0.0
        self.body_delay = 0.0  # between the headers and the body
        self.forms: list[dict[str, str]] = []
        canned = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                size = int(self.headers.get("Content-Length") or 0)
                form = parse_qs(self.rfile.read(size).decode())
                canned.forms.append({k: v[0] for k, v in form.items()})
                time.sleep(canned.delay)
                self.send_response(canned.status)
                for name, value in canned.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(canned.body)))
                self.end_headers()
                self.wfile.flush()
                time.sleep(canned.body_delay)
                self.wfile.write(canned.body)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, status: int, body: Any, **headers: str) -> Endpoints:
        self.status, self.headers = status, headers
        self.body = body if isinstance(body, bytes) else json.dumps(body).encode()
        return Endpoints(token=self.url("/token"), device=self.url("/devicecode"))

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def canned() -> Iterator[Canned]:
    server = Canned()
    yield server
    server.close()


GOOD = {"access_token": "at-" + "A" * 40, "token_type": "Bearer", "expires_in": 300}


# --- what the client sends and reads --------------------------------------------------------


def test_device_code_answer_validated(canned: Canned) -> None:
    """Google spells it verification_url; a URI that is not http(s) is not shown."""
    answer = {"device_code": "dc-" + "D" * 40, "user_code": "ABCD-EFGH", "expires_in": "1800"}
    endpoints = canned.answer(200, answer | {"verification_url": "https://www.google.com/device"})
    device = oauth2.start_device_flow(endpoints, "cid", "https://mail.google.com/", "csecret")
    assert device.verification_uri == "https://www.google.com/device"
    assert device.verification_uri_complete is None and device.interval == 5
    assert 1790 < device.expires_at - time.time() <= 1800
    assert canned.forms[-1] == {
        "client_id": "cid",
        "client_secret": "csecret",
        "scope": "https://mail.google.com/",
    }
    canned.answer(200, answer | {"verification_uri": "javascript:alert(1)"})
    with pytest.raises(DeskError, match="without a device code"):
        oauth2.start_device_flow(endpoints, "cid", "")


def test_refresh_sends_the_secret_in_the_form(canned: Canned) -> None:
    endpoints = canned.answer(200, GOOD)
    token = oauth2.refresh(endpoints, "cid", "rt-1", "scope-a", "csecret")
    assert canned.forms[-1] == {
        "client_id": "cid",
        "client_secret": "csecret",
        "grant_type": "refresh_token",
        "refresh_token": "rt-1",
        "scope": "scope-a",
    }
    assert token.refresh_token is None and token.scope == "scope-a"  # kept / as requested
    oauth2.refresh(endpoints, "cid", "rt-1", "", None)
    assert canned.forms[-1] == {
        "client_id": "cid",
        "grant_type": "refresh_token",
        "refresh_token": "rt-1",
    }


def test_refresh_answer_details(canned: Canned) -> None:
    """expires_in as a string (older Microsoft endpoints), an echoed refresh token."""
    endpoints = canned.answer(200, GOOD | {"expires_in": "3599", "refresh_token": "rt-1"})
    token = oauth2.refresh(endpoints, "cid", "rt-1", "")
    assert 3590 < token.expires_at - time.time() <= 3599 and token.refresh_token is None
    canned.answer(200, GOOD | {"token_type": "mac"})
    with pytest.raises(DeskError, match="not a Bearer token"):
        oauth2.refresh(endpoints, "cid", "rt-1", "")
    canned.answer(200, {"token_type": "Bearer"})
    with pytest.raises(DeskError, match="without an access token"):
        oauth2.refresh(endpoints, "cid", "rt-1", "")


# --- what a server may answer besides tokens --------------------------------------------------


def test_error_description_is_short_and_never_shows_a_token(canned: Canned) -> None:
    secret_rt = "0.AXoAsecretRefreshTokenValue-ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    description = (
        f"AADSTS70000: The provided value {secret_rt} is not valid. client_secret=csecret9 "
        "\x1b]52;c;AAAA\x07" + "x" * 300 + "\r\nTrace ID: 1234\r\nCorrelation ID: 5678"
    )
    endpoints = canned.answer(400, {"error": "invalid_grant", "error_description": description})
    with pytest.raises(OAuthError) as caught:
        oauth2.refresh(endpoints, "cid", secret_rt, "", "csecret9")
    message = str(caught.value)
    assert caught.value.code == "invalid_grant"
    assert "AADSTS70000: The provided value … is not valid." in message
    for leak in (secret_rt, "csecret9", "\x1b", "Trace ID", "x" * 200):
        assert leak not in message
    assert len(message) < 300 and message.count("\n") == 0


def test_error_code_from_the_server_is_checked(canned: Canned) -> None:
    endpoints = canned.answer(400, {"error": "bad\x1b[31mcode"})
    with pytest.raises(OAuthError) as caught:
        oauth2.refresh(endpoints, "cid", "rt", "")
    assert caught.value.code == "invalid_response" and "\x1b" not in str(caught.value)


@pytest.mark.parametrize(
    ("status", "body", "match"),
    [
        (503, {"error": "temporarily_unavailable"}, "try again later"),
        (
            500,
            {"error": "server_error", "error_description": "db down"},
            r"\(server_error: db down\)",
        ),
        (502, b"<html>Bad gateway</html>", "with HTTP 502 and no OAuth2 response"),
        (200, b"[1, 2]", "with HTTP 200 and no OAuth2 response"),
    ],
)
def test_server_trouble_is_not_an_auth_failure(
    canned: Canned, status: int, body: Any, match: str
) -> None:
    """A refresh that failed for the server's reasons must not make anyone sign in again."""
    endpoints = canned.answer(status, body)
    with pytest.raises(DeskError, match=match) as caught:
        oauth2.refresh(endpoints, "cid", "rt", "")
    assert not isinstance(caught.value, OAuthError)


def test_redirects_are_refused(canned: Canned) -> None:
    endpoints = canned.answer(307, b"", Location="http://127.0.0.1:9/elsewhere")
    with pytest.raises(DeskError, match=r"with a redirect \(HTTP 307\); set token_endpoint"):
        oauth2.refresh(endpoints, "cid", "rt", "")
    canned.answer(302, b"", Location="https://example.invalid/token")
    with pytest.raises(DeskError, match="redirect"):
        oauth2.refresh(endpoints, "cid", "rt", "")
    assert len(canned.forms) == 2  # nothing followed


def test_oversized_answer_is_refused(canned: Canned) -> None:
    endpoints = canned.answer(200, b"{" + b" " * (oauth2_http.MAX_RESPONSE + 10) + b"}")
    with pytest.raises(DeskError, match="more than 1 MB"):
        oauth2.refresh(endpoints, "cid", "rt", "")


def test_silent_server_times_out(canned: Canned) -> None:
    endpoints = canned.answer(200, GOOD)
    canned.delay = 2.0
    with pytest.raises(DeskError, match=r"did not answer within 0.5 s"):
        oauth2.refresh(endpoints, "cid", "rt", "", timeout=0.5)


def test_error_answer_whose_body_never_comes_times_out(canned: Canned) -> None:
    """An HTTP error's body is read as any other answer's: its timeout is a sentence too."""
    endpoints = canned.answer(400, {"error": "invalid_grant"})
    canned.body_delay = 2.0
    with pytest.raises(DeskError, match=r"did not answer within 0.5 s"):
        oauth2.refresh(endpoints, "cid", "rt", "", timeout=0.5)


def test_nothing_listening() -> None:
    endpoints = Endpoints("http://127.0.0.1:9/token", None)  # discard: nobody listens
    with pytest.raises(DeskError, match="refused the connection; check token_endpoint"):
        oauth2.refresh(endpoints, "cid", "rt", "")


# --- https ------------------------------------------------------------------------------------


@pytest.fixture
def https_server(tmp_path: Path) -> Iterator[tuple[Canned, Path]]:
    """`canned` behind TLS with a fresh self-signed certificate for 127.0.0.1."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
         "-nodes", "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True,
        capture_output=True,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = Canned(context)
    yield server, cert
    server.close()


def test_https_certificate_is_verified(
    https_server: tuple[Canned, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    canned, cert = https_server
    canned.answer(200, GOOD)
    endpoints = Endpoints(f"https://127.0.0.1:{canned.port}/token", None)
    with pytest.raises(CertificateError, match="is not trusted"):
        oauth2.refresh(endpoints, "cid", "rt", "")
    assert canned.forms == []  # nothing was sent to it
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # this machine now trusts it
    assert oauth2.refresh(endpoints, "cid", "rt", "").access_token == GOOD["access_token"]
