"""The loopback intakes must enforce the vendors' limits, or tests built on them prove nothing."""

from __future__ import annotations

import base64
import contextlib
import gzip
import json
import random
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from datadog_api_client import ApiClient, Configuration
from datadog_api_client.exceptions import ForbiddenException
from datadog_api_client.v2.api.logs_api import LogsApi
from datadog_api_client.v2.model.content_encoding import ContentEncoding
from datadog_api_client.v2.model.http_log import HTTPLog
from datadog_api_client.v2.model.http_log_item import HTTPLogItem

from tests import intakes
from tests.intakes import (
    DD_MAX_LOG_BYTES,
    DD_MAX_LOGS_PER_REQUEST,
    DD_MAX_REQUEST_BYTES,
    NR_MAX_ATTRIBUTE_NAME,
    NR_MAX_ATTRIBUTES,
    NR_MAX_REQUEST_BYTES,
    AcceptThenDrop,
    Behaviour,
    DatadogIntake,
    Drop,
    NewRelicIntake,
    Respond,
    Slow,
    TruncatedLog,
)

datadog_intake = intakes.datadog_intake
newrelic_intake = intakes.newrelic_intake

DD_KEY = DatadogIntake.default_key
NR_KEY = NewRelicIntake.default_key


def compact(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":")).encode()


def post(url: str, body: bytes, headers: dict[str, str], timeout: float = 5.0) -> httpx.Response:
    all_headers = {"Content-Type": "application/json", **headers}
    return httpx.post(url, content=body, headers=all_headers, timeout=timeout)


def dd_post(intake: DatadogIntake, payload: Any, timeout: float = 5.0) -> httpx.Response:
    return post(intake.url, compact(payload), {"DD-API-KEY": DD_KEY}, timeout)


def nr_post(intake: NewRelicIntake, payload: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    body = gzip.compress(compact(payload))
    auth = {"Api-Key": NR_KEY} if headers is None else headers
    return post(intake.url, body, {"Content-Encoding": "gzip", **auth})


def sized_body(size: int, logs: int) -> bytes:
    """A JSON array of ``logs`` ASCII logs serializing to exactly ``size`` bytes."""
    items = [{"message": ""} for _ in range(logs)]
    share = (size - len(compact(items))) // logs
    for item in items:
        item["message"] = "x" * share
    items[-1]["message"] += "x" * (size - len(compact(items)))
    body = compact(items)
    assert len(body) == size
    return body


# -- Datadog ---------------------------------------------------------------------------------------
def test_datadog_accepts_array_or_object_and_records_request(datadog_intake: DatadogIntake) -> None:
    logs = [{"message": "hello", "ddsource": "ecs"}, {"message": "world", "service": "x"}]
    response = dd_post(datadog_intake, logs)
    assert (response.status_code, response.json()) == (202, {})
    assert dd_post(datadog_intake, {"message": "solo"}).status_code == 202
    assert datadog_intake.accepted == [*logs, {"message": "solo"}]
    first = datadog_intake.requests[0]
    assert (first.method, first.path, first.status, first.log_count) == ("POST", "/api/v2/logs", 202, 2)
    assert first.decoded_size == first.raw_size == len(compact(logs))
    assert first.headers["dd-api-key"] == DD_KEY
    assert json.loads(first.body) == logs


def test_datadog_api_client_submit_log_gzip(datadog_intake: DatadogIntake) -> None:
    configuration = Configuration(host=datadog_intake.base_url)
    configuration.api_key["apiKeyAuth"] = DD_KEY
    with ApiClient(configuration) as client:
        body = HTTPLog([HTTPLogItem(message="from the client", ddsource="ecs")])
        LogsApi(client).submit_log(body, content_encoding=ContentEncoding.GZIP)
        configuration.api_key["apiKeyAuth"] = "revoked"
        with pytest.raises(ForbiddenException):
            LogsApi(client).submit_log(body, content_encoding=ContentEncoding.GZIP)
    assert datadog_intake.accepted == [{"message": "from the client", "ddsource": "ecs"}]
    assert [r.headers.get("content-encoding") for r in datadog_intake.requests] == ["gzip", "gzip"]
    assert [r.status for r in datadog_intake.requests] == [202, 403]


@pytest.mark.parametrize(("headers", "status"), [({}, 401), ({"DD-API-KEY": "wrong"}, 403)])
def test_datadog_rejects_missing_or_wrong_key(
    datadog_intake: DatadogIntake, headers: dict[str, str], status: int
) -> None:
    response = post(datadog_intake.url, compact([{"message": "m"}]), headers)
    assert response.status_code == status
    assert response.json()["errors"]
    assert datadog_intake.accepted == []


def raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [("gzip", gzip.compress), ("deflate", zlib.compress), ("deflate", raw_deflate)],
)
def test_datadog_decodes_content_encoding(
    datadog_intake: DatadogIntake, encoding: str, compress: Callable[[bytes], bytes]
) -> None:
    logs = [{"message": "compressed " * 50}]
    body = compress(compact(logs))
    response = post(datadog_intake.url, body, {"DD-API-KEY": DD_KEY, "Content-Encoding": encoding})
    assert response.status_code == 202
    assert datadog_intake.accepted == logs
    request = datadog_intake.requests[0]
    assert (request.raw_size, request.decoded_size) == (len(body), len(compact(logs)))


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b"not json", {}),
        (b"[1, 2]", {}),
        (b"[]", {}),
        (b'"a string"', {}),
        (b"\x1f\x8bnot gzip", {"Content-Encoding": "gzip"}),
        (compact([{"message": "m"}]), {"Content-Encoding": "br"}),
        (compact([{"message": "m"}]), {"Content-Type": "text/plain"}),
    ],
)
def test_datadog_rejects_bad_payloads(
    datadog_intake: DatadogIntake, body: bytes, headers: dict[str, str]
) -> None:
    response = post(datadog_intake.url, body, {"DD-API-KEY": DD_KEY, **headers})
    assert response.status_code == 400
    assert datadog_intake.accepted == []


