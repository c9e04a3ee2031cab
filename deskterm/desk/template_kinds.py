"""What each kind of template is for, which `$variables` it may use, and its built-in text.

A template is a reply (a canned response, also what a channel's `auto_ack_template` names) or
one of the notifications the desk writes by itself:

- `reply`: inserted by an agent (Ctrl+T, `reply --template`, a macro), or sent as the
  new-conversation acknowledgement when a channel names it as `auto_ack_template`.
- `reply_notification`: the layout of every agent's reply on a channel that names it as
  `reply_template`: the reply's text goes where `$reply_text` stands. On an email desk the
  customer is notified of an agent's reply by the reply itself (there is no portal or chat
  to point them to), so this is not a second mail: it wraps the one mail, whoever wrote it
  and wherever (the app, `deskterm reply`, a macro).
- `resolved`: mailed to the customer, through the channel's outbox, when an agent resolves
  the conversation and the channel names it as `resolved_template`.
- `sla_warning`: the breach warning mailed to the assignee through the desk's system SMTP;
  the SLA's worker fills `$due_at` and `$sla_target`, `$agent_name` is the assignee.
- `invitation`: the mail an invited agent gets (outbound/invitations.py).

`sla_warning` and `invitation` are one template each, found by that name, with a built-in text
until an admin saves their own. The others are chosen by name in a channel's settings.

`$field_<name>` (a conversation's custom field, `deskterm field add`) is accepted by every kind
that has a conversation; it is resolved by `field_value`, which gives the field's stored value,
or "" where the conversation has no such field or no value (a template shared by types).
"""

from __future__ import annotations

from dataclasses import dataclass

from deskterm.errors import ConfigError

REPLY = "reply"
REPLY_NOTIFICATION = "reply_notification"
RESOLVED = "resolved"
SLA_WARNING = "sla_warning"
INVITATION = "invitation"

CONVERSATION = {
    "contact_name": "the customer's name (or address when no name is known)",
    "contact_email": "the customer's address",
    "conversation_id": "the conversation number",
    "subject": "the conversation's subject",
    "agent_name": "the replying agent's name (DESKTERM_AGENT, or the login name)",
    "channel_name": "the channel's name",
}
FIELD_PREFIX = "field_"  # $field_<name>: a custom field of the conversation

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

DEFAULT_SLA_WARNING = """Hello $agent_name,

Conversation #$conversation_id ($subject) from $contact_name $sla_state: its $sla_target target
is due at $due_at.

Open it in deskterm with / #$conversation_id, or: deskterm show $conversation_id
"""

DEFAULT_RESOLVED = """Hello $contact_name,

We have marked your request "$subject" as resolved. If anything is still not right, simply
reply to this mail and it reopens.

$agent_name
"""

DEFAULT_REPLY_NOTIFICATION = """Hello $contact_name,

$reply_text

$agent_name
"""


@dataclass(frozen=True)
class Kind:
    name: str
    what: str  # one line: what this kind of template is for
    variables: dict[str, str]
    default: str | None = None  # the built-in text, where the desk sends it by itself
    conversation: bool = True  # filled for a conversation (so $field_<name> is known)
    single: bool = False  # one template of this kind, found by the kind's name


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind(REPLY, "a reply an agent inserts, or a channel's acknowledgement", CONVERSATION),
        Kind(
            REPLY_NOTIFICATION,
            "the layout of every reply on a channel that names it (reply_template)",
            {**CONVERSATION, "reply_text": "the agent's reply, as they wrote it"},
            DEFAULT_REPLY_NOTIFICATION,
        ),
        Kind(
            RESOLVED,
            "mailed to the customer on resolve, where a channel names it (resolved_template)",
            {**CONVERSATION, "agent_name": "the name of the agent who resolved it"},
            DEFAULT_RESOLVED,
        ),
        Kind(
            SLA_WARNING,
            "mailed to the assignee before a conversation's SLA target is missed",
            {
                **CONVERSATION,
                "agent_name": "the assignee's name (whom the warning goes to)",
                "due_at": "when the target falls due (the desk's time zone)",
                "sla_target": "which target it is (first response or resolution)",
                "sla_state": "is due soon (the warning) or is breached (the breach notice)",
            },
            DEFAULT_SLA_WARNING,
            single=True,
        ),
        Kind(
            INVITATION,
            "mailed to an agent by `deskterm agent invite`",
            {
                "invitee_name": "the invited agent's name",
                "invitee_email": "the invited agent's address",
                "invitee_handle": "the invited agent's handle (DESKTERM_AGENT, assign, @mentions)",
                "agent_name": "the inviting agent's name (DESKTERM_AGENT, or the login name)",
            },
            DEFAULT_INVITATION,
            conversation=False,
            single=True,
        ),
    )
}

# What a preview fills in where no conversation or agent is given: plainly made up.
SAMPLE = {
    "contact_name": "Jane Doe",
    "contact_email": "jane@example.com",
    "conversation_id": 42,
    "subject": "Where is my order?",
    "channel_name": "support",
    "invitee_name": "Robin Example",
    "invitee_email": "robin@example.com",
    "invitee_handle": "robin",
    "reply_text": "Your parcel left our warehouse this morning.",
    "due_at": "2026-12-04 17:00 UTC",
    "sla_target": "first response",
    "sla_state": "is due soon",
}


def kind_of(name: str | None, kind: str | None = None) -> Kind:
    """The kind a template has: a one-of-its-kind name (`invitation`, `sla_warning`) is
    always that kind, whatever is asked; else `kind` (default: a reply)."""
    if name in KINDS and KINDS[name].single:
        return KINDS[name]
    if kind is None:
        return KINDS[REPLY]
    if kind not in KINDS or KINDS[kind].single:
        choices = ", ".join(k for k in KINDS if not KINDS[k].single)
        raise ConfigError(f"Template kind {kind!r} is not known; use {choices}.")
    return KINDS[kind]


def is_field(variable: str) -> bool:
    return variable.startswith(FIELD_PREFIX) and len(variable) > len(FIELD_PREFIX)


def field_value(conversation_id: int, name: str) -> str:
    """The conversation's custom field `name` as text, for `$field_<name>`.

    "" for a field the conversation does not have or that has no value, as any unknown
    variable would be: a template shared by several types stays usable.
    """
    from deskterm.desk.field_values import values_for  # the model layer's reader, no cycle

    return values_for([conversation_id]).get(conversation_id, {}).get(name.lower(), "") or ""
