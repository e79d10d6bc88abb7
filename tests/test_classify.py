"""The taxonomy's order of precedence and its evidence families, on hand-built events."""

from __future__ import annotations

import json

import pytest

from forwarder.classify import CATEGORIES, RULES, SEVERITY_OF, classify
from forwarder.errors import InvalidEvent
from forwarder.parse import parse_event
from tests.events import container, make_event


def test_categories_are_the_contract_in_order() -> None:
    assert CATEGORIES == (
        "image-platform-mismatch", "permission-denied", "image-not-found", "storage-mount-failed",
        "network-unreachable", "secret-unavailable", "image-pull-failed", "container-start-failed",
        "out-of-memory", "health-check-failed", "spot-interrupted", "host-lost", "capacity-unavailable",
        "user-stopped", "scheduler-stopped", "app-crashed", "app-completed", "unknown",
    )  # fmt: skip
    assert len(RULES) == 17
    assert {SEVERITY_OF[c] for c in ("spot-interrupted", "host-lost", "unknown")} == {"warning"}
    assert {SEVERITY_OF[c] for c in ("user-stopped", "scheduler-stopped", "app-completed")} == {"info"}


def test_user_initiated_with_exit_137_is_user_stopped() -> None:
    record = parse_event(
        make_event(
            stop_code="UserInitiated",
            reason="Task stopped by user",
            containers=[container("app", 137)],
        )
    )
    assert record.category == "user-stopped"
    assert record.severity == "info"
    assert (record.culprit_container, record.exit_code) == ("app", 137)


def test_health_check_failure_by_scheduler_is_health_check_failed() -> None:
    record = parse_event(
        make_event(
            stop_code="ServiceSchedulerInitiated",
            reason="Task failed ELB health checks in (target-group arn:aws:elasticloadbalancing:eu-west-1:"
            "111122223333:targetgroup/web/0123456789abcdef)",
        )
    )
    assert record.category == "health-check-failed"


def test_ecr_auth_timeout_is_network_not_secret() -> None:
    reason = (
        "ResourceInitializationError: unable to pull secrets or registry auth: execution resource "
        "retrieval failed: unable to retrieve ecr registry auth: service call has been retried 3 "
        'time(s): RequestError: send request failed caused by: Post "https://api.ecr.eu-west-1.'
        'amazonaws.com/": dial tcp 10.0.0.1:443: i/o timeout'
    )
    record = parse_event(make_event(stop_code="TaskFailedToStart", reason=reason))
    assert record.category == "network-unreachable"
    assert "i/o timeout" in record.hint


@pytest.mark.parametrize(
    ("reason", "category"),
    [
        ("CannotPullContainerError: image Manifest does not contain descriptor matching platform "
         "'linux/amd64'", "image-platform-mismatch"),
        ("CannotStartContainerError: exec format error", "image-platform-mismatch"),
        ("ResourceInitializationError: unable to pull secrets or registry auth: AccessDeniedException: "
         "User is not authorized to perform: secretsmanager:GetSecretValue", "permission-denied"),
        # Docker Hub's answer for a repository that does not exist (or hides): the real threads
        # settled it as a missing image every time (fixtures/real/); with IAM's own words it is IAM.
        ("CannotPullContainerError: pull access denied for foo, repository does not exist",
         "image-not-found"),
        ("CannotPullContainerError: pull access denied for 1.dkr.ecr.us-east-1.amazonaws.com/foo, repository "
         "does not exist or may require 'docker login': denied: User: x is not authorized to perform: "
         "ecr:BatchGetImage", "permission-denied"),
        ("CannotStartContainerError: API error (404): oci runtime error: exec: \"run\": executable file not "
         "found in $PATH", "container-start-failed"),
        ("DockerStateError: Container command '/app/build.sh' not found or does not exist.",
         "container-start-failed"),
        ("CannotPullECRContainerError: operation error ECR: GetAuthorizationToken, exceeded maximum number "
         "of attempts, 3", "image-pull-failed"),
        ("Could not transition to inspecting; timed out after waiting 10s", "container-start-failed"),
        ("CannotPullContainerError: failed to resolve ref docker.io/library/nginx:nope: not found",
         "image-not-found"),
        ("CannotPullContainerError: API error (404): manifest unknown", "image-not-found"),
        ("ResourceInitializationError: failed to invoke EFS utils commands to set up EFS volumes",
         "storage-mount-failed"),
        ("ResourceInitializationError: unable to pull secrets or registry auth: ... context canceled",
         "network-unreachable"),
        ("ResourceInitializationError: unable to pull secrets or registry auth: execution resource "
         "retrieval failed: unable to retrieve secrets from ssm: ParameterNotFound", "secret-unavailable"),
        ("ResourceInitializationError: unable to pull secrets or registry auth: ... ResourceNotFoundException: "
         "Secrets Manager can't find the specified secret.", "secret-unavailable"),
        ("CannotPullContainerError: write /var/lib/docker/tmp/x: no space left on device",
         "image-pull-failed"),
        ("CannotPullContainerError: toomanyrequests: You have reached your pull rate limit",
         "image-pull-failed"),
        ("ResourceInitializationError: failed to validate logger args: The specified log group does "
         "not exist.", "container-start-failed"),
        ("Your Spot Task was interrupted.", "spot-interrupted"),
        ("Host EC2 (instance i-0123456789abcdef0) terminated.", "host-lost"),
        ("Capacity is unavailable at this time. Please try again later or in a different "
         "availability zone", "capacity-unavailable"),
        ("Scaling activity initiated by (deployment ecs-svc/1234567890)", "scheduler-stopped"),
        ("Something entirely new happened", "unknown"),
    ],
)  # fmt: skip
def test_message_families(reason: str, category: str) -> None:
    assert parse_event(make_event(reason=reason)).category == category


