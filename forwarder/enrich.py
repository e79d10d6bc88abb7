"""Evidence the event does not carry: the culprit container's own log and its image's manifest.

The step between parse and classify for stops whose event leaves the cause open (``ENRICHABLE``),
and a manifest check that adds proof to an image-platform-mismatch the event already names. It
reads, within a budget (``BUDGET_SECONDS``, inside the caller's deadline):

- the task definition (``ecs:DescribeTaskDefinition``, cached per ARN): the essential containers,
  the culprit's log configuration and the task's ``runtimePlatform``;
- with the ``awslogs`` driver, the last lines of ``{awslogs-stream-prefix}/{container}/{task id}``
  in ``awslogs-group`` (``logs:GetLogEvents``), retried briefly while the stream does not exist yet
  (logs arrive a little after the stop); every line passes ``redact_text``;
- for an ECR image, its manifest (``ecr:BatchGetImage``, by digest when the event has one, else by
  tag, asking for the four manifest media types): an index's platforms, or a single manifest's
  config blob (``ecr:GetDownloadUrlForLayer`` and one HTTPS GET), cached by digest.

Enrichment never fails delivery: whatever could not be read is said in the record's
``enrichment`` (``unavailable: <why>``). It builds no client and imports nothing for a stop that
needs none. What it found is handed to ``classify`` as data (``Findings``).
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections import OrderedDict
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any, NamedTuple

from forwarder.model import Container, Enrichment, Findings, StopRecord
from forwarder.parse import with_findings
from forwarder.redact import redact_text

KINDS = ("logs", "image")
#: Stops whose event alone leaves the cause open; image-platform-mismatch gets the manifest's proof.
ENRICHABLE = frozenset({"app-crashed", "unknown", "container-start-failed", "health-check-failed"})
IMAGE_PROOF = "image-platform-mismatch"
BUDGET_SECONDS = 1.5
LOG_LINES = 50
LOG_BYTES = 8192
LINE_CHARS = 1000
BLOB_BYTES = 1 << 20
#: How long to wait for a log stream that does not exist yet, between tries.
STREAM_WAITS = (0.2, 0.3, 0.5)
MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
_CACHED = 128
_ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr(?:-fips)?\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
    r"(?P<repository>[a-z0-9._/-]+?)(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)
_GOARCH = {"x86_64": "amd64", "arm64": "arm64"}

#: (service, region) -> a boto3 client; the entry points pass ``wiring.enrichment_client``.
ClientFactory = Callable[[str, "str | None"], Any]
#: (url, timeout) -> at most ``BLOB_BYTES`` of the body.
Fetch = Callable[[str, float], bytes]


class Unavailable(Exception):
    """One source gave nothing; the message says what was tried and why (never a secret)."""


class _Logs(NamedTuple):
    status: str
    lines: tuple[str, ...] = ()
    essential: frozenset[str] | None = None
    task_arch: str | None = None


class _Image(NamedTuple):
    status: str
    reference: str | None = None
    platforms: tuple[str, ...] = ()


def fetch_blob(url: str, timeout: float) -> bytes:
    """GET a presigned URL (never logged: it carries a signature)."""
    with urllib.request.urlopen(url, timeout=timeout) as answer:  # ECR's https URL
        data: bytes = answer.read(BLOB_BYTES + 1)
    if len(data) > BLOB_BYTES:
        raise Unavailable(f"the image config blob is over {BLOB_BYTES} bytes")
    return data


def parse_kinds(value: str, where: str) -> frozenset[str]:
    """``logs,image`` -> the kinds; empty is off. Raises ``ValueError`` naming ``where``."""
    kinds = frozenset(part.strip().lower() for part in value.split(",") if part.strip())
    unknown = sorted(kinds - set(KINDS))
    if unknown:
        raise ValueError(f"{where}: unknown enrichment {', '.join(unknown)}; choose from {', '.join(KINDS)}")
    return kinds


class Enricher:
    """Called as ``enricher(record, deadline)`` -> the record, classified again with what was found.

    Built once per container (the Lambda's runtime, a CLI run); its clients and caches live as long.
    """

    def __init__(
        self,
        kinds: Iterable[str],
        client_factory: ClientFactory,
        *,
        fetch: Fetch = fetch_blob,
        budget: float = BUDGET_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.kinds = frozenset(kinds)
        self._client_factory = client_factory
        self._fetch = fetch
        self.budget = budget
        self._clock = clock
        self._sleep = sleep
        self._clients: dict[tuple[str, str | None], Any] = {}
        self._task_definitions: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._platforms: OrderedDict[str, tuple[str, ...]] = OrderedDict()

    def __call__(self, record: StopRecord, deadline: float) -> StopRecord:
        logs_on, image_on = wanted(record, self.kinds)
        if not logs_on and not image_on:  # nothing read, no client built: the record as it was
            enrichment = Enrichment(
                _why_not(record, self.kinds, "logs"), _why_not(record, self.kinds, "image")
            )
            return StopRecord.of_fields({**vars(record), "enrichment": enrichment})  # in field order
        end = min(self._clock() + self.budget, deadline)
        container = culprit_of(record)
        # The task definition decides which containers are essential, and says the task's CPU
        # architecture when the event does not.
        needs_definition = logs_on or record.category in ENRICHABLE or record.cpu_architecture is None
        pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="enrich")
        try:
            logs = pool.submit(self._read_logs, record, container, end, logs_on) if needs_definition else None
            image = pool.submit(self._read_image, record, container, end) if image_on else None
            jobs: list[Future[Any]] = [f for f in (logs, image) if f is not None]
            wait(jobs, timeout=max(end - self._clock(), 0.0))
        finally:
            pool.shutdown(wait=False)  # a call still running ends by its own timeout
        late = "unavailable: out of time (the enrichment budget ran out)"
        log_result = _Logs("ok") if logs is None else logs.result() if logs.done() else _Logs(late)
        if not logs_on:
            log_result = log_result._replace(status=_why_not(record, self.kinds, "logs"))
        image_result = _Image(_why_not(record, self.kinds, "image"))
        if image is not None:
            image_result = image.result() if image.done() else _Image(late)
        arch = record.cpu_architecture or log_result.task_arch or "x86_64"
        text, mismatch = (None, False)
        if image_result.status == "ok" and image_result.platforms:
            text, mismatch = image_evidence(str(image_result.reference), image_result.platforms, arch)
        findings = Findings(
            container=container.name if container else None,
            log_lines=log_result.lines,
            image=text,
            image_mismatch=mismatch,
            essential=log_result.essential,
        )
        return with_findings(record, findings, Enrichment(log_result.status, image_result.status))

    # -- the task definition and the log ------------------------------------------------------

    def _read_logs(self, record: StopRecord, container: Container | None, end: float, logs_on: bool) -> _Logs:
        """The task definition's facts, and the container's last log lines when ``logs_on``.
        Never raises: what fails is said in the status."""
        try:
            definition = self._task_definition(record)
        except Unavailable as exc:
            return _Logs(f"unavailable: {exc}" if logs_on else "ok")
        essential = frozenset(
            str(c.get("name")) for c in definition.get("containerDefinitions", []) if c.get("essential", True)
        )
        task_arch = (definition.get("runtimePlatform") or {}).get("cpuArchitecture")
        task_arch = {"X86_64": "x86_64", "ARM64": "arm64"}.get(str(task_arch))
        facts = _Logs("ok", essential=essential or None, task_arch=task_arch)
        if not logs_on:
            return facts
        try:
            return facts._replace(lines=self._log_tail(record, container, definition, end))
        except Unavailable as exc:
            return facts._replace(status=f"unavailable: {exc}")
        except _Skip as exc:
            return facts._replace(status=f"skipped: {exc}")

    def _task_definition(self, record: StopRecord) -> dict[str, Any]:
        arn = record.task_definition_arn
        if not arn:
            raise Unavailable("the event names no task definition")
        cached = self._task_definitions.get(arn)
        if cached is not None:
            return cached
        ecs = self._client("ecs", _region_of(arn) or record.region)
        answer = _call("ecs:DescribeTaskDefinition", ecs.describe_task_definition, taskDefinition=arn)
        definition: dict[str, Any] = answer.get("taskDefinition") or {}
        _remember(self._task_definitions, arn, definition)
        return definition

    def _log_tail(
        self, record: StopRecord, container: Container | None, definition: dict[str, Any], end: float
    ) -> tuple[str, ...]:
        if container is None or not container.name:
            raise _Skip("no container to read")
        if container.exit_code is None:
            raise _Skip(f"container {container.name} never ran (no exit code), so it wrote no log")
        spec = next(
            (c for c in definition.get("containerDefinitions", []) if c.get("name") == container.name), None
        )
        if spec is None:
            raise Unavailable(f"container {container.name} is not in task definition {record.family}")
        config = spec.get("logConfiguration") or {}
        driver = config.get("logDriver")
        if driver != "awslogs":
            raise _Skip(
                f"container {container.name} logs with {driver or 'no log driver'} (only awslogs is read)"
            )
        options = config.get("options") or {}
        group, prefix = options.get("awslogs-group"), options.get("awslogs-stream-prefix")
        if not group or not prefix:
            raise Unavailable(
                "awslogs without awslogs-group and awslogs-stream-prefix: the stream is not derivable"
            )
        stream = f"{prefix}/{container.name}/{record.task_id}"
        logs = self._client("logs", options.get("awslogs-region") or record.region)
        for pause in (*STREAM_WAITS, None):
            try:
                answer = _call(
                    "logs:GetLogEvents",
                    logs.get_log_events,
                    logGroupName=group,
                    logStreamName=stream,
                    limit=LOG_LINES,
                    startFromHead=False,
                )
            except _NotFound:
                if pause is None or self._clock() + pause >= end:
                    raise Unavailable(f"log stream {stream} in {group} does not exist (yet)") from None
                self._sleep(pause)
                continue
            return _tail(str(event.get("message", "")) for event in answer.get("events", []))
        raise AssertionError("unreachable")  # pragma: no cover

    # -- the image ----------------------------------------------------------------------------

    def _read_image(self, record: StopRecord, container: Container | None, end: float) -> _Image:
        image = container.image if container else None
        if not image:
            return _Image("skipped: the event names no image")
        match = _ECR_IMAGE.match(image)
        if match is None:
            registry = (
                image.split("/", 1)[0] if "/" in image and "." in image.split("/", 1)[0] else "docker.io"
            )
            return _Image(f"skipped: {registry} is not an ECR registry (only ECR manifests are read)")
        digest = match["digest"] or (container.image_digest if container else None)
        cached = self._platforms.get(digest) if digest else None
        if cached is not None:
            return _Image("ok", image, cached)
        try:
            platforms = self._manifest_platforms(match, digest, end)
        except Unavailable as exc:
            return _Image(f"unavailable: {exc}", image)
        if digest:
            _remember(self._platforms, digest, platforms)
        return _Image("ok", image, platforms)

    def _manifest_platforms(self, image: re.Match[str], digest: str | None, end: float) -> tuple[str, ...]:
        ecr = self._client("ecr", image["region"])
        ids = {"imageDigest": digest} if digest else {"imageTag": image["tag"] or "latest"}
        where = {"registryId": image["account"], "repositoryName": image["repository"]}
        answer = _call(
            "ecr:BatchGetImage",
            ecr.batch_get_image,
            **where,
            imageIds=[ids],
            acceptedMediaTypes=list(MANIFEST_TYPES),
        )
        images = answer.get("images") or []
        if not images:
            failure = (answer.get("failures") or [{}])[0]
            raise Unavailable(
                f"ecr:BatchGetImage: {failure.get('failureCode', 'no image')}"
                f" ({str(failure.get('failureReason', ''))[:120]})"
            )
        try:
            manifest = json.loads(images[0]["imageManifest"])
        except (KeyError, ValueError):
            raise Unavailable("ecr:BatchGetImage gave no readable manifest") from None
        if isinstance(manifest.get("manifests"), list):  # an index / manifest list
            platforms = [_platform(m.get("platform") or {}) for m in manifest["manifests"]]
            found = tuple(p for p in platforms if p and p != "unknown/unknown")  # attestations
            if not found:
                raise Unavailable("the image index names no platform")
            return found
        config = (manifest.get("config") or {}).get("digest")
        if not config:
            raise Unavailable("the manifest has no config blob")
        url = _call("ecr:GetDownloadUrlForLayer", ecr.get_download_url_for_layer, **where, layerDigest=config)
        timeout = end - self._clock()
        if timeout <= 0:
            raise Unavailable("out of time before the config blob")
        try:
            blob = json.loads(self._fetch(str(url.get("downloadUrl")), timeout))
        except (OSError, ValueError) as exc:
            raise Unavailable(f"the config blob could not be read ({type(exc).__name__})") from None
        found_one = _platform(blob) if isinstance(blob, dict) else None
        if not found_one:
            raise Unavailable("the config blob names no architecture")
        return (found_one,)

    def _client(self, service: str, region: str | None) -> Any:
        key = (service, region)
        client = self._clients.get(key)
        if client is None:
            client = self._clients[key] = self._client_factory(service, region)
        return client


class _Skip(Exception):
    """Not read, by design (another log driver, a container that never ran)."""


class _NotFound(Exception):
    """The log stream does not exist (yet)."""


def _call(action: str, method: Callable[..., dict[str, Any]], **params: Any) -> dict[str, Any]:
    """One AWS call; its failure becomes ``Unavailable`` saying which action and which error code."""
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415 - only when enriching

    try:
        return method(**params)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", "error"))
        if code == "ResourceNotFoundException" and action == "logs:GetLogEvents":
            raise _NotFound from None
        raise Unavailable(f"{action}: {code}") from None
    except BotoCoreError as exc:
        raise Unavailable(f"{action}: {type(exc).__name__}") from None


def wanted(record: StopRecord, kinds: frozenset[str]) -> tuple[bool, bool]:
    """Whether ``record`` needs its log read, and its image's manifest: only where the event
    leaves the cause open, and the manifest also to prove an image-platform-mismatch."""
    logs = "logs" in kinds and record.category in ENRICHABLE
    image = "image" in kinds and (record.category in ENRICHABLE or record.category == IMAGE_PROOF)
    return logs, image


def culprit_of(record: StopRecord) -> Container | None:
    """The container to read: the record's culprit, else the first non-zero exit, else the first."""
    by_name = {c.name: c for c in record.containers}
    if record.culprit_container in by_name:
        return by_name[record.culprit_container]
    return next((c for c in record.containers if c.exit_code not in (None, 0)), None) or next(
        iter(record.containers), None
    )


def _tail(messages: Iterable[str]) -> tuple[str, ...]:
    """The newest lines within ``LOG_BYTES``, oldest first, each cut to ``LINE_CHARS`` and redacted."""
    lines = [redact_text(m.rstrip("\n")[:LINE_CHARS]) for m in messages]
    kept: list[str] = []
    size = 0
    for line in reversed(lines):
        size += len(line.encode()) + 1
        if size > LOG_BYTES:
            break
        kept.append(line)
    return tuple(reversed(kept))


def _platform(spec: dict[str, Any]) -> str | None:
    os_name, arch = spec.get("os"), spec.get("architecture")
    if not isinstance(os_name, str) or not isinstance(arch, str):
        return None
    variant = spec.get("variant")
    return f"{os_name}/{arch}" + (f"/{variant}" if isinstance(variant, str) and variant else "")


def image_evidence(reference: str, platforms: tuple[str, ...], arch: str) -> tuple[str, bool]:
    """What the image's platforms say against the task's CPU architecture, quotable, and whether
    the image has no build for it."""
    platform = f"linux/{_GOARCH.get(arch, arch)}"
    if any(p == platform or p.startswith(platform + "/") for p in platforms):
        return f"image {reference} has a {platform} build, the task's platform ({arch})", False
    return (
        f"image {reference} is built for {', '.join(platforms)} only; the task runs {platform} ({arch})",
        True,
    )


def _region_of(arn: str) -> str | None:
    parts = arn.split(":", 5)
    return parts[3] or None if len(parts) == 6 else None


def _remember(cache: OrderedDict[str, Any], key: str, value: Any) -> None:
    cache[key] = value
    if len(cache) > _CACHED:
        cache.popitem(last=False)


def _why_not(record: StopRecord, kinds: frozenset[str], kind: str) -> str:
    if kind not in kinds:
        return "skipped: off"
    return f"skipped: the event names the cause ({record.category})"