def test_datadog_log_count_limit(datadog_intake: DatadogIntake) -> None:
    logs = [{"message": f"log {i}"} for i in range(DD_MAX_LOGS_PER_REQUEST + 1)]
    assert dd_post(datadog_intake, logs[:-1]).status_code == 202
    assert dd_post(datadog_intake, logs).status_code == 413
    assert len(datadog_intake.accepted) == DD_MAX_LOGS_PER_REQUEST


def test_datadog_size_limit_is_on_uncompressed_bytes(datadog_intake: DatadogIntake) -> None:
    headers = {"DD-API-KEY": DD_KEY, "Content-Encoding": "gzip"}
    at_limit = gzip.compress(sized_body(DD_MAX_REQUEST_BYTES, logs=6))
    over_limit = gzip.compress(sized_body(DD_MAX_REQUEST_BYTES + 1, logs=6))
    assert post(datadog_intake.url, at_limit, headers).status_code == 202
    assert post(datadog_intake.url, over_limit, headers).status_code == 413
    assert len(datadog_intake.accepted) == 6
    assert datadog_intake.truncated_by_vendor == []
    assert max(r.raw_size for r in datadog_intake.requests) < 100_000


def test_datadog_flags_log_the_vendor_would_truncate(datadog_intake: DatadogIntake) -> None:
    overhead = len(compact({"message": ""}))
    logs = [{"message": "x" * (size - overhead)} for size in (DD_MAX_LOG_BYTES, DD_MAX_LOG_BYTES + 1)]
    assert dd_post(datadog_intake, logs).status_code == 202
    assert len(datadog_intake.accepted) == 2
    assert datadog_intake.truncated_by_vendor == [TruncatedLog(0, 1, DD_MAX_LOG_BYTES + 1)]


