"""Why did the task stop? Record -> category, severity, hint, culprit. Pure and table-driven.

``RULES`` is the taxonomy of ``docs/stop-reasons.md`` as data, in its order: the first rule whose
evidence is present wins. A new message family is one more substring in a rule's ``evidence``.
Evidence is read from every container's ``reason`` first (so the culprit is known), then the task's
``stoppedReason``, then its ``stopCode``; matching is case-insensitive.

What enrichment read beyond the event (``Findings``: the culprit's log lines, its image's
platforms, the task definition's essential containers) is more evidence for the same rules, passed
in as data: a rule's ``logs`` substrings are looked for in the log lines (newest first), and an
image without a build for the task's platform is evidence for image-platform-mismatch. The first
rule with evidence from any source still wins.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from forwarder.model import Classification, Container, Evidence, Facts, Findings, Severity, StopFacts

_QUOTE_LIMIT = 240

Terms = tuple[str | tuple[str, ...], ...]


class Match(NamedTuple):
    text: str  # the quoted evidence, trimmed
    container: Container | None  # the container whose reason carried it


@dataclass(frozen=True, slots=True)
class Rule:
    category: str
    severity: Severity
    hint: str  # str.format template: {evidence} {arch} {image} {action} {region} {run} {code} ...
    # Message families: a lower-case substring, or a tuple of substrings that must all occur in the
    # same reason (the first is quoted). Matched against lower-cased reasons.
    evidence: Terms = ()
    stop_codes: frozenset[str] = frozenset()
    # For rules decided by exit codes rather than words (and the task definition's essential flags).
    check: Callable[[StopFacts, Findings | None], Match | None] | None = None
    # Message families in the container's own log (enrichment), matched like ``evidence``.
    logs: Terms = ()
    # Words that, in the same reason, leave only the ``strong`` families as this rule's evidence
    # (the others then belong to a later rule).
    unless: tuple[str, ...] = ()
    strong: Terms = ()


def _quote(text: str, at: int) -> str:
    text = " ".join(text.split())
    if len(text) <= _QUOTE_LIMIT:
        return text
    # Start a little before the evidence (positions shift a bit after whitespace folding; fine).
    start = max(0, min(at - 60, len(text) - _QUOTE_LIMIT))
    window = text[start : start + _QUOTE_LIMIT]
    return ("…" if start else "") + window + ("…" if start + _QUOTE_LIMIT < len(text) else "")


def _exited_nonzero(record: StopFacts) -> Container | None:
    return next((c for c in record.containers if c.exit_code not in (None, 0)), None)


#: Images of well-known sidecars (log routers, agents, proxies). When an essential container exits,
#: ECS stops the rest of the task: such a sidecar killed then (137 SIGKILL, 143 SIGTERM) says
#: nothing about why the task stopped.
_SIDECAR_IMAGES = (
    "aws-for-fluent-bit", "fluent-bit", "fluentd", "datadog/agent", "datadog-agent", "aws-appmesh-envoy",
    "envoyproxy/envoy", "aws-xray-daemon", "aws-otel-collector", "cloudwatch-agent",
)  # fmt: skip


def _killed_sidecar(container: Container) -> bool:
    image = (container.image or "").lower()
    return container.exit_code in (137, 143) and any(name in image for name in _SIDECAR_IMAGES)


def _deciding(record: StopFacts, findings: Findings | None) -> tuple[Container, ...]:
    """The containers whose exit decides crashed or completed: the essential ones when the task
    definition was read; else every container but well-known sidecars killed by the task's stop."""
    if findings is not None and findings.essential:
        return tuple(c for c in record.containers if c.name in findings.essential) or record.containers
    others = tuple(c for c in record.containers if not _killed_sidecar(c))
    return others if any(c.exit_code is not None for c in others) else record.containers


_ESSENTIAL_EXITED = "essential container in task exited"


def _app_crashed(record: StopFacts, findings: Findings | None) -> Match | None:
    essential = record.stop_code == "EssentialContainerExited" or bool(
        record.stopped_reason and _ESSENTIAL_EXITED in record.stopped_reason.lower()
    )
    culprit = next((c for c in _deciding(record, findings) if c.exit_code not in (None, 0)), None)
    if not essential or culprit is None:
        return None
    return Match(f"container {culprit.name} exited {culprit.exit_code}", culprit)


