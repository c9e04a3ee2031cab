"""Delivering the outbox: one SMTP session per channel, each reply claimed before it is sent.

What a reply's state becomes (sent, queued again with backoff, failed) is the outbox's; this
module talks to the server, says which failures are temporary (`classify`), and copies what
was sent to the mailbox's Sent folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiosmtplib
import peewee
from peewee import fn

from deskterm.channels import registry as channels
from deskterm.channels import signin
from deskterm.channels.typed import ChannelConfig, OutboundConfig
from deskterm.errors import AuthError, DeskError, SecretError
from deskterm.mail import addresses
from deskterm.net import imap as imap_conn
from deskterm.net import smtp as smtp_conn
from deskterm.net.tls import CertificateError, explain
from deskterm.outbound import outbox
from deskterm.sanitize import one_line
from deskterm.store import blobs
from deskterm.store.db import utcnow
from deskterm.store.models import Channel, JobRun, Message, Outbox

log = logging.getLogger(__name__)


@dataclass
class Delivery:
    outbox_id: int
    conversation_id: int
    state: str  # sent | queued | failed
    detail: str = ""  # the server's own reply when sent, the one sentence why when not


def in_plain_words(state: str, detail: str) -> str:
    """What an agent reads of a delivery: "sent" and that the server accepted it, not the
    SMTP reply (`2.0.0 Ok: queued as ...`, kept in the log and `deskterm outbox`), or why not.
    """
    if state == "sent":
        return "sent; the mail server accepted it."
    why = one_line(detail).rstrip(".")
    if state == "queued":
        return f"not sent yet, it will be tried again: {why}." if why else "not sent yet."
    return f"failed: {why}." if why else "failed."


def flush(
    store: Any,
    *,
    channel_name: str | None = None,
    force: bool = False,
    may_send: Callable[[Channel], bool] | None = None,
    on_delivery: Callable[[Delivery], None] | None = None,
) -> list[Delivery]:
    """Deliver what is due, one SMTP session per channel; returns what happened to each.

    Only active channels send, as only they are polled: a draft channel (the demo's, or one
    still being set up) keeps its replies queued instead of failing them against a server
    that is not there yet. `may_send` is asked right before a channel's replies are claimed:
    the worker's "do I still lead this channel?" (on a team desk only its leader sends).
    """
    # A reply left `sending` by a killed sender makes its channel a candidate too: on a team
    # desk it is queued again only once this worker takes the channel's lead (may_send, which
    # tidies what the dead one left), so the due items are read after that question.
    waiting = (
        Channel.select(Channel.id)
        .join(Outbox)
        .where(_due(force) | (Outbox.state == "sending"), Channel.status == "active")
        .group_by(Channel.id)
        .order_by(fn.MIN(Outbox.id))
    )
    if channel_name:
        waiting = waiting.where(Channel.id == channels.get(channel_name).id)
    results: list[Delivery] = []
    for channel_id in [row.id for row in waiting]:
        channel = Channel.get_by_id(channel_id)
        if may_send is not None and not may_send(channel):
            continue
        items = list(
            Outbox.select(Outbox, Message)  # each item's message with it, not a query per reply
            .join(Message)
            .where(Outbox.channel == channel_id, _due(force))
            .order_by(Outbox.id)
        )
        if not items:
            continue
        run = JobRun.create(channel=channel, kind="send")
        done = asyncio.run(_deliver(channel, items, store, on_delivery))
        results += done
        run.fetched = len(done)
        run.ingested = sum(1 for d in done if d.state == "sent")
        run.failed = sum(1 for d in done if d.state == "failed")
        run.skipped = sum(1 for d in done if d.state == "queued")
        errors = [d.detail for d in done if d.state != "sent" and d.detail]
        run.error = errors[0] if errors else None
        run.finished_at = utcnow()
        run.save()
    return results


def _due(force: bool) -> peewee.Expression:
    """Queued replies whose time has come (all queued ones with --now), as of this moment."""
    due = Outbox.state == "queued"
    return due if force else due & (Outbox.next_attempt_at <= utcnow())


async def _deliver(
    channel: Channel,
    items: list[Outbox],
    store: Any,
    on_delivery: Callable[[Delivery], None] | None,
) -> list[Delivery]:
    outbound = channels.side_config(channel, "outbound")
    endpoint = channels.endpoint(channel, "outbound")
    items = [item for item in items if outbox.claim(item)]
    results: list[Delivery] = []
    if not items:
        return results
    smtp: aiosmtplib.SMTP | None
    try:
        smtp = await _session(channel, endpoint, store)
    except Exception as exc:
        for item in items:
            results.append(_failed(item, exc, endpoint, outbound))
        return _report(results, on_delivery)
    try:
        sender = addresses.envelope(addresses.parse_one(outbound.sender)[1])
        for item in items:
            message: Message = item.message
            try:
                if smtp is None or not smtp.is_connected:  # a failure closed it: a new one
                    smtp = await _session(channel, endpoint, store)
                recipients = [*message.to, *message.cc]
                utf8 = any(addresses.needs_smtputf8(a) for a in recipients)
                if utf8 and not smtp.supports_extension("smtputf8"):
                    raise Unsendable(
                        f"{one_line(', '.join(recipients))} can only be written to over SMTPUTF8, "
                        f"which {endpoint.host} does not offer; ask the customer for another "
                        "address."
                    )
                _refused, reply = await smtp.sendmail(
                    sender,
                    [addresses.envelope(a) for a in recipients],
                    blobs.read_raw(message.raw_path),
                    mail_options=["SMTPUTF8"] if utf8 else None,
                )
            except Exception as exc:
                results.append(_failed(item, exc, endpoint, outbound))
                if isinstance(exc, aiosmtplib.SMTPServerDisconnected | OSError):
                    for rest in items[items.index(item) + 1 :]:  # the server is gone
                        results.append(_failed(rest, exc, endpoint, outbound))
                    break
                # Whatever failed, the next reply starts a clean transaction: a MAIL FROM left
                # open made every later reply fail with "503 nested MAIL command".
                smtp = await _reset(smtp)
                continue
            outbox.set_state(item, "sent", sent_at=utcnow(), last_error=None)
            log.info("reply %s sent; the server said %r", item.id, reply.strip())
            results.append(Delivery(item.id, message.conversation_id, "sent", reply.strip()))
    finally:
        if smtp is not None:
            with contextlib.suppress(Exception):
                await smtp.quit()
    sent = {r.outbox_id for r in results if r.state == "sent"}
    if sent:
        _copy_to_sent(channel, [item for item in items if item.id in sent], store)
    return _report(results, on_delivery)


class Unsendable(DeskError):
    """A reply this server cannot take as it is (never retried)."""


async def _reset(smtp: aiosmtplib.SMTP | None) -> aiosmtplib.SMTP | None:
    """RSET after a failed reply; None (reconnect for the next) when even that fails."""
    if smtp is None or not smtp.is_connected:
        return None
    try:
        await smtp.rset()
        return smtp
    except Exception:
        smtp.close()
        return None


async def _session(channel: Channel, endpoint: Any, store: Any) -> aiosmtplib.SMTP:
    """A new SMTP session, signed in (a refused OAuth2 token is refreshed and tried again)."""
    smtp = await smtp_conn.connect(endpoint)
    try:
        await signin.sign_in_async(
            channel, "outbound", store, lambda c: smtp_conn.login(smtp, endpoint, c)
        )
    except BaseException:
        smtp.close()
        raise
    return smtp


def _report(
    results: list[Delivery], on_delivery: Callable[[Delivery], None] | None
) -> list[Delivery]:
    if on_delivery:
        for result in results:
            on_delivery(result)
    return results


def _failed(item: Outbox, exc: BaseException, endpoint: Any, outbound: OutboundConfig) -> Delivery:
    state, detail = outbox.after_failure(item, *classify(exc, endpoint), outbound)
    return Delivery(item.id, item.message.conversation_id, state, detail)


def classify(exc: BaseException, endpoint: Any) -> tuple[bool, str]:
    """(temporary?, one sentence): 4xx and network trouble are retried, 5xx and bad
    credentials or certificates wait for a person."""
    if isinstance(exc, AuthError | SecretError | CertificateError | Unsendable):
        return False, str(exc)
    if isinstance(exc, ValueError | UnicodeError):  # an address no SMTP command line can carry
        return False, f"The reply's addresses cannot be sent ({one_line(str(exc))}); fix them."
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        text = "; ".join(f"{r.recipient}: {r.code} {r.message.strip()}" for r in exc.recipients)
        return (all(c < 500 for c in codes), f"The SMTP server refused the recipient ({text}).")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return exc.code < 500, f"The SMTP server answered {exc.code} {exc.message.strip()}."
    return True, str(explain(exc, endpoint))


def _copy_to_sent(channel: Channel, items: list[Outbox], store: Any) -> None:
    """Append sent replies to the mailbox's Sent folder, so other mail clients see them."""
    config = ChannelConfig.of(channel)
    inbound, outbound = config.inbound, config.outbound
    if inbound.protocol != "imap" or outbound is None:
        return
    endpoint = channels.endpoint(channel, "inbound")
    try:
        mailbox = imap_conn.connect(endpoint)
        try:
            signin.sign_in(
                channel, "inbound", store, lambda c: imap_conn.login(mailbox, endpoint, c)
            )
            folder = outbound.sent_folder or _special_sent(mailbox)
            if folder is None:
                raise DeskError("the mailbox has no folder marked \\Sent; set sent_folder")
            for item in items:
                raw = blobs.read_raw(item.message.raw_path)
                mailbox.append(raw, folder, dt=None, flag_set=["\\Seen"])
        finally:
            with contextlib.suppress(Exception):
                mailbox.logout()
    except Exception as exc:
        note = f"Sent, but the copy to the Sent folder failed: {explain(exc, endpoint)}"
        Outbox.update(last_error=note).where(Outbox.id.in_([i.id for i in items])).execute()


def _special_sent(mailbox: imap_conn.DeskMailBox) -> str | None:
    for folder in mailbox.folder.list():
        if "\\Sent" in folder.flags:
            return folder.name
    return None
