"""Which OAuth2 endpoints a channel may use: the providers' presets and the https rule."""

from __future__ import annotations

import pytest

from deskterm.errors import ConfigError
from deskterm.net import oauth2, oauth2_providers
from deskterm.net.oauth2 import Endpoints

pytestmark = pytest.mark.without_database

# --- endpoints --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://login.microsoftonline.com/common/oauth2/v2.0/token",
        "http://127.0.0.1:10080/token",
        "http://127.9.9.9/token",
        "http://[::1]:8080/token",
        "http://localhost/token",
        "HTTP://LOCALHOST:1/token",
    ],
)
def test_endpoints_allowed(url: str) -> None:
    assert oauth2.check_endpoint(url, "token_endpoint") == url


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("http://login.example.com/token", r"plain http:// to another machine.*; use https\.$"),
        ("http://10.0.0.1/token", "; use https."),
        ("http://[::2]/token", "; use https."),
        ("http://localhost.example.com/token", "; use https."),
        ("ftp://example.com/token", r"is not an https:// URL; use https\.$"),
        ("login.example.com/token", "is not an https:// URL"),
        ("https://user:pw@example.com/token", "holds a user name or password"),
    ],
)
def test_endpoints_refused(url: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        oauth2.check_endpoint(url, "token_endpoint")


def test_plain_http_to_another_machine_is_never_contacted() -> None:
    endpoints = Endpoints("http://192.0.2.1/token", "http://192.0.2.1/devicecode")
    with pytest.raises(ConfigError, match=r"token_endpoint = 'http://192\.0\.2\.1/token'"):
        oauth2.refresh(endpoints, "cid", "rt", "")
    with pytest.raises(ConfigError, match="device_endpoint"):
        oauth2.start_device_flow(endpoints, "cid", "")


# --- presets ----------------------------------------------------------------------------------


def test_microsoft_preset() -> None:
    for tenant in ("organizations", "common", "contoso.onmicrosoft.com", "0f1e2d3c-aaaa-4bbb"):
        found = oauth2_providers.endpoints("microsoft", tenant)
        base = f"https://login.microsoftonline.com/{tenant}/oauth2/v2.0"
        assert found == Endpoints(f"{base}/token", f"{base}/devicecode")
    assert oauth2_providers.default_scope("microsoft") == (
        "https://outlook.office365.com/IMAP.AccessAsUser.All "
        "https://outlook.office365.com/POP.AccessAsUser.All "
        "https://outlook.office365.com/SMTP.Send offline_access"
    )


@pytest.mark.parametrize(
    ("tenant", "match"),
    [
        (None, 'provider = "microsoft" needs tenant_id'),
        ("", "needs tenant_id"),
        ("evil.com/x?", "is not a tenant id or domain"),
        ("../common", "is not a tenant id or domain"),
    ],
)
def test_microsoft_tenant_checked(tenant: str | None, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        oauth2_providers.endpoints("microsoft", tenant)


def test_google_preset() -> None:
    assert oauth2_providers.endpoints("google") == Endpoints(
        "https://oauth2.googleapis.com/token", "https://oauth2.googleapis.com/device/code"
    )
    assert oauth2_providers.default_scope("google") == "https://mail.google.com/"


def test_overrides_replace_presets() -> None:
    found = oauth2_providers.endpoints("google", token_endpoint="https://proxy.example/token")
    assert found == Endpoints("https://proxy.example/token", oauth2_providers.GOOGLE_DEVICE)
    # Both overridden: Microsoft needs no tenant then (a national cloud, say).
    found = oauth2_providers.endpoints(
        "microsoft", None, "https://login.microsoftonline.us/t/token", "https://x.us/device"
    )
    assert found == Endpoints("https://login.microsoftonline.us/t/token", "https://x.us/device")
    with pytest.raises(ConfigError, match=r"device_endpoint = 'http://example\.com/d'.*use https"):
        oauth2_providers.endpoints("google", device_endpoint="http://example.com/d")


def test_generic_needs_both_endpoints() -> None:
    with pytest.raises(ConfigError, match='"generic" needs token_endpoint'):
        oauth2_providers.endpoints("generic", device_endpoint="https://x/device")
    with pytest.raises(ConfigError, match='"generic" needs device_endpoint'):
        oauth2_providers.endpoints("generic", token_endpoint="https://x/token")
    found = oauth2_providers.endpoints("generic", None, "https://x/token", "https://x/device")
    assert found == Endpoints("https://x/token", "https://x/device")
    assert oauth2_providers.default_scope("generic") == ""


def test_unknown_provider() -> None:
    with pytest.raises(ConfigError, match="'yahoo' is not one of microsoft, google, generic"):
        oauth2_providers.endpoints("yahoo")
