"""The ``ecs-stop-forwarder`` console script: argument parsing and dispatch only.

Only the command asked for is imported (each command's module brings what it needs: HTTP
clients, the alerts' definitions, the replay's parts); without one (``--help``, a typo), all are.

Exit codes everywhere: 0 all good, 1 some input invalid or some delivery failed, 2 usage or
configuration error. Bad input is reported on stderr with where it was; never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import sys
from collections.abc import Sequence
from typing import TextIO

from forwarder import NAME, __version__
from forwarder.errors import ForwarderError
from forwarder.fastcodec import FastCodec

COMMANDS = ("explain", "send", "replay", "report", "redrive", "check", "alerts", "package")


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser for ``argv``: of its command alone when it names one, else (or without
    ``argv``) of every command."""
    parser = argparse.ArgumentParser(
        prog=NAME, description="Explain and forward Amazon ECS task stops (why a task stopped, and the fix)."
    )
    parser.add_argument("--version", action="version", version=f"{NAME} {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    named = next((a for a in argv or () if not a.startswith("-")), None)
    for name in (named,) if named in COMMANDS else COMMANDS:
        importlib.import_module(f"forwarder.commands.{name}").add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    for stream in (out, err):  # text from bad input (a lone surrogate) is printed escaped, never a crash
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse's usage errors (2) and --help/--version (0)
        return int(exc.code or 0)
    args.codec = FastCodec()  # JSON and gzip for every command: msgspec and ISA-L (forwarder.codec)
    try:
        return int(args.run(args, out, err))
    except ForwarderError as exc:
        print(f"error: {exc}", file=err)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=err)
        return 130
