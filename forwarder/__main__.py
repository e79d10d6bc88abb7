"""``python -m forwarder``, and the ``ecs-stop-forwarder`` console script's entry point.

Light on purpose: replay's worker processes are spawned where they cannot be forked (macOS, or
threads running), and a spawned process re-runs the console script (as ``__mp_main__``) to set up
its ``__main__``. Importing the whole CLI there (httpx, every command) would cost each worker
that CPU at start, for nothing. So the CLI is imported when ``main`` runs, not before.
"""

import sys


def main() -> int:
    from forwarder.cli import main as cli_main  # noqa: PLC0415 - see the module docstring

    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
