"""Issue 11, part 2: the parser shows what a good mail client shows.

Each test holds a mail of a shape found in public parser fixtures that deskterm read worse than
Thunderbird does: a body dropped, a text part hidden as a file, a disclaimer lost, a multipart
left as raw MIME, Japanese company names as escape bytes, a field turned to mojibake by one byte,
two people merged into one contact.
"""

from __future__ import annotations

import base64

import pytest

from deskterm.mail.parse import parse
from tests.engine.test_mailparse import PDF, raw_mail, simple

pytestmark = pytest.mark.without_database


def _mixed(*parts: bytes, boundary: bytes = b"B") -> bytes:
    """A multipart/mixed body from parts given as `headers CRLF CRLF content`."""
    body = b"".join(b"--" + boundary + b"\r\n" + part + b"\r\n" for part in parts)
    return body + b"--" + boundary + b"--\r\n"


# --------------------------------------------------------------------------- 1. sibling bodies


def test_html_body_beside_a_gateway_disclaimer_in_mixed_is_shown() -> None:
    body = _mixed(
        b"Content-Type: text/html; charset=utf-8\r\n\r\n"
        b"<html><body><p>My printer is <b>on fire</b>.</p></body></html>",
        b"Content-Type: text/plain; charset=utf-8\r\n\r\n-- \r\nScanned for viruses by MailGate.",
    )
    mail = parse(simple("fire", "Content-Type: multipart/mixed; boundary=B", body=body))
    assert "My printer is on fire." in mail.text
    assert "Scanned for viruses by MailGate." in mail.text
    assert mail.text.index("printer") < mail.text.index("Scanned")  # in the order sent
    assert "<p>" not in mail.text
    assert mail.html is not None and "<b>on fire</b>" in mail.html


def test_mixed_text_parts_are_all_shown_in_order_and_alternatives_once() -> None:
    alternative = (
        b"Content-Type: multipart/alternative; boundary=A\r\n\r\n"
        b"--A\r\nContent-Type: text/plain\r\n\r\nFirst, as plain text\r\n"
        b"--A\r\nContent-Type: text/html\r\n\r\n<p>First, as HTML</p>\r\n--A--"
    )
    body = _mixed(
        alternative,
        b"Content-Type: text/html\r\n\r\n<p>Second part</p>",
        b"Content-Type: text/plain\r\n\r\nThird part",
    )
    mail = parse(simple("parts", "Content-Type: multipart/mixed; boundary=B", body=body))
    text = mail.text
    assert "First, as plain text" in text and "First, as HTML" not in text
    assert text.index("First") < text.index("Second part") < text.index("Third part")


def test_html_sibling_bodies_are_bounded_together() -> None:
    part = b"Content-Type: text/html\r\n\r\n" + b"<p>word</p>" * 2000
    body = _mixed(*[part] * 20)
    mail = parse(simple("many", "Content-Type: multipart/mixed; boundary=B", body=body),
                 max_body_bytes=10_000)  # fmt: skip
    assert mail.truncated
    assert "message truncated by deskterm" in mail.text
    assert len(mail.text.encode()) < 11_000


# --------------------------------------------------------------------------- 2. named text parts


def test_inline_text_part_with_a_filename_is_the_body() -> None:
    body = _mixed(
        b"Content-Type: text/plain; charset=utf-8\r\n"
        b"Content-Disposition: inline; filename=message.txt\r\n\r\n"
        b"Please call me back.",
    )
    mail = parse(simple("x", "Content-Type: multipart/mixed; boundary=B", body=body))
    assert mail.text.strip() == "Please call me back."
    assert mail.attachments == []


def test_netscape_named_text_body_is_the_body() -> None:
    mail = parse(simple("x", "Content-Type: text/plain; name=note.txt", body=b"Netscape body\r\n"))
    assert mail.text.strip() == "Netscape body"
    assert mail.attachments == []


