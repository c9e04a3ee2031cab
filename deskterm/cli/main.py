"""The `deskterm` command: the same engine the UI drives, for admins and scripts.

This module builds the group; each noun's commands live in their own module (channels,
inbound, conversations, notes, triage, outbox, templates, macros, sla, rules, contacts,
organizations, agents, types (types and fields), secrets, db, service, and ui for the commands
that open the terminal UI), sharing console for what they print and how they fail.
"""

from __future__ import annotations

import click

from deskterm import process
from deskterm.cli import (
    agents,
    channels,
    completion,
    contacts,
    conversations,
    db,
    forward,
    inbound,
    macros,
    notes,
    organizations,
    outbox,
    reports,
    rules,
    secrets,
    service,
    sla,
    templates,
    triage,
    types,
    ui,
)


@click.group(invoke_without_command=True)
@click.version_option(package_name="deskterm")
@click.pass_context
def main(ctx: click.Context) -> None:
    """deskterm: a helpdesk in the terminal. Without a command, opens the desk.

    \b
    Environment:
      DESKTERM_HOME            the desk's folder (default: ~/.local/share/deskterm)
      DESKTERM_PASSPHRASE      the secret vault's passphrase (else asked for)
      DESKTERM_DATABASE_URL    a shared PostgreSQL desk instead of the folder's SQLite
      DESKTERM_BLOB_DIR        raw mail and attachments in a directory a team shares
      DESKTERM_SECRET_BACKEND  keyring or vault, to force one
      DESKTERM_DEBUG=1         the traceback of an unexpected error
      DESKTERM_NEW_MAIL        bell, osc9 or osc777: the app tells of new mail
      DESKTERM_AGENT           which agent you are (a handle or address)

    Start with `deskterm demo`, or `deskterm channel example > channel.toml`, edit it, and
    `deskterm channel add --file channel.toml`.
    """
    process.harden_process()  # before anything is written or a secret is read (issue 10)
    if ctx.invoked_subcommand is None:
        ui.open_ui()


for command in (
    channels.channel,
    inbound.poll,
    inbound.jobs,
    inbound.skipped,
    conversations.conversations,
    conversations.show,
    notes.note,
    notes.mentions,
    triage.status,
    triage.assign,
    triage.tag,
    outbox.reply,
    forward.forward,
    outbox.send,
    outbox.outbox,
    templates.template,
    sla.sla,
    rules.rule,
    macros.macro,
    secrets.secrets,
    contacts.contact,
    organizations.org,
    reports.report,
    reports.time_group,
    agents.agent,
    types.type_group,
    types.field_group,
    db.db,
    service.service,
    ui.demo,
    completion.completion,
):
    main.add_command(command)

if __name__ == "__main__":
    main()
