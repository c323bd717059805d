"""``python -m sphinxext_rabbit``: the command line."""

import sys

from .cli import main

sys.exit(main())