def test_evidence_in_a_container_reason_names_the_culprit() -> None:
    record = parse_event(
        make_event(
            stop_code="EssentialContainerExited",
            reason="Essential container in task exited",
            containers=[
                container("log-router", 0),
                container("app", 137, "OutOfMemoryError: Container killed due to memory usage"),
            ],
        )
    )
    assert record.category == "out-of-memory"
    assert (record.culprit_container, record.exit_code) == ("app", 137)
    assert "app" in record.hint and "memory" in record.hint


def test_matching_is_case_insensitive() -> None:
    record = parse_event(make_event(reason="cannotpullcontainererror: EXEC FORMAT ERROR"))
    assert record.category == "image-platform-mismatch"


def test_app_crashed_quick_exit_mentions_architecture() -> None:
    record = parse_event(
        make_event(
            stop_code="EssentialContainerExited",
            reason="Essential container in task exited",
            containers=[container("sidecar", 0), container("app", 1)],
            startedAt="2026-11-28T10:04:58.800Z",
            stoppedAt="2026-11-28T10:05:00.000Z",
        )
    )
    assert record.category == "app-crashed"
    assert record.culprit_container == "app"
    assert record.run_seconds == 1.2
    assert "exited 1.2 s after start" in record.hint
    assert "architecture" in record.hint and "entrypoint" in record.hint


def test_app_crashed_after_a_long_run_does_not_blame_architecture() -> None:
    record = parse_event(
        make_event(
            stop_code="EssentialContainerExited",
            containers=[container("app", 139)],
            startedAt="2026-11-28T09:05:00.000Z",
        )
    )
    assert record.category == "app-crashed"
    assert "SIGSEGV" in record.hint
    assert "architecture" not in record.hint
    assert record.message.endswith("after 1h0m")


def test_app_completed_needs_every_exit_zero() -> None:
    done = parse_event(make_event(containers=[container("a", 0), container("b", 0), container("c")]))
    assert done.category == "app-completed"
    assert done.culprit_container is None
    no_exits = parse_event(make_event(containers=[container("a")]))
    assert no_exits.category == "unknown"


def test_hint_quotes_long_evidence_trimmed() -> None:
    reason = "x" * 500 + " exec format error " + "y" * 500
    record = parse_event(make_event(reason=reason))
    evidence = classify(record).evidence
    assert evidence is not None
    assert "exec format error" in evidence
    assert len(evidence) <= 242  # 240 characters plus the two ellipses
    assert evidence.startswith("…") and evidence.endswith("…")
    assert f'Evidence: "{evidence}"' in record.hint