def test_a_later_inline_named_text_part_is_shown_and_kept_as_a_file() -> None:
    body = _mixed(
        b"Content-Type: text/plain\r\n\r\nThe log is below.",
        b'Content-Type: text/plain; charset=utf-8; name="server.log"\r\n'
        b"Content-Disposition: inline; filename=server.log\r\n\r\n"
        b"ERROR disk full",
        b"Content-Type: text/plain; name=kept.txt\r\n"
        b"Content-Disposition: attachment; filename=kept.txt\r\n\r\n"
        b"NOT SHOWN",
    )
    mail = parse(simple("x", "Content-Type: multipart/mixed; boundary=B", body=body))
    assert "The log is below." in mail.text and "ERROR disk full" in mail.text
    assert "NOT SHOWN" not in mail.text
    assert [a.filename for a in mail.attachments] == ["server.log", "kept.txt"]
    assert mail.attachments[0].data == b"ERROR disk full"


# --------------------------------------------------------------------------- 3. after </html>


def test_text_after_the_closing_html_tag_is_kept() -> None:
    html = (
        b"<html><body><p>Please help.</p></body></html>\r\n"
        b"This e-mail is confidential. If you are not the intended recipient, delete it.\r\n"
    )
    mail = parse(simple("x", "Content-Type: text/html; charset=utf-8", body=html))
    assert "Please help." in mail.text
    assert "This e-mail is confidential." in mail.text


# --------------------------------------------------------------------------- 4. folded boundary


def test_folded_boundary_parameter_is_unfolded() -> None:
    body = (
        b"This is a multi-part message in MIME format.\r\n"
        b"--foo bar\r\nContent-Type: text/plain\r\n\r\nPart one\r\n"
        b"--foo bar\r\nContent-Type: application/pdf; name=a.pdf\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + base64.encodebytes(PDF) + b"--foo bar--\r\n"
    )
    raw = simple("x", 'Content-Type: multipart/mixed; boundary="foo', ' bar"', body=body)
    mail = parse(raw)
    assert mail.text.strip() == "Part one"
    assert [(a.filename, a.data) for a in mail.attachments] == [("a.pdf", PDF)]
    assert "MIME start boundary not found" not in mail.defects


# --------------------------------------------------------------------------- 5. CP5022x Japanese


def _jis(text: str) -> bytes:
    """ISO-2022-JP as Outlook writes it (CP50221): NEC row 13 inside ESC $ B."""
    out = bytearray()
    for char in text:
        if char.isascii():
            out += b"\x1b(B" + char.encode()
            continue
        s1, s2 = char.encode("cp932")
        s1 -= 0x40 if s1 >= 0xE0 else 0
        row = (s1 - 0x81) * 2 + 0x21 + (s2 >= 0x9F)
        cell = s2 - 0x7E if s2 >= 0x9F else s2 - 0x20 if s2 >= 0x80 else s2 - 0x1F
        out += b"\x1b$B" + bytes([row, cell])
    return bytes(out + b"\x1b(B")


def test_jis_helper_writes_standard_iso_2022_jp_for_standard_characters() -> None:
    assert _jis("漢字").decode("iso2022_jp") == "漢字"


def test_iso_2022_jp_with_microsoft_characters_in_body_and_subject() -> None:
    text = "株式会社 ㈱ヤマダ №12 ① 〒100"
    subject = b"=?ISO-2022-JP?B?" + base64.b64encode(_jis("㈱ヤマダ様")) + b"?="
    mail = parse(
        simple(subject, "Content-Type: text/plain; charset=ISO-2022-JP", body=_jis(text) + b"\r\n")
    )
    assert mail.text.strip() == text
    assert mail.subject == "㈱ヤマダ様"
    assert "\x1b" not in mail.text + mail.subject


def test_iso_2022_jp_with_half_width_katakana_and_ibm_extensions() -> None:
    text = "ﾃｽﾄ 髙橋 纊"  # half-width katakana, IBM extension kanji (NEC-selected row 89+)
    raw = b"\x1b(I" + "ﾃｽﾄ".encode("iso2022_jp_ext")[3:-3] + _jis(" 髙橋 纊")
    mail = parse(simple("x", "Content-Type: text/plain; charset=iso-2022-jp", body=raw))
    assert mail.text.strip() == text


