"""Diagnosis beyond the event, against the local AWS emulator (moto server, real HTTP): task
definitions (ECS), the container's log (CloudWatch Logs) and the image's manifest (ECR).

The emulator has no ``ecr:GetDownloadUrlForLayer`` (it answers 500) and ignores
``acceptedMediaTypes`` and ``registryId``: those calls are checked with botocore's Stubber, with the
real API shapes, and the config blob is served from a loopback HTTP server.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from forwarder.enrich import BUDGET_SECONDS, MANIFEST_TYPES, Enricher
from forwarder.handler import Runtime
from forwarder.parse import parse_event
from tests.aws import MotoServer
from tests.fixtures import ROOT
from tests.intakes import DatadogIntake

REGION = "ap-northeast-1"
ACCOUNT = "123456789012"
REPOSITORY = "books/newarrivals"
IMAGE = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{REPOSITORY}:1.4.2"
GROUP = "/ecs/newarrivals-batch"
EXEC_FORMAT = "exec /usr/local/bin/newarrivals: exec format error"
DD_KEY = "canary-enrich-dd-71c"
BUCKET = "stop-archive"
INCIDENT = ROOT / "events" / "app-crashed--seed-exec-format-only-in-logs.json"


def index_manifest(*architectures: str) -> str:
    """An OCI image index as buildx pushes it: one manifest per platform and an attestation."""
    manifests = [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + f"{n:x}" * 64,
         "size": 1000 + n, "platform": {"architecture": arch, "os": "linux"}}
        for n, arch in enumerate(architectures, 1)
    ]  # fmt: skip
    manifests.append(
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + "e" * 64,
         "size": 840, "platform": {"architecture": "unknown", "os": "unknown"}}
    )  # fmt: skip
    return json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                       "manifests": manifests})  # fmt: skip


def single_manifest(config_digest: str) -> str:
    return json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 1469,
                   "digest": config_digest},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 3,
                    "digest": "sha256:" + "1" * 64}],
    })  # fmt: skip


def digest_of(manifest: str) -> str:
    return "sha256:" + hashlib.sha256(manifest.encode()).hexdigest()


class Staged:
    """The seed incident staged in the emulator; ``event`` is its STOPPED event."""

    def __init__(self, aws: MotoServer, *, log_lines: list[str] | None, manifest: str | None,
                 log_driver: str = "awslogs", sidecar: bool = False) -> None:  # fmt: skip
        self.aws = aws
        ecs = aws.client("ecs", REGION)
        app: dict[str, Any] = {"name": "app", "image": IMAGE, "memory": 512, "essential": True}
        if log_driver == "awslogs":
            app["logConfiguration"] = {"logDriver": "awslogs", "options": {
                "awslogs-group": GROUP, "awslogs-stream-prefix": "ecs", "awslogs-region": REGION}}  # fmt: skip
        else:
            app["logConfiguration"] = {"logDriver": log_driver, "options": {"Name": "datadog"}}
        definitions = [app]
        if sidecar:  # not a well-known sidecar image: only the task definition says it is not essential
            definitions.append({"name": "shipper", "image": "acme/metrics-shipper:3.1",
                                "memory": 64, "essential": False})  # fmt: skip
        registered = ecs.register_task_definition(
            family="newarrivals-batch", containerDefinitions=definitions,
            runtimePlatform={"cpuArchitecture": "X86_64", "operatingSystemFamily": "LINUX"},
        )  # fmt: skip
        self.event = json.loads(INCIDENT.read_text())
        detail = self.event["detail"]
        detail["taskDefinitionArn"] = registered["taskDefinition"]["taskDefinitionArn"]
        self.task_id = detail["taskArn"].rsplit("/", 1)[1]
        self.stream = f"ecs/app/{self.task_id}"
        if log_lines:
            self.write_logs(log_lines)
        if manifest is not None:
            ecr = aws.client("ecr", REGION)
            ecr.create_repository(repositoryName=REPOSITORY)
            kind = json.loads(manifest)["mediaType"]
            ecr.put_image(repositoryName=REPOSITORY, imageManifest=manifest, imageManifestMediaType=kind,
                          imageTag="1.4.2", imageDigest=digest_of(manifest))  # fmt: skip
            detail["containers"][0]["imageDigest"] = digest_of(manifest)

    def write_logs(self, lines: list[str]) -> None:
        logs = self.aws.client("logs", REGION)
        try:
            logs.create_log_group(logGroupName=GROUP)
        except logs.exceptions.ResourceAlreadyExistsException:
            pass
        logs.create_log_stream(logGroupName=GROUP, logStreamName=self.stream)
        now = int(time.time() * 1000)
        logs.put_log_events(logGroupName=GROUP, logStreamName=self.stream,
                            logEvents=[{"timestamp": now - 1000 + i, "message": line}
                                       for i, line in enumerate(lines)])  # fmt: skip


STARTUP = ["2026-11-28T03:13:50Z starting newarrivals batch", EXEC_FORMAT]


class Calls:
    """A client factory onto the emulator that counts the clients it builds."""

    def __init__(self, aws: MotoServer, overrides: dict[str, Any] | None = None) -> None:
        self.aws = aws
        self.built: list[tuple[str, str | None]] = []
        self.overrides = overrides or {}

    def __call__(self, service: str, region: str | None) -> Any:
        self.built.append((service, region))
        return self.overrides.get(service) or self.aws.client(service, region)


def enricher(calls: Calls, kinds: tuple[str, ...] = ("logs", "image"), **options: Any) -> Enricher:
    return Enricher(kinds, calls, **options)


def deadline() -> float:
    return time.monotonic() + 30


# -- the seed incident: exit 1, no pull error ---------------------------------------------------


def test_the_event_alone_says_only_app_crashed() -> None:
    record = parse_event(json.loads(INCIDENT.read_text()))
    assert (record.category, record.exit_code, record.enrichment) == ("app-crashed", 1, None)
    assert "read its logs" in record.hint
    assert "exited 10.5 s after start" in record.hint and "CPU architecture" in record.hint  # the short-run hint


def test_logs_and_manifest_turn_the_seed_incident_into_image_platform_mismatch(aws: MotoServer) -> None:
    staged = Staged(aws, log_lines=STARTUP, manifest=index_manifest("arm64"))
    record = enricher(Calls(aws))(parse_event(staged.event), deadline())
    assert record.category == "image-platform-mismatch"
    assert record.enrichment is not None and (record.enrichment.logs, record.enrichment.image) == ("ok", "ok")
    sources = [e.source for e in record.evidence]
    assert sources[0] == "image" and set(sources) == {"image", "event", "logs"}
    assert "linux/arm64 only" in record.evidence[0].text and "linux/amd64" in record.evidence[0].text
    assert any(e.source == "logs" and "exec format error" in e.text for e in record.evidence)
    assert record.log_tail == tuple(STARTUP)
    assert record.culprit_container == "app" and record.exit_code == 1
    assert "runtimePlatform" in record.hint


def test_logs_alone_prove_it(aws: MotoServer) -> None:
    staged = Staged(aws, log_lines=STARTUP, manifest=None)  # no such image in ECR
    record = enricher(Calls(aws))(parse_event(staged.event), deadline())
    assert record.category == "image-platform-mismatch"
    assert record.evidence[0].source == "logs" and "exec format error" in record.evidence[0].text
    assert record.enrichment is not None and record.enrichment.image.startswith("unavailable: ")


def test_the_manifest_alone_proves_it_when_the_log_is_denied(aws: MotoServer) -> None:
    staged = Staged(aws, log_lines=STARTUP, manifest=index_manifest("arm64"))
    denied = boto3.client("logs", region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t")
    stubber = Stubber(denied)
    stubber.add_client_error("get_log_events", service_error_code="AccessDeniedException",
                             service_message="not authorized", http_status_code=400)  # fmt: skip
    with stubber:
        record = enricher(Calls(aws, {"logs": denied}))(parse_event(staged.event), deadline())
    assert record.category == "image-platform-mismatch"
    assert [e.source for e in record.evidence][:1] == ["image"]
    assert record.enrichment is not None
    assert record.enrichment.logs == "unavailable: logs:GetLogEvents: AccessDeniedException"
    assert record.log_tail is None


def test_with_both_unavailable_it_stays_app_crashed_and_says_why(aws: MotoServer) -> None:
    staged = Staged(aws, log_lines=None, manifest=None)
    waited: list[float] = []
    record = enricher(Calls(aws), sleep=waited.append)(parse_event(staged.event), deadline())
    assert record.category == "app-crashed" and "read its logs" in record.hint
    assert record.enrichment is not None
    assert record.enrichment.logs.startswith("unavailable: log stream ecs/app/")
    assert record.enrichment.image.startswith("unavailable: ecr:BatchGetImage: ")
    assert waited  # it waited for the stream (logs arrive a little after the stop) before giving up


def test_a_matching_image_is_said_and_does_not_decide(aws: MotoServer) -> None:
    staged = Staged(aws, log_lines=["Traceback (most recent call last):", "KeyError: 'BOOKS_API'"],
                    manifest=index_manifest("amd64", "arm64"))  # fmt: skip
    record = enricher(Calls(aws))(parse_event(staged.event), deadline())
    assert record.category == "app-crashed"
    assert 'last log line: "KeyError: \'BOOKS_API\'"' in record.hint
    assert any(e.source == "image" and "has a linux/amd64 build" in e.text for e in record.evidence)


def test_a_stream_that_appears_late_is_read(aws: MotoServer) -> None:
    staged = Staged(aws, log_lines=None, manifest=None)
    record = enricher(Calls(aws), sleep=lambda _: staged.write_logs(STARTUP))(parse_event(staged.event), deadline())
    assert record.category == "image-platform-mismatch" and record.log_tail == tuple(STARTUP)


def test_other_log_drivers_are_said_not_guessed(aws: MotoServer) -> None:
    staged = Staged(aws, log_lines=None, manifest=None, log_driver="awsfirelens")
    record = enricher(Calls(aws), kinds=("logs",))(parse_event(staged.event), deadline())
    assert record.enrichment is not None
    assert record.enrichment.logs == "skipped: container app logs with awsfirelens (only awslogs is read)"
    assert record.enrichment.image == "skipped: off"


def test_a_sidecar_killed_after_the_essential_container_finished_is_a_completion(aws: MotoServer) -> None:
    staged = Staged(aws, log_lines=["done: 412 titles"], manifest=None, sidecar=True)
    detail = staged.event["detail"]
    detail["containers"][0]["exitCode"] = 0
    detail["containers"].append({"name": "shipper", "image": "acme/metrics-shipper:3.1",
                                 "lastStatus": "STOPPED", "exitCode": 137})  # fmt: skip
    alone = parse_event(staged.event)
    assert alone.category == "app-crashed"  # from the event alone, shipper may have been essential
    record = enricher(Calls(aws))(alone, deadline())
    assert record.category == "app-completed", record.hint
    assert "essential" in record.evidence[0].text


def test_the_log_tail_is_redacted_and_capped(aws: MotoServer) -> None:
    lines = [f"noise {n} " + "x" * 300 for n in range(60)] + [
        "DB_PASSWORD=canary-log-secret-1 connecting",
        "GET /v1/books Authorization: Bearer canary-log-token-2",
        "postgres://books:canary-log-url-3@db.internal:5432/books",
        EXEC_FORMAT,
    ]
    staged = Staged(aws, log_lines=lines, manifest=None)
    record = enricher(Calls(aws))(parse_event(staged.event), deadline())
    text = json.dumps(record.to_dict())
    for canary in ("canary-log-secret-1", "canary-log-token-2", "canary-log-url-3"):
        assert canary not in text
    assert record.log_tail is not None and record.log_tail[-1] == EXEC_FORMAT
    assert len(record.log_tail) < 50 and sum(len(line) + 1 for line in record.log_tail) <= 8192


# -- what is sent to ECR, checked with the Stubber (the emulator ignores it) ---------------------


class _BlobServer:
    """Serves one config blob over loopback HTTP, as ECR's presigned S3 URL would."""

    def __init__(self, blob: bytes) -> None:
        handler = type("_Blob", (BaseHTTPRequestHandler,), {
            "do_GET": lambda self: (self.send_response(200), self.send_header("Content-Length", str(len(blob))),
                                    self.end_headers(), self.wfile.write(blob)),
            "log_message": lambda self, *args: None,
        })  # fmt: skip
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/blob?X-Amz-Signature=canary-presigned"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def blob_server() -> Iterator[_BlobServer]:
    server = _BlobServer(json.dumps({"architecture": "arm64", "os": "linux", "variant": "v8"}).encode())
    yield server
    server.close()


