"""Apply the modules into a local moto server, check what AWS would hold, then destroy.

The root configuration ``tests/infra/moto_root`` calls lambda-forwarder (with every optional
setting given a value, and again with ``snap_start = true``), firehose-fallback (Datadog, 0 s
buffering) and the cross-account source/central-bus pair, with the AWS provider's endpoints
pointed at moto on 127.0.0.1 and a tiny zip generated here as the Lambda package, with the
manifest `make package` writes beside it. State is local, in a temporary directory.

Emulator gaps (moto 5.x), handled rather than hidden:
- moto does not store a function's ``logging_config``: a second plan shows it as an in-place
  update of ``aws_lambda_function``; ``test_second_plan_only_shows_known_moto_gaps`` allows
  exactly that change and nothing else.
- moto accepts SnapStart in CreateFunction but does not store it (GetFunction answers
  ``SnapStart.ApplyOn = None`` whatever was sent), and keeps one async invoke config per function
  whatever its qualifier. The ``snap_start = true`` instance (``lambda_snapstart``) is applied for
  its wiring (published version, alias, the rule's target and permission on the alias); the second
  plan's update of its ``snap_start`` (and the version that update would publish, which the alias
  would follow) is allowed as the same kind of gap.
- ``replay-at-scale`` is not applied: the AWS provider plans ``aws_sfn_state_machine`` with
  ``ValidateStateMachineDefinition``, which moto does not implement (it answers 500 and the plan
  retries until it gives up). ``tests/test_state_machine.py`` checks the gap is still there.
- Everything else the modules declare (alarms, Firehose SSE and Secrets Manager key, bus
  policy with its source/detail-type condition, invoke config, reserved concurrency, S3
  hardening with Object Lock, rule-target retry policies and dead-letter queues) is accepted by
  moto, so nothing is excluded via ``create_alarms``/``enable_firehose_sse``; those variables
  exist to exclude them if a moto version stops accepting them.
- Left out of the apply, covered by the modules' ``terraform test`` runs instead: Lambda code
  signing (moto 5 has no code signing config API, and a signed package needs AWS Signer) and
  the complete example's KMS key for its alarm topic (the example needs two accounts).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.aws import start_moto
from tests.infra.tf import REPO_ROOT, Terraform, copy_infra

pytestmark = pytest.mark.slow

boto3 = pytest.importorskip("boto3")

MOTO_ROOT = Path(__file__).parent / "moto_root"
REGION = "us-east-1"
#: What forwarder.package.build records for RUNTIME=python3.13 (beside the zip as <zip>.json).
PACKAGE_MANIFEST = {
    "schema": "ecs-stop-forwarder/lambda-artifact/v1",
    "version": "0.0.0-moto",
    "runtime": "python3.13",
    "python": "3.13",
    "bytecode": "unchecked-hash",
    "pyc": 0,
}
ARTICLE_PATTERN = {
    "source": ["aws.ecs"],
    "detail-type": ["ECS Task State Change"],
    "detail": {"lastStatus": ["STOPPED"]},
}


@pytest.fixture(scope="module")
def moto_endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A moto server of our own (not shared with other tests, which may reset theirs), on a port it
    binds itself."""
    log = (tmp_path_factory.mktemp("moto") / "moto.log").open("wb")
    try:
        proc, port = start_moto(0, log)
    except RuntimeError as exc:
        pytest.fail(str(exc))
    url = f"http://127.0.0.1:{port}"
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


class Applied:
    """The applied moto_root: directory, outputs, and clients against moto."""

    def __init__(self, terraform: Terraform, directory: Path, endpoint: str, args: list[str]) -> None:
        self.terraform = terraform
        self.directory = directory
        self.endpoint = endpoint
        self.args = args
        self.outputs: dict[str, Any] = {}
        self.destroyed = False

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            region_name=REGION,
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def destroy(self) -> None:
        if not self.destroyed:
            self.destroyed = True
            self.terraform.run(
                self.directory, "destroy", "-lock=false", "-input=false", "-auto-approve", *self.args
            )


