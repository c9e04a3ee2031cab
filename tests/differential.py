"""Differential reading of mail: deskterm's parser against a fast-mail-parser candidate.

Pure functions, no pytest: `tests/engine/test_parser_differential.py` and `bench/parser_compare.py`
use them. For every mail of the corpus (tests/corpus/*, the demo mail, a slice of the
benchmark mailbox and seeded mutations of them) both readings are reduced to the fields the
desk stores (`fields`) and compared (`compare`); the differences are reviewed in
tests/corpus/differential_expected.json.

The candidate (`candidate_parse`) is an experiment (issue 11, part 3): fast-mail-parser's flat
`parse_email` projection, with deskterm's own HTML-to-text and attachment naming on top, so
that what differs is what the compiled parser reads, not what deskterm does with it.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from deskterm.mail import html_text
from deskterm.mail import parse as mailparse
from deskterm.mail.parse.context import Attachment, Ctx
from deskterm.mail.parse.mime import eml_name
from deskterm.mail.parse.names import name_attachments
from deskterm.settings import DEFAULT_MIN_ATTACHMENT_BYTES

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "corpus"
DEMO = ROOT / "deskterm" / "demo" / "mail"
EXPECTED = CORPUS / "differential_expected.json"
BENCH_MAILS = 200  # the first N mails of the benchmark mailbox (seed 1)
MUTATION_SEED = 11
MIN_ATTACHMENT = DEFAULT_MIN_ATTACHMENT_BYTES
TEXT_COMPARED = 20_000  # characters of normalised text compared (the desk caps at 100 KB)

FIELDS = ("raises", "subject", "from_addr", "from_name", "to", "cc", "text", "attachments")


# --------------------------------------------------------------------------- the mails


def corpus_mails() -> Iterator[tuple[str, bytes]]:
    """(id, raw) of every fixture, demo and benchmark mail, in a fixed order."""
    for path in sorted(CORPUS.glob("*/*")):
        if path.is_file():
            yield f"{path.parent.name}/{path.name}", path.read_bytes()
    for path in sorted(DEMO.glob("*.eml")):
        yield f"demo/{path.name}", path.read_bytes()
    from bench import corpus as bench_corpus

    for i, raw in enumerate(bench_corpus.generate(BENCH_MAILS)):
        yield f"bench/{i:04d}", raw


def mutations(mail_id: str, raw: bytes) -> Iterator[tuple[str, bytes]]:
    """Seeded, deterministic damage of one mail: line endings swapped, cut at a random point,
    a header line doubled, a MIME boundary damaged (multipart mail only)."""
    rnd = random.Random(f"{MUTATION_SEED}:{mail_id}")
    if b"\r\n" in raw:
        yield f"mut-lf/{mail_id}", raw.replace(b"\r\n", b"\n")
    else:
        yield f"mut-crlf/{mail_id}", raw.replace(b"\n", b"\r\n")
    if len(raw) > 20:
        yield f"mut-cut/{mail_id}", raw[: rnd.randrange(10, len(raw))]
    head_end = raw.find(b"\n\n") if b"\n\n" in raw else raw.find(b"\r\n\r\n")
    lines = raw[: max(head_end, 0)].splitlines(keepends=True)
    starts = [i for i, line in enumerate(lines) if line[:1] not in (b" ", b"\t") and b":" in line]
    if starts:
        i = rnd.choice(starts)
        end = i + 1
        while end < len(lines) and lines[end][:1] in (b" ", b"\t"):
            end += 1
        header = b"".join(lines[i:end])
        pos = raw.find(header)
        yield f"mut-dup/{mail_id}", raw[:pos] + header + raw[pos:]
    match = re.search(rb'boundary="?([^";\r\n]+)', raw[:65536], re.I)
    if match:
        boundary = match.group(1)
        uses = [m.start() for m in re.finditer(b"\n--" + re.escape(boundary), raw)]
        if uses:
            at = rnd.choice(uses) + 3 + rnd.randrange(len(boundary))
            yield f"mut-bnd/{mail_id}", raw[:at] + b"#" + raw[at + 1 :]


def all_mails() -> list[tuple[str, bytes]]:
    out = []
    for mail_id, raw in corpus_mails():
        out.append((mail_id, raw))
        if not mail_id.startswith("bench/"):
            out.extend(mutations(mail_id, raw))
    return out


# --------------------------------------------------------------------------- the fields


def _line(text: str | None) -> str:
    return " ".join((text or "").split())


def _body(text: str) -> str:
    """Text as compared: deskterm's truncation marker gone, whitespace runs made one space."""
    text = re.sub(r"\[\.\.\. message truncated by deskterm: \d+ bytes not shown \.\.\.\]", "", text)
    return " ".join(text.split())[:TEXT_COMPARED]


def _addrs(values: list[str]) -> list[str]:
    return sorted({v.strip().lower() for v in values if v.strip()})


def _att(name: str, ctype: str, data: bytes) -> tuple[str, str, int, str]:
    return (name, ctype.lower(), len(data), hashlib.sha256(data).hexdigest()[:16])


