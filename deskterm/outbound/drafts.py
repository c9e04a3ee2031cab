"""Reply drafts and what the composer needs around them, as plain Python.

A draft is one JSON file per conversation under `<desk home>/drafts/`, written atomically (a
temporary file in the same folder, fsync, `os.replace`), so a crash or a dropped SSH session
leaves either the previous draft or the new one, never half a file, and never loses more
than the last second of typing (`Autosaver` writes at most once per `SAVE_EVERY` seconds while
the agent types, and once more when the composer closes). Sending queues the reply through
`replies.queue_reply` and only then deletes the draft.

The rest is the composer's logic kept out of the UI so it is tested without a terminal: the
reply's headers as they will go out (`reply_context`), templates with their `$variables`
filled, attachment checks that say what is wrong in one sentence, Cc parsing, path completion
for the attachment field, and the `$EDITOR` hand-off (the UI only suspends the terminal
around it). Text that comes from a mail (a template's `$subject`, a quote) is `clean`ed
before it reaches the composer, as everything shown on screen is.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shlex
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from email.utils import getaddresses
from pathlib import Path

from deskterm import paths
from deskterm.desk import recipients, templates
from deskterm.desk import status as lifecycle
from deskterm.errors import DeskError, NotFound
from deskterm.mail import addresses, compose
from deskterm.outbound import replies
from deskterm.outbound.outbox import OutboxError
from deskterm.process import child_env
from deskterm.sanitize import clean, one_line
from deskterm.store.models import Conversation

log = logging.getLogger("deskterm.outbound.drafts")

SAVE_EVERY = 1.0  # seconds: the most typing a crash can cost
COMPLETION_SCAN_LIMIT = 2000  # directory entries looked at per completion (huge folders)
# Debian's `editor` alternative is what the admin chose; then the usual suspects.
FALLBACK_EDITORS = ("editor", "nano", "vi")


class DraftError(DeskError):
    """A draft could not be read or written; the sentence says where and why."""


# --- the draft file ----------------------------------------------------------------------


@dataclass
class Draft:
    """What the agent has written so far; `cc` is kept as typed, half an address included."""

    conversation_id: int
    body: str = ""
    cc: str = ""
    attachments: list[str] = field(default_factory=list)
    status: str = lifecycle.DEFAULT_AFTER_REPLY  # what the conversation becomes once queued
    to_reply_to: bool = False  # the agent chose the answered mail's Reply-To over the contact

    def is_empty(self) -> bool:
        return not (self.body.strip() or self.cc.strip() or self.attachments)

    def copy(self) -> Draft:
        return replace(self, attachments=list(self.attachments))


def drafts_dir() -> Path:
    """Owner-only, like the rest of the desk's home: drafts hold customer conversations."""
    folder = paths.home() / "drafts"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def draft_file(conversation_id: int) -> Path:
    return drafts_dir() / f"{int(conversation_id)}.json"


def exists(conversation_id: int) -> bool:
    return draft_file(conversation_id).is_file()


def load(conversation_id: int) -> Draft:
    """The saved draft, or an empty one; an unreadable file is moved aside, never deleted."""
    path = draft_file(conversation_id)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return Draft(conversation_id)
    except (OSError, ValueError) as exc:
        raise _unreadable(path, exc) from None
    try:
        status = data.get("status", lifecycle.DEFAULT_AFTER_REPLY)
        draft = Draft(
            conversation_id=conversation_id,
            body=str(data.get("body", "")),
            cc=str(data.get("cc", "")),
            attachments=[str(p) for p in data.get("attachments", [])],
            status=status if status in lifecycle.AFTER_REPLY else lifecycle.DEFAULT_AFTER_REPLY,
            to_reply_to=data.get("to_reply_to") is True,
        )
    except (AttributeError, TypeError) as exc:
        raise _unreadable(path, exc) from None
    return draft


def _unreadable(path: Path, exc: Exception) -> DraftError:
    kept = path.with_name(path.name + ".unreadable")
    with contextlib.suppress(OSError):
        os.replace(path, kept)
    log.warning("draft %s unreadable: %s", path, exc)
    return DraftError(
        f"The saved draft {path.name} could not be read ({type(exc).__name__}); it was kept as "
        f"{kept} and the reply starts empty."
    )


