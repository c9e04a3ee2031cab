"""Reply templates (canned responses) with `$variable` placeholders, and the one template
that is not a reply: `invitation`, the mail an invited agent gets.

`string.Template` semantics: `$name` or `${name}`, `$$` for a dollar. Unknown variables are
refused when the template is saved, so a reply never goes out with a silent blank; which
variables are known depends on the template (`variables_for`). `preview` fills a text with
sample values (or a real conversation's), so an admin sees the result before saving it.
"""

from __future__ import annotations

import string
from typing import Any

import peewee

from deskterm.desk import agents
from deskterm.errors import ConfigError, NotFound
from deskterm.mail import compose
from deskterm.sanitize import one_line
from deskterm.store.db import database
from deskterm.store.models import Agent, Contact, Conversation, Template

VARIABLES = {
    "contact_name": "the customer's name (or address when no name is known)",
    "contact_email": "the customer's address",
    "conversation_id": "the conversation number",
    "subject": "the conversation's subject",
    "agent_name": "the replying agent's name (DESKTERM_AGENT, or the login name)",
    "channel_name": "the channel's name",
}
INVITATION = "invitation"
INVITATION_VARIABLES = {
    "invitee_name": "the invited agent's name",
    "invitee_email": "the invited agent's address",
    "invitee_handle": "the invited agent's handle (DESKTERM_AGENT, assign, @mentions)",
    "agent_name": "the inviting agent's name (DESKTERM_AGENT, or the login name)",
}
# The invitation until an admin saves one of their own (`template add invitation --file F`).
DEFAULT_INVITATION = """Hello $invitee_name,

$agent_name has added you to our help desk as an agent. We answer our customers' mail from
the terminal with deskterm, together, on one shared desk.

Your handle is $invitee_handle: conversations are assigned to you by it, and colleagues
mention you in internal notes as @$invitee_handle.

To start:
  1. Install deskterm (see its README: scripts/install).
  2. Ask your administrator for the desk's DESKTERM_DATABASE_URL, and set it.
  3. Set DESKTERM_AGENT=$invitee_handle (or pick yourself when deskterm first asks).
  4. Run `deskterm`: the list opens; press ? for the keys, m to take a conversation.

Welcome aboard,
$agent_name
"""
SLA_WARNING = "sla_warning"
SLA_VARIABLES = {
    **{k: v for k, v in VARIABLES.items() if k != "agent_name"},
    "agent_name": 'the assignee\'s name ("the team" when nobody is assigned)',
    "due_at": "when the target is due (the policy's time zone)",
    "sla_target": "first response or resolution",
    "sla_state": "is due soon (the warning) or is breached (the breach notice)",
}
# The SLA warning and breach notice until an admin saves their own `sla_warning` template.
DEFAULT_SLA_WARNING = """Hello $agent_name,

Conversation #$conversation_id ($subject) from $contact_name $sla_state: its $sla_target
target is due at $due_at.

Open it in deskterm with / #$conversation_id, or: deskterm show $conversation_id
"""
# What `preview` fills in where no conversation or agent is given: plainly made up.
SAMPLE = {
    "contact_name": "Jane Doe",
    "contact_email": "jane@example.com",
    "conversation_id": 42,
    "subject": "Where is my order?",
    "channel_name": "support",
    "invitee_name": "Robin Example",
    "invitee_email": "robin@example.com",
    "invitee_handle": "robin",
    "due_at": "2025-03-04 17:00 Europe/Berlin",
    "sla_target": "first response",
    "sla_state": "is due soon",
}


def variables_for(name: str | None) -> dict[str, str]:
    """The variables a template of this name may use: the invitation's and the SLA
    notice's own, else a reply's."""
    if name == SLA_WARNING:
        return SLA_VARIABLES
    return INVITATION_VARIABLES if name == INVITATION else VARIABLES


def check(body: str, name: str | None = None) -> None:
    if not body.strip():
        raise ConfigError("The template is empty.")
    template = string.Template(body)
    if not template.is_valid():
        raise ConfigError(
            "The template has a stray $; write $$ for a dollar sign, or $name for a variable."
        )
    known = variables_for(name)
    unknown = sorted(set(template.get_identifiers()) - set(known))
    if unknown:
        raise ConfigError(
            f"Unknown template variable {', '.join('$' + u for u in unknown)}; "
            f"use {', '.join('$' + v for v in known)}."
        )


