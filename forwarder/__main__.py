"""``python -m forwarder`` is the console script."""

import sys

from forwarder.cli import main

sys.exit(main())
