"""Inviting an agent: the `invitation` template, filled for them, mailed through the desk's
own SMTP account (as system notifications are, outbound/notify.py), never a channel's: an
invitation is the desk writing to its staff, not to a customer, and goes in no outbox.

The invited agent's name and address were typed by another agent, so they are hostile like
any mail: the headers are written by `compose.notice`, never parsed from them.
"""

from __future__ import annotations

from deskterm.desk import agents, templates
from deskterm.errors import ConfigError
from deskterm.mail import addresses, compose
from deskterm.outbound import notify


def invite(who: str) -> str:
    """Mail the invitation to the agent `who` (handle or address); returns the address.
    An admin's part, as adding the agent is (`agents.may_administer`): the mail goes out
    through the desk's own account in its name."""
    agents.require_admin("invite agents")
    agent = agents.get(who)
    if not agent.email:
        raise ConfigError(
            f"{agent.handle} has no address to invite; remove the agent and add them again "
            "with one (`deskterm agent add EMAIL --name NAME`)."
        )
    inviter = agents.display_name()
    subject = f"{inviter} invites you to answer on the help desk as {agent.handle}"
    body = templates.fill_invitation(agent, inviter)
    sender = notify.sender()
    if addresses.parse_one(sender) is None:  # e.g. noreply@ a host without a domain
        raise ConfigError(
            f"{sender!r} cannot send an invitation (not an address other servers accept); "
            "set SMTP_FROM to the desk's own, e.g. SMTP_FROM='Support <support@example.com>'."
        )
    notify.send_system_mail(compose.notice(sender, (agent.name, agent.email), subject, body))
    return agent.email
