"""The systemd unit that runs `deskterm poll` as a service, and where it is installed.

What the unit promises, line by line (`render` writes exactly these):
- `Type=notify`: systemd counts the worker started only when it says READY=1, once it holds
  the desk's lock and its loop runs (engine.sd_notify), so a worker refused the lock fails to
  start rather than seeming to run; `NotifyAccess=main` ignores the parsing processes.
- `WatchdogSec=`: the loop sends WATCHDOG=1 as it goes round; a worker that stops doing so
  (hung on something without a timeout) is killed with SIGABRT and restarted.
- `KillMode=control-group`: a stop or restart kills every process of the unit, so no parsing
  process outlives its worker; `Restart=on-failure` brings a crashed worker back.
- The environment `deskterm poll` needs and nothing secret: DESKTERM_HOME always (the path
  as resolved here, not the service user's default), the other settings that are set. A
  database URL holding a password is refused (libpq reads ~/.pgpass). The vault's passphrase
  comes through `LoadCredential=` (secrets.passphrase), never through the unit.
- `SyslogLevel=err`: the lines `deskterm poll` writes carry their own level (`<6>`...); a line
  without one is the sentence of a fatal error, or a traceback, and is filed as an error.
"""

from __future__ import annotations

import getpass
import os
import pwd
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from deskterm import paths, settings
from deskterm.errors import DeskError
from deskterm.secrets.passphrase import PASSPHRASE_CREDENTIAL

UNIT_NAME = "deskterm.service"
SYSTEM_DIR = Path("/etc/systemd/system")
DEFAULT_WATCHDOG = 300  # seconds: longer than any single network wait of a pass (timeouts)
MIN_WATCHDOG = 30  # the loop may sleep 5 s and a pass poll for a while between two pets
# Settings only the terminal app reads: a service has no use for them.
APP_ONLY = frozenset({settings.AGENT, settings.NEW_MAIL})
# What User= and LoadCredential= may hold unquoted (no space, quote, `%` specifier or `$`).
BARE = re.compile(r"[A-Za-z0-9._+@/-]+")
# Query parameters of a libpq URL that carry a secret.
URL_SECRETS = frozenset({"password", "sslpassword"})


@dataclass(frozen=True)
class Unit:
    """What the unit says; `render` turns it into the file's text."""

    user_unit: bool
    command: tuple[str, ...]
    environment: dict[str, str] = field(default_factory=dict)
    run_as: str | None = None  # User= of a system unit; a user unit runs as its user
    passphrase_file: Path | None = None
    watchdog: int = DEFAULT_WATCHDOG


def plan(
    *,
    user_unit: bool,
    passphrase_file: Path | None = None,
    watchdog: int = DEFAULT_WATCHDOG,
    run_as: str | None = None,
) -> Unit:
    """The unit for this desk as the current environment names it (DESKTERM_HOME and the
    other settings), run by this very interpreter and deskterm."""
    if watchdog < MIN_WATCHDOG:
        raise DeskError(f"--watchdog must be at least {MIN_WATCHDOG} seconds; give a longer one.")
    current = settings.current()
    home = paths.home_location().absolute()
    environment = {settings.HOME: str(home)}
    for name in settings.NAMES:
        value = os.environ.get(name)
        if name not in APP_ONLY and name != settings.HOME and value:
            environment[name] = value
    if current.database_url and url_has_password(current.database_url):
        raise DeskError(
            f"{settings.DATABASE_URL} holds a password, which must not go into a unit file; "
            "remove it from the URL and put it in the service user's ~/.pgpass (mode 0600)."
        )
    if passphrase_file is not None:
        passphrase_file = passphrase_file.absolute()
        if not passphrase_file.is_file():
            raise DeskError(
                f"The passphrase file {passphrase_file} does not exist; write the vault's "
                "passphrase into it first (see `deskterm service install --help`)."
            )
    if not user_unit and run_as is None:
        run_as = home_owner(home)
    return Unit(
        user_unit=user_unit,
        command=(sys.executable, "-m", "deskterm.cli", "poll"),
        environment=environment,
        run_as=run_as,
        passphrase_file=passphrase_file,
        watchdog=watchdog,
    )