def test_permission_hint_names_the_action() -> None:
    record = parse_event(
        make_event(reason="AccessDeniedException: User: arn:aws:sts::1:assumed-role/exec is not authorized "
                   "to perform: ssm:GetParameters on resource: arn:aws:ssm:eu-west-1:1:parameter/db")
    )  # fmt: skip
    assert record.category == "permission-denied"
    assert "ssm:GetParameters" in record.hint


def test_the_same_reasons_name_each_tasks_own_culprit() -> None:
    """The evidence search is cached on the reason texts: a second task with the same reasons but
    other containers must still get its own culprit, image and exit code, not the first task's."""
    pull = "CannotPullContainerError: pull image manifest has been retried 5 time(s): manifest unknown"

    def stopped(names: list[str], culprit: str) -> dict[str, object]:
        boxes = [container(n, 1, pull if n == culprit else None) for n in names]
        return make_event(stop_code="TaskFailedToStart", reason="Task failed to start", containers=boxes)

    first = parse_event(stopped(["web", "sidecar"], "sidecar"))
    second = parse_event(stopped(["api", "proxy", "agent"], "agent"))
    assert (first.category, second.category) == ("image-not-found", "image-not-found")
    assert (first.culprit_container, second.culprit_container) == ("sidecar", "agent")
    assert "example/sidecar:1" in first.hint and "example/agent:1" in second.hint
    # the same reason on the task instead of a container: no culprit from the cache either
    third = parse_event(make_event(stop_code="TaskFailedToStart", reason=pull, containers=[container("x", 0)]))
    assert third.category == "image-not-found" and third.culprit_container is None


def test_the_reason_cache_stays_bounded() -> None:
    from forwarder import classify as module

    for index in range(module._CACHED + 50):
        parse_event(make_event(stop_code="TaskFailedToStart", reason=f"CannotPullContainerError: ref {index} not found"))
        assert len(module._TEXT_RULES) <= module._CACHED
    long_reason = "CannotPullContainerError: not found " + "x" * module._CACHED_TEXT
    record = parse_event(make_event(stop_code="TaskFailedToStart", reason=long_reason))
    assert record.category == "image-not-found"
    assert not any(long_reason in reasons for reasons in module._TEXT_RULES)


# -- evidence beyond the event (enrichment's findings, as data) -----------------------------------

from forwarder.model import Findings  # noqa: E402


def _crashed() -> object:
    return make_event(stop_code="EssentialContainerExited", reason="Essential container in task exited",
                      containers=[container("app", 1)])  # fmt: skip


@pytest.mark.parametrize(
    ("line", "category"),
    [
        ("standard_init_linux.go:228: exec user process caused: exec format error", "image-platform-mismatch"),
        ("/bin/sh: /app/run: cannot execute binary file: Exec format error", "image-platform-mismatch"),
        ("botocore.exceptions.ClientError: An error occurred (AccessDenied) when calling the GetObject "
         "operation: Access Denied", "permission-denied"),
        ("User: arn:aws:sts::123456789012:assumed-role/app/x is not authorized to perform: sqs:ReceiveMessage",
         "permission-denied"),
        ("botocore.exceptions.EndpointConnectionError: Could not connect to the endpoint URL: "
         "\"https://sqs.ap-northeast-1.amazonaws.com/\"", "network-unreachable"),
        ("An error occurred (ParameterNotFound) when calling the GetParameter operation", "secret-unavailable"),
        ('exec /docker-entrypoint.sh: no such file or directory', "container-start-failed"),
        ("Exception in thread \"main\" java.lang.OutOfMemoryError: Java heap space", "out-of-memory"),
        ("FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory", "out-of-memory"),
        # near misses: a database's own login, a file the app cannot open, an app's own error
        ("psycopg2.OperationalError: FATAL: password authentication failed for user \"books\"", "app-crashed"),
        ("ERROR 1045 (28000): Access denied for user 'books'@'10.0.0.12' (using password: YES)", "app-crashed"),
        ("PermissionError: [Errno 13] Permission denied: '/data/cache'", "app-crashed"),
        ("ModuleNotFoundError: No module named 'newarrivals'", "app-crashed"),
    ],
)
def test_log_lines_are_evidence_for_the_same_rules(line: str, category: str) -> None:
    record = parse_event(_crashed())
    verdict = classify(record, Findings(container="app", log_lines=("starting", line)))
    assert verdict.category == category
    if category != "app-crashed":
        assert verdict.found[0].source == "logs" and verdict.found[1].source == "event"
        assert verdict.culprit_container == "app"


