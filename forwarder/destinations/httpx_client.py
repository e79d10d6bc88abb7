"""``HttpClient`` over httpx: the command line's client (``forwarder.destinations.clients``).

``transport`` is httpx's test seam (``httpx.MockTransport``, respx).
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from forwarder.destinations.clients import CONNECT_TIMEOUT, READ_TIMEOUT, Answer, Unanswered, tls_context


class HttpxClient:
    def __init__(
        self, url: str, transport: httpx.BaseTransport | None = None, *, read_timeout: float | None = None
    ) -> None:
        self._read_timeout = READ_TIMEOUT if read_timeout is None else read_timeout
        self._client = httpx.Client(
            # A plain-http URL (only ever a loopback host: config.check_url) needs no CA bundle.
            verify=tls_context() if url.startswith("https://") else False,
            transport=transport,
        )

    def request(
        self, method: str, url: str, body: bytes | None, headers: Mapping[str, str], timeout: float
    ) -> Answer:
        limits = httpx.Timeout(min(self._read_timeout, timeout), connect=min(CONNECT_TIMEOUT, timeout))
        try:
            response = self._client.request(method, url, content=body, headers=dict(headers), timeout=limits)
        except httpx.TimeoutException as exc:
            raise Unanswered(type(exc).__name__, timed_out=True) from None
        except httpx.TransportError as exc:
            raise Unanswered(type(exc).__name__, timed_out=False) from None
        return Answer(response.status_code, response.text, response.headers)

    def close(self) -> None:
        self._client.close()
