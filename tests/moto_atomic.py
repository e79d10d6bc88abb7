"""``python -m tests.moto_atomic``: moto's server, with S3's conditional writes made atomic.

S3 evaluates ``If-None-Match: *`` and ``If-Match`` on PutObject atomically: of two concurrent
create-only writes one wins. moto 5 checks the condition and then writes, without a lock, on a
threaded server: on a loaded machine a request can be preempted between the two, and both
create-only writes succeed (seen: 2 of 400 invocations in ``test_concurrency.py`` sending the same
event, with load 8 on 2 cores). The claims this project builds on those writes are only as good as
that atomicity, so the test emulator gets it: PutObject requests run one at a time (other calls
do not wait). Everything else is moto's own ``moto.server``.
"""

from __future__ import annotations

import functools
import sys
import threading
from collections.abc import Callable
from typing import Any

from moto.s3.responses import S3Response
from moto.server import main

_WRITES = threading.Lock()


def _one_at_a_time(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _WRITES:
            return method(*args, **kwargs)

    return locked


S3Response.put_object = _one_at_a_time(S3Response.put_object)  # type: ignore[method-assign]

if __name__ == "__main__":
    sys.exit(main())
