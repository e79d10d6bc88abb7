"""``package``: build the Lambda zip (``make package`` runs it)."""

from __future__ import annotations

import argparse
import hashlib
from typing import Any, TextIO

from forwarder.commands.common import EXIT_OK
from forwarder.package import DEFAULT_RUNTIME, RUNTIMES, build


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("package", help="build the pure-Python Lambda artifact (dist/lambda.zip)")
    parser.add_argument("--out", default="dist/lambda.zip", help="where to write the zip")
    parser.add_argument(
        "--runtime",
        choices=RUNTIMES,
        default=DEFAULT_RUNTIME,
        help=f"the function's Lambda runtime: its Python compiles the bytecode (default {DEFAULT_RUNTIME})",
    )
    parser.add_argument(
        "--source-only",
        action="store_true",
        help="no bytecode: every cold start compiles the code (when the runtime's Python is not at hand)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    artifact = build(args.out, runtime=None if args.source_only else args.runtime)
    digest = hashlib.sha256(artifact.path.read_bytes()).hexdigest()
    out.write(f"{artifact.describe()}  sha256 {digest}\n")
    return EXIT_OK