def test_an_app_crash_quotes_the_last_error_looking_line_instead_of_read_its_logs() -> None:
    record = parse_event(_crashed())
    lines = ("starting", "Traceback (most recent call last):", "KeyError: 'BOOKS_API'", "shutting down")
    verdict = classify(record, Findings(container="app", log_lines=lines))
    assert verdict.category == "app-crashed"
    assert 'last log line: "KeyError: \'BOOKS_API\'"' in verdict.hint and "read its logs" not in verdict.hint
    assert verdict.found[1] == ("logs", "KeyError: 'BOOKS_API'")


def test_findings_never_override_a_rule_ahead_of_them() -> None:
    """First match wins across sources: an OOM line does not undo what the event's secret error says."""
    event = make_event(stop_code="TaskFailedToStart",
                       reason="ResourceInitializationError: unable to pull secrets or registry auth: "
                              "retrieving secret from asm: ResourceNotFoundException: Secrets Manager can't "
                              "find the specified secret.", containers=[container("app", 1)])  # fmt: skip
    record = parse_event(event)
    verdict = classify(record, Findings(container="app", log_lines=("java.lang.OutOfMemoryError",)))
    assert verdict.category == "secret-unavailable" == record.category


def test_an_image_without_the_tasks_platform_is_image_platform_mismatch() -> None:
    record = parse_event(_crashed())
    fact = "image x is built for linux/arm64 only; the task runs linux/amd64 (x86_64)"
    verdict = classify(record, Findings(container="app", image=fact, image_mismatch=True))
    assert (verdict.category, verdict.found[0]) == ("image-platform-mismatch", ("image", fact))
    matching = classify(record, Findings(container="app", image="image x has a linux/amd64 build"))
    assert matching.category == "app-crashed" and ("image", "image x has a linux/amd64 build") in matching.found


def test_essential_flags_decide_crashed_or_completed() -> None:
    event = make_event(stop_code="EssentialContainerExited", reason="Essential container in task exited",
                       containers=[container("app", 0), container("envoy", 137)])  # fmt: skip
    record = parse_event(event)
    assert record.category == "app-crashed"  # the event alone cannot tell which container was essential
    completed = classify(record, Findings(container="envoy", essential=frozenset({"app"})))
    assert completed.category == "app-completed"
    crashed = classify(record, Findings(container="envoy", essential=frozenset({"app", "envoy"})))
    assert (crashed.category, crashed.culprit_container) == ("app-crashed", "envoy")


def test_a_well_known_sidecar_killed_by_the_stop_does_not_make_a_crash() -> None:
    """ECS stops the rest of the task when an essential container exits: a log router or agent
    killed then (137/143) is not why the task stopped; one that failed on its own is."""
    def task(*containers: dict[str, object]) -> str:
        return parse_event(make_event(stop_code="EssentialContainerExited", reason="Essential container in task exited",
                                      containers=list(containers))).category  # fmt: skip

    router = {**container("log_router", 137), "image": "public.ecr.aws/aws-observability/aws-for-fluent-bit:2.32.0"}
    agent = {**container("datadog-agent", 143), "image": "public.ecr.aws/datadog/agent:7"}
    assert task(container("app", 0), router) == "app-completed"
    assert task(container("app", 0), router, agent) == "app-completed"
    assert task(container("app", 1), router) == "app-crashed"
    assert task(container("app", 0), {**router, "exitCode": 1}) == "app-crashed"  # it failed on its own
    assert task(container("app", 0), {**container("shipper", 137), "image": "acme/shipper:1"}) == "app-crashed"
    assert task(router) == "app-crashed"  # nothing else to decide


# -- the verdict cache (an event alone, as parsing asks) ------------------------------------------

from forwarder import classify as classify_module  # noqa: E402
from forwarder.classify import classify_event, decided_by  # noqa: E402
from forwarder.model import Facts, StopRecord  # noqa: E402
from tests.fixtures import ROOT  # noqa: E402

