"""The OAuth2 client's grants against the suite's real OAuth2 server on 127.0.0.1.

tests/servers/oauth.py runs it: refresh tokens rotate there (the old one is then refused),
device codes stay pending until approved, and are slowed down when polled too fast, denied or
expired. Also the SASL strings, and that no token is ever shown.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from deskterm.errors import ConfigError
from deskterm.net import oauth2
from deskterm.net.oauth2 import DeviceCode, Endpoints, OAuthError, Token
from tests.servers.oauth import OAuthServer, private_oauth_server

pytestmark = pytest.mark.without_database

# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture
def endpoints(oauth_server: OAuthServer) -> Endpoints:
    return Endpoints(token=oauth_server.token_url(), device=oauth_server.device_url())


@pytest.fixture(scope="module")
def short_lived() -> Iterator[OAuthServer]:
    """A server whose device codes live 2 s."""
    with private_oauth_server(device_ttl=2) as server:
        yield server


def device_state(server: OAuthServer, device: DeviceCode) -> dict[str, Any]:
    """The server's record of the device code."""
    (state,) = [d for d in server.state()["device"].values() if d["user_code"] == device.user_code]
    return state


def device_endpoints(server: OAuthServer) -> Endpoints:
    return Endpoints(token=server.token_url(), device=server.device_url())


# --- the device grant -----------------------------------------------------------------------


def test_device_flow_approved(oauth_server: OAuthServer, endpoints: Endpoints) -> None:
    device = oauth2.start_device_flow(endpoints, oauth_server.client_id, "mail offline_access")
    assert device.verification_uri == f"{oauth_server.url}/approve"
    assert (
        device.verification_uri_complete
        == f"{device.verification_uri}?user_code={device.user_code}"
    )
    assert device.interval == 1 and 590 < device.expires_at - time.time() <= 600
    oauth_server.approve(device.user_code)
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    token = oauth2.poll_device_flow(endpoints, oauth_server.client_id, device, sleep=sleep)
    assert waits == [1.0]  # the server's interval, before the first poll
    assert token.refresh_token and token.scope == "mail offline_access"
    assert 290 < token.expires_at - time.time() <= 300
    # The refresh token it gave works (and rotates).
    again = oauth2.refresh(endpoints, oauth_server.client_id, token.refresh_token, "")
    assert again.access_token != token.access_token
    assert again.refresh_token not in (None, token.refresh_token)


def test_device_flow_pending_until_approved(
    oauth_server: OAuthServer, endpoints: Endpoints
) -> None:
    """authorization_pending keeps polling; the sign-in in between ends it."""
    device = oauth2.start_device_flow(endpoints, oauth_server.client_id, "")
    polls = 0

    def sleep(seconds: float) -> None:
        nonlocal polls
        polls += 1
        if polls == 3:
            oauth_server.approve(device.user_code)
        time.sleep(seconds)

    token = oauth2.poll_device_flow(endpoints, oauth_server.client_id, device, sleep=sleep)
    assert polls == 3 and token.access_token
    assert token.scope == "mail offline_access"  # the server's default, as it answered


def test_device_flow_denied(oauth_server: OAuthServer, endpoints: Endpoints) -> None:
    device = oauth2.start_device_flow(endpoints, oauth_server.client_id, "")
    oauth_server.deny(device.user_code)
    with pytest.raises(OAuthError) as caught:
        oauth2.poll_device_flow(endpoints, oauth_server.client_id, device)
    assert caught.value.code == "access_denied"
    assert str(caught.value).startswith("The sign-in was declined; ")
    assert caught.value.what == "The sign-in was declined"


def test_device_flow_expired_at_the_server(short_lived: OAuthServer) -> None:
    """The server says expired_token (our own clock is told the code lives longer)."""
    endpoints = device_endpoints(short_lived)
    device = oauth2.start_device_flow(endpoints, short_lived.client_id, "")
    device = dataclasses.replace(device, expires_at=time.time() + 60, interval=2.5)
    with pytest.raises(OAuthError) as caught:
        oauth2.poll_device_flow(endpoints, short_lived.client_id, device)
    assert caught.value.code == "expired_token"
    assert caught.value.what == "The code expired before anyone signed in"
    advice = caught.value.with_advice("run `deskterm channel auth support` again")
    assert str(advice) == (
        "The code expired before anyone signed in; run `deskterm channel auth support` again."
    )
    assert advice.code == "expired_token"


def test_device_flow_expired_by_its_own_clock(short_lived: OAuthServer) -> None:
    """Polling stops at the code's expiry, without waiting a whole interval past it."""
    endpoints = device_endpoints(short_lived)
    device = oauth2.start_device_flow(endpoints, short_lived.client_id, "")
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    with pytest.raises(OAuthError) as caught:
        oauth2.poll_device_flow(
            endpoints, short_lived.client_id, dataclasses.replace(device, interval=30), sleep=sleep
        )
    assert caught.value.code == "expired_token"
    assert len(waits) == 1 and waits[0] <= 2


def test_device_flow_slow_down(oauth_server: OAuthServer, endpoints: Endpoints) -> None:
    """Polled too fast, the server answers slow_down: the interval grows by 5 s for good."""
    device = oauth2.start_device_flow(endpoints, oauth_server.client_id, "")
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) <= 2:
            return  # two polls at once: the second is too fast
        oauth_server.approve(device.user_code)
        time.sleep(seconds)

    token = oauth2.poll_device_flow(endpoints, oauth_server.client_id, device, sleep=sleep)
    assert waits == [1.0, 1.0, 6.0]
    assert token.access_token
    state = device_state(oauth_server, device)
    assert state["interval"] == 6 and state["status"] == "used"