@pytest.fixture(scope="module")
def applied(
    terraform: Terraform, moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Applied]:
    # Same layout as the repository, so the root's "../../../infra/modules" sources resolve
    # inside one package, without writing .terraform into the work tree.
    scratch = tmp_path_factory.mktemp("moto-repo")
    copy_infra(scratch)
    work = scratch / "tests" / "infra" / "moto_root"
    work.mkdir(parents=True)
    shutil.copy(MOTO_ROOT / "main.tf", work / "main.tf")
    package = work / "lambda.zip"
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("forwarder/handler.py", "def lambda_handler(event, context):\n    return None\n")
    # The manifest `make package` writes beside the zip, which the module checks against its
    # runtime (moto_root deploys python3.13); this zip has no bytecode, but it stands for one built
    # with RUNTIME=python3.13, so the apply goes through the matching-runtime path.
    package.with_name(package.name + ".json").write_text(json.dumps(PACKAGE_MANIFEST))

    args = ["-var", f"endpoint={moto_endpoint}", "-var", f"package_path={package}"]
    terraform.init(work)
    state = Applied(terraform, work, moto_endpoint, args)
    try:
        terraform.run(work, "apply", "-lock=false", "-input=false", "-auto-approve", *args)
        state.outputs = terraform.output_json(work)
        yield state
    finally:
        state.destroy()


def test_rule_pattern_is_the_articles_narrowed_to_the_cluster(applied: Applied) -> None:
    events = applied.client("events")
    rule = events.describe_rule(Name=applied.outputs["lambda"]["event_rule_name"])
    pattern = json.loads(rule["EventPattern"])
    expected = json.loads(json.dumps(ARTICLE_PATTERN))
    expected["detail"]["clusterArn"] = ["arn:aws:ecs:us-east-1:123456789012:cluster/batch"]
    assert pattern == expected
    assert rule["State"] == "ENABLED"

    targets = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
    function_arn = applied.client("lambda").get_function(
        FunctionName=applied.outputs["lambda"]["function_name"]
    )["Configuration"]["FunctionArn"]
    assert [t["Arn"] for t in targets] == [function_arn]
    assert targets[0]["DeadLetterConfig"]["Arn"].endswith(":moto-ecs-stop-forwarder-failures")

    firehose_rule = events.describe_rule(Name="ecs-task-stop-rule")
    assert json.loads(firehose_rule["EventPattern"]) == ARTICLE_PATTERN
    assert firehose_rule["Description"] == "Capture ECS task stop events"


def test_lambda_handler_runtime_architecture(applied: Applied) -> None:
    config = applied.client("lambda").get_function_configuration(
        FunctionName=applied.outputs["lambda"]["function_name"]
    )
    assert config["Handler"] == "forwarder.handler.lambda_handler"
    assert config["Runtime"] == "python3.13"
    # The module read the manifest beside the zip and found the runtime it deploys.
    assert applied.outputs["lambda"]["package_runtime"] == "python3.13"
    assert config["Architectures"] == ["arm64"]
    assert config["MemorySize"] == 512
    assert config["Timeout"] == 30


def test_lambda_env_names_equal_forwarder_config(applied: Applied) -> None:
    """Every variable forwarder.config reads, except the plaintext keys, is set — and no other."""
    sys.path.insert(0, str(REPO_ROOT))
    from forwarder import config as forwarder_config

    config = applied.client("lambda").get_function_configuration(
        FunctionName=applied.outputs["lambda"]["function_name"]
    )
    env = config["Environment"]["Variables"]
    expected = set(forwarder_config.ENV_VARS) - set(forwarder_config.PLAINTEXT_KEY_VARS)
    assert set(env) == expected
    assert not set(env) & set(forwarder_config.PLAINTEXT_KEY_VARS)
    assert set(applied.outputs["lambda"]["environment_variable_names"]) == expected

    assert env["FORWARDER_DESTINATIONS"] == "datadog,newrelic,stdout"
    assert env["FORWARDER_MIN_SEVERITY"] == "warning"
    assert env["ARCHIVE_BUCKET"] == "moto-ecs-stop-archive"
    assert env["ARCHIVE_PREFIX"] == "stops/"
    assert env["DD_SITE"] == "datadoghq.eu"
    assert env["DD_TAGS"] == "team:sre,env:test"
    assert env["NEW_RELIC_REGION"] == "EU"
    assert env["DD_API_KEY_SECRET_ARN"].startswith(
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:moto/datadog"
    )


def test_async_invoke_config_sends_failures_to_the_queue(applied: Applied) -> None:
    lam = applied.client("lambda")
    invoke = lam.get_function_event_invoke_config(FunctionName=applied.outputs["lambda"]["function_name"])
    assert invoke["MaximumRetryAttempts"] == 1
    assert invoke["MaximumEventAgeInSeconds"] == 3600
    assert invoke["DestinationConfig"]["OnFailure"]["Destination"].endswith(
        ":moto-ecs-stop-forwarder-failures"
    )

    sqs = applied.client("sqs")
    attrs = sqs.get_queue_attributes(
        QueueUrl=applied.outputs["lambda"]["failure_queue_url"], AttributeNames=["All"]
    )["Attributes"]
    assert attrs.get("SqsManagedSseEnabled") == "true"