def stdlib_fields(raw: bytes) -> dict[str, Any]:
    mail = mailparse.parse(raw)
    return {
        "raises": "",
        "subject": _line(mail.subject),
        "from_addr": mail.from_addr.lower(),
        "from_name": _line(mail.from_name),
        "to": _addrs(mail.to),
        "cc": _addrs(mail.cc),
        "text": _body(mail.text),
        "attachments": sorted(_att(a.filename, a.content_type, a.data) for a in mail.attachments),
        "notes": list(mail.defects),
    }


@dataclass
class Candidate:
    fields: dict[str, Any]
    warnings: list[str]  # fast-mail-parser's reported repairs ("kind: detail")
    error: str  # the exception's type when it raised, else ""


def candidate_parse(raw: bytes) -> Candidate:
    """fast-mail-parser's reading, in the desk's fields. Raises ImportError when missing."""
    import fast_mail_parser as fmp

    try:
        mail = fmp.parse_email(raw)
    except Exception as exc:
        return Candidate({"raises": type(exc).__name__}, [], type(exc).__name__)
    warnings = [f"{w.kind}: {w.detail}" for w in mail.warnings]
    plain = [t for t in mail.text_plain if t is not None]
    if any(t.strip() for t in plain):
        text = "\n\n".join(t for t in plain if t.strip())
    elif mail.text_html:
        text = html_text.to_text("\n".join(mail.text_html)).text
    else:
        text = ""
    sender = mail.from_
    found = []
    for att in mail.attachments:
        data = bytes(att.content)
        ctype = (att.mimetype or "application/octet-stream").lower()
        if not data and not att.filename:
            continue
        if ctype.startswith("image/") and len(data) < MIN_ATTACHMENT:
            continue  # deskterm skips tracking pixels and icons the same way
        found.append((att.filename, ctype, data, att.content_id))
    atts = [_att(*named) for named in _names(found, "\n".join(mail.text_html))]
    fields = {
        "raises": "",
        "subject": _line(mail.subject),
        "from_addr": (sender.address if sender else "").lower(),
        "from_name": _line(sender.display_name if sender else ""),
        "to": _addrs([a.address for a in mail.to]),
        "cc": _addrs([a.address for a in mail.cc]),
        "text": _body(text),
        "attachments": sorted(atts),
        "notes": warnings,
    }
    return Candidate(fields, warnings, "")


def _names(
    found: list[tuple[str, str, bytes, str | None]], html: str
) -> list[tuple[str, str, bytes]]:
    """Names as deskterm gives them (`<subject>.eml`, Content-ID, type), with its own helpers:
    in production the candidate would feed the same naming code."""
    ctx = Ctx(min_attachment=MIN_ATTACHMENT)
    atts = []
    for name, ctype, data, cid in found:
        if ctype in ("message/rfc822", "message/global"):
            name = eml_name(data, ctx) or name
        atts.append(Attachment(name, ctype, data, cid, ""))
    return [(a.filename, a.content_type, a.data) for a in name_attachments(atts, html)]


def compare(stdlib: dict[str, Any], candidate: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """{field: (stdlib's value, candidate's value)} for every field that differs. A candidate
    that raised differs in `raises` only (the fallback then reads the mail as today).
    Attachments are compared on content (type, size, hash) and, separately, on names."""
    if candidate.get("raises"):
        return {"raises": ("", candidate["raises"])}
    out: dict[str, tuple[Any, Any]] = {}
    for name in FIELDS[1:]:
        if name == "attachments":
            mine = sorted(a[1:] for a in stdlib[name])
            theirs = sorted(a[1:] for a in candidate[name])
            if mine != theirs:
                out[name] = (mine, theirs)
            elif sorted(a[0] for a in stdlib[name]) != sorted(a[0] for a in candidate[name]):
                out["attachment_names"] = (
                    sorted(a[0] for a in stdlib[name]),
                    sorted(a[0] for a in candidate[name]),
                )
        elif stdlib[name] != candidate[name]:
            out[name] = (stdlib[name], candidate[name])
    return out


def run(mails: list[tuple[str, bytes]] | None = None) -> dict[str, Any]:
    """Both readings of every mail: {mail id: {"diff": {...}, "warned": bool, ...}}."""
    result: dict[str, Any] = {}
    for mail_id, raw in mails if mails is not None else all_mails():
        mine = stdlib_fields(raw)
        cand = candidate_parse(raw)
        result[mail_id] = {
            "diff": compare(mine, cand.fields),
            "warned": bool(cand.warnings),
            "warnings": cand.warnings,
            "stdlib_notes": mine["notes"],
        }
    return result


def fallback_catches(entry: dict[str, Any]) -> bool:
    """The issue's rule: the stdlib reads the mail again when the candidate raises or reports
    a repair. True when that rule would have replaced the candidate's reading."""
    return bool(entry["diff"].get("raises")) or entry["warned"]


def digest(stdlib_value: Any, candidate_value: Any) -> str:
    """A short hash of one difference: a review holds for these two readings only."""
    blob = json.dumps([stdlib_value, candidate_value], default=list, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]
