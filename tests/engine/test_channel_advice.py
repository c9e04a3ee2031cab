"""The seeds' advice for Microsoft 365 and Gmail (channels/advice.py): which side of which
channel gets which sentence, as `deskterm channel test` and the form's Test show it beside the
step before the login.

The hosts are the providers' own (imap.gmail.com, outlook.office365.com), which nothing here can
connect to, so the channels are added through the CLI as drafts and the advice is asked for
directly; `test_channel_test_gives_microsoft_365_advice` (test_oauth2_login.py) shows a line
on the wire.
"""

from __future__ import annotations

import pytest

from deskterm.channels import advice
from deskterm.channels import registry as channels
from deskterm.store import connection
from tests.conftest import Desk


def channel_file(name: str, inbound: str, outbound: str, *, oauth2: str = "") -> str:
    """A draft channel whose sides log in with passwords, unless `oauth2` names a provider."""
    auth = '\nauth = "oauth2"' if oauth2 else ""
    tenant = '\ntenant_id = "organizations"' if oauth2 == "microsoft" else ""
    table = f'\n[oauth2]\nprovider = "{oauth2}"\nclient_id = "app"{tenant}\n' if oauth2 else ""
    return f"""
name = "{name}"
status = "draft"
[inbound]
host = "{inbound}"
username = "support@example.com"{auth}
[outbound]
host = "{outbound}"
username = "support@example.com"
from = "support@example.com"{auth}
{table}"""


def advice_for(desk: Desk, name: str, inbound: str, outbound: str, oauth2: str = "") -> tuple:
    desk.add_channel(channel_file(name, inbound, outbound, oauth2=oauth2))
    connection.open_database()
    try:
        row = channels.get(name)
        return advice.for_side(row, "inbound"), advice.for_side(row, "outbound")
    finally:
        connection.close_database()


def test_a_gmail_password_login_is_told_about_app_passwords(desk: Desk) -> None:
    inbound, outbound = advice_for(desk, "gmail", "imap.gmail.com", "smtp.gmail.com")
    assert inbound == outbound == advice.GMAIL_PASSWORD
    assert "app password" in inbound and "not the account's password" in inbound
    # The older domain, and a host name written in capitals with the root's dot.
    assert advice_for(desk, "old", "IMAP.GoogleMail.COM.", "smtp.googlemail.com") == (
        advice.GMAIL_PASSWORD,
        advice.GMAIL_PASSWORD,
    )


def test_a_microsoft_365_password_login_is_told_to_sign_in_with_oauth2(desk: Desk) -> None:
    inbound, outbound = advice_for(desk, "m365", "outlook.office365.com", "smtp.office365.com")
    assert inbound == (
        "Microsoft 365 refuses password logins to IMAP and POP; sign in with OAuth2 (auth = "
        '"oauth2", provider = "microsoft" in [oauth2], then `deskterm channel auth m365`).'
    )
    assert outbound == advice.AUTHENTICATED_SMTP  # sending needs it whatever the login


def test_an_oauth2_sign_in_needs_no_password_advice(desk: Desk) -> None:
    assert advice_for(desk, "g", "imap.gmail.com", "smtp.gmail.com", oauth2="google") == ("", "")
    # By its provider, whatever the host: Microsoft 365's SMTP still needs Authenticated SMTP.
    inbound, outbound = advice_for(desk, "m", "mail.example.com", "smtp.example.com", "microsoft")
    assert (inbound, outbound) == ("", advice.AUTHENTICATED_SMTP)


@pytest.mark.parametrize(
    "host", ["mail.example.com", "gmail.com.example.net", "notgmail.com", "office365.com.evil"]
)
def test_other_servers_get_no_advice(desk: Desk, host: str) -> None:
    """Only the providers' domains and their subdomains: a look-alike name is another server."""
    assert advice_for(desk, "other", host, host) == ("", "")
