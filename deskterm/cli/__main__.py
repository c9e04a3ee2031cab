"""`python -m deskterm.cli`: the same as the `deskterm` command."""

import sys

from deskterm.cli.main import main

sys.exit(main())