def test_a_single_manifest_is_read_through_its_config_blob(aws: MotoServer, blob_server: _BlobServer) -> None:
    staged = Staged(aws, log_lines=[], manifest=None)
    config = "sha256:" + "c" * 64
    manifest = single_manifest(config)
    image_digest = digest_of(manifest)
    staged.event["detail"]["containers"][0]["imageDigest"] = image_digest
    ecr = boto3.client("ecr", region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t")
    stubber = Stubber(ecr)
    stubber.add_response(
        "batch_get_image",
        {"images": [{"registryId": ACCOUNT, "repositoryName": REPOSITORY, "imageManifest": manifest,
                     "imageId": {"imageDigest": image_digest},
                     "imageManifestMediaType": "application/vnd.docker.distribution.manifest.v2+json"}],
         "failures": []},
        {"registryId": ACCOUNT, "repositoryName": REPOSITORY, "imageIds": [{"imageDigest": image_digest}],
         "acceptedMediaTypes": list(MANIFEST_TYPES)},
    )  # fmt: skip
    stubber.add_response(
        "get_download_url_for_layer",
        {"downloadUrl": blob_server.url, "layerDigest": config},
        {"registryId": ACCOUNT, "repositoryName": REPOSITORY, "layerDigest": config},
    )
    calls = Calls(aws, {"ecr": ecr})
    with stubber:
        first = enricher(calls, kinds=("image",))
        record = first(parse_event(staged.event), deadline())
        again = first(parse_event(staged.event), deadline())  # cached by digest: no second call
        stubber.assert_no_pending_responses()
    assert record.category == "image-platform-mismatch" == again.category
    assert record.evidence[0] == again.evidence[0]
    assert "linux/arm64/v8 only" in record.evidence[0].text
    assert "canary-presigned" not in json.dumps(record.to_dict())


def test_an_image_without_a_digest_is_asked_for_by_tag(aws: MotoServer) -> None:
    staged = Staged(aws, log_lines=[], manifest=None)
    del staged.event["detail"]["containers"][0]["imageDigest"]
    ecr = boto3.client("ecr", region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t")
    stubber = Stubber(ecr)
    stubber.add_response(
        "batch_get_image",
        {"images": [], "failures": [{"imageId": {"imageTag": "1.4.2"}, "failureCode": "ImageNotFound",
                                     "failureReason": "Requested image not found"}]},
        {"registryId": ACCOUNT, "repositoryName": REPOSITORY, "imageIds": [{"imageTag": "1.4.2"}],
         "acceptedMediaTypes": ANY},
    )  # fmt: skip
    with stubber:
        record = enricher(Calls(aws, {"ecr": ecr}), kinds=("image",))(parse_event(staged.event), deadline())
    assert record.enrichment is not None
    assert record.enrichment.image == "unavailable: ecr:BatchGetImage: ImageNotFound (Requested image not found)"


def test_a_public_registry_is_not_read(aws: MotoServer) -> None:
    staged = Staged(aws, log_lines=[], manifest=None)
    staged.event["detail"]["containers"][0]["image"] = "public.ecr.aws/nginx/nginx:1.27"
    record = enricher(Calls(aws), kinds=("image",))(parse_event(staged.event), deadline())
    assert record.enrichment is not None
    assert record.enrichment.image == "skipped: public.ecr.aws is not an ECR registry (only ECR manifests are read)"


# -- when, and within what ------------------------------------------------------------------------


def test_stops_the_event_explains_build_no_client() -> None:
    built: list[str] = []

    def refuse(service: str, region: str | None) -> Any:
        built.append(service)
        raise AssertionError("no client for a stop the event explains")

    decided = Enricher(("logs", "image"), refuse)
    for name in ("user-stopped--before-start.json", "spot-interrupted--fargate-spot-exit143.json",
                 "scheduler-stopped--deployment-replaced.json", "secret-unavailable--asm-cant-find-secret.json"):  # fmt: skip
        event = json.loads((ROOT / "events" / name).read_text())
        event["detail"].pop("attributes", None)  # no CPU architecture: still nothing to look up
        record = parse_event(event)
        enriched = decided(record, deadline())
        assert enriched.category == record.category and enriched.hint == record.hint
        assert enriched.enrichment is not None and enriched.enrichment.logs.startswith("skipped: the event names")
        assert list(enriched.to_dict()) == list(record.to_dict())  # the contract's order kept
    assert built == []


def test_a_source_that_hangs_is_cut_at_the_budget(aws: MotoServer) -> None:
    staged = Staged(aws, log_lines=STARTUP, manifest=None)
    release = threading.Event()

    class Hanging:
        def batch_get_image(self, **_: Any) -> dict[str, Any]:
            release.wait(10)
            return {"images": [], "failures": []}

    try:
        budget = 0.3
        record = enricher(Calls(aws, {"ecr": Hanging()}), budget=budget)(parse_event(staged.event), deadline())
    finally:
        release.set()
    assert record.enrichment is not None
    assert record.enrichment.image == "unavailable: out of time (the enrichment budget ran out)"
    assert record.category == "image-platform-mismatch"  # what the log said still counts
    assert BUDGET_SECONDS == 1.5


# -- the handler and explain --enrich, end to end ---------------------------------------------------


def _denied_logs() -> Any:
    denied = boto3.client("logs", region_name=REGION, aws_access_key_id="t", aws_secret_access_key="t")
    stubber = Stubber(denied)
    stubber.add_client_error("get_log_events", service_error_code="AccessDeniedException", http_status_code=400)
    stubber.activate()
    return denied


@pytest.mark.parametrize(
    ("variant", "category", "sources", "enrichment"),
    [
        ("logs and manifest", "image-platform-mismatch", {"image", "event", "logs"}, ("ok", "ok")),
        ("logs denied, manifest", "image-platform-mismatch", {"image", "event"},
         ("unavailable: logs:GetLogEvents: AccessDeniedException", "ok")),
        ("logs, no image in ECR", "image-platform-mismatch", {"logs", "event"},
         ("ok", "unavailable: ecr:BatchGetImage: ")),
        ("neither", "app-crashed", {"event"},
         ("unavailable: logs:GetLogEvents: AccessDeniedException", "unavailable: ecr:BatchGetImage: ")),
    ],
)  # fmt: skip
def test_the_seed_incident_through_the_lambda_path(
    aws: MotoServer, variant: str, category: str, sources: set[str], enrichment: tuple[str, str]
) -> None:
    """The arm64 image on the x86_64 scheduled task, exit 1 and no pull error, through the handler:
    S3, ECS, Logs and ECR in the emulator, Datadog on loopback. A secret in the container's log
    reaches neither the archive, the vendor nor the forwarder's own log lines."""
    aws.client("s3").create_bucket(Bucket=BUCKET)
    staged = Staged(aws, log_lines=["API_TOKEN=canary-log-token-9", *STARTUP],
                    manifest=index_manifest("arm64") if "manifest" in variant else None)  # fmt: skip
    overrides = {"logs": _denied_logs()} if "denied" in variant or variant == "neither" else {}
    lines: list[str] = []
    with DatadogIntake(valid_keys={DD_KEY}) as dd:
        env = {"FORWARDER_DESTINATIONS": "datadog", "DD_API_KEY": DD_KEY, "DD_LOGS_URL": dd.url,
               "ARCHIVE_BUCKET": BUCKET, "FORWARDER_ENRICH": "logs,image"}  # fmt: skip
        calls = Calls(aws, overrides)
        rt = Runtime.from_env(env, client_factory=aws.client, emit=lines.append, enrich_clients=calls)
        answer = rt.handle(staged.event, None)
        [log] = dd.accepted
    assert answer["deliveries"] == {"datadog": "delivered"}
    stop = log["ecs_stop"]
    assert stop["category"] == category
    assert {e["source"] for e in stop["evidence"]} == sources
    assert stop["enrichment"]["logs"].startswith(enrichment[0]) and stop["enrichment"]["image"].startswith(enrichment[1])
    s3 = aws.client("s3")
    [key] = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"]]
    archived = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
    assert json.loads(archived)["record"] == stop  # what was archived is what was sent
    seen = archived + json.dumps(dd.accepted) + "".join(lines)
    assert "canary-log-token-9" not in seen
    assert ("API_TOKEN=[REDACTED]" in archived) == (enrichment[0] == "ok")
    assert sorted(service for service, _ in calls.built) == ["ecr", "ecs", "logs"]


def test_importing_the_handler_does_not_import_enrichment() -> None:
    """A forwarder without FORWARDER_ENRICH, and the cold start of one with it, do not pay for it."""
    code = "import sys, forwarder.handler; print('forwarder.enrich' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False"


def test_explain_enrich_reads_the_emulator_and_plain_explain_reads_nothing(
    aws: MotoServer, tmp_path: Any
) -> None:
    staged = Staged(aws, log_lines=STARTUP, manifest=index_manifest("arm64"))
    path = tmp_path / "incident.json"
    path.write_text(json.dumps(staged.event))
    env = {**aws.environ(), "PATH": "/usr/bin:/bin"}

    def explain(*options: str, **changes: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "forwarder", "explain", str(path), *options]
        return subprocess.run(command, check=False, capture_output=True, text=True, env={**env, **changes},
                              timeout=60)  # fmt: skip

    enriched = explain("--enrich")
    assert enriched.returncode == 0, enriched.stderr
    assert enriched.stdout.startswith("image-platform-mismatch")
    assert "evidence: [image] image " in enriched.stdout and "[logs] " + EXEC_FORMAT in enriched.stdout
    assert "enrichment: logs ok; image ok" in enriched.stdout
    plain = explain(AWS_ENDPOINT_URL="http://127.0.0.1:9")  # nothing listens there: no AWS call is made
    assert plain.returncode == 0 and plain.stdout.startswith("app-crashed")
    bad = explain("--enrich", "logs,core")
    assert bad.returncode == 2 and "--enrich: unknown enrichment core" in bad.stderr


def test_a_lambda_retry_sends_the_record_as_it_was_diagnosed_the_first_time(aws: MotoServer) -> None:
    """Diagnosis runs once, before the first archive write: a retry sends the archived record
    to the destinations still owed, whatever the log and the image say by then."""
    from forwarder.errors import DeliveryError
    from tests.intakes import NewRelicIntake

    class Roomy:
        def get_remaining_time_in_millis(self) -> int:
            return 60_000

    aws.client("s3").create_bucket(Bucket=BUCKET)
    staged = Staged(aws, log_lines=STARTUP, manifest=index_manifest("arm64"))
    with DatadogIntake(valid_keys={DD_KEY}) as dd, NewRelicIntake(valid_keys={"nr-k"}) as nr:
        env = {"FORWARDER_DESTINATIONS": "datadog,newrelic", "DD_API_KEY": DD_KEY, "DD_LOGS_URL": dd.url,
               "NEW_RELIC_LICENSE_KEY": "nr-k", "NEW_RELIC_LOGS_URL": nr.url, "ARCHIVE_BUCKET": BUCKET,
               "FORWARDER_ENRICH": "logs,image"}  # fmt: skip
        nr.fail_all(503, {"Retry-After": "3600"})  # still failing at the deadline, however loaded the machine
        with pytest.raises(DeliveryError, match="not yet delivered to newrelic;"):
            Runtime.from_env(env, client_factory=aws.client, emit=lambda _: None,
                             enrich_clients=Calls(aws)).handle(staged.event, Roomy())  # fmt: skip
        aws.client("logs", REGION).delete_log_group(logGroupName=GROUP)  # the evidence is gone
        nr.reset()
        fresh = Runtime.from_env(env, client_factory=aws.client, emit=lambda _: None, enrich_clients=Calls(aws))
        answer = fresh.handle(staged.event, Roomy())
        [first] = dd.accepted
        [retried] = nr.accepted
    assert answer["deliveries"] == {"datadog": "delivered", "newrelic": "delivered"}
    assert first["ecs_stop"]["category"] == retried["category"] == "image-platform-mismatch"