def _app_completed(record: StopFacts, findings: Findings | None) -> Match | None:
    codes = [c.exit_code for c in _deciding(record, findings) if c.exit_code is not None]
    if codes and all(code == 0 for code in codes):
        which = "essential " if findings is not None and findings.essential else ""
        return Match(f"{len(codes)} {which}container(s) exited 0", None)
    return None


# fmt: off
RULES: tuple[Rule, ...] = (
    Rule(
        "image-platform-mismatch",
        "error",
        "The image has no build for this task's CPU architecture ({arch}): build a multi-arch image "
        "(docker buildx --platform linux/amd64,linux/arm64) or set the task definition's "
        'runtimePlatform.cpuArchitecture to the image\'s. Evidence: "{evidence}"',
        evidence=("descriptor matching platform", "exec format error"),
        logs=("exec format error", "exec user process caused", "cannot execute binary file"),
    ),
    Rule(
        "permission-denied",
        "error",
        "Check the IAM role — the task execution role for image pulls, secrets and logs — allows "
        '{action}. Evidence: "{evidence}"',
        # Docker Hub answers "pull access denied … repository does not exist" alike for a private
        # repository and one that does not exist; in the real threads it was the image every time.
        unless=("repository does not exist",),
        strong=("accessdenied", "not authorized to perform"),
        evidence=(
            "accessdenied", "not authorized to perform", "pull access denied", "denied: requested access",
            "forbidden", "401 unauthorized", "status code: 401", "status code: 403",
        ),
        # AWS error codes an SDK logs when the task role lacks a grant (not "permission denied":
        # that is the file system, nor "access denied for user": that is a database's own login).
        logs=(
            "accessdenied", "not authorized to perform", "unauthorizedoperation",
            "unrecognizedclientexception", "invalidclienttokenid",
            "security token included in the request is invalid",
        ),
    ),
    Rule(
        "image-not-found",
        "error",
        "Check that the image {image} (name and tag) exists in the registry and region the task pulls "
        "from (a registry answers the same for a private repository it hides: then give the task "
        'repositoryCredentials). Evidence: "{evidence}"',
        # "API error (404)" only from a pull: from CannotStartContainerError it is a missing executable.
        evidence=(
            "manifest unknown", ("cannotpullcontainer", "api error (404)"),
            ("cannotpullcontainer", "not found"), "repository does not exist",
        ),
    ),
    Rule(
        "storage-mount-failed",
        "error",
        "Check the EFS file system id, a mount target in the task's subnet/AZ, and that its security "
        'group allows NFS (TCP 2049) from the task. Evidence: "{evidence}"',
        evidence=(
            "efs utils", "efs-utils", "efs volume", "efs file system", ".efs.", "mount target", "mount.nfs",
        ),
    ),
    Rule(
        "network-unreachable",
        "error",
        "The task could not reach AWS or the registry: give it a route to ECR/SSM/Secrets Manager — a "
        "public IP in a public subnet, a NAT gateway, or VPC endpoints (ecr.api, ecr.dkr, s3, "
        'secretsmanager, ssm, logs) — and check ENI/IP capacity. Evidence: "{evidence}"',
        evidence=(
            "i/o timeout", "dial tcp", "request canceled while waiting for connection", "send request failed",
            "network interface provisioning", "context canceled", "no such host",
        ),
        logs=(
            "could not connect to the endpoint url", "connect timeout on endpoint url", "i/o timeout",
            "no such host", "network is unreachable", "temporary failure in name resolution",
        ),
    ),
    Rule(
        "secret-unavailable",
        "error",
        "Check that the secret or parameter the task definition references exists in {region} under "
        'exactly that name/ARN (and JSON key/version). Evidence: "{evidence}"',
        evidence=(
            "unable to retrieve secret", "unable to fetch secret", "secrets from asm", "secret from asm",
            "secrets from ssm", "secret from ssm", "invalid parameters", "invalid ssm parameters",
            "parameternotfound", "can't find the specified secret", "cant find the specified secret",
        ),
        logs=("parameternotfound", "can't find the specified secret"),
    ),
    Rule(
        "image-pull-failed",
        "error",
        "The image pull failed: check free disk space on the host, registry rate limits (use an ECR "
        'pull-through cache for Docker Hub) and the registry\'s status. Evidence: "{evidence}"',
        evidence=("cannotpullcontainer", "cannotpullecrcontainer"),
    ),
    Rule(
        "container-start-failed",
        "error",
        "The container could not be created or started: check the entrypoint/command, that the log "
        'group exists, and the task size (CPU/memory). Evidence: "{evidence}"',
        evidence=(
            "cannotstartcontainer", "cannotcreatecontainer", "cannotinspectcontainer",
            "containerruntimetimeout", "dockertimeout", "resourceinitializationerror", "dockerstateerror",
            "failed to create container model", "could not transition to",
        ),
        # The runtime could not run the entrypoint: a missing file, interpreter or executable bit.
        logs=(
            "executable file not found in $path", ("exec ", "no such file or directory"),
            ("exec ", "permission denied"),
        ),
    ),
    Rule(
        "out-of-memory",
        "error",
        "Container {culprit} ran out of memory: raise the task/container memory or fix the leak. "
        'Evidence: "{evidence}"',
        evidence=("outofmemory", "killed due to memory usage"),
        logs=(
            "outofmemoryerror", "out of memory", "cannot allocate memory", "memoryerror", "oomkilled",
        ),
    ),
    Rule(
        "health-check-failed",
        "error",
        "Check the health check (path or command), its grace period and the app's startup time. "
        'Evidence: "{evidence}"',
        evidence=("failed elb health checks", "failed container health checks"),
    ),
    Rule(
        "spot-interrupted",
        "warning",
        "Spot capacity was reclaimed — expected with FARGATE_SPOT; keep an on-demand base in the "
        'capacity provider strategy if that matters. Evidence: "{evidence}"',
        evidence=("spot task was interrupted",),
        stop_codes=frozenset({"SpotInterruption", "TerminationNotice"}),
    ),
    Rule(
        "host-lost",
        "warning",
        'The instance or infrastructure under the task went away. Evidence: "{evidence}"',
        evidence=(
            ("host ec2 (instance", ") stopped"), ("host ec2 (instance", ") terminated"),
            "container instance deregistration",
        ),
        stop_codes=frozenset({"InfrastructureHealth"}),
    ),
    Rule(
        "capacity-unavailable",
        "error",
        "No capacity to place the task: check the capacity provider and instance types, and allow "
        'other AZs/subnets. Evidence: "{evidence}"',
        evidence=(
            "capacity is unavailable", "resource:cpu", "resource:memory", "resource:eni", "resource:ports",
            "resource:gpu", "insufficient",
        ),
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
        evidence=("scaling activity initiated by",),
        stop_codes=frozenset({"ServiceSchedulerInitiated"}),
    ),
    Rule(
        "app-crashed",
        "error",
        "Container {culprit} exited {code}{meaning}: {logs}.{quick}",
        check=_app_crashed,
    ),
    Rule(
        "app-completed",
        "info",
        "Finished normally ({evidence}): a batch or scheduled task completing.",
        check=_app_completed,
    ),
)