def check_name(name: str) -> None:
    if not name.strip():
        raise ConfigError("The template needs a name.")
    if one_line(name) != name:
        raise ConfigError("A template name is one line of text, without spaces at either end.")


def save(name: str, body: str, *, renaming: str | None = None) -> Template:
    """Add or replace the template `name`; with `renaming`, that one becomes `name`.

    A rename never overwrites another template, and is one transaction: the template is
    never left under both names, nor under none.
    """
    check_name(name)
    check(body, name)
    with database.atomic():
        if renaming is not None and renaming != name:
            if Template.select().where(Template.name == name).exists():
                raise ConfigError(
                    f"There is already a template named {name!r}; edit that one or pick "
                    "another name."
                )
            get(renaming).delete_instance()
        row, created = Template.get_or_create(name=name, defaults={"body": body})
        if not created:
            row.body = body
            row.save()
    return row


def get(name: str) -> Template:
    try:
        return Template.get(Template.name == name)
    except peewee.DoesNotExist:
        raise NotFound(
            f"There is no template named {name!r}; `deskterm template list` shows them."
        ) from None


def remove(name: str) -> None:
    get(name).delete_instance()


def all_templates() -> list[Template]:
    return list(Template.select().order_by(Template.name))


def render(body: str, values: dict[str, Any], name: str | None = None) -> str:
    known = variables_for(name)
    return string.Template(body).substitute({k: str(values.get(k, "")) for k in known})


def preview(name: str | None, body: str, conversation: Conversation | None = None) -> str:
    """`body` as template `name` would come out, checked first (the sentence `save` would
    give): filled for `conversation` when given, else with SAMPLE values; `$agent_name` is
    the agent at this keyboard."""
    check(body, name)
    values: dict[str, Any] = {**SAMPLE, "agent_name": agents.display_name()}
    if conversation is not None and name != INVITATION:
        values = {**values, **_values(conversation, None)}  # an SLA notice's times: samples
    return render(body, values, name)


def invitation_body() -> str:
    """The invitation's text: the saved `invitation` template, else DEFAULT_INVITATION."""
    return body_of(INVITATION)


def body_of(name: str) -> str:
    """The saved template `name`'s text; for the desk's own mails (the invitation, the SLA
    notice) their built-in text until one is saved; else NotFound."""
    row = Template.get_or_none(Template.name == name)
    if row is not None:
        return str(row.body)
    built_in = {INVITATION: DEFAULT_INVITATION, SLA_WARNING: DEFAULT_SLA_WARNING}
    if name in built_in:
        return built_in[name]
    return str(get(name).body)


def fill_invitation(invitee: Agent, inviter: str | None = None) -> str:
    """The invitation for `invitee`, signed by `inviter` (the agent at this keyboard)."""
    values = {
        "invitee_name": invitee.name,
        "invitee_email": invitee.email or "",
        "invitee_handle": invitee.handle,
        "agent_name": inviter or agents.display_name(),
    }
    return render(invitation_body(), values, INVITATION)


def fill_sla_warning(conversation: Conversation, assignee: str, sla_values: dict[str, str]) -> str:
    """The SLA warning or breach notice for this conversation, to `assignee` (a name), with
    `sla_values` giving $due_at, $sla_target and $sla_state: the saved `sla_warning`
    template, else DEFAULT_SLA_WARNING."""
    values = {**_values(conversation, assignee), **sla_values}
    return render(body_of(SLA_WARNING), values, SLA_WARNING)


def fill(name: str, conversation: Conversation, agent: str | None = None) -> str:
    """The template `name` with its variables filled for a reply to this conversation, signed
    by `agent` (the replying agent when not given)."""
    return render(get(name).body, _values(conversation, agent), name)


def _values(conversation: Conversation, agent: str | None) -> dict[str, Any]:
    """What each of VARIABLES stands for in a reply to this conversation."""
    contact: Contact | None = conversation.contact
    return {
        "contact_name": (contact.name or contact.email) if contact else "",
        "contact_email": contact.email if contact else "",
        "conversation_id": conversation.id,
        "subject": compose.base_subject(conversation.subject),
        "agent_name": agent or agents.display_name(),
        "channel_name": conversation.channel.name,
    }
