"""Why did the task stop? Record -> category, severity, hint, culprit. Pure and table-driven.

``RULES`` is the taxonomy of ``docs/ecs-stop-reasons.md`` as data, in its order: the first rule whose
evidence is present wins. A new message family is one more alternative in a rule's pattern.
Evidence is read from every container's ``reason`` first (so the culprit is known), then the task's
``stoppedReason``, then its ``stopCode``; matching is case-insensitive.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from forwarder.model import Classification, Container, Severity, StopRecord

_QUOTE_LIMIT = 240


@dataclass(frozen=True, slots=True)
class Evidence:
    text: str  # the quoted evidence, trimmed
    container: Container | None  # the container whose reason carried it


@dataclass(frozen=True, slots=True)
class Rule:
    category: str
    severity: Severity
    hint: str  # str.format template: {evidence} {arch} {image} {action} {region} {run} {code} ...
    pattern: str | None = None  # regex alternatives over reasons (case-insensitive)
    stop_codes: frozenset[str] = frozenset()
    # For rules decided by exit codes rather than words.
    check: Callable[[StopRecord], Evidence | None] | None = None


def _quote(text: str, match: re.Match[str]) -> str:
    text = " ".join(text.split())
    if len(text) <= _QUOTE_LIMIT:
        return text
    # Centre the window on the match (positions shift a little after whitespace folding; fine).
    start = max(0, min(match.start() - 60, len(text) - _QUOTE_LIMIT))
    window = text[start : start + _QUOTE_LIMIT]
    return ("…" if start else "") + window + ("…" if start + _QUOTE_LIMIT < len(text) else "")


def _exited_nonzero(record: StopRecord) -> Container | None:
    return next((c for c in record.containers if c.exit_code not in (None, 0)), None)


_ESSENTIAL_EXITED = re.compile(r"essential container in task exited", re.IGNORECASE)


def _app_crashed(record: StopRecord) -> Evidence | None:
    essential = record.stop_code == "EssentialContainerExited" or bool(
        record.stopped_reason and _ESSENTIAL_EXITED.search(record.stopped_reason)
    )
    culprit = _exited_nonzero(record)
    if not essential or culprit is None:
        return None
    return Evidence(f"container {culprit.name} exited {culprit.exit_code}", culprit)


def _app_completed(record: StopRecord) -> Evidence | None:
    codes = [c.exit_code for c in record.containers if c.exit_code is not None]
    if codes and all(code == 0 for code in codes):
        return Evidence(f"{len(codes)} container(s) exited 0", None)
    return None


RULES: tuple[Rule, ...] = (
    Rule(
        "image-platform-mismatch",
        "error",
        "The image has no build for this task's CPU architecture ({arch}): build a multi-arch image "
        "(docker buildx --platform linux/amd64,linux/arm64) or set the task definition's "
        'runtimePlatform.cpuArchitecture to the image\'s. Evidence: "{evidence}"',
        pattern=r"does not contain (?:any )?descriptor matching platform|exec format error",
    ),
    Rule(
        "permission-denied",
        "error",
        "Check the IAM role — the task execution role for image pulls, secrets and logs — allows "
        '{action}. Evidence: "{evidence}"',
        pattern=r"access ?denied|not authorized to perform|denied: requested access|forbidden"
        r"|\b401 unauthorized|status(?: code)?:? 40[13]\b",
    ),
    Rule(
        "image-not-found",
        "error",
        "Check that the image {image} (name and tag) exists in the registry and region the task pulls "
        'from. Evidence: "{evidence}"',
        pattern=r"manifest unknown|api error \(404\)|cannotpullcontainer.*not found",
    ),
    Rule(
        "storage-mount-failed",
        "error",
        "Check the EFS file system id, a mount target in the task's subnet/AZ, and that its security "
        'group allows NFS (TCP 2049) from the task. Evidence: "{evidence}"',
        pattern=r"\befs\b|efs[- ]utils|mount target|mount\.nfs",
    ),
    Rule(
        "network-unreachable",
        "error",
        "The task could not reach AWS or the registry: give it a route to ECR/SSM/Secrets Manager — a "
        "public IP in a public subnet, a NAT gateway, or VPC endpoints (ecr.api, ecr.dkr, s3, "
        'secretsmanager, ssm, logs) — and check ENI/IP capacity. Evidence: "{evidence}"',
        pattern=r"i/o timeout|dial tcp|request canceled while waiting for connection|send request failed"
        r"|network interface provisioning|context canceled|no such host",
    ),
    Rule(
        "secret-unavailable",
        "error",
        "Check that the secret or parameter the task definition references exists in {region} under "
        'exactly that name/ARN (and JSON key/version). Evidence: "{evidence}"',
        pattern=r"unable to (?:retrieve|fetch|pull) secrets?|secrets? from (?:asm|ssm)|invalid ?parameters"
        r"|parameternotfound|can'?t find the specified secret",
    ),
    Rule(
        "image-pull-failed",
        "error",
        "The image pull failed: check free disk space on the host, registry rate limits (use an ECR "
        'pull-through cache for Docker Hub) and the registry\'s status. Evidence: "{evidence}"',
        pattern=r"cannotpullcontainer",
    ),
    Rule(
        "container-start-failed",
        "error",
        "The container could not be created or started: check the entrypoint/command, that the log "
        'group exists, and the task size (CPU/memory). Evidence: "{evidence}"',
        pattern=r"cannotstartcontainer|cannotcreatecontainer|cannotinspectcontainer"
        r"|containerruntimetimeout|dockertimeout|resourceinitializationerror",
    ),
    Rule(
        "out-of-memory",
        "error",
        "Container {culprit} ran out of memory: raise the task/container memory or fix the leak. "
        'Evidence: "{evidence}"',
        pattern=r"outofmemory|killed due to memory usage",
    ),
    Rule(
        "health-check-failed",
        "error",
        "Check the health check (path or command), its grace period and the app's startup time. "
        'Evidence: "{evidence}"',
        pattern=r"failed (?:elb|container) health checks",
    ),
    Rule(
        "spot-interrupted",
        "warning",
        "Spot capacity was reclaimed — expected with FARGATE_SPOT; keep an on-demand base in the "
        'capacity provider strategy if that matters. Evidence: "{evidence}"',
        pattern=r"spot task was interrupted",
        stop_codes=frozenset({"SpotInterruption", "TerminationNotice"}),
    ),
    Rule(
        "host-lost",
        "warning",
        'The instance or infrastructure under the task went away. Evidence: "{evidence}"',
        pattern=r"host ec2 \(instance [^)]*\) (?:stopped|terminated)|container instance deregistration",
        stop_codes=frozenset({"InfrastructureHealth"}),
    ),
    Rule(
        "capacity-unavailable",
        "error",
        "No capacity to place the task: check the capacity provider and instance types, and allow "
        'other AZs/subnets. Evidence: "{evidence}"',
        pattern=r"capacity is unavailable|resource:(?:cpu|memory|eni|ports|gpu)|insufficient",
    ),
    Rule(
        "user-stopped",
        "info",
        'Stopped by a user or an API call (startedBy: {started_by}). Evidence: "{evidence}"',
        stop_codes=frozenset({"UserInitiated"}),
    ),
    Rule(
        "scheduler-stopped",
        "info",
        'Normal service lifecycle: a deployment or scale-in replaced the task. Evidence: "{evidence}"',
        pattern=r"scaling activity initiated by",
        stop_codes=frozenset({"ServiceSchedulerInitiated"}),
    ),
    Rule(
        "app-crashed",
        "error",
        "Container {culprit} exited {code}{meaning}: read its logs.{quick}",
        check=_app_crashed,
    ),
    Rule(
        "app-completed",
        "info",
        "Finished normally ({evidence}): a batch or scheduled task completing.",
        check=_app_completed,
    ),
)

UNKNOWN = Rule("unknown", "warning", 'No known stop reason matched; the raw stoppedReason: "{evidence}"')
CATEGORIES: tuple[str, ...] = (*(rule.category for rule in RULES), UNKNOWN.category)
SEVERITY_OF: dict[str, Severity] = {rule.category: rule.severity for rule in (*RULES, UNKNOWN)}

_COMPILED: tuple[tuple[Rule, re.Pattern[str] | None], ...] = tuple(
    (rule, re.compile(rule.pattern, re.IGNORECASE) if rule.pattern else None) for rule in RULES
)

_EXIT_MEANING = {
    1: "application error",
    2: "misuse of shell builtin or bad arguments",
    126: "command not executable",
    127: "command not found",
    134: "SIGABRT",
    137: "SIGKILL — out of memory or did not stop in time",
    139: "SIGSEGV — segmentation fault",
    143: "SIGTERM",
}
_QUICK_EXIT_SECONDS = 10.0


def _find(rule: Rule, pattern: re.Pattern[str] | None, record: StopRecord) -> Evidence | None:
    if rule.check is not None:
        return rule.check(record)
    if pattern is not None:
        for container in record.containers:
            if container.reason and (match := pattern.search(container.reason)):
                return Evidence(_quote(container.reason, match), container)
        if record.stopped_reason and (match := pattern.search(record.stopped_reason)):
            return Evidence(_quote(record.stopped_reason, match), None)
    if record.stop_code in rule.stop_codes:
        reason = f"stopCode {record.stop_code}"
        if record.stopped_reason:
            reason += ": " + " ".join(record.stopped_reason.split())[:_QUOTE_LIMIT]
        return Evidence(reason, None)
    return None


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h{minutes}m"
    return f"{minutes}m{secs}s"


def _hint(rule: Rule, record: StopRecord, evidence: Evidence, culprit: Container | None) -> str:
    action = re.search(r"not authorized to perform:? ([\w:*-]+)", evidence.text)
    image = culprit.image if culprit and culprit.image else None
    if image is None:
        image = next((c.image for c in record.containers if c.image), None)
    code = culprit.exit_code if culprit else None
    quick = ""
    if record.run_seconds is not None and record.run_seconds < _QUICK_EXIT_SECONDS:
        quick = (
            f" It exited {_duration(record.run_seconds)} after start: check the image's CPU architecture "
            f"against the task's ({record.cpu_architecture or 'unknown'}) and the entrypoint/command."
        )
    return rule.hint.format(
        evidence=evidence.text,
        arch=record.cpu_architecture or "unknown",
        action=action.group(1) if action else "the action named in the error",
        image=image or "(unknown)",
        region=record.region or "this region",
        started_by=record.started_by or "unknown",
        culprit=culprit.name if culprit else "(unknown)",
        code=code,
        meaning=f" ({_EXIT_MEANING[code]})" if code in _EXIT_MEANING else "",
        quick=quick,
    )


def classify(record: StopRecord) -> Classification:
    """The first rule whose evidence is present decides; ``unknown`` when none matches."""
    for rule, pattern in _COMPILED:
        evidence = _find(rule, pattern, record)
        if evidence is not None:
            break
    else:
        rule = UNKNOWN
        evidence = Evidence(" ".join((record.stopped_reason or "(none)").split())[:_QUOTE_LIMIT], None)
    culprit = evidence.container or _exited_nonzero(record)
    return Classification(
        category=rule.category,
        severity=rule.severity,
        hint=_hint(rule, record, evidence, culprit),
        culprit_container=culprit.name if culprit else None,
        exit_code=culprit.exit_code if culprit else None,
        evidence=evidence.text,
    )


def summarize(record: StopRecord, verdict: Classification) -> str:
    """One human line, e.g. ``prod/web task 3f2a1b9c… stopped: app-crashed in container app (exit 1)``."""
    where = "/".join(part for part in (record.cluster, record.group_name) if part) or "ECS"
    task = f"task {record.task_id[:8]}…" if record.task_id else "task"
    text = f"{where} {task} stopped: {verdict.category}"
    if verdict.culprit_container:
        text += f" in container {verdict.culprit_container}"
    if verdict.exit_code is not None:
        text += f" (exit {verdict.exit_code})"
    if record.run_seconds is not None:
        text += f" after {_duration(record.run_seconds)}"
    elif record.started_at is None:
        text += " before it started"
    return text
