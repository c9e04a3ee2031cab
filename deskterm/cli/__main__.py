"""`python -m deskterm.cli.main`: the same as the `deskterm` command."""

import sys

from deskterm.cli.main.main import main

sys.exit(main())
