"""``python -m forwarder`` is the console script."""

import sys

from forwarder.cli import main

if __name__ == "__main__":  # replay's worker processes import this module; they must not run it
    sys.exit(main())
