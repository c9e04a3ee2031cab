"""Where the vault's passphrase comes from when nobody is asked: the environment, or systemd.

Its own module so that the vault (which asks) and `deskterm service install` (which tells the
admin how to give it) name the same variable and credential.
"""

from __future__ import annotations

import os
from pathlib import Path

from deskterm.errors import SecretError

PASSPHRASE_ENV = "DESKTERM_PASSPHRASE"
# systemd's credentials (systemd.exec(5), LoadCredential=): the folder, and our file in it.
CREDENTIALS_ENV = "CREDENTIALS_DIRECTORY"
PASSPHRASE_CREDENTIAL = "deskterm-passphrase"


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
