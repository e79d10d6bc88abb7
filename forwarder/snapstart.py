"""Lambda entry point with SnapStart: ``forwarder.snapstart.lambda_handler`` (the Terraform
module's ``snap_start = true`` points the function here).

SnapStart snapshots the function after its init phase and restores copies of that snapshot
instead of starting cold. Importing this module registers two runtime hooks, with the Lambda
runtime's own ``snapshot_restore_py`` (no dependency is added: where that module is absent, as on a
laptop, there are no hooks and this is the plain handler):

- before the snapshot: the handler's runtime is built (settings, the S3 client, the TLS context):
  the work a cold start would do is in the snapshot. No key is resolved and no connection opened.
- after each restore: the runtime is checked for what must not be shared between copies
  (``Runtime.after_restore``): connections and vendor clients are dropped and rebuilt on the next
  event, keys are read again, and the random generator behind retry jitter is reseeded.

``forwarder.handler`` itself still does nothing at import.
"""

from __future__ import annotations

from forwarder.handler import lambda_handler, runtime

__all__ = ["lambda_handler"]


def before_snapshot() -> None:
    runtime()


def after_restore() -> None:
    runtime().after_restore()


try:
    from snapshot_restore_py import (  # type: ignore[import-not-found]  # the Lambda runtime's
        register_after_restore,
        register_before_snapshot,
    )
except ImportError:  # not in a Lambda Python runtime (3.12+): nothing to register
    pass
else:
    register_before_snapshot(before_snapshot)
    register_after_restore(after_restore)
