"""The taxonomy's order of precedence and its evidence families, on hand-built events."""

from __future__ import annotations

import pytest

from forwarder.classify import CATEGORIES, RULES, SEVERITY_OF, classify
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
        ("CannotPullContainerError: pull access denied for foo, repository does not exist",
         "permission-denied"),
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
