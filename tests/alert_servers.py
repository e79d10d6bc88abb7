"""Loopback stand-ins for Datadog's monitor API and New Relic's NerdGraph, for the ``alerts`` command.

Both are stdlib ``ThreadingHTTPServer``s on 127.0.0.1 (random port) that keep state (monitors;
policies, conditions, workflows, channels) and record every request, so a test asserts what was
*written*, not only what was printed. Like ``tests/intakes.py`` they are stricter than the vendor
where the vendor is lenient:

* Datadog (``/api/v1/monitor``): ``DD-API-KEY`` and ``DD-APPLICATION-KEY`` must both be valid, else
  403; a monitor must be a well-formed ``log alert`` whose ``options.thresholds.critical`` equals the
  threshold in its query, with the query's window within 1m..48h, else 400. It answers like the
  real API: ids, ``created``/``modified``, defaults added to ``options``, thresholds as floats.
  ``reject("text")`` makes any monitor whose query contains ``text`` invalid (400 on validate too).
* NerdGraph (``POST /graphql``): missing key 401, wrong key 403; an unknown account, an input field
  the type does not define, or a value out of New Relic's documented range is a GraphQL error in
  ``errors`` (HTTP 200, ``data.<field>`` null); workflow mutations report their own ``errors`` list.
  Lists are paged (``page_size``, default 2) with ``nextCursor``; policy search by name also matches
  names that merely contain it, so clients must filter exactly.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self, cast
from urllib.parse import parse_qs, urlsplit

import pytest

Json = dict[str, Any]
NOW = "2026-11-28T03:14:01.000000+00:00"


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str  # without the query string
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased
    body: Any  # parsed JSON, or None
    status: int


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, api: _Api) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.api = api

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _serve(self) -> None:
        api = cast(_Server, self.server).api
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        parts = urlsplit(self.path)
        headers = {name.lower(): value for name, value in self.headers.items()}
        query = parse_qs(parts.query)
        try:
            body, readable = (json.loads(raw) if raw else None), True
        except ValueError:
            body, readable = None, False
        with api.lock:
            if readable:
                status, answer = api.handle(self.command, parts.path, query, headers, body)
            else:
                status, answer = 400, {"errors": ["body is not JSON"]}
            api.recorded.append(Recorded(self.command, parts.path, query, headers, body, status))
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _serve


class _Api:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.recorded: list[Recorded] = []
        self._server = _Server(self)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def requests(self) -> list[Recorded]:
        with self.lock:
            return list(self.recorded)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def handle(
        self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], body: Any
    ) -> tuple[int, Any]:
        raise NotImplementedError


# -- Datadog -------------------------------------------------------------------------------------

_LOG_QUERY = re.compile(
    r'^logs\("(?P<search>[^"]*)"\)\.index\("[^"]+"\)\.rollup\("count"\)(\.by\("[^"]+"\))?'
    r'\.last\("(?P<n>\d+)(?P<unit>[mh])"\) (?P<op>>=|<=|==|!=|>|<) (?P<threshold>-?\d+(\.\d+)?)$'
)
_MONITOR_FIELDS = {"name", "type", "query", "message", "tags", "options", "priority", "restricted_roles"}
_OPTION_DEFAULTS: Json = {
    "notify_audit": False,
    "silenced": {},
    "include_tags": True,
    "new_group_delay": 60,
    "on_missing_data": "default",
    "groupby_simple_monitor": False,
}


class DatadogMonitorApi(_Api):
    def __init__(self, api_key: str = "test-dd-api-key", app_key: str = "test-dd-app-key") -> None:
        self.api_key, self.app_key = api_key, app_key
        self.monitors: dict[int, Json] = {}
        self._next_id = 1000
        self._rejected: list[str] = []
        super().__init__()

    def reject(self, text: str) -> None:
        """Monitors whose query contains ``text`` are invalid from now on (400)."""
        with self.lock:
            self._rejected.append(text)

    def seed(self, body: Json) -> int:
        """A monitor that already exists (made by hand, another env, an older run)."""
        with self.lock:
            return int(self._store(None, body)["id"])

    @property
    def writes(self) -> list[Recorded]:
        """Requests that change state (validate is not one)."""
        return [
            r
            for r in self.requests
            if r.method in ("PUT", "DELETE") or (r.method, r.path) == ("POST", "/api/v1/monitor")
        ]

    def handle(
        self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], body: Any
    ) -> tuple[int, Any]:
        if headers.get("dd-api-key") != self.api_key or headers.get("dd-application-key") != self.app_key:
            return 403, {"errors": ["Forbidden"]}
        if path == "/api/v1/monitor" and method == "GET":
            return 200, self._list(query)
        if path == "/api/v1/monitor/validate" and method == "POST":
            problems = self._problems(body)
            return (400, {"errors": problems}) if problems else (200, {})
        if path == "/api/v1/monitor" and method == "POST":
            problems = self._problems(body)
            return (400, {"errors": problems}) if problems else (200, self._store(None, body))
        match = re.fullmatch(r"/api/v1/monitor/(\d+)", path)
        if match and method == "PUT":
            current = self.monitors.get(int(match.group(1)))
            if current is None:
                return 404, {"errors": ["Monitor not found"]}
            merged = {key: current[key] for key in _MONITOR_FIELDS if key in current} | (body or {})
            problems = self._problems(merged)
            return (
                (400, {"errors": problems}) if problems else (200, self._store(int(match.group(1)), merged))
            )
        return 404, {"errors": ["Not Found"]}

    def _list(self, query: dict[str, list[str]]) -> list[Json]:
        wanted = [t for t in ",".join(query.get("monitor_tags", [])).split(",") if t]
        scope = [t for t in ",".join(query.get("tags", [])).split(",") if t]
        return [
            monitor
            for _, monitor in sorted(self.monitors.items())
            if all(tag in monitor["tags"] for tag in wanted) and all(tag in monitor["query"] for tag in scope)
        ]

    def _problems(self, body: Any) -> list[str]:
        if not isinstance(body, dict):
            return ["body must be a monitor object"]
        problems = [f"unknown field {name!r}" for name in body if name not in _MONITOR_FIELDS]
        if not isinstance(body.get("name"), str) or not body["name"]:
            problems.append("name is required")
        if body.get("type") != "log alert":
            problems.append(f"type {body.get('type')!r}: this stand-in only knows 'log alert'")
        match = _LOG_QUERY.match(str(body.get("query", "")))
        if match is None:
            return [*problems, f"The value provided for parameter 'query' is invalid: {body.get('query')!r}"]
        minutes = int(match["n"]) * (60 if match["unit"] == "h" else 1)
        if not 1 <= minutes <= 2880:
            problems.append("time window must be between 1m and 48h")
        critical = ((body.get("options") or {}).get("thresholds") or {}).get("critical")
        if not isinstance(critical, int | float) or float(critical) != float(match["threshold"]):
            problems.append("critical threshold must match the threshold in the query")
        if any(text in body["query"] for text in self._rejected):
            problems.append("The value provided for parameter 'query' is invalid (rejected by the test)")
        tags = body.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            problems.append("tags must be a list of strings")
        return problems

    def _store(self, monitor_id: int | None, body: Json) -> Json:
        if monitor_id is None:
            self._next_id += 1
            monitor_id = self._next_id
        options = _OPTION_DEFAULTS | dict(body.get("options") or {})
        thresholds = {k: float(v) for k, v in (options.get("thresholds") or {}).items()}
        monitor = {
            "id": monitor_id,
            "org_id": 4242,
            "name": body.get("name"),
            "type": body.get("type"),
            "query": body.get("query"),
            "message": body.get("message", ""),
            "tags": list(body.get("tags", [])),
            "options": {**options, "thresholds": thresholds},
            "priority": body.get("priority"),
            "restricted_roles": None,
            "multi": ".by(" in str(body.get("query")),
            "created": self.monitors.get(monitor_id, {}).get("created", NOW),
            "modified": NOW,
            "creator": {"email": "ops@example.com", "handle": "ops@example.com", "name": "Ops", "id": 7},
            "overall_state": "No Data",
            "deleted": None,
        }
        self.monitors[monitor_id] = monitor
        return monitor


# -- New Relic NerdGraph -------------------------------------------------------------------------

_ROOT = re.compile(
    r"\b(policiesSearch|nrqlConditionsSearch|workflows|channels|alertsPolicyCreate|alertsPolicyUpdate|"
    r"alertsNrqlConditionStaticCreate|alertsNrqlConditionStaticUpdate|aiWorkflowsCreateWorkflow|"
    r"aiWorkflowsUpdateWorkflow)\s*\("
)
_CONDITION_INPUT = {
    "name",
    "description",
    "enabled",
    "nrql",
    "signal",
    "terms",
    "expiration",
    "violationTimeLimitSeconds",
    "runbookUrl",
    "titleTemplate",
    "valueFunction",
}
_OPERATORS = {"ABOVE", "ABOVE_OR_EQUALS", "BELOW", "BELOW_OR_EQUALS", "EQUALS", "NOT_EQUALS"}
_METHODS = {"EVENT_FLOW", "EVENT_TIMER", "CADENCE"}


class _GraphQLError(Exception):
    pass


class NerdGraphApi(_Api):
    def __init__(
        self, user_key: str = "test-nr-user-key", account_id: int = 1234567, page_size: int = 2
    ) -> None:
        self.user_key, self.account_id, self.page_size = user_key, account_id, page_size
        self.policies: dict[str, Json] = {}
        self.conditions: dict[str, Json] = {}
        self.workflows: dict[str, Json] = {}
        self.channels: dict[str, Json] = {}
        self._next_id = 500
        super().__init__()

    def add_channel(self, channel_id: str, name: str = "ops slack") -> None:
        with self.lock:
            self.channels[channel_id] = {"id": channel_id, "name": name, "type": "SLACK", "active": True}

    @property
    def operations(self) -> list[tuple[str, str]]:
        """(query|mutation, root field) of every GraphQL request, in order."""
        found = []
        for request in self.requests:
            text = str((request.body or {}).get("query", "")) if isinstance(request.body, dict) else ""
            root = _ROOT.search(text)
            kind = "mutation" if text.lstrip().startswith("mutation") else "query"
            found.append((kind, root.group(1) if root else "?"))
        return found

    @property
    def mutations(self) -> list[str]:
        return [root for kind, root in self.operations if kind == "mutation"]

    def _new_id(self) -> str:
        self._next_id += 1
        return str(self._next_id)

    def handle(
        self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str], body: Any
    ) -> tuple[int, Any]:
        if method != "POST" or path != "/graphql":
            return 404, {"errors": [{"message": "Not Found"}]}
        if not headers.get("api-key"):
            return 401, {"errors": [{"message": "Missing API key"}]}
        if headers["api-key"] != self.user_key:
            return 403, {"errors": [{"message": "Invalid API key"}]}
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return 400, {"errors": [{"message": "body must be {query, variables}"}]}
        variables = body.get("variables") or {}
        root = _ROOT.search(body["query"])
        if root is None:
            return 200, {"errors": [{"message": "Cannot query field on type"}]}
        field = root.group(1)
        try:
            if variables.get("accountId") != self.account_id or isinstance(variables.get("accountId"), bool):
                raise _GraphQLError(f"Not authorized to access account {variables.get('accountId')!r}")
            return 200, {"data": getattr(self, f"_op_{field}")(variables)}
        except _GraphQLError as exc:
            return 200, {"data": None, "errors": [{"message": str(exc), "path": [field]}]}

    def _page(self, items: list[Json], cursor: str | None, key: str) -> Json:
        start = int(cursor or 0)
        end = start + self.page_size
        return {key: items[start:end], "nextCursor": str(end) if end < len(items) else None}

    def _account(self, section: str, value: Json) -> Json:
        return {"actor": {"account": {section: value}}}

    # queries
    def _op_policiesSearch(self, v: Json) -> Json:
        name = str((v.get("criteria") or {}).get("name", "")).lower()
        found = [p for p in self.policies.values() if name in p["name"].lower()]
        return self._account("alerts", {"policiesSearch": self._page(found, v.get("cursor"), "policies")})

    def _op_nrqlConditionsSearch(self, v: Json) -> Json:
        policy = str((v.get("criteria") or {}).get("policyId"))
        found = [c for c in self.conditions.values() if c["policyId"] == policy]
        page = self._page(found, v.get("cursor"), "nrqlConditions")
        return self._account("alerts", {"nrqlConditionsSearch": page})

    def _op_workflows(self, v: Json) -> Json:
        filters = v.get("filters") or {}
        found = [
            w
            for w in self.workflows.values()
            if filters.get("name", w["name"]) == w["name"]
            and (
                "channelId" not in filters
                or any(d["channelId"] == filters["channelId"] for d in w["destinationConfigurations"])
            )
        ]
        return self._account("aiWorkflows", {"workflows": self._page(found, v.get("cursor"), "entities")})

    def _op_channels(self, v: Json) -> Json:
        wanted = (v.get("filters") or {}).get("id")
        found = [c for c in self.channels.values() if wanted in (None, c["id"])]
        return self._account("aiNotifications", {"channels": {"entities": found}})

    # mutations
    def _op_alertsPolicyCreate(self, v: Json) -> Json:
        policy = v.get("policy") or {}
        if not policy.get("name") or policy.get("incidentPreference") not in (
            "PER_POLICY",
            "PER_CONDITION",
            "PER_CONDITION_AND_TARGET",
        ):
            raise _GraphQLError("policy needs a name and a valid incidentPreference")
        made = {
            "id": self._new_id(),
            "name": policy["name"],
            "incidentPreference": policy["incidentPreference"],
        }
        self.policies[made["id"]] = made
        return {"alertsPolicyCreate": made}

    def _op_alertsPolicyUpdate(self, v: Json) -> Json:
        current = self.policies.get(str(v.get("id")))
        if current is None:
            raise _GraphQLError("Not Found")
        current.update(v.get("policy") or {})
        return {"alertsPolicyUpdate": current}

    def _op_alertsNrqlConditionStaticCreate(self, v: Json) -> Json:
        if str(v.get("policyId")) not in self.policies:
            raise _GraphQLError(f"Policy {v.get('policyId')!r} not found")
        made = self._condition(self._new_id(), str(v["policyId"]), {}, v.get("condition") or {})
        return {"alertsNrqlConditionStaticCreate": made}

    def _op_alertsNrqlConditionStaticUpdate(self, v: Json) -> Json:
        current = self.conditions.get(str(v.get("id")))
        if current is None:
            raise _GraphQLError("Not Found")
        made = self._condition(current["id"], current["policyId"], current, v.get("condition") or {})
        return {"alertsNrqlConditionStaticUpdate": made}

    def _op_aiWorkflowsCreateWorkflow(self, v: Json) -> Json:
        data = v.get("workflow") or {}
        errors = self._workflow_errors(data, None)
        if any(w["name"] == data.get("name") for w in self.workflows.values()):
            errors.append({"description": "A workflow with this name already exists", "type": "DUPLICATE"})
        if errors:
            return {"aiWorkflowsCreateWorkflow": {"errors": errors, "workflow": None}}
        made = self._workflow(str(uuid.uuid4()), str(uuid.uuid4()), data)
        return {"aiWorkflowsCreateWorkflow": {"errors": [], "workflow": made}}

    def _op_aiWorkflowsUpdateWorkflow(self, v: Json) -> Json:
        data = dict(v.get("workflow") or {})
        current = self.workflows.get(str(data.get("id")))
        if current is None:
            return {
                "aiWorkflowsUpdateWorkflow": {
                    "errors": [{"description": "not found", "type": "INVALID_PARAMETER"}]
                }
            }
        updated_filter = data.pop("issuesFilter", None)
        if updated_filter is not None:
            if updated_filter.get("id") != current["issuesFilter"]["id"]:
                problem = {
                    "description": "issuesFilter.id is not this workflow's filter",
                    "type": "INVALID_PARAMETER",
                }
                return {"aiWorkflowsUpdateWorkflow": {"errors": [problem], "workflow": None}}
            data["issuesFilter"] = updated_filter.get("filterInput")
        merged = {**current, **data}
        errors = self._workflow_errors(merged, current["id"])
        if errors:
            return {"aiWorkflowsUpdateWorkflow": {"errors": errors, "workflow": None}}
        made = self._workflow(current["id"], current["issuesFilter"]["id"], merged)
        return {"aiWorkflowsUpdateWorkflow": {"errors": [], "workflow": made}}

    # validation and storage, the way New Relic documents its limits
    def _condition(self, condition_id: str, policy_id: str, current: Json, given: Json) -> Json:
        unknown = sorted(set(given) - _CONDITION_INPUT)
        if unknown:
            raise _GraphQLError(f"Field {unknown[0]!r} is not defined by type AlertsNrqlConditionStaticInput")
        merged = {**current, **given}
        query = str((merged.get("nrql") or {}).get("query", ""))
        if not merged.get("name") or not re.match(r"(?is)^\s*SELECT\b.+\bFROM\b", query):
            raise _GraphQLError("a condition needs a name and a NRQL query (SELECT ... FROM ...)")
        signal = {
            "aggregationWindow": 60,
            "aggregationMethod": "EVENT_FLOW",
            "aggregationDelay": 120,
            "aggregationTimer": None,
            "fillOption": "NONE",
            "fillValue": None,
            "slideBy": None,
        }
        signal |= merged.get("signal") or {}
        if signal["aggregationMethod"] == "EVENT_TIMER" and "aggregationDelay" not in (
            merged.get("signal") or {}
        ):
            signal["aggregationDelay"] = None
        window = signal["aggregationWindow"]
        if not 30 <= window <= 21600 or signal["aggregationMethod"] not in _METHODS:
            raise _GraphQLError("signal.aggregationWindow must be 30..21600 with a known aggregationMethod")
        if signal["aggregationTimer"] is not None and not 0 <= signal["aggregationTimer"] <= 1200:
            raise _GraphQLError("signal.aggregationTimer must be 0..1200")
        terms = [{**term, "threshold": float(term["threshold"])} for term in merged.get("terms") or []]
        for term in terms:
            duration = term.get("thresholdDuration", 0)
            if term.get("operator") not in _OPERATORS or term.get("priority") not in ("CRITICAL", "WARNING"):
                raise _GraphQLError("terms: unknown operator or priority")
            if not 60 <= duration <= 86400 or duration % window:
                raise _GraphQLError(
                    "terms.thresholdDuration must be 60..86400 and a multiple of aggregationWindow"
                )
            if term.get("thresholdOccurrences") not in ("ALL", "AT_LEAST_ONCE"):
                raise _GraphQLError("terms.thresholdOccurrences must be ALL or AT_LEAST_ONCE")
        expiration = {
            "expirationDuration": None,
            "openViolationOnExpiration": False,
            "closeViolationsOnExpiration": False,
        } | (merged.get("expiration") or {})
        if (
            expiration["expirationDuration"] is not None
            and not 30 <= expiration["expirationDuration"] <= 172800
        ):
            raise _GraphQLError("expiration.expirationDuration must be 30..172800")
        if not terms and not expiration["openViolationOnExpiration"]:
            raise _GraphQLError("provide terms, or an expiration that opens a violation")
        limit = merged.get("violationTimeLimitSeconds", 259200)
        if not 300 <= limit <= 2592000:
            raise _GraphQLError("violationTimeLimitSeconds must be 300..2592000")
        stored = {
            "id": condition_id,
            "policyId": policy_id,
            "type": "STATIC",
            "name": merged["name"],
            "description": merged.get("description"),
            "enabled": bool(merged.get("enabled", True)),
            "nrql": {"query": query},
            "signal": signal,
            "terms": terms,
            "expiration": expiration,
            "violationTimeLimitSeconds": limit,
        }
        self.conditions[condition_id] = stored
        return stored

    def _workflow_errors(self, data: Json, own_id: str | None) -> list[Json]:
        errors = []
        if not data.get("name") or (data.get("issuesFilter") or {}).get("type") not in ("FILTER", "VIEW"):
            errors.append(
                {"description": "name and issuesFilter.type are required", "type": "VALIDATION_ERROR"}
            )
        for destination in data.get("destinationConfigurations") or []:
            channel = destination.get("channelId")
            if channel not in self.channels:
                errors.append({"description": f"channel {channel} not found", "type": "CHANNEL_NOT_FOUND"})
            elif any(
                w["id"] != own_id and any(d["channelId"] == channel for d in w["destinationConfigurations"])
                for w in self.workflows.values()
            ):
                errors.append(
                    {
                        "description": f"channel {channel} is used by another workflow",
                        "type": "INVALID_PARAMETER",
                    }
                )
        return errors

    def _workflow(self, workflow_id: str, filter_id: str, data: Json) -> Json:
        issues_filter = data.get("issuesFilter") or {}
        made = {
            "id": workflow_id,
            "name": data["name"],
            "workflowEnabled": data.get("workflowEnabled", True),
            "destinationsEnabled": data.get("destinationsEnabled", True),
            "mutingRulesHandling": data.get("mutingRulesHandling", "NOTIFY_ALL_ISSUES"),
            "issuesFilter": {
                "id": filter_id,
                "name": issues_filter.get("name"),
                "type": issues_filter.get("type"),
                "predicates": list(issues_filter.get("predicates") or []),
            },
            "destinationConfigurations": [
                {
                    "channelId": d["channelId"],
                    "name": self.channels[d["channelId"]]["name"],
                    "type": "SLACK",
                    "notificationTriggers": list(d.get("notificationTriggers") or ["ACTIVATED"]),
                }
                for d in data.get("destinationConfigurations") or []
            ],
        }
        self.workflows[workflow_id] = made
        return made


@pytest.fixture
def datadog_api() -> Iterator[DatadogMonitorApi]:
    with DatadogMonitorApi() as api:
        yield api


@pytest.fixture
def nerdgraph() -> Iterator[NerdGraphApi]:
    with NerdGraphApi() as api:
        yield api