def test_broken_iso_2022_jp_never_shows_escape_bytes() -> None:
    raw = _jis("㈱ヤマダ") + b"\x1b$B\x7f\x7f\x1b(B end"
    mail = parse(simple("x", "Content-Type: text/plain; charset=iso-2022-jp", body=raw))
    assert "\x1b" not in mail.text and "$B" not in mail.text
    assert mail.text.startswith("㈱ヤマダ") and mail.text.rstrip().endswith("end")
    assert any("iso2022" in d or "ISO-2022" in d for d in mail.defects)


# --------------------------------------------------------------------------- 6. one bad byte


def test_undeclared_utf8_subject_with_one_stray_byte_keeps_its_utf8() -> None:
    subject = "Grüße aus Köln ".encode() + b"\x96 Anfrage"  # an en dash pasted from cp1252
    mail = parse(simple(subject))
    assert mail.subject == "Grüße aus Köln – Anfrage"  # the stray byte read as windows-1252
    assert any("invalid UTF-8" in d for d in mail.defects)


def test_subject_mixing_utf8_and_latin1_words() -> None:
    subject = b"Re: Caf\xe9 " + "für Müller".encode()
    assert parse(simple(subject)).subject == "Re: Café für Müller"


def test_raw_utf8_filename_cut_mid_character() -> None:
    name = "Angebot_für_Müller_Übersicht".encode() + "é".encode()[:1]
    body = _mixed(
        b"Content-Type: text/plain\r\n\r\nsee attached",
        b'Content-Type: application/pdf\r\nContent-Disposition: attachment; filename="'
        + name
        + b'.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        + base64.encodebytes(PDF),
    )
    mail = parse(simple("x", "Content-Type: multipart/mixed; boundary=B", body=body))
    (att,) = mail.attachments
    assert att.filename.startswith("Angebot_für_Müller_Übersicht")
    assert att.filename.endswith(".pdf")


def test_rfc2231_utf8_filename_cut_mid_character() -> None:
    name = "Müller_Übersicht".encode() + b"\xc3"
    quoted = "".join(f"%{b:02X}" if b > 127 else chr(b) for b in name)
    body = _mixed(
        b"Content-Type: text/plain\r\n\r\nsee attached",
        b"Content-Type: application/pdf\r\nContent-Disposition: attachment; "
        b"filename*=utf-8''" + quoted.encode() + b".pdf\r\n\r\n%PDF",
    )
    mail = parse(simple("x", "Content-Type: multipart/mixed; boundary=B", body=body),
                 min_attachment_bytes=0)  # fmt: skip
    (att,) = mail.attachments
    assert att.filename.startswith("Müller_Übersicht")


def test_plain_latin1_is_still_read_as_latin1_without_a_note() -> None:
    mail = parse(simple(b"Caf\xe9 cr\xe8me"))
    assert mail.subject == "Café crème"
    assert not any("UTF-8" in d for d in mail.defects)


# --------------------------------------------------------------------------- 7. two senders


@pytest.mark.parametrize(
    "header",
    [
        "tim@x.com concierge@x.com",
        "tim@x.com (Tim) concierge@x.com",
        "Tim tim@x.com concierge@x.com",
        "tim@x.com, concierge@x.com",
    ],
)
def test_from_with_two_addresses_is_the_first_and_noted(header: str) -> None:
    mail = parse(raw_mail(f"From: {header}", "To: support@desk.test", "Subject: hi", body=b"x\r\n"))
    assert mail.from_addr == "tim@x.com"
    assert any("From holds 2 addresses" in d for d in mail.defects), mail.defects


def test_different_people_writing_two_addresses_stay_different_contacts() -> None:
    first = parse(raw_mail("From: tim@x.com concierge@x.com", "Subject: a"))
    second = parse(raw_mail("From: ann@x.com concierge@x.com", "Subject: b"))
    assert (first.from_addr, second.from_addr) == ("tim@x.com", "ann@x.com")


@pytest.mark.parametrize("header", ["@x.com", "<@x.com>", "concierge @x.com @x.com", '"" @x.com'])
def test_an_empty_local_part_is_never_a_sender(header: str) -> None:
    mail = parse(raw_mail(f"From: {header}", "Subject: a"))
    assert not mail.from_addr.startswith("@")
