"""What Microsoft 365 and Gmail need that deskterm cannot check or set: said by the connection
test (`deskterm channel test`, the form's Test) beside the step before the login.

Both providers refuse a login for reasons that live in their admin pages, and their refusals
rarely name them ("535 5.7.139 Authentication unsuccessful", "AUTHENTICATE failed"). A side
is taken for theirs by its OAuth2 provider or by its server's host name.
"""

from __future__ import annotations

from deskterm.channels import registry, tokens
from deskterm.errors import ConfigError
from deskterm.store.models import Channel

MICROSOFT_HOSTS = ("office365.com", "outlook.com")
GOOGLE_HOSTS = ("gmail.com", "googlemail.com")

AUTHENTICATED_SMTP = (
    'Microsoft 365 sends only for a mailbox with "Authenticated SMTP" enabled (Microsoft 365 '
    "admin center: Users, the mailbox's user, Mail, Manage email apps); without it the AUTH "
    "step fails with 535 5.7.139."
)
MICROSOFT_PASSWORD = (
    "Microsoft 365 refuses password logins to IMAP and POP; sign in with OAuth2 (auth = "
    '"oauth2", provider = "microsoft" in [oauth2], then `deskterm channel auth NAME`).'
)
GMAIL_PASSWORD = (
    "Gmail takes a password login only with an app password (Google Account: Security, "
    "2-Step Verification, App passwords), not the account's password; or sign in with OAuth2 "
    '(auth = "oauth2", provider = "google").'
)


def for_side(channel: Channel, side: str) -> str:
    """The advice that applies to a channel's side, or ""."""
    settings = registry.side_config(channel, side)
    provider = _provider(channel, side, settings.host)
    if provider == "microsoft" and side == "outbound":
        return AUTHENTICATED_SMTP
    if settings.auth == "oauth2":
        return ""
    if provider == "microsoft":
        return MICROSOFT_PASSWORD.replace("NAME", channel.name)
    if provider == "google":
        return GMAIL_PASSWORD
    return ""


def _provider(channel: Channel, side: str, host: str) -> str:
    """microsoft, google, or "" for any other server."""
    try:
        table = tokens.oauth2_of(channel, side)
    except ConfigError:  # an [oauth2] table that does not say: go by the host
        table = None
    if table is not None and table.provider in ("microsoft", "google"):
        return table.provider
    name = host.lower().rstrip(".")
    for provider, domains in (("microsoft", MICROSOFT_HOSTS), ("google", GOOGLE_HOSTS)):
        if any(name == d or name.endswith("." + d) for d in domains):
            return provider
    return ""