# fmt: on

UNKNOWN = Rule("unknown", "warning", 'No known stop reason matched; the raw stoppedReason: "{evidence}"')
CATEGORIES: tuple[str, ...] = (*(rule.category for rule in RULES), UNKNOWN.category)
SEVERITY_OF: dict[str, Severity] = {rule.category: rule.severity for rule in (*RULES, UNKNOWN)}

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
#: A crash this soon after start is how a binary the CPU cannot run looks when no pull error names
#: it: the seed incident's task ran 10.5 s (start-up, the exec failing, the stop) before it stopped.
_QUICK_EXIT_SECONDS = 30.0
_DENIED_ACTION = re.compile(r"not authorized to perform:? ([\w:*-]+)")


def _position(lowered: str, terms: Terms) -> int:
    """Where the first matching term starts in ``lowered``, or -1."""
    for term in terms:
        if isinstance(term, str):
            if term in lowered:
                return lowered.index(term)
        elif all(part in lowered for part in term):
            return lowered.index(term[0])
    return -1


#: The evidence search is cached on the reasons: at most ``_CACHED`` entries of at most
#: ``_CACHED_TEXT`` characters of reasons (under ~2 MB), emptied when full.
_CACHED = 512
_CACHED_TEXT = 2048
_TEXT_RULES: dict[tuple[str, ...], tuple[int, int, str] | None] = {}
_NOT_CACHED = (-1, -1, "")


