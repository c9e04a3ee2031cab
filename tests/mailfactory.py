"""Building test mail: realistic, and hostile where a test needs it."""

from __future__ import annotations

from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid


def make_mail(
    subject: str = "Printer on fire",
    sender: str = "Jane Doe <customer@desk.test>",
    to: str = "support@desk.test",
    body: str = "Hello, my printer is on fire.\n",
    *,
    message_id: str | None = "auto",
    in_reply_to: str | None = None,
    references: list[str] | None = None,
    headers: dict[str, str] | None = None,
    date: datetime | None = None,
    cc: str | None = None,
) -> bytes:
    mail = EmailMessage()
    mail["From"] = sender
    mail["To"] = to
    if cc:
        mail["Cc"] = cc
    mail["Subject"] = subject
    mail["Date"] = format_datetime(date or datetime.now(UTC))
    if message_id == "auto":
        message_id = make_msgid(domain="customer.example")
    if message_id:
        mail["Message-ID"] = message_id
    if in_reply_to:
        mail["In-Reply-To"] = in_reply_to
    if references:
        mail["References"] = " ".join(references)
    for name, value in (headers or {}).items():
        mail[name] = value
    mail.set_content(body)
    return bytes(mail)
