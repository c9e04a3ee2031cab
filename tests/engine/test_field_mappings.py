"""A channel's `[tickets]` on ingest (issue 16): a new conversation's type, its fields filled
from the mail, the mail as an attachment; hostile mail never stops the batch. On SQLite and
the suite's real PostgreSQL; `test_a_polled_mail_...` goes through the whole pipeline against
the real Dovecot."""

from __future__ import annotations

import pytest

from deskterm.channels.config import parse_channel_text
from deskterm.desk import queries, types
from deskterm.errors import ConfigError
from deskterm.inbound import imap_sync
from deskterm.inbound.ingest import Ingestor
from deskterm.inbound.prepare import prepare_batch
from deskterm.inbound.stages import Fetched
from deskterm.mail import patterns
from deskterm.mail.parse import parse
from deskterm.mail.raw_headers import header_value
from deskterm.store import blobs, connection
from deskterm.store.models import Attachment, Channel, Message
from tests.conftest import DRAFT_CHANNEL, Desk, channel_toml
from tests.mailfactory import make_mail

TICKETS = r"""
[tickets]
types = ["billing", "question"]
default_type = "billing"
email_as_attachment = true
mappings = [
  { field = "order", source = "subject", pattern = 'order #?(\d{4,8})' },
  { field = "order", source = "body", pattern = 'order number:\s*(\d+)', default = "0000" },
  { field = "ref", source = "header", header = "X-Ref" },
  { field = "urgency", source = "importance" },
  { field = "customer", source = "sender" },
  { field = "amount", source = "body", pattern = 'total:\s*(\S+)' },
  { field = "trap", source = "subject", pattern = '(x+x+)+y', default = "none found" },
]
"""

WITHOUT_ATTACHMENT = TICKETS.replace("email_as_attachment = true", "email_as_attachment = false")


def define_types() -> None:
    types.add("billing")
    types.add("question")
    types.add_field("billing", "order", "text")
    types.add_field("billing", "ref", "text", default="-")
    types.add_field("billing", "urgency", "choice", choices=["high", "normal", "low"])
    types.add_field("billing", "customer", "text")
    types.add_field("billing", "amount", "number", default="0")
    types.add_field("billing", "trap", "text")


def support_channel(desk: Desk, tickets: str) -> Channel:
    connection.open_database()
    define_types()
    connection.close_database()
    desk.add_channel(DRAFT_CHANNEL + tickets)
    connection.open_database()
    return Channel.get(Channel.name == "support")


@pytest.fixture
def channel(engine: str, desk: Desk) -> Channel:
    """The channel with its mappings, on each engine's desk (tests/conftest.py `engine`)."""
    return support_channel(desk, TICKETS)


@pytest.fixture
def unattached(engine: str, desk: Desk) -> Channel:
    """The same mappings without the mail as an attachment (which needs the raw bytes)."""
    return support_channel(desk, WITHOUT_ATTACHMENT)


def stored(raw: bytes, uid: str = "1") -> Fetched:
    """A fetched mail as prepare leaves it: parsed, its raw bytes stored."""
    return Fetched(uid, b"", parse(raw), raw_path=blobs.store_raw(raw))