def test_datadog_validate_endpoint(datadog_intake: DatadogIntake) -> None:
    validate = datadog_intake.base_url + "/api/v1/validate"
    datadog_intake.script(Drop())  # scripts apply to log POSTs only
    good = httpx.get(validate, headers={"DD-API-KEY": DD_KEY})
    bad = httpx.get(validate, headers={"DD-API-KEY": "wrong"})
    assert (good.status_code, good.json()) == (200, {"valid": True})
    assert (bad.status_code, bad.json()) == (403, {"errors": ["Forbidden"]})
    assert httpx.get(validate).status_code == 403
    assert httpx.post(datadog_intake.base_url + "/v1/input", content=b"{}").status_code == 404
    with pytest.raises(httpx.RemoteProtocolError):
        dd_post(datadog_intake, [{"message": "m"}])


# -- New Relic -------------------------------------------------------------------------------------
def test_newrelic_accepts_flattened_logs_and_returns_request_id(newrelic_intake: NewRelicIntake) -> None:
    response = nr_post(newrelic_intake, [{"message": "a", "ecs": {"cluster": "c", "task": {"cpu": 256}}}])
    assert response.status_code == 202
    uuid.UUID(response.json()["requestId"])
    assert nr_post(newrelic_intake, {"message": "single"}).status_code == 202
    assert newrelic_intake.accepted == [
        {"message": "a", "ecs.cluster": "c", "ecs.task.cpu": 256},
        {"message": "single"},
    ]


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Api-Key": NR_KEY}, 202),
        ({"X-License-Key": NR_KEY}, 202),
        ({"X-Insert-Key": NR_KEY}, 202),
        ({"Api-Key": "wrong"}, 403),
        ({}, 403),
    ],
)
def test_newrelic_key_headers(newrelic_intake: NewRelicIntake, headers: dict[str, str], status: int) -> None:
    assert nr_post(newrelic_intake, [{"message": "m"}], headers).status_code == status
    assert len(newrelic_intake.accepted) == (1 if status == 202 else 0)


def test_newrelic_size_limit_is_on_body_as_received(newrelic_intake: NewRelicIntake) -> None:
    rng = random.Random(1)
    noise = [{"message": base64.b64encode(rng.randbytes(100_000)).decode()} for _ in range(11)]
    gzipped_noise = gzip.compress(compact(noise))
    assert len(gzipped_noise) > NR_MAX_REQUEST_BYTES
    headers = {"Api-Key": NR_KEY, "Content-Encoding": "gzip"}
    assert post(newrelic_intake.url, gzipped_noise, headers).status_code == 413
    big_but_compressible = gzip.compress(sized_body(3 * NR_MAX_REQUEST_BYTES, logs=3))
    assert post(newrelic_intake.url, big_but_compressible, headers).status_code == 202
    plain = {"Api-Key": NR_KEY}
    assert post(newrelic_intake.url, sized_body(NR_MAX_REQUEST_BYTES, 1), plain).status_code == 202
    assert post(newrelic_intake.url, sized_body(NR_MAX_REQUEST_BYTES + 1, 1), plain).status_code == 413
    assert len(newrelic_intake.accepted) == 4


@pytest.mark.parametrize(
    ("payload", "named"),
    [
        ([{"message": "m", "tags": ["a", "b"]}], "'tags'"),
        ([{"message": "m", "ecs": {"ports": [80]}}], "'ecs.ports'"),
        ([{"common": {"attributes": {"zones": []}}, "logs": [{"message": "m"}]}], "'zones'"),
        ([{"message": "ok"}, {"level": "info"}], "log 1: 'message'"),
        ([{"message": "m", "n" * (NR_MAX_ATTRIBUTE_NAME + 1): 1}], "name over"),
        ([{"message": "m", "a": {"b" * (NR_MAX_ATTRIBUTE_NAME - 1): 1}}], "name over"),
        ([], "empty"),
    ],
)
def test_newrelic_rejects_what_the_vendor_would_mangle(
    newrelic_intake: NewRelicIntake, payload: Any, named: str
) -> None:
    response = nr_post(newrelic_intake, payload)
    assert response.status_code == 400
    assert named in response.json()["error"]
    assert newrelic_intake.accepted == []