def render(unit: Unit) -> str:
    """The unit file's text (systemd.unit(5) syntax, every value quoted and escaped)."""
    lines = [
        "# Written by `deskterm service install`; holds no secret.",
        "[Unit]",
        "Description=deskterm worker: fetches the desk's mail and sends its replies",
        "Wants=network-online.target",
        "After=network-online.target",
        "",
        "[Service]",
        "Type=notify",
        "NotifyAccess=main",
        f"ExecStart={' '.join(quote(arg, exec_line=True) for arg in unit.command)}",
    ]
    lines += [f"Environment={quote(f'{k}={v}')}" for k, v in unit.environment.items()]
    if unit.run_as:
        lines.append(f"User={bare(unit.run_as, 'user name')}")
    if unit.passphrase_file is not None:
        where = bare(str(unit.passphrase_file), "passphrase file's path")
        lines.append(f"LoadCredential={PASSPHRASE_CREDENTIAL}:{where}")
    lines += [
        "UMask=0077",
        f"WatchdogSec={unit.watchdog}",
        "Restart=on-failure",
        "RestartSec=10",
        "KillMode=control-group",
        "TimeoutStopSec=60",
        "SyslogLevel=err",
        "NoNewPrivileges=yes",
        # A user manager may lack the namespaces a private /tmp needs; a system one has them.
        *([] if unit.user_unit else ["PrivateTmp=yes"]),
        "",
        "[Install]",
        f"WantedBy={'default.target' if unit.user_unit else 'multi-user.target'}",
    ]
    return "\n".join(lines) + "\n"


def quote(value: str, *, exec_line: bool = False) -> str:
    """One word of a unit file, in double quotes: `%` doubled (specifiers), and on ExecStart=
    `$` doubled too (variables). A newline cannot be written, so it is refused."""
    if "\n" in value or "\r" in value or "\0" in value:
        raise DeskError(f"{value!r} holds a line break, which a unit file cannot hold; rename it.")
    text = value.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%")
    if exec_line:
        text = text.replace("$", "$$")
    return f'"{text}"'


def bare(value: str, what: str) -> str:
    """A value written as it is (User=, LoadCredential= take no quotes): only characters
    that mean nothing to systemd, else refused."""
    if not BARE.fullmatch(value):
        raise DeskError(
            f"The {what} {value!r} has characters a unit file cannot take as they are; use one "
            "of letters, digits and . _ - + @ /."
        )
    return value


def url_has_password(url: str) -> bool:
    """Whether a database URL carries a password (in its user part or its query)."""
    parts = urlsplit(url)
    try:
        in_user = parts.password is not None
    except ValueError:
        in_user = False
    return in_user or bool(URL_SECRETS & set(parse_qs(parts.query)))


def home_owner(home: Path) -> str:
    """Who the system service runs as: the owner of the desk's home (only they may enter it),
    else whoever runs this (the one who ran sudo, when it was sudo)."""
    try:
        return pwd.getpwuid(home.stat().st_uid).pw_name
    except (OSError, KeyError):
        return os.environ.get("SUDO_USER") or getpass.getuser()


def default_path(user_unit: bool) -> Path:
    """Where systemd looks: /etc/systemd/system, or the user's ~/.config/systemd/user."""
    if not user_unit:
        return SYSTEM_DIR / UNIT_NAME
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "systemd" / "user" / UNIT_NAME


def install(path: Path, text: str, *, force: bool) -> bool:
    """Write the unit at `path` (0644: it holds no secret, and systemd tools read it); False
    when the same unit is there already. A different one is kept unless `force`."""
    try:
        existing = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        existing = None
    except (OSError, UnicodeDecodeError) as exc:
        raise DeskError(f"Cannot read the unit already at {path} ({exc}); move it aside.") from None
    if existing == text:
        return False
    if existing is not None and not force:
        raise DeskError(
            f"A different unit is already at {path}; compare it with `deskterm service unit`, "
            "then add --force to replace it."
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.chmod(0o644)
        tmp.replace(path)
    except PermissionError:
        raise DeskError(
            f"No permission to write {path}; run the command as root, or write the unit with "
            "--path FILE and copy it there as root (or use --user)."
        ) from None
    except OSError as exc:
        raise DeskError(f"Cannot write {path} ({exc.strerror}); check the folder.") from None
    return True


def next_steps(unit: Unit, path: Path) -> list[str]:
    """The commands to run after writing the unit at `path`."""
    ctl = "systemctl --user" if unit.user_unit else "systemctl"
    steps = []
    if path != default_path(unit.user_unit):
        where = default_path(unit.user_unit)
        steps.append(f"{'' if unit.user_unit else 'sudo '}install -m 0644 {path} {where}")
    sudo = "" if unit.user_unit else "sudo "
    steps += [
        f"{sudo}{ctl} daemon-reload",
        f"{sudo}{ctl} enable --now {UNIT_NAME}",
        f"{ctl} status {UNIT_NAME}",
        f"journalctl {'--user-unit' if unit.user_unit else '-u'} {UNIT_NAME} -f",
    ]
    if unit.user_unit:
        steps.append(f"sudo loginctl enable-linger {getpass.getuser()}")
    return steps
