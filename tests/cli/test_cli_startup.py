"""What starting `deskterm` loads: every command (and every Tab of shell completion) imports
all the noun modules, so what only one command needs is imported inside that command."""

from __future__ import annotations

import subprocess
import sys

# Each is what one command needs (an HTTP client for OAuth2, the log file's handler, the
# completion script, the secret stores, the worker, the UI), never `deskterm --version`.
NOT_AT_START = (
    "http.client",
    "urllib.request",
    "logging.handlers",
    "click.shell_completion",
    "keyring",
    "cryptography",
    "multiprocessing",
    "imap_tools",
    "segno",
    "textual",
    "deskterm.secrets.store",
    "deskterm.engine.worker",
)


def test_version_loads_no_module_only_a_command_needs() -> None:
    code = (
        "import sys\n"
        "from deskterm.cli.main import main\n"
        "try:\n"
        "    main(['--version'], prog_name='deskterm')\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(sorted(m for m in {NOT_AT_START!r} if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert "version" in done.stdout
    assert done.stdout.splitlines()[-1] == "[]"


def test_the_read_model_loads_no_mail_protocol() -> None:
    """`conversations`, `show` and the app's list read the desk through desk/queries: none
    of them speaks to a mail server, so none loads IMAP, POP3 or SMTP (issue 12)."""
    protocols = ("imaplib", "poplib", "smtplib", "imap_tools", "aiosmtplib")
    code = (
        "import sys\n"
        "import deskterm.desk.queries\n"
        f"print(sorted(m for m in {protocols!r} if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.splitlines()[-1] == "[]"
