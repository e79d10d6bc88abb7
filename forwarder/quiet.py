"""Keep botocore's debug log away from bodies that hold secrets.

botocore logs whole response bodies at DEBUG (``botocore.parsers``, ``botocore.endpoint``). While a
vendor key is read (``forwarder.secrets``) or messages holding raw events are received
(``forwarder.queue``), those records are dropped, in the thread doing it and only there.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_BODY_LOGGERS = ("botocore.parsers", "botocore.endpoint")


class _Muted(logging.Filter):
    """Drops botocore's records in a thread inside ``unlogged()``, and only there."""

    def __init__(self) -> None:
        super().__init__()
        self.local = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(self.local, "muted", False)


_MUTED = _Muted()  # one filter, installed once per logger; its state is per thread


@contextmanager
def unlogged() -> Iterator[None]:
    for name in _BODY_LOGGERS:
        logger = logging.getLogger(name)
        if _MUTED not in logger.filters:
            logger.addFilter(_MUTED)
    _MUTED.local.muted = True
    try:
        yield
    finally:
        _MUTED.local.muted = False