def test_newrelic_attribute_name_at_limit_is_accepted(newrelic_intake: NewRelicIntake) -> None:
    log = {"message": "m", "a": {"b" * (NR_MAX_ATTRIBUTE_NAME - 2): 1}}
    assert nr_post(newrelic_intake, [log]).status_code == 202


def attributes(count: int, prefix: str = "attr") -> dict[str, int]:
    return {f"{prefix}{i}": i for i in range(count)}


def test_newrelic_attribute_count_limit(newrelic_intake: NewRelicIntake) -> None:
    at_limit = {"message": "m", **attributes(NR_MAX_ATTRIBUTES - 1)}
    over_limit = {"message": "m", **attributes(NR_MAX_ATTRIBUTES)}
    assert nr_post(newrelic_intake, [at_limit]).status_code == 202
    response = nr_post(newrelic_intake, [over_limit])
    assert response.status_code == 400
    assert f"{NR_MAX_ATTRIBUTES + 1} attributes" in response.json()["error"]
    merged_over = [
        {
            "common": {"attributes": {"task": attributes(200)}},
            "logs": [{"message": "m", "attributes": attributes(NR_MAX_ATTRIBUTES - 200)}],
        }
    ]
    assert nr_post(newrelic_intake, merged_over).status_code == 400
    assert newrelic_intake.accepted == [at_limit]


def test_newrelic_detailed_form_merges_common_attributes(newrelic_intake: NewRelicIntake) -> None:
    payload = [
        {
            "common": {"attributes": {"service": "fwd", "aws": {"region": "eu-west-1"}, "env": "prod"}},
            "logs": [
                {"timestamp": 1, "message": "a", "attributes": {"env": "dev", "task": {"arn": "t"}}},
                {"message": "b"},
            ],
        }
    ]
    assert nr_post(newrelic_intake, payload).status_code == 202
    common = {"service": "fwd", "aws.region": "eu-west-1"}
    assert newrelic_intake.accepted == [
        {**common, "env": "dev", "timestamp": 1, "message": "a", "task.arn": "t"},
        {**common, "env": "prod", "message": "b"},
    ]
    assert newrelic_intake.requests[0].log_count == 2


# -- faults and bookkeeping ------------------------------------------------------------------------
LOG = [{"message": "m"}]


def test_script_respond_then_normal(datadog_intake: DatadogIntake) -> None:
    throttle = Respond(429, {"Retry-After": "3", "X-RateLimit-Reset": "3"})
    datadog_intake.script(throttle)
    first = dd_post(datadog_intake, LOG)
    assert (first.status_code, first.headers["Retry-After"], first.headers["X-RateLimit-Reset"]) == (
        429,
        "3",
        "3",
    )
    assert datadog_intake.accepted == []
    assert dd_post(datadog_intake, LOG).status_code == 202
    assert datadog_intake.accepted == LOG
    assert [(r.status, r.behaviour) for r in datadog_intake.requests] == [(429, throttle), (202, None)]


def test_drop_closes_without_response(datadog_intake: DatadogIntake) -> None:
    datadog_intake.script(Drop())
    with pytest.raises(httpx.RemoteProtocolError):
        dd_post(datadog_intake, LOG)
    assert datadog_intake.accepted == []
    assert (datadog_intake.requests[0].status, datadog_intake.requests[0].log_count) == (None, 1)
    assert dd_post(datadog_intake, LOG).status_code == 202


def test_accept_then_drop_records_then_errors(newrelic_intake: NewRelicIntake) -> None:
    newrelic_intake.script(AcceptThenDrop())
    with pytest.raises(httpx.RemoteProtocolError):
        nr_post(newrelic_intake, LOG)
    assert newrelic_intake.accepted == LOG
    assert newrelic_intake.requests[0].status is None


