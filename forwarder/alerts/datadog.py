"""Datadog monitors through datadog-api-client's ``MonitorsApi`` (v1): list ours, validate, create, update.

The only module of ``forwarder.alerts`` that imports datadog-api-client. Monitors go in and come out
as plain dicts (the shape of ``definitions.datadog_monitors``); client models stay in here. Log
monitors need an application key besides the API key (an unscoped one: Datadog's note on
``create_monitor``). Errors become ``AlertsError`` without either key in them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

import urllib3
from datadog_api_client import ApiClient, Configuration
from datadog_api_client.exceptions import ApiException, OpenApiException
from datadog_api_client.v1.api.monitors_api import MonitorsApi
from datadog_api_client.v1.model.monitor import Monitor
from datadog_api_client.v1.model.monitor_update_request import MonitorUpdateRequest

from forwarder.alerts import AlertsError, describe_error, redact
from forwarder.alerts.definitions import MANAGED_TAG

CONNECT_TIMEOUT = 3.0
READ_TIMEOUT = 20.0
T = TypeVar("T")


class DatadogMonitors:
    """``url`` is the API base (``https://api.datadoghq.com`` or an override such as a test server)."""

    vendor = "Datadog"

    def __init__(self, api_key: str, app_key: str, url: str) -> None:
        self._secrets = (api_key, app_key)
        self.url = url
        parts = urlsplit(url)
        configuration = Configuration(host=f"{parts.scheme}://{parts.netloc}")
        configuration.api_key["apiKeyAuth"] = api_key
        configuration.api_key["appKeyAuth"] = app_key
        configuration.enable_retry = False
        configuration.retry_policy = False  # no hidden urllib3 retries: one call, one request
        configuration.request_timeout = (CONNECT_TIMEOUT, READ_TIMEOUT)
        self._client = ApiClient(configuration)
        self._api = MonitorsApi(self._client)

    def list_managed(self) -> list[dict[str, Any]]:
        """Every monitor tagged ``managed-by:ecs-stop-forwarder`` (any env), as plain dicts."""
        monitors = self._call(lambda: self._api.list_monitors(monitor_tags=MANAGED_TAG))
        return [monitor.to_dict() for monitor in monitors]

    def validate(self, body: Mapping[str, Any]) -> None:
        """Datadog's own check of a definition (``POST /api/v1/monitor/validate``); writes nothing."""
        self._call(lambda: self._api.validate_monitor(Monitor(**body)))

    def create(self, body: Mapping[str, Any]) -> dict[str, Any]:
        created = self._call(lambda: self._api.create_monitor(Monitor(**body)))
        return dict(created.to_dict())

    def update(self, monitor_id: int, body: Mapping[str, Any]) -> dict[str, Any]:
        request = MonitorUpdateRequest(**{k: v for k, v in body.items() if k != "type"})
        updated = self._call(lambda: self._api.update_monitor(monitor_id, request))
        return dict(updated.to_dict())

    def close(self) -> None:
        self._client.close()

    def _call(self, call: Callable[[], T]) -> T:
        try:
            return call()
        except ApiException as exc:
            status = int(exc.status or 0)
            body = exc.body
            text = body.decode(errors="replace") if isinstance(body, bytes) else str(body or "")
            raise AlertsError(describe_error(self.vendor, status, text, self._secrets), status) from None
        except OpenApiException as exc:  # the client could not read the answer as a monitor
            said = redact(str(exc), self._secrets)[:300]
            raise AlertsError(f"Datadog answered with something unexpected: {said}") from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise AlertsError(f"Datadog API unreachable at {self.url}: {type(exc).__name__}") from None
