"""``python -m reelrec``: same as the ``reelrec`` command."""

import sys

from .cli import main

sys.exit(main())
