"""The vault's passphrase: where it comes from when nobody is asked (the environment, or
systemd), how a person is asked on a terminal, and what a new one must be.

Its own module so that the vault (which asks), the TUI's unlock dialog (which asks in its own
way and shows the rule) and `deskterm service install` (which tells the admin how to give it)
name the same variable, credential and rule.
"""

from __future__ import annotations

import getpass
import itertools
import os
import sys
from collections.abc import Callable
from pathlib import Path

from deskterm.errors import SecretError

PASSPHRASE_ENV = "DESKTERM_PASSPHRASE"
# systemd's credentials (systemd.exec(5), LoadCredential=): the folder, and our file in it.
CREDENTIALS_ENV = "CREDENTIALS_DIRECTORY"
PASSPHRASE_CREDENTIAL = "deskterm-passphrase"
MIN_PASSPHRASE = 12
PASSPHRASE_RULE = (
    f"A new vault passphrase needs at least {MIN_PASSPHRASE} characters and must not be one "
    "character or a short pattern repeated, or a run like 123456789012 or abcdefghijkl; choose "
    "a longer one, for example four random words."
)


def given_passphrase() -> str | None:
    """The passphrase given without asking: DESKTERM_PASSPHRASE, else the systemd credential
    PASSPHRASE_CREDENTIAL, else None.

    The credential is how a service gets it (`deskterm service install --passphrase-file`
    writes `LoadCredential=`): systemd copies a root-only file into $CREDENTIALS_DIRECTORY for
    this service alone, so the passphrase is in no unit file, environment or argv. One final
    newline (`echo ... > file`) is not part of it.
    """
    if PASSPHRASE_ENV in os.environ:
        return os.environ[PASSPHRASE_ENV]
    folder = os.environ.get(CREDENTIALS_ENV)
    if not folder:
        return None
    path = Path(folder) / PASSPHRASE_CREDENTIAL
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "it is not UTF-8 text"
        raise SecretError(
            f"The vault passphrase credential {path} cannot be read ({why}); check the "
            f"file the unit's LoadCredential= names."
        ) from None
    return text.removesuffix("\n").removesuffix("\r")


def weak_passphrase(passphrase: str) -> bool:
    """True when a passphrase breaks PASSPHRASE_RULE: too short, repeated or a run.

    Only new vaults are held to it (an existing vault opens with whatever made it); a dialog
    can call it as the passphrase is typed and show PASSPHRASE_RULE.
    """
    folded = passphrase.casefold()
    size = len(folded)
    if size < MIN_PASSPHRASE:
        return True
    if any(
        size % unit == 0 and folded == folded[:unit] * (size // unit)
        for unit in range(1, size // 2 + 1)
    ):
        return True
    steps = {ord(b) - ord(a) for a, b in itertools.pairwise(folded)}
    if steps in ({1}, {-1}):
        return True
    if folded.isdigit():  # 890123456789: a run that wraps from 9 to 0
        return {(int(b) - int(a)) % 10 for a, b in itertools.pairwise(folded)} in ({1}, {9})
    return False


PassphraseProvider = Callable[[bool], str]
"""Returns the vault passphrase; the argument is True when a new vault is being created."""


def default_passphrase_provider(creating: bool) -> str:
    """The given passphrase (given_passphrase) if any, else ask on the terminal (twice when
    creating, to catch typos).

    Without a terminal there is nobody to ask, so the failure says how to give it instead.
    A TUI must pass its own provider: getpass would write over its screen.
    """
    given = given_passphrase()
    if given is not None:
        return given
    if sys.stdin is None or not sys.stdin.isatty():
        raise SecretError(
            f"The vault passphrase is needed but there is no terminal to ask for it; "
            f"set {PASSPHRASE_ENV} (or, for a service, the {PASSPHRASE_CREDENTIAL} credential)."
        )
    if not creating:
        return getpass.getpass("Vault passphrase: ")
    passphrase = getpass.getpass("New vault passphrase: ")
    if getpass.getpass("Repeat the new vault passphrase: ") != passphrase:
        raise SecretError("The two passphrases differ; no vault was created, so try again.")
    return passphrase
