"""The fast MIME splitter builds exactly the tree the stdlib's feed parser builds, or declines.

Differential: every message here goes through both, in LF and CRLF form, and wherever
`mime_tree.build` returns a tree it must equal the feed parser's (headers, types, payloads,
preamble, epilogue, defects), and `parse` must give the same result either way. It must also
actually be used for well-formed mail, or the speed-up it exists for is gone.
"""

from __future__ import annotations

import random
from email.message import Message
from email.parser import Parser
from email.policy import compat32
from pathlib import Path
from typing import Any

import pytest

from bench import corpus
from deskterm import mailparse, mime_tree
from deskterm.mailparse import _Part, parse
from tests.test_mailparse import _cpython_corpus, _mutate, _realistic_mix, _seeds

DEMO_MAIL = sorted((Path(mailparse.__file__).parent / "demo_mail").glob("*.eml"))


def _text(raw: bytes) -> str:
    return raw.decode("ascii", "surrogateescape")


def _shape(msg: Message) -> Any:
    payload = msg.get_payload()
    inner = [_shape(p) for p in payload] if isinstance(payload, list) else payload
    return (
        msg.get_content_type(),
        msg.get_default_type(),
        msg.get_unixfrom(),
        list(msg.raw_items()),
        [type(d).__name__ for d in msg.defects],
        msg.preamble,
        msg.epilogue,
        inner,
    )


def _feed(text: str) -> Message:
    return Parser(_class=_Part, policy=compat32).parsestr(text)


def _variants(raw: bytes) -> list[bytes]:
    lf = raw.replace(b"\r\n", b"\n")
    return [lf, lf.replace(b"\n", b"\r\n")]


def _messages() -> list[bytes]:
    found = [*_realistic_mix(200), *_seeds(), *_cpython_corpus(), *corpus.generate(300)]
    found += [p.read_bytes() for p in DEMO_MAIL]
    return [v for raw in found for v in _variants(raw)]


def _same_as_feed_parser(raw: bytes) -> bool:
    """True when the fast path built a tree (and then it must equal the feed parser's)."""
    text = _text(raw)
    fast = mime_tree.build(text, _Part)
    if fast is None:
        return False
    assert _shape(fast) == _shape(_feed(text))
    return True


def test_well_formed_mail_takes_the_fast_path_and_matches_the_feed_parser() -> None:
    mails = [v for raw in _realistic_mix(200) for v in _variants(raw)]
    mails += [v for p in DEMO_MAIL for v in _variants(p.read_bytes())]
    # The benchmark's mailbox: bounces with delivery reports, newsletters, PDFs, threads.
    mails += [v for raw in corpus.generate(300) for v in _variants(raw)]
    assert all(_same_as_feed_parser(raw) for raw in mails)


def test_every_corpus_message_matches_wherever_the_fast_path_is_taken() -> None:
    mails = _messages()
    taken = sum(_same_as_feed_parser(raw) for raw in mails)
    assert taken > len(mails) // 2  # the CPython corpus holds many deliberately broken ones


def test_parse_gives_the_same_result_with_and_without_the_fast_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    mails = _messages()
    fast = [parse(raw) for raw in mails]
    monkeypatch.setattr(mime_tree, "build", lambda text, factory: None)
    slow = [parse(raw) for raw in mails]
    for raw, a, b in zip(mails, fast, slow, strict=True):
        assert a == b, raw[:200]


def test_mutated_mail_matches_the_feed_parser_wherever_the_fast_path_is_taken() -> None:
    rng = random.Random(20261122)
    seeds = _seeds()
    taken = 0
    for _ in range(3000):
        raw = _mutate(rng.choice(seeds), rng)
        taken += _same_as_feed_parser(raw)
        taken += _same_as_feed_parser(raw.replace(b"\r\n", b"\n"))
    assert taken > 500


