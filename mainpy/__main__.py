"""`python -m mainpy` is the `mainpy` command."""

import sys

from mainpy.cli import main

sys.exit(main())
