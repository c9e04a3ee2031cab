"""CPU time of deskterm's parser against the stdlib's alone, on the same mails, in one process.

    uv run python -m bench.parse_speed [--messages 1000] [--rounds 3]

The mails are a small realistic mix made here in a second, no cache or server needed: plain
replies, multipart/alternative with a table, mails with a PDF of up to 100 KB, HTML newsletters
with up to 200 links and remote images, and ISO-2022-JP Japanese mail. Each round times
`deskterm.mail.parse.parse` (everything the desk stores) and the baseline, the stdlib's
`BytesParser(compat32)` + payload decode alone (bench/stdlib_parse, the floor issue 3 keeps),
alternating; the minimum CPU seconds of each over the rounds are compared. Prints one JSON line:
the seconds, deskterm's messages per second, and `ratio` = deskterm / stdlib, which is what to
compare between runs (the machine's speed cancels out). For the 10,000-mail benchmark mailbox and
fast-mail-parser see bench.parser_compare.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr

from bench import stdlib_parse
from bench.parser_compare import cpu_seconds
from deskterm.mail.parse import parse

PDF = b"%PDF-1.4\n" + b"0123456789abcdef" * 256


def realistic_mix(count: int) -> list[bytes]:
    """Plain replies, HTML alternatives, mails with a PDF, HTML newsletters, Japanese mail."""
    rng = random.Random(7)
    mails = []
    for i in range(count):
        kind = i % 5
        headers = [
            f"Received: from mx{i}.example.net by mail.desk.test; Tue, 2 Jan 2024 10:00:00 +0000",
            f"From: {formataddr(('Customer ' + str(i), f'c{i}@example.com'))}",
            "To: support@desk.test",
            f"Subject: =?utf-8?Q?Order_{i}_=E2=80=93_question?=",
            "Date: Tue, 02 Jan 2024 10:00:00 +0100",
            f"Message-ID: <{i}.{rng.randrange(10**9)}@example.com>",
            f"In-Reply-To: <{i - 1}@desk.test>",
            "MIME-Version: 1.0",
        ]
        text = ("Hello, I have a question about my order. " * rng.randrange(3, 40)) + "\n"
        if kind == 0:
            headers.append("Content-Type: text/plain; charset=utf-8")
            head = b"\r\n".join(h.encode() for h in headers)
            mails.append(head + b"\r\n\r\n" + text.encode())
            continue
        if kind == 1:
            msg = MIMEMultipart("alternative")
            msg.attach(MIMEText(text, "plain", "utf-8"))
            msg.attach(MIMEText(f"<html><body><p>{text}</p><table><tr><td>x</td></tr></table>"
                                "</body></html>", "html", "utf-8"))  # fmt: skip
        elif kind == 2:
            msg = MIMEMultipart()
            msg.attach(MIMEText(text, "plain", "utf-8"))
            pdf = MIMEApplication(PDF * rng.randrange(1, 25), "pdf")
            pdf.add_header("Content-Disposition", "attachment", filename="invoice.pdf")
            msg.attach(pdf)
        elif kind == 3:
            newsletter = "".join(
                f'<tr><td><a href="https://shop.example/{j}">Offer {j}</a></td>'
                f'<td><img src="https://img.example/{j}.png"></td></tr>'
                for j in range(rng.randrange(10, 200))
            )
            msg = MIMEText(f"<html><body><table>{newsletter}</table></body></html>", "html")
        else:
            msg = MIMEText("日本語のお問い合わせです。\n" * 20, "plain", "iso-2022-jp")
        head = b"\r\n".join(h.encode() for h in headers) + b"\r\n"
        mails.append(head + msg.as_bytes())
    return mails


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.parse_speed")
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    mails = realistic_mix(args.messages)
    deskterm = stdlib = float("inf")
    for _ in range(max(1, args.rounds)):
        deskterm = min(deskterm, cpu_seconds(parse, mails))
        stdlib = min(stdlib, stdlib_parse.parse_all(mails))
    print(
        json.dumps(
            {
                "messages": len(mails),
                "bytes": sum(map(len, mails)),
                "cpu_seconds": {"deskterm_parse": round(deskterm, 3), "stdlib": round(stdlib, 3)},
                "deskterm_messages_per_second": round(len(mails) / deskterm),
                "ratio": round(deskterm / stdlib, 3),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