MULTIPART = (
    "Subject: x\n"
    'Content-Type: multipart/mixed; boundary="b"\n'
    "\n"
    "preamble\n"
    "--b\n"
    "Content-Type: text/plain\n"
    "\n"
    "one\n"
    "--b \t\n"
    "\n"
    "two, no headers\n"
    "--b--\n"
    "epilogue\n"
)


NESTED = (
    'Content-Type: multipart/mixed; boundary="outer"\n'
    "\n"
    "--outer\n"
    'Content-Type: multipart/alternative; boundary="inner"\n'
    "\n"
    "--inner\n"
    "\n"
    "plain\n"
    "--inner\n"
    "Content-Type: text/html\n"
    "\n"
    "<p>html</p>\n"
    "--inner--\n"
    "--outer\n"
    "Content-Type: application/pdf\n"
    "\n"
    "JVBERi0=\n"
    "--outer--\n"
)


DELIVERY_STATUS = (
    "Content-Type: message/delivery-status\n"
    "\n"
    "Reporting-MTA: dns; mail.desk.test\n"
    "\n"
    "Final-Recipient: rfc822; gone@example.org\n"
    "Action: failed\n"
    "Status: 5.1.1\n"
    "\n"
)


@pytest.mark.parametrize(
    "text",
    [
        MULTIPART,
        NESTED,
        NESTED.replace("--inner--\n", "--inner--\n\n"),
        NESTED.replace("--inner--\n", "--inner--\ninner epilogue\n"),
        MULTIPART.replace("\n", "\r\n"),
        MULTIPART.replace("--b--\nepilogue\n", "--b--"),
        MULTIPART.replace("preamble\n", ""),
        MULTIPART.replace("one\n", "one\rstill one\n"),  # a bare CR is a line break to the stdlib
        MULTIPART.replace("one\n", "one\r\n"),  # mixed line endings in a body
        MULTIPART.replace("one\n--b", "one\r--b"),  # a boundary after a bare CR
        MULTIPART.replace("--b \t\n", "--b\r\n"),  # a boundary line ended by CRLF
        MULTIPART.replace("\n--b--", "\r--b--\r"),  # the closing one after and ended by CR
        MULTIPART.replace("\n", "\r\n").replace("--b--\r\n", "--b--\n"),
        "Subject: only headers",
        "\nno headers at all\n",
        "From sender Tue Jan  2 10:00:00 2024\nSubject: envelope\n\nbody\n",
        MULTIPART.replace("multipart/mixed", "multipart/digest"),
        MULTIPART.replace("Content-Type: text/plain", "Content-Type: message/delivery-status"),
        MULTIPART.replace("Content-Type: text/plain\n\none\n", DELIVERY_STATUS),
    ],
)
def test_regular_shapes_match_the_feed_parser(text: str) -> None:
    fast = mime_tree.build(text, _Part)
    assert fast is not None
    assert _shape(fast) == _shape(_feed(text))


@pytest.mark.parametrize(
    "text",
    [
        MULTIPART.replace("Subject: x\n", "Subject: x\rCc: y\n"),  # a bare CR among headers
        MULTIPART.replace("Subject: x\n", "Subject: x\r\n"),  # mixed, among headers
        MULTIPART.replace("--b--\n", ""),  # no closing boundary
        MULTIPART.replace("--b \t\n\ntwo, no headers\n", "--b\n"),  # an empty part
        MULTIPART.replace('boundary="b"', 'boundary=""'),
        MULTIPART.replace("Subject: x\n", "Subject: x\nnot a header\n"),
        MULTIPART.replace("Content-Type: text/plain\n", "Content-Type: text/plain\nbad line\n"),
        MULTIPART.replace("\n\n", "\nContent-Transfer-Encoding: base64\n\n", 1),
        MULTIPART.replace("--b", "--c"),  # the declared boundary never appears
    ],
)
def test_irregular_mail_is_left_to_the_feed_parser(text: str) -> None:
    assert mime_tree.build(text, _Part) is None
    _shape(_feed(text))  # and the feed parser copes