EVERY_STOP = [json.loads(p.read_text()) for p in sorted(ROOT.glob("*/*.json"))]


def facts_of(record: StopRecord, **changes: object) -> Facts:
    facts = Facts(
        record.cluster, record.group_name, record.task_id, record.region, record.started_by,
        record.cpu_architecture, record.stop_code, record.stopped_reason, record.started_at,
        record.run_seconds, record.containers,
    )  # fmt: skip
    return facts._replace(**changes)


def _uncached(facts: Facts) -> object:
    return classify_module.classify(facts)


@pytest.mark.parametrize("run_seconds", [None, 0.4, 10.5, 29.999, 30.0, 7200.0])
def test_what_decided_by_drops_never_changes_a_verdict(run_seconds: float | None) -> None:
    """The cache answers ``classify(decided_by(facts))``: for every fixture stop (those users posted
    included), at quick and slow run times, that is ``classify(facts)`` uncached."""
    checked = 0
    for event in EVERY_STOP:
        try:
            record = parse_event(event)
        except InvalidEvent:
            continue
        facts = facts_of(record, run_seconds=run_seconds, started_at="2026-11-01T00:00:00.000Z")
        assert _uncached(decided_by(facts)) == _uncached(facts), event.get("id")
        assert classify_event(facts) == _uncached(facts)
        checked += 1
    assert checked > 150


def test_tasks_that_stop_alike_share_a_verdict_and_keep_their_own_message() -> None:
    pull = "CannotPullContainerError: pull image manifest has been retried 5 time(s): manifest unknown"
    records = [
        parse_event(make_event(
            stop_code="TaskFailedToStart", reason="Task failed to start", containers=[container("web", None, pull)],
            taskArn=f"arn:aws:ecs:eu-west-1:111122223333:task/c{n}/{n:08d}ffff",
            clusterArn=f"arn:aws:ecs:eu-west-1:111122223333:cluster/c{n}",
        ))
        for n in range(3)
    ]  # fmt: skip
    assert [r.category for r in records] == ["image-not-found"] * 3 and len({r.hint for r in records}) == 1
    assert [r.message.split(" ")[0].split("/")[0] for r in records] == ["c0", "c1", "c2"]
    assert [r.message.split(" ")[2] for r in records] == [f"{n:08d}…" for n in range(3)]


def test_a_quick_exit_is_decided_by_its_own_duration() -> None:
    base = parse_event(make_event(stop_code="EssentialContainerExited", reason="Essential container in task exited",
                                  containers=[container("app", 1)]))  # fmt: skip
    hints = [classify_event(facts_of(base, run_seconds=seconds)).hint for seconds in (0.5, 12.5, 12.5, 45.0, 900.0)]
    assert "0.5 s after start" in hints[0] and "12.5 s after start" in hints[1] and hints[1] == hints[2]
    assert "after start" not in hints[3] and hints[3] == hints[4]


def test_the_verdict_cache_stays_bounded() -> None:
    for index in range(classify_module._CACHED_VERDICTS + 50):
        classify_event(Facts(None, None, None, None, None, None, "TaskFailedToStart", f"ref {index} not found", None, None, ()))
        assert len(classify_module._VERDICTS) <= classify_module._CACHED_VERDICTS
    long_reason = "CannotPullContainerError: not found " + "x" * classify_module._CACHED_TEXT
    verdict = classify_event(Facts(None, None, None, None, None, None, "TaskFailedToStart", long_reason, None, None, ()))
    assert verdict.category == "image-not-found"
    assert not any(key.stopped_reason == long_reason for key in classify_module._VERDICTS)


def test_a_quick_exit_is_not_cached() -> None:
    """Its duration is part of what decides its hint, and no other stop repeats it to the
    millisecond: caching it would only fill the cache."""
    base = parse_event(make_event(stop_code="EssentialContainerExited", reason="Essential container in task exited",
                                  containers=[container("app", 1)]))  # fmt: skip
    classify_module._VERDICTS.clear()
    classify_event(facts_of(base, run_seconds=0.512))
    assert classify_module._VERDICTS == {}
    classify_event(facts_of(base, run_seconds=31.0))
    assert len(classify_module._VERDICTS) == 1