def test_snap_start_invokes_the_published_version_through_its_alias(applied: Applied) -> None:
    """With snap_start, the rule, its permission and the async invoke config name the alias live
    on the published version (SnapStart restores only published versions). moto does not keep the
    SnapStart setting itself (it answers ApplyOn None whatever was sent), nor qualifiers on async
    invoke configs (it keeps one per function): those are checked by the module's terraform test."""
    out = applied.outputs["lambda_snapstart"]
    lam = applied.client("lambda")
    name = out["function_name"]
    assert (
        lam.get_function_configuration(FunctionName=name)["Handler"] == "forwarder.snapstart.lambda_handler"
    )
    assert out["handler"] == "forwarder.snapstart.lambda_handler"

    alias = lam.get_alias(FunctionName=name, Name="live")
    published = [v["Version"] for v in lam.list_versions_by_function(FunctionName=name)["Versions"]]
    assert alias["FunctionVersion"] != "$LATEST" and alias["FunctionVersion"] in published
    assert out["invoked_version"] == alias["FunctionVersion"]
    assert out["alias_arn"] == out["invoked_arn"] == alias["AliasArn"]
    assert alias["AliasArn"].endswith(f":function:{name}:live")

    targets = applied.client("events").list_targets_by_rule(Rule=out["event_rule_name"])["Targets"]
    assert [t["Arn"] for t in targets] == [alias["AliasArn"]]
    assert targets[0]["DeadLetterConfig"]["Arn"].endswith(":moto-ecs-stop-snapstart-failures")

    policy = json.loads(lam.get_policy(FunctionName=name, Qualifier="live")["Policy"])
    allow = [s for s in policy["Statement"] if s["Sid"] == "AllowEventBridgeInvoke"]
    assert len(allow) == 1 and allow[0]["Principal"] == {"Service": "events.amazonaws.com"}
    assert allow[0]["Resource"] == alias["AliasArn"]

    invoke = lam.get_function_event_invoke_config(FunctionName=name, Qualifier="live")
    assert invoke["DestinationConfig"]["OnFailure"]["Destination"].endswith(
        ":moto-ecs-stop-snapstart-failures"
    )


def test_reserved_concurrency_is_set(applied: Applied) -> None:
    concurrency = applied.client("lambda").get_function_concurrency(
        FunctionName=applied.outputs["lambda"]["function_name"]
    )
    assert concurrency["ReservedConcurrentExecutions"] == 10


def test_archive_bucket_is_hardened(applied: Applied) -> None:
    s3 = applied.client("s3")
    bucket = applied.outputs["lambda"]["archive_bucket"]
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    assert policy["Statement"][0]["Effect"] == "Deny"
    assert policy["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    lifecycle = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"][0]
    assert lifecycle["Expiration"]["Days"] == 400
    assert lifecycle["NoncurrentVersionExpiration"]["NoncurrentDays"] == 400
    lock = s3.get_object_lock_configuration(Bucket=bucket)["ObjectLockConfiguration"]
    assert lock["ObjectLockEnabled"] == "Enabled"
    retention = lock["Rule"]["DefaultRetention"]
    assert (retention["Mode"], retention["Days"], retention.get("Years", 0)) == ("GOVERNANCE", 1, 0)


def test_firehose_destination(applied: Applied) -> None:
    stream = applied.client("firehose").describe_delivery_stream(
        DeliveryStreamName=applied.outputs["firehose"]["delivery_stream_name"]
    )["DeliveryStreamDescription"]
    assert stream["DeliveryStreamName"] == "ecs-task-stop-log"
    http = stream["Destinations"][0]["HttpEndpointDestinationDescription"]
    assert (
        http["EndpointConfiguration"]["Url"]
        == "https://aws-kinesis-http-intake.logs.us5.datadoghq.com/v1/input"
    )
    assert http["EndpointConfiguration"]["Name"] == "Datadog"
    assert "AccessKey" not in http["EndpointConfiguration"]
    assert http["BufferingHints"] == {"SizeInMBs": 2, "IntervalInSeconds": 0}
    assert http["RetryOptions"] == {"DurationInSeconds": 600}
    assert http["S3BackupMode"] == "AllData"
    assert http["RequestConfiguration"]["ContentEncoding"] == "GZIP"
    assert http["SecretsManagerConfiguration"]["Enabled"] is True
    assert http["CloudWatchLoggingOptions"]["Enabled"] is True
    backup = http["S3DestinationDescription"]
    assert backup["Prefix"] == "ecs-task-stop-log/"
    assert backup["ErrorOutputPrefix"] == "ecs-task-stop-log-failed/"
    assert backup["CompressionFormat"] == "GZIP"
    assert backup["BufferingHints"] == {"SizeInMBs": 1, "IntervalInSeconds": 60}

    role = applied.client("iam").get_role(RoleName="ecs-task-stop-log-firehose-role")["Role"]
    assert role["Path"] == "/service-role/"

    target = applied.client("events").list_targets_by_rule(Rule="ecs-task-stop-rule")["Targets"][0]
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}
    assert target["DeadLetterConfig"]["Arn"].endswith(":ecs-task-stop-log-rule-dlq")


