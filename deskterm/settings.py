"""Every environment variable deskterm reads, parsed and checked in one place.

Operators tune a desk through `DESKTERM_*` (and the system notifications through `SMTP_*`);
each variable's name, default, accepted values and refusal sentence live here and nowhere
else. A value is parsed when first asked for, not at start-up, so a bad `SMTP_PORT` stops a
notification, not `deskterm conversations`; and it is parsed once per environment: `current()`
returns the same object until one of the variables changes (tests and the demo change them).

Secrets (`DESKTERM_PASSPHRASE`, `SMTP_PASS`) are not settings: they are read where they are
used and never kept in an object that a traceback or a log line could show.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from deskterm.errors import ConfigError, SecretError

HOME = "DESKTERM_HOME"
DATABASE_URL = "DESKTERM_DATABASE_URL"
BLOB_DIR = "DESKTERM_BLOB_DIR"
POLL_INTERVAL = "DESKTERM_POLL_INTERVAL"
MAX_AGE_DAYS = "DESKTERM_MAX_AGE_DAYS"
MAX_BODY_BYTES = "DESKTERM_MAX_BODY_BYTES"
MIN_ATTACHMENT_BYTES = "DESKTERM_MIN_ATTACHMENT_BYTES"
SECRET_BACKEND = "DESKTERM_SECRET_BACKEND"
AGENT = "DESKTERM_AGENT"
DEBUG = "DESKTERM_DEBUG"
NOTIFY_TO = "DESKTERM_NOTIFY_TO"
NEW_MAIL = "DESKTERM_NEW_MAIL"
SMTP_HOST = "SMTP_HOST"
SMTP_PORT = "SMTP_PORT"
SMTP_SECURE = "SMTP_SECURE"
SMTP_FROM = "SMTP_FROM"
SMTP_USER = "SMTP_USER"
SMTP_CA_FILE = "SMTP_CA_FILE"
SMTP_ALLOW_INSECURE = "SMTP_ALLOW_INSECURE"
NAMES = (
    HOME,
    DATABASE_URL,
    BLOB_DIR,
    POLL_INTERVAL,
    MAX_AGE_DAYS,
    MAX_BODY_BYTES,
    MIN_ATTACHMENT_BYTES,
    SECRET_BACKEND,
    AGENT,
    DEBUG,
    NOTIFY_TO,
    NEW_MAIL,
    SMTP_HOST,
    SMTP_PORT,
    SMTP_SECURE,
    SMTP_FROM,
    SMTP_USER,
    SMTP_CA_FILE,
    SMTP_ALLOW_INSECURE,
)

# How the terminal app tells the agent of new mail (DESKTERM_NEW_MAIL); off unless asked for.
NEW_MAIL_MODES = ("off", "bell", "osc9", "osc777")
DEFAULT_MAX_BODY_BYTES = 100_000
DEFAULT_MIN_ATTACHMENT_BYTES = 1024
_YES = ("1", "true", "yes")
# SMTP_SECURE as people write it: true/false for the implicit-TLS port or not.
_SECURE_WORDS = {"true": "ssl", "1": "ssl", "yes": "ssl", "false": "starttls", "0": "starttls"}
_SECURE_WORDS["no"] = "starttls"
# The standard SMTP port for each security: system notifications' and a channel's [outbound].
SMTP_PORTS = {"ssl": 465, "starttls": 587, "none": 25}


@dataclass(frozen=True)
class Notifications:
    """The SMTP server system notifications go through (not a channel's); `notify_to` says
    who receives them."""

    host: str
    port: int
    secure: str  # ssl | starttls | none
    sender: str | None
    user: str | None
    ca_file: str | None
    allow_insecure: bool


class Settings:
    """The environment as deskterm understands it; build with `current()`."""

    def __init__(self, environ: dict[str, str | None]) -> None:
        self._env = environ

    def _text(self, name: str) -> str | None:
        value = self._env.get(name)
        return value if value and value.strip() else None

    @cached_property
    def home(self) -> Path | None:
        value = self._text(HOME)
        return Path(value).expanduser() if value else None

    @cached_property
    def database_url(self) -> str | None:
        return self._env.get(DATABASE_URL) or None

    @cached_property
    def blob_dir(self) -> Path | None:
        """Where raw mail and attachments live instead of the home: for a team, a directory
        every machine of the desk shares (README, "A team desk")."""
        value = self._text(BLOB_DIR)
        return Path(value).expanduser() if value else None

    @cached_property
    def poll_interval(self) -> float | None:
        """Seconds between polls for every channel, overriding each channel's own."""
        raw = self._env.get(POLL_INTERVAL)
        if not raw:
            return None
        try:
            return max(1.0, float(raw))
        except ValueError:
            raise ConfigError(
                f"{POLL_INTERVAL} is {raw!r}; set it to a number of seconds."
            ) from None

    @cached_property
    def max_age_days(self) -> int | None:
        """The history window for every channel, overriding each channel's own (0: no limit)."""
        raw = self._text(MAX_AGE_DAYS)
        if raw is None:
            return None
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(
                f"{MAX_AGE_DAYS} is {raw!r}; set it to a whole number of days (0 = no limit)."
            ) from None
        if value < 0:
            raise ConfigError(f"{MAX_AGE_DAYS} must not be negative (0 means no limit).")
        return value

    @cached_property
    def parse_limits(self) -> tuple[int, int]:
        """(max_body_bytes, min_attachment_bytes), so operators can tune sync."""
        return (
            self._bytes(MAX_BODY_BYTES, DEFAULT_MAX_BODY_BYTES, minimum=1),
            self._bytes(MIN_ATTACHMENT_BYTES, DEFAULT_MIN_ATTACHMENT_BYTES, minimum=0),
        )

    def _bytes(self, name: str, default: int, *, minimum: int) -> int:
        raw = (self._env.get(name) or "").strip()
        if not raw:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a whole number of bytes, not {raw!r}.") from None
        if value < minimum:
            raise ConfigError(f"{name} must be at least {minimum}, not {value}.")
        return value

    @cached_property
    def secret_backend(self) -> str:
        """keyring, vault, or "" to choose automatically."""
        raw = self._env.get(SECRET_BACKEND) or ""
        choice = raw.strip().lower()
        if choice not in ("", "keyring", "vault"):
            raise SecretError(
                f"{SECRET_BACKEND} is {raw!r}, which is not a secret backend; set it to keyring "
                "or vault, or unset it to choose automatically."
            )
        return choice

    @cached_property
    def agent(self) -> str | None:
        """The agent at this keyboard (a handle or an address; deskterm.desk.agents.current)."""
        return (self._env.get(AGENT) or "").strip() or None

    @cached_property
    def debug(self) -> bool:
        """Unexpected errors raise with their traceback instead of becoming a sentence."""
        return bool(self._env.get(DEBUG))

    @cached_property
    def new_mail(self) -> str:
        """How the terminal app signals new mail: off (the default), bell (the terminal bell),
        osc9 or osc777 (a desktop notification through the terminal's escape sequence)."""
        raw = self._env.get(NEW_MAIL) or ""
        choice = raw.strip().lower() or "off"
        if choice not in NEW_MAIL_MODES:
            raise ConfigError(
                f"{NEW_MAIL} is {raw!r}; set it to bell, osc9 or osc777, or off (the default)."
            )
        return choice

    @cached_property
    def notify_to(self) -> str | None:
        """The agent address that receives system notifications."""
        return self._env.get(NOTIFY_TO) or None

    @cached_property
    def smtp_configured(self) -> bool:
        """The desk's own SMTP server is set (SLA notices go to each assignee through it)."""
        return bool(self._env.get(SMTP_HOST))

    @cached_property
    def notify_configured(self) -> bool:
        return bool(self._env.get(SMTP_HOST) and self.notify_to)

    @cached_property
    def notifications(self) -> Notifications:
        host = self._env.get(SMTP_HOST) or ""
        if not host:
            raise ConfigError(
                f"{SMTP_HOST} is not set; system notifications need their own SMTP server."
            )
        secure = (self._env.get(SMTP_SECURE) or "starttls").strip().lower()
        secure = _SECURE_WORDS.get(secure, secure)
        if secure not in SMTP_PORTS:
            raise ConfigError(f"{SMTP_SECURE} must be ssl, starttls or none.")
        try:
            port = int(self._env.get(SMTP_PORT) or SMTP_PORTS[secure])
        except ValueError:
            raise ConfigError(f"{SMTP_PORT} must be a port number.") from None
        return Notifications(
            host=host,
            port=port,
            secure=secure,
            sender=self._env.get(SMTP_FROM) or None,
            user=self._env.get(SMTP_USER) or None,
            ca_file=self._env.get(SMTP_CA_FILE) or None,
            allow_insecure=(self._env.get(SMTP_ALLOW_INSECURE) or "").strip().lower() in _YES,
        )


_cache: tuple[tuple[str | None, ...], Settings] | None = None


def current() -> Settings:
    """The settings of this environment, parsed once until one of the variables changes."""
    global _cache
    key = tuple(os.environ.get(name) for name in NAMES)
    if _cache is None or _cache[0] != key:
        _cache = (key, Settings(dict(zip(NAMES, key, strict=True))))
    return _cache[1]