def test_device_flow_cancelled(oauth_server: OAuthServer, endpoints: Endpoints) -> None:
    device = oauth2.start_device_flow(endpoints, oauth_server.client_id, "")
    cancel = threading.Event()

    def sleep(seconds: float) -> None:
        cancel.set()  # the user presses Esc while we wait

    with pytest.raises(OAuthError) as caught:
        oauth2.poll_device_flow(
            endpoints, oauth_server.client_id, device, sleep=sleep, cancelled=cancel.is_set
        )
    assert caught.value.code == "cancelled"
    assert device_state(oauth_server, device)["polls"] == 0  # cancelled before the first poll


def test_device_flow_needs_a_device_endpoint(oauth_server: OAuthServer) -> None:
    with pytest.raises(ConfigError, match="device_endpoint"):
        oauth2.start_device_flow(Endpoints(oauth_server.token_url(), None), "x", "")


# --- the refresh grant ----------------------------------------------------------------------


def test_refresh_rotates_and_the_old_token_is_refused(
    oauth_server: OAuthServer, endpoints: Endpoints
) -> None:
    old = oauth_server.issue()
    token = oauth2.refresh(
        endpoints, oauth_server.client_id, old, "mail", oauth_server.client_secret
    )
    assert token.refresh_token not in (None, old) and token.scope == "mail"
    assert 290 < token.expires_at - time.time() <= 300
    with pytest.raises(OAuthError) as caught:
        oauth2.refresh(endpoints, oauth_server.client_id, old, "mail", oauth_server.client_secret)
    error = caught.value
    assert error.code == "invalid_grant"
    assert error.what.startswith("The OAuth2 server 127.0.0.1 no longer accepts the stored sign-in")
    assert old not in str(error) and oauth_server.client_secret not in str(error)
    assert str(error.with_advice("run `deskterm channel auth support`")).endswith(
        "; run `deskterm channel auth support`."
    )
    # The rotated one works: a client that stores it keeps going.
    assert oauth2.refresh(endpoints, oauth_server.client_id, token.refresh_token or "", "")


def test_refresh_with_a_revoked_token(oauth_server: OAuthServer, endpoints: Endpoints) -> None:
    revoked = oauth_server.issue()
    oauth_server.revoke(token=revoked)
    with pytest.raises(OAuthError) as caught:
        oauth2.refresh(endpoints, oauth_server.client_id, revoked, "")
    assert caught.value.code == "invalid_grant" and revoked not in str(caught.value)


def test_refresh_with_a_wrong_client_secret(
    oauth_server: OAuthServer, endpoints: Endpoints
) -> None:
    token = oauth_server.issue()
    with pytest.raises(OAuthError) as caught:
        oauth2.refresh(endpoints, oauth_server.client_id, token, "", "wrong-secret-1234")
    assert caught.value.code == "invalid_client"
    assert "wrong-secret-1234" not in str(caught.value) and token not in str(caught.value)
    # Refused, it was not redeemed: the right secret still works.
    assert oauth2.refresh(endpoints, oauth_server.client_id, token, "", oauth_server.client_secret)


def test_no_token_reaches_the_logs(
    oauth_server: OAuthServer, endpoints: Endpoints, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    old = oauth_server.issue()
    token = oauth2.refresh(endpoints, oauth_server.client_id, old, "", oauth_server.client_secret)
    with pytest.raises(OAuthError):
        oauth2.refresh(endpoints, oauth_server.client_id, old, "", oauth_server.client_secret)
    for secret in (old, token.access_token, token.refresh_token or "", oauth_server.client_secret):
        assert secret not in caplog.text


# --- SASL and what is shown -------------------------------------------------------------------


def test_xoauth2() -> None:
    assert oauth2.xoauth2("support@desk.test", "tok") == (
        "user=support@desk.test\x01auth=Bearer tok\x01\x01"
    )


def test_oauthbearer() -> None:
    assert oauth2.oauthbearer("support@desk.test", "tok", "imap.example.com", 993) == (
        "n,a=support@desk.test,\x01host=imap.example.com\x01port=993\x01auth=Bearer tok\x01\x01"
    )
    # RFC 5801's saslname: "=" and "," escaped.
    assert oauth2.oauthbearer("a=b,c@x", "t", "h", 1).startswith("n,a=a=3Db=2Cc@x,\x01")


def test_sasl_refuses_control_characters() -> None:
    with pytest.raises(ConfigError):
        oauth2.xoauth2("support@desk.test\x01auth=Bearer x", "tok")
    with pytest.raises(ConfigError):
        oauth2.oauthbearer("support@desk.test", "tok", "host\x01port=1", 1)


def test_tokens_never_shown() -> None:
    token = Token("AT-secret-value", time.time() + 100, "RT-secret-value", "mail")
    device = DeviceCode("ABCD-EFGH", "https://x/device", None, time.time() + 60, 5, "DC-secret")
    for shown in (repr(token), str(token), repr(device), str(device), repr([token, device])):
        assert "secret" not in shown
    assert "ABCD-EFGH" in repr(device)  # what the person signing in must see
    assert "expiring in" in repr(token)
