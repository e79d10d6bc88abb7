"""``check``: is each destination ready? Configuration, key lookup, Datadog's key validation."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from forwarder.commands.common import EXIT_FAILED, EXIT_OK, destinations_for, settings_from_env
from forwarder.errors import ConfigError
from forwarder.secrets import KeyResolver
from forwarder.wiring import aws_client, build_destination, key_ref


def add_parser(commands: Any) -> None:
    parser = commands.add_parser(
        "check",
        help="validate configuration and keys (without printing them) for each destination",
    )
    parser.add_argument("--to", help="comma list of datadog, newrelic, stdout (default: as send)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    settings = settings_from_env()
    names = destinations_for(args, settings)
    resolver = KeyResolver(aws_client)
    ready = True
    for name in names:
        if name == "stdout":
            out.write("stdout: ready\n")
            continue
        try:
            ref = key_ref(settings, name)
            destination = build_destination(name, settings, resolver, codec=args.codec)  # resolves the key
        except ConfigError as exc:
            out.write(f"{name}: NOT ready: {exc}\n")
            ready = False
            continue
        where = settings.datadog.url if name == "datadog" else settings.newrelic.url
        status = f"key from {ref.describe()} resolved; intake {where}"
        validate = getattr(destination, "validate_key", None)
        if validate is not None:
            valid, said = validate()
            ready = ready and valid
            out.write(f"{name}: {'ready' if valid else 'NOT ready'}: {status}; {said}\n")
        else:  # New Relic has no key-check endpoint; a wrong key shows as 403 on the first send
            out.write(f"{name}: ready: {status} (New Relic offers no key check)\n")
        destination.close()
    return EXIT_OK if ready else EXIT_FAILED
