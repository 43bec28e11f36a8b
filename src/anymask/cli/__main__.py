"""`python -m anymask.cli`: the same as the `anymask` command."""

import sys

from . import main

sys.exit(main())
