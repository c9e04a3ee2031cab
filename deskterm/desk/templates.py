"""Templates with `$variable` placeholders: reply templates (canned responses) and the
notifications the desk writes by itself (template_kinds.py says which kinds there are, their
variables and built-in texts).

`string.Template` semantics: `$name` or `${name}`, `$$` for a dollar. Unknown variables are
refused when the template is saved, so a mail never goes out with a silent blank; which
variables are known depends on the template's kind. Each template is text plus an optional
HTML part; values put into the HTML are escaped (a subject from mail is hostile), the HTML
the admin wrote is not. `preview` fills a text with sample values (or a real conversation's),
so an admin sees the result before saving it.
"""

from __future__ import annotations

import html as html_lib
import string
from dataclasses import dataclass
from typing import Any

import peewee

from deskterm.desk import agents, sla
from deskterm.desk import template_kinds as kinds
from deskterm.errors import ConfigError, NotFound
from deskterm.mail import compose
from deskterm.sanitize import one_line
from deskterm.store.db import database, utcnow
from deskterm.store.models import Agent, Contact, Conversation, Template

VARIABLES = kinds.CONVERSATION
INVITATION = kinds.INVITATION
INVITATION_VARIABLES = kinds.KINDS[INVITATION].variables
DEFAULT_INVITATION = kinds.DEFAULT_INVITATION
SAMPLE = kinds.SAMPLE


@dataclass(frozen=True)
class Filled:
    """A template filled for one mail: its text, and its HTML part when it has one."""

    text: str
    html: str | None = None


SLA_WARNING = kinds.SLA_WARNING


def variables_for(name: str | None, kind: str | None = None) -> dict[str, str]:
    """The variables a template of this name (and kind) may use."""
    return kinds.kind_of(name, kind).variables


def check(body: str, name: str | None = None, kind: str | None = None) -> None:
    if not body.strip():
        raise ConfigError("The template is empty.")
    _check_variables(body, name, kind)


def check_html(html: str, name: str | None = None, kind: str | None = None) -> None:
    """An HTML part's $variables, as `check` checks the text's ("" is no HTML part)."""
    if html.strip():
        _check_variables(html, name, kind, what="The HTML part")


def _check_variables(
    body: str, name: str | None, kind: str | None, what: str = "The template"
) -> None:
    template = string.Template(body)
    if not template.is_valid():
        raise ConfigError(
            f"{what} has a stray $; write $$ for a dollar sign, or $name for a variable."
        )
    of = kinds.kind_of(name, kind)
    unknown = sorted(
        v
        for v in set(template.get_identifiers()) - set(of.variables)
        if not (of.conversation and kinds.is_field(v))
    )
    if unknown:
        fields = ", $field_<name>" if of.conversation else ""
        raise ConfigError(
            f"Unknown template variable {', '.join('$' + u for u in unknown)}; "
            f"use {', '.join('$' + v for v in of.variables)}{fields}."
        )


def check_name(name: str) -> None:
    if not name.strip():
        raise ConfigError("The template needs a name.")
    if one_line(name) != name:
        raise ConfigError("A template name is one line of text, without spaces at either end.")


def save(
    name: str,
    body: str,
    *,
    renaming: str | None = None,
    kind: str | None = None,
    html: str | None = None,
) -> Template:
    """Add or replace the template `name` (of `kind`: kept as it was when None, else a reply),
    with `html` as its HTML part ("" or None: none); with `renaming`, that one becomes `name`.

    A rename never overwrites another template, and is one transaction: the template is
    never left under both names, nor under none.
    """
    check_name(name)
    if kind is None:
        was = Template.get_or_none(Template.name == (renaming or name))
        kind = was.kind if was is not None else None
    kind = kinds.kind_of(name, kind).name
    check(body, name, kind)
    check_html(html or "", name, kind)
    html = html if html and html.strip() else None
    with database.atomic():
        if renaming is not None and renaming != name:
            if Template.select().where(Template.name == name).exists():
                raise ConfigError(
                    f"There is already a template named {name!r}; edit that one or pick "
                    "another name."
                )
            get(renaming).delete_instance()
        row, created = Template.get_or_create(
            name=name, defaults={"body": body, "kind": kind, "html": html}
        )
        if not created:
            row.body, row.kind, row.html = body, kind, html
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


def all_templates(kind: str | None = None) -> list[Template]:
    """Every template by name, or those of one kind (the composer offers only replies)."""
    query = Template.select().order_by(Template.name)
    if kind is not None:
        query = query.where(Template.kind == kind)
    return list(query)


@dataclass(frozen=True)
class Listed:
    """One row of the template list: a saved template, or a kind's built-in text that no
    saved template of the same name overrides (`built_in`)."""

    name: str
    kind: str
    body: str
    html: str | None
    built_in: bool


def listing() -> list[Listed]:
    """Every saved template and every built-in notification text not overridden, by name:
    an admin sees what the desk will send (`resolved`, `sla_warning`, ...) and which names
    to save to replace it, not only what was saved."""
    saved = [Listed(t.name, t.kind, t.body, t.html, False) for t in all_templates()]
    names = {row.name for row in saved}
    built_in = [
        Listed(kind.name, kind.name, kind.default, None, True)
        for kind in kinds.KINDS.values()
        if kind.default is not None and kind.name not in names
    ]
    return sorted(saved + built_in, key=lambda row: row.name)