def test_alarms_exist(applied: Applied) -> None:
    alarms = applied.client("cloudwatch").describe_alarms()["MetricAlarms"]
    by_metric = {(a["Namespace"], a["MetricName"]) for a in alarms}
    assert ("AWS/Lambda", "Errors") in by_metric
    assert ("AWS/Lambda", "Throttles") in by_metric
    assert ("AWS/SQS", "ApproximateNumberOfMessagesVisible") in by_metric
    assert ("AWS/Firehose", "DeliveryToHttpEndpoint.Success") in by_metric
    lambda_alarms = [a for a in alarms if a["Namespace"] == "AWS/Lambda"]
    assert all(
        a["AlarmActions"] and a["AlarmActions"][0].endswith(":moto-ecs-stop-alarms") for a in lambda_alarms
    )


def test_central_bus_policy_and_source_rule(applied: Applied) -> None:
    events = applied.client("events")
    bus = events.describe_event_bus(Name="moto-central")
    policy = json.loads(bus["Policy"])
    principals = policy["Statement"][0]["Principal"]["AWS"]
    assert sorted(principals) == ["arn:aws:iam::123456789012:root", "arn:aws:iam::210987654321:root"]
    assert policy["Statement"][0]["Condition"]["ForAllValues:StringEquals"] == {
        "events:source": ["aws.ecs"],
        "events:detail-type": ["ECS Task State Change"],
    }
    targets = events.list_targets_by_rule(Rule="ecs-task-stop-to-central-bus")["Targets"]
    assert targets[0]["Arn"] == applied.outputs["central_bus_arn"]
    assert targets[0]["RoleArn"].endswith(":role/moto-ecs-stop-to-central")
    assert targets[0]["RetryPolicy"] == {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400}
    assert targets[0]["DeadLetterConfig"]["Arn"].endswith(":ecs-task-stop-to-central-bus-dlq")


def test_second_plan_only_shows_known_moto_gaps(applied: Applied) -> None:
    plan = applied.directory / "second.tfplan"
    applied.terraform.run(
        applied.directory, "plan", "-lock=false", "-input=false", f"-out={plan}", *applied.args
    )
    shown = json.loads(applied.terraform.run(applied.directory, "show", "-json", str(plan)))
    changed = {
        rc["address"]: sorted(
            k
            for k in set(rc["change"]["before"] or {}) | set(rc["change"]["after"] or {})
            if (rc["change"]["before"] or {}).get(k) != (rc["change"]["after"] or {}).get(k)
        )
        for rc in shown.get("resource_changes", [])
        if rc["change"]["actions"] != ["no-op"]
    }
    allowed = {
        "module.lambda.aws_lambda_function.this": ["logging_config"],
        # moto keeps neither logging_config nor snap_start; with publish = true, the update that
        # puts them back would publish a new version (version and qualified ARNs unknown until
        # then), and the alias would follow it.
        "module.lambda_snapstart.aws_lambda_function.this": [
            "logging_config",
            "qualified_arn",
            "qualified_invoke_arn",
            "snap_start",
            "version",
        ],
        "module.lambda_snapstart.aws_lambda_alias.live[0]": ["function_version"],
    }
    assert {k: v for k, v in changed.items() if allowed.get(k) != v} == {}


def test_destroy_removes_everything(applied: Applied) -> None:
    applied.destroy()
    assert applied.client("lambda").list_functions()["Functions"] == []
    assert applied.client("firehose").list_delivery_streams()["DeliveryStreamNames"] == []
    names = [r["Name"] for r in applied.client("events").list_rules()["Rules"]]
    assert names == []
    assert applied.client("s3").list_buckets()["Buckets"] == []