def counting_raw_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every raw mail read back from the blob store from now on, by ref."""
    reads: list[str] = []
    read_raw = blobs.read_raw

    def counted(ref: str) -> bytes:
        reads.append(ref)
        return read_raw(ref)

    monkeypatch.setattr(blobs, "read_raw", counted)
    return reads


def fields_of(conversation_id: int) -> dict[str, str | None]:
    return {f["name"]: f["value"] for f in queries.conversation_detail(conversation_id)["fields"]}


def test_a_new_conversation_gets_the_channel_type_and_its_fields_from_the_mail(
    channel: Channel,
) -> None:
    raw = make_mail(
        "Where is order #123456?",
        "Ann <ann@customer.example>",
        body="Hello,\nthe total: 49.90 was charged twice.\n",
        headers={"X-Ref": "=?utf-8?q?R=C3=A9f-9?=\x1b[31m", "Importance": "High"},
    )
    [outcome] = Ingestor(channel).apply([stored(raw)])
    cid = outcome.conversation_id
    assert cid is not None
    detail = queries.conversation_detail(cid)
    assert detail["type"] == "billing"
    assert fields_of(cid) == {
        "order": "123456",  # the subject's mapping found it first
        "ref": "Réf-9[31m",  # decoded, on one line, no escape character
        "urgency": "high",
        "customer": "ann@customer.example",
        "amount": "49.9",
        "trap": "none found",
    }
    # The mail itself, as the customer sent it, is an attachment of the first message.
    [attached] = [a for a in detail["messages"][0]["attachments"]]
    assert attached == {
        "filename": "Where is order _123456_.eml",
        "content_type": "message/rfc822",
        "size": len(raw),
    }
    sha = Attachment.get(Attachment.filename == attached["filename"]).sha256
    assert blobs.attachment_path(sha).read_bytes() == raw


def test_defaults_fill_what_the_mail_does_not_say_and_a_reply_changes_nothing(
    channel: Channel,
) -> None:
    first = make_mail("Hello", body="No numbers here.\n", message_id="<a@customer.example>")
    [outcome] = Ingestor(channel).apply([stored(first)])
    cid = outcome.conversation_id
    assert fields_of(cid) == {
        "order": "0000",  # the body mapping's own default
        "ref": "-",  # the field's default
        "urgency": "normal",
        "customer": "customer@desk.test",
        "amount": "0",
        "trap": "none found",
    }
    reply = make_mail(
        "Re: Hello order #99999",
        body="order number: 5\n",
        message_id="<b@customer.example>",
        in_reply_to="<a@customer.example>",
    )
    [again] = Ingestor(channel).apply([stored(reply, "2")])
    assert again.conversation_id == cid
    assert fields_of(cid)["order"] == "0000"
    replies = Message.select().where(Message.conversation == cid).order_by(Message.id)
    assert [Attachment.select().where(Attachment.message == m.id).count() for m in replies] == [
        1,
        0,
    ]


def test_hostile_mail_leaves_defaults_and_a_note_and_the_batch_goes_on(channel: Channel) -> None:
    """A subject made to backtrack the admin's pattern for minutes, and a total that is no
    number: each field keeps its default, the message says why, the next mail is stored."""
    hostile = make_mail("x" * 20_000, body="total: lots\n")
    calm = make_mail("order #4242", body="total: 10\n")
    # Unbounded, the search of the first would run for minutes (and the suite's timeout fail it).
    outcomes = Ingestor(channel).apply([stored(hostile, "1"), stored(calm, "2")])
    assert [o.kind for o in outcomes] == ["ingested", "ingested"]
    bad, good = (o.conversation_id for o in outcomes)
    assert fields_of(bad)["trap"] == "none found"
    assert fields_of(bad)["amount"] == "0"
    notes = Message.get(Message.conversation == bad).notes["fields"]
    assert any("trap" in n and "took too long" in n for n in notes)
    assert any(n.startswith("amount: amount takes a number") for n in notes)
    assert fields_of(good)["order"] == "4242"
    assert fields_of(good)["amount"] == "10"


def test_the_pattern_bound_stops_catastrophic_backtracking() -> None:
    with pytest.raises(patterns.PatternTimeout):
        patterns.first_match("(x+x+)+y", "x" * 5000)
    assert patterns.first_match(r"order #?(\d+)", "Re: ORDER #77 late") == "77"
    assert patterns.first_match(r"#\d+", "about #12") == "#12"
    assert patterns.first_match(r"(a)|(b)", "b") is None  # its first group took no part


@pytest.mark.parametrize(
    ("tickets", "refused"),
    [
        ('mappings = [{ field = "x", source = "smell" }]', "is not known; use one of subject"),
        ('mappings = [{ field = "x", source = "body", pattern = "(" }]', "not a valid regular"),
        ('mappings = [{ field = "x", source = "header" }]', "must name the header"),
        ('mappings = [{ field = "x", source = "body", colour = "red" }]', "unknown key colour"),
        ('types = ["a"]\ndefault_type = "b"', "tickets.default_type = 'b' is not one of"),
    ],
)
def test_a_bad_tickets_table_is_refused_naming_the_key(tickets: str, refused: str) -> None:
    with pytest.raises(ConfigError, match=refused):
        parse_channel_text(DRAFT_CHANNEL + "\n[tickets]\n" + tickets)


def test_a_channel_naming_a_type_the_desk_lacks_is_refused(desk: Desk) -> None:
    path = desk.home.parent / "c.toml"
    path.write_text(DRAFT_CHANNEL + '[tickets]\ndefault_type = "incident"\n')
    result = desk.run("channel", "add", "--file", str(path), ok=False)
    assert result.exit_code == 1
    assert "names the type incident, which the desk does not have" in result.stderr
    assert "deskterm type add NAME" in result.stderr


@pytest.mark.mailserver
def test_a_polled_mail_fills_its_fields_through_the_pipeline(desk: Desk, mail_servers) -> None:
    support = "support@desk.test"
    mail_servers.clear(support)
    connection.open_database()
    define_types()
    connection.close_database()
    password = mail_servers.users[support]
    desk.add_channel(
        channel_toml(mail_servers, inbound_extra="") + TICKETS, inbound=password, outbound=password
    )
    raw = make_mail("Refund for order 7654321", headers={"X-Ref": "R-1"})
    mail_servers.deliver(raw, support)
    mail_servers.wait_for_messages(support, 1)
    desk.run("poll", "--once")
    [row] = desk.json("conversations", "--type", "billing", "--field", "order=7654321")
    assert row["type"] == "billing"
    assert row["fields"]["ref"] == "R-1"
    shown = desk.json("show", str(row["id"]))
    assert [a["content_type"] for a in shown["messages"][0]["attachments"]] == ["message/rfc822"]


def test_the_parse_keeps_mapped_headers_so_ingest_never_reads_the_raw_mail_back(
    unattached: Channel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The sync's way (prepare_batch with the ingestor's mapped headers, as imap_sync and
    pop3_sync pass them): the header mapping reads `ParsedMail.mapped_headers`, never the
    blob store; hostile bytes come out as the raw-mail reader made them."""
    hostile = "=?utf-8?q?R=C3=A9f-9?=\x1b[31m [bold]x[/] \x07"
    raws = [
        make_mail("One", headers={"X-Ref": hostile}, message_id="<1@customer.example>"),
        b"X-Ref: A\r\n\tB\r\n" + make_mail("Two", message_id="<2@customer.example>"),
        make_mail("Three", message_id="<3@customer.example>"),  # no X-Ref: the default
    ]
    ingestor = Ingestor(unattached)
    assert ingestor.mapped_headers == ("x-ref",)
    items = [Fetched(str(n), raw) for n, raw in enumerate(raws, 1)]
    prepare_batch(items, None, 100_000, 1024, ingestor.mapped_headers)()
    assert items[0].mail is not None
    assert items[0].mail.mapped_headers == {"x-ref": header_value(raws[0], "X-Ref")}
    reads = counting_raw_reads(monkeypatch)
    outcomes = ingestor.apply(items, "INBOX", "1")
    assert reads == []
    refs = [fields_of(o.conversation_id)["ref"] for o in outcomes if o.conversation_id]
    # Decoded, on one line, no control character: as the raw-mail path stores it.
    assert refs == ["Réf-9[31m [bold]x[/]", "A B", "-"]


