"""Run the Lambda handler in a fresh interpreter, as the Lambda runtime would.

Reads a JSON config on stdin: ``path`` (the exact sys.path entries to add to the standard library's;
e.g. an unpacked artifact plus a boto3-only folder), ``env``, ``events``, and ``block_network``
(only import the handler, with every socket refused); ``module`` picks the entry point
(``forwarder.handler`` unless given: the replay worker is ``forwarder.replay_worker``), and
``remaining_ms`` the time each invocation's context says is left. Prints one JSON line: each
invocation's result and the third-party top-level modules that were imported.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import sysconfig
from pathlib import Path

CHILD = Path(__file__)
#: What the Lambda Python runtime provides besides the standard library.
RUNTIME_MODULES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "six", "urllib3")


def lambda_runtime(site: Path, folder: Path) -> Path:
    """A folder holding only boto3 and its dependencies (links into ``site``), like the Lambda runtime."""
    folder.mkdir(parents=True, exist_ok=True)
    for entry in site.iterdir():
        if entry.name.split(".")[0] in RUNTIME_MODULES:
            (folder / entry.name).symlink_to(entry)
    return folder


def main() -> None:
    config = json.load(sys.stdin)
    stdlib = {os.path.realpath(p) for p in (sysconfig.get_paths()["stdlib"], sysconfig.get_paths()["platstdlib"])}
    kept = [p for p in sys.path if p and any(os.path.realpath(p).startswith(s) for s in stdlib) and "site-packages" not in p]
    sys.path[:] = [*config["path"], *kept]
    os.environ.update(config["env"])
    before = set(sys.modules)
    if config.get("block_network"):
        import socket

        def refused(*args: object, **kwargs: object) -> None:
            raise AssertionError("network used at import")

        socket.socket.connect = refused  # type: ignore[method-assign]
        socket.create_connection = refused  # type: ignore[assignment]
        handler = importlib.import_module(config.get("module", "forwarder.handler"))
        built = getattr(handler, "runtime", None) or handler.worker
        print(json.dumps({"imported": True, "runtime_built": built.cache_info().currsize}))
        return
    handler = importlib.import_module(config.get("module", "forwarder.handler"))
    remaining = int(config.get("remaining_ms", 30_000))

    class Context:
        def get_remaining_time_in_millis(self) -> int:
            return remaining

    results = []
    for event in config["events"]:
        try:
            results.append(handler.lambda_handler(event, Context()))
        except Exception as exc:  # noqa: BLE001 - reported to the parent test, which fails on it
            results.append({"error": f"{type(exc).__name__}: {exc}"})
    imported = {name.split(".")[0] for name in set(sys.modules) - before}
    bytecode_of = config.get("bytecode_of")
    cached = getattr(sys.modules[bytecode_of], "__cached__", None) if bytecode_of else None
    third_party = sorted(m for m in imported - set(sys.stdlib_module_names) - {"forwarder"} if not m.startswith("_"))
    print(json.dumps({"results": results, "modules": third_party, "files": sorted({
        os.path.dirname(getattr(sys.modules[m], "__file__", "") or "") for m in third_party}),
        "python": f"{sys.version_info[0]}.{sys.version_info[1]}",
        "bytecode_of": cached if cached and os.path.exists(cached) else None}))  # fmt: skip


if __name__ == "__main__":
    main()