def wait_for(condition: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def test_slow_past_client_timeout(datadog_intake: DatadogIntake) -> None:
    datadog_intake.script(Slow(0.5), Slow(0.05, then=Respond(503)))
    with pytest.raises(httpx.ReadTimeout):
        dd_post(datadog_intake, LOG, timeout=0.1)
    wait_for(lambda: len(datadog_intake.requests) == 1)
    assert datadog_intake.accepted == LOG  # the vendor kept it although the client gave up
    started = time.monotonic()
    assert dd_post(datadog_intake, LOG).status_code == 503
    assert time.monotonic() - started >= 0.05
    assert datadog_intake.accepted == LOG


def test_close_does_not_wait_for_slow_handlers() -> None:
    intake = DatadogIntake()
    intake.script(Slow(30))
    caller = threading.Thread(target=dd_post, args=(intake, LOG, 10.0))
    caller.start()
    wait_for(lambda: not intake._script)  # the handler is sleeping
    started = time.monotonic()
    intake.close()
    caller.join(5)
    assert not caller.is_alive()
    assert time.monotonic() - started < 1


def test_fail_all_until_reset(datadog_intake: DatadogIntake) -> None:
    datadog_intake.fail_all(429)
    responses = [dd_post(datadog_intake, LOG) for _ in range(2)]
    assert [r.status_code for r in responses] == [429, 429]
    assert responses[0].headers["Retry-After"] == "0"
    assert responses[0].headers["X-RateLimit-Reset"] == "0"
    datadog_intake.reset()
    assert dd_post(datadog_intake, LOG).status_code == 202
    assert [r.status for r in datadog_intake.requests] == [202]


def run_chaos(intake: DatadogIntake, rate: float | None, seed: int, **kwargs: Any) -> list[Behaviour | None]:
    intake.reset()
    intake.chaos(rate, seed=seed, **kwargs)
    with httpx.Client(headers={"DD-API-KEY": DD_KEY, "Content-Type": "application/json"}) as client:
        for i in range(40):
            with contextlib.suppress(httpx.TransportError):
                client.post(intake.url, content=compact([{"message": f"log {i}"}]))
    return [request.behaviour for request in intake.requests]


def test_chaos_is_deterministic_per_seed(datadog_intake: DatadogIntake) -> None:
    first = run_chaos(datadog_intake, 0.5, seed=7)
    assert len(first) == 40
    assert 5 < sum(b is not None for b in first) < 35
    assert len({type(b) for b in first}) >= 4
    for request in datadog_intake.requests:
        final = request.behaviour.then if isinstance(request.behaviour, Slow) else request.behaviour
        dropped = isinstance(final, Drop | AcceptThenDrop)
        assert request.status == (None if dropped else final.status if isinstance(final, Respond) else 202)
    kept = [b is None or isinstance(b, AcceptThenDrop | Slow) for b in first]
    assert len(datadog_intake.accepted) == sum(kept)
    assert run_chaos(datadog_intake, 0.5, seed=7) == first
    assert run_chaos(datadog_intake, 0.5, seed=8) != first
    assert run_chaos(datadog_intake, None, seed=7) == [None] * 40
    assert set(run_chaos(datadog_intake, 1.0, seed=7, kinds=[Respond(500)])) == {Respond(500)}


def test_keep_alive_and_connection_close(datadog_intake: DatadogIntake) -> None:
    with httpx.Client(headers={"DD-API-KEY": DD_KEY, "Content-Type": "application/json"}) as client:
        for headers in ({}, {}, {"Connection": "close"}, {}):
            assert client.post(datadog_intake.url, content=compact(LOG), headers=headers).status_code == 202
    ports = [request.client_port for request in datadog_intake.requests]
    assert ports[0] == ports[1] == ports[2] != ports[3]


def test_chunked_body_and_duplicate_counting(datadog_intake: DatadogIntake) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'[{"message": "dup"},'
        yield b'{"message": "once"}]'

    headers = {"DD-API-KEY": DD_KEY, "Content-Type": "application/json"}
    assert httpx.post(datadog_intake.url, content=chunks(), headers=headers).status_code == 202
    assert datadog_intake.requests[0].headers.get("transfer-encoding") == "chunked"
    assert dd_post(datadog_intake, [{"message": "dup"}]).status_code == 202
    counts = datadog_intake.accepted_count_by(lambda log: log["message"])
    assert counts == {"dup": 2, "once": 1}
