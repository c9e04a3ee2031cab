"""Where Microsoft 365 and Google keep their OAuth2 endpoints, and the scopes mail needs.

A channel file names its provider and, for Microsoft, its tenant; the endpoints follow from
them. `token_endpoint` / `device_endpoint` in the file replace a preset's (a national cloud, a
proxy); `generic` has no preset and takes both.
"""

from __future__ import annotations

import re

from deskterm.errors import ConfigError
from deskterm.net.oauth2 import Endpoints, check_endpoint

PROVIDERS = ("microsoft", "google", "generic")

MICROSOFT = "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/"
# Exchange Online's delegated permissions for IMAP, POP and SMTP AUTH; offline_access is what
# makes Microsoft issue a refresh token at all.
MICROSOFT_SCOPE = (
    "https://outlook.office365.com/IMAP.AccessAsUser.All "
    "https://outlook.office365.com/POP.AccessAsUser.All "
    "https://outlook.office365.com/SMTP.Send offline_access"
)
GOOGLE_TOKEN = "https://oauth2.googleapis.com/token"
GOOGLE_DEVICE = "https://oauth2.googleapis.com/device/code"
GOOGLE_SCOPE = "https://mail.google.com/"  # the only Gmail scope IMAP, POP and SMTP accept

# A directory (tenant) id, a verified domain, or organizations / common / consumers: one path
# segment, so a tenant can never change which host or path the endpoints point at.
_TENANT = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,253}")


def endpoints(
    provider: str,
    tenant_id: str | None = None,
    token_endpoint: str | None = None,
    device_endpoint: str | None = None,
) -> Endpoints:
    """The provider's endpoints, each replaced by its override when given; both checked."""
    if provider not in PROVIDERS:
        raise ConfigError(
            f"provider = {provider!r} is not one of {', '.join(PROVIDERS)}; use generic with "
            "token_endpoint and device_endpoint for any other provider."
        )
    urls = {"token_endpoint": token_endpoint, "device_endpoint": device_endpoint}
    missing = [key for key, url in urls.items() if not url]
    if missing and provider == "generic":
        raise ConfigError(
            f'provider = "generic" needs {missing[0]} in the [oauth2] table; set it to the '
            "provider's URL."
        )
    preset = _preset(provider, tenant_id) if missing else {}  # both overridden: no tenant needed
    return Endpoints(
        token=check_endpoint(token_endpoint or preset["token_endpoint"], "token_endpoint"),
        device=check_endpoint(device_endpoint or preset["device_endpoint"], "device_endpoint"),
    )


def default_scope(provider: str) -> str:
    """The scope to ask for when the channel file names none ("" for generic)."""
    return {"microsoft": MICROSOFT_SCOPE, "google": GOOGLE_SCOPE}.get(provider, "")


def _preset(provider: str, tenant_id: str | None) -> dict[str, str]:
    if provider == "google":
        return {"token_endpoint": GOOGLE_TOKEN, "device_endpoint": GOOGLE_DEVICE}
    base = MICROSOFT.format(tenant=_tenant(tenant_id))
    return {"token_endpoint": base + "token", "device_endpoint": base + "devicecode"}


def _tenant(tenant_id: str | None) -> str:
    if not tenant_id:
        raise ConfigError(
            'provider = "microsoft" needs tenant_id in the [oauth2] table; set it to your '
            'directory (tenant) id or domain, or "organizations" for any work account.'
        )
    if not _TENANT.fullmatch(tenant_id):
        raise ConfigError(
            f"tenant_id = {tenant_id!r} is not a tenant id or domain; copy the directory "
            "(tenant) id from the Azure portal."
        )
    return tenant_id