def _earliest_text_rule(record: StopFacts) -> tuple[int, Match] | None:
    """The lowest-numbered rule whose evidence occurs in any reason, and that evidence.

    Reasons are read containers' first (they name a culprit), then the task's. A rule's evidence
    in a container reason wins over the same rule's evidence in the task's reason, so the culprit
    is named. The search depends on the reasons alone, and a failing task repeats the same reasons
    every time it is restarted: it is cached on them.
    """
    carriers = [c for c in record.containers if c.reason]
    reasons = tuple([c.reason for c in carriers if c.reason])
    if record.stopped_reason:
        reasons += (record.stopped_reason,)
    hit = _TEXT_RULES.get(reasons, _NOT_CACHED)
    if hit is _NOT_CACHED:
        hit = _text_rule(reasons)
        if sum(len(reason) for reason in reasons) <= _CACHED_TEXT:
            if len(_TEXT_RULES) >= _CACHED:
                _TEXT_RULES.clear()
            _TEXT_RULES[reasons] = hit
    if hit is None:
        return None
    index, which, quote = hit
    return index, Match(quote, carriers[which] if which < len(carriers) else None)


def _text_rule(reasons: tuple[str, ...]) -> tuple[int, int, str] | None:
    """(rule index, index of the reason that carries it, the quoted evidence), or None.

    Plain substring tests, cheaper than regular expressions, and the families are fixed strings
    anyway. Each reason is lowered once.
    """
    texts = [(which, reason.lower(), reason) for which, reason in enumerate(reasons)]
    for index, rule in enumerate(RULES):
        if not rule.evidence:
            continue
        for which, low, original in texts:
            terms = rule.evidence
            if rule.unless and any(word in low for word in rule.unless):
                terms = rule.strong
            at = _position(low, terms)
            if at >= 0:
                # Lowering changes the length of a few non-ASCII strings: then quote the lowered text.
                source = original if len(original) == len(low) else low
                return index, which, _quote(source, at)
    return None


def _stop_code_evidence(record: StopFacts) -> Match:
    reason = f"stopCode {record.stop_code}"
    if record.stopped_reason:
        reason += ": " + " ".join(record.stopped_reason.split())[:_QUOTE_LIMIT]
    return Match(reason, None)


def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h{minutes}m"
    return f"{minutes}m{secs}s"


_ERROR_LOOKING = re.compile(
    r"error|exception|fatal|panic|traceback|failed|failure|cannot|can't|denied|refused|not found|killed",
    re.IGNORECASE,
)


def last_error_line(lines: tuple[str, ...]) -> str | None:
    """The newest log line that looks like an error, else the newest non-blank one."""
    for line in reversed(lines):
        if line.strip() and _ERROR_LOOKING.search(line):
            return line
    return next((line for line in reversed(lines) if line.strip()), None)


def _hint(
    rule: Rule, record: StopFacts, evidence: Match, culprit: Container | None, findings: Findings | None
) -> str:
    action = _DENIED_ACTION.search(evidence.text)
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
    logs = "read its logs"
    last = last_error_line(findings.log_lines) if findings is not None else None
    if last is not None:
        logs = f'last log line: "{_quote(last, 0)}"'
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
        logs=logs,
    )


def _event_rule(record: StopFacts, findings: Findings | None) -> tuple[int, Match | None]:
    """The first rule the event itself decides (its index; ``len(RULES)`` for unknown) and the
    evidence, None for unknown."""
    text_hit = _earliest_text_rule(record)
    last = text_hit[0] if text_hit else len(RULES)
    for index in range(last):  # rules before the text hit can still win by stop code or exit codes
        candidate = RULES[index]
        if candidate.check is not None:
            evidence = candidate.check(record, findings)
        elif record.stop_code in candidate.stop_codes:
            evidence = _stop_code_evidence(record)
        else:
            continue
        if evidence is not None:
            return index, evidence
    if text_hit is not None:
        return text_hit
    return len(RULES), None


def _in_logs(rule: Rule, lines: tuple[str, ...]) -> str | None:
    """The newest log line holding one of the rule's log families, quoted."""
    if not rule.logs:
        return None
    for line in reversed(lines):
        at = _position(line.lower(), rule.logs)
        if at >= 0:
            return _quote(line, at)
    return None


