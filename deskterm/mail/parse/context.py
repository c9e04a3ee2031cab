"""The state of one parse, handed down the MIME walk: limits, repairs noted, attachments found.

Every reader below `parse` notes what it had to repair with `Ctx.defect`, so a mail that was
read with repairs says so, however deep in the message the repair was made.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from deskterm.mail.parse.limits import MAX_DEFECTS


@dataclass
class Attachment:
    """An attachment as found in the MIME walk, before it is named (see `names`)."""

    name: str
    content_type: str
    data: bytes
    content_id: str | None
    location: str


@dataclass
class Ctx:
    """State of one parse: limits, repairs noted so far, attachments found."""

    min_attachment: int
    hint: str | None = None  # the message's declared charset, tried for undeclared 8-bit headers
    defects: dict[str, None] = field(default_factory=dict)
    parts: int = 0
    attachments: list[Attachment] = field(default_factory=list)
    skipped: int = 0
    body_seen: bool = False  # a body piece was found: a named text part after it is also a file

    def defect(self, text: str) -> None:
        if len(self.defects) < MAX_DEFECTS:
            self.defects[text[:200]] = None
