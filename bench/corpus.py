"""A deterministic, realistic support mailbox for the benchmarks.

The mix is the team test bed's `seed` (copied, not imported: the project stands on its own),
by weight: plain text (some latin-1 QP), HTML-only, multipart/alternative, HTML with an inline
1x1 tracking pixel (multipart/related), 100-300 KB PDF attachments (~4 %, some with an
RFC 2231 UTF-8 filename), reply chains with In-Reply-To/References (some from support@),
out-of-office auto-replies, `Precedence: bulk` newsletters with List-Id and a remote pixel,
and DSN bounces (multipart/report). Subjects and display names use UTF-8 and ISO-8859-1
encoded words; bodies use QP and base64. Only the count and the seed decide the output:
dates start at 2024-01-01 and MIME boundaries are fixed, so the same arguments give
byte-identical messages (identical to the test bed's `seed N --eml DIR` for the same N/seed).

10,000 messages are about 116 MB.

    uv run python -m bench.corpus 10000 --eml /tmp/some-dir     # write .eml files
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import random
import struct
import tempfile
import time
from collections.abc import Iterator
from email.charset import BASE64, QP, Charset
from email.header import Header
from email.message import Message
from email.mime.application import MIMEApplication
from email.mime.base import MIMEBase
from email.mime.image import MIMEImage
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, formatdate
from pathlib import Path

DOMAIN = "desk.test"
BASE_TS = 1704067200  # 2024-01-01T00:00:00Z: dates are fixed, not "now"
GIF_1x1 = base64.b64decode("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")
PNG_1x1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
NAMES = [
    "Alice Smith", "Bob Jones", "José Álvarez", "Zoë Müller", "François Dupont",
    "Søren Nielsen", "Олег Петров", "山田太郎", "Ngozi Okafor", "Priya Sharma",
    "Łukasz Wójcik", "Ana Çelik",
]  # fmt: skip
TOPICS = [
    "Password reset link not working", "Invoice {n} is wrong", "Refund for order {n}",
    "Cannot log in after update", "Export to CSV fails", "Feature request: dark mode",
    "Shipping delay on order {n}", "Account locked", "Question about pricing",
    "App crashes on startup",
]  # fmt: skip
LATIN1 = [
    "Bestellung {n}: Lieferung verspätet", "Réclamation facture {n}", "Pedido {n} no llegó",
    "Größenänderung nicht möglich",
]  # fmt: skip
UTF8 = [
    "Заказ {n} не доставлен", "注文 {n} について", "Problème très urgent ✉️ {n}",
    "Ümlaut-Test ñ € {n} 🚀",
]  # fmt: skip
BODY = [
    "Hello,\n\nI have a problem with my account. Could you please help?\n",
    "Hi team,\n\nSince yesterday nothing works. Steps: open app, click export, error 500.\n",
    "Guten Tag,\n\nmeine Bestellung ist noch nicht angekommen. Grüße\n",
    "Bonjour,\n\nJe n'arrive pas à me connecter. Merci d'avance !\n",
    "Здравствуйте,\n\nне могу войти в аккаунт.\n",
]
KINDS = ["plain", "html", "alt", "pixel", "pdf", "reply", "auto", "bulk", "dsn"]
WEIGHTS = [22, 8, 18, 8, 4, 20, 6, 10, 4]

Thread = tuple[str, list[str], str]  # message-id, its references, subject


def _text_part(text: str, subtype: str, rnd: random.Random) -> MIMEText:
    cs = Charset("utf-8")
    cs.body_encoding = rnd.choice([QP, BASE64])  # real MUAs use both
    return MIMEText(text, subtype, cs)


def _html_of(text: str, pixel_cid: str | None = None, remote_pixel: bool = False) -> str:
    paras = "".join(f"<p>{p}</p>" for p in text.strip().split("\n") if p)
    img = f'<img src="cid:{pixel_cid}" width="1" height="1" alt="">' if pixel_cid else ""
    if remote_pixel:
        img += '<img src="https://track.example.net/o.gif?id=1" width="1" height="1">'
    return f'<!DOCTYPE html><html><body style="font-family:sans-serif">{paras}{img}</body></html>\n'


def _fake_pdf(rnd: random.Random, size: int) -> bytes:
    """A syntactically plausible PDF padded with a binary stream to `size` bytes."""
    head = (
        b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
        b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n3 0 obj<</Length %d>>stream\n"
    )
    tail = b"\nendstream endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
    n = size - len(head) - len(tail)
    return head.replace(b"%d", str(n).encode()) + rnd.randbytes(n) + tail


def make(i: int, rnd: random.Random, to_addr: str, threads: list[Thread]) -> tuple[bytes, int]:
    """Message i as bytes, and its date (epoch seconds). Appends to `threads` what later
    messages may reply to."""
    kind = rnd.choices(KINDS, WEIGHTS)[0]
    n = rnd.randint(10000, 99999)
    name = rnd.choice(NAMES)
    addr = (
        f"customer@{DOMAIN}"
        if rnd.random() < 0.3
        else f"{name.split()[0].lower().encode('ascii', 'ignore').decode() or 'user'}{i % 97}@"
        + rnd.choice(["example.com", "example.org", "example.net"])
    )
    sender = (name, addr)
    subj_cs = "us-ascii"
    r = rnd.random()
    if r < 0.15:
        subject, subj_cs = rnd.choice(LATIN1).format(n=n), "iso-8859-1"
    elif r < 0.30:
        subject, subj_cs = rnd.choice(UTF8).format(n=n), "utf-8"
    else:
        subject = rnd.choice(TOPICS).format(n=n)
    body = rnd.choice(BODY) + f"\nReference: #{n}\n\n-- \n{name}\n"
    extra: dict[str, str] = {}
    msg: Message
    if kind == "plain":
        if subj_cs == "iso-8859-1":  # latin-1 body, QP like older MUAs
            cs = Charset("iso-8859-1")
            cs.body_encoding = QP
            msg = MIMEText(body.encode("latin-1", "replace").decode("latin-1"), "plain", cs)
        else:
            msg = _text_part(body, "plain", rnd)
    elif kind == "html":
        msg = _text_part(_html_of(body), "html", rnd)
    elif kind == "alt":
        msg = MIMEMultipart(
            "alternative",
            _subparts=[_text_part(body, "plain", rnd), _text_part(_html_of(body), "html", rnd)],
        )
    elif kind == "pixel":  # HTML + inline 1x1 image (tracking pixel style), <1 KB
        cid = f"px{i}@{DOMAIN}"
        img = MIMEImage(*rnd.choice([(GIF_1x1, "gif"), (PNG_1x1, "png")]))
        img.add_header("Content-ID", f"<{cid}>")
        img.add_header("Content-Disposition", "inline", filename="spacer.gif")
        rel = MIMEMultipart(
            "related", _subparts=[_text_part(_html_of(body, cid), "html", rnd), img]
        )
        msg = MIMEMultipart("alternative", _subparts=[_text_part(body, "plain", rnd), rel])
    elif kind == "pdf":  # 100-300 KB PDF attachment, sometimes with a non-ASCII filename
        pdf = MIMEApplication(_fake_pdf(rnd, rnd.randint(100_000, 300_000)), "pdf")
        fname = rnd.choice([f"invoice-{n}.pdf", f"Rechnung-{n}-Größe.pdf", f"scan_{n}.pdf"])
        pdf.add_header(
            "Content-Disposition",
            "attachment",
            filename=fname if fname.isascii() else ("utf-8", "", fname),
        )
        msg = MIMEMultipart(
            "mixed", _subparts=[_text_part(body + "\nSee attached.\n", "plain", rnd), pdf]
        )
    elif kind == "reply" and threads:
        pid, prefs, psubj = rnd.choice(threads[-200:])
        subject = psubj if psubj.lower().startswith("re:") else "Re: " + psubj
        subj_cs = "utf-8" if not subject.isascii() else "us-ascii"
        if rnd.random() < 0.4:
            sender = ("Support Agent", f"support@{DOMAIN}")
        quoted = "".join("> " + line + "\n" for line in BODY[i % len(BODY)].splitlines())
        msg = _text_part(
            f"Thanks, any update on this?\n\nOn {formatdate(BASE_TS)}, you wrote:\n{quoted}",
            "plain",
            rnd,
        )
        extra["In-Reply-To"] = pid
        extra["References"] = " ".join([*prefs, pid][-10:])
    elif kind == "auto":
        prefix = rnd.choice(["Automatic reply: ", "Out of Office: ", "Abwesenheitsnotiz: "])
        subject = prefix + subject
        subj_cs = "utf-8" if not subject.isascii() else "us-ascii"
        msg = _text_part(
            "I am out of the office until Monday and will reply on my return.\n", "plain", rnd
        )
        extra.update({"Auto-Submitted": "auto-replied", "X-Autoreply": "yes"})
        if threads:
            extra["In-Reply-To"] = rnd.choice(threads)[0]
    elif kind == "bulk":
        sender = ("Example Weekly", "news@lists.example.com")
        subject = f"Example Weekly #{i % 52 + 1}: product updates"
        subj_cs = "us-ascii"
        html = _html_of("Top stories this week\nUnsubscribe at any time", remote_pixel=True)
        msg = MIMEMultipart(
            "alternative",
            _subparts=[
                _text_part("Top stories this week\n", "plain", rnd),
                _text_part(html, "html", rnd),
            ],
        )
        extra.update(
            {
                "Precedence": "bulk",
                "List-Id": "Example Weekly <weekly.lists.example.com>",
                "List-Unsubscribe": "<mailto:unsubscribe@lists.example.com>",
            }
        )
    else:  # "dsn" (or "reply" with nothing to reply to yet): a delivery failure report
        sender = ("Mail Delivery System", f"MAILER-DAEMON@mail.{DOMAIN}")
        subject, subj_cs = "Undelivered Mail Returned to Sender", "us-ascii"
        per_msg, per_rcpt = Message(), Message()
        per_msg["Reporting-MTA"] = f"dns; mail.{DOMAIN}"
        per_rcpt["Final-Recipient"] = f"rfc822; gone{i}@example.org"
        per_rcpt["Action"], per_rcpt["Status"] = "failed", "5.1.1"
        status = MIMEBase("message", "delivery-status")
        status.set_payload([per_msg, per_rcpt])
        msg = MIMEMultipart(
            "report",
            _subparts=[_text_part("Your message could not be delivered.\n", "plain", rnd), status],
        )
        msg.set_param("report-type", "delivery-status")
        extra["Auto-Submitted"] = "auto-replied"
    msgid = f"<seed{i}.{n}@gen.{DOMAIN}>"
    msg["From"] = formataddr(sender, charset="utf-8")
    msg["To"] = to_addr
    msg["Subject"] = Header(subject, subj_cs) if subj_cs != "us-ascii" else subject
    msg["Date"] = formatdate(BASE_TS + i * 60 + rnd.randint(0, 59), localtime=False)
    msg["Message-ID"] = msgid
    for key, value in extra.items():
        msg[key] = value
    for k, part in enumerate(msg.walk()):  # fixed boundaries => byte-identical output
        if part.is_multipart():
            part.set_boundary(f"----=_deskbed_{i}_{k}")
    if kind in ("plain", "alt", "pdf", "pixel", "reply"):
        threads.append((msgid, extra.get("References", "").split(), subject))
    return msg.as_bytes(), BASE_TS + i * 60


def generate(count: int, seed: int = 1, to_addr: str = f"support@{DOMAIN}") -> Iterator[bytes]:
    """The first `count` messages of the mailbox for `seed`, in order (LF line endings)."""
    rnd = random.Random(seed)
    threads: list[Thread] = []
    for i in range(count):
        yield make(i, rnd, to_addr, threads)[0]


def date_of(i: int) -> int:
    """The arrival time (epoch seconds) of message i: one a minute from 2024-01-01."""
    return BASE_TS + i * 60


CACHE_DIR = Path(tempfile.gettempdir()) / "deskterm-bench-cache"


def cached(count: int, seed: int = 1) -> list[bytes]:
    """generate(count, seed) as a list, kept in one file under CACHE_DIR (outside the
    checkout) between runs. The cache key includes a hash of this file, so an edit to the
    generator never serves stale messages."""
    key = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:12]
    path = CACHE_DIR / f"corpus-{key}-s{seed}-n{count}.bin"
    try:
        blob = path.read_bytes()
    except OSError:
        blob = None
    if blob is not None:
        out, pos = [], 0
        while pos < len(blob):
            (size,) = struct.unpack_from(">Q", blob, pos)
            out.append(blob[pos + 8 : pos + 8 + size])
            pos += 8 + size
        if len(out) == count:
            return out
    out = list(generate(count, seed))
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{time.time_ns()}.tmp")
    tmp.write_bytes(b"".join(struct.pack(">Q", len(m)) + m for m in out))
    tmp.replace(path)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description="Write the benchmark mailbox as .eml files.")
    parser.add_argument("count", type=int)
    parser.add_argument("--eml", metavar="DIR", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    t0 = time.monotonic()
    args.eml.mkdir(parents=True, exist_ok=True)
    total = 0
    for i, data in enumerate(generate(args.count, args.seed)):
        (args.eml / f"{args.seed}-{i:06d}.eml").write_bytes(data)
        total += len(data)
    print(
        f"corpus: wrote {args.count} messages ({total / 1e6:.1f} MB) to {args.eml} "
        f"in {time.monotonic() - t0:.1f} s"
    )


if __name__ == "__main__":
    main()