def _finding_rule(findings: Findings, before: int) -> tuple[int, Evidence] | None:
    """The first rule ahead of ``before`` with evidence in the findings: the image, then the logs."""
    for index in range(before):
        rule = RULES[index]
        if rule.category == "image-platform-mismatch" and findings.image_mismatch and findings.image:
            return index, Evidence("image", findings.image)
        quote = _in_logs(rule, findings.log_lines)
        if quote is not None:
            return index, Evidence("logs", quote)
    return None


def _supporting(rule: Rule, decided: Evidence, event: Match | None, findings: Findings) -> list[Evidence]:
    """Evidence after the deciding one: the event's own, the image's platforms, the same
    rule's family in the logs, else the last error-looking log line."""
    more: list[Evidence] = []
    if decided.source != "event" and event is not None:
        more.append(Evidence("event", event.text))
    if findings.image and decided.text != findings.image:
        more.append(Evidence("image", findings.image))
    quote = _in_logs(rule, findings.log_lines)
    if quote is None:
        last = last_error_line(findings.log_lines)
        quote = _quote(last, 0) if last is not None else None
    if quote is not None and decided.text != quote:
        more.append(Evidence("logs", quote))
    return more


#: The verdict on an event alone (what parsing asks for every input) is cached on the facts it is
#: decided by: a failing task repeats the same stop each time it is restarted (a crash loop, a
#: scheduled task), and replay reads thousands of those. A quick exit is not cached: its hint
#: names its own duration, which the next one does not repeat to the millisecond. At most
#: ``_CACHED_VERDICTS`` entries of at most ``_CACHED_TEXT`` characters of reasons, emptied when full.
_CACHED_VERDICTS = 2048
_VERDICTS: dict[Facts, Classification] = {}


def decided_by(facts: Facts) -> Facts:
    """``facts`` without what does not decide a verdict: which task it was (cluster, group, task
    id, start time), and how long it ran unless that was a quick exit (the hint names its
    duration). ``classify`` of the two is the same; a test holds it to that."""
    quick = facts.run_seconds
    if quick is not None and quick >= _QUICK_EXIT_SECONDS:
        quick = None
    _, _, _, region, started_by, cpu_architecture, stop_code, stopped_reason, _, _, containers = facts
    return Facts(
        None, None, None, region, started_by, cpu_architecture, stop_code, stopped_reason, None, quick,
        containers,
    )  # fmt: skip


def classify_event(facts: Facts) -> Classification:
    """``classify`` of an event alone (no findings), cached on ``decided_by(facts)``: computed
    from that key itself, so the cache can only answer what ``classify(key)`` would."""
    key = decided_by(facts)
    verdict = _VERDICTS.get(key)
    if verdict is None:
        verdict = classify(key)
        reasons = sum(len(c.reason or "") for c in facts.containers) + len(facts.stopped_reason or "")
        if reasons <= _CACHED_TEXT and key.run_seconds is None:
            if len(_VERDICTS) >= _CACHED_VERDICTS:
                _VERDICTS.clear()
            _VERDICTS[key] = verdict
    return verdict


def classify(record: StopFacts, findings: Findings | None = None) -> Classification:
    """The first rule whose evidence is present decides; ``unknown`` when none matches. With
    ``findings``, their evidence counts for the rules ahead of the event's own."""
    index, match = _event_rule(record, findings)
    decided = Evidence("event", " ".join((record.stopped_reason or "(none)").split())[:_QUOTE_LIMIT])
    if match is not None:
        decided = Evidence("event", match.text)
    culprit = match.container if match is not None else None
    if findings is not None and (found := _finding_rule(findings, index)) is not None:
        index, decided = found
        culprit = next((c for c in record.containers if c.name == findings.container), None)
    rule = RULES[index] if index < len(RULES) else UNKNOWN
    culprit = culprit or _exited_nonzero(record)
    evidence = (decided, *_supporting(rule, decided, match, findings)) if findings else (decided,)
    return Classification(
        category=rule.category,
        severity=rule.severity,
        hint=_hint(rule, record, Match(decided.text, culprit), culprit, findings),
        culprit_container=culprit.name if culprit else None,
        exit_code=culprit.exit_code if culprit else None,
        evidence=decided.text,
        found=evidence,
    )


def summarize(record: StopFacts, verdict: Classification) -> str:
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