def test_mail_parsed_without_the_header_still_gets_it_from_the_raw_mail(
    unattached: Channel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Mail parsed before the mapping was saved (nothing asked of the parse) falls back to the
    stored raw mail, read once, with the same value."""
    raw = make_mail("Hello", headers={"X-Ref": "R-7"})
    item = stored(raw)
    assert item.mail is not None and item.mail.mapped_headers == {}
    reads = counting_raw_reads(monkeypatch)
    [outcome] = Ingestor(unattached).apply([item])
    assert reads == [item.raw_path]
    assert fields_of(outcome.conversation_id)["ref"] == "R-7"


@pytest.mark.mailserver
def test_a_big_first_sync_keeps_mapped_headers_in_the_pool_workers(
    desk: Desk, mail_servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Through the real Dovecot, with the pool's processes fetching and parsing (the remote
    path of a big first sync, its threshold lowered): every header mapping is filled and the
    sync's own process reads no raw mail back."""
    support = "support@desk.test"
    mail_servers.clear(support)
    connection.open_database()
    define_types()
    connection.close_database()
    password = mail_servers.users[support]
    desk.add_channel(
        channel_toml(mail_servers, inbound_extra="") + WITHOUT_ATTACHMENT,
        inbound=password,
        outbound=password,
    )
    for n in range(3):
        mail_servers.deliver(make_mail(f"Mail {n}", headers={"X-Ref": f"R-{n}"}), support)
    mail_servers.wait_for_messages(support, 3)
    monkeypatch.setattr(imap_sync, "REMOTE_FETCH_THRESHOLD", 2)
    reads = counting_raw_reads(monkeypatch)
    desk.run("poll", "--once")
    rows = desk.json("conversations", "--type", "billing")
    assert sorted(row["fields"]["ref"] for row in rows) == ["R-0", "R-1", "R-2"]
    assert reads == []
