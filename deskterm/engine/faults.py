"""What a server or the network can throw at the engine mid-sync; anything else is our bug.

The poll loop (engine.worker) and the IDLE watchers (engine.idle) turn these into one
sentence (net.tls.explain) and carry on; any other exception is logged as a bug.
"""

from __future__ import annotations

import imaplib
import poplib

NETWORK_ERRORS = (OSError, EOFError, imaplib.IMAP4.error, poplib.error_proto)