def save(draft: Draft) -> None:
    """Write the draft atomically; an empty draft is no draft (its file is removed)."""
    if draft.is_empty():
        discard(draft.conversation_id)
        return
    target = draft_file(draft.conversation_id)
    data = {
        **asdict(draft),
        "saved_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    try:
        handle, temporary = tempfile.mkstemp(
            dir=target.parent, prefix=f".{target.stem}.", suffix=".tmp"
        )  # mkstemp: mode 0600
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(data, out, ensure_ascii=False, indent=1)
                out.flush()
                os.fsync(out.fileno())  # the rename must never expose an empty file
            os.replace(temporary, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
    except OSError as exc:
        raise DraftError(
            f"The draft for #{draft.conversation_id} could not be saved in {target.parent} "
            f"({exc.strerror or type(exc).__name__}); keep the composer open and free some space."
        ) from None


def discard(conversation_id: int) -> None:
    with contextlib.suppress(FileNotFoundError):
        draft_file(conversation_id).unlink()


class Autosaver:
    """Throttled saving: the first change is written at once, then at most every `every` s.

    The composer calls `changed` on every edit and `flush` from a timer (which writes a
    change held back by the throttle once it is due) and with `force=True` when it closes.
    A failed write keeps the change pending, so the next tick tries again.
    """

    def __init__(
        self,
        draft: Draft,
        *,
        every: float = SAVE_EVERY,
        clock: Callable[[], float] = time.monotonic,
        write: Callable[[Draft], None] = save,
    ) -> None:
        self.every = every
        self.clock = clock
        self.write = write
        self.saved = draft.copy()  # what the file holds (or would, for an empty draft)
        self.pending: Draft | None = None
        self.last_write = float("-inf")
        self.stopped = False

    def changed(self, draft: Draft) -> bool:
        """Note the draft as it is now; returns whether it was written."""
        if self.stopped:
            return False
        if draft == self.saved:
            self.pending = None
            return False
        self.pending = draft.copy()
        return self.flush()

    def flush(self, force: bool = False) -> bool:
        if self.stopped or self.pending is None:
            return False
        if not force and self.clock() - self.last_write < self.every:
            return False
        draft = self.pending
        self.last_write = self.clock()
        self.write(draft)
        self.saved, self.pending = draft, None
        return True

    def stop(self) -> None:
        """After sending: nothing may write the draft back."""
        self.stopped = True
        self.pending = None


# --- the reply as it will go out ----------------------------------------------------------


@dataclass(frozen=True)
class ReplyContext:
    """What the composer shows above the text, read from the conversation and its channel."""

    conversation_id: int
    subject: str  # the Subject the reply will carry: "Re: <subject> [#id]"
    to: str | None  # the contact: where the reply goes unless the agent picks reply_to
    reply_to: str | None  # the answered mail's Reply-To, when it is someone else: offered only
    sender: str  # the channel's From
    channel: str
    attachment_limit: int
    quote_previous: bool  # the outbox quotes the answered mail below the reply by itself
    answered_from: str  # who wrote the mail being answered ("" when there is none)
    problem: str | None = None  # why this reply cannot be queued at all
    waiting: str | None = None  # why a queued reply will not leave yet


def _conversation(conversation_id: int) -> Conversation:
    conversation = Conversation.get_or_none(Conversation.id == conversation_id)
    if conversation is None:
        raise NotFound(f"There is no conversation #{conversation_id}.")
    return conversation


def reply_context(conversation_id: int) -> ReplyContext:
    conversation = _conversation(conversation_id)
    channel = conversation.channel
    settings = channel.settings.get("outbound") or {}
    # The outbox's own rules for whom a reply goes to; one place decides.
    answered = replies.last_inbound(conversation)
    problem = None
    try:
        to: str | None = recipients.reply_address(conversation, answered)
    except recipients.NoRecipient as exc:
        to, problem = None, str(exc)
    if not settings:
        problem = (
            f"Channel {channel.name} has no [outbound] settings, so it cannot send replies; "
            f"add them with `deskterm channel edit {channel.name} --file ...`."
        )
    return ReplyContext(
        conversation_id=conversation.id,
        subject=compose.reply_subject(
            conversation.email_subject or conversation.subject, conversation.id
        ),
        to=to,
        reply_to=recipients.differing_reply_to(conversation, answered),
        sender=settings.get("from", ""),
        channel=channel.name,
        attachment_limit=int(settings.get("max_attachment_bytes", 0)),
        quote_previous=bool(settings.get("quote_previous", False)),
        answered_from=(answered.from_name or answered.from_addr) if answered else "",
        problem=problem,
        waiting=waiting_reason(channel.name, channel.status),
    )


def waiting_reason(channel: str, status: str) -> str | None:
    """Why replies of this channel stay queued: the outbox sends only for active channels."""
    if status == "active":
        return None
    return (
        f"Channel {channel} is {_described(status)} with no server connected, so replies stay "
        "queued until it is made active."
    )


def _described(status: str) -> str:
    return "a draft" if status == "draft" else status


def template_names() -> list[str]:
    return [t.name for t in templates.all_templates()]


def template_text(conversation_id: int, name: str) -> str:
    """A template with its `$variables` filled for this conversation, safe to show."""
    conversation = _conversation(conversation_id)
    body = templates.get(name).body
    return clean(templates.render(body, templates.values_for(conversation)))


def quote_text(conversation_id: int) -> str:
    """The customer's last mail quoted ("> "), to answer between its lines.

    Refused when the channel quotes it below every reply anyway (`quote_previous`): the
    customer would get their mail twice.
    """
    conversation = _conversation(conversation_id)
    settings = conversation.channel.settings.get("outbound") or {}
    if settings.get("quote_previous"):
        raise OutboxError(
            f"Channel {conversation.channel.name} already quotes the customer's last mail below "
            "every reply (quote_previous), so it is not inserted a second time."
        )
    answered = replies.last_inbound(conversation)
    if answered is None or not answered.text.strip():
        raise OutboxError(f"Conversation #{conversation_id} has no customer mail to quote.")
    return clean(compose.quoted(answered.text, replies.quote_header(answered))) + "\n\n"


# --- attachments and Cc ---------------------------------------------------------------------


def _size(path: str | Path) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0  # gone since it was added: queue_reply says so when the reply is sent


def attachment_sizes(draft: Draft) -> list[tuple[str, int]]:
    return [(path, _size(path)) for path in draft.attachments]


def add_attachment(draft: Draft, typed: str, limit: int) -> Path:
    """Attach a file to the draft, or say in one sentence why not (nothing changes then).

    The same checks and words as `replies.queue_reply`, made as the file is added rather
    than when the agent presses send.
    """
    typed = typed.strip()
    if not typed:
        raise OutboxError("Type the path of a file to attach (tab completes it).")
    path = Path(typed).expanduser()
    path = path if path.is_absolute() else Path.cwd() / path
    if str(path) in draft.attachments:
        raise OutboxError(f"{path.name} is already attached.")
    replies.check_attachments([*(Path(p) for p in draft.attachments), path], limit)
    draft.attachments.append(str(path))
    return path


def cc_addresses(typed: str) -> list[str]:
    """The Cc line as typed ("a@x.example, Bo <b@y.example>") split into addresses, checked."""
    found = [
        f"{name} <{address}>" if name else address or name
        for name, address in getaddresses([typed.replace(";", ",")])
        if name or address
    ]
    bad = [address for address in found if addresses.parse_one(address) is None]
    if bad and typed.count("@") > "".join(found).count("@"):
        # Addresses went missing in the stdlib's reading (`a@x b@x` reads as `@x`): quote
        # what was typed, not that reading.
        raise OutboxError(
            f"{one_line(typed.strip())!r} in Cc is not a list of addresses; separate them "
            "with commas, like a@example.com, Bo <b@example.com>."
        )
    replies.check_cc(found)
    return found


# --- sending ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Queued:
    conversation_id: int
    message_id: int
    note: str  # one sentence for the agent


def send(draft: Draft) -> Queued:
    """Queue the draft in the outbox (no network I/O), then forget the draft."""
    if draft.status not in lifecycle.AFTER_REPLY:
        raise OutboxError(f"A reply leaves the conversation {' or '.join(lifecycle.AFTER_REPLY)}.")
    message = replies.queue_reply(
        draft.conversation_id,
        draft.body,
        attachments=[Path(p) for p in draft.attachments],
        cc=cc_addresses(draft.cc),
        status=draft.status,
        to_reply_to=draft.to_reply_to,
    )
    discard(draft.conversation_id)
    channel = message.conversation.channel
    if channel.status == "active":
        note = f"Reply to #{draft.conversation_id} queued for {', '.join(message.to)}."
    else:
        note = (
            f"Reply to #{draft.conversation_id} queued, but channel {channel.name} has no "
            f"server connected (it is {_described(channel.status)}), so it stays queued until "
            "the channel is made active."
        )
    return Queued(draft.conversation_id, message.id, note)


# --- $EDITOR --------------------------------------------------------------------------------


def editor_command(environ: Mapping[str, str] | None = None) -> list[str]:
    """$VISUAL, then $EDITOR (split like a shell would: "code --wait"), then a fallback."""
    env = os.environ if environ is None else environ
    for name in ("VISUAL", "EDITOR"):
        value = env.get(name, "").strip()
        if value:
            try:
                command = shlex.split(value)
            except ValueError:
                raise DeskError(
                    f"${name} ({value!r}) is not a command deskterm can split; fix its quotes."
                ) from None
            if command:
                return command
    for fallback in FALLBACK_EDITORS:
        found = shutil.which(fallback, path=env.get("PATH"))
        if found:
            return [found]
    raise DeskError(
        "No editor was found; set $EDITOR (for example `export EDITOR=nano`) or install nano or vi."
    )


def edit_externally(
    text: str,
    conversation_id: int,
    *,
    command: list[str] | None = None,
    run: Callable[[list[str]], int] | None = None,
) -> str:
    """Hand the text to the agent's editor and return what they saved.

    The file lives in the drafts folder (owner-only) and is removed afterwards; the caller
    must have saved the draft first and keeps it when this raises, so a crashed or killed
    editor costs nothing. The caller suspends the terminal around this call. The editor gets
    `child_env()`: it is the agent's program, but its plugins need no vault passphrase.
    """
    command = command or editor_command()
    handle, name = tempfile.mkstemp(
        dir=drafts_dir(), prefix=f"reply-{int(conversation_id)}-", suffix=".txt"
    )
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text if not text or text.endswith("\n") else text + "\n")
        try:
            status = (run or _run_editor)([*command, name])
        except OSError as exc:
            raise DeskError(
                f"Cannot run the editor {command[0]!r} ({exc.strerror or type(exc).__name__}); "
                "set $EDITOR to an editor that is installed."
            ) from None
        if status != 0:
            raise DeskError(
                f"The editor {Path(command[0]).name} exited with status {status}; the reply was "
                "left as it was."
            )
        edited = Path(name).read_text(encoding="utf-8", errors="replace")
        return clean(edited).rstrip("\n")
    finally:
        with contextlib.suppress(OSError):
            os.unlink(name)


def _run_editor(argv: list[str]) -> int:
    """The editor in the foreground on our terminal, without deskterm's secrets."""
    return subprocess.call(argv, env=child_env())


# --- path completion ------------------------------------------------------------------------


def complete_path(typed: str) -> str | None:
    """What the attachment field suggests for `typed`: `typed` plus the rest of a file name.

    The longest common completion among the matching entries, else the first match; folders
    end with "/". Hidden entries only when the typed name starts with a dot. `~` is kept as
    typed. At most `COMPLETION_SCAN_LIMIT` entries are read, so a huge folder stays fast.
    """
    if not typed or typed.endswith(os.sep + ".."):
        return None
    folder, prefix = os.path.split(os.path.expanduser(typed))
    names: list[str] = []
    try:
        with os.scandir(folder or ".") as entries:
            for number, entry in enumerate(entries):
                if number >= COMPLETION_SCAN_LIMIT:
                    break
                if not entry.name.startswith(prefix):
                    continue
                if entry.name.startswith(".") and not prefix.startswith("."):
                    continue
                with contextlib.suppress(OSError):
                    names.append(entry.name + (os.sep if entry.is_dir() else ""))
    except OSError:
        return None
    if not names:
        return None
    names.sort()
    common = os.path.commonprefix(names)  # noqa: RUF071 - names, not paths: by character
    completion = common if len(common) > len(prefix) else names[0]
    if completion == prefix:
        return None
    return typed + completion[len(prefix) :]
