"""``package``: build the Lambda zip (``make package`` runs it)."""

from __future__ import annotations

import argparse
import hashlib
from typing import Any, TextIO

from forwarder.commands.common import EXIT_OK
from forwarder.package import build


def add_parser(commands: Any) -> None:
    parser = commands.add_parser("package", help="build the pure-Python Lambda artifact (dist/lambda.zip)")
    parser.add_argument("--out", default="dist/lambda.zip", help="where to write the zip")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    path = build(args.out)
    data = path.read_bytes()
    out.write(f"{path}  {len(data) / 1e6:.2f} MB  sha256 {hashlib.sha256(data).hexdigest()}\n")
    return EXIT_OK