def saved_or_default(name: str) -> tuple[str, str | None, str]:
    """Template `name`'s text, HTML part and kind: the saved one, else, for a kind's own name
    (`invitation`, `sla_warning`, `resolved`, ...), that kind's built-in text."""
    row = Template.get_or_none(Template.name == name)
    if row is not None:
        return row.body, row.html, row.kind
    kind = kinds.KINDS.get(name)
    if kind is not None and kind.default is not None:
        return kind.default, None, kind.name
    return get(name).body, None, kinds.REPLY  # raises the NotFound sentence


def render(
    body: str, values: dict[str, Any], name: str | None = None, kind: str | None = None
) -> str:
    """`body` with its variables filled from `values` (a missing one: ""); custom fields are
    the `field_<name>` keys of `values` (see `values_for`)."""
    return string.Template(body).substitute(_mapping(body, values, name, kind))


def render_html(
    html: str, values: dict[str, Any], name: str | None = None, kind: str | None = None
) -> str:
    """An HTML part filled: every value is escaped (a subject or a name from mail must not
    become markup or a link), multi-line ones (`$reply_text`) keep their lines as <br>."""
    mapping = _mapping(html, values, name, kind)
    escaped = {k: html_lib.escape(v).replace("\n", "<br>\n") for k, v in mapping.items()}
    return string.Template(html).substitute(escaped)


def _mapping(
    body: str, values: dict[str, Any], name: str | None, kind: str | None
) -> dict[str, str]:
    known = set(variables_for(name, kind))
    known |= {v for v in string.Template(body).get_identifiers() if kinds.is_field(v)}
    return {k: str(values.get(k, "")) for k in known}


def preview(
    name: str | None,
    body: str,
    conversation: Conversation | None = None,
    *,
    kind: str | None = None,
) -> str:
    """`body` as template `name` would come out, checked first (the sentence `save` would
    give): filled for `conversation` when given, else with SAMPLE values; `$agent_name` is
    the agent at this keyboard, except in an SLA notice about a conversation (whom it goes to),
    whose `$due_at`, `$sla_target` and `$sla_state` come from the conversation's clock."""
    return preview_parts(name, body, conversation, kind=kind).text


def preview_parts(
    name: str | None,
    body: str,
    conversation: Conversation | None = None,
    *,
    kind: str | None = None,
    html: str | None = None,
) -> Filled:
    """`preview`, with the HTML part filled too (escaped as it would be sent)."""
    check(body, name, kind)
    check_html(html or "", name, kind)
    values: dict[str, Any] = {**SAMPLE, "agent_name": agents.display_name()}
    of = kinds.kind_of(name, kind)
    if conversation is not None and of.conversation:
        extra = {k: v for k, v in SAMPLE.items() if k in _SAMPLED}
        agent = None
        if of.name == SLA_WARNING:
            # What the worker would mail (outbound/sla_notices.py): the stored clock's values,
            # greeting whom the notice goes to; the samples only when no target runs.
            extra.update(sla.conversation_notice_values(conversation, utcnow()))
            agent = sla.recipient_name(sla.notice_recipient(conversation.assignee))
        values = values_for(conversation, agent, extra, [body, html or ""])
    return _filled(body, html, values, name, kind)


# A kind's own values a conversation cannot give by itself: a preview shows SAMPLE's.
_SAMPLED = ("reply_text", "due_at", "sla_target", "sla_state")


def _filled(
    body: str, html: str | None, values: dict[str, Any], name: str | None, kind: str | None
) -> Filled:
    text = render(body, values, name, kind)
    return Filled(text, render_html(html, values, name, kind) if html else None)


def invitation_body() -> str:
    """The invitation's text: the saved `invitation` template, else DEFAULT_INVITATION."""
    return saved_or_default(INVITATION)[0]


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
    template, else the kind's built-in text."""
    return fill_parts(SLA_WARNING, conversation, assignee, sla_values).text


def fill(name: str, conversation: Conversation, agent: str | None = None) -> str:
    """The template `name` with its variables filled for a reply to this conversation, signed
    by `agent` (the replying agent when not given)."""
    return fill_parts(name, conversation, agent).text


def fill_parts(
    name: str,
    conversation: Conversation,
    agent: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Filled:
    """Template `name` (saved, or a kind's built-in text) filled for this conversation: its
    text and HTML part. `extra` gives the kind's own values (`reply_text`, `due_at`,
    `sla_target`); `agent` is whose name `$agent_name` is (the agent at this keyboard when
    not given). What the SLA warning and the resolved notice are written with."""
    body, html, kind = saved_or_default(name)
    values = values_for(conversation, agent, extra, [body, html or ""])
    return _filled(body, html, values, name, kind)


def values_for(
    conversation: Conversation,
    agent: str | None,
    extra: dict[str, Any] | None = None,
    texts: list[str] | None = None,
) -> dict[str, Any]:
    """What each variable stands for in a mail about this conversation: VARIABLES, `extra`,
    and each `$field_<name>` that `texts` use (template_kinds.field_value)."""
    contact: Contact | None = conversation.contact
    values: dict[str, Any] = {
        "contact_name": (contact.name or contact.email) if contact else "",
        "contact_email": contact.email if contact else "",
        "conversation_id": conversation.id,
        "subject": compose.base_subject(conversation.subject),
        "agent_name": agent or agents.display_name(),
        "channel_name": conversation.channel.name,
        **(extra or {}),
    }
    for text in texts or []:
        for variable in string.Template(text).get_identifiers():
            if kinds.is_field(variable):
                prefix = len(kinds.FIELD_PREFIX)
                values[variable] = kinds.field_value(conversation.id, variable[prefix:])
    return values
